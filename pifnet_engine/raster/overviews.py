"""Internal overviews (reduced-resolution copies inside the .tif) so that QGIS opens a large output quickly.

One rule for both output formats: factors 2, 4, 8, ... are added until the smallest overview's
shorter side is below :data:`MIN_SIDE_PX` (a raster whose shorter side already is gets none),
averaged with GDAL's ``average`` resampling, which skips nodata pixels (NaN or the nodata value)
and gives nodata where a whole cell is nodata. A GeoTIFF gets them with :func:`build_overviews`
on the compressed copy before it is renamed onto the target (GDAL computes them block by block
within the caller's ``GDAL_CACHEMAX``, compressed like the full resolution); the COG driver
builds its own from the creation options of :func:`cog_overview_options`.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import rasterio
import rasterio.errors
import rasterio.io
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

#: Overviews stop once the shorter side of the smallest one is below this (pixels).
MIN_SIDE_PX = 256


def overview_levels(height: int, width: int, min_side_px: int = MIN_SIDE_PX) -> list[int]:
    """Decimation factors ``[2, 4, ...]`` for a ``height`` x ``width`` px raster (empty for a small one)."""
    levels: list[int] = []
    factor = 1
    while math.ceil(min(height, width) / factor) >= min_side_px:
        factor *= 2
        levels.append(factor)
    return levels


#: DEFLATE level of the overviews (GDAL's ``ZLEVEL_OVERVIEW``; the full resolution keeps GDAL's
#: default 6): the fastest. On a 1024^2 x 120-band float32 output the overviews grew by 2 %
#: (99.7 -> 101.9 MB) and took 18 % less time to build side by side; a bicubic fusion spent 3.5 of
#: its 10.9 s on them, 5.0 of 13.6 s before (two runs of benchmarks/bench_vs_gdalwarp.py).
OVERVIEW_ZLEVEL = 1


def build_overviews(path: Path, levels: list[int], *, nodata_written: bool = True) -> None:
    """Add internal ``average`` overviews at ``levels`` to the GeoTIFF at ``path`` (in place),
    compressed like the full resolution but at DEFLATE level :data:`OVERVIEW_ZLEVEL`.

    Uses every CPU for the averaging and the compression (``GDAL_NUM_THREADS``); the caller's other
    GDAL settings, ``GDAL_CACHEMAX`` included, stay as they are. ``nodata_written=False`` (the
    caller knows that no pixel equals the nodata value) builds them as :func:`_build_without_nodata`
    does: the same averages, faster.
    """
    if not levels:
        return
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS", ZLEVEL_OVERVIEW=str(OVERVIEW_ZLEVEL)), \
            rasterio.open(path, "r+") as ds:
        if nodata_written or ds.nodata is None:
            ds.build_overviews(levels, Resampling.average)
            return
        nodata = ds.nodata
        _build_without_nodata(ds, levels)
    _set_overview_nodata(path, len(levels), nodata)


def _build_without_nodata(ds: rasterio.io.DatasetWriter, levels: list[int]) -> None:
    """Average the overviews of ``ds`` (open ``r+``) with its nodata value unset, then set it back
    on the full resolution.

    GDAL averages 2 x 2 cells in its vectorised path only for a band without nodata; with one it
    checks every pixel against it: on a 1024^2 x 120-band float32 output the build took 2.29 s with
    the nodata value set and 1.36 s without, the averages equal within float32 rounding (6e-8).
    Without a nodata pixel there is nothing to skip, so the result is the same average. GDAL writes
    no nodata tag into overviews built so: :func:`_set_overview_nodata` adds it.
    """
    nodata = ds.nodata
    ds.nodata = None
    ds.build_overviews(levels, Resampling.average)
    ds.nodata = nodata


def _set_overview_nodata(path: Path, count: int, nodata: float) -> None:
    """Write ``nodata`` into each of the ``count`` overview directories of the GeoTIFF at ``path``
    (GDAL's ``GTIFF_DIR:k:path``, k = 2 for the first overview), as GDAL's own build would have."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # an overview directory has no transform
        for k in range(2, count + 2):
            with rasterio.open(f"GTIFF_DIR:{k}:{path}", "r+") as ovr:
                ovr.nodata = nodata


def cog_overview_options(levels: list[int]) -> dict[str, str]:
    """COG driver creation options that give the same overviews as :func:`build_overviews` would."""
    if not levels:
        return {"OVERVIEWS": "NONE"}
    return {"OVERVIEWS": "AUTO", "OVERVIEW_COUNT": str(len(levels)), "RESAMPLING": "AVERAGE"}


def check_overviews(path: Path, levels: list[int]) -> None:
    """Raise ``RasterioIOError`` unless every band of the GeoTIFF at ``path`` has overviews at exactly
    ``levels`` with the full resolution's nodata value, and the last block of the last band can be
    read at every level (a write that failed part-way leaves a file that opens with fewer overviews,
    or with blocks past its end)."""
    with rasterio.open(path) as ds:
        for band in range(1, ds.count + 1):
            if ds.overviews(band) != levels:
                raise rasterio.errors.RasterioIOError(
                    f"'{path}' has overviews {ds.overviews(band)} in band {band}; expected {levels}")
        ds.read(ds.count, window=Window(ds.width - 1, ds.height - 1, 1, 1))
        nodata = ds.nodata
    for level in range(len(levels)):
        with rasterio.open(path, overview_level=level) as ds:
            if not _same_nodata(ds.nodata, nodata):
                raise rasterio.errors.RasterioIOError(
                    f"'{path}' has nodata {ds.nodata} in overview {levels[level]}; expected {nodata}")
            ds.read(ds.count, window=Window(ds.width - 1, ds.height - 1, 1, 1))


def _same_nodata(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))
