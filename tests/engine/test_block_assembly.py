"""Whole file blocks from blended pieces (raster/block_assembly.py), and the GeoTIFF written with them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from pifnet_engine.raster.block_assembly import BlockAssembler

from .cli_runner import fuse
from .scenes import make_pair


def _pieces(h: int, w: int, rng: np.random.Generator) -> list[Window]:
    """Irregular rectangles covering an h x w raster, each pixel once (cuts like seams)."""
    rows = np.unique(np.r_[0, rng.integers(1, h, 7), h])
    cols = np.unique(np.r_[0, rng.integers(1, w, 9), w])
    wins = [Window(int(c0), int(r0), int(c1 - c0), int(r1 - r0))
            for r0, r1 in zip(rows[:-1], rows[1:], strict=True) for c0, c1 in zip(cols[:-1], cols[1:], strict=True)]
    return [wins[i] for i in rng.permutation(len(wins))]


class _Blocks:
    """An ``emit`` that writes into an array and remembers which blocks it got."""

    def __init__(self, shape: tuple[int, int, int]) -> None:
        self.array = np.full(shape, -1.0, np.float32)
        self.keys: list[tuple[int, int, int, int]] = []

    def __call__(self, window: Window, raw: np.ndarray) -> None:
        r, c, hh, ww = int(window.row_off), int(window.col_off), int(window.height), int(window.width)
        assert raw.shape[1:] == (hh, ww)
        self.array[:, r:r + hh, c:c + ww] = raw
        self.keys.append((r, c, hh, ww))


@pytest.mark.parametrize("memory_bytes", [0, 10**9])  # every piece spilled to disk / all in memory
def test_every_block_is_emitted_once_whole_and_equal(tmp_path: Path, memory_bytes: int) -> None:
    rng = np.random.default_rng(3)
    count, h, w, block = 3, 300, 530, 64
    data = rng.normal(size=(count, h, w)).astype(np.float32)
    got = _Blocks((count, h, w))
    asm = BlockAssembler(h, w, count, "float32", block, got, tmp_path, fill=np.nan, memory_bytes=memory_bytes)
    for win in _pieces(h, w, rng):
        r, c = int(win.row_off), int(win.col_off)
        asm.add(win, data[:, r:r + int(win.height), c:c + int(win.width)])
    assert asm.pending_blocks == 0
    asm.finish()
    np.testing.assert_array_equal(got.array, data)
    n_blocks = -(-h // block) * -(-w // block)
    assert len(got.keys) == len(set(got.keys)) == n_blocks  # once each
    assert all(r % block == 0 and c % block == 0 for r, c, _, _ in got.keys)  # whole file blocks
    assert (asm.peak_spill_bytes > 0) == (memory_bytes == 0)
    asm.close()
    assert list(tmp_path.iterdir()) == []  # the spill folder is gone


def test_finish_fills_what_never_arrived_and_close_drops_the_spill(tmp_path: Path) -> None:
    got = _Blocks((1, 100, 100))
    asm = BlockAssembler(100, 100, 1, "float32", 64, got, tmp_path, fill=-9999.0, memory_bytes=0)
    asm.add(Window(0, 0, 100, 30), np.ones((1, 30, 100), np.float32))
    assert asm.pending_blocks == 2 and len(got.keys) == 0 and len(list(tmp_path.iterdir())) == 1
    asm.finish()
    assert sorted(got.keys) == [(0, 0, 64, 64), (0, 64, 64, 36)]
    assert (got.array[0, :30] == 1).all() and (got.array[0, 30:64] == -9999.0).all()
    asm.close()
    assert list(tmp_path.iterdir()) == []
    # after a failure: pieces not emitted and the spill folder go
    asm2 = BlockAssembler(100, 100, 1, "float32", 64, got, tmp_path, fill=0.0, memory_bytes=0)
    asm2.add(Window(10, 10, 20, 20), np.ones((1, 20, 20), np.float32))
    assert len(list(tmp_path.iterdir())) == 1
    asm2.close()
    assert list(tmp_path.iterdir()) == []


def test_the_geotiff_is_written_compressed_each_tile_once(tmp_path: Path) -> None:
    """Windows of 99 px with seams (no 256-px tile is one window's): the GeoTIFF written directly has
    the pixels of the COG (written through an uncompressed copy), and each tile was written once,
    whole: the file is as large as GDAL's own compressed copy of it (within its header). Written in
    parts, with GDAL's block cache cut to 1 MB, the tiles were flushed, compressed and rewritten:
    2,644,625 bytes against the copy's 2,638,791 (measured with the assembler bypassed)."""
    pair = make_pair(tmp_path, bands=6, fine=(330, 540), ratio=3)
    args = ("--method", "bicubic", "--tile-size", "99", "--overlap", "12", "--no-overviews")
    direct = tmp_path / "direct.tif"
    done = subprocess.run([sys.executable, "-m", "pifnet_engine", "fuse", str(pair.hsi), str(pair.msi), "-o",
                           str(direct), "--progress", "none", "--no-report", *args],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "GDAL_CACHEMAX": "1"})
    assert done.returncode == 0, done.stderr
    cog = fuse(pair.hsi, pair.msi, tmp_path / "cog.tif", *args, "--cog")
    with rasterio.open(direct) as a, rasterio.open(cog) as b:
        np.testing.assert_array_equal(a.read(), b.read())
        assert a.profile["compress"] == "deflate" and a.block_shapes[0] == (256, 256)
    rasterio.shutil.copy(direct, tmp_path / "copy.tif", driver="GTiff", COMPRESS="DEFLATE", PREDICTOR="3",
                         TILED="YES", BLOCKXSIZE="256", BLOCKYSIZE="256", INTERLEAVE="BAND")
    assert direct.stat().st_size <= (tmp_path / "copy.tif").stat().st_size + 1024
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cog.qml", "cog.tif", "copy.tif", "direct.qml", "direct.tif",
                                                          "hsi.tif", "msi.tif"]
