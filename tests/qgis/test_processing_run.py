"""``processing.run("pifnet:fuse", ...)`` in a real QGIS, running the real engine."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from .qgis_helpers import cancel_once_above, make_feedback, output_path, processes_mentioning

pytestmark = pytest.mark.qgis


def test_fuse_gives_the_msi_grid_and_the_hsi_bands(qgis_app, engine, engine_setting, small_pair, tmp_path, monkeypatch) -> None:
    import processing
    from .pair_fixture import grid_of, read_array

    # QGIS's own Python variables must not reach the engine: these would break its Python.
    poison = tmp_path / "poison"
    (poison / "numpy").mkdir(parents=True)
    (poison / "numpy" / "__init__.py").write_text("raise ImportError('QGIS PYTHONPATH leaked into the engine')\n")
    monkeypatch.setenv("PYTHONPATH", str(poison))
    monkeypatch.setenv("PYTHONHOME", str(tmp_path / "no-such-python-home"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("PIFNET_ENGINE", raising=False)
    engine_setting(str(engine))

    feedback = make_feedback()
    target = tmp_path / "fused.tif"
    results = processing.run(  # without the report (test_quality_report.py has it): a shorter run
        "pifnet:fuse",
        {"HSI": str(small_pair.hsi), "MSI": str(small_pair.msi), "METHOD": 1, "TILE_SIZE": 24, "REPORT": False,
         "OUTPUT": str(target)},
        feedback=feedback,
    )

    assert output_path(results["OUTPUT"]) == str(target)
    transform, crs, width, height, bands = grid_of(target)
    msi_transform, msi_crs, msi_width, msi_height, _ = grid_of(small_pair.msi)
    assert (transform, width, height) == (msi_transform, msi_width, msi_height)
    assert crs == msi_crs and "32633" in crs
    assert bands == small_pair.hsi_bands
    fused = read_array(target)
    hsi = read_array(small_pair.hsi)
    assert fused.shape == (small_pair.hsi_bands, small_pair.msi_size_px, small_pair.msi_size_px)
    # a 3x3 block mean of the fused cube gives back the HSI closely (GSA keeps the low frequencies)
    s = small_pair.msi_size_px // 3
    blocks = fused.reshape(small_pair.hsi_bands, s, 3, s, 3).mean(axis=(2, 4))
    assert abs(blocks - hsi).mean() < 0.02 * abs(hsi).mean()
    # progress and log came from the engine's JSON lines
    assert feedback.progress_values and feedback.progress_values[-1] == 100.0
    assert feedback.progress_values == sorted(feedback.progress_values)
    assert any(info.startswith("pifnet-engine 0.1.0: method gsa") for info in feedback.infos)
    assert any(info.startswith(f"PIF-Net engine: {engine} (from setting)") for info in feedback.infos)
    assert feedback.errors == []


def test_cancel_midway_stops_the_engine_and_leaves_nothing(qgis_app, engine, engine_setting, slow_pair, tmp_path) -> None:
    import processing
    from qgis.core import QgsProcessingException

    engine_setting(str(engine))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "fused.tif"
    feedback = make_feedback()
    cancelled_at = cancel_once_above(feedback, 2.0)  # on the engine's progress lines
    start = time.monotonic()
    with pytest.raises(QgsProcessingException, match="Cancelled: the PIF-Net engine was stopped and no output"):
        processing.run(
            "pifnet:fuse",
            {"HSI": str(slow_pair.hsi), "MSI": str(slow_pair.msi), "METHOD": 1, "TILE_SIZE": 24, "OUTPUT": str(target)},
            feedback=feedback,
        )
    took = time.monotonic() - start

    assert cancelled_at and cancelled_at[0] < 50.0, "the cancel did not happen midway"
    assert max(feedback.progress_values) < 100.0
    assert processes_mentioning(target) == []
    assert list(out_dir.iterdir()) == [], "output or temporary files were left behind"
    assert took < 60.0


def test_engine_error_is_reported_with_the_engines_words(qgis_app, engine, engine_setting, small_pair, tmp_path) -> None:
    """A pixel-size ratio of 2.5 (30 m HSI, 12 m MSI) is bad data: exit code 1, reported."""
    import processing
    from qgis.core import QgsProcessingException

    engine_setting(str(engine))
    msi_12m = _resampled_msi(small_pair.msi, tmp_path, 12.0)
    target = tmp_path / "fused.tif"
    feedback = make_feedback()
    with pytest.raises(QgsProcessingException, match=r"cannot fuse these inputs \(exit code 1\): .*2\.5.*; check the layers"):
        processing.run(
            "pifnet:fuse",
            {"HSI": str(small_pair.hsi), "MSI": str(msi_12m), "METHOD": 1, "OUTPUT": str(target)},
            feedback=feedback,
        )
    assert feedback.errors == [], "the engine's message is in the exception; reported again it shows twice"
    assert not target.exists()


def test_swapped_layers_are_explained_in_dialog_words(qgis_app, engine, engine_setting, small_pair, tmp_path) -> None:
    import processing
    from qgis.core import QgsProcessingException

    engine_setting(str(engine))
    target = tmp_path / "fused.tif"
    feedback = make_feedback()
    with pytest.raises(QgsProcessingException) as caught:
        processing.run(
            "pifnet:fuse",
            {"HSI": str(small_pair.msi), "MSI": str(small_pair.hsi), "METHOD": 1, "OUTPUT": str(target)},
            feedback=feedback,
        )
    message = str(caught.value)
    assert "the HSI and MSI layers are probably swapped" in message
    assert "pifnet-engine fuse HSI MSI" not in message
    assert message.count("coarser than") == 1 and feedback.errors == []
    assert not target.exists()


def _resampled_msi(msi: Path, folder: Path, res_m: float) -> Path:
    """``msi`` warped to ``res_m`` metres (gives a non-integer HSI/MSI pixel-size ratio)."""
    from osgeo import gdal

    out = folder / f"msi_{res_m:g}m.tif"
    gdal.Warp(str(out), str(msi), xRes=res_m, yRes=res_m, resampleAlg="average")
    return out


def test_missing_engine_gives_a_clear_error(qgis_app, engine_setting, small_pair, tmp_path, monkeypatch) -> None:
    import processing
    from qgis.core import QgsApplication, QgsProcessingException

    monkeypatch.delenv("PIFNET_ENGINE", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    engine_setting("")
    alg = QgsApplication.processingRegistry().algorithmById("pifnet:fuse")
    ok, why = alg.canExecute()
    assert not ok
    assert why.startswith("PIF-Net engine not found: the setting is empty, PIFNET_ENGINE is not set and no 'pifnet-engine' is on PATH (/usr/bin:/bin)")
    assert "Settings > Options > Processing > Providers > PIF-Net > pifnet-engine executable" in why

    target = tmp_path / "fused.tif"
    params = {"HSI": str(small_pair.hsi), "MSI": str(small_pair.msi), "OUTPUT": str(target)}
    with pytest.raises(QgsProcessingException, match="PIF-Net engine not found"):
        processing.run("pifnet:fuse", params, feedback=make_feedback())

    # a setting left pointing at an engine that was removed since (the dialog refuses to save a
    # missing path, so it is written the way an older session would have left it)
    from processing.core.ProcessingConfig import ProcessingConfig
    from qgis.core import QgsSettings
    from qgis_plugin.settings import ENGINE_SETTING

    wrong = tmp_path / "venv" / "bin" / "pifnet-engine"
    QgsSettings().setValue(f"Processing/Configuration/{ENGINE_SETTING}", str(wrong))
    ProcessingConfig.readSettings()
    with pytest.raises(QgsProcessingException, match=f"the setting .* is '{wrong}', which does not exist"):
        processing.run("pifnet:fuse", params, feedback=make_feedback())
    assert not target.exists()
