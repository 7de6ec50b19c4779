"""Hyper-parameters of PIF-Net, one frozen value class (stored verbatim in every weights manifest).

Defaults are the paper's PaviaU configuration where the paper gives a value (D = 64 hidden
channels, L = 4 blocks, 4 LoRA heads, prior weight beta = 1) and our documented choices where it
is silent (see each field). ``hsi_bands``, ``msi_bands`` and ``ratio`` have no default: they are
properties of the sensor pair the weights are trained for.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from pifnet_engine.errors import WeightsError

#: Values of :attr:`PIFNetConfig.residual`.
RESIDUALS = ("bicubic", "none", "gsa")


@dataclass(frozen=True)
class PIFNetConfig:
    """PIF-Net architecture.

    Attributes:
        hsi_bands: C, bands of the LR-HSI and of the fused output.
        msi_bands: c, bands of the HR-MSI.
        ratio: s = H / h, integer resolution ratio (only used to upsample the HSI and to check
            input shapes; the layers themselves are ratio-free).
        hidden: D, feature width of both branches (paper: 64).
        blocks: L, number of Invertible Mamba Blocks and of FAM-LoRA blocks (paper: 4).
        d_state: N, state size of every selective scan. Paper silent; VMamba v0 uses 16, its
            later versions 1. Default 4, chosen with numbers: one 128 x 128 output window in the
            PaviaU configuration takes 1.43 / 0.92 / 0.95 s (N = 16 / 4 / 1) on one CPU thread
            after the numba kernels were optimised (``benchmarks/bench_model.py --threads 1``);
            EnMAP -> Sentinel-2 x3 after 195 training steps validates at 32.41 / 32.51 / 32.80 dB
            with 678 / 536 / 512 s of training. 16 costs time for no quality; 4 and 1 are equal
            within the noise of such short runs, 4 keeps more memory per channel.
        ssm_expand: inner width of an SSMM = ``ssm_expand * hidden`` (Mamba's expand; 1 keeps
            the module "lightweight" as the paper says: the scans dominate the CPU time).
        ssm_segments: G, spectral (channel) segments of an SSMM; each has its own local-mixing
            kernel and its own selective B, C, dt projections (see ``ssmm.py``).
        ssm_kernels: depthwise kernel size of each segment's local mixing (multi-scale), one per
            segment.
        dt_rank: rank of each segment's dt projection ("auto" in Mamba = ceil(width / 16); with
            16-channel segments that is 1).
        lora_heads: heads of the multi-head LoRA (paper: 4, channels split evenly).
        lora_rank: rank r of each head's A (r x D/heads) and B (D/heads x r) pair. Paper silent;
            4 (a quarter of a 16-channel head).
        lora_alpha: LoRA scaling numerator, the update is ``(alpha / r) * B A x`` as in Hu et al.
        beta: weight of the ill-posed residual prior X_R (paper ablation: 1 best, 0 = no prior).
        se_reduction: channel reduction of the squeeze-and-excitation bottleneck.
        log_scale_clamp: c > 0 soft-clamps the coupling's log-scale to ``c * tanh(I2 / c)``
            (Glow/IRN-style guard); the inverse and the log-determinant use the clamped value.
            Default 2.0 (scales within [e^-2, e^2] per coupling). ``None`` = the paper's plain
            ``exp(I2(X_H))``. Why not ``None``: eq. 4 adds ``+0.01 * L_inv`` (the log-determinant)
            to a loss that is minimised, which is unbounded below; measured with plain exp on our
            first CPU runs, L_inv fell to -310 per coupled value on EnMAP (750 steps) and -14 on
            CAVE (250 steps), i.e. the low-frequency features were scaled by ~exp(-310) = 0 and
            the coupling stopped being invertible. The clamp keeps the paper's loss term and
            bounds it (L_inv >= -c per block, -c * blocks in total). Since the default loss
            penalises s^2 instead (see :mod:`pifnet_engine.model.loss`), the clamp is only a guard.
        residual: what the two Tails add to. ``"bicubic"`` (default): Ẑ = up(X) + Tail(Y_L) and
            Z̄ = up(X) + Tail_spec(F), with the last convolution of each Tail initialised to zero,
            so an untrained model returns exactly the bicubic-upsampled HSI and learns only the
            missing detail. ``"none"``: the paper's form, the Tail "generates the final fused
            image" (kept to reproduce the paper). Why we differ, measured on CAVE x4 (issue 8;
            6 training scenes, batch 4 x 64^2, same budget): the paper's form starts at ~15 dB and
            was at 22.7 dB after 250 steps, the residual form at 31.3 dB after 100 steps and
            above GSA (38.1 dB) after 500; the ablation table in ``docs/training.md`` has our
            runs. ``"gsa"``: Ẑ = GSA(X, Y) + Tail(Y_L), Z̄ = GSA + Tail_spec(F), tails zero-initialised
            as for bicubic, so an untrained model returns the GSA image (the caller passes it as
            ``base``: the engine computes it with the pair's GSA statistics, a fit on the reduced
            pair's). It is not the default anywhere: for benchmark training across scenes it did
            not help (issue 8: it started at GSA's 37.8 dB and did not move in 500 steps), and for a
            10-minute fit to CAVE ``cloth`` x4 it was far ahead of the bicubic form on the fit's
            own held-out block (37.4 vs 34.1 dB) but far behind it at full resolution (33.46 vs
            37.61 dB against the ground truth; GSA 32.30): its learned corrections to GSA's
            reduced-resolution errors do not carry over one scale up (``docs/fit.md``).
            Manifests written before this field existed load as ``"none"``.
    """

    hsi_bands: int
    msi_bands: int
    ratio: int
    hidden: int = 64
    blocks: int = 4
    d_state: int = 4
    ssm_expand: int = 1
    ssm_segments: int = 4
    ssm_kernels: tuple[int, ...] = (3, 5, 7, 9)
    dt_rank: int = 1
    lora_heads: int = 4
    lora_rank: int = 4
    lora_alpha: float = 1.0
    beta: float = 1.0
    se_reduction: int = 4
    log_scale_clamp: float | None = 2.0
    residual: str = "bicubic"

    def __post_init__(self) -> None:
        object.__setattr__(self, "ssm_kernels", tuple(int(k) for k in self.ssm_kernels))
        positive = ("hsi_bands", "msi_bands", "ratio", "hidden", "blocks", "d_state", "ssm_expand",
                    "ssm_segments", "dt_rank", "lora_heads", "lora_rank", "se_reduction")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise WeightsError(
                    f"PIF-Net config: {name} = {value!r}; expected a positive integer; "
                    "fix the config or the weights manifest"
                )
        inner = self.ssm_expand * self.hidden
        if inner % self.ssm_segments:
            raise WeightsError(
                f"PIF-Net config: SSMM width {inner} (ssm_expand * hidden) is not divisible by "
                f"ssm_segments = {self.ssm_segments}; choose a divisor"
            )
        if len(self.ssm_kernels) != self.ssm_segments or any(k < 1 or k % 2 == 0 for k in self.ssm_kernels):
            raise WeightsError(
                f"PIF-Net config: ssm_kernels = {self.ssm_kernels}; expected {self.ssm_segments} "
                "odd positive kernel sizes, one per segment"
            )
        if self.hidden % self.lora_heads:
            raise WeightsError(
                f"PIF-Net config: hidden = {self.hidden} is not divisible by lora_heads = "
                f"{self.lora_heads}; the paper splits the channels evenly"
            )
        if self.hidden < self.se_reduction:
            raise WeightsError(
                f"PIF-Net config: se_reduction = {self.se_reduction} exceeds hidden = {self.hidden}"
            )
        if self.log_scale_clamp is not None and not self.log_scale_clamp > 0:
            raise WeightsError(
                f"PIF-Net config: log_scale_clamp = {self.log_scale_clamp!r}; expected None or > 0"
            )
        if self.residual not in RESIDUALS:
            raise WeightsError(
                f"PIF-Net config: residual = {self.residual!r}; expected one of {list(RESIDUALS)}"
            )
        if not math.isfinite(self.beta) or not math.isfinite(self.lora_alpha):
            raise WeightsError("PIF-Net config: beta and lora_alpha must be finite numbers")

    @property
    def window_multiple_lr(self) -> int:
        """LR window sides (coarse pixels) must be a multiple of this: the one-level Haar
        transform needs an even HR size h * ratio, so 1 for even ratios and 2 for odd ones."""
        return window_multiple_lr(self.ratio)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        d = asdict(self)
        d["ssm_kernels"] = list(self.ssm_kernels)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PIFNetConfig":
        """Inverse of :meth:`to_dict`; unknown keys are refused with a :class:`WeightsError`."""
        if not isinstance(data, dict):
            raise WeightsError(f"PIF-Net config: expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise WeightsError(
                f"PIF-Net config has unknown keys {unknown}; expected a subset of {sorted(known)}; "
                "the weights were written by a newer engine: upgrade pifnet-engine"
            )
        missing = [k for k in ("hsi_bands", "msi_bands", "ratio") if k not in data]
        if missing:
            raise WeightsError(f"PIF-Net config lacks {missing}; the manifest is incomplete")
        kwargs = dict(data)
        kwargs.setdefault("residual", "none")  # manifests older than the residual form
        if "ssm_kernels" in kwargs:
            kwargs["ssm_kernels"] = tuple(kwargs["ssm_kernels"])
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise WeightsError(f"PIF-Net config is malformed: {exc}") from exc


def window_multiple_lr(ratio: int) -> int:
    """Multiple (coarse pixels) that LR window sides need for PIF-Net at ``ratio``: 2 // gcd(ratio, 2)."""
    return 2 // math.gcd(int(ratio), 2)
