"""Wald's consistency of a fused raster with its inputs, and the QNR index, in two windowed passes.

- **Spatial consistency**: the fused image degraded with the engine's PSF model (the centred
  protocol, :func:`pifnet_engine.simulate.degrade_centred`: each HSI pixel the mean of the fused
  pixels in its footprint) against the HSI; ideal: PSNR inf, SAM 0, ERGAS 0.
- **Spectral consistency**: the fused image seen through the MSI's spectral responses
  (:mod:`.responses`: a preset, else estimated from the pair) against the MSI.
- **QNR** (:mod:`.qnr`).

Pass 1 reads the HSI and the MSI (estimating the responses, which pass 2 needs); pass 2 reads
all three rasters. Both go chunk by chunk (:class:`~.region.ReportRegion`): memory is a few
chunks, never the scene. Pass 2 also draws the spatial-consistency error map (relative RMSE over
the bands per HSI pixel, %) at most ``ERROR_MAP_PX`` pixels a side, for the quicklook.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pifnet_engine.geometry import relative
from pifnet_engine.grid import GridPlan
from pifnet_engine.pairing import PairReader, block_all, block_mean
from pifnet_engine.raster.source import RasterSource
from pifnet_engine.simulate import degrade_centred
from pifnet_engine.report.band_errors import BandErrors
from pifnet_engine.report.qnr import BLOCK_LR_PX, QNRAccumulator
from pifnet_engine.report.region import ReportRegion
from pifnet_engine.report.responses import ResponseEstimator, Responses, most_correlated

#: Longest side of the error map (pixels).
ERROR_MAP_PX = 512

Progress = Callable[[float, str], None]


@dataclass
class Consistency:
    """The results of :func:`check_consistency`; ``error_map``: (h, w) float32 % (NaN = not
    checked), one pixel per ``error_map_step`` x ``error_map_step`` HSI pixels of the region."""

    region: ReportRegion
    spatial: dict[str, object]
    spectral: dict[str, object]
    qnr: dict[str, object]
    responses: Responses | None
    estimated: Responses | None
    estimate_error: str | None
    error_map: np.ndarray
    error_map_step: int


def _nanmean_blocks(x: np.ndarray, step: int) -> np.ndarray:
    """(h, w) -> (ceil(h/step), ceil(w/step)) mean of the finite values of each block (NaN if none)."""
    h, w = x.shape
    ph, pw = -h % step, -w % step
    x = np.pad(x, ((0, ph), (0, pw)), constant_values=np.nan)
    b = x.reshape(x.shape[0] // step, step, x.shape[1] // step, step)
    finite = np.isfinite(b)
    with np.errstate(invalid="ignore"):
        return (np.where(finite, b, 0.0).sum(axis=(1, 3)) / finite.sum(axis=(1, 3))).astype(np.float32)


def check_consistency(plan: GridPlan, hsi: RasterSource, msi: RasterSource, fused: RasterSource,
                      preset: Responses | None = None, progress: Progress | None = None) -> Consistency:
    """Both passes over the region of ``plan`` (fused: on the plan's output grid, HSI's bands)."""
    region = ReportRegion.from_plan(plan)
    r = plan.ratio
    good = np.asarray(hsi.band_info.good, bool)
    goods = np.flatnonzero(good)
    names = tuple(d or f"band {i + 1}" for i, d in enumerate(msi.band_info.descriptions))
    h_lr, w_lr = region.shape_lr
    step = max(1, math.ceil(max(h_lr, w_lr) / ERROR_MAP_PX))
    multiple = BLOCK_LR_PX * step // math.gcd(BLOCK_LR_PX, step)
    side = region.chunk_side_lr(multiple)
    chunks = list(region.chunks(side))
    reader = PairReader(plan, hsi, msi)
    tell = progress or (lambda fraction, message: None)

    estimator = ResponseEstimator(good, names)
    for n, (coarse, _, msi_win) in enumerate(chunks, start=1):
        pw = reader.read(msi_win, coarse)
        estimator.add(pw.hsi, block_mean(pw.msi, r), pw.hsi_valid & block_all(pw.msi_valid, r))
        tell(0.3 * n / len(chunks), f"report: spectral responses {n}/{len(chunks)}")
    estimated: Responses | None
    estimate_error: str | None = None
    try:
        estimated = estimator.estimate()
    except ValueError as exc:  # too few pixels: only a preset can be used
        estimated, estimate_error = None, str(exc)
    responses = preset if preset is not None else estimated

    spatial = BandErrors(goods.size)
    spectral = BandErrors(msi.count)
    qnr = QNRAccumulator(good, most_correlated(estimator), r)
    emap = np.full((math.ceil(h_lr / step), math.ceil(w_lr / step)), np.nan, np.float32)
    for n, (coarse, fine, msi_win) in enumerate(chunks, start=1):
        pw = reader.read(msi_win, coarse)
        fz = fused.read(fine)
        valid_f = pw.valid & fz.valid
        valid_lr = pw.hsi_valid & block_all(pw.msi_valid & fz.valid, r)
        low = degrade_centred(fz.values, r)
        spatial.add(pw.hsi[goods], low[goods], valid_lr)
        diff = np.sqrt(((low[goods] - pw.hsi[goods]) ** 2).mean(axis=0, dtype=np.float64))
        level = np.sqrt((pw.hsi[goods].astype(np.float64) ** 2).mean(axis=0))
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(valid_lr & (level > 0), 100.0 * diff / level, np.nan)
        small = _nanmean_blocks(rel, step)
        at = relative(coarse, region.coarse)  # chunk origins are multiples of step apart (chunk_side_lr)
        i0, j0 = int(at.row_off) // step, int(at.col_off) // step
        emap[i0:i0 + small.shape[0], j0:j0 + small.shape[1]] = small
        if responses is not None:
            spectral.add(pw.msi, responses.apply(fz.values), valid_f)
        qnr.add(pw.hsi, block_mean(pw.msi, r), valid_lr, fz.values, pw.msi)
        tell(0.3 + 0.7 * n / len(chunks), f"report: consistency {n}/{len(chunks)}")

    spatial_result = {"compared": "fused degraded by the centred PSF model (footprint mean) vs HSI",
                      "bands": (goods + 1).tolist(), **spatial.result(r)}
    if responses is None:
        spectral_result: dict[str, object] = {"skipped": estimate_error}
    else:
        spectral_result = {"compared": f"fused through the MSI's responses ({responses.source}) vs MSI",
                           "bands": list(names), **spectral.result(r)}
    return Consistency(region, spatial_result, spectral_result, qnr.result(), responses, estimated,
                       estimate_error, emap, step)
