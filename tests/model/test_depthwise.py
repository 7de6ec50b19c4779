"""The depthwise convolution op: exactly F.conv2d forward and backward, on every path."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pifnet_engine.model.layers import DepthwiseConv2d
from pifnet_engine.model.ops import depthwise as dw_module
from pifnet_engine.model.ops.depthwise import depthwise_conv2d

needs_numba = pytest.mark.skipif(dw_module._kernels is None, reason="numba (optional fast CPU path) not installed")


def _direct(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, d: int) -> torch.Tensor:
    k = w.shape[-1]
    return F.conv2d(x, w, b, padding=d * (k // 2), dilation=d, groups=x.shape[1])


def _grads(fn, x, w, b, d):  # type: ignore[no-untyped-def]
    x = x.detach().requires_grad_()
    w = w.detach().requires_grad_()
    b = None if b is None else b.detach().requires_grad_()
    out = fn(x, w, b, d)
    # a non-uniform output gradient, so that every weight tap gets a different sum
    (out * torch.linspace(-1.0, 2.0, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    return out, x.grad, w.grad, None if b is None else b.grad


@pytest.mark.parametrize("h,w", [(9, 12), (7, 11), (2, 5)])
def test_dilated_forward_equals_direct(h: int, w: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, h, w, dtype=torch.float64)
    weight, bias = torch.randn(3, 1, 7, 7, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(depthwise_conv2d(x, weight, bias, 3), _direct(x, weight, bias, 3))


@needs_numba
@pytest.mark.parametrize("k,d,bias", [(3, 1, True), (5, 1, False), (9, 1, True), (7, 3, True), (5, 2, False)])
@pytest.mark.parametrize("size", [(8, 8), (7, 13)])
def test_fast_backward_equals_pytorch_float64(k: int, d: int, bias: bool, size: tuple[int, int]) -> None:
    """Every path (3x3: PyTorch's backward; 5x5 and larger: the numba weight gradient)."""
    torch.manual_seed(1)
    x = torch.randn(3, 4, *size, dtype=torch.float64)
    w = torch.randn(4, 1, k, k, dtype=torch.float64)
    b = torch.randn(4, dtype=torch.float64) if bias else None
    got = _grads(depthwise_conv2d, x, w, b, d)
    ref = _grads(_direct, x, w, b, d)
    for g, r in zip(got, ref, strict=True):
        if r is None:
            assert g is None
        else:
            torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-10)


@needs_numba
def test_fast_backward_float32_close_to_float64() -> None:
    torch.manual_seed(2)
    x = torch.randn(4, 16, 32, 32)
    w = torch.randn(16, 1, 5, 5)
    b = torch.randn(16)
    got = _grads(depthwise_conv2d, x, w, b, 1)
    ref = _grads(_direct, x.double(), w.double(), b.double(), 1)
    for g, r in zip(got, ref, strict=True):
        assert g.dtype == torch.float32
        torch.testing.assert_close(g.double(), r, rtol=1e-4, atol=1e-4 * r.abs().max().item())


def test_autocast_bf16_matches_conv2d_under_autocast() -> None:
    """Under CPU autocast the op computes in bfloat16 like conv2d does; parameter grads stay float32."""
    torch.manual_seed(3)
    conv = DepthwiseConv2d(8, 7, dilation=3)
    x = torch.randn(2, 8, 20, 20, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = conv(x)
    assert out.dtype == torch.bfloat16
    out.float().square().sum().backward()
    ref_conv = torch.nn.Conv2d(8, 8, 7, padding=9, dilation=3, groups=8)
    ref_conv.load_state_dict(conv.state_dict())
    x_ref = x.detach().clone().requires_grad_()
    ref_conv(x_ref).square().sum().backward()
    assert conv.weight.grad.dtype == torch.float32
    for g, r in [(x.grad, x_ref.grad), (conv.weight.grad, ref_conv.weight.grad), (conv.bias.grad, ref_conv.bias.grad)]:
        assert (g - r).norm() / r.norm() < 0.03  # bfloat16 has 8 significant bits


def test_without_numba_pytorch_backward_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(4)
    x, w, b = torch.randn(2, 3, 9, 9, dtype=torch.float64), torch.randn(3, 1, 5, 5, dtype=torch.float64), None
    ref = _grads(_direct, x, w, b, 1)
    monkeypatch.setattr(dw_module, "_kernels", None)
    got = _grads(depthwise_conv2d, x, w, b, 1)
    for g, r in zip(got[:3], ref[:3], strict=True):
        torch.testing.assert_close(g, r)


def test_module_state_dict_is_conv2d_s() -> None:
    """Weights files written before the op keep loading: same keys and shapes as nn.Conv2d."""
    conv = DepthwiseConv2d(6, 5)
    plain = torch.nn.Conv2d(6, 6, 5, padding=2, groups=6)
    assert {k: v.shape for k, v in conv.state_dict().items()} == {k: v.shape for k, v in plain.state_dict().items()}
    conv.load_state_dict(plain.state_dict())
    x = torch.randn(1, 6, 10, 10)
    torch.testing.assert_close(conv(x), plain(x))


def test_even_kernel_refused() -> None:
    with pytest.raises(ValueError, match="k odd"):
        depthwise_conv2d(torch.zeros(1, 2, 4, 4), torch.zeros(2, 1, 4, 4))
