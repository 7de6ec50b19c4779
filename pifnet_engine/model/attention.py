"""The two attention operations of FAM-LoRA: Large-Kernel Attention and Squeeze-and-Excitation."""

from __future__ import annotations

from torch import Tensor, nn
from torch.func import functional_call

from pifnet_engine.model.layers import DepthwiseConv2d


class LargeKernelAttention(nn.Module):
    """LKA (Guo et al., VAN): depthwise 5x5 -> depthwise 7x7 dilation 3 -> 1x1, times the input.

    (B, D, H, W) -> (B, D, H, W); receptive field 23 x 23 pixels.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dw = DepthwiseConv2d(dim, 5)
        self.dw_dilated = DepthwiseConv2d(dim, 7, dilation=3)
        self.pw = nn.Conv2d(dim, dim, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.pw(self.dw_dilated(self.dw(x)))


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
