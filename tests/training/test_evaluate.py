"""Evaluation: PIF-Net, GSA and bicubic fused through the engine's pipeline, scored on [0, 1] data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pifnet_engine.arrays import fuse_arrays
from pifnet_engine.methods.pifnet import PIFNetMethod
from pifnet_engine.metrics import all_metrics
from pifnet_engine.model import PIFNet, PIFNetConfig
from pifnet_engine.model.weights import save_weights
from training.evaluate import evaluate_scenes, scene_inputs, write_report
from training.pairs import simulate_scene
from training.scenes.cave import CAVE_WAVELENGTHS_NM
from training.scenes.scene import Scene

from .train_fixtures import smooth_cube


def _sim(valid: np.ndarray | None = None, protocol: str = "paper"):  # type: ignore[no-untyped-def]
    cube = smooth_cube(31, 32, seed=5).astype(np.float32)
    if valid is not None:
        cube[:, ~valid] = 0.0
    scene = Scene("beads", cube, wavelengths_nm=CAVE_WAVELENGTHS_NM, full_scale=1.0, valid=valid)
    return simulate_scene(scene, 4, protocol, msi_preset="nikon_d700")


def _method(tmp_path: Path, scale: float) -> PIFNetMethod:
    torch.manual_seed(0)
    model = PIFNet(PIFNetConfig(hsi_bands=31, msi_bands=3, ratio=4, hidden=8, blocks=1, d_state=2))
    norm = {"hsi": {"offset": 0.0, "scale": scale}, "msi": {"offset": 0.0, "scale": scale}}
    save_weights(tmp_path / f"w{scale:g}", model, {"normalisation": norm,
                                                   "hsi": {"wavelengths_nm": list(CAVE_WAVELENGTHS_NM)}})
    return PIFNetMethod(weights=tmp_path / f"w{scale:g}.safetensors")


def test_report_has_baselines_protocol_and_markdown(tmp_path: Path) -> None:
    sim = _sim()
    report = evaluate_scenes([sim], _method(tmp_path, 1.0), tile_px=64, wavelengths_nm=CAVE_WAVELENGTHS_NM)
    assert report["methods"] == ["pifnet", "gsa", "bicubic"]
    assert report["protocol"] == "paper" and report["data_range"] == 1.0 and report["ratio"] == 4
    # GSA's row is exactly the engine's GSA on these arrays, scored with data range 1.0
    gsa = fuse_arrays(sim.lr_hsi, sim.hr_msi, method="gsa", tile_px=64, device="cpu")
    assert report["scenes"][0]["metrics"]["gsa"] == pytest.approx(all_metrics(sim.target, gsa, 4, data_range=1.0))
    assert report["mean"]["gsa"]["psnr"] > report["mean"]["bicubic"]["psnr"]  # GSA uses the MSI

    json_path, md_path = write_report(report, tmp_path / "out", "eval_test", "tiny: test split")
    assert json.loads(json_path.read_text())["mean"] == report["mean"]
    md = md_path.read_text()
    assert "Protocol: **paper**" in md and "data range 1.0" in md
    for row in ("| PIF-Net |", "| GSA |", "| Bicubic |", "| beads | GSA |"):
        assert row in md


def test_inputs_are_fed_in_the_weights_units(tmp_path: Path) -> None:
    """Weights normalised by 1000 see data x 1000 and return it / 1000: same metrics as unit weights."""
    sim = _sim()
    unit = evaluate_scenes([sim], _method(tmp_path, 1.0), scale=1.0, baselines=(), tile_px=64)
    scaled = evaluate_scenes([sim], _method(tmp_path, 1000.0), scale=1000.0, baselines=(), tile_px=64)
    assert scaled["mean"]["pifnet"] == pytest.approx(unit["mean"]["pifnet"], rel=1e-4)


def test_nodata_is_nan_in_inputs_and_left_out_of_metrics(tmp_path: Path) -> None:
    valid = np.ones((32, 32), bool)
    valid[:8, :8] = False
    sim = _sim(valid, protocol="centred")
    lr, msi, fine = scene_inputs(sim)
    assert np.isnan(lr[:, 0, 0]).all() and np.isnan(msi[:, 0, 0]).all() and not fine[:8, :8].any()
    assert fine[8:, 8:].all() and np.isfinite(lr[:, 3:, 3:]).all()
    report = evaluate_scenes([sim], None, tile_px=64)
    assert all(np.isfinite(v) for row in report["mean"].values() for v in row.values())
    assert report["protocol"] == "centred"
