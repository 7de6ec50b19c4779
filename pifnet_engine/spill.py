"""Arrays set aside until later in a run, in memory up to a budget and in files beyond it.

The blender keeps the partial sums of seam blocks and the writer the pieces of output tiles not
yet complete (:mod:`pifnet_engine.blend`, :mod:`pifnet_engine.raster.block_assembly`); both put
them here. Files go into a private folder made (on the first spill) beside the output, named with
the output's temporary prefix so that a killed run's folder is recognisable; :meth:`SpillStore.close`
removes it, also after a failure.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

#: No limit on the bytes held in memory.
UNLIMITED = -1


class SpillStore:
    """``put`` a tuple of arrays, get a token; ``take`` it back once (then it is gone).

    ``folder`` None keeps everything in memory; else at most ``memory_bytes`` are held in memory
    (0: everything goes to ``.npz`` files in a folder ``prefix`` + random letters in ``folder``).
    """

    def __init__(self, folder: Path | None, prefix: str, memory_bytes: int) -> None:
        self._root, self._prefix = folder, prefix
        self._memory_bytes = UNLIMITED if folder is None else memory_bytes
        self._dir: Path | None = None
        self._held: dict[int, tuple[np.ndarray, ...]] = {}
        self._files: dict[int, tuple[Path, int]] = {}
        self._next = 0
        self._held_bytes = self._disk_bytes = 0
        #: Most bytes on disk at once.
        self.peak_disk_bytes = 0

    def put(self, *arrays: np.ndarray) -> int:
        token, self._next = self._next, self._next + 1
        size = sum(a.nbytes for a in arrays)
        if self._memory_bytes == UNLIMITED or self._held_bytes + size <= self._memory_bytes:
            self._held[token] = tuple(np.ascontiguousarray(a) for a in arrays)
            self._held_bytes += size
            return token
        if self._dir is None:
            assert self._root is not None
            self._dir = Path(tempfile.mkdtemp(prefix=self._prefix, dir=self._root))
        path = self._dir / f"{token}.npz"
        np.savez(path, *arrays)
        self._files[token] = (path, size)
        self._disk_bytes += size
        self.peak_disk_bytes = max(self.peak_disk_bytes, self._disk_bytes)
        return token

    def take(self, token: int) -> tuple[np.ndarray, ...]:
        if token in self._held:
            arrays = self._held.pop(token)
            self._held_bytes -= sum(a.nbytes for a in arrays)
            return arrays
        path, size = self._files.pop(token)
        with np.load(path) as saved:
            arrays = tuple(saved[f"arr_{i}"] for i in range(len(saved.files)))
        path.unlink()
        self._disk_bytes -= size
        return arrays

    def close(self) -> None:
        """Drop everything not taken, and the folder."""
        self._held.clear()
        self._files.clear()
        self._held_bytes = self._disk_bytes = 0
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
