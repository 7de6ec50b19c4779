"""``selective_scan_fn``: one entry point that picks a selective-scan implementation.

Implementations, all with mamba-ssm's ``selective_scan_fn`` signature and semantics:

- ``"cuda"``: mamba-ssm's fused CUDA kernel (optional extra ``pifnet-engine[cuda]``), for CUDA
  tensors in float32 / float16 / bfloat16.
- ``"cpu"``: :func:`.selective_scan_cpu.selective_scan_cpu`, numba kernels (optional ``numba``).
- ``"ref"``: :func:`.selective_scan_ref.selective_scan_ref`, sequential PyTorch; any device.

``impl="auto"`` (default) chooses per call: CUDA tensors -> ``"cuda"`` when mamba-ssm imports
(float64 -> ``"ref"``, which the CUDA kernel does not support); CPU tensors -> ``"cpu"`` when
numba imports; otherwise ``"ref"``. The environment variable ``PIFNET_SCAN_IMPL`` (``auto``,
``cuda``, ``cpu``, ``ref``) overrides the default for a whole process, e.g.
``PIFNET_SCAN_IMPL=ref`` to rule out a kernel bug; an explicit ``impl=`` argument wins over both.
Asking explicitly for an implementation that cannot run raises
:class:`pifnet_engine.errors.DeviceError` saying how to fix it; ``"auto"`` never raises for that.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache

import torch
from torch import Tensor

from pifnet_engine.errors import DeviceError, UsageError
from pifnet_engine.model.ops.selective_scan_cpu import NUMBA_AVAILABLE, selective_scan_cpu
from pifnet_engine.model.ops.selective_scan_ref import selective_scan_ref

ENV_VAR = "PIFNET_SCAN_IMPL"
IMPLS = ("auto", "cuda", "cpu", "ref")
CUDA_INSTALL_HINT = (
    'on a machine with a CUDA GPU and the CUDA toolkit run '
    '`pip install --no-build-isolation "pifnet-engine[cuda]"`'
)

ScanFn = Callable[..., Tensor | tuple[Tensor, Tensor]]


@lru_cache(maxsize=1)
def _mamba_import() -> tuple[ScanFn | None, str]:
    """(mamba-ssm's selective_scan_fn or None, why the import failed). Imported once, lazily."""
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn as mamba_fn
    except (ImportError, OSError) as exc:  # not installed, or built against another CUDA/torch
        return None, f"{type(exc).__name__}: {exc}"
    return mamba_fn, ""


def mamba_available() -> bool:
    """True when mamba-ssm's CUDA selective scan imports."""
    return _mamba_import()[0] is not None


def _requested_impl(impl: str | None) -> str:
    """The implementation name asked for: the argument, else $PIFNET_SCAN_IMPL, else "auto"."""
    source = "impl argument"
    if impl is None:
        impl, source = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto", f"${ENV_VAR}"
    if impl not in IMPLS:
        raise UsageError(
            f"selective scan: unknown implementation {impl!r} (from {source}); "
            f"expected one of {', '.join(IMPLS)}; fix the value or unset {ENV_VAR}"
        )
    return impl


def resolve_impl(u: Tensor, impl: str | None = None) -> str:
    """Name of the implementation ``selective_scan_fn`` would run for input ``u`` (b, d, l).

    Raises:
        UsageError: unknown implementation name.
        DeviceError: the requested implementation cannot run here (missing package, wrong device).
    """
    name = _requested_impl(impl)
    on_cuda = u.device.type == "cuda"
    if name == "auto":
        if on_cuda:
            return "cuda" if mamba_available() and u.dtype != torch.float64 else "ref"
        return "cpu" if u.device.type == "cpu" and NUMBA_AVAILABLE else "ref"
    if name == "cuda":
        fn, why = _mamba_import()
        if fn is None:
            raise DeviceError(
                f"selective scan: implementation 'cuda' needs mamba-ssm, but it does not import ({why}); "
                f"{CUDA_INSTALL_HINT}, or set {ENV_VAR}=auto to use the PyTorch implementation"
            )
        if not on_cuda:
            raise DeviceError(
                f"selective scan: implementation 'cuda' needs CUDA tensors but got {u.device}; "
                f"move the model to a GPU or set {ENV_VAR}=auto"
            )
    if name == "cpu":
        if not NUMBA_AVAILABLE:
            raise DeviceError(
                "selective scan: implementation 'cpu' needs numba, which is not installed; "
                f"run `pip install numba`, or set {ENV_VAR}=auto to use the reference"
            )
        if u.device.type != "cpu":
            raise DeviceError(
                f"selective scan: implementation 'cpu' needs CPU tensors but got {u.device}; "
                f"set {ENV_VAR}=auto"
            )
    return name


def selective_scan_fn(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None = None,
    z: Tensor | None = None,
    delta_bias: Tensor | None = None,
    delta_softplus: bool = False,
    return_last_state: bool = False,
    *,
    impl: str | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    """Selective scan (mamba-ssm semantics) with the best implementation available.

    Args:
        u, delta: (b, d, l); A: (d, n) real; B, C: (b, n, l) or grouped (b, G, n, l), d % G == 0;
        D, delta_bias: (d,) or None; z: (b, d, l) gate or None; see
        :mod:`.selective_scan_ref` for the recurrence.
        impl: "auto", "cuda", "cpu" or "ref"; None reads $PIFNET_SCAN_IMPL (default "auto").

    Returns:
        out (b, d, l) in u's dtype, or (out, last_state (b, d, n)) with ``return_last_state``.
    """
    name = resolve_impl(u, impl)
    fn: ScanFn | None
    if name == "cuda":
        fn = _mamba_import()[0]
        assert fn is not None, "resolve_impl returns cuda only when mamba-ssm imports"
    elif name == "cpu":
        fn = selective_scan_cpu
    else:
        fn = selective_scan_ref
    return fn(u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state)
