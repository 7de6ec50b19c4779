"""The full-resolution consistency term of a fit: what the fused image must agree with one scale up.

Wald's protocol trains the network one scale down (:mod:`training.fit.pair`). On a small pair
that scale says little about the one the analyst fuses at: on 21² and 24² HSI pixels a Wald-only
fine-tune raised the held-out block's PSNR while the full-resolution result fell below its start or
stayed behind GSA (docs/fit.md, "The consistency term"). The pair itself constrains the fused image Z at full
resolution in the two ways the engine already models the sensors:

- **spatially**: Z averaged over each HSI pixel's s x s footprint (the centred PSF model of
  :func:`pifnet_engine.simulate.degrade_centred`) is the HSI;
- **spectrally**: the MSI is a linear mix of Z's bands, ``R Z + b`` with R (c, C) >= 0, estimated
  from the pair at the HSI's resolution by :class:`pifnet_engine.report.responses.ResponseEstimator`
  (the same non-negative least squares ``pifnet-engine report`` uses): no SRF needed.

The term is ``L1(box_s(Z) - HSI)`` over good bands plus ``L1(R Z + b - MSI)``, in the model's
pair-mean units (each input divided by its mean, as the engine normalises a pair), on
full-resolution patches that never touch the footprint of the held-out block, so the held-out
check stays unseen. The fit adds it to the Wald loss with weight ``--consistency`` (by default 1
for a fine-tune or a small pair, else 0: :func:`training.fit.run.consistency_weight`; 0 trains
with Wald's protocol alone). The patches of step n are drawn from
``numpy.random.default_rng([seed, n])``, so a resumed fit draws what the uninterrupted one would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pifnet_engine.errors import InputDataError
from pifnet_engine.model.normalisation import pair_statistics
from pifnet_engine.pairing import block_all
from pifnet_engine.report.responses import ResponseEstimator, Responses
from pifnet_engine.simulate import degrade_centred
from training.fit.pair import PairData, ReducedPair
from training.fit.plan import largest_clean_square
from training.pairs import clean_square_origins, dihedral

#: Largest LR patch side (coarse pixels) of the consistency term: 64 fine pixels, like Wald's patches.
MAX_PATCH_FINE_PX = 64


@dataclass(frozen=True)
class FullResolution:
    """The pair at full resolution for the consistency term.

    ``hsi`` (C, h, w) and ``msi`` (c, h*s, w*s) float32 divided by the pair's HSI and MSI means
    ``hsi_scale`` and ``msi_scale`` (physical units; 0 where invalid); ``good`` (C,) bool;
    ``origins`` (n, 2) LR (row, col) of every usable ``side`` x ``side`` patch; ``responses`` the
    MSI's estimated responses in these units."""

    hsi: np.ndarray
    msi: np.ndarray
    hsi_scale: float
    msi_scale: float
    good: np.ndarray
    ratio: int
    side: int
    origins: np.ndarray
    responses: Responses

    def summary(self, weight: float) -> dict[str, object]:
        """The run file's / manifest's record of the term."""
        fits = self.responses.r2 if self.responses.r2 is not None else np.full(len(self.responses.names), np.nan)
        r2 = [None if not np.isfinite(v) else round(float(v), 5) for v in fits]
        return {"weight": weight, "patch_px": self.side * self.ratio, "patches": int(len(self.origins)),
                "msi_responses_r2": r2}


def _usable(pair: PairData, reduced: ReducedPair) -> np.ndarray:
    """(h, w) bool: HSI pixels valid in both inputs and outside the held-out block's footprint."""
    s, good = pair.ratio, pair.spec.good_mask
    _, h, w = pair.hsi.shape
    msi = pair.msi[:, : h * s, : w * s]
    ok = np.isfinite(pair.hsi[good]).all(axis=0)
    ok &= block_all(np.isfinite(msi).all(axis=0), s)
    hc, wc = reduced.reduced_shape
    bh, bw = reduced.held_out_px
    ok[(hc - bh) * s:, (wc - bw) * s:] = False  # the held-out block's targets, one scale up
    return ok


def full_resolution(pair: PairData, reduced: ReducedPair) -> FullResolution:
    """The consistency term's data; :class:`InputDataError` (the fit then warns and trains with
    Wald's protocol alone) when the pair cannot give it: no usable patch outside the held-out
    block, or fewer valid HSI pixels than good bands to estimate the MSI's responses from."""
    s, good = pair.ratio, pair.spec.good_mask
    _, h, w = pair.hsi.shape
    usable = _usable(pair, reduced)
    side = min(MAX_PATCH_FINE_PX // s, largest_clean_square(usable))
    side -= side % 2
    if side < 2:
        raise InputDataError("no 2 x 2 HSI pixel patch outside the held-out block is valid in both inputs")
    hsi = np.nan_to_num(pair.hsi, nan=0.0)
    msi = np.nan_to_num(pair.msi[:, : h * s, : w * s], nan=0.0)
    fine = np.repeat(np.repeat(usable, s, axis=0), s, axis=1)
    stats = pair_statistics(hsi, usable, msi, fine, tuple(good))
    if not (stats.hsi.mean > 0 and stats.msi.mean > 0):
        raise InputDataError(f"the pair's mean is not positive (HSI {stats.hsi.mean:.4g}, MSI {stats.msi.mean:.4g})")
    hsi_n = (hsi / stats.hsi.mean).astype(np.float32)
    msi_n = (msi / stats.msi.mean).astype(np.float32)
    estimator = ResponseEstimator(good, [f"MSI band {i + 1}" for i in range(msi.shape[0])])
    estimator.add(hsi_n, degrade_centred(msi_n, s), usable)
    responses = estimator.estimate()  # InputDataError when too few pixels
    return FullResolution(hsi_n, msi_n, stats.hsi.mean, stats.msi.mean, good, s, side, clean_square_origins(usable, side),
                          responses)


class ConsistencyTerm:
    """``term(net, step) -> (weight * (spatial + spectral), spatial + spectral)`` on a batch of
    ``batch`` full-resolution patches drawn for ``step`` (see the module docstring)."""

    def __init__(self, data: FullResolution, weight: float, batch: int, seed: int, device: torch.device) -> None:
        self.data, self.weight, self.batch, self.seed, self.device = data, weight, batch, seed, device
        self.response = torch.tensor(data.responses.weights, dtype=torch.float32, device=device)
        self.offset = torch.tensor(data.responses.offsets, dtype=torch.float32, device=device)[None, :, None, None]
        self.good = torch.tensor(data.good, device=device)

    def patches(self, step: int) -> tuple[Tensor, Tensor]:
        """(LR-HSI (B, C, p, p), HR-MSI (B, c, p*s, p*s)) of ``step``'s draw, flipped and turned."""
        d, s, p = self.data, self.data.ratio, self.data.side
        rng = np.random.default_rng([self.seed, step])
        lrs, msis = [], []
        for k in rng.integers(len(d.origins), size=self.batch):
            y, x = (int(v) for v in d.origins[k])
            rot, flip = int(rng.integers(4)), bool(rng.integers(2))
            lrs.append(np.ascontiguousarray(dihedral(d.hsi[:, y:y + p, x:x + p], rot, flip)))
            msis.append(np.ascontiguousarray(dihedral(d.msi[:, y * s:(y + p) * s, x * s:(x + p) * s], rot, flip)))
        return (torch.from_numpy(np.stack(lrs)).to(self.device), torch.from_numpy(np.stack(msis)).to(self.device))

    def measure(self, fused: Tensor, lr: Tensor, msi: Tensor) -> tuple[Tensor, Tensor]:
        """(spatial, spectral) mean absolute disagreement of ``fused`` (B, C, p*s, p*s) with the
        patches' ``lr`` (B, C, p, p) and ``msi`` (B, c, p*s, p*s), all in the pair-mean units."""
        fused = fused.float()
        spatial = (F.avg_pool2d(fused, self.data.ratio) - lr)[:, self.good].abs().mean()
        spectral = (torch.einsum("kc,bchw->bkhw", self.response, fused) + self.offset - msi).abs().mean()
        return spatial, spectral

    def __call__(self, net: nn.Module, step: int) -> tuple[Tensor, Tensor]:
        lr, msi = self.patches(step)
        spatial, spectral = self.measure(net(lr, msi, with_reference=False).fused, lr, msi)
        term = spatial + spectral
        return self.weight * term, term.detach()
