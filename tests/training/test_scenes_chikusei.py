"""Chikusei loader on small MATLAB v7.3 (HDF5) files written the way MATLAB writes them."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
from rasterio.windows import Window

from pifnet_engine.errors import InputDataError
from training.scenes.chikusei import CHIKUSEI_RANGE_NM, chikusei_shape, load_chikusei
from training.scenes.matfile import is_v73, mat_cube_max, read_mat_cube


def write_mat_v73(path: Path, variables: dict[str, np.ndarray]) -> None:
    """A MATLAB v7.3 file: 512-byte userblock with the MAT header, each array stored with its
    axes reversed (MATLAB is column-major) and a MATLAB_class attribute."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, arr in variables.items():
            ds = f.create_dataset(name, data=np.ascontiguousarray(arr.T))
            ds.attrs["MATLAB_class"] = np.bytes_({"f": "double", "u": "uint16"}[arr.dtype.kind])
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write(header.ljust(116) + b"\x00" * 8 + b"\x00\x02IM")


@pytest.fixture()
def matlab_cube() -> np.ndarray:
    """MATLAB-order (rows, cols, bands) = (7, 5, 4) cube with distinct values."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 10000, size=(7, 5, 4)).astype(np.float64)


def test_v73_cube_comes_back_as_bands_rows_cols(tmp_path: Path, matlab_cube: np.ndarray) -> None:
    path = tmp_path / "HyperspecVNIR_Chikusei_20140729.mat"
    write_mat_v73(path, {"chikusei": matlab_cube})
    assert is_v73(path)
    scene = load_chikusei(path)
    assert scene.cube.dtype == np.float32
    assert scene.cube.shape == (4, 7, 5)
    # cube[c, r, col] is MATLAB's chikusei(r+1, col+1, c+1)
    np.testing.assert_array_equal(scene.cube, np.transpose(matlab_cube, (2, 0, 1)).astype(np.float32))
    assert chikusei_shape(path) == (4, 7, 5)
    assert mat_cube_max(path) == matlab_cube.max()  # whole-scene scale, band by band
    assert scene.wavelengths_nominal and scene.wavelengths_nm is not None
    assert scene.wavelengths_nm[0] == CHIKUSEI_RANGE_NM[0] and scene.wavelengths_nm[-1] == CHIKUSEI_RANGE_NM[1]
    assert scene.full_scale is None  # uncalibrated: normalised by the scene maximum


def test_window_read_equals_crop_of_full_read(tmp_path: Path, matlab_cube: np.ndarray) -> None:
    path = tmp_path / "c.mat"
    write_mat_v73(path, {"chikusei": matlab_cube})
    full = load_chikusei(path).cube
    win = Window(col_off=1, row_off=2, width=3, height=4)
    part = load_chikusei(path, window=win)
    np.testing.assert_array_equal(part.cube, full[:, 2:6, 1:4])
    assert part.name == "chikusei[2:6,1:4]"


def test_window_outside_cube_is_refused(tmp_path: Path, matlab_cube: np.ndarray) -> None:
    path = tmp_path / "c.mat"
    write_mat_v73(path, {"chikusei": matlab_cube})
    with pytest.raises(InputDataError, match="outside the 7x5 cube"):
        load_chikusei(path, window=Window(0, 5, 5, 5))


def test_key_choice_and_errors(tmp_path: Path, matlab_cube: np.ndarray) -> None:
    path = tmp_path / "two.mat"
    write_mat_v73(path, {"a": matlab_cube, "b": matlab_cube + 1})
    with pytest.raises(InputDataError, match="cannot tell which variable"):
        load_chikusei(path)
    np.testing.assert_array_equal(load_chikusei(path, key="b").cube[0, 0, 0], matlab_cube[0, 0, 0] + 1)
    with pytest.raises(InputDataError, match="no variable 'chikusei'"):
        load_chikusei(path, key="chikusei")
    with pytest.raises(InputDataError, match="not found"):
        load_chikusei(tmp_path / "missing.mat")


def test_v5_and_v73_files_agree(tmp_path: Path, matlab_cube: np.ndarray) -> None:
    v5, v73 = tmp_path / "v5.mat", tmp_path / "v73.mat"
    scipy.io.savemat(v5, {"cube": matlab_cube})
    write_mat_v73(v73, {"cube": matlab_cube})
    assert not is_v73(v5)
    np.testing.assert_array_equal(read_mat_cube(v5), read_mat_cube(v73))
