"""Seeded synthetic georeferenced HSI/MSI pairs written with rasterio (test fixtures).

A smooth random "truth" cube on the fine grid is spectrally reduced to the MSI and block-averaged
to the HSI, so the pair is consistent like a real co-registered pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from scipy.ndimage import gaussian_filter

UTM33 = "EPSG:32633"


@dataclass
class PairFiles:
    hsi: Path
    msi: Path
    truth: np.ndarray  # (C, H, W) float32 on the MSI grid
    ratio: int


def smooth_cube(bands: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """(bands, height, width) float32 in ~[0.05, 0.6]: smooth spatial structure, smooth spectra."""
    rng = np.random.default_rng(seed)
    k = 5
    abund = np.stack([gaussian_filter(rng.random((height, width)), sigma=2.0) for _ in range(k)])
    abund = abund / abund.sum(axis=0, keepdims=True)
    x = np.linspace(0, 1, bands)
    spectra = np.stack([0.3 + 0.25 * np.sin(2 * np.pi * (x * (i + 1) / 2 + rng.random())) for i in range(k)])
    return np.einsum("kb,khw->bhw", spectra, abund).astype(np.float32)


def write_raster(path: Path, data: np.ndarray, transform: Affine, crs: str | None = UTM33,
                 nodata: float | None = None, wavelengths: list[float] | None = None,
                 fwhm: list[float] | None = None, units: str = "Nanometers", dtype: str | None = None,
                 scale: float | None = None, driver: str = "GTiff", **profile: object) -> Path:
    """Write (C, H, W) ``data`` with band-level wavelength metadata (EnMAP-Box convention)."""
    c, h, w = data.shape
    with rasterio.open(path, "w", driver=driver, width=w, height=h, count=c, dtype=dtype or data.dtype.name,
                       crs=crs, transform=transform, nodata=nodata, **profile) as ds:
        ds.write(data.astype(dtype or data.dtype))
        for b in range(c):
            tags = {}
            if wavelengths is not None:
                tags["wavelength"] = str(wavelengths[b])
                tags["wavelength_units"] = units
            if fwhm is not None:
                tags["fwhm"] = str(fwhm[b])
            if tags:
                ds.update_tags(b + 1, **tags)
            ds.set_band_description(b + 1, f"band {b + 1}")
        if scale is not None:
            ds.scales = (scale,) * c
    return path


def make_pair(tmp: Path, *, bands: int = 12, msi_bands: int = 4, fine: tuple[int, int] = (96, 120),
              ratio: int = 3, res_m: float = 10.0, origin: tuple[float, float] = (360000.0, 5810000.0),
              seed: int = 0, hsi_crs: str | None = UTM33, msi_crs: str | None = UTM33,
              hsi_offset_px: tuple[int, int] = (0, 0)) -> PairFiles:
    """Write hsi.tif and msi.tif in ``tmp``; the HSI grid may be shifted by whole MSI pixels."""
    h, w = fine
    truth = smooth_cube(bands, h, w, seed)
    srf = np.zeros((msi_bands, bands), np.float32)
    for m, chunk in enumerate(np.array_split(np.arange(bands), msi_bands)):
        srf[m, chunk] = 1.0 / len(chunk)
    msi = np.einsum("mc,chw->mhw", srf, truth)
    dy, dx = hsi_offset_px
    sub = truth[:, dy:, dx:]
    hh, ww = sub.shape[1] // ratio, sub.shape[2] // ratio
    hsi = sub[:, :hh * ratio, :ww * ratio].reshape(bands, hh, ratio, ww, ratio).mean(axis=(2, 4))
    x0, y0 = origin
    t_msi = Affine(res_m, 0, x0, 0, -res_m, y0)
    t_hsi = Affine(res_m * ratio, 0, x0 + dx * res_m, 0, -res_m * ratio, y0 - dy * res_m)
    wl = list(np.linspace(420.0, 2400.0, bands).round(3))
    hsi_path = write_raster(tmp / "hsi.tif", hsi.astype(np.float32), t_hsi, crs=hsi_crs,
                            wavelengths=wl, fwhm=[10.0] * bands, nodata=-32768.0)
    msi_path = write_raster(tmp / "msi.tif", msi.astype(np.float32), t_msi, crs=msi_crs,
                            wavelengths=[490.0, 560.0, 665.0, 842.0][:msi_bands] if msi_bands <= 4 else None)
    return PairFiles(hsi_path, msi_path, truth, ratio)
