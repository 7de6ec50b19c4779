"""One-level orthonormal 2-D Haar wavelet transform and its exact inverse.

For every 2 x 2 block of pixels ``[[a, b], [c, d]]`` (rows, then columns) the four sub-bands are

    LL = (a + b + c + d) / 2      approximation (low frequency)
    HL = (a - b + c - d) / 2      horizontal detail (differences along x)
    LH = (a + b - c - d) / 2      vertical detail (differences along y)
    HH = (a - b - c + d) / 2      diagonal detail

The 4 x 4 matrix is orthonormal (its own inverse), so the transform preserves energy and its
Jacobian determinant is exactly 1: it adds nothing to the log-determinant of the spectral branch.
"""

from __future__ import annotations

import torch
from torch import Tensor


def haar_dwt(x: Tensor) -> tuple[Tensor, Tensor]:
    """Forward transform.

    Args:
        x: (B, D, H, W) with H and W even.

    Returns:
        low: (B, D, H/2, W/2) the LL band; high: (B, 3*D, H/2, W/2) the bands HL, LH, HH
        concatenated along channels (band-major: all HL channels, then LH, then HH).
    """
    if x.shape[-1] % 2 or x.shape[-2] % 2:
        raise ValueError(f"haar_dwt: spatial size {tuple(x.shape[-2:])} must be even")
    a = x[..., 0::2, 0::2]
    b = x[..., 0::2, 1::2]
    c = x[..., 1::2, 0::2]
    d = x[..., 1::2, 1::2]
    low = (a + b + c + d) * 0.5
    hl = (a - b + c - d) * 0.5
    lh = (a + b - c - d) * 0.5
    hh = (a - b - c + d) * 0.5
    return low, torch.cat([hl, lh, hh], dim=1)


def haar_idwt(low: Tensor, high: Tensor) -> Tensor:
    """Inverse of :func:`haar_dwt`: (B, D, h, w) + (B, 3*D, h, w) -> (B, D, 2h, 2w)."""
    dim = low.shape[1]
    if high.shape[1] != 3 * dim or high.shape[-2:] != low.shape[-2:]:
        raise ValueError(
            f"haar_idwt: high has shape {tuple(high.shape)}; expected (B, {3 * dim}, {low.shape[-2]}, "
            f"{low.shape[-1]})"
        )
    hl, lh, hh = high[:, :dim], high[:, dim:2 * dim], high[:, 2 * dim:]
    a = (low + hl + lh + hh) * 0.5
    b = (low - hl + lh - hh) * 0.5
    c = (low + hl - lh - hh) * 0.5
    d = (low - hl - lh + hh) * 0.5
    bsz, _, h, w = low.shape
    # Interleave: out[..., 2i + r, 2j + q] from (a: r=0,q=0), (b: 0,1), (c: 1,0), (d: 1,1).
    top = torch.stack([a, b], dim=-1).reshape(bsz, dim, h, 2 * w)
    bottom = torch.stack([c, d], dim=-1).reshape(bsz, dim, h, 2 * w)
    return torch.stack([top, bottom], dim=-2).reshape(bsz, dim, 2 * h, 2 * w)
