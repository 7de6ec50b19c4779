"""Small building blocks shared by the PIF-Net modules."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from pifnet_engine.model.ops.depthwise import depthwise_conv2d


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of every pixel separately: (B, D, H, W) -> same shape.

    Per-pixel normalisation (not GroupNorm over the whole image) keeps each output pixel
    independent of far-away window content, which matters for window-by-window inference.
    """

    def forward(self, x: Tensor) -> Tensor:
        y = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return y.permute(0, 3, 1, 2)


class ConvHead(nn.Sequential):
    """The paper's Head (and Tail, "which shares the same structure"): Conv3x3 -> ReLU -> Conv3x3.

    (B, in_ch, H, W) -> (B, out_ch, H, W). The hidden width is ``mid_ch`` (D in PIF-Net).
    Zero padding, as in the paper's convolution layers.
    """

    def __init__(self, in_ch: int, mid_ch: int, out_ch: int) -> None:
        super().__init__(
            nn.Conv2d(in_ch, mid_ch, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_ch, out_ch, kernel_size=3, padding=1),
        )


class DepthwiseConv2d(nn.Conv2d):
    """Depthwise k x k "same" convolution (stride 1, zero padding, optional dilation).

    (B, C, H, W) -> (B, C, H, W). Parameters and state-dict keys are those of
    ``nn.Conv2d(C, C, k, padding=dilation * (k // 2), dilation=dilation, groups=C)``; the
    computation goes through :func:`~pifnet_engine.model.ops.depthwise.depthwise_conv2d` (fast
    dilated forward and CPU weight gradient).
    """

    def __init__(self, channels: int, kernel_size: int, dilation: int = 1, bias: bool = True) -> None:
        super().__init__(channels, channels, kernel_size, padding=dilation * (kernel_size // 2),
                         dilation=dilation, groups=channels, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return depthwise_conv2d(x, self.weight, self.bias, self.dilation[0])
