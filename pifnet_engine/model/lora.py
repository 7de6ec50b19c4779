"""Multi-head low-rank adaptation (the "multi-head LoRA" of FAM-LoRA).

The D channels are split evenly into ``heads`` groups of D/heads channels; head j has its own
pair A_j (r x D/heads) and B_j (D/heads x r) and maps its channels by ``(alpha / r) * B_j A_j x_j``
(a 1x1 convolution of rank r). As in the paper (Fig. 4) and Hu et al. (2022), A is drawn from a
standard Gaussian and B starts at zero, so the adaptation starts as exactly 0.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MultiHeadLoRA(nn.Module):
    """(B, D, H, W) -> (B, D, H, W), the low-rank update only (no base weight)."""

    def __init__(self, dim: int, heads: int = 4, rank: int = 4, alpha: float = 1.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"MultiHeadLoRA: dim {dim} is not divisible by heads {heads}")
        self.heads, self.rank = heads, rank
        head_dim = dim // heads
        self.lora_a = nn.Parameter(torch.randn(heads, rank, head_dim))  # standard Gaussian
        self.lora_b = nn.Parameter(torch.zeros(heads, head_dim, rank))  # zero
        self.scaling = float(alpha) / rank

    def forward(self, x: Tensor) -> Tensor:
        bsz, dim, h, w = x.shape
        xh = x.reshape(bsz, self.heads, dim // self.heads, h, w)
        low = torch.einsum("bjcxy,jrc->bjrxy", xh, self.lora_a)
        up = torch.einsum("bjrxy,jcr->bjcxy", low, self.lora_b)
        return (self.scaling * up).reshape(bsz, dim, h, w)
