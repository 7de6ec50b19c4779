"""Seeded, georeferenced HSI + MSI test pair, written with GDAL's Python bindings (``osgeo``).

Run by QGIS's Python (``/usr/bin/python3``, which has ``osgeo`` and numpy but not rasterio).
Regenerate by hand with ``/usr/bin/python3 tests/qgis/pair_fixture.py OUT_DIR [--hsi-px N] [--hsi-cols N]``.

The scene: ``n_bands`` spectra (400-1000 nm) mixed by smooth random abundance maps on the fine
grid; the MSI averages groups of neighbouring bands (a crude box spectral response) at full
resolution; the HSI averages ``ratio`` x ``ratio`` blocks of the fine cube. Both in EPSG:32633
over the same footprint; the MSI grid is ``ratio`` times finer. Values are reflectance in [0, 1],
float32, with band-level ``wavelength`` metadata in nanometres.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()

EPSG = 32633
ORIGIN_XY_M = (500_000.0, 5_800_020.0)  # upper-left corner, metres


@dataclass(frozen=True)
class Pair:
    """Paths of a written fixture pair and the grid facts the tests check."""

    hsi: Path
    msi: Path
    hsi_bands: int
    msi_bands: int
    msi_size_px: int  # rows (= columns for a square pair)
    msi_res_m: float
    msi_shape_px: tuple[int, int]  # (rows, columns)


def _smooth_field(rng: np.random.Generator, shape_px: tuple[int, int], cells: int) -> np.ndarray:
    """(rows, cols) smooth positive field: coarse noise upsampled bilinearly."""
    coarse = rng.random((cells + 1, cells + 1))

    def weights(size_px: int) -> tuple[np.ndarray, np.ndarray]:
        t = np.linspace(0.0, cells, size_px)
        i = np.minimum(t.astype(int), cells - 1)
        return i, t - i

    ir, fr = weights(shape_px[0])
    ic, fc = weights(shape_px[1])
    rows = coarse[ir] * (1 - fr)[:, None] + coarse[ir + 1] * fr[:, None]
    return rows[:, ic] * (1 - fc)[None, :] + rows[:, ic + 1] * fc[None, :]


def _write(path: Path, cube: np.ndarray, res_m: float, wavelengths_nm: np.ndarray) -> None:
    """Write ``cube`` (bands, rows, cols) float32 as a GeoTIFF on the fixture grid."""
    bands, rows, cols = cube.shape
    ds = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, bands, gdal.GDT_Float32)
    ds.SetGeoTransform((ORIGIN_XY_M[0], res_m, 0.0, ORIGIN_XY_M[1], 0.0, -res_m))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    ds.SetProjection(srs.ExportToWkt())
    for k in range(bands):
        band = ds.GetRasterBand(k + 1)
        band.WriteArray(cube[k])
        band.SetMetadata({"wavelength": f"{wavelengths_nm[k]:.1f}", "wavelength_units": "nanometers"})
    ds.FlushCache()
    ds = None


def make_pair(folder: Path, hsi_px: int | tuple[int, int] = 24, n_bands: int = 20, msi_bands: int = 4, ratio: int = 3,
              hsi_res_m: float = 30.0, seed: int = 0) -> Pair:
    """Write ``hsi.tif`` (hsi_px x hsi_px, or (rows, cols), n_bands, hsi_res_m) and ``msi.tif``
    (ratio x finer) into ``folder``."""
    rng = np.random.default_rng(seed)
    hsi_rows, hsi_cols = (hsi_px, hsi_px) if isinstance(hsi_px, int) else hsi_px
    shape = (hsi_rows * ratio, hsi_cols * ratio)
    wl = np.linspace(400.0, 1000.0, n_bands)
    spectra = 0.05 + 0.6 * np.stack([np.abs(np.sin(wl / (90.0 + 40 * j) + j)) for j in range(4)])  # (4, C)
    abundance = np.stack([_smooth_field(rng, shape, 6) for _ in range(4)])  # (4, H, W)
    abundance /= abundance.sum(axis=0, keepdims=True)
    truth = np.einsum("jc,jhw->chw", spectra, abundance).astype(np.float32)  # (C, H, W)
    groups = np.array_split(np.arange(n_bands), msi_bands)
    msi = np.stack([truth[g].mean(axis=0) for g in groups]).astype(np.float32)
    hsi = truth.reshape(n_bands, hsi_rows, ratio, hsi_cols, ratio).mean(axis=(2, 4)).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    hsi_path, msi_path = folder / "hsi.tif", folder / "msi.tif"
    _write(hsi_path, hsi, hsi_res_m, wl)
    _write(msi_path, msi, hsi_res_m / ratio, np.array([wl[g].mean() for g in groups]))
    return Pair(hsi_path, msi_path, n_bands, msi_bands, shape[0], hsi_res_m / ratio, shape)


def grid_of(path: Path) -> tuple[tuple[float, ...], str, int, int, int]:
    """(geotransform, CRS WKT, width, height, band count) of a raster."""
    ds = gdal.Open(str(path))
    try:
        return tuple(ds.GetGeoTransform()), ds.GetProjection(), ds.RasterXSize, ds.RasterYSize, ds.RasterCount
    finally:
        ds = None


def read_array(path: Path) -> np.ndarray:
    """(bands, rows, cols) pixel array of a raster."""
    ds = gdal.Open(str(path))
    try:
        return ds.ReadAsArray()
    finally:
        ds = None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--hsi-px", type=int, default=24, help="HSI rows (and columns unless --hsi-cols)")
    parser.add_argument("--hsi-cols", type=int, default=None, help="HSI columns [--hsi-px]")
    parser.add_argument("--bands", type=int, default=20)
    args = parser.parse_args()
    print(make_pair(args.out_dir, hsi_px=(args.hsi_px, args.hsi_cols or args.hsi_px), n_bands=args.bands))
