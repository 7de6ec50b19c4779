"""Houston 2013 loader on small GeoTIFF and .mat files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import scipy.io
from rasterio.transform import from_origin

from training.scenes.houston import HOUSTON2013_RANGE_NM, load_houston2013


def _cube() -> np.ndarray:
    rng = np.random.default_rng(2)
    return rng.integers(0, 30000, size=(144, 5, 8)).astype(np.uint16)  # bands, rows, cols


def test_geotiff_without_wavelengths_gets_nominal(tmp_path: Path) -> None:
    cube = _cube()
    path = tmp_path / "2013_IEEE_GRSS_DF_Contest_CASI.tif"
    transform = from_origin(271460.0, 3290891.0, 2.5, 2.5)
    with rasterio.open(path, "w", driver="GTiff", width=8, height=5, count=144, dtype="uint16",
                       crs="EPSG:26915", transform=transform) as dst:
        dst.write(cube)
    scene = load_houston2013(path)
    assert scene.cube.shape == (144, 5, 8) and scene.cube.dtype == np.float32
    np.testing.assert_array_equal(scene.cube, cube)
    assert scene.wavelengths_nominal
    assert scene.wavelengths_nm[0] == HOUSTON2013_RANGE_NM[0] and scene.wavelengths_nm[-1] == HOUSTON2013_RANGE_NM[1]
    assert scene.transform == transform
    assert scene.valid is None and scene.full_scale is None


def test_geotiff_wavelength_metadata_wins(tmp_path: Path) -> None:
    cube = _cube()[:3]
    path = tmp_path / "h.tif"
    with rasterio.open(path, "w", driver="GTiff", width=8, height=5, count=3, dtype="uint16",
                       crs="EPSG:26915", transform=from_origin(0.0, 5.0, 1.0, 1.0)) as dst:
        dst.write(cube)
        for b, wl in enumerate((0.45, 0.55, 0.65), start=1):
            dst.update_tags(b, wavelength=str(wl), wavelength_units="Micrometers")
    scene = load_houston2013(path)
    assert not scene.wavelengths_nominal
    np.testing.assert_allclose(scene.wavelengths_nm, (450.0, 550.0, 650.0))


def test_mat_variant(tmp_path: Path) -> None:
    cube = _cube()
    path = tmp_path / "Houston.mat"
    scipy.io.savemat(path, {"Houston": np.transpose(cube, (1, 2, 0))})  # 5 x 8 x 144 like MATLAB
    scene = load_houston2013(path)
    np.testing.assert_array_equal(scene.cube, cube)
    assert scene.wavelengths_nominal and len(scene.wavelengths_nm) == 144
