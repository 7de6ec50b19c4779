"""Fusing in-memory arrays through the engine's own windowed pipeline.

For evaluation and scripting: the arrays are written as a georeferenced pair (a synthetic UTM
grid, HSI pixel = ``ratio`` MSI pixels, corners aligned) into a temporary folder and fused by
:func:`~pifnet_engine.pipeline.run_fusion` exactly as ``pifnet-engine fuse`` would: same windows,
halo, blending, nodata handling. Use it to score a method on benchmark scenes.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine

from pifnet_engine.methods import FusionMethod
from pifnet_engine.pipeline import FuseRequest, run_fusion
from pifnet_engine.progress import Reporter

_CRS = "EPSG:32633"


def _write(path: Path, data: np.ndarray, res: float) -> None:
    c, h, w = data.shape
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=c, dtype="float32",
                       crs=_CRS, transform=Affine(res, 0, 500000.0, 0, -res, 5000000.0),
                       nodata=float("nan")) as ds:
        ds.write(data.astype(np.float32))


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
    with tempfile.TemporaryDirectory(prefix="pifnet-arrays-") as tmp:
        hp, mp, out = Path(tmp) / "hsi.tif", Path(tmp) / "msi.tif", Path(tmp) / "out.tif"
        _write(hp, hsi, float(s))
        _write(mp, msi, 1.0)
        if wavelengths_nm is not None or good_bands is not None:
            with rasterio.open(hp, "r+") as ds:
                for b in range(hsi.shape[0]):
                    if wavelengths_nm is not None:
                        ds.update_tags(b + 1, wavelength=str(wavelengths_nm[b]), wavelength_units="Nanometers")
                    if good_bands is not None:
                        ds.update_tags(b + 1, bbl="1" if good_bands[b] else "0")
        instance = method if isinstance(method, FusionMethod) else None
        request = FuseRequest(hsi=hp, msi=mp, output=out, method=instance.name if instance else str(method),
                              weights=weights, tile_px=tile_px, overlap_px=overlap_px,
                              batch_size=batch_size, device=device, method_instance=instance,
                              method_options=dict(method_options or {}))
        run_fusion(request, Reporter(stream=io.StringIO()))
        with rasterio.open(out) as ds:
            return ds.read().astype(np.float32)
