"""How a finished fit is reported: success, cancelled (weights kept or not), crashed, bad data, bad usage."""

from __future__ import annotations

from pathlib import Path

import pytest

from qgis_plugin.errors import EngineCancelledError, EngineCrashedError, EngineFailedError
from qgis_plugin.fit_outcome import classify_fit_outcome
from qgis_plugin.runner import RunOutcome


@pytest.fixture
def weights(tmp_path: Path) -> str:
    return str(tmp_path / "fit.safetensors")


def test_success_needs_the_weights_file(weights: str) -> None:
    Path(weights).write_bytes(b"{}")
    assert classify_fit_outcome(RunOutcome(0), weights, written=True) is None
    Path(weights).unlink()
    err = classify_fit_outcome(RunOutcome(0), weights, written=False)
    assert isinstance(err, EngineFailedError) and "reported success but wrote no file" in str(err)


def test_cancel_with_weights_written_says_where_and_how_to_resume(weights: str) -> None:
    err = classify_fit_outcome(RunOutcome(143, cancelled=True), weights, written=True)
    assert isinstance(err, EngineCancelledError)
    assert str(err) == (
        f"Cancelled: the fit was stopped; the best weights so far were written to '{weights}' (complete: "
        "pifnet:fuse can use them); to continue the fit, run it again with the same weights file and Resume ticked"
    )


def test_cancel_before_any_weights(weights: str, tmp_path: Path) -> None:
    err = classify_fit_outcome(RunOutcome(-15, cancelled=True), weights, written=False)
    assert str(err) == f"Cancelled: the fit was stopped; this run wrote no weights to '{weights}'; run the algorithm again to fit"
    (tmp_path / "fit.fit").mkdir()  # a run folder (checkpoints) exists: Resume may continue it
    err = classify_fit_outcome(RunOutcome(-9, cancelled=True, killed=True), weights, written=False)
    assert "stopped (it did not stop in time and was killed); this run wrote no weights" in str(err)
    assert f"run folder '{tmp_path / 'fit.fit'}' may hold a checkpoint: run again with Resume ticked" in str(err)


@pytest.mark.parametrize(
    "code,written,fragment",
    [
        (-9, False, "killed by SIGKILL (exit status -9); this is usually the system's out-of-memory killer; choose device 'cpu'"),
        (-11, False, "killed by SIGSEGV (exit status -11); the trainer crashed"),
        (143, True, "killed by SIGTERM (exit status 143); something other than Cancel stopped it (a shutdown or a kill "
                    "command); the best weights so far were written"),
        (130, False, "killed by SIGINT"),
        (0xC0000005, False, "crashed with status 0xC0000005; this run wrote no weights"),
    ],
)
def test_signals_are_crashes(weights: str, code: int, written: bool, fragment: str) -> None:
    err = classify_fit_outcome(RunOutcome(code), weights, written)
    assert isinstance(err, EngineCrashedError)
    assert str(err).startswith("PIF-Net trainer ") and fragment in str(err)


def test_bad_data_quotes_the_trainer(weights: str) -> None:
    said = "--resume: the HSI 'a.tif' differs from the one this fit started with (checksum changed); start a new fit"
    err = classify_fit_outcome(RunOutcome(1, errors=[said]), weights, written=False)
    assert isinstance(err, EngineFailedError) and err.exit_code == 1
    assert str(err) == (
        f"PIF-Net trainer cannot fit these inputs (exit code 1): {said}; check the layers against the grid rules "
        "in the algorithm's help, or fuse with GSA (pifnet:fuse), which needs no fit"
    )


def test_bad_usage_and_other_codes(weights: str) -> None:
    err = classify_fit_outcome(RunOutcome(2, errors=["--time-budget must be positive; got 0 s"]), weights, False)
    assert isinstance(err, EngineFailedError) and err.exit_code == 2
    assert "refused the parameters (exit code 2): --time-budget must be positive; got 0 s; correct the parameter" in str(err)
    err = classify_fit_outcome(RunOutcome(3, text_tail=["Traceback (most recent call last):", "MemoryError"]), weights, False)
    assert "PIF-Net trainer failed (exit code 3): Traceback (most recent call last): | MemoryError" in str(err)


# -- after the fit: which method fuses (pifnet:fitfuse) ---------------------------------------


def test_the_fitted_weights_fuse_unless_gsa_fallback_and_not_ahead() -> None:
    from qgis_plugin.fitfuse_choice import choose_fuse_method

    assert choose_fuse_method(True, False, "/w.safetensors") == ("pifnet", None)
    assert choose_fuse_method(True, True, "/w.safetensors") == ("pifnet", None)
    method, warning = choose_fuse_method(False, False, "/w.safetensors")
    assert method == "pifnet" and "NOT ahead of GSA" in warning and "we recommend GSA" in warning
    method, warning = choose_fuse_method(False, True, "/w.safetensors")
    assert method == "gsa" and "fused with GSA instead" in warning and "'/w.safetensors'" in warning
    method, warning = choose_fuse_method(None, True, "/w.safetensors")
    assert method == "pifnet" and "did not report" in warning
