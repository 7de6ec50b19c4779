"""From --scene/--data to normalised train / validation / test scenes (training.datasets)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasterio.windows import Window, intersect

from pifnet_engine.errors import InputDataError, UsageError
from training.datasets import DataSpec, holdout_strip, load_split_scenes, region_benchmark_scenes, simulate_split
from training.scenes.scene import Scene
from training.splits import RegionSplit

from .train_fixtures import write_cave, write_geotiff_tiles


def test_holdout_strip_cuts_the_longer_side_in_multiples() -> None:
    train, val = holdout_strip(Window(0, 340, 340, 270), multiple=8)  # Pavia's training region
    assert val == Window(276, 340, 64, 270) and train == Window(0, 340, 276, 270)
    assert not intersect(train, val)
    train, val = holdout_strip(Window(5, 0, 40, 100), multiple=4)  # taller than wide: rows
    assert (train.height, val.height, val.row_off) == (80, 20, 80)
    with pytest.raises(InputDataError, match="too small"):
        holdout_strip(Window(0, 0, 8, 8), multiple=8)


def test_region_benchmark_normalises_the_whole_scene_and_keeps_test_apart() -> None:
    cube = np.arange(4 * 40 * 64, dtype=np.float32).reshape(4, 40, 64)
    scene = Scene("toy", cube)
    split = RegionSplit("toy", (40, 64), train=(Window(0, 16, 64, 24),), test=(Window(0, 0, 16, 16), Window(16, 0, 16, 16)))
    out = region_benchmark_scenes(scene, split, ratio=4)
    assert out.scale == float(cube.max()) and out.normalisation == "max"
    # Validation strip: 20 % of 64 px rounded down to the multiple 8 is 8 px, raised to the
    # 16 px minimum (SSIM's 11 x 11 window must fit).
    assert [s.cube.shape for s in out.train] == [(4, 24, 48)] and [s.cube.shape for s in out.validation] == [(4, 24, 16)]
    assert len(out.test) == 2 and out.test[0].cube.max() < 1.0  # divided by the WHOLE scene's max
    assert out.regions["validation"] == ["toy[16:40,48:64]"]


def test_cave_and_georeferenced_kinds(tmp_path: Path) -> None:
    cave = write_cave(tmp_path / "cave", scenes=("beads", "cloth", "flowers"), size=32)
    got = load_split_scenes(DataSpec("cave", cave))
    assert (got.regions["train"], got.regions["validation"], got.regions["test"]) == (["beads"], ["cloth"], ["flowers"])
    assert got.scale == 65535.0 and all(s.cube.max() <= 1.0 for s in got.train)
    sims = simulate_split(DataSpec("cave", cave, ratio=4), got.train)
    assert sims[0].msi_preset == "nikon_d700" and sims[0].hr_msi.shape == (3, 32, 32)

    write_geotiff_tiles(tmp_path / "tiles", tiles=2)
    geo = load_split_scenes(DataSpec("georeferenced", tmp_path / "tiles", ratio=3, protocol="centred"))
    # Validation = the tail of the largest block; training = the other blocks and the rest of it.
    assert len(geo.validation) == 1 and geo.regions["validation"][0].endswith("_validation") and geo.test == ()
    split_block = geo.regions["validation"][0][: -len("_validation")]
    assert f"{split_block}_train" in geo.regions["train"] and len(geo.regions["train"]) == 2
    assert simulate_split(DataSpec("georeferenced", tmp_path / "tiles", ratio=3), geo.train)[0].msi_preset == "sentinel2_10m"


def test_bad_specs_are_refused() -> None:
    with pytest.raises(UsageError, match="unknown scene 'nope'"):
        DataSpec("nope", Path("."))
    with pytest.raises(UsageError, match="unknown MSI preset 'rgb'"):
        DataSpec("cave", Path("."), msi_srf="rgb")
    with pytest.raises(InputDataError, match="does not exist"):
        load_split_scenes(DataSpec("cave", Path("/nonexistent/cave")))
