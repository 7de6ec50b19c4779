"""Whole output blocks from pieces, so that a compressed GeoTIFF gets each tile in one write.

The blender hands the writer complete *blend* blocks, which follow the fusion windows and their
seams, not the output file's 256 x 256 tiles. A compressed tile written in parts would be
decompressed, merged and compressed again, and the file would keep every earlier version of it
(GDAL appends a rewritten tile that grew). :class:`BlockAssembler` therefore collects the pieces
of each file block and hands the block on only when all its pixels have arrived. Pieces of
incomplete blocks are kept in memory up to ``memory_bytes`` and spilled to ``.npy`` files in a
private folder (``spill_prefix`` + random letters) beyond that; a block's pieces are dropped as soon as it is written, so the spill
holds at most the blocks along the seams still open (a band of tiles about one fusion window
high), never the raster.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rasterio.windows import Window

from pifnet_engine.geometry import slices_in

#: Pieces of incomplete blocks kept in memory before they go to disk.
DEFAULT_MEMORY_BYTES = 256 * 2**20

Emit = Callable[[Window, np.ndarray], None]


class BlockAssembler:
    """Pieces ``(window, raw)`` of a (count, height, width) raster -> whole blocks to ``emit``.

    Blocks are ``block`` x ``block`` pixels from the raster's origin (clipped at its right and
    bottom edges); ``raw`` is (count, h, w) of the file's data type. Each block is emitted exactly
    once: when its last pixel arrives, or by :meth:`finish` with ``fill`` where nothing arrived.
    """

    def __init__(self, height: int, width: int, count: int, dtype: str, block: int, emit: Emit,
                 spill_dir: Path, fill: float, memory_bytes: int = DEFAULT_MEMORY_BYTES,
                 spill_prefix: str = ".pifnet-blocks-") -> None:
        self.height, self.width, self.count, self.block = height, width, count, block
        self.dtype = np.dtype(dtype)
        self._emit = emit
        self._fill = fill
        self._memory_bytes = memory_bytes
        self._spill_root, self._spill_prefix = spill_dir, spill_prefix
        self._dir: Path | None = None  # made on the first spill
        self._pieces: dict[tuple[int, int], list[tuple[Window, np.ndarray | Path]]] = {}
        self._covered: dict[tuple[int, int], int] = {}
        self._held_bytes = 0
        self._spilled = 0
        #: Largest number of bytes spilled to disk at once.
        self.peak_spill_bytes = 0
        self._spill_bytes = 0

    def block_window(self, key: tuple[int, int]) -> Window:
        """The file block ``key`` = (block row, block column), clipped to the raster."""
        r0, c0 = key[0] * self.block, key[1] * self.block
        return Window(c0, r0, min(self.block, self.width - c0), min(self.block, self.height - r0))

    def add(self, window: Window, raw: np.ndarray) -> None:
        """Add (count, h, w) ``raw`` at ``window`` (pixels of the raster, inside it, each pixel once)."""
        r0, c0 = int(window.row_off), int(window.col_off)
        r1, c1 = r0 + int(window.height), c0 + int(window.width)
        b = self.block
        for bi in range(r0 // b, (r1 - 1) // b + 1):
            for bj in range(c0 // b, (c1 - 1) // b + 1):
                key = (bi, bj)
                bw = self.block_window(key)
                part = window.intersection(bw)
                rows, cols = slices_in(part, window)
                piece = raw[:, rows, cols]
                area = int(part.height) * int(part.width)
                if area == int(bw.height) * int(bw.width):  # the whole block at once
                    self._emit(bw, piece)
                    continue
                self._keep(key, part, piece)
                self._covered[key] = self._covered.get(key, 0) + area
                if self._covered[key] == int(bw.height) * int(bw.width):
                    self._emit_block(key, complete=True)

    def finish(self) -> None:
        """Emit the blocks still incomplete, ``fill`` where no piece arrived."""
        for key in sorted(self._pieces):
            self._emit_block(key, complete=False)

    @property
    def pending_blocks(self) -> int:
        return len(self._pieces)

    def _keep(self, key: tuple[int, int], part: Window, piece: np.ndarray) -> None:
        stored: np.ndarray | Path
        if self._held_bytes + piece.nbytes <= self._memory_bytes:
            stored = np.ascontiguousarray(piece)
            self._held_bytes += piece.nbytes
        else:
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix=self._spill_prefix, dir=self._spill_root))
            stored = self._dir / f"{self._spilled}.npy"
            self._spilled += 1
            np.save(stored, piece)
            self._spill_bytes += piece.nbytes
            self.peak_spill_bytes = max(self.peak_spill_bytes, self._spill_bytes)
        self._pieces.setdefault(key, []).append((part, stored))

    def _emit_block(self, key: tuple[int, int], complete: bool) -> None:
        bw = self.block_window(key)
        out = np.empty((self.count, int(bw.height), int(bw.width)), self.dtype)
        if not complete:
            out[...] = self._fill
        for part, stored in self._pieces.pop(key):
            rows, cols = slices_in(part, bw)
            if isinstance(stored, Path):
                out[:, rows, cols] = np.load(stored)
                self._spill_bytes -= int(np.prod(out[:, rows, cols].shape)) * self.dtype.itemsize
                stored.unlink()
            else:
                out[:, rows, cols] = stored
                self._held_bytes -= stored.nbytes
        self._covered.pop(key, None)
        self._emit(bw, out)

    def close(self) -> None:
        """Drop every piece not emitted and the spill folder (also after a failure)."""
        self._pieces.clear()
        self._covered.clear()
        self._held_bytes = self._spill_bytes = 0
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
