"""Bicubic upsampling of the HSI to the MSI grid (the MSI is not used): a baseline."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pifnet_engine.methods.base import FusionMethod


def upsample_bicubic(hsi: torch.Tensor, ratio: int) -> torch.Tensor:
    """(B, C, h, w) -> (B, C, h*ratio, w*ratio), Keys cubic (a = -0.75), pixel-area geometry.

    With ``align_corners=False`` and an integer factor, fine pixel ``j`` samples coarse position
    ``(j + 0.5) / ratio - 0.5``: coarse pixel centres sit at the centres of their footprints,
    which is the georeferenced geometry of two grids whose corners coincide.
    """
    return F.interpolate(hsi, scale_factor=ratio, mode="bicubic", align_corners=False)


class BicubicMethod(FusionMethod):
    """Upsampling only. Needs 2 coarse pixels of context (the cubic kernel's reach)."""

    name = "bicubic"

    def halo_lr_px(self, ratio: int) -> int:
        return 2

    def fuse(self, hsi: torch.Tensor, msi: torch.Tensor) -> torch.Tensor:
        assert self.pair is not None
        return upsample_bicubic(hsi, self.pair.ratio)
