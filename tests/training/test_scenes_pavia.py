"""Pavia University loader on a small PaviaU.mat (MATLAB v5) and on the real 50x50 crop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from training.scenes.pavia import PAVIA_UNIVERSITY_KEY, load_pavia_university

from ..shared_data import needs_shared

PAVIA_CROP = ("pavia_university", "paviaU_subimg.mat")


def test_paviau_mat_v5(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    cube = rng.integers(0, 8000, size=(9, 6, 103), dtype=np.uint16)  # rows x cols x bands, raw DN
    path = tmp_path / "PaviaU.mat"
    scipy.io.savemat(path, {PAVIA_UNIVERSITY_KEY: cube})
    scene = load_pavia_university(path)
    assert scene.cube.shape == (103, 9, 6) and scene.cube.dtype == np.float32
    np.testing.assert_array_equal(scene.cube, np.transpose(cube, (2, 0, 1)))
    assert scene.wavelengths_nm is None  # not distributed; the protocol uses the ROSIS matrix
    assert scene.full_scale is None
    explicit = load_pavia_university(path, key="paviaU")
    np.testing.assert_array_equal(explicit.cube, scene.cube)


@pytest.mark.realdata
@needs_shared(*PAVIA_CROP)
def test_real_pavia_crop(shared_data: Path) -> None:
    scene = load_pavia_university(shared_data.joinpath(*PAVIA_CROP))
    assert scene.cube.shape == (103, 50, 50)
    # SOURCE.txt: uint16 min=0 max=6614 mean=2172.22
    assert scene.cube.min() == 0.0 and scene.cube.max() == 6614.0
    assert abs(float(scene.cube.mean(dtype=np.float64)) - 2172.22) < 0.01
