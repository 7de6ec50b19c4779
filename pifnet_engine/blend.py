"""Accumulating weighted tile outputs block by block, with bounded memory.

A block of the output that only one tile covers is complete as soon as that tile is fused. A
seam block (covered by 2 or 4 tiles) waits for its other tiles; meanwhile its partial weighted
sum is spilled to a temporary ``.npz`` file (:mod:`pifnet_engine.spill`), so memory never depends on
the scene's size (or, for an in-memory target without a folder, kept in memory). :func:`contribute` cuts a fused tile into
its blocks and hands the complete ones to the target (a :class:`WindowSink`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
from rasterio.windows import Window

from pifnet_engine.geometry import slices_in
from pifnet_engine.spill import SpillStore
from pifnet_engine.tiling import Tile, TileLayout


class WindowSink(Protocol):
    """Where blended blocks go: the output file (:class:`~pifnet_engine.writer.OutputTarget`) or an
    array (:class:`~pifnet_engine.writer.ArrayTarget`)."""

    #: Folder for the seam spill files, None to keep them in memory.
    @property
    def work_dir(self) -> Path | None: ...

    #: Name prefix of the seam spill folder in ``work_dir``.
    @property
    def spill_prefix(self) -> str: ...

    def write(self, window: Window, values: np.ndarray, valid: np.ndarray) -> None:
        """(C, h, w) float32 physical values and (h, w) validity at ``window`` (output pixels)."""


class BlendAccumulator:
    """Sums weighted contributions per output block; yields blocks when all tiles have added.

    Arrays: ``values`` (C, h, w) float32 already multiplied by the weights; ``valid`` (h, w) bool.
    Partial sums wait in a :class:`~pifnet_engine.spill.SpillStore`: on disk in ``spill_dir``
    (a folder ``prefix`` + random letters), or in memory without one.
    """

    def __init__(self, spill_dir: Path | None, prefix: str = ".pifnet-blend-") -> None:
        self._store = SpillStore(spill_dir, prefix, memory_bytes=0)
        self._pending: dict[tuple[int, int], tuple[int, int]] = {}  # key -> (contributions seen, token)

    def add(self, key: tuple[int, int], window: Window, expected: int, values: np.ndarray,
            valid: np.ndarray) -> Iterator[tuple[Window, np.ndarray, np.ndarray]]:
        """Add one contribution; yield ``(window, values, valid)`` when the block is complete."""
        if expected == 1:
            yield window, values, valid
            return
        seen, token = self._pending.pop(key, (0, -1))
        if seen:
            saved_values, saved_valid = self._store.take(token)
            values = values + saved_values
            valid = valid & saved_valid
        if seen + 1 == expected:
            yield window, values, valid
        else:
            self._pending[key] = (seen + 1, self._store.put(values, valid))

    @property
    def pending(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        self._pending.clear()
        self._store.close()


def contribute(layout: TileLayout, tile: Tile, valid: np.ndarray, z: np.ndarray, acc: BlendAccumulator,
               target: WindowSink) -> None:
    """Weight the fused tile ``z`` (C, H, W over ``tile.read``; ``valid`` (H, W)) over its contribution
    area and hand the blocks it completes to ``target``."""
    rows, cols = slices_in(tile.contrib, tile.read)
    values = z[:, rows, cols] * layout.weights(tile)[None]
    ok = valid[rows, cols]
    frames = layout.plan.frames
    for key, bw, expected in layout.blocks_of(tile):
        brows, bcols = slices_in(bw, tile.contrib)
        for win, vals, v in acc.add(key, bw, expected, values[:, brows, bcols], ok[brows, bcols]):
            target.write(frames.output_of(win), vals, v)
