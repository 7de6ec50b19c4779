"""Fixtures for the report's tests: a pair, and the ground truth written as a perfect "fused" raster."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio

from pifnet_engine.pipeline import open_pair

from .scenes import PairFiles, make_pair, write_raster


def misaligned_pair(tmp: Path, crop_px: tuple[int, int] = (2, 1)) -> PairFiles:
    """``make_pair`` with the MSI cropped by ``crop_px`` (rows, cols) at the top-left, so the
    output starts inside an HSI pixel: the report must skip the partial HSI pixels."""
    pair = make_pair(tmp)
    with rasterio.open(pair.msi) as ds:
        data, t, wl = ds.read(), ds.transform, [float(ds.tags(b + 1)["wavelength"]) for b in range(ds.count)]
    dy, dx = crop_px
    write_raster(pair.msi, data[:, dy:, dx:], t @ rasterio.Affine.translation(dx, dy), wavelengths=wl)
    pair.truth = pair.truth[:, dy:, dx:]
    return pair


def write_truth_as_fused(pair: PairFiles, path: Path) -> Path:
    """The pair's ground truth on the pair's output grid (what a perfect fusion would write)."""
    with open_pair(pair.hsi, pair.msi) as opened:
        plan = opened.plan
        wl = list(opened.hsi.band_info.wavelengths_nm)
    ow = plan.out_window
    r0, c0 = int(ow.row_off), int(ow.col_off)
    truth = pair.truth[:, r0:r0 + int(ow.height), c0:c0 + int(ow.width)]
    return write_raster(path, truth.astype(np.float32), plan.out_transform, nodata=float("nan"), wavelengths=wl)
