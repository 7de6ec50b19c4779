"""Whole output blocks from pieces, so that a compressed GeoTIFF gets each tile in one write.

The blender hands the writer complete *blend* blocks, which follow the fusion windows and their
seams, not the output file's 256 x 256 tiles. A compressed tile written in parts would be
decompressed, merged and compressed again, and the file would keep every earlier version of it
(GDAL appends a rewritten tile that grew). :class:`BlockAssembler` therefore collects the pieces
of each file block and hands the block on only when all its pixels have arrived. Pieces of
incomplete blocks are kept in memory up to ``memory_bytes`` and spilled to ``.npz`` files in a
private folder (``spill_prefix`` + random letters) beyond that (:mod:`pifnet_engine.spill`); a
block's pieces are dropped as soon as it is written, so the spill holds at most the blocks along
the seams still open (a band of tiles about one fusion window high), never the raster.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from rasterio.windows import Window

from pifnet_engine.geometry import grid_cell, grid_cells, slices_in
from pifnet_engine.spill import SpillStore

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
        self._store = SpillStore(spill_dir, spill_prefix, memory_bytes)
        self._pieces: dict[tuple[int, int], list[tuple[Window, int]]] = {}  # key -> [(part, token)]
        self._covered: dict[tuple[int, int], int] = {}

    @property
    def peak_spill_bytes(self) -> int:
        """Most bytes of pieces on disk at once."""
        return self._store.peak_disk_bytes

    def add(self, window: Window, raw: np.ndarray) -> None:
        """Add (count, h, w) ``raw`` at ``window`` (pixels of the raster, inside it, each pixel once)."""
        for key, cell in grid_cells(window, self.block, self.height, self.width):
            part = window.intersection(cell)
            rows, cols = slices_in(part, window)
            piece = raw[:, rows, cols]
            area, full = int(part.height) * int(part.width), int(cell.height) * int(cell.width)
            if area == full:  # the whole block at once
                self._emit(cell, piece)
                continue
            self._pieces.setdefault(key, []).append((part, self._store.put(piece)))
            self._covered[key] = self._covered.get(key, 0) + area
            if self._covered[key] == full:
                self._emit_block(key, complete=True)

    def finish(self) -> None:
        """Emit the blocks still incomplete, ``fill`` where no piece arrived."""
        for key in sorted(self._pieces):
            self._emit_block(key, complete=False)

    @property
    def pending_blocks(self) -> int:
        return len(self._pieces)

    def _emit_block(self, key: tuple[int, int], complete: bool) -> None:
        cell = grid_cell(key, self.block, self.height, self.width)
        out = np.empty((self.count, int(cell.height), int(cell.width)), self.dtype)
        if not complete:
            out[...] = self._fill
        for part, token in self._pieces.pop(key):
            rows, cols = slices_in(part, cell)
            (out[:, rows, cols],) = self._store.take(token)
        self._covered.pop(key, None)
        self._emit(cell, out)

    def close(self) -> None:
        """Drop every piece not emitted and the spill folder (also after a failure)."""
        self._pieces.clear()
        self._covered.clear()
        self._store.close()
