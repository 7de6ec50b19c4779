"""Segmented Spectral Mamba Module (SSMM), the subnetwork I1, I2, I3 of every Invertible Mamba Block.

The paper gives the SSMM only as Figure 3(b) ("Split" and "Concat" along channels around VMamba's
SS2D, "global spectral modeling and multi-scale feature extraction"). Our reading, (B, D, h, w) ->
(B, D, h, w) with E = ssm_expand * D inner channels and G segments of S = E / G channels:

1. ``norm``: LayerNorm over the channels of each pixel (VMamba normalises before SS2D).
2. ``in_proj``: 1x1 conv D -> 2E, split into the scan input ``x`` (E) and the gate ``z`` (E), as
   in Mamba / VMamba v0.
3. **Split** ``x`` along channels into G spectral segments. Segment g gets its own depthwise
   k_g x k_g convolution (``ssm_kernels`` = 3, 5, 7, 9 by default) + SiLU: the multi-scale local
   mixing (VMamba has one 3x3 depthwise conv here; the figure's parallel paths of different
   scale are read as one kernel size per segment).
4. **SS2D** over the spatial tokens, four scan directions (row-major, column-major and both
   reversed), with *segment-wise* selection: for every direction k and segment g the input-
   dependent dt (rank ``dt_rank``), B and C (state size N) are projected from that segment's
   channels only. This is the "segmented spectral" part: each spectral segment is scanned with
   its own selective parameters, i.e. a grouped selective scan with 4 * G groups
   (``selective_scan_fn`` with B, C of shape (batch, 4G, N, L)). The four directions are summed
   after being mapped back to the pixel grid.
5. **Concat** (the segments come back together in the scan output), LayerNorm, gate with SiLU(z)
   and ``out_proj`` 1x1 conv E -> D.

There is no residual connection inside the SSMM: it is a coupling function, its output is a
shift (I1, I3) or a log-scale (I2). Parameter initialisation follows Mamba's published recipe
(A = -[1..N], D = 1, dt in [1e-3, 0.1] via an inverse-softplus bias); ``zero_out`` starts the
output projection at zero (used for I2 so that every coupling starts with scale exp(0) = 1).

Receptive field: every output pixel depends on the whole window through the scans, so the
windowed engine needs generous overlap (see ``methods/pifnet.py``).
"""

from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pifnet_engine.model.layers import DepthwiseConv2d, LayerNorm2d
from pifnet_engine.model.ops import selective_scan_fn

#: Number of scan directions of SS2D.
DIRECTIONS = 4


def scan_orders(x: Tensor) -> Tensor:
    """(B, E, h, w) -> (B, 4, E, h*w): row-major, column-major, reversed row-major, reversed column-major."""
    rows = x.flatten(2)
    cols = x.transpose(2, 3).flatten(2)
    fwd = torch.stack([rows, cols], dim=1)
    return torch.cat([fwd, fwd.flip(-1)], dim=1)


def merge_orders(y: Tensor, h: int, w: int) -> Tensor:
    """Inverse of :func:`scan_orders` followed by a sum: (B, 4, E, h*w) -> (B, E, h, w)."""
    bsz, _, e, _ = y.shape
    back = y[:, :2] + y[:, 2:].flip(-1)
    rows = back[:, 0].reshape(bsz, e, h, w)
    cols = back[:, 1].reshape(bsz, e, w, h).transpose(2, 3)
    return rows + cols


class SS2DSegmented(nn.Module):
    """Four-direction 2-D selective scan with per-segment selective projections.

    Input and output: (B, E, h, w). Parameters per direction k and segment g: ``x_proj``
    (dt_rank + 2N, S), ``dt_proj`` (S, dt_rank); per scanned channel (4E): ``dt_bias``, ``A_log``
    (N), ``Ds``.
    """

    def __init__(self, inner: int, segments: int, d_state: int, dt_rank: int) -> None:
        super().__init__()
        self.inner, self.segments, self.d_state, self.dt_rank = inner, segments, d_state, dt_rank
        seg = inner // segments
        k, g, n, r = DIRECTIONS, segments, d_state, dt_rank
        bound = 1.0 / math.sqrt(seg)
        self.x_proj_weight = nn.Parameter(torch.empty(k, g, r + 2 * n, seg).uniform_(-bound, bound))
        self.dt_proj_weight = nn.Parameter(torch.empty(k, g, seg, r).uniform_(-(r ** -0.5), r ** -0.5))
        dt = torch.exp(torch.empty(k * inner).uniform_(math.log(1e-3), math.log(1e-1))).clamp_min(1e-4)
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
        a = torch.arange(1, n + 1, dtype=torch.float32).repeat(k * inner, 1)
        self.A_log = nn.Parameter(torch.log(a))
        self.Ds = nn.Parameter(torch.ones(k * inner))

    def forward(self, x: Tensor) -> Tensor:
        bsz, e, h, w = x.shape
        length = h * w
        k, g, n, r = DIRECTIONS, self.segments, self.d_state, self.dt_rank
        xs = scan_orders(x)  # (B, 4, E, L)
        xs_g = xs.reshape(bsz, k, g, e // g, length)
        x_dbl = torch.einsum("bkgcl,kgjc->bkgjl", xs_g, self.x_proj_weight)
        dts, bs, cs = torch.split(x_dbl, [r, n, n], dim=3)
        dts = torch.einsum("bkgrl,kgcr->bkgcl", dts, self.dt_proj_weight)
        y = selective_scan_fn(
            xs.reshape(bsz, k * e, length).contiguous(),
            dts.reshape(bsz, k * e, length).contiguous(),
            -torch.exp(self.A_log.float()),
            bs.reshape(bsz, k * g, n, length).contiguous(),
            cs.reshape(bsz, k * g, n, length).contiguous(),
            D=self.Ds.float(),
            z=None,
            delta_bias=self.dt_bias.float(),
            delta_softplus=True,
        )
        out = cast(Tensor, y)  # without return_last_state the scan returns one tensor
        return merge_orders(out.reshape(bsz, k, e, length), h, w)


class SSMM(nn.Module):
    """Segmented Spectral Mamba Module: (B, D, h, w) -> (B, D, h, w). See the module docstring."""

    def __init__(
        self,
        dim: int,
        d_state: int,
        expand: int = 1,
        segments: int = 4,
        kernels: tuple[int, ...] = (3, 5, 7, 9),
        dt_rank: int = 1,
        zero_out: bool = False,
    ) -> None:
        super().__init__()
        inner = expand * dim
        seg = inner // segments
        self.seg = seg
        self.norm = LayerNorm2d(dim)
        self.in_proj = nn.Conv2d(dim, 2 * inner, kernel_size=1, bias=False)
        self.local = nn.ModuleList(
            DepthwiseConv2d(seg, kk) for kk in kernels
        )
        self.ss2d = SS2DSegmented(inner, segments, d_state, dt_rank)
        self.out_norm = LayerNorm2d(inner)
        self.out_proj = nn.Conv2d(inner, dim, kernel_size=1, bias=False)
        if zero_out:
            nn.init.zeros_(self.out_proj.weight)

    def forward(self, x: Tensor) -> Tensor:
        x_in, z = self.in_proj(self.norm(x)).chunk(2, dim=1)
        parts = x_in.split(self.seg, dim=1)
        mixed = torch.cat([F.silu(conv(p)) for conv, p in zip(self.local, parts, strict=True)], dim=1)
        y = self.out_norm(self.ss2d(mixed)) * F.silu(z)
        return self.out_proj(y)
