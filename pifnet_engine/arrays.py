"""Fusing in-memory arrays through the engine's own windowed pipeline.

For evaluation and scripting: the arrays become a georeferenced pair (a synthetic UTM grid, HSI
pixel = ``ratio`` MSI pixels, corners aligned) in GDAL's in-memory file system
(``rasterio.MemoryFile``, nothing on disk), read by the same :class:`~pifnet_engine.raster.source.RasterSource`
as any raster and fused by :func:`~pifnet_engine.pipeline.fuse_to_array` exactly as
``pifnet-engine fuse`` would: same windows, halo, blending, nodata handling, output values (the
float32 output with NaN as nodata). Use it to score a method on benchmark scenes.

Why in-memory GeoTIFFs and not a second source class over the arrays: the raster source's rules
(NaN and nodata as invalid, bad bands, the fill of invalid pixels, windows beyond the edge) then
hold for arrays by construction, with no copy of them to keep in step.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from rasterio.io import MemoryFile

from pifnet_engine.methods import FusionMethod
from pifnet_engine.pipeline import FuseRequest, fuse_to_array
from pifnet_engine.progress import Reporter

_CRS = "EPSG:32633"


def _in_memory(stack: contextlib.ExitStack, data: np.ndarray, res: float,
               band_tags: list[dict[str, str]] | None = None) -> Path:
    """``data`` (C, h, w) as a float32 GeoTIFF in GDAL's memory (NaN = nodata); its /vsimem path,
    valid while ``stack`` is open."""
    c, h, w = data.shape
    mem = stack.enter_context(MemoryFile(ext=".tif"))
    with mem.open(driver="GTiff", width=w, height=h, count=c, dtype="float32", crs=_CRS,
                  transform=Affine(res, 0, 500000.0, 0, -res, 5000000.0), nodata=float("nan")) as ds:
        ds.write(data.astype(np.float32))
        for b, tags in enumerate(band_tags or []):
            if tags:
                ds.update_tags(b + 1, **tags)
    return Path(mem.name)


def fuse_arrays(hsi: np.ndarray, msi: np.ndarray, method: str | FusionMethod = "gsa", *,
                weights: str | Path | None = None, tile_px: int = 256, overlap_px: int | None = None,
                batch_size: int | None = None, device: str = "auto",
                wavelengths_nm: tuple[float, ...] | None = None,
                good_bands: tuple[bool, ...] | None = None,
                method_options: dict[str, Any] | None = None) -> np.ndarray:
    """Fuse ``hsi`` (C, h, w) and ``msi`` (c, h*s, w*s) float arrays; returns (C, h*s, w*s) float32.

    ``method`` is a method name or a ready :class:`FusionMethod` (e.g. a model being trained).
    NaN marks invalid input pixels; they come back as NaN. ``wavelengths_nm`` and ``good_bands``
    (False = bad band, written as ``bbl``) are written on the HSI as a raster would carry them.
    ``method_options`` go to the method's constructor (e.g. ``{"precision": "bf16"}`` for PIF-Net).
    """
    s = msi.shape[1] // hsi.shape[1]
    if msi.shape[1] != s * hsi.shape[1] or msi.shape[2] != s * hsi.shape[2]:
        raise ValueError(f"MSI {msi.shape[1:]} is not an integer multiple of HSI {hsi.shape[1:]}")
    band_tags: list[dict[str, str]] = [{} for _ in range(hsi.shape[0])]
    for b, tags in enumerate(band_tags):
        if wavelengths_nm is not None:
            tags.update(wavelength=str(wavelengths_nm[b]), wavelength_units="Nanometers")
        if good_bands is not None:
            tags.update(bbl="1" if good_bands[b] else "0")
    instance = method if isinstance(method, FusionMethod) else None
    with contextlib.ExitStack() as stack:
        request = FuseRequest(hsi=_in_memory(stack, hsi, float(s), band_tags), msi=_in_memory(stack, msi, 1.0),
                              method=instance.name if instance else str(method), weights=weights,
                              tile_px=tile_px, overlap_px=overlap_px, batch_size=batch_size, device=device,
                              method_options=dict(method_options or {}))
        out = fuse_to_array(request, Reporter(stream=io.StringIO()), instance)
    return out.astype(np.float32, copy=False)
