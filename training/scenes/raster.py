"""Load any GDAL-readable hyperspectral raster (GeoTIFF, ENVI, VRT) through rasterio as a
:class:`Scene`, the way the engine sees it: values after GDAL scale/offset, nodata -> invalid.

Band metadata (wavelengths, FWHM, bad-band list) is read by the engine's reader, in EnMAP-Box
order; without a bad-band list, a band that is nodata everywhere is bad.

A pixel is invalid when it is nodata (or non-finite) in any good band. Invalid pixels and bad
bands hold 0 in the cube.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.io import DatasetReader
from rasterio.windows import Window

from pifnet_engine.errors import InputDataError
from pifnet_engine.raster.bands import read_band_info
from training.scenes.scene import Scene

def raster_metadata(src: DatasetReader) -> dict[str, Any]:
    """What :func:`scene_from_raw` needs from an open dataset besides the pixels: nodata,
    per-band scales/offsets (C, 1, 1), wavelengths/FWHM (nm), good-band flags (``None`` when no
    band is flagged bad) and the CRS as WKT. Band metadata comes from the engine's reader
    (:func:`pifnet_engine.raster.bands.read_band_info`)."""
    info = read_band_info(src)
    return {
        "nodata": src.nodata,
        "scales": np.asarray(src.scales, dtype=np.float64)[:, None, None],
        "offsets": np.asarray(src.offsets, dtype=np.float64)[:, None, None],
        "wavelengths_nm": info.wavelengths_nm,
        "fwhm_nm": info.fwhm_nm,
        "good_bands": None if all(info.good) else info.good,
        "crs": src.crs.to_wkt() if src.crs is not None else None,
    }


def load_raster(
    path: str | Path,
    window: Window | None = None,
    name: str | None = None,
    full_scale: float | None = None,
    sensor: str = "unknown",
) -> Scene:
    """Read all bands of ``path`` (or a pixel ``window``) as a :class:`Scene`.

    ``cube``: (C, H, W) float32 in physical units (GDAL scale/offset applied). ``full_scale``:
    what "100 %" is in those units (1.0 for reflectance), ``None`` if unknown.
    """
    path = Path(path)
    if not path.exists():
        raise InputDataError(f"raster not found: {path}; expected a GDAL-readable file; check the path")
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputDataError(f"cannot read raster {path}: {exc}; expected a GDAL-readable file") from exc
    with src:
        raw = src.read(window=window, masked=False).astype(np.float64)
        meta = raster_metadata(src)
        transform = src.window_transform(window) if window is not None else src.transform
    return scene_from_raw(raw, **meta, name=name or path.stem, full_scale=full_scale, sensor=sensor,
                          transform=transform)


def scene_from_raw(
    raw: np.ndarray,
    nodata: float | None,
    scales: np.ndarray,
    offsets: np.ndarray,
    wavelengths_nm: tuple[float, ...] | None,
    good_bands: tuple[bool, ...] | None,
    name: str,
    fwhm_nm: tuple[float, ...] | None = None,
    full_scale: float | None = None,
    sensor: str = "unknown",
    transform: Affine | None = None,
    crs: str | None = None,
) -> Scene:
    """Turn raw band values ``raw`` (C, H, W) into a :class:`Scene`: apply ``scales``/``offsets``
    (C, 1, 1), mark nodata/non-finite pixels invalid, find all-nodata bands when ``good_bands``
    is ``None``, and zero invalid pixels and bad bands."""
    raw = np.asarray(raw, dtype=np.float64)
    invalid = ~np.isfinite(raw)
    if nodata is not None:
        invalid |= raw == nodata
    if good_bands is None:
        all_nodata = invalid.reshape(invalid.shape[0], -1).all(axis=1)
        good_bands = tuple(bool(not v) for v in all_nodata) if all_nodata.any() else None
    good_arr = np.ones(raw.shape[0], bool) if good_bands is None else np.asarray(good_bands)
    valid = ~invalid[good_arr].any(axis=0)
    cube = raw * scales + offsets
    cube[invalid] = 0.0
    cube[~good_arr] = 0.0
    cube[:, ~valid] = 0.0
    return Scene(
        name=name,
        cube=cube.astype(np.float32),
        wavelengths_nm=wavelengths_nm,
        fwhm_nm=fwhm_nm,
        full_scale=full_scale,
        good_bands=good_bands,
        valid=None if valid.all() else valid,
        sensor=sensor,
        transform=transform,
        crs=crs,
    )
