"""The paper's splits: geometry, disjointness, CAVE scene lists, EnMAP demo exclusion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasterio.windows import Window

from pifnet_engine.errors import InputDataError
from training.splits import (
    CAVE_SCENES,
    CAVE_TEST,
    CAVE_TRAIN,
    CAVE_VALIDATION,
    ENMAP_DEMO_RESERVED_TILES,
    MHFNET_CAVE_INDEX,
    RegionSplit,
    cave_split,
    chikusei_split,
    enmap_training_tiles,
    houston2013_split,
    pavia_university_split,
    tile_grid,
)

from ..shared_data import needs_shared


def coverage(shape_hw: tuple[int, int], windows: tuple[Window, ...]) -> np.ndarray:
    """How many windows cover each pixel (independent of rasterio's intersection logic)."""
    count = np.zeros(shape_hw, np.int32)
    for w in windows:
        count[int(w.row_off) : int(w.row_off + w.height), int(w.col_off) : int(w.col_off + w.width)] += 1
    return count


@pytest.mark.parametrize("make", [chikusei_split, pavia_university_split, houston2013_split])
def test_region_splits_are_disjoint(make) -> None:
    split = make()
    split.check_disjoint()
    train = coverage(split.shape_hw, split.train)
    test = coverage(split.shape_hw, split.test)
    assert train.max() == 1 and test.max() == 1  # no window overlaps another of its split
    assert not np.any((train > 0) & (test > 0))  # no pixel in both


def test_chikusei_split_is_the_papers() -> None:
    split = chikusei_split()
    assert split.shape_hw == (2517, 2335)
    assert split.train == (Window(col_off=0, row_off=0, width=2000, height=1000),)
    assert len(split.test) == 6  # the paper shows "the sixth test area"
    assert {(int(w.row_off), int(w.col_off)) for w in split.test} == {
        (r, c) for r in (1000, 1680) for c in (0, 680, 1360)
    }
    assert all((w.width, w.height) == (680, 680) for w in split.test)


def test_pavia_and_houston_splits_are_the_papers() -> None:
    pavia = pavia_university_split()
    assert pavia.test == (Window(0, 0, 340, 340),)  # top 340 x 340
    assert pavia.train == (Window(col_off=0, row_off=340, width=340, height=270),)
    assert coverage((610, 340), pavia.train + pavia.test).min() == 1  # together: the whole scene
    houston = houston2013_split()
    assert houston.test == (Window(0, 0, 349, 349),)  # left 349 x 349
    assert houston.train == (Window(col_off=349, row_off=0, width=1556, height=349),)
    assert coverage((349, 1905), houston.train + houston.test).min() == 1


def test_split_refuses_another_shape() -> None:
    with pytest.raises(InputDataError, match="defined for the full 610x340 scene"):
        pavia_university_split((50, 50))


def test_check_disjoint_catches_overlap() -> None:
    bad = RegionSplit("x", (10, 10), train=(Window(0, 0, 6, 10),), test=(Window(5, 0, 5, 10),))
    with pytest.raises(InputDataError, match="overlaps test window"):
        bad.check_disjoint()
    outside = RegionSplit("x", (10, 10), train=(Window(0, 0, 11, 10),), test=())
    with pytest.raises(InputDataError, match="leaves the 10x10 scene"):
        outside.check_disjoint()


def test_tile_grid_drops_remainders() -> None:
    tiles = tile_grid(Window(col_off=3, row_off=2, width=25, height=21), 10)
    assert tiles == tuple(Window(3 + 10 * j, 2 + 10 * i, 10, 10) for i in range(2) for j in range(2))


def test_cave_lists_are_mhfnet_index_resolved() -> None:
    assert list(CAVE_SCENES) == sorted(CAVE_SCENES) and len(set(CAVE_SCENES)) == 32
    assert sorted(MHFNET_CAVE_INDEX) == list(range(1, 33))
    resolved = [CAVE_SCENES[i - 1] for i in MHFNET_CAVE_INDEX]
    assert tuple(resolved[:20]) == CAVE_TRAIN and tuple(resolved[20:]) == CAVE_TEST
    assert not set(CAVE_TRAIN) & set(CAVE_TEST)
    assert set(CAVE_VALIDATION) < set(CAVE_TRAIN)


def test_cave_split_of_available_scenes() -> None:
    have = ["beads", "cloth", "superballs", "balloons", "paints", "fake_and_real_food"]
    split = cave_split(have)
    assert split.train == ("beads", "paints")  # MHF-net order, validation and held-out test removed
    assert split.validation == ("cloth", "superballs")
    assert split.test == ("balloons", "fake_and_real_food")
    assert not set(split.train) & set(split.validation) and not set(split.test) & set(split.train + split.validation)
    with pytest.raises(InputDataError, match="unknown CAVE scene"):
        cave_split(["beads", "my_scene"])
    with pytest.raises(InputDataError, match="not MHF-net training scenes"):
        cave_split(have, validation=("balloons",))


@pytest.mark.realdata
@needs_shared("cave")
def test_shared_cave_scenes_are_all_training_side(shared_data: Path) -> None:
    from training.scenes.cave import list_cave_scenes

    names = list_cave_scenes(shared_data / "cave")
    split = cave_split(names)
    assert len(split.train) == 11 and len(split.validation) == 2 and split.test == ("fake_and_real_food",)


def test_enmap_exclusion_list() -> None:
    assert ENMAP_DEMO_RESERVED_TILES == (
        "enmap_potsdam_tile_64_0",
        "enmap_potsdam_tile_64_32",
        "enmap_potsdam_tile_96_0",
        "enmap_potsdam_tile_96_32",
    )
    paths = [Path(f"/x/{n}.tif") for n in ENMAP_DEMO_RESERVED_TILES] + [Path("/x/enmap_potsdam_tile_128_0.tif")]
    assert enmap_training_tiles(paths) == [Path("/x/enmap_potsdam_tile_128_0.tif")]
