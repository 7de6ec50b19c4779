"""I/O failures at every stage of a fusion, provoked for real in a child process (issue 11).

Each test asserts what a user relies on: exit code 3 (or 1/2 for a refusal up front), one to three
lines naming the stage and the file, no traceback, no partial output or temporary file, and every
input and pre-existing file byte-identical. Stages: the statistics pass and a window read (a VRT
tile removed after the VRT was built), the compression of the finished raster (a file-size limit
above the raw temporary file but below the compressed copy with its overviews), the rename onto
the target (a folder made at the output path while fusing), and permissions (an unreadable input,
an unreadable weights file, a read-only output folder; a root child drops the capabilities that
would let it ignore them).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

from .child_process import digest, engine, fsize_child, one_clean_error, permissions_bind_us
from .scenes import make_pair, write_raster

REPO = Path(__file__).resolve().parents[2]
needs_permissions = pytest.mark.skipif(not permissions_bind_us(),
                                       reason="this process cannot give up root's permission bypass")


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "pifnet-tmp" in p.name)


def _msi_as_two_tile_vrt(msi: Path, folder: Path) -> tuple[Path, Path]:
    """The MSI as a VRT of its top and bottom halves; returns (vrt, bottom half file)."""
    with rasterio.open(msi) as ds:
        half = ds.height // 2
        parts = []
        for name, window in (("top", Window(0, 0, ds.width, half)),
                             ("bottom", Window(0, half, ds.width, ds.height - half))):
            path = folder / f"msi_{name}.tif"
            profile = dict(ds.profile, height=int(window.height), width=int(window.width),
                           transform=ds.window_transform(window))
            with rasterio.open(path, "w", **profile) as out:
                out.write(ds.read(window=window))
                for b in range(ds.count):
                    out.update_tags(b + 1, **ds.tags(b + 1))
                    out.set_band_description(b + 1, ds.descriptions[b])
            parts.append(path)
    vrt = folder / "msi.vrt"
    subprocess.run(["gdalbuildvrt", "-q", str(vrt), *map(str, parts)], check=True)
    return vrt, parts[1]


@pytest.mark.parametrize("method,stage", [("gsa", "for the statistics pass"), ("bicubic", "of the inputs")])
def test_a_tile_of_the_msi_vanishes_after_the_vrt_was_built(tmp_path: Path, method: str, stage: str):
    """GSA meets it in its statistics pass, bicubic (no statistics) when reading the windows below
    the top half: either way one line that names the stage and the missing file."""
    pair = make_pair(tmp_path, bands=12, fine=(192, 96))
    vrt, bottom = _msi_as_two_tile_vrt(pair.msi, tmp_path)
    bottom.unlink()
    before = digest(pair.hsi, vrt)
    out = tmp_path / "out" / "fused.tif"
    out.parent.mkdir()
    done = engine("fuse", str(pair.hsi), str(vrt), "-o", str(out), "--method", method, "--tile-size", "48",
                  "--no-report")
    assert done.returncode == 3, done.stderr
    line = one_clean_error(done.stderr)
    assert line.startswith("Error: GDAL failed while reading window") and stage in line, line
    assert "msi_bottom.tif" in line and "a file is missing" in line, line
    assert list(out.parent.iterdir()) == [] and digest(pair.hsi, vrt) == before


def test_a_file_size_limit_met_while_compressing_the_finished_raster(tmp_path: Path):
    """Every window was written (the raw temporary file fits the limit); the compressed copy with its
    overviews does not. Noise compresses badly, so the copy is larger than the raw file."""
    rng = np.random.default_rng(0)
    bands, fine, ratio = 8, 512, 4
    hsi = write_raster(tmp_path / "hsi.tif", rng.uniform(0.05, 0.6, (bands, fine // ratio, fine // ratio)),
                       Affine(40, 0, 360000, 0, -40, 5810000), wavelengths=list(np.linspace(450, 900, bands)),
                       dtype="float32")
    msi = write_raster(tmp_path / "msi.tif", rng.uniform(0.05, 0.6, (4, fine, fine)),
                       Affine(10, 0, 360000, 0, -10, 5810000), wavelengths=[490, 560, 665, 842], dtype="float32")
    free = tmp_path / "unlimited.tif"
    assert engine("fuse", str(hsi), str(msi), "-o", str(free), "--method", "bicubic", "--no-report").returncode == 0
    raw_bytes = bands * fine * fine * 4 + 65_536  # the uncompressed tiled temporary file, headers included
    final_bytes = free.stat().st_size
    assert final_bytes > raw_bytes + 100_000, (final_bytes, raw_bytes)  # the test's premise
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "fused.tif"
    done = engine("fuse", str(hsi), str(msi), "-o", str(out), "--method", "bicubic", "--no-report",
                  code=fsize_child((raw_bytes + final_bytes) // 2))
    assert done.returncode == 3, done.stderr
    line = one_clean_error(done.stderr)
    assert "while adding overviews to the compressed temporary file beside" in line or \
        "while compressing the output into a temporary file beside" in line, line
    assert str(out) in line and "a file-size limit was reached" in line, line
    assert list(out_dir.iterdir()) == []


def test_a_folder_made_at_the_output_path_while_fusing_stops_the_rename(tmp_path: Path):
    """With --overwrite the late check lets an existing output be replaced; a folder is not a file to
    replace: the rename fails, the folder and what it holds stay, nothing else is left."""
    pair = make_pair(tmp_path, bands=40, fine=(240, 240))
    out = tmp_path / "out.tif"
    proc = subprocess.Popen([sys.executable, "-m", "pifnet_engine", "fuse", str(pair.hsi), str(pair.msi), "-o",
                             str(out), "--method", "gsa", "--tile-size", "9", "--progress", "json", "--overwrite",
                             "--no-report"], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        event = json.loads(line)
        if event.get("stage") == "fuse":
            out.mkdir()
            (out / "notes.txt").write_text("someone else's\n")
            break
    lines += proc.stderr.readlines()
    assert proc.wait(timeout=300) == 3, lines
    error = json.loads(lines[-1])
    assert error["event"] == "error" and error["exit_code"] == 3
    assert error["message"].startswith("a folder is in the way while renaming the finished temporary file onto")
    assert (out / "notes.txt").read_text() == "someone else's\n"
    assert _temporaries(tmp_path) == [] and not (tmp_path / "out.qml").exists()


@needs_permissions
def test_an_unreadable_input(tmp_path: Path):
    pair = make_pair(tmp_path, bands=12, fine=(96, 96))
    before = digest(pair.hsi, pair.msi)
    pair.hsi.chmod(0)
    try:
        done = engine("fuse", str(pair.hsi), str(pair.msi), "-o", str(tmp_path / "o.tif"), "--method", "gsa",
                      without_root_powers=True)
    finally:
        pair.hsi.chmod(0o644)
    assert done.returncode == 2, done.stderr  # click's own check of the argument, before anything is opened
    line = one_clean_error(done.stderr)
    assert line == f"Error: Invalid value for 'HSI': File '{pair.hsi}' is not readable.", line
    assert not (tmp_path / "o.tif").exists() and digest(pair.hsi, pair.msi) == before


@needs_permissions
def test_an_unreadable_weights_file(tmp_path: Path):
    from pifnet_engine.demo import demo_paths

    paths = demo_paths()
    weights = REPO / "pifnet_engine" / "weights" / "enmap_s2_x3.safetensors"
    copy = tmp_path / "mine.safetensors"
    copy.write_bytes(weights.read_bytes())
    manifest = json.loads(weights.with_suffix(".json").read_text())
    manifest.update(name="mine", safetensors="mine.safetensors")
    (tmp_path / "mine.json").write_text(json.dumps(manifest))
    copy.chmod(0)
    try:
        done = engine("fuse", str(paths["hsi"]), str(paths["msi"]), "-o", str(tmp_path / "o.tif"), "--method",
                      "pifnet", "--weights", str(copy), "--no-report", without_root_powers=True)
    finally:
        copy.chmod(0o644)
    assert done.returncode == 3, done.stderr
    line = one_clean_error(done.stderr)
    assert "permission denied" in line and "mine.safetensors" in line, line
    assert not (tmp_path / "o.tif").exists() and digest(copy) == digest(weights)


@needs_permissions
def test_a_read_only_output_folder(tmp_path: Path):
    pair = make_pair(tmp_path, bands=12, fine=(96, 96))
    folder = tmp_path / "readonly"
    folder.mkdir()
    (folder / "kept.tif").write_bytes(b"the user's file")
    folder.chmod(0o555)
    try:
        done = engine("fuse", str(pair.hsi), str(pair.msi), "-o", str(folder / "kept.tif"), "--overwrite",
                      "--method", "gsa", without_root_powers=True)
    finally:
        folder.chmod(0o755)
    assert done.returncode == 2, done.stderr
    line = one_clean_error(done.stderr)
    assert "is not writable" in line and str(folder) in line, line
    assert sorted(p.name for p in folder.iterdir()) == ["kept.tif"]
    assert (folder / "kept.tif").read_bytes() == b"the user's file"
