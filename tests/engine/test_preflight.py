"""Jobs that cannot fit in memory or on disk are refused before the first window (issue 11)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pifnet_engine import preflight
from pifnet_engine.errors import UsageError

from .cli_runner import run
from .scenes import make_pair


def test_memory_estimate_and_the_tile_size_it_suggests():
    with pytest.raises(UsageError, match=r"needs ~61.5 GB of memory, but 16.0 GB are available; use --tile-size (\d+) or less") as e:
        preflight.check_memory(8192 + 96, 96, 224, 1, 4, 16_000_000_000)
    tile = int(e.value.args[0].split("--tile-size ")[1].split()[0])
    preflight.check_memory(tile + 96, 96, 224, 1, 4, 16_000_000_000)  # the suggestion fits
    preflight.check_memory(1024, 96, 224, 1, 4, None)  # unknown memory: no check


def test_fuse_refuses_a_tile_too_large_for_the_memory_and_the_suggestion_works(tmp_path: Path, monkeypatch):
    pair = make_pair(tmp_path, bands=12, fine=(240, 240))
    monkeypatch.setattr(preflight, "available_memory_bytes", lambda: 8_000_000)
    out = tmp_path / "out.tif"
    code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(out), "--tile-size", "240", "--no-report"])
    assert code == 2 and "of memory, but 8 MB are available; use --tile-size" in err and not out.exists()
    tile = err.split("--tile-size ")[1].split()[0]
    code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(out), "--tile-size", tile, "--no-report"])
    assert code == 0, err


def test_output_that_cannot_fit_on_the_disk_is_refused_with_both_sizes(tmp_path: Path, monkeypatch):
    """96 x 96 px x 12 float32 bands: 442 kB uncompressed, 590 kB with overviews."""
    pair = make_pair(tmp_path, bands=12, fine=(96, 96))
    real = shutil.disk_usage

    def free(n: int) -> None:
        monkeypatch.setattr(preflight.shutil, "disk_usage", lambda p: real(p)._replace(free=n))
    out = tmp_path / "out.tif"
    argv = ["fuse", str(pair.hsi), str(pair.msi), "-o", str(out), "--no-report"]
    # A GeoTIFF is written compressed: refused only below a quarter of the uncompressed size ...
    free(100_000)
    code, err = run(argv)
    assert code == 2 and "takes ~0 MB uncompressed" in err and "0 MB free" in err and "compressed 4:1" in err
    assert "96 x 96 px x 12 bands" in err and not out.exists()
    # ... and warned below the uncompressed size with overviews
    free(500_000)
    code, err = run(argv)
    assert code == 0 and "Warning: only 0 MB are free" in err and "compressed it is usually smaller" in err
    out.unlink()
    out.with_suffix(".qml").unlink()
    # A COG is first written uncompressed: refused below that size, warned below twice it
    free(200_000)
    code, err = run([*argv, "--cog"])
    assert code == 2 and "needs ~" in err and "but only 0 MB are free" in err and not out.exists()
    assert "96 x 96 px x 12 bands" in err
    free(600_000)
    code, err = run([*argv, "--cog"])
    assert code == 0 and "Warning: only 1 MB are free" in err and "compressed copy may not" in err
