"""PIF-Net: the whole network (paper Fig. 2), assembled from the modules of this package.

Data flow, shapes for a batch of B windows (C HSI bands, c MSI bands, ratio s, H = h*s, D hidden):

    X  (B, C, h, w)  --bicubic x s-->  (B, C, H, W)  --Head_X-->  X_s (B, D, H, W)
    Y  (B, c, H, W)                                   --Head_Y-->  Y_s (B, D, H, W)
    X_R = beta * IPRPEM(X_s, Y_s)                                        (B, D, H, W)

    spectral branch:  Haar(X_s) -> X_L (B, D, H/2, W/2), details (B, 3D, H/2, W/2) -conv1x1-> X_H (D)
                      L x Invertible Mamba Block on (X_L, X_H)  (log-dets summed)
                      X_H -conv1x1-> details (3D);  F = IHaar(X_L, details)  (B, D, H, W)
                      Z̄ = Tail_spec(F)                                      (B, C, H, W)
    spatial branch:   Y_0 = Y_s + F
                      Y_i = FAM-LoRA_i(Y_{i-1}, HFSPM_i(up(X_H^i), X_R)),  i = 1..L
                      Ẑ = Tail_fused(Y_L)                                   (B, C, H, W)

Decisions where the paper is silent (each also in the module it concerns):

- Head_X and Head_Y are separate Conv3x3-ReLU-Conv3x3 heads (C -> D and c -> D); the two Tails
  are separate too (D -> D -> C): the paper writes "a Tail module" for Z̄ and "the Tail module"
  for Ẑ; separate tails let the L_cos term compare two genuinely different estimates.
- The spatial branch starts from Y_s + F: the "main spatial feature" carries the MSI's spatial
  detail (Y_s) and the spectral branch's reconstruction (F). Starting from Y_s alone would force
  all 103 bands of spectral content through the rank-r LoRA heads and SE gates.
- ``cfg.residual == "bicubic"`` (default): a global skip from the bicubic HSI to Ẑ and to Z̄,
  both Tails' last convolutions zero-initialised; ``"none"`` is the paper's form (the Tail
  "generates the final fused image"). See :class:`PIFNetConfig` for the measurements.
  No deformable-convolution block (in the authors' code, not in the paper).
- Inputs are used as given (the engine normalises them with the weights' manifest first).
- Inference: ``forward(..., with_reference=False)`` skips Tail_spec (Z̄ only serves the loss).

Size: with C = 103, c = 4, D = 64, L = 4 the paper reports 1.73 M parameters. Ours
(``benchmarks/bench_model.py``): 824,398 with d_state 4 (934,990 with 16, 796,750 with 1), of
which heads 135,616, IPRPEM 73,856, Haar-band projections 24,832, 12 SSMMs 231,936, two tails
192,718, 4 HFSPM 52,224, 4 FAM-LoRA 113,216. The difference lies in what the paper does not
specify: (1) the SSMM internals; a VMamba-default width (``ssm_expand=2``) with d_state 16 gives
1,275,982; (2) the authors' code adds four deformable-convolution blocks (2 x DeformConv 64->64
3x3 + 2 offset convs each: 94,628 per block, 378,512 in all) that the paper never mentions and
the issue excludes; 1.28 M + 0.38 M = 1.65 M is close to the paper's figure, so its count most
likely includes such blocks and wider Mamba modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch.nn.functional as F
from torch import Tensor, nn

from pifnet_engine.errors import InputDataError
from pifnet_engine.model.config import PIFNetConfig
from pifnet_engine.model.fam_lora import FAMLoRA
from pifnet_engine.model.haar import haar_dwt, haar_idwt
from pifnet_engine.model.hfspm import HFSPM, upsample_high
from pifnet_engine.model.invertible import InvertibleStack
from pifnet_engine.model.iprpem import IPRPEM
from pifnet_engine.model.layers import ConvHead


@dataclass
class PIFNetOutput:
    """What :class:`PIFNet` returns.

    Attributes:
        fused: Ẑ (B, C, H, W), the fused HR-HSI in the model's (normalised) value units.
        spectral_ref: Z̄ (B, C, H, W), the spectral branch's reference; None when the forward
            pass was asked not to compute it (inference).
        logdet: (B,) float32 (float64 for a float64 model), sum over all couplings of the I2 log-scales = log|det| of the
            invertible part of the spectral branch (the Haar transform has det 1).
        logdet_dims: number of scalars per sample the log-det is taken over (D * H/2 * W/2),
            so that losses can normalise it per dimension.
        log_scale_sq: (B,) sum over all couplings and coupled values of the squared log-scale
            s^2 (float32 or float64 like ``logdet``); divided by ``logdet_dims * blocks`` it is the
            mean s^2 per coupled value that the default invertibility penalty uses.
    """

    fused: Tensor
    spectral_ref: Tensor | None
    logdet: Tensor
    logdet_dims: int
    log_scale_sq: Tensor | None = None


class PIFNet(nn.Module):
    """The PIF-Net fusion network. ``forward(lr_hsi, hr_msi) -> PIFNetOutput``."""

    def __init__(self, cfg: PIFNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.hidden
        self.head_hsi = ConvHead(cfg.hsi_bands, d, d)
        self.head_msi = ConvHead(cfg.msi_bands, d, d)
        self.iprpem = IPRPEM(d, cfg.beta)
        self.high_reduce = nn.Conv2d(3 * d, d, kernel_size=1)
        self.high_expand = nn.Conv2d(d, 3 * d, kernel_size=1)
        self.couplings = InvertibleStack(cfg)
        self.tail_spectral = ConvHead(d, d, cfg.hsi_bands)
        self.hfspm = nn.ModuleList(HFSPM(d) for _ in range(cfg.blocks))
        self.fam = nn.ModuleList(
            FAMLoRA(d, cfg.lora_heads, cfg.lora_rank, cfg.lora_alpha, cfg.se_reduction)
            for _ in range(cfg.blocks)
        )
        self.tail_fused = ConvHead(d, d, cfg.hsi_bands)
        if cfg.residual != "none":
            for tail in (self.tail_spectral, self.tail_fused):
                last = cast(nn.Conv2d, tail[-1])  # a Conv2d with bias (ConvHead)
                nn.init.zeros_(last.weight)
                nn.init.zeros_(cast(Tensor, last.bias))

    def check_inputs(self, lr_hsi: Tensor, hr_msi: Tensor) -> None:
        """Raise :class:`InputDataError` when the shapes do not fit the configuration."""
        cfg = self.cfg
        if lr_hsi.dim() != 4 or lr_hsi.shape[1] != cfg.hsi_bands:
            raise InputDataError(
                f"PIF-Net: LR-HSI has shape {tuple(lr_hsi.shape)}; expected (B, {cfg.hsi_bands}, h, w); "
                "use weights trained for this HSI's band count"
            )
        bsz, _, h, w = lr_hsi.shape
        expected = (bsz, cfg.msi_bands, h * cfg.ratio, w * cfg.ratio)
        if tuple(hr_msi.shape) != expected:
            raise InputDataError(
                f"PIF-Net: HR-MSI has shape {tuple(hr_msi.shape)}; expected {expected} (ratio "
                f"{cfg.ratio}); use weights trained for this MSI and ratio"
            )
        m = cfg.window_multiple_lr
        if h % m or w % m:
            raise InputDataError(
                f"PIF-Net: LR window {h}x{w} at ratio {cfg.ratio}; sides must be multiples of {m} "
                "(the Haar transform needs an even HR size); pad the window"
            )

    def forward(self, lr_hsi: Tensor, hr_msi: Tensor, with_reference: bool = True,
                base: Tensor | None = None) -> PIFNetOutput:
        """Fuse ``lr_hsi`` (B, C, h, w) with ``hr_msi`` (B, c, h*s, w*s); values ~[0, 1].

        ``base`` (B, C, h*s, w*s): the GSA image in the same units, required by (and only used
        with) ``cfg.residual == "gsa"``."""
        self.check_inputs(lr_hsi, hr_msi)
        if self.cfg.residual == "gsa":
            if base is None or tuple(base.shape) != (lr_hsi.shape[0], self.cfg.hsi_bands, *hr_msi.shape[-2:]):
                raise ValueError(f"PIF-Net with residual 'gsa' needs base = the GSA image of shape "
                                 f"{(lr_hsi.shape[0], self.cfg.hsi_bands, *hr_msi.shape[-2:])}; got "
                                 f"{None if base is None else tuple(base.shape)}")
        up = F.interpolate(lr_hsi, size=hr_msi.shape[-2:], mode="bicubic", align_corners=False)
        x_s = self.head_hsi(up)
        y_s = self.head_msi(hr_msi)
        prior = self.iprpem(x_s, y_s)

        x_l, details = haar_dwt(x_s)
        x_h = self.high_reduce(details)
        x_l, x_h, logdet, highs, sq = self.couplings(x_l, x_h)
        feat = haar_idwt(x_l, self.high_expand(x_h))
        if self.cfg.residual == "bicubic":
            base = up
        elif self.cfg.residual == "none":
            base = None
        spectral_ref = None
        if with_reference:
            spectral_ref = self.tail_spectral(feat) if base is None else base + self.tail_spectral(feat)

        y = y_s + feat
        for hfspm, fam, high in zip(self.hfspm, self.fam, highs, strict=True):
            guidance = hfspm(upsample_high(self.high_expand(high)), prior)
            y = fam(y, guidance)
        fused = self.tail_fused(y) if base is None else base + self.tail_fused(y)
        return PIFNetOutput(fused=fused, spectral_ref=spectral_ref, logdet=logdet,
                            logdet_dims=x_l[0].numel(), log_scale_sq=sq)


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


def parameter_breakdown(model: PIFNet) -> dict[str, int]:
    """Parameters per top-level part of the model, for the report / benchmark."""
    return {name: count_parameters(child) for name, child in model.named_children()}
