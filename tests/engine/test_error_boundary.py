"""The CLI's error boundary: failures the engine does not expect become one line, a documented exit
code, no traceback, no partial file, and the inputs untouched (issue 11)."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from pifnet_engine import pipeline
from pifnet_engine.cli.boundary import classify
from pifnet_engine.cli.main import cli

from .child_process import digest, engine, fsize_child, one_clean_error
from .scenes import make_pair


def test_file_size_limit_while_writing_is_one_line_exit_3_and_leaves_nothing(tmp_path: Path):
    """A real write failure: RLIMIT_FSIZE in the child (what a full disk or quota does to GDAL)."""
    pair = make_pair(tmp_path, bands=12, fine=(96, 96))
    before = digest(pair.hsi, pair.msi)
    out = tmp_path / "out" / "fused.tif"
    out.parent.mkdir()
    done = engine("fuse", str(pair.hsi), str(pair.msi), "-o", str(out), "--method", "bicubic",
                   code=fsize_child(100_000))
    assert done.returncode == 3
    line = one_clean_error(done.stderr)
    assert line.startswith("Error: ") and "while writing window 1 of 1" in line and "file-size limit" in line
    assert list(out.parent.iterdir()) == []  # no partial output, no temporary file
    assert digest(pair.hsi, pair.msi) == before


def test_vrt_pointing_at_a_removed_file_is_one_line(tmp_path: Path):
    pair = make_pair(tmp_path, bands=12, fine=(96, 96))
    moved = tmp_path / "hsi_moved.tif"
    moved.write_bytes(pair.hsi.read_bytes())
    vrt = tmp_path / "hsi.vrt"
    subprocess.run(["gdalbuildvrt", "-q", str(vrt), str(moved)], check=True)
    moved.unlink()
    out = tmp_path / "out.tif"
    done = engine("fuse", str(vrt), str(pair.msi), "-o", str(out), "--method", "gsa")
    assert done.returncode in (1, 3), done.stderr
    line = one_clean_error(done.stderr)
    assert "hsi_moved.tif" in line or "missing" in line
    assert not out.exists() and not [p for p in tmp_path.iterdir() if "pifnet-tmp" in p.name]


def test_sigkill_leaves_temporaries_that_the_next_run_ignores(tmp_path: Path):
    pair = make_pair(tmp_path, bands=40, fine=(240, 240))
    out = tmp_path / "out.tif"
    proc = subprocess.Popen([sys.executable, "-m", "pifnet_engine", "fuse", str(pair.hsi), str(pair.msi), "-o",
                             str(out), "--method", "gsa", "--tile-size", "9", "--progress", "json"],
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        event = json.loads(line)
        if event.get("stage") == "fuse" and event["windows_done"] >= 3:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    stale = sorted(p.name for p in tmp_path.iterdir() if "pifnet-tmp" in p.name)
    assert stale and not out.exists()  # SIGKILL cannot clean up
    done = engine("fuse", str(pair.hsi), str(pair.msi), "-o", str(out), "--method", "gsa", "--no-report")
    assert done.returncode == 0, done.stderr
    assert out.exists() and sorted(p.name for p in tmp_path.iterdir() if "pifnet-tmp" in p.name) == stale


def test_two_processes_writing_the_same_output(tmp_path: Path):
    """Exactly one wins; the other is refused (exists, or appeared while fusing); the result is whole."""
    pair = make_pair(tmp_path, bands=20, fine=(180, 180))
    out = tmp_path / "out.tif"
    argv = [sys.executable, "-m", "pifnet_engine", "fuse", str(pair.hsi), str(pair.msi), "-o", str(out),
            "--method", "gsa", "--tile-size", "30", "--no-report"]
    procs = [subprocess.Popen(argv, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    assert sorted(code for code, _ in results) == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert "already exists" in one_clean_error(loser) or "appeared while fusing" in loser
    import rasterio
    with rasterio.open(out) as ds:
        assert ds.read().shape[0] == 20
    assert not [p for p in tmp_path.iterdir() if "pifnet-tmp" in p.name]


@pytest.mark.parametrize("raised,code,words", [
    (MemoryError(), 4, "the machine ran out of memory while fusing window 1 of 1"),
    (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), 4, "the GPU ran out of memory"),
    (ZeroDivisionError("division by zero"), 70, "internal error while fusing window 1 of 1"),
    (OSError(errno.ENOSPC, "No space left on device", "/data/out.tif"), 3, "no space left on the device"),
])
def test_unexpected_failures_through_click_are_classified(tmp_path: Path, monkeypatch, raised, code, words):
    """Seen through click's CliRunner, as a user sees them: exit code, one line, no traceback."""
    pair = make_pair(tmp_path, bands=12, fine=(96, 96))

    def broken(job, hsi, msi):
        raise raised
    monkeypatch.setattr(pipeline, "_fuse_batch", broken)
    result = CliRunner().invoke(cli, ["fuse", str(pair.hsi), str(pair.msi), "-o", str(tmp_path / "o.tif"),
                                      "--method", "bicubic", "--no-report"])
    assert result.exit_code == code
    assert words in result.output and "Traceback" not in result.output and result.output.count("\n") == 1
    assert not (tmp_path / "o.tif").exists()
    debug = CliRunner().invoke(cli, ["--debug", "fuse", str(pair.hsi), str(pair.msi), "-o",
                                     str(tmp_path / "o.tif"), "--method", "bicubic", "--no-report"])
    assert debug.exception is raised  # --debug: the original exception, traceback and all


def test_classify_names_the_cause():
    e = classify(OSError(errno.EACCES, "Permission denied", "/ro/out.tif"))
    assert e.exit_code == 3 and "permission denied" in str(e) and "/ro/out.tif" in str(e)
    e = classify(OSError(errno.ENOENT, "No such file or directory", "gone.tif"))
    assert e.exit_code == 3 and "missing" in str(e)
    assert classify(RuntimeError("boom")).exit_code == 70


def test_a_temporary_file_that_cannot_be_read_back_points_at_the_disk():
    """Seen with a file-size limit just above the compressed copy: adding the overviews then fails to
    read the copy back, with no word of the write that was cut short."""
    import rasterio.errors

    from pifnet_engine.activity import doing
    try:
        with doing("adding overviews to the compressed temporary file beside '/data/out.tif'"):
            raise rasterio.errors.RasterioIOError("IReadBlock failed at X offset 0, Y offset 0: "
                                                  "TIFFReadEncodedTile() failed.")
    except rasterio.errors.RasterioIOError as exc:
        e = classify(exc, "/data/out.tif")
    assert e.exit_code == 3 and "could not be read back, so writing it was probably cut short" in str(e)
    assert "file-size limit or quota" in str(e)


def test_debug_env_var_shows_the_traceback(tmp_path: Path):
    env = dict(os.environ, PIFNET_DEBUG="1")
    code = ("import sys; from pifnet_engine import pipeline\n"
            "def broken(*a): raise ZeroDivisionError('x')\n"
            "pipeline._fuse_batch = broken\n"
            "from pifnet_engine.cli.main import main; main(sys.argv[1:])")
    pair = make_pair(tmp_path, bands=12, fine=(96, 96))
    done = subprocess.run([sys.executable, "-c", code, "fuse", str(pair.hsi), str(pair.msi), "-o",
                           str(tmp_path / "o.tif"), "--method", "bicubic", "--no-report"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode != 0 and "Traceback" in done.stderr and "ZeroDivisionError" in done.stderr
    assert not (tmp_path / "o.tif").exists()
