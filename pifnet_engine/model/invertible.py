"""Invertible Mamba Block (paper eq. 3) and the stack of L blocks, with exact inverses.

Each block updates the low-frequency part X_L and the reduced high-frequency part X_H, both
(B, D, H/2, W/2), by an affine coupling whose subnetworks I1, I2, I3 are SSMMs::

    X_H' = X_H + I1(X_L)
    X_L' = X_L * exp(s) + I3(X_H'),      s = I2(X_H')

Decision: eq. 3 as printed feeds I2 and I3 the *old* X_H^i; that map is not triangular (to
recover X_L one needs X_H^i, which needs X_L) and has no closed-form inverse. We use the updated
X_H^{i+1}, as the issue's sequential notation ("X_H <- ...; X_L <- ...") and every affine
coupling (RealNVP, Glow, IRN) do; then the Jacobian is triangular with log|det| = sum(s), and::

    X_H = X_H' - I1(X_L),   X_L = (X_L' - I3(X_H')) * exp(-s)

Decision: I2's output projection starts at zero, so at initialisation every coupling has scale 1
and log-det 0 (Glow's zero-init; the paper is silent). Optional soft clamp of s: see
``PIFNetConfig.log_scale_clamp`` (2.0 by default; ``None`` = the paper's plain exp, whose
log-determinant term in eq. 4 is unbounded below: see the config's docstring).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pifnet_engine.model.config import PIFNetConfig
from pifnet_engine.model.ssmm import SSMM


def _ssmm(cfg: PIFNetConfig, zero_out: bool = False) -> SSMM:
    return SSMM(cfg.hidden, cfg.d_state, cfg.ssm_expand, cfg.ssm_segments, cfg.ssm_kernels,
                cfg.dt_rank, zero_out=zero_out)


class InvertibleMambaBlock(nn.Module):
    """One affine coupling of eq. 3. Tensors (B, D, h, w) with h, w = H/2, W/2."""

    def __init__(self, cfg: PIFNetConfig) -> None:
        super().__init__()
        self.i1 = _ssmm(cfg)
        self.i2 = _ssmm(cfg, zero_out=True)
        self.i3 = _ssmm(cfg)
        self.log_scale_clamp = cfg.log_scale_clamp

    def log_scale(self, x_h: Tensor) -> Tensor:
        """s = I2(X_H'), soft-clamped when configured. (B, D, h, w)."""
        s = self.i2(x_h)
        if self.log_scale_clamp is not None:
            s = self.log_scale_clamp * torch.tanh(s / self.log_scale_clamp)
        return s

    def forward(self, x_l: Tensor, x_h: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(X_L, X_H) -> (X_L', X_H', log|det J|, sum s^2), the last two of shape (B,) in float32
        (float64 for float64 inputs), summed in that precision even under bf16/fp16 autocast."""
        x_h = x_h + self.i1(x_l)
        s = self.log_scale(x_h)
        x_l = x_l * torch.exp(s) + self.i3(x_h)
        flat = s.flatten(1).to(torch.promote_types(s.dtype, torch.float32))
        return x_l, x_h, flat.sum(1), flat.square().sum(1)

    def inverse(self, y_l: Tensor, y_h: Tensor) -> tuple[Tensor, Tensor]:
        """Exact inverse of :meth:`forward`: (X_L', X_H') -> (X_L, X_H)."""
        s = self.log_scale(y_h)
        x_l = (y_l - self.i3(y_h)) * torch.exp(-s)
        x_h = y_h - self.i1(x_l)
        return x_l, x_h


class InvertibleStack(nn.Module):
    """L Invertible Mamba Blocks in sequence; also returns each block's X_H (the HFSPM inputs)."""

    def __init__(self, cfg: PIFNetConfig) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(InvertibleMambaBlock(cfg) for _ in range(cfg.blocks))

    def forward(self, x_l: Tensor, x_h: Tensor) -> tuple[Tensor, Tensor, Tensor, list[Tensor], Tensor]:
        """Returns (X_L^L, X_H^L, total log-det (B,), [X_H^1 .. X_H^L], total sum of s^2 (B,))."""
        dtype = torch.promote_types(x_l.dtype, torch.float32)
        logdet = torch.zeros(x_l.shape[0], dtype=dtype, device=x_l.device)
        sq = torch.zeros_like(logdet)
        highs: list[Tensor] = []
        for block in self.blocks:
            x_l, x_h, ld, ssq = block(x_l, x_h)
            logdet = logdet + ld.to(dtype)
            sq = sq + ssq.to(dtype)
            highs.append(x_h)
        return x_l, x_h, logdet, highs, sq

    def inverse(self, y_l: Tensor, y_h: Tensor) -> tuple[Tensor, Tensor]:
        """Exact inverse of :meth:`forward` (blocks undone in reverse order)."""
        for block in reversed(self.blocks):
            y_l, y_h = block.inverse(y_l, y_h)  # type: ignore[operator]  # ModuleList items are Modules
        return y_l, y_h
