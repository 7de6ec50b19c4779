"""Display stretch of a band: the 2 % and 98 % points of its valid values (QGIS's "cumulative count cut").

Computed from a decimated read of at most :data:`SAMPLE_PX` pixels on the longer side (GDAL
serves it from the overviews when the raster has them), in physical units (raw * scale +
offset: QGIS's GDAL provider applies a band's scale and offset before its renderer stretches
the values). Nodata pixels (NaN or the nodata value) and non-finite values are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rasterio.io import DatasetReader

#: QGIS's default cumulative cut, as fractions.
CUT_LOWER = 0.02
CUT_UPPER = 0.98
#: Longer side (pixels) of the sample the stretch is computed from.
SAMPLE_PX = 1024


@dataclass(frozen=True)
class Stretch:
    """Values shown black (``minimum``) and full intensity (``maximum``), physical units."""

    minimum: float
    maximum: float


def cumulative_cut(values: np.ndarray, valid: np.ndarray, lower: float = CUT_LOWER,
                   upper: float = CUT_UPPER) -> Stretch:
    """The ``lower``/``upper`` quantiles of ``values[valid]`` (any shape, same shape for both).

    Non-finite values count as invalid. No valid value gives 0..1; a constant band gives
    ``v``..``v + 1`` (QGIS cannot stretch a zero-width range).
    """
    picked = values[valid & np.isfinite(values)].astype(np.float64)
    if picked.size == 0:
        return Stretch(0.0, 1.0)
    lo, hi = (float(v) for v in np.quantile(picked, [lower, upper]))
    if not hi > lo:
        return Stretch(lo, lo + 1.0)
    return Stretch(lo, hi)


def sample_shape(height: int, width: int, max_px: int = SAMPLE_PX) -> tuple[int, int]:
    """(rows, cols) of a decimated read with the longer side at most ``max_px`` (full size when smaller)."""
    factor = max(1.0, max(height, width) / max_px)
    return max(1, math.floor(height / factor)), max(1, math.floor(width / factor))


def band_stretches(ds: DatasetReader, bands: tuple[int, ...]) -> tuple[Stretch, ...]:
    """The cumulative-cut :class:`Stretch` of each 1-based band of ``ds`` (see module docstring)."""
    rows, cols = sample_shape(ds.height, ds.width)
    out = []
    for band in bands:
        raw = ds.read(band, out_shape=(rows, cols))
        valid = ds.read_masks(band, out_shape=(rows, cols)) > 0
        values = raw * ds.scales[band - 1] + ds.offsets[band - 1]
        out.append(cumulative_cut(values, valid))
    return tuple(out)
