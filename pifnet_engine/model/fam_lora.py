"""Fusion-Aware Multi-head LoRA block (FAM-LoRA), the spatial branch's restoration block.

Inputs: the main spatial feature Y_i and the guidance X_i^R, both (B, D, H, W); output Y_{i+1}.

Our reading of the paper's text and Figure 4 (the figure itself is not available as text):

    t = conv1(Y_i)
    t = LKA(t) + SE(t)                               first attention: trainable
    t = conv3(conv2(t))
    g = t + X_i^R                                    X_i^R injected into the SE input
    t = LKA°(t) + SE°(g) + LoRA(g)                   second attention: ° = parameters detached
    Y_{i+1} = Y_i + conv4(t)

- "Four consecutive 1x1 convolutions for channel compression and transformation": conv1..conv4,
  D -> D each (no compression ratio is given; the LoRA heads need D channels). The text lists
  them before the attention; we place two of them around each attention (one before the first,
  two between the attentions, one after the second), the placement the authors' code also uses,
  so each attention sees freshly transformed channels and the block ends in a projection.
- "After the second attention operation, the gradients of the LKA and SE modules are frozen":
  the *same* LKA and SE modules are applied a second time with detached parameters
  (:func:`~pifnet_engine.model.attention.call_frozen`), so their parameters learn only from the
  first application; gradients still flow through the second one to its inputs.
- Multi-head LoRA: with the second attention acting as the frozen base operator, the LoRA
  update (trainable, zero at initialisation) runs beside it on the same input g, the usual
  W0 x + B A x arrangement; it carries the guidance into the main path.
- The residual connection (Y_i + ...) is our choice (paper silent): it keeps the block an
  identity-plus-update so that four blocks train stably.
"""

from __future__ import annotations

from torch import Tensor, nn

from pifnet_engine.model.attention import LargeKernelAttention, SqueezeExcitation, call_frozen
from pifnet_engine.model.lora import MultiHeadLoRA


class FAMLoRA(nn.Module):
    """One FAM-LoRA block: (Y_i, X_i^R) -> Y_{i+1}, all (B, D, H, W)."""

    def __init__(self, dim: int, heads: int = 4, rank: int = 4, alpha: float = 1.0,
                 se_reduction: int = 4) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(dim, dim, kernel_size=1)
        self.conv2 = nn.Conv2d(dim, dim, kernel_size=1)
        self.conv3 = nn.Conv2d(dim, dim, kernel_size=1)
        self.conv4 = nn.Conv2d(dim, dim, kernel_size=1)
        self.lka = LargeKernelAttention(dim)
        self.se = SqueezeExcitation(dim, se_reduction)
        self.lora = MultiHeadLoRA(dim, heads, rank, alpha)

    def first_attention(self, t: Tensor) -> Tensor:
        """Trainable LKA + SE."""
        return self.lka(t) + self.se(t)

    def second_attention(self, t: Tensor, guidance: Tensor) -> Tensor:
        """Frozen LKA + SE (guidance injected into SE's input) + trainable multi-head LoRA."""
        g = t + guidance
        return call_frozen(self.lka, t) + call_frozen(self.se, g) + self.lora(g)

    def forward(self, y: Tensor, guidance: Tensor) -> Tensor:
        t = self.first_attention(self.conv1(y))
        t = self.second_attention(self.conv3(self.conv2(t)), guidance)
        return y + self.conv4(t)
