"""The analyst's pair at reduced resolution (Wald's protocol): the supervised problem of a fit.

:func:`read_pair` opens the HSI and MSI exactly as ``pifnet-engine fuse`` does
(:func:`pifnet_engine.pipeline.open_job`: the same grid planning, CRS warps, refusals, nodata,
masks and bad bands) and reads the whole aligned output region into memory. When that region is
larger than :data:`MAX_FIT_MSI_PX` MSI pixels a side, a centred part of that size is used (a fit
learns the pair's sensors, not every field; reading a whole EnMAP scene at 10 m would not fit in
memory) and :attr:`PairData.note` says so.

:func:`reduced_pair` degrades both rasters by the ratio s with the engine's centred PSF model
(:func:`pifnet_engine.simulate.degrade_centred`: each coarse pixel the mean of its s x s
footprint, what georeferenced data look like), so that

    (HSI / s, MSI / s)  ->  HSI

is a supervised fusion problem at the same ratio on the user's own sensors: real MSI bands, real
noise, no spectral response needed. A block at the bottom-right corner of the reduced pair, about
:data:`HELD_OUT_FRACTION` of it (at least SSIM's 11 x 11 window), is held out for validation and
never trained on: no training patch touches it. Values are divided by one number, ``peak`` (the 99.9th percentile of the valid
good-band HSI values), so that the reduced-resolution scores use data range 1.0 like every other
report; fusion undoes it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rasterio.windows import Window

from pifnet_engine.errors import InputDataError
from pifnet_engine.geometry import absolute
from pifnet_engine.methods.base import PairSpec
from pifnet_engine.pairing import PairReader, block_all
from pifnet_engine.pipeline import FuseRequest, open_job
from pifnet_engine.raster.bands import BandInfo
from pifnet_engine.simulate import degrade_centred
from training.pairs import SimulatedScene

#: Largest side (MSI pixels) of the region a fit reads; larger pairs are fitted on a centred part.
MAX_FIT_MSI_PX = 1536
#: Fraction of the reduced-resolution pair held out for validation (a block at its right or bottom edge).
HELD_OUT_FRACTION = 0.15
#: SSIM's window (fine pixels): the held-out block is at least this large.
SSIM_SIDE = 11
#: Coarse pixels a side of the training part next to the held-out block, at least.
MIN_TRAIN_SIDE = 2
#: A fit needs at least this fraction of valid coarse pixels in the reduced pair.
MIN_VALID_FRACTION = 0.05


@dataclass(frozen=True)
class PairData:
    """The pair on one grid, in memory: ``hsi`` (C, h, w) and ``msi`` (c, h*s, w*s) float32 in the
    rasters' physical units (scale/offset applied), NaN where invalid; bad bands are 0."""

    hsi: np.ndarray
    msi: np.ndarray
    ratio: int
    spec: PairSpec
    hsi_info: BandInfo
    msi_info: BandInfo
    warnings: tuple[str, ...]
    note: str | None


@dataclass(frozen=True)
class ReducedPair:
    """The reduced-resolution problem (values / ``peak``): ``train`` is the whole reduced pair with
    the held-out block marked not clean (no patch touches it), ``held_out`` the block alone."""

    train: SimulatedScene
    held_out: SimulatedScene
    peak: float
    reduced_shape: tuple[int, int]
    held_out_px: tuple[int, int]  # the bottom-right block, reduced-resolution HSI pixels (rows, cols)
    valid_fraction: float


def read_pair(hsi: Path, msi: Path, allow_resample: bool = False) -> PairData:
    """Read ``hsi`` and ``msi`` on the grid ``fuse`` would use (refusing what ``fuse`` refuses)."""
    request = FuseRequest(hsi=hsi, msi=msi, method="bicubic", allow_resample=allow_resample, device="cpu")
    with open_job(request) as job:
        plan, r = job.plan, job.plan.ratio
        # The coarse pixels whose whole footprint lies in the output region.
        coarse = plan.frames.coarse_inside(plan.out_window, plan.coarse_shape)
        if coarse is None:
            raise InputDataError(f"HSI '{hsi.name}' and MSI '{msi.name}' share no whole HSI pixel; check that "
                                 "they cover the same place")
        rows, cols = int(coarse.height), int(coarse.width)
        note = None
        limit = MAX_FIT_MSI_PX // r
        if rows > limit or cols > limit:
            note = (f"the pair covers {rows} x {cols} HSI pixels; the fit uses its centred {min(rows, limit)} x "
                    f"{min(cols, limit)} (at most {MAX_FIT_MSI_PX} MSI pixels a side)")
            coarse = absolute(Window(max(0, cols - limit) // 2, max(0, rows - limit) // 2, min(cols, limit),
                                     min(rows, limit)), coarse)
        pw = PairReader(plan, job.hsi, job.msi).read(plan.frames.msi_of(coarse), coarse)
        h = pw.hsi.astype(np.float32, copy=True)
        m = pw.msi.astype(np.float32, copy=True)
        good = job.pair.good_mask
        h[:, ~pw.hsi_valid] = np.where(good[:, None], np.nan, 0.0).astype(np.float32)
        m[:, ~pw.msi_valid] = np.nan
        return PairData(h, m, r, job.pair, job.hsi.band_info, job.msi.band_info, tuple(plan.warnings), note)


def _scene(name: str, target: np.ndarray, lr: np.ndarray, msi: np.ndarray, ratio: int,
           spec: PairSpec) -> SimulatedScene:
    """A :class:`SimulatedScene` from reduced-resolution arrays with NaN for nodata (NaN -> 0, flagged not clean)."""
    s, good, gi = ratio, spec.good_bands, spec.good_mask
    fine_ok = np.isfinite(target[gi]).all(axis=0) & np.isfinite(msi).all(axis=0)
    clean = np.isfinite(lr[gi]).all(axis=0) & block_all(fine_ok, s)
    return SimulatedScene(name=name, protocol="centred", ratio=s,
                          target=np.nan_to_num(target, nan=0.0).astype(np.float32),
                          lr_variants={(0, 0): np.nan_to_num(lr, nan=0.0).astype(np.float32)},
                          hr_msi=np.nan_to_num(msi, nan=0.0).astype(np.float32), clean=clean,
                          response=np.zeros((msi.shape[0], target.shape[0]), np.float32), msi_preset="real MSI",
                          good_bands=good)


def held_out_block(hc: int, wc: int, ratio: int) -> tuple[int, int]:
    """(rows, cols) of the bottom-right held-out block of a reduced pair of hc x wc coarse pixels:
    about :data:`HELD_OUT_FRACTION` of the area, at least SSIM's window, even-sided."""
    least = max(2, math.ceil(SSIM_SIDE / ratio))
    least += least % 2
    f = math.sqrt(HELD_OUT_FRACTION)
    sides = []
    for n in (hc, wc):
        side = max(least, int(round(f * n)))
        sides.append(side + side % 2)
    return sides[0], sides[1]


def min_reduced_side(ratio: int) -> int:
    """The smallest reduced-resolution HSI side (coarse pixels) a fit accepts."""
    least = max(2, math.ceil(SSIM_SIDE / ratio))
    return least + least % 2 + MIN_TRAIN_SIDE


def with_gsa_base(reduced: ReducedPair) -> ReducedPair:
    """``reduced`` with the GSA image of its training scene (for a GSA-residual model): GSA through
    the engine on the training part's clean pixels (statistics from them only), NaN -> 0 elsewhere."""
    from pifnet_engine.arrays import fuse_arrays
    from training.evaluate import scene_inputs

    train = reduced.train
    lr, msi, _ = scene_inputs(train)
    base = fuse_arrays(lr, msi, method="gsa", device="cpu")
    return dataclasses.replace(reduced, train=dataclasses.replace(train, base=np.nan_to_num(base, nan=0.0)))


def reduced_pair(pair: PairData) -> ReducedPair:
    """Degrade ``pair`` by its ratio and split it into a training part and a held-out block."""
    s = pair.ratio
    hc, wc = pair.hsi.shape[1] // s, pair.hsi.shape[2] // s
    if min(hc, wc) < min_reduced_side(s):
        need = min_reduced_side(s) * s
        raise InputDataError(
            f"the pair is too small for a reduced-resolution fit: {pair.hsi.shape[1]} x {pair.hsi.shape[2]} HSI "
            f"pixels at ratio {s} give {hc} x {wc} after degradation; a fit needs at least {need} x {need} HSI "
            f"pixels ({need * s} x {need * s} MSI pixels) of overlap; use bundled weights or --method gsa")
    gi = pair.spec.good_mask
    target = pair.hsi[:, : hc * s, : wc * s]
    msi_full = pair.msi[:, : hc * s * s, : wc * s * s]
    lr = degrade_centred(target, s)
    msi = degrade_centred(msi_full, s)
    values = target[gi][np.isfinite(target[gi])]
    if values.size == 0:
        raise InputDataError(f"HSI '{pair.spec.hsi_name}' has no valid values where both inputs overlap; "
                             "check its nodata value and mask")
    peak = float(np.percentile(values, 99.9))
    if not (peak > 0 and math.isfinite(peak)):
        raise InputDataError(f"HSI '{pair.spec.hsi_name}' values reach only {peak:.4g} (99.9th percentile); a fit "
                             "needs positive radiance, reflectance or counts: check the raster's scale/offset tags")
    side_h, side_w = held_out_block(hc, wc, s)
    p = np.float32(peak)
    train = _scene("reduced pair (training part)", target / p, lr / p, msi / p, s, pair.spec)
    train.clean[hc - side_h:, wc - side_w:] = False  # patches never touch the held-out block
    fy, fx = (hc - side_h) * s, (wc - side_w) * s
    held_out = _scene("reduced pair (held-out block)", target[:, fy:, fx:] / p, lr[:, hc - side_h:, wc - side_w:] / p,
                      msi[:, fy:, fx:] / p, s, pair.spec)
    valid = float(np.concatenate([train.clean.ravel(), held_out.clean.ravel()]).sum() / (hc * wc))
    if valid < MIN_VALID_FRACTION or not held_out.clean.any() or not train.clean.any():
        raise InputDataError(
            f"only {100 * valid:.1f} % of the reduced-resolution pair is valid in both inputs (HSI "
            f"'{pair.spec.hsi_name}', MSI '{pair.spec.msi_name}'); a fit needs valid data both in the training part "
            f"and in the held-out block at the bottom right: check nodata and masks")
    return ReducedPair(train, held_out, peak, (hc, wc), (side_h, side_w), valid)
