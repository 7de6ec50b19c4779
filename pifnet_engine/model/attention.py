"""The two attention operations of FAM-LoRA: Large-Kernel Attention and Squeeze-and-Excitation."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call


def dilated_depthwise_conv(x: Tensor, weight: Tensor, bias: Tensor | None, dilation: int) -> Tensor:
    """Depthwise k x k convolution with ``dilation`` and "same" zero padding, computed as a dense
    depthwise convolution on the ``dilation**2`` interleaved sub-grids (pixel-unshuffle).

    Exactly equal to ``F.conv2d(x, weight, bias, padding=dilation * (k // 2), dilation=dilation,
    groups=C)``: a dilated kernel only mixes pixels of the same phase (row mod d, column mod d).
    PyTorch's CPU kernel for dilated depthwise convolutions is ~20x slower than the dense one.
    x: (B, C, H, W); weight: (C, 1, k, k); bias: (C,) or None.
    """
    d = dilation
    bsz, c, h, w = x.shape
    ph, pw = (-h) % d, (-w) % d
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph))  # zeros, as the convolution's own padding
    k = weight.shape[-1]
    sub = F.pixel_unshuffle(x, d)  # (B, C*d*d, H/d, W/d), channel c*d*d + phase
    out = F.conv2d(sub, weight.repeat_interleave(d * d, dim=0),
                   None if bias is None else bias.repeat_interleave(d * d), padding=k // 2,
                   groups=c * d * d)
    return F.pixel_shuffle(out, d)[..., :h, :w]


class LargeKernelAttention(nn.Module):
    """LKA (Guo et al., VAN): depthwise 5x5 -> depthwise 7x7 dilation 3 -> 1x1, times the input.

    (B, D, H, W) -> (B, D, H, W); receptive field 23 x 23 pixels.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(dim, dim, kernel_size=5, padding=2, groups=dim)
        self.dw_dilated = nn.Conv2d(dim, dim, kernel_size=7, padding=9, dilation=3, groups=dim)
        self.pw = nn.Conv2d(dim, dim, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        t = self.dw(x)
        conv = self.dw_dilated
        t = dilated_depthwise_conv(t, conv.weight, conv.bias, conv.dilation[0])
        return x * self.pw(t)


class SqueezeExcitation(nn.Module):
    """SE (Hu et al.): global average pool -> 1x1 (D -> D/r) -> ReLU -> 1x1 -> sigmoid, times the input.

    (B, D, H, W) -> (B, D, H, W). The pool is over the whole window (the only window-global
    operation outside the scans).
    """

    def __init__(self, dim: int, reduction: int = 4) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Conv2d(dim, dim // reduction, kernel_size=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(dim // reduction, dim, kernel_size=1),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x * self.fc(x.mean(dim=(2, 3), keepdim=True))


def call_frozen(module: nn.Module, x: Tensor) -> Tensor:
    """Run ``module(x)`` with *detached* copies of its parameters.

    Gradients flow to ``x`` but never to the module's parameters from this call, whatever
    ``requires_grad`` says and wherever else the module is used (toggling ``requires_grad``
    inside ``forward`` would not do that: autograd records the flag at use time, and the
    authors' toggle is undone before ``backward`` runs). Tensors are shared, not copied.
    """
    state = {name: p.detach() for name, p in module.named_parameters()}
    state.update(dict(module.named_buffers()))
    return functional_call(module, state, (x,))
