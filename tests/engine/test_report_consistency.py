"""The report's consistency numbers, QNR and reduced-resolution check on pairs with a known truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from pifnet_engine.metrics import ergas, psnr, sam
from pifnet_engine.pipeline import open_pair
from pifnet_engine.raster.source import RasterSource
from pifnet_engine.report import region as region_module
from pifnet_engine.report.band_errors import BandErrors
from pifnet_engine.report.build import ReportRequest, build_report
from pifnet_engine.report.consistency import check_consistency
from pifnet_engine.simulate import degrade_centred

from .cli_runner import fuse
from .report_scenes import misaligned_pair, write_truth_as_fused
from .scenes import make_pair

DEMO = Path(__file__).resolve().parents[2] / "pifnet_engine" / "demo"


@pytest.mark.parametrize("make", [make_pair, misaligned_pair], ids=["aligned", "output-inside-an-hsi-pixel"])
def test_perfect_fusion_is_consistent(tmp_path: Path, make):
    """The ground truth as the "fused" raster: spatial and spectral consistency at their ideal values
    (PSNR inf, SAM 0, ERGAS 0) up to float32 round-off: PSNR >= 120 dB, SAM < 1e-4 deg, ERGAS < 1e-4."""
    pair = make(tmp_path)
    fused = write_truth_as_fused(pair, tmp_path / "truth.tif")
    data = build_report(ReportRequest(fused, pair.hsi, pair.msi, wald=False)).data
    for key in ("spatial_consistency", "spectral_consistency"):
        d = data[key]
        assert d["psnr_db"] >= 120 and d["sam_deg"] < 1e-4 and d["ergas"] < 1e-4, (key, d)
    assert data["estimated_responses"]["r2"] == pytest.approx([1.0] * 4, abs=1e-9)
    if make is misaligned_pair:  # the first partial HSI row and column are left out
        assert data["grid"]["checked_hsi_px"] == [1, 1, 31, 39]


def test_streaming_in_chunks_equals_the_whole_image(tmp_path: Path, monkeypatch):
    """Small chunks (8 HSI px) and one chunk give the same numbers, and the spatial consistency equals
    the full-reference metrics of the degraded fused image against the HSI, computed on whole arrays."""
    pair = make_pair(tmp_path)
    out = fuse(pair.hsi, pair.msi, tmp_path / "gsa.tif", "--method", "gsa")

    def run() -> object:
        with open_pair(pair.hsi, pair.msi) as p, rasterio.open(out) as ds:
            return check_consistency(p.plan, p.hsi, p.msi, RasterSource(ds, role="fused"))

    whole = run()
    monkeypatch.setattr(region_module, "CHUNK_MSI_PX", 24)
    small = run()
    for key in ("psnr_db", "sam_deg", "ergas"):
        assert small.spatial[key] == pytest.approx(whole.spatial[key], rel=1e-9)
        # The responses come from moments summed in another order, and this synthetic HSI spans only
        # five spectra, so the NNLS solution is not unique: round-off picks another one of equal fit.
        assert small.spectral[key] == pytest.approx(whole.spectral[key], rel=1e-4)
    for key in ("d_lambda", "d_s", "qnr"):
        assert small.qnr[key] == pytest.approx(whole.qnr[key], rel=1e-9)
    with rasterio.open(out) as ds, rasterio.open(pair.hsi) as h:
        low, ref = degrade_centred(ds.read().astype(np.float64), 3), h.read().astype(np.float64)
    # (the report degrades the float32 raster in float32; here in float64)
    assert whole.spatial["psnr_db"] == pytest.approx(psnr(ref, low), rel=1e-6)
    assert whole.spatial["sam_deg"] == pytest.approx(sam(ref, low), rel=1e-6)
    assert whole.spatial["ergas"] == pytest.approx(ergas(ref, low, 3), rel=1e-6)


def test_band_errors_accumulate_like_the_metrics():
    rng = np.random.default_rng(3)
    x, y = rng.random((5, 20, 30)) + 0.1, rng.random((5, 20, 30)) + 0.1
    acc = BandErrors(5)
    acc.add(x[:, :7], y[:, :7], np.ones((7, 30), bool))
    acc.add(x[:, 7:], y[:, 7:], np.ones((13, 30), bool))
    got = acc.result(4)
    assert got["psnr_db"] == pytest.approx(psnr(x, y)) and got["sam_deg"] == pytest.approx(sam(x, y))
    assert got["ergas"] == pytest.approx(ergas(x, y, 4)) and got["pixels"] == 600


def test_bicubic_reports_worse_than_gsa(tmp_path: Path):
    """A deliberately bad fusion (bicubic) against GSA on the indices that see the missing detail:
    spectral consistency (PSNR, SAM, ERGAS), D_S and QNR on the bundled demo pair (real EnMAP
    texture), and the reduced-resolution check on a synthetic pair large enough for GSA at reduced
    resolution (the demo's 7 x 7 reduced HSI has fewer pixels than bands). Spatial consistency and
    D_lambda are not among them: an interpolation keeps the footprint means and the relations
    between bands by construction, so it scores well there (see docs/report.md)."""
    reports = {}
    for method in ("gsa", "bicubic"):
        fuse(DEMO / "hsi_enmap_90m.tif", DEMO / "msi_s2_30m.tif", tmp_path / f"{method}.tif", "--method", method,
             "--no-report-wald", report=True)
        reports[method] = json.loads((tmp_path / f"{method}.report.json").read_text())
    g, b = reports["gsa"], reports["bicubic"]
    gs, bs = g["spectral_consistency"], b["spectral_consistency"]
    assert gs["psnr_db"] > bs["psnr_db"] and gs["sam_deg"] < bs["sam_deg"] and gs["ergas"] < bs["ergas"]
    assert g["qnr"]["d_s"] < b["qnr"]["d_s"] and g["qnr"]["qnr"] > b["qnr"]["qnr"]

    pair = make_pair(tmp_path, fine=(144, 144), seed=4)
    fuse(pair.hsi, pair.msi, tmp_path / "syn.tif", "--method", "gsa", report=True)
    wald = json.loads((tmp_path / "syn.report.json").read_text())["reduced_resolution"]["methods"]
    assert set(wald) == {"gsa", "bicubic"}
    assert wald["gsa"]["psnr_db"] > wald["bicubic"]["psnr_db"] and wald["gsa"]["sam_deg"] < wald["bicubic"]["sam_deg"]
    assert wald["gsa"]["ergas"] < wald["bicubic"]["ergas"]
