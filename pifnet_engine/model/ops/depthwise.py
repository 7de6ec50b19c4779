"""Depthwise "same" convolution (stride 1, odd square kernel, any dilation) with a fast CPU backward.

``depthwise_conv2d(x, weight, bias, dilation)`` equals ``F.conv2d(x, weight, bias,
padding=dilation * (k // 2), dilation=dilation, groups=C)``: x (B, C, H, W), weight (C, 1, k, k),
bias (C,) or None -> (B, C, H, W) in the same units.

Why not ``F.conv2d`` alone (measured on the 2-core CPU, batch 4, PIF-Net's shapes):

- The forward of a *dilated* depthwise convolution is ~20x slower than a dense one in PyTorch's
  CPU kernels; a dilated kernel only mixes pixels of one phase (row mod d, column mod d), so it
  is computed as a dense convolution on the d*d interleaved sub-grids (pixel-unshuffle), exactly.
- The backward for the *weight* is 5-30x slower than the forward (e.g. 10-16 ms against 0.8 ms
  for the LKA's 5x5 on (4, 64, 64, 64)); :mod:`.depthwise_kernels_numba` computes it in ~2 ms.
  Forward + backward in bfloat16 autocast, (4, 64, 64, 64): 5x5 14.0 -> 8.6 ms, 7x7 dilation 3
  (PyTorch's autograd through the sub-grid forward) 20.1 -> 12.0 ms; (4, 16, 32, 32): 5x5
  1.08 -> 0.61 ms, 7x7 1.67 -> 0.75 ms.
  The input gradient is the same convolution of the output gradient with the flipped kernel,
  a forward pass, fast already.

The custom backward runs on CPU tensors when numba imports, the weight needs a gradient
(training) and the kernel is 5x5 or larger (:data:`FAST_MIN_KERNEL`); everything else
(inference, frozen weights, CUDA, no numba) takes the plain forward, whose autograd is PyTorch's. Under autocast the inputs are cast to the autocast dtype
first, as autocast does for ``conv2d``; the weight gradient is accumulated in float32
(float64 for float64 tensors) and cast back.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from pifnet_engine.model.ops.cpu_threads import run_items

try:
    from pifnet_engine.model.ops import depthwise_kernels_numba as _kernels
except ImportError:  # numba (optional) is absent: PyTorch's own backward is used
    _kernels = None  # type: ignore[assignment]  # the module or None: checked before each use


#: Smallest kernel for the numba weight gradient: PyTorch's own 3x3 depthwise backward is fast
#: (bfloat16 fwd+bwd of (4, 64, 64, 64): 2.0 ms against 3.9 ms), its 5x5 is not (14 against 8.6 ms).
FAST_MIN_KERNEL = 5


def depthwise_forward(x: Tensor, weight: Tensor, bias: Tensor | None, dilation: int) -> Tensor:
    """The convolution itself (autograd through PyTorch's ops); shapes as the module docstring."""
    k = weight.shape[-1]
    c = x.shape[1]
    if dilation == 1:
        return F.conv2d(x, weight, bias, padding=k // 2, groups=c)
    d = dilation
    h, w = x.shape[-2:]
    ph, pw = (-h) % d, (-w) % d
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph))  # zeros, as the convolution's own padding
    sub = F.pixel_unshuffle(x, d)  # (B, C*d*d, H/d, W/d), channel c*d*d + phase
    out = F.conv2d(sub, weight.repeat_interleave(d * d, dim=0),
                   None if bias is None else bias.repeat_interleave(d * d), padding=k // 2,
                   groups=c * d * d)
    return F.pixel_shuffle(out, d)[..., :h, :w]


class _DepthwiseConv(torch.autograd.Function):
    """(x, weight, bias, dilation) -> output, with the numba weight gradient. CPU tensors, one dtype."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None, dilation: int) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.dilation = dilation
        ctx.has_bias = bias is not None
        return depthwise_forward(x, weight, bias, dilation)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None, None]:
        x, weight = ctx.saved_tensors
        d = ctx.dilation
        wd = torch.float64 if x.dtype == torch.float64 else torch.float32  # accumulation dtype
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = depthwise_forward(g, weight.flip(-1, -2), None, d)
        if ctx.needs_input_grad[1]:
            k = weight.shape[-1]
            p = d * (k // 2)
            xp = F.pad(x.to(wd), (p, p, p, p)).contiguous()
            gc = g.to(wd).contiguous()
            out = torch.empty((weight.shape[0], k, k), dtype=wd)
            args = (xp.numpy(), gc.numpy(), d, out.numpy())
            run_items(lambda lo, hi: _kernels.depthwise_weight_grad(*args, lo, hi), weight.shape[0])
            gw = out.view(weight.shape).to(weight.dtype)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = g.sum(dim=(0, 2, 3), dtype=wd).to(g.dtype)
        return gx, gw, gb, None


def depthwise_conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, dilation: int = 1) -> Tensor:
    """Depthwise same convolution; see the module docstring.

    Raises:
        ValueError: the weight is not (C, 1, k, k) with C = x's channels and k odd.
    """
    c = x.shape[1]
    k = weight.shape[-1]
    if weight.dim() != 4 or tuple(weight.shape[:3]) != (c, 1, k) or k % 2 == 0:
        raise ValueError(f"depthwise_conv2d: weight of shape {tuple(weight.shape)} for {c} channels; "
                         "expected (C, 1, k, k) with k odd")
    fast = (_kernels is not None and x.device.type == "cpu" and torch.is_grad_enabled()
            and weight.requires_grad and k >= FAST_MIN_KERNEL)
    if not fast:
        return depthwise_forward(x, weight, bias, dilation)
    if torch.is_autocast_enabled("cpu"):
        dt = torch.get_autocast_dtype("cpu")
        x, weight = x.to(dt), weight.to(dt)
        bias = None if bias is None else bias.to(dt)
    else:
        weight = weight.to(x.dtype)
        bias = None if bias is None else bias.to(x.dtype)
    with torch.autocast("cpu", enabled=False):
        return _DepthwiseConv.apply(x, weight, bias, dilation)
