"""The pixel frames (pifnet_engine.geometry) against brute-force pixel sets, and the tiles' windows."""

from __future__ import annotations

import numpy as np
import pytest
from rasterio.windows import Window

from pifnet_engine.geometry import (Frames, absolute, clip, grid_cell, grid_cells, inside_mask, pad_widths, relative,
                                    shrink, slices_in)
from .test_tiling import _plan


def _pixels(w: Window) -> set[tuple[int, int]]:
    return {(r, c) for r in range(int(w.row_off), int(w.row_off + w.height))
            for c in range(int(w.col_off), int(w.col_off + w.width))}


def _random_window(rng: np.random.Generator, lo: int = -20, hi: int = 20) -> Window:
    col, row = (int(v) for v in rng.integers(lo, hi, 2))
    width, height = (int(v) for v in rng.integers(1, 15, 2))
    return Window(col, row, width, height)


def test_clip_pad_and_inside_agree_with_pixel_sets() -> None:
    rng = np.random.default_rng(1)
    for _ in range(2000):
        win, region = _random_window(rng), _random_window(rng, -5, 5)
        height, width = (int(v) for v in rng.integers(1, 12, 2))
        raster = _pixels(Window(0, 0, width, height))
        inner = clip(win, height, width)
        common = _pixels(win) & raster
        if not common:
            assert inner is None
        else:
            assert inner is not None and _pixels(inner) == common
            (top, bottom), (left, right) = pad_widths(win, inner)
            assert min(top, bottom, left, right) >= 0
            assert (top + int(inner.height) + bottom, left + int(inner.width) + right) == (win.height, win.width)
        mask = inside_mask(win, region)
        expected = _pixels(win) & _pixels(region)
        rows, cols = np.nonzero(mask)
        assert {(int(r) + int(win.row_off), int(c) + int(win.col_off)) for r, c in zip(rows, cols, strict=True)} \
            == expected


def test_relative_slices_and_shrink() -> None:
    frame = Window(5, -3, 20, 10)
    win = Window(7, 0, 4, 2)
    assert relative(win, frame) == Window(2, 3, 4, 2)
    assert absolute(relative(win, frame), frame) == win
    array = np.arange(200).reshape(10, 20)
    rows, cols = slices_in(win, frame)
    assert array[rows, cols].shape == (2, 4) and array[rows, cols][0, 0] == array[3, 2]
    assert shrink(Window(0, 0, 10, 8), 2) == Window(2, 2, 6, 4)
    assert shrink(shrink(win, -3), 3) == win


@pytest.mark.parametrize("origin", [(0, 0), (-1, 2), (4, -5)])
def test_frames_convert_between_msi_coarse_and_output_pixels(origin: tuple[int, int]) -> None:
    frames = Frames(3, origin, Window(4, 1, 50, 40))
    coarse = Window(2, -1, 5, 4)
    msi = frames.msi_of(coarse)
    # coarse pixel (i, j) covers MSI rows origin_row + 3 i .. + 2
    assert (msi.row_off, msi.col_off) == (origin[0] - 3, origin[1] + 6) and (msi.height, msi.width) == (12, 15)
    assert frames.coarse_of(msi) == coarse
    with pytest.raises(ValueError, match="not aligned"):
        frames.coarse_of(Window(msi.col_off + 1, msi.row_off, 15, 12))
    assert frames.msi_of_output(frames.output_of(msi)) == msi
    assert frames.output_of(Window(4, 1, 2, 2)) == Window(0, 0, 2, 2)
    start = frames.aligned_start(10, 0)
    assert start <= 10 < start + 3 and (start - origin[0]) % 3 == 0


def test_coarse_inside_is_the_whole_coarse_pixels_in_the_region() -> None:
    rng = np.random.default_rng(2)
    for _ in range(300):
        origin = (int(rng.integers(-4, 4)), int(rng.integers(-4, 4)))
        region = _random_window(rng, -10, 10)
        shape = (int(rng.integers(1, 8)), int(rng.integers(1, 8)))
        frames = Frames(3, origin, region)
        got = frames.coarse_inside(region, shape)
        expected = {(i, j) for i in range(shape[0]) for j in range(shape[1])
                    if _pixels(frames.msi_of(Window(j, i, 1, 1))) <= _pixels(region)}
        assert (set() if got is None else _pixels(got)) == expected


def test_tiles_carry_their_core_and_its_coarse_pixels() -> None:
    from pifnet_engine.tiling import TileLayout

    plan = _plan(50, 71, origin=(-1, 2), out_off=(1, 4))
    lay = TileLayout(plan, 12, 3, 6)
    cores: set[tuple[int, int]] = set()
    for t in lay.tiles():
        assert t.core == shrink(t.read, lay.overlap_px + lay.halo_px)
        assert (t.core.width, t.core.height) == (12, 12)
        assert plan.frames.msi_of(t.hsi_core) == t.core and plan.frames.msi_of(t.hsi_read) == t.read
        assert _pixels(t.contrib) <= _pixels(t.read)
        assert not (cores & _pixels(t.core))  # the cores do not overlap ...
        cores |= _pixels(t.core)
    assert _pixels(plan.out_window) <= cores  # ... and cover the output region


def test_grid_cells_are_the_file_tiles_a_window_touches_clipped_to_the_raster() -> None:
    # a 300 x 530 raster in 256-px tiles: 2 x 3 tiles, the last row and column clipped
    assert grid_cell((1, 2), 256, 300, 530) == Window(512, 256, 18, 44)
    cells = grid_cells(Window(250, 10, 20, 250), 256, 300, 530)
    assert cells == [((0, 0), Window(0, 0, 256, 256)), ((0, 1), Window(256, 0, 256, 256)),
                     ((1, 0), Window(0, 256, 256, 44)), ((1, 1), Window(256, 256, 256, 44))]
    assert grid_cells(Window(0, 0, 256, 256), 256, 300, 530) == [((0, 0), Window(0, 0, 256, 256))]
    with pytest.raises(ValueError):
        grid_cell((2, 0), 256, 300, 530)
