"""Selective scan: fast CPU path and dispatcher vs the sequential reference, outputs and gradients."""

from __future__ import annotations

import math

import pytest
import torch

from pifnet_engine.errors import DeviceError, UsageError
from pifnet_engine.model.ops import (
    NUMBA_AVAILABLE,
    mamba_available,
    resolve_impl,
    selective_scan_cpu,
    selective_scan_fn,
    selective_scan_ref,
)
from pifnet_engine.model.ops import selective_scan as dispatch_module

needs_numba = pytest.mark.skipif(not NUMBA_AVAILABLE, reason="numba (optional fast CPU path) not installed")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

# (rtol, atol) per dtype, like mamba-ssm's tests; atol scales with the reference's magnitude
TOL_OUT = {torch.float64: (1e-10, 1e-10), torch.float32: (1e-4, 2e-5), torch.bfloat16: (2e-2, 2e-2)}
TOL_GRAD = {torch.float64: (1e-9, 1e-9), torch.float32: (1e-3, 2e-4), torch.bfloat16: (5e-2, 5e-2)}
NAMES = ("u", "delta", "A", "B", "C", "D", "z", "delta_bias")


def make_inputs(
    length: int,
    dtype: torch.dtype,
    *,
    batch: int = 2,
    dim: int = 8,
    n: int = 4,
    groups: int = 0,
    with_D: bool = True,
    with_z: bool = True,
    with_bias: bool = True,
    device: str = "cpu",
    seed: int = 0,
) -> list[torch.Tensor | None]:
    """Seeded scan inputs (u, delta, A, B, C, D, z, delta_bias); groups=0 means B, C (b, n, l)."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    bc_shape = (batch, n, length) if groups == 0 else (batch, groups, n, length)
    tensors = [
        rnd(batch, dim, length),
        torch.rand(batch, dim, length, generator=g, dtype=torch.float64) + 0.05,  # dt > 0: a stable scan
        -torch.rand(dim, n, generator=g, dtype=torch.float64) * 3.0 - 0.2,
        rnd(*bc_shape),
        rnd(*bc_shape),
        rnd(dim) if with_D else None,
        rnd(batch, dim, length) if with_z else None,
        torch.rand(dim, generator=g, dtype=torch.float64) * 0.3 if with_bias else None,
    ]
    return [None if t is None else t.to(device=device, dtype=dtype).requires_grad_() for t in tensors]


def run_with_grads(fn, inputs, softplus: bool, last: bool, seed: int = 1):  # type: ignore[no-untyped-def]
    """(out, last_state or None, grads of every non-None input) for a fixed random cotangent."""
    res = fn(*inputs, delta_softplus=softplus, return_last_state=last)
    out, state = res if last else (res, None)
    g = torch.Generator().manual_seed(seed)
    loss = (out.double() * torch.randn(out.shape, generator=g, dtype=torch.float64).to(out.device)).sum()
    if state is not None:
        loss = loss + (state.double() ** 2).sum()
    leaves = [t for t in inputs if t is not None]
    return out, state, torch.autograd.grad(loss, leaves)


def assert_close_scaled(actual: torch.Tensor, expected: torch.Tensor, tol: tuple[float, float], what: str) -> None:
    rtol, atol = tol
    scale = max(1.0, expected.detach().abs().max().item())
    torch.testing.assert_close(actual.detach(), expected.detach(), rtol=rtol, atol=atol * scale, msg=lambda m: f"{what}: {m}")


CASES = [  # (groups, with_D, with_z, with_bias, softplus, return_last_state)
    (0, True, True, True, True, True),
    (4, True, False, True, True, False),  # SS2D: 4 direction groups, no gate
    (2, False, True, False, False, True),
    (1, False, False, False, True, False),
]


@needs_numba
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("length", [1, 7, 129, 300])
@pytest.mark.parametrize("case", CASES)
def test_cpu_matches_reference(dtype: torch.dtype, length: int, case: tuple) -> None:
    groups, with_D, with_z, with_bias, softplus, last = case
    inputs = make_inputs(length, dtype, groups=groups, with_D=with_D, with_z=with_z, with_bias=with_bias)
    out_f, state_f, grads_f = run_with_grads(selective_scan_cpu, inputs, softplus, last)
    out_r, state_r, grads_r = run_with_grads(selective_scan_ref, inputs, softplus, last)
    assert out_f.dtype == dtype and out_f.shape == inputs[0].shape
    assert_close_scaled(out_f, out_r, TOL_OUT[dtype], "out")
    if last:
        assert state_f.shape == (2, 8, 4)
        assert_close_scaled(state_f, state_r, TOL_OUT[dtype], "last_state")
    names = [name for name, t in zip(NAMES, inputs, strict=True) if t is not None]
    for name, gf, gr in zip(names, grads_f, grads_r, strict=True):
        assert gf.shape == gr.shape, name
        assert_close_scaled(gf, gr, TOL_GRAD[dtype], f"grad {name}")


@needs_numba
def test_cpu_long_sequence_and_state_sizes() -> None:
    """Several decay blocks (L > 128) and state sizes 1 and 16, float32, at the model's stiffest decay."""
    for n in (1, 16):
        inputs = make_inputs(1000, torch.float32, batch=1, dim=4, n=n, groups=4, with_z=False)
        out_f, _, grads_f = run_with_grads(selective_scan_cpu, inputs, True, False)
        out_r, _, grads_r = run_with_grads(selective_scan_ref, inputs, True, False)
        assert_close_scaled(out_f, out_r, TOL_OUT[torch.float32], f"out n={n}")
        for gf, gr in zip(grads_f, grads_r, strict=True):
            assert_close_scaled(gf, gr, TOL_GRAD[torch.float32], f"grad n={n}")


@needs_numba
@pytest.mark.parametrize("n", [3, 6, 9])
def test_cpu_mixed_state_blocks_match_reference(n: int) -> None:
    """State sizes the kernels split into blocks of 4 plus single states (4+1+1 ...), over
    more than one forward time block (L > 512), two batches in two groups, float64."""
    inputs = make_inputs(530, torch.float64, batch=2, dim=4, n=n, groups=2, with_z=False)
    out_f, state_f, grads_f = run_with_grads(selective_scan_cpu, inputs, True, True)
    out_r, state_r, grads_r = run_with_grads(selective_scan_ref, inputs, True, True)
    assert_close_scaled(out_f, out_r, TOL_OUT[torch.float64], f"out n={n}")
    assert_close_scaled(state_f, state_r, TOL_OUT[torch.float64], f"last_state n={n}")
    names = [name for name, t in zip(NAMES, inputs, strict=True) if t is not None]
    for name, gf, gr in zip(names, grads_f, grads_r, strict=True):
        assert_close_scaled(gf, gr, TOL_GRAD[torch.float64], f"grad {name} n={n}")


@needs_numba
def test_cpu_bfloat16_keeps_dtype_and_accumulates_in_float32() -> None:
    inputs = make_inputs(50, torch.bfloat16, groups=2)
    out_f = selective_scan_cpu(*inputs, delta_softplus=True)
    out_r = selective_scan_ref(*inputs, delta_softplus=True)
    assert out_f.dtype == torch.bfloat16
    assert_close_scaled(out_f.float(), out_r.float(), TOL_OUT[torch.bfloat16], "bf16 out")


@needs_numba
def test_cpu_thread_count_does_not_change_result() -> None:
    inputs = make_inputs(200, torch.float64, batch=1, dim=16, groups=2)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        out_1, _, grads_1 = run_with_grads(selective_scan_cpu, inputs, True, False)
        torch.set_num_threads(2)
        out_2, _, grads_2 = run_with_grads(selective_scan_cpu, inputs, True, False)
    finally:
        torch.set_num_threads(before)
    torch.testing.assert_close(out_1, out_2, rtol=0, atol=0)
    for g1, g2 in zip(grads_1, grads_2, strict=True):
        torch.testing.assert_close(g1, g2, rtol=1e-12, atol=1e-12)


def _gradcheck(fn) -> None:  # type: ignore[no-untyped-def]
    inputs = make_inputs(5, torch.float64, batch=1, dim=4, n=2, groups=2)

    def f(*args: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return fn(*args, delta_softplus=True, return_last_state=True)

    assert torch.autograd.gradcheck(f, tuple(inputs), eps=1e-6, atol=1e-7, rtol=1e-6)


def test_reference_gradcheck() -> None:
    _gradcheck(selective_scan_ref)


@needs_numba
def test_cpu_gradcheck() -> None:
    _gradcheck(selective_scan_cpu)


def test_reference_recurrence_by_hand() -> None:
    """One channel, one state, L = 3, no softplus: x_t = exp(dt A) x_{t-1} + dt B u, y = C x + D u."""
    u = torch.tensor([[[1.0, 2.0, -1.0]]], dtype=torch.float64)
    dt = torch.tensor([[[0.5, 1.0, 0.25]]], dtype=torch.float64)
    A = torch.tensor([[-2.0]], dtype=torch.float64)
    B = torch.tensor([[[1.0, 0.5, 2.0]]], dtype=torch.float64)
    C = torch.tensor([[[3.0, -1.0, 1.0]]], dtype=torch.float64)
    D = torch.tensor([0.5], dtype=torch.float64)
    x, expected = 0.0, []
    for t in range(3):
        x = math.exp(dt[0, 0, t].item() * -2.0) * x + dt[0, 0, t].item() * B[0, 0, t].item() * u[0, 0, t].item()
        expected.append(C[0, 0, t].item() * x + 0.5 * u[0, 0, t].item())
    out, state = selective_scan_ref(u, dt, A, B, C, D, return_last_state=True)
    torch.testing.assert_close(out[0, 0], torch.tensor(expected, dtype=torch.float64))
    assert state.item() == pytest.approx(x)


@needs_numba
def test_fast_exp_accuracy() -> None:
    from pifnet_engine.model.ops.scan_kernels_numba import exp_block

    x = torch.linspace(-86.0, 88.0, 100_001, dtype=torch.float32)
    out = torch.empty_like(x)
    exp_block(x.numpy(), out.numpy())
    rel = (out.double() / torch.exp(x.double()) - 1).abs().max().item()
    assert rel < 3e-7
    tiny = torch.tensor([-200.0, -1e30], dtype=torch.float32)
    out_tiny = torch.empty_like(tiny)
    exp_block(tiny.numpy(), out_tiny.numpy())
    assert (out_tiny >= 0).all() and (out_tiny < 1e-37).all()


def test_shape_errors_name_the_argument() -> None:
    u, delta, A, B, C, D, z, bias = make_inputs(10, torch.float32, groups=2)
    with pytest.raises(ValueError, match="B has shape"):
        selective_scan_ref(u, delta, A, B[:, :, :, :5], C)
    with pytest.raises(ValueError, match="divisible by G"):
        selective_scan_ref(u, delta, A, torch.zeros(2, 3, 4, 10), C)
    with pytest.raises(ValueError, match="delta has shape"):
        selective_scan_fn(u, delta[:, :4], A, B, C)


def test_dispatch_auto_env_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    u = torch.zeros(1, 2, 3)
    monkeypatch.delenv(dispatch_module.ENV_VAR, raising=False)
    assert resolve_impl(u) == ("cpu" if NUMBA_AVAILABLE else "ref")
    monkeypatch.setenv(dispatch_module.ENV_VAR, "ref")
    assert resolve_impl(u) == "ref"
    assert resolve_impl(u, "auto") in ("cpu", "ref")  # the argument wins over the environment
    monkeypatch.setenv(dispatch_module.ENV_VAR, "fastest")
    with pytest.raises(UsageError, match="unknown implementation 'fastest'"):
        resolve_impl(u)
    if not mamba_available():
        with pytest.raises(DeviceError, match=r'--no-build-isolation "pifnet-engine\[cuda\]"'):
            resolve_impl(u, "cuda")


def test_dispatch_falls_back_to_reference_without_numba(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(dispatch_module.ENV_VAR, raising=False)
    monkeypatch.setattr(dispatch_module, "NUMBA_AVAILABLE", False)
    inputs = make_inputs(20, torch.float64, groups=2)
    assert resolve_impl(inputs[0]) == "ref"
    with pytest.raises(DeviceError, match="pip install numba"):
        resolve_impl(inputs[0], "cpu")
    out = selective_scan_fn(*inputs, delta_softplus=True)
    torch.testing.assert_close(out, selective_scan_ref(*inputs, delta_softplus=True))


@pytest.mark.parametrize("impl", ["ref"] + (["cpu"] if NUMBA_AVAILABLE else []))
def test_dispatch_forced_impl_matches_reference(impl: str) -> None:
    inputs = make_inputs(40, torch.float64, groups=4)
    out, state = selective_scan_fn(*inputs, delta_softplus=True, return_last_state=True, impl=impl)
    out_r, state_r = selective_scan_ref(*inputs, delta_softplus=True, return_last_state=True)
    assert_close_scaled(out, out_r, TOL_OUT[torch.float64], impl)
    assert_close_scaled(state, state_r, TOL_OUT[torch.float64], impl)


# --- CUDA (skipped without a GPU) ---------------------------------------------------------------


@needs_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("case", CASES)
def test_cuda_dispatch_matches_cpu_reference(case: tuple) -> None:
    """selective_scan_fn on CUDA (mamba-ssm when installed, else the reference) vs the CPU reference."""
    groups, with_D, with_z, with_bias, softplus, last = case
    cpu_in = make_inputs(300, torch.float32, groups=groups, with_D=with_D, with_z=with_z, with_bias=with_bias)
    gpu_in = [None if t is None else t.detach().cuda().requires_grad_() for t in cpu_in]
    out_g, state_g, grads_g = run_with_grads(selective_scan_fn, gpu_in, softplus, last)
    out_c, state_c, grads_c = run_with_grads(selective_scan_ref, cpu_in, softplus, last)
    assert_close_scaled(out_g.cpu(), out_c, (1e-3, 1e-4), "out")
    if last:
        assert_close_scaled(state_g.cpu(), state_c, (1e-3, 1e-4), "last_state")
    for gg, gc in zip(grads_g, grads_c, strict=True):
        assert_close_scaled(gg.cpu(), gc, (5e-3, 1e-3), "grad")


@needs_cuda
@pytest.mark.cuda
@pytest.mark.skipif(not mamba_available(), reason="mamba-ssm not installed")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_mamba_kernel_matches_reference(dtype: torch.dtype) -> None:
    inputs = make_inputs(513, dtype, groups=4, with_z=True, device="cuda")
    inputs[2] = inputs[2].detach().float().requires_grad_()  # mamba-ssm keeps A in float32
    out_m, _, grads_m = run_with_grads(lambda *a, **k: selective_scan_fn(*a, **k, impl="cuda"), inputs, True, False)
    out_r, _, grads_r = run_with_grads(selective_scan_ref, inputs, True, False)
    assert resolve_impl(inputs[0]) == "cuda"
    tol = TOL_OUT[dtype] if dtype != torch.float32 else (1e-3, 1e-4)
    assert_close_scaled(out_m.float(), out_r.float(), tol, "out")
    for gm, gr in zip(grads_m, grads_r, strict=True):
        assert_close_scaled(gm.float(), gr.float(), (5e-2, 5e-2) if dtype == torch.bfloat16 else (5e-3, 1e-3), "grad")


@needs_numba
def test_cpu_inference_operator_matches_the_autograd_path_and_compiles() -> None:
    """Without gradients the scan runs as the operator ``pifnet::selective_scan_forward``: the same
    numbers as the autograd path, a valid operator (fake tensors agree with the kernel), and dynamo
    traces a function around it in one graph (what ``torch.compile`` of the network needs)."""
    from pifnet_engine.model.ops.selective_scan_cpu import _scan_forward_op

    inputs = make_inputs(129, torch.float32, groups=2, with_z=True, with_bias=True)
    with_grad = selective_scan_cpu(*inputs, delta_softplus=True, return_last_state=True)
    detached = [None if t is None else t.detach() for t in inputs]
    with torch.inference_mode():
        without = selective_scan_cpu(*detached, delta_softplus=True, return_last_state=True)
    for a, b in zip(with_grad, without, strict=True):
        torch.testing.assert_close(a.detach(), b, rtol=0, atol=0)
    u, delta, A, B, C = (t.detach().contiguous() for t in inputs[:5])  # B, C grouped: (b, 2, n, l)
    torch.library.opcheck(_scan_forward_op, (u, delta.abs(), A, B, C), test_utils=("test_schema", "test_faketensor"))

    def fn(*args: torch.Tensor | None) -> torch.Tensor:
        return selective_scan_cpu(*args, delta_softplus=True) * 2.0

    torch._dynamo.reset()
    compiled = torch.compile(fn, backend="eager", fullgraph=True)  # fullgraph: a graph break would raise
    with torch.inference_mode():
        torch.testing.assert_close(compiled(*detached), fn(*detached), rtol=0, atol=0)
