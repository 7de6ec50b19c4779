"""write_atomic: the old file or the new one, never part of one, and no temporary file left."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pifnet_engine import atomic_file
from pifnet_engine.atomic_file import write_atomic


def test_writes_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    write_atomic(target, "first\n")
    write_atomic(target, b"second\n")
    assert target.read_bytes() == b"second\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             failing: str) -> None:
    target = tmp_path / "weights.json"
    target.write_text("old\n")

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_file.os, failing, disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, "new\n" * 1000)
    monkeypatch.undo()
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.json"]


def test_file_size_limit_in_a_child_process(tmp_path: Path) -> None:
    """A real write failure (RLIMIT_FSIZE): the child gets the error, the old file stays whole."""
    import subprocess
    import sys

    target = tmp_path / "ckpt.json"
    target.write_text("old\n")
    code = ("import resource, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096)); "
            "from pifnet_engine.atomic_file import write_atomic; "
            f"write_atomic(__import__('pathlib').Path({str(target)!r}), b'x' * 100000)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ))
    assert out.returncode != 0 and "File too large" in out.stderr
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.json"]


def test_new_file_gets_the_permissions_of_an_ordinary_file(tmp_path: Path):
    """Not mkstemp's 0600: a report or a weights file must be readable like any file the user writes."""
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.json", "{}")
        os.umask(0o077)
        write_atomic(tmp_path / "b.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o600
