"""High-Frequency Semantic Perception Module (HFSPM): the guidance X_i^R of FAM-LoRA block i.

The paper (Fig. 2(b), not available as text) says it "constructs a global spatial semantic
reference by fusing high-frequency upsampled features with ill-posed residual information".
Our reading, per block i (the spectral and spatial branches both have L blocks, so block i of
the spatial branch is guided by the high-frequency state after Invertible Mamba Block i):

    U_i   = IDWT(0, P(X_H^i))                      (B, D, H, W)
    X_i^R = X_R + conv1x1(GELU(dwconv3x3(conv1x1([U_i, X_R]))))

- "Upsampled high-frequency features": X_H^i (B, D, H/2, W/2) is projected back to the three
  detail bands by the spectral branch's own projection P (D -> 3D, shared) and put on the
  full-resolution grid by the inverse Haar transform with a zero approximation band: the
  wavelet-consistent upsampling of detail coefficients, with no extra parameters.
- "Global": X_H^i has passed through the SSMM scans, whose receptive field is the whole window;
  the fusion itself is local (1x1 and 3x3 depthwise convolutions), adding no further
  window-global operation.
- The residual prior passes straight through (X_R + ...), so with beta = 0 the guidance is the
  high-frequency term only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pifnet_engine.model.haar import haar_idwt
from pifnet_engine.model.layers import DepthwiseConv2d


class HFSPM(nn.Module):
    """(U_i upsampled high-frequency features, X_R) -> X_i^R, all (B, D, H, W)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.fuse = nn.Conv2d(2 * dim, dim, kernel_size=1)
        self.local = DepthwiseConv2d(dim, 3)
        self.proj = nn.Conv2d(dim, dim, kernel_size=1)

    def forward(self, upsampled_high: Tensor, prior: Tensor) -> Tensor:
        f = self.fuse(torch.cat([upsampled_high, prior], dim=1))
        return prior + self.proj(F.gelu(self.local(f)))


def upsample_high(high_bands: Tensor) -> Tensor:
    """Detail bands (B, 3D, h, w) -> (B, D, 2h, 2w) by the inverse Haar with a zero LL band."""
    dim = high_bands.shape[1] // 3
    zeros = high_bands.new_zeros(high_bands.shape[0], dim, *high_bands.shape[-2:])
    return haar_idwt(zeros, high_bands)
