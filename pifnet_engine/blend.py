"""Accumulating weighted tile outputs block by block, with bounded memory.

A block of the output that only one tile covers is complete as soon as that tile is fused. A
seam block (covered by 2 or 4 tiles) waits for its other tiles; meanwhile its partial weighted
sum is spilled to a temporary ``.npy`` file, so memory never depends on the scene's size.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from rasterio.windows import Window


class BlendAccumulator:
    """Sums weighted contributions per output block; yields blocks when all tiles have added.

    Arrays: ``values`` (C, h, w) float32 already multiplied by the weights; ``valid`` (h, w) bool.
    """

    def __init__(self, spill_dir: Path) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix=".pifnet-blend-", dir=spill_dir))
        self._pending: dict[tuple[int, int], int] = {}

    def add(self, key: tuple[int, int], window: Window, expected: int, values: np.ndarray,
            valid: np.ndarray) -> Iterator[tuple[Window, np.ndarray, np.ndarray]]:
        """Add one contribution; yield ``(window, values, valid)`` when the block is complete."""
        if expected == 1:
            yield window, values, valid
            return
        seen = self._pending.get(key, 0)
        path = self._dir / f"{key[0]}_{key[1]}.npz"
        if seen:
            with np.load(path) as saved:
                values = values + saved["values"]
                valid = valid & saved["valid"]
        if seen + 1 == expected:
            self._pending.pop(key, None)
            path.unlink(missing_ok=True)
            yield window, values, valid
        else:
            self._pending[key] = seen + 1
            np.savez(path, values=values, valid=valid)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        for f in self._dir.glob("*.npz"):
            f.unlink(missing_ok=True)
        self._dir.rmdir()
