import torch

from pifnet_engine.model.invertible import InvertibleMambaBlock, InvertibleStack

from .helpers import randomise_zero_inits, tiny_config


def _stack(seed: int = 0, **overrides: object) -> InvertibleStack:
    torch.manual_seed(seed)
    stack = InvertibleStack(tiny_config(**overrides)).double()
    randomise_zero_inits(stack)  # non-trivial scales exp(I2) != 1
    return stack


def test_block_inverse_of_forward() -> None:
    block = _stack().blocks[0]
    x_l = torch.randn(2, 8, 4, 3, dtype=torch.float64)
    x_h = torch.randn(2, 8, 4, 3, dtype=torch.float64)
    y_l, y_h, logdet, _ = block(x_l, x_h)
    assert logdet.abs().min() > 0.1  # the scale part is really exercised
    r_l, r_h = block.inverse(y_l, y_h)
    torch.testing.assert_close(r_l, x_l, rtol=0, atol=1e-10)
    torch.testing.assert_close(r_h, x_h, rtol=0, atol=1e-10)


def test_stack_inverse_float32_tolerance() -> None:
    stack = _stack().float()
    x_l, x_h = torch.randn(1, 8, 4, 4), torch.randn(1, 8, 4, 4)
    y_l, y_h, _, highs, _ = stack(x_l, x_h)
    assert len(highs) == 2 and highs[-1] is y_h
    r_l, r_h = stack.inverse(y_l, y_h)
    torch.testing.assert_close(r_l, x_l, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(r_h, x_h, rtol=1e-4, atol=1e-4)


def test_logdet_equals_numerical_jacobian_logdet() -> None:
    """The analytic log|det| (sum of I2 log-scales) must equal slogdet of the full Jacobian."""
    stack = _stack(seed=3, hidden=4, ssm_segments=2, ssm_kernels=(3, 3), lora_heads=2)
    shape = (1, 4, 1, 3)  # 24 coupled scalars: a 24 x 24 Jacobian
    x_l, x_h = torch.randn(shape, dtype=torch.float64), torch.randn(shape, dtype=torch.float64)
    n = x_l.numel()

    def f(v: torch.Tensor) -> torch.Tensor:
        y_l, y_h, _, _, _ = stack(v[:n].view(shape), v[n:].view(shape))
        return torch.cat([y_l.flatten(), y_h.flatten()])

    jac = torch.autograd.functional.jacobian(f, torch.cat([x_l.flatten(), x_h.flatten()]))
    sign, numeric = torch.linalg.slogdet(jac)
    _, _, analytic, _, _ = stack(x_l, x_h)
    assert sign.item() > 0
    assert abs(numeric.item()) > 0.1
    torch.testing.assert_close(analytic[0], numeric, rtol=1e-9, atol=1e-9)


def test_clamped_scale_is_still_invertible() -> None:
    torch.manual_seed(0)
    block = InvertibleMambaBlock(tiny_config(log_scale_clamp=0.5)).double()
    randomise_zero_inits(block, seed=4)
    with torch.no_grad():
        block.i2.out_proj.weight.mul_(50.0)  # raw log-scales far beyond the clamp
    x_l, x_h = torch.randn(1, 8, 3, 3, dtype=torch.float64), torch.randn(1, 8, 3, 3, dtype=torch.float64)
    y_l, y_h, logdet, _ = block(x_l, x_h)
    assert logdet.abs().item() <= 0.5 * x_l.numel()
    r_l, r_h = block.inverse(y_l, y_h)
    torch.testing.assert_close(r_l, x_l, rtol=0, atol=1e-10)
    torch.testing.assert_close(r_h, x_h, rtol=0, atol=1e-10)
