"""Whether two paths name one file, and whether a file changed during a run. Pure Python."""

from __future__ import annotations

import os

#: (mtime in ns, size in bytes) of a file.
FileState = tuple[int, int]


def file_state(path: str) -> FileState | None:
    """(mtime in ns, size in bytes) of ``path``, or None when it does not exist."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def same_file(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` name the same file (existing or not)."""
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))
