"""Compact scene cache: round trip, quantisation, metadata, refusals; feeds the pair simulation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from rasterio.windows import Window

from pifnet_engine.errors import InputDataError, OutputExistsError, UsageError
from training.pairs import PatchDataset, simulate_scene
from training.scenes.cache import cache_info, cache_regions, read_cache, write_cache
from training.scenes.normalise import normalise
from training.scenes.scene import Scene

from ..shared_data import needs_shared


def cave_like() -> Scene:
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 65536, size=(31, 16, 12)).astype(np.float32)
    return Scene(
        name="beads",
        cube=counts,
        wavelengths_nm=tuple(400.0 + 10 * k for k in range(31)),
        full_scale=65535.0,
        sensor="CAVE",
    )


def test_16bit_counts_round_trip_exactly(tmp_path: Path) -> None:
    scene, scale = normalise(cave_like())
    info = write_cache(tmp_path / "beads.h5", scene, scale, "full_scale", source="CAVE beads, rows 0..15")
    assert info.shape == (31, 16, 12) and info.bits == 16 and info.scale == 65535.0
    assert info.normalisation == "full_scale" and info.source == "CAVE beads, rows 0..15"
    back = read_cache(tmp_path / "beads.h5")
    np.testing.assert_array_equal(np.rint(back.cube * 65535.0), cave_like().cube)
    assert back.full_scale == 1.0 and back.wavelengths_nm == scene.wavelengths_nm
    assert back.name == "beads" and back.sensor == "CAVE" and back.valid is None
    assert cache_info(tmp_path / "beads.h5").size_bytes == (tmp_path / "beads.h5").stat().st_size


def test_fewer_bits_bound_the_error(tmp_path: Path) -> None:
    scene, scale = normalise(cave_like())
    write_cache(tmp_path / "b10.h5", scene, scale, "full_scale", bits=10)
    err = np.abs(read_cache(tmp_path / "b10.h5").cube - scene.cube).max()
    assert 0 < err <= 0.5 / 1023 + 1e-7
    with pytest.raises(UsageError, match="bits must be in 8..16"):
        write_cache(tmp_path / "b4.h5", scene, scale, "full_scale", bits=4)


def test_georeferenced_mask_and_band_metadata_survive(tmp_path: Path) -> None:
    valid = np.ones((6, 6), bool)
    valid[0, :3] = False
    cube = np.full((4, 6, 6), 0.25, np.float32)
    cube[:, ~valid] = 0.0
    cube[2] = 0.0
    scene = Scene(
        name="enmap_block_0", cube=cube, wavelengths_nm=(450.0, 550.0, 940.0, 1600.0), fwhm_nm=(7.0,) * 4,
        full_scale=1.0, good_bands=(True, True, False, True), valid=valid, sensor="EnMAP",
        transform=Affine(30.0, 0.0, 366015.0, 0.0, -30.0, 5809965.0), crs="EPSG:32633",
    )
    write_cache(tmp_path / "e.h5", scene, 1.0, "full_scale")
    back = read_cache(tmp_path / "e.h5")
    np.testing.assert_array_equal(back.valid, valid)
    assert back.good_bands == scene.good_bands and back.fwhm_nm == scene.fwhm_nm
    assert back.transform == scene.transform and back.crs == "EPSG:32633"
    sim = simulate_scene(back, 2, "centred", response=np.eye(4)[[0, 1, 3]])
    assert not sim.clean[0, :2].any() and sim.clean[1:].all()


def test_cache_regions_normalise_by_the_whole_scene(tmp_path: Path) -> None:
    cube = np.zeros((2, 10, 4), np.float32)
    cube[:, :5] = 100.0  # "test" rows hold the maximum
    cube[:, 5:] = 50.0
    raw = Scene(name="pavia_university", cube=cube)
    infos = cache_regions(raw, [Window(0, 5, 4, 5)], tmp_path)
    assert infos[0].scale == 100.0 and infos[0].normalisation == "max"
    assert infos[0].path.name == "pavia_university_0.h5"
    np.testing.assert_allclose(read_cache(infos[0].path).cube, 0.5, atol=1e-4)


def test_refusals(tmp_path: Path) -> None:
    scene, scale = normalise(cave_like())
    write_cache(tmp_path / "x.h5", scene, scale, "full_scale")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        write_cache(tmp_path / "x.h5", scene, scale, "full_scale")
    write_cache(tmp_path / "x.h5", scene, scale, "full_scale", overwrite=True)
    with pytest.raises(InputDataError, match="not normalised"):
        write_cache(tmp_path / "raw.h5", cave_like(), 1.0, "none")
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["cube"] = np.zeros((1, 2, 2))
    with pytest.raises(InputDataError, match="not a scene cache"):
        read_cache(tmp_path / "other.h5")
    with pytest.raises(InputDataError, match="cache file not found"):
        read_cache(tmp_path / "missing.h5")


@pytest.mark.realdata
@needs_shared("cave")
def test_real_cave_scene_cache_is_lossless_and_trains(tmp_path: Path, shared_data: Path) -> None:
    from training.scenes.cave import load_cave_scene

    raw = load_cave_scene(shared_data / "cave", "beads")
    (info,) = cache_regions(raw, [Window(0, 0, 128, 128)], tmp_path, source="CAVE beads")
    assert info.normalisation == "full_scale" and info.scale == 65535.0
    assert info.source == "CAVE beads; beads rows 0..127, cols 0..127"
    assert info.size_bytes < 31 * 128 * 128 * 2  # compressed below raw 16-bit
    back = read_cache(info.path)
    np.testing.assert_array_equal(np.rint(back.cube * 65535.0), raw.cube[:, :128, :128])
    ds = PatchDataset([simulate_scene(back, 4, "paper")])
    assert ds[0]["lr_hsi"].shape == (31, 16, 16) and ds[0]["hr_msi"].shape == (3, 64, 64)
