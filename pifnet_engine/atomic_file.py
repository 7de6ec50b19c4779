"""Write a small file atomically: a reader (or a run after a crash) sees the old file or the new one, never part of one.

Used for every weights file, manifest, checkpoint and run record the engine and ``pifnet-train``
write (rasters have their own temporary-file protocol in :mod:`pifnet_engine.writer`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pifnet_engine.activity import doing


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` (str: UTF-8) to ``path`` through a temporary file in the same folder.

    The temporary file is flushed and fsynced before it replaces ``path`` (``os.replace``), and on
    POSIX the folder is fsynced after, so that a power cut cannot leave an empty file behind the
    new name. On any error (or Ctrl-C) the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    blob = data.encode("utf-8") if isinstance(data, str) else data
    with doing(f"writing '{path}'"):  # a failure names the file (a write's OSError names none)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            _permissions_of_a_new_file(fd)
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    _fsync_folder(path.parent)


def _permissions_of_a_new_file(fd: int) -> None:
    """mkstemp creates 0600; give the file what ``open(path, "w")`` would (0666 less the umask)."""
    if not hasattr(os, "fchmod"):
        return
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename itself is still atomic
    finally:
        os.close(fd)
