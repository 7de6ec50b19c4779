"""The paper's train/test splits, the CAVE scene lists, and the EnMAP tiles reserved for the demo.

Pixel regions are :class:`rasterio.windows.Window` objects (``row_off``/``col_off``/``height``/
``width`` in pixels of the scene's (H, W) = (rows, cols) grid; rows grow downwards).

Region splits (PIF-Net paper, "Dataset and Evaluation"):

- **Chikusei**, 2517 x 2335 x 128 (H x W x C): "a 1000 x 2000 region from the top-left corner
  for training, while the remaining area is divided into non-overlapping 680 x 680 patches for
  testing". We read 1000 x 2000 as H x W: train = rows 0..999, cols 0..1999. The rows below it
  (1000..2516, all 2335 columns) hold 2 x 3 = 6 non-overlapping 680 x 680 test patches at rows
  {1000, 1680} x cols {0, 680, 1360} — six, which matches the paper's Figure 5 ("the sixth test
  area"). The other reading (2000 rows x 1000 cols) leaves only a 1335-column strip that holds
  3 patches, so it cannot be the paper's. Pixels left over (the 1000 x 335 strip right of the
  training region, the last 157 rows and 295 columns below it) are in neither split.
- **Pavia University**, 610 x 340 x 103: test = the top 340 x 340 (rows 0..339, all columns),
  train = the rest (rows 340..609).
- **Houston 2013**, 349 x 1905 x 144: test = the left 349 x 349 (all rows, cols 0..348), train
  = the rest (cols 349..1904).

Scene splits:

- **CAVE**: the standard 20-train / 12-test split of MHF-net (Xie et al., "Multispectral and
  hyperspectral image fusion by MS/HS fusion net", CVPR 2019 / TPAMI 2022), as used by the
  Fusformer / PSRT line. Its code (XieQi2015/MHF-net, ``CAVE_dataReader.py``,
  ``PrepareDataAndiniValue``) draws the scenes by the index list
  ``Ind = [2,31,25,6,27,15,19,14,12,28,26,29,8,13,22,7,24,30,10,23, 18,17,21,3,9,4,20,5,16,32,11,1]``
  (1-based, into the 32 CAVE folders in alphabetical order), first 20 = train, last 12 =
  test; the names below are that list resolved. ``../shared/data/cave`` holds 14 of the 20
  training scenes; we hold out :data:`CAVE_VALIDATION` (2 of them, fixed) for validation.
- **EnMAP Potsdam tiles**: :data:`ENMAP_DEMO_RESERVED_TILES` are the demo's and never training
  data (:func:`enmap_training_tiles` removes them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rasterio.windows import Window, intersect

from pifnet_engine.errors import InputDataError


@dataclass(frozen=True)
class RegionSplit:
    """Train and test pixel regions of one scene (windows on its (H, W) grid)."""

    scene: str
    shape_hw: tuple[int, int]
    train: tuple[Window, ...]
    test: tuple[Window, ...]

    def check_disjoint(self) -> None:
        """Raise :class:`InputDataError` if a train and a test window overlap, two test windows
        overlap, or any window leaves the scene."""
        h, w = self.shape_hw
        for win in self.train + self.test:
            inside = win.row_off >= 0 and win.col_off >= 0
            inside = inside and win.row_off + win.height <= h and win.col_off + win.width <= w
            if not inside:
                raise InputDataError(f"{self.scene}: window {win} leaves the {h}x{w} scene")
        for a in self.train:
            for b in self.test:
                if intersect(a, b):
                    raise InputDataError(f"{self.scene}: train window {a} overlaps test window {b}")
        for i, a in enumerate(self.test):
            for b in self.test[i + 1 :]:
                if intersect(a, b):
                    raise InputDataError(f"{self.scene}: test windows {a} and {b} overlap")


def _check_shape(scene: str, shape_hw: tuple[int, int], expected: tuple[int, int]) -> None:
    if tuple(shape_hw) != expected:
        raise InputDataError(
            f"{scene}: the scene is {shape_hw[0]}x{shape_hw[1]} px but the paper's split is defined "
            f"for the full {expected[0]}x{expected[1]} scene; load the whole scene, or build your "
            "own RegionSplit for a different one"
        )


def tile_grid(region: Window, size: int) -> tuple[Window, ...]:
    """Non-overlapping ``size`` x ``size`` windows filling ``region`` from its top-left corner
    (row-major); a remainder narrower than ``size`` is left out."""
    r0, c0 = int(region.row_off), int(region.col_off)
    rows, cols = int(region.height) // size, int(region.width) // size
    return tuple(Window(c0 + j * size, r0 + i * size, size, size) for i in range(rows) for j in range(cols))


CHIKUSEI_SHAPE_HW = (2517, 2335)
PAVIA_UNIVERSITY_SHAPE_HW = (610, 340)
HOUSTON2013_SHAPE_HW = (349, 1905)


def chikusei_split(shape_hw: tuple[int, int] = CHIKUSEI_SHAPE_HW) -> RegionSplit:
    """Chikusei: train rows 0..999 x cols 0..1999; test = six 680 x 680 patches below it."""
    _check_shape("chikusei", shape_hw, CHIKUSEI_SHAPE_HW)
    h, w = shape_hw
    train = Window(0, 0, 2000, 1000)
    test = tile_grid(Window(0, 1000, w, h - 1000), 680)
    return RegionSplit("chikusei", (h, w), (train,), test)


def pavia_university_split(shape_hw: tuple[int, int] = PAVIA_UNIVERSITY_SHAPE_HW) -> RegionSplit:
    """Pavia University: test = rows 0..339 (340 x 340); train = rows 340..609."""
    _check_shape("pavia_university", shape_hw, PAVIA_UNIVERSITY_SHAPE_HW)
    h, w = shape_hw
    return RegionSplit("pavia_university", (h, w), (Window(0, w, w, h - w),), (Window(0, 0, w, w),))


def houston2013_split(shape_hw: tuple[int, int] = HOUSTON2013_SHAPE_HW) -> RegionSplit:
    """Houston 2013: test = cols 0..348 (349 x 349); train = cols 349..1904."""
    _check_shape("houston2013", shape_hw, HOUSTON2013_SHAPE_HW)
    h, w = shape_hw
    return RegionSplit("houston2013", (h, w), (Window(h, 0, w - h, h),), (Window(0, 0, h, h),))


# --- CAVE -----------------------------------------------------------------------------------

#: The 32 CAVE scenes, alphabetical (the folder order MHF-net's index list refers to).
CAVE_SCENES: tuple[str, ...] = (
    "balloons", "beads", "cd", "chart_and_stuffed_toy", "clay", "cloth", "egyptian_statue", "face",
    "fake_and_real_beers", "fake_and_real_food", "fake_and_real_lemon_slices", "fake_and_real_lemons",
    "fake_and_real_peppers", "fake_and_real_strawberries", "fake_and_real_sushi", "fake_and_real_tomatoes",
    "feathers", "flowers", "glass_tiles", "hairs", "jelly_beans", "oil_painting", "paints",
    "photo_and_face", "pompoms", "real_and_fake_apples", "real_and_fake_peppers", "sponges",
    "stuffed_toys", "superballs", "thread_spools", "watercolors",
)  # fmt: skip

#: MHF-net's random index list (1-based into :data:`CAVE_SCENES`): first 20 train, last 12 test.
MHFNET_CAVE_INDEX: tuple[int, ...] = (
    2, 31, 25, 6, 27, 15, 19, 14, 12, 28, 26, 29, 8, 13, 22, 7, 24, 30, 10, 23,
    18, 17, 21, 3, 9, 4, 20, 5, 16, 32, 11, 1,
)  # fmt: skip

#: The 20 training scenes of the MHF-net split.
CAVE_TRAIN: tuple[str, ...] = (
    "beads", "thread_spools", "pompoms", "cloth", "real_and_fake_peppers", "fake_and_real_sushi",
    "glass_tiles", "fake_and_real_strawberries", "fake_and_real_lemons", "sponges",
    "real_and_fake_apples", "stuffed_toys", "face", "fake_and_real_peppers", "oil_painting",
    "egyptian_statue", "photo_and_face", "superballs", "fake_and_real_food", "paints",
)  # fmt: skip

#: The 12 test scenes of the MHF-net split.
CAVE_TEST: tuple[str, ...] = (
    "flowers", "feathers", "jelly_beans", "cd", "fake_and_real_beers", "chart_and_stuffed_toy",
    "hairs", "clay", "fake_and_real_tomatoes", "watercolors", "fake_and_real_lemon_slices", "balloons",
)  # fmt: skip

#: Our validation hold-out, two of the training scenes present in ../shared/data/cave (a textured
#: fabric and saturated colour spheres), fixed so every run validates on the same data.
CAVE_VALIDATION: tuple[str, ...] = ("cloth", "superballs")
#: A third training scene of ../shared/data/cave held out as a test scene (with the MHF-net test
#: scenes that are present): a check of the bundled weights on a scene that neither trained
#: them nor chose them (validation picks the best step), so no result is tuned to it.
CAVE_HELD_OUT_TEST: tuple[str, ...] = ("fake_and_real_food",)


@dataclass(frozen=True)
class SceneSplit:
    """Scene names per split (train / validation / test), each in a fixed order."""

    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]


def cave_split(available: Iterable[str], validation: Sequence[str] = CAVE_VALIDATION,
               held_out: Sequence[str] = CAVE_HELD_OUT_TEST) -> SceneSplit:
    """The MHF-net split restricted to the scenes in ``available`` (e.g. from
    :func:`training.scenes.cave.list_cave_scenes`), with ``validation`` moved out of train and
    ``held_out`` moved from train to test.

    Raises :class:`InputDataError` for an unknown scene name, or a validation scene that is not
    a training scene of the split.
    """
    have = set(available)
    unknown = sorted(have - set(CAVE_SCENES))
    if unknown:
        raise InputDataError(
            f"unknown CAVE scene(s) {unknown}; expected names from the 32 CAVE scenes "
            f"({', '.join(CAVE_SCENES[:3])}, ...); check the folder names end in _ms"
        )
    bad_val = sorted(set(validation) - set(CAVE_TRAIN))
    if bad_val:
        raise InputDataError(
            f"CAVE validation scene(s) {bad_val} are not MHF-net training scenes; expected a subset "
            f"of {list(CAVE_TRAIN)} (test scenes must stay unseen)"
        )
    return SceneSplit(
        train=tuple(s for s in CAVE_TRAIN if s in have and s not in validation and s not in held_out),
        validation=tuple(s for s in validation if s in have),
        test=tuple(s for s in CAVE_TEST if s in have)
        + tuple(s for s in held_out if s in have and s not in validation),
    )


# --- EnMAP (georeferenced) ------------------------------------------------------------------

#: EnMAP Potsdam tiles used by the engine's demo: never training data.
ENMAP_DEMO_RESERVED_TILES: tuple[str, ...] = (
    "enmap_potsdam_tile_64_0",
    "enmap_potsdam_tile_64_32",
    "enmap_potsdam_tile_96_0",
    "enmap_potsdam_tile_96_32",
)


def enmap_training_tiles(
    paths: Iterable[str | Path], reserved: Iterable[str] = ENMAP_DEMO_RESERVED_TILES
) -> list[Path]:
    """``paths`` without the tiles whose file stem is in ``reserved`` (the demo's), sorted."""
    blocked = set(reserved)
    return sorted(Path(p) for p in paths if Path(p).stem not in blocked)
