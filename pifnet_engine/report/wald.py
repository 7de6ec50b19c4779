"""The reduced-resolution check (Wald's protocol) on a sample of the pair.

The only place where a fusion of the analyst's own pair can be scored against a reference: the
pair degraded by the ratio with the engine's PSF model (the centred protocol, as ``pifnet-train
fit`` does) is fused by each method through the engine's own windowed pipeline
(:func:`pifnet_engine.arrays.fuse_arrays`) and compared with the original HSI. The sample is the
central block of at most ``SAMPLE_LR_PX`` x ``SAMPLE_LR_PX`` HSI pixels (the whole pair when it is
smaller), so the check costs the same on any scene size: reading that block and fusing a raster
``ratio`` times smaller than it, per method.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
from rasterio.windows import Window

from pifnet_engine.geometry import absolute
from pifnet_engine.arrays import fuse_arrays
from pifnet_engine.errors import InputDataError
from pifnet_engine.grid import GridPlan
from pifnet_engine.metrics import ergas, psnr, sam
from pifnet_engine.pairing import PairReader
from pifnet_engine.raster.source import RasterSource
from pifnet_engine.simulate import degrade_centred
from pifnet_engine.report.region import ReportRegion

#: Side of the sample, HSI pixels.
SAMPLE_LR_PX = 192


def sample_window(region: ReportRegion) -> Window:
    """The central block of the region (coarse-grid pixels), sides a multiple of the ratio."""
    r = region.ratio
    h, w = region.shape_lr
    sh, sw = min(h, SAMPLE_LR_PX) // r * r, min(w, SAMPLE_LR_PX) // r * r
    if sh < r or sw < r:
        raise InputDataError(f"the pair is smaller than {r} x {r} HSI pixels, too small for a reduced-resolution check")
    return absolute(Window((w - sw) // 2, (h - sh) // 2, sw, sh), region.coarse)


def reduced_resolution_check(plan: GridPlan, hsi: RasterSource, msi: RasterSource,
                             methods: Sequence[tuple[str, str, str | None]], device: str = "cpu",
                             precision: str = "fp32") -> dict[str, object]:
    """Score each ``(label, method name, weights)`` at reduced resolution on the sample (PIF-Net in
    ``precision``, as the fusion ran).

    Returns ``{"protocol", "sample", "methods": {label: {"psnr_db", "sam_deg", "ergas", "seconds"}
    or {"unavailable": why}}}``; PSNR uses the per-band peak of the HSI as data range.
    """
    region = ReportRegion.from_plan(plan)
    r = plan.ratio
    win = sample_window(region)
    pw = PairReader(plan, hsi, msi).read(region.frames.msi_of(win), win)
    good = np.asarray(hsi.band_info.good, bool)
    ref = np.where(pw.hsi_valid, pw.hsi, np.nan)
    ref[~good] = np.nan
    lr_in = np.where(pw.hsi_valid, pw.hsi, np.nan)
    lr_in[~good] = 0.0
    low_hsi = degrade_centred(lr_in, r)
    low_msi = degrade_centred(np.where(pw.msi_valid, pw.msi, np.nan), r)
    info = {"protocol": "centred (each coarse pixel the mean of its ratio x ratio footprint), both inputs "
                        "degraded by the ratio, fused, compared with the original HSI",
            "sample_hsi_px": [int(win.row_off), int(win.col_off), int(win.height), int(win.width)],
            "reduced_hsi_px": list(low_hsi.shape[1:]), "data_range": "per-band peak of the HSI"}
    results: dict[str, object] = {}
    for label, name, weights in methods:
        t0 = time.perf_counter()
        try:
            est = fuse_arrays(low_hsi, low_msi, method=name, weights=weights, device=device,
                              method_options={"precision": precision} if name == "pifnet" else None,
                              wavelengths_nm=hsi.band_info.wavelengths_nm, good_bands=tuple(good.tolist()))
            scores = {"psnr_db": psnr(ref, est), "sam_deg": sam(ref, est), "ergas": ergas(ref, est, r)}
            results[label] = {**{k: (v if math.isfinite(v) else None) for k, v in scores.items()},
                              "seconds": round(time.perf_counter() - t0, 2)}
        except InputDataError as exc:
            results[label] = {"unavailable": str(exc)}
    return {**info, "methods": results}
