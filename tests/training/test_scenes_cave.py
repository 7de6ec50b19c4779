"""CAVE loader on PNG folders written in the original layout (16-bit grey and 8-bit RGBA)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pifnet_engine.errors import InputDataError
from training.scenes.cave import (
    CAVE_WAVELENGTHS_NM,
    list_cave_scenes,
    load_cave_scene,
    read_band_png,
)

from ..shared_data import needs_shared


def write_scene_16bit(root: Path, scene: str, cube: np.ndarray) -> None:
    """complete_ms_data/<scene>_ms/<scene>_ms/<scene>_ms_NN.png, 16-bit greyscale."""
    folder = root / "complete_ms_data" / f"{scene}_ms" / f"{scene}_ms"
    folder.mkdir(parents=True)
    for k, band in enumerate(cube, start=1):
        Image.fromarray(band.astype(np.uint16)).save(folder / f"{scene}_ms_{k:02d}.png")


def write_scene_rgba8(root: Path, scene: str, cube8: np.ndarray) -> None:
    """Like watercolors: 8-bit RGBA PNGs, grey value replicated in R, G, B, alpha 255."""
    folder = root / "complete_ms_data" / f"{scene}_ms" / f"{scene}_ms"
    folder.mkdir(parents=True)
    for k, band in enumerate(cube8, start=1):
        rgba = np.stack([band, band, band, np.full_like(band, 255)], axis=-1).astype(np.uint8)
        Image.fromarray(rgba, mode="RGBA").save(folder / f"{scene}_ms_{k:02d}.png")


def test_16bit_scene_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    cube = rng.integers(0, 65536, size=(31, 6, 5), dtype=np.uint16)
    write_scene_16bit(tmp_path, "beads", cube)
    with Image.open(tmp_path / "complete_ms_data/beads_ms/beads_ms/beads_ms_01.png") as im:
        assert im.mode.startswith("I;16")  # really a 16-bit PNG
    scene = load_cave_scene(tmp_path, "beads")  # parent of complete_ms_data is accepted too
    assert scene.cube.shape == (31, 6, 5) and scene.cube.dtype == np.float32
    np.testing.assert_array_equal(scene.cube, cube.astype(np.float32))
    assert scene.full_scale == 65535.0
    assert scene.wavelengths_nm == CAVE_WAVELENGTHS_NM
    assert scene.wavelengths_nm[0] == 400.0 and scene.wavelengths_nm[-1] == 700.0


def test_watercolors_rgba8_is_scaled_to_16bit(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    cube8 = rng.integers(0, 256, size=(31, 4, 7), dtype=np.uint8)
    cube8[0, 0, 0], cube8[0, 0, 1] = 255, 0
    write_scene_rgba8(tmp_path, "watercolors", cube8)
    with Image.open(tmp_path / "complete_ms_data/watercolors_ms/watercolors_ms/watercolors_ms_01.png") as im:
        assert im.mode == "RGBA"
    scene = load_cave_scene(tmp_path / "complete_ms_data", "watercolors")
    np.testing.assert_array_equal(scene.cube, cube8.astype(np.float32) * 257.0)
    assert scene.cube[0, 0, 0] == 65535.0 and scene.cube[0, 0, 1] == 0.0


def test_rgb_channels_are_averaged(tmp_path: Path) -> None:
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 30, 60, 90, 7
    path = tmp_path / "x.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    np.testing.assert_array_equal(read_band_png(path), np.full((2, 2), 60.0 * 257.0, np.float32))


def test_listing_and_missing_band(tmp_path: Path) -> None:
    cube = np.ones((31, 3, 3), np.uint16)
    write_scene_16bit(tmp_path, "beads", cube)
    write_scene_16bit(tmp_path, "cloth", cube)
    (tmp_path / "complete_ms_data/cloth_ms/cloth_ms/cloth_ms_17.png").unlink()
    assert list_cave_scenes(tmp_path) == ["beads"]
    with pytest.raises(InputDataError, match="cloth_ms_17.png"):
        load_cave_scene(tmp_path, "cloth")
    with pytest.raises(InputDataError, match="CAVE folder not found"):
        list_cave_scenes(tmp_path / "nowhere")


@pytest.mark.realdata
@needs_shared("cave")
def test_real_cave_scene(shared_data: Path) -> None:
    names = list_cave_scenes(shared_data / "cave")
    assert len(names) == 14 and "beads" in names
    scene = load_cave_scene(shared_data / "cave", "beads")
    assert scene.cube.shape == (31, 512, 512)
    assert 0.0 <= scene.cube.min() and scene.cube.max() <= 65535.0
    assert scene.cube.max() > 255.0  # really 16-bit data
