"""``pifnet:fit`` and ``pifnet:fitfuse`` in a real QGIS, running the real ``pifnet-train`` and engine.

Each fit is a few training steps from scratch on the CPU (``MAX_STEPS``), seconds of work; the
trainer is found beside the engine, as the plugin does by default.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from .qgis_helpers import cancel_once_above, make_feedback, output_path, processes_mentioning

pytestmark = pytest.mark.qgis

#: Parameters of a quick fit: from scratch (START 1), on the CPU (DEVICE 1) in one thread (the
#: tests run in two processes on two cores), a few steps.
QUICK = {"START": 1, "DEVICE": 1, "THREADS": 1, "TIME_BUDGET": 5.0, "MAX_STEPS": 2}


def read_manifest(weights: Path) -> dict[str, Any]:
    return json.loads(weights.with_suffix(".json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def fitted(qgis_app: Any, engine: Path, trainer: Path, fit_pair: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One ``pifnet:fit`` run (the trainer found beside the engine given by PIFNET_ENGINE)."""
    import processing

    weights = tmp_path_factory.mktemp("fit") / "my fit.safetensors"
    feedback = make_feedback()
    results = processing.run(
        "pifnet:fit", {"HSI": str(fit_pair.hsi), "MSI": str(fit_pair.msi), **QUICK, "OUTPUT": str(weights)}, feedback=feedback
    )
    return {"weights": weights, "results": results, "feedback": feedback}


def test_fit_writes_weights_manifest_and_run_folder(fitted, trainer, fit_pair) -> None:
    weights, results, feedback = fitted["weights"], fitted["results"], fitted["feedback"]
    assert output_path(results["OUTPUT"]) == str(weights)
    assert weights.is_file() and weights.stat().st_size > 0
    manifest = read_manifest(weights)
    config = manifest["model"]["config"]
    assert (config["hsi_bands"], config["msi_bands"], config["ratio"]) == (fit_pair.hsi_bands, fit_pair.msi_bands, 3)
    assert manifest["training"]["kind"] == "fit" and manifest["training"]["step"] <= QUICK["MAX_STEPS"]
    assert (weights.parent / "my fit.fit" / "run.json").is_file()
    # the verdict: the done event's, the manifest's and the output agree
    assert isinstance(results["AHEAD_OF_GSA"], bool)
    assert results["AHEAD_OF_GSA"] == manifest["validation"]["ahead_of_gsa"]
    # the log: where the trainer came from, its messages, the held-out table and verdict
    assert any(info == f"PIF-Net trainer: {trainer} (from beside pifnet-engine)" for info in feedback.infos)
    assert any(info.startswith("start: ") for info in feedback.infos)  # the trainer's own messages
    assert any(line.startswith("method") and "PSNR dB" in line for line in feedback.console)
    assert any(line.startswith("GSA") for line in feedback.console)
    if results["AHEAD_OF_GSA"]:
        assert any("is ahead of GSA" in line for line in feedback.console)
    else:
        assert any(w.startswith("Warning: the fitted PIF-Net is NOT ahead of GSA") for w in feedback.warnings)
        assert any("we recommend GSA (Fuse HSI+MSI with method GSA)" in w for w in feedback.warnings)
    assert feedback.progress_values and feedback.progress_values[-1] == 100.0
    assert feedback.progress_values == sorted(feedback.progress_values)
    assert feedback.errors == []


def test_fitfuse_gives_a_raster_on_the_msi_grid(qgis_app, engine, trainer, fit_pair, tmp_path) -> None:
    import processing
    from .pair_fixture import grid_of, read_array

    import numpy as np

    feedback = make_feedback()
    target = tmp_path / "fused.tif"
    results = processing.run(
        "pifnet:fitfuse",
        {"HSI": str(fit_pair.hsi), "MSI": str(fit_pair.msi), **QUICK, "OUTPUT": str(target)},  # WEIGHTS: temporary
        feedback=feedback,
    )
    assert output_path(results["OUTPUT"]) == str(target)
    assert results["OUTPUT_REPORT"] == str(tmp_path / "fused.report.html") and (tmp_path / "fused.report.html").is_file()
    assert any(info.startswith("Quality report: spatial consistency ") for info in feedback.infos)
    weights = Path(output_path(results["WEIGHTS"]))
    assert weights.suffix == ".safetensors" and weights.is_file() and weights.with_suffix(".json").is_file()
    assert results["METHOD"] == "pifnet"  # fused with the fitted weights, ahead of GSA or not
    if not results["AHEAD_OF_GSA"]:
        assert any("fused with the fitted weights all the same. For this pair we recommend GSA" in w for w in feedback.warnings)

    transform, crs, width, height, bands = grid_of(target)
    msi_transform, msi_crs, msi_width, msi_height, _ = grid_of(fit_pair.msi)
    assert (transform, crs, width, height) == (msi_transform, msi_crs, msi_width, msi_height)
    assert bands == fit_pair.hsi_bands and (height, width) == fit_pair.msi_shape_px
    fused = read_array(target)
    assert np.isfinite(fused).all()
    hsi = read_array(fit_pair.hsi)
    rows, cols = fit_pair.msi_shape_px
    blocks = fused.reshape(bands, rows // 3, 3, cols // 3, 3).mean(axis=(2, 4))
    assert abs(blocks - hsi).mean() < 0.1 * abs(hsi).mean()  # a few steps from bicubic: close to the HSI

    # the fit had 0-80 % of the bar, the fuse 80-100 %
    values = feedback.progress_values
    assert values == sorted(values) and values[-1] == 100.0
    assert any(0.0 < v <= 80.0 for v in values) and any(80.0 < v < 100.0 for v in values)
    assert any(info.startswith("pifnet-engine 0.1.0: method pifnet") for info in feedback.infos)
    assert feedback.errors == []


def test_cancel_keeps_the_best_weights_and_fitfuse_resumes_them(qgis_app, engine, trainer, fit_pair, tmp_path) -> None:
    """Cancel a fit; the weights so far are kept; Fit and fuse with Resume continues that fit, and
    with GSA_FALLBACK fuses with GSA when the fit is not ahead of it."""
    import processing
    from .pair_fixture import grid_of
    from qgis.core import QgsProcessingException

    weights = tmp_path / "cancelled.safetensors"
    feedback = make_feedback()
    cancelled_at = cancel_once_above(feedback, 0.0)  # on the trainer's progress lines
    # MAX_STEPS 10: the schedule is those steps (no step-time probe before training); the cancel comes first
    params = {"HSI": str(fit_pair.hsi), "MSI": str(fit_pair.msi), "START": 1, "DEVICE": 1, "THREADS": 1,
              "TIME_BUDGET": 10.0, "MAX_STEPS": 10}
    start = time.monotonic()
    with pytest.raises(QgsProcessingException, match="Cancelled: the fit was stopped; the best weights so far were "
                                                     "written to '.*cancelled.safetensors'.* Resume ticked"):
        processing.run("pifnet:fit", {**params, "OUTPUT": str(weights)}, feedback=feedback)
    took = time.monotonic() - start
    assert cancelled_at and cancelled_at[0] < 50.0, "the cancel did not happen during training"
    assert took < 90.0
    assert processes_mentioning(weights) == []
    assert weights.is_file() and read_manifest(weights)["training"]["stopped"] == "signal"
    assert any(info.startswith("Stopping the fit") for info in feedback.infos)

    # Resume continues the run folder (one more step, then the fit stops and writes again)
    resumed = make_feedback()
    target = tmp_path / "fused.tif"
    results = processing.run(
        "pifnet:fitfuse",
        {**params, "RESUME": True, "MAX_STEPS": 1, "GSA_FALLBACK": True, "WEIGHTS": str(weights), "REPORT": False,
         "OUTPUT": str(target)},
        feedback=resumed,
    )
    assert output_path(results["WEIGHTS"]) == str(weights)
    assert results["OUTPUT_REPORT"] is None and not (tmp_path / "fused.report.html").exists()
    assert any(info.startswith("resuming the fit in") for info in resumed.infos)
    assert read_manifest(weights)["training"]["stopped"] in ("max_steps", "time_budget")
    if results["AHEAD_OF_GSA"]:
        assert results["METHOD"] == "pifnet"
    else:
        assert results["METHOD"] == "gsa"
        assert any("fused with GSA instead" in w for w in resumed.warnings)
        assert any(info.startswith("pifnet-engine 0.1.0: method gsa") for info in resumed.infos)
    assert grid_of(target)[2:] == (fit_pair.msi_shape_px[1], fit_pair.msi_shape_px[0], fit_pair.hsi_bands)
    assert resumed.errors == []


def test_missing_trainer_and_wrong_settings_are_explained(qgis_app, engine_setting, trainer_setting, fit_pair, tmp_path,
                                                          monkeypatch) -> None:
    import processing
    from qgis.core import QgsApplication, QgsProcessingException

    monkeypatch.delenv("PIFNET_ENGINE", raising=False)
    monkeypatch.delenv("PIFNET_TRAIN", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    lonely = tmp_path / "lonely" / "bin"  # an engine installation without pifnet-train
    lonely.mkdir(parents=True)
    (lonely / "pifnet-engine").write_text("#!/bin/sh\necho 'pifnet-engine, version 0.1.0'\n")
    (lonely / "pifnet-engine").chmod(0o755)
    engine_setting(str(lonely / "pifnet-engine"))
    for alg_id in ("pifnet:fit", "pifnet:fitfuse"):
        ok, why = QgsApplication.processingRegistry().algorithmById(alg_id).canExecute()
        assert not ok
        assert why.startswith("PIF-Net trainer not found: the setting is empty, PIFNET_TRAIN is not set, none is in "
                              f"the engine's folder ({lonely})"), why

    params = {"HSI": str(fit_pair.hsi), "MSI": str(fit_pair.msi), **QUICK, "OUTPUT": str(tmp_path / "w.safetensors")}
    trainer_setting(str(lonely))  # a folder without pifnet-train (the settings dialog refuses missing paths)
    with pytest.raises(QgsProcessingException, match="PIF-Net trainer not found: the setting .*pifnet-train executable' "
                                                     f"is the folder '{lonely}', which holds no 'pifnet-train'"):
        processing.run("pifnet:fit", params, feedback=make_feedback())
    with pytest.raises(QgsProcessingException, match="is not a .safetensors name"):
        processing.run("pifnet:fit", {**params, "OUTPUT": str(tmp_path / "w.pt")}, feedback=make_feedback())
    assert not (tmp_path / "w.safetensors").exists()
