"""``checkParameterValues`` in a real QGIS: impossible combinations are refused before any program
starts, each with one message (the dialog shows it; ``processing.run`` raises it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from .qgis_helpers import make_feedback

pytestmark = pytest.mark.qgis


def check(alg_id: str, params: dict[str, Any]) -> tuple[bool, str]:
    from qgis.core import QgsApplication, QgsProcessingContext

    alg = QgsApplication.processingRegistry().createAlgorithmById(alg_id)
    return alg.checkParameterValues(params, QgsProcessingContext())


@pytest.fixture
def weights_file(tmp_path: Path) -> Path:
    path = tmp_path / "mine.safetensors"
    path.write_bytes(b"not read by a check")
    return path


FUSE_CASES = [
    ("same_inputs", {"MSI": "{hsi}"}, "The HSI and MSI inputs are the same file '{hsi}'; expected a hyperspectral raster "
     "and a multispectral raster of the same place; choose the multispectral raster as MSI"),
    ("output_is_input", {"OUTPUT": "{msi}"}, "Output '{msi}' is the MSI input; expected a new file; choose another output name"),
    ("missing_folder", {"OUTPUT": "{tmp}/nowhere/fused.tif"}, "The output folder '{tmp}/nowhere' does not exist; "
     "create it or choose an output in an existing folder"),
    ("weights_with_gsa", {"METHOD": 1, "WEIGHTS": "{weights}"}, "a weights file '{weights}' is given with method 'gsa', "
     "which reads no weights; expected weights only with method PIF-Net; choose method PIF-Net, or clear the weights file"),
    ("missing_weights", {"METHOD": 0, "WEIGHTS": "{tmp}/gone.safetensors"}, "The weights file '{tmp}/gone.safetensors' "
     "does not exist; expected a .safetensors file (with its .json manifest beside it); choose an existing file, or "
     "clear it for the engine's bundled weights"),
    ("overlap_over_half_the_tile", {"TILE_SIZE": 64, "OVERLAP": 40}, "overlap is 40 MSI pixels, more than half the tile "
     "size of 64: the engine would grow every tile to 80 pixels (twice the overlap); expected an overlap of at most 32; "
     "lower the overlap (empty: the method's default) or raise the tile size to at least 80"),
]


def fill(value: Any, pair: Any, tmp_path: Path, weights: Path) -> Any:
    if not isinstance(value, str):
        return value
    return value.format(hsi=pair.hsi, msi=pair.msi, tmp=tmp_path, weights=weights)


@pytest.mark.parametrize("name,changes,message", FUSE_CASES, ids=[c[0] for c in FUSE_CASES])
def test_fuse_refuses_each_combination_with_its_message(qgis_app, small_pair, tmp_path, weights_file, name, changes,
                                                        message) -> None:
    params = {"HSI": str(small_pair.hsi), "MSI": str(small_pair.msi), "METHOD": 1, "OUTPUT": str(tmp_path / "fused.tif")}
    params |= {key: fill(value, small_pair, tmp_path, weights_file) for key, value in changes.items()}
    assert check("pifnet:fuse", params) == (False, fill(message, small_pair, tmp_path, weights_file))


def test_fuse_accepts_a_sound_combination(qgis_app, small_pair, tmp_path, weights_file) -> None:
    base = {"HSI": str(small_pair.hsi), "MSI": str(small_pair.msi), "OUTPUT": str(tmp_path / "fused.tif")}
    assert check("pifnet:fuse", {**base, "METHOD": 1}) == (True, "")
    assert check("pifnet:fuse", {**base, "METHOD": 0, "WEIGHTS": str(weights_file), "TILE_SIZE": 64, "OVERLAP": 32}) == (True, "")
    assert check("pifnet:fuse", {**base, "METHOD": 2, "REPORT": False}) == (True, "")


def test_processing_run_stops_before_the_engine(qgis_app, small_pair, tmp_path, monkeypatch) -> None:
    """A refused combination raises at once, even with no engine anywhere (the check comes first)."""
    import processing
    from qgis.core import QgsProcessingException

    monkeypatch.delenv("PIFNET_ENGINE", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    target = tmp_path / "fused.tif"
    feedback = make_feedback()
    with pytest.raises(QgsProcessingException, match="^Unable to execute algorithm\nThe HSI and MSI inputs are the same file"):
        processing.run("pifnet:fuse", {"HSI": str(small_pair.hsi), "MSI": str(small_pair.hsi), "OUTPUT": str(target)},
                       feedback=feedback)
    assert not any("PIF-Net engine" in text for text in feedback.infos + feedback.errors)
    assert not target.exists()


def test_fit_and_fitfuse_refuse_their_combinations(qgis_app, fit_pair, tmp_path) -> None:
    pair = {"HSI": str(fit_pair.hsi), "MSI": str(fit_pair.msi)}
    fused = str(tmp_path / "fused.tif")
    weights = str(tmp_path / "w.safetensors")

    ok, message = check("pifnet:fitfuse", {**pair, "MSI": str(fit_pair.hsi), "OUTPUT": fused})
    assert not ok and message.startswith("The HSI and MSI inputs are the same file")
    ok, message = check("pifnet:fitfuse", {**pair, "WEIGHTS": fused, "OUTPUT": fused})
    assert (ok, message) == (False, f"Output '{fused}' is the fitted weights file; expected two different files; "
                                    "choose another name")
    ok, message = check("pifnet:fitfuse", {**pair, "OUTPUT": str(tmp_path / "nowhere" / "fused.tif")})
    assert not ok and message.startswith(f"The output folder '{tmp_path / 'nowhere'}' does not exist")
    ok, message = check("pifnet:fitfuse", {**pair, "START": 2, "OUTPUT": fused})
    assert (ok, message) == (False, "start is 'a weights file' but no start weights file is given; expected a "
                                    ".safetensors file; choose one, or start 'auto' / 'from scratch'")
    gone = str(tmp_path / "gone.safetensors")
    ok, message = check("pifnet:fitfuse", {**pair, "START": 2, "START_WEIGHTS": gone, "OUTPUT": fused})
    assert (ok, message) == (False, f"The start weights file '{gone}' does not exist; expected a .safetensors file "
                                    "(with its .json manifest beside it); choose an existing file, or start 'auto' / "
                                    "'from scratch'")
    ok, message = check("pifnet:fitfuse", {**pair, "RESUME": True, "WEIGHTS": weights, "OUTPUT": fused})
    assert not ok and message.startswith(f"Resume is ticked but there is no fit to continue for '{weights}'")
    assert check("pifnet:fitfuse", {**pair, "OUTPUT": fused}) == (True, "")

    ok, message = check("pifnet:fit", {**pair, "MSI": str(fit_pair.hsi), "OUTPUT": weights})
    assert not ok and message.startswith("The HSI and MSI inputs are the same file")
    ok, message = check("pifnet:fit", {**pair, "OUTPUT": str(tmp_path / "w.pt")})
    assert not ok and "is not a .safetensors name" in message
    assert check("pifnet:fit", {**pair, "OUTPUT": weights}) == (True, "")
