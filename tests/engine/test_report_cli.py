"""``fuse`` writes the report beside the raster; ``pifnet-engine report``; refusals and failures."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image

from pifnet_engine.cli.main import main
from pifnet_engine.errors import InputDataError

from .cli_runner import fuse, run
from .scenes import make_pair, write_raster

DEMO = Path(__file__).resolve().parents[2] / "pifnet_engine" / "demo"
HSI, MSI = DEMO / "hsi_enmap_90m.tif", DEMO / "msi_s2_30m.tif"
REPORT_FILES = ("out.report.json", "out.report.html", "out.quicklook.png")


def _run_out(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def _strict_json(path: Path) -> dict:
    def refuse(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name} in {path}")
    return json.loads(path.read_text(), parse_constant=refuse)


def test_fuse_writes_report_html_json_and_quicklook(tmp_path: Path):
    code, out, err = _run_out(["fuse", str(HSI), str(MSI), "-o", str(tmp_path / "out.tif"), "--method", "gsa",
                               "--msi-srf", "sentinel2a", "--progress", "none"])
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out.") and p.suffix != ".qml") == \
        sorted(["out.tif", *REPORT_FILES])
    assert f"report: {tmp_path / 'out.report.html'}" in out and f"quicklook: {tmp_path / 'out.quicklook.png'}" in out
    assert "spatial consistency" in out and "QNR" in out
    data = _strict_json(tmp_path / "out.report.json")
    assert data["fused"]["method"] == "gsa" and data["responses_used"]["source"] == "preset sentinel2a"
    assert data["estimated_responses"]["source"] == "estimated"
    with rasterio.open(HSI) as ds:
        assert data["inputs"]["hsi"]["sha256"] == __import__("hashlib").sha256(HSI.read_bytes()).hexdigest()
        assert data["inputs"]["hsi"]["bands"] == ds.count
    html = (tmp_path / "out.report.html").read_text()
    assert "data:image/png;base64," in html and "<svg" in html
    loads = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)|url\(([^)]+)\)|@import""", html)
    assert all(not any(v.startswith(("http:", "https:", "//")) for v in m) for m in loads), loads  # no network
    with Image.open(tmp_path / "out.quicklook.png") as im:
        assert im.format == "PNG" and im.width <= 1600 and im.height <= 1000


def test_existing_report_files_are_refused_and_nothing_is_written(tmp_path: Path):
    (tmp_path / "out.report.html").write_text("the analyst's notes")
    code, err = run(["fuse", str(HSI), str(MSI), "-o", str(tmp_path / "out.tif"), "--progress", "none"], report=True)
    assert code == 2 and "out.report.html' already exists" in err and "--overwrite" in err and "--no-report" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.report.html"]
    assert (tmp_path / "out.report.html").read_text() == "the analyst's notes"


def test_no_report_with_overwrite_removes_an_older_report(tmp_path: Path):
    fuse(HSI, MSI, tmp_path / "out.tif", "--method", "bicubic", "--no-report-wald", report=True)
    assert (tmp_path / "out.report.json").exists()
    fuse(HSI, MSI, tmp_path / "out.tif", "--method", "bicubic", "--overwrite")  # --no-report
    assert not any((tmp_path / n).exists() for n in REPORT_FILES)


def test_bad_msi_srf_is_refused_before_fusing(tmp_path: Path):
    code, err = run(["fuse", str(HSI), str(MSI), "-o", str(tmp_path / "out.tif"), "--msi-srf", "sentinel9",
                     "--progress", "none"], report=True)
    assert code == 1 and "unknown sensor 'sentinel9'" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_report_command_reproduces_the_fuse_report_and_refuses_a_foreign_raster(tmp_path: Path):
    fuse(HSI, MSI, tmp_path / "out.tif", "--method", "gsa", "--no-report-wald", report=True)
    first = _strict_json(tmp_path / "out.report.json")
    code, out, err = _run_out(["report", str(tmp_path / "out.tif"), str(HSI), str(MSI), "-o",
                               str(tmp_path / "again.tif"), "--no-report-wald"])
    assert code == 0, err
    again = _strict_json(tmp_path / "again.report.json")
    for key in ("spatial_consistency", "spectral_consistency", "qnr", "estimated_responses"):
        assert again[key] == first[key]
    code, err = run(["report", str(tmp_path / "out.tif"), str(HSI), str(MSI), "--no-report-wald"])
    assert code == 2 and "already exists" in err
    other = write_raster(tmp_path / "other.tif", np.ones((3, 10, 10), np.float32), rasterio.Affine(30, 0, 0, 0, -30, 0))
    code, err = run(["report", str(other), str(HSI), str(MSI), "-o", str(tmp_path / "x.tif")])
    assert code == 1 and "not on this pair's output grid" in err and err.count("\n") == 1
    assert not (tmp_path / "x.report.json").exists()


def test_json_progress_reports_the_files_and_a_failed_report_keeps_the_raster(tmp_path: Path, monkeypatch):
    pair = make_pair(tmp_path)
    code, _, err = _run_out(["fuse", str(pair.hsi), str(pair.msi), "-o", str(tmp_path / "out.tif"),
                             "--progress", "json"])
    assert code == 0
    events = [json.loads(line) for line in err.splitlines()]
    assert "report" in {e.get("stage") for e in events}
    done = events[-1]
    assert done["event"] == "done" and done["files"]["report"] == str(tmp_path / "out.report.html")
    assert "spatial consistency" in done["summary"]

    import pifnet_engine.report.build as report_pkg

    def no_block(request, progress=None):
        raise InputDataError("no whole HSI pixel lies inside the fused output")
    monkeypatch.setattr(report_pkg, "build_report", no_block)
    code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(tmp_path / "b.tif"), "--progress", "none"], report=True)
    assert code == 0 and err.startswith("Warning: no quality report: the fused raster") and "pifnet-engine report" in err
    assert (tmp_path / "b.tif").exists() and not (tmp_path / "b.report.json").exists()

    def disk_full(request, progress=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "c.report.html"))
    monkeypatch.setattr(report_pkg, "build_report", disk_full)
    code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(tmp_path / "c.tif"), "--progress", "none"], report=True)
    assert code == 3 and "no space left" in err and "the raster itself is complete" in err and err.count("\n") == 1
    with rasterio.open(tmp_path / "c.tif") as ds:  # complete, readable
        assert np.isfinite(ds.read()).any()
    assert not (tmp_path / "c.report.json").exists()


@pytest.mark.parametrize("wald", [True, False])
def test_wald_switch(tmp_path: Path, wald: bool):
    pair = make_pair(tmp_path)
    fuse(pair.hsi, pair.msi, tmp_path / "out.tif", *([] if wald else ["--no-report-wald"]), report=True)
    rr = _strict_json(tmp_path / "out.report.json")["reduced_resolution"]
    assert ("methods" in rr) == wald and ("skipped" in rr) == (not wald)


def test_sigterm_while_the_report_is_made_keeps_the_complete_raster(tmp_path: Path):
    import signal
    import subprocess
    import sys

    pair = make_pair(tmp_path, bands=12, fine=(144, 144))
    out = tmp_path / "out.tif"
    proc = subprocess.Popen([sys.executable, "-m", "pifnet_engine", "fuse", str(pair.hsi), str(pair.msi), "-o",
                             str(out), "--method", "gsa", "--progress", "json"], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if json.loads(line).get("stage") == "report":
            break
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 143
    last = json.loads(rest.strip().splitlines()[-1])
    assert last["event"] == "error" and "while making the quality report" in last["message"]
    assert "the raster is complete and kept" in last["message"] and "nothing was written" not in last["message"]
    with rasterio.open(out) as ds:
        assert np.isfinite(ds.read()).any()
    assert not any(p.name.startswith("out.report") or "pifnet-tmp" in p.name for p in tmp_path.iterdir())


def test_the_report_checks_pifnet_with_a_weights_file_that_no_bundled_name_finds(tmp_path: Path):
    """Weights fitted by an analyst are a file whose manifest name is not bundled: fuse's report
    re-runs them from the file given; `report` needs them with --weights and says so without."""
    from pifnet_engine.methods.pifnet import resolve_weights
    from pifnet_engine.model.weights import load_weights, save_weights

    model, manifest = load_weights(resolve_weights("enmap_s2_x3"))
    extra = {k: manifest[k] for k in ("hsi", "msi", "normalisation", "training")}
    save_weights(tmp_path / "mine", model, {**extra, "name": "mine"})
    weights = tmp_path / "mine.safetensors"
    fuse(HSI, MSI, tmp_path / "out.tif", "--method", "pifnet", "--weights", str(weights), report=True)
    first = _strict_json(tmp_path / "out.report.json")["reduced_resolution"]["methods"]["pifnet"]
    assert first.get("psnr_db") is not None, first
    # Without --weights the name in the raster's tags finds nothing: the check says why and how to fix it.
    code, _, err = _run_out(["report", str(tmp_path / "out.tif"), str(HSI), str(MSI), "-o", str(tmp_path / "a.tif")])
    assert code == 0, err
    missing = _strict_json(tmp_path / "a.report.json")["reduced_resolution"]["methods"]["pifnet"]
    assert "'mine' is neither a file nor a bundled weights name" in missing["unavailable"]
    code, _, err = _run_out(["report", str(tmp_path / "out.tif"), str(HSI), str(MSI), "-o", str(tmp_path / "b.tif"),
                             "--weights", str(weights)])
    assert code == 0, err
    again = _strict_json(tmp_path / "b.report.json")["reduced_resolution"]["methods"]["pifnet"]
    assert again["psnr_db"] == first["psnr_db"] and again["sam_deg"] == first["sam_deg"]
