"""How a finished run is reported: success, cancelled, crashed, bad data, bad usage, other."""

from __future__ import annotations

from pathlib import Path

import pytest

from qgis_plugin.errors import EngineCancelledError, EngineCrashedError, EngineFailedError
from qgis_plugin.outcome import classify_outcome
from qgis_plugin.runner import RunOutcome


@pytest.fixture
def output(tmp_path: Path) -> str:
    return str(tmp_path / "fused.tif")


def test_success_needs_the_output_file(output: str) -> None:
    Path(output).write_bytes(b"II*\x00")
    assert classify_outcome(RunOutcome(0), output) is None
    Path(output).unlink()
    err = classify_outcome(RunOutcome(0), output)
    assert isinstance(err, EngineFailedError) and "reported success but wrote no file" in str(err)


@pytest.mark.parametrize("code,killed", [(143, False), (-9, True), (0, False)])
def test_cancel_wins_whatever_the_exit_code(output: str, code: int, killed: bool) -> None:
    err = classify_outcome(RunOutcome(code, cancelled=True, killed=killed), output)
    assert isinstance(err, EngineCancelledError)
    assert str(err).startswith("Cancelled: the PIF-Net engine was stopped")
    assert ("was killed" in str(err)) == killed and output in str(err)


@pytest.mark.parametrize(
    "code,fragment",
    [
        (-9, "killed by SIGKILL (exit status -9); no output was written; this is usually the system's out-of-memory killer; lower the tile size"),
        (-11, "killed by SIGSEGV (exit status -11); no output was written; the engine crashed; run the command"),
        (-6, "killed by SIGABRT"),
        (143, "killed by SIGTERM (exit status 143); no output was written; something other than Cancel stopped it"),
        (130, "killed by SIGINT"),
        (0xC0000005, "crashed with status 0xC0000005"),
    ],
)
def test_signals_are_crashes(output: str, code: int, fragment: str) -> None:
    err = classify_outcome(RunOutcome(code), output)
    assert isinstance(err, EngineCrashedError)
    assert fragment in str(err)


def test_bad_data_quotes_the_engine(output: str) -> None:
    said = "Error: pixel-size ratio is 2.5: HSI 25 m, MSI 10 m; expected a whole number; pass --allow-resample"
    err = classify_outcome(RunOutcome(1, errors=[said]), output)
    assert isinstance(err, EngineFailedError) and err.exit_code == 1
    assert str(err) == (
        f"PIF-Net engine cannot fuse these inputs (exit code 1): {said}; check the layers against the "
        "grid rules in the algorithm's help, or choose another method"
    )


def test_bad_usage_points_at_parameters_and_versions(output: str) -> None:
    err = classify_outcome(RunOutcome(2, errors=["Error: unknown device: tpu"]), output)
    assert isinstance(err, EngineFailedError) and err.exit_code == 2
    assert "refused the parameters (exit code 2): Error: unknown device: tpu; correct the parameter" in str(err)
    assert "plugin and engine versions match" in str(err)


def test_other_codes_show_the_end_of_the_output(output: str) -> None:
    tail = ["Traceback (most recent call last):", '  File "x.py", line 3', "MemoryError: cannot allocate"]
    err = classify_outcome(RunOutcome(3, text_tail=tail), output)
    assert isinstance(err, EngineFailedError) and err.exit_code == 3
    assert "failed (exit code 3): Traceback (most recent call last): | File \"x.py\", line 3 | MemoryError" in str(err)
    assert "it printed no message" in str(classify_outcome(RunOutcome(3), output))


def test_engine_cli_advice_is_restated_for_the_dialog() -> None:
    from qgis_plugin.outcome import in_dialog_words

    engine = ("the MSI pixels (90 x 90) are coarser than the HSI pixels (30 x 30): the arguments are probably "
              "swapped; give the hyperspectral raster first: `pifnet-engine fuse HSI MSI -o OUT`")
    said = in_dialog_words(engine)
    assert said.startswith("the MSI pixels (90 x 90) are coarser than the HSI pixels (30 x 30): ")
    assert "the HSI and MSI layers are probably swapped; choose the hyperspectral layer as HSI" in said
    assert "pifnet-engine" not in said
    assert in_dialog_words("bands differ") == "bands differ"


def test_a_failed_report_after_the_raster_says_the_raster_is_complete(output: str) -> None:
    """The one non-zero exit that leaves the output (docs/cli.md): the raster was written, its report not."""
    said = (f"Error: the fused raster '{output}' was written, but its quality report could not be made: the MSI "
            f"has no band descriptions. Make it later with `pifnet-engine report {output} h.tif m.tif`, or pass "
            "--no-report")
    err = classify_outcome(RunOutcome(1, errors=[said]), output, raster_written=True)
    assert isinstance(err, EngineFailedError) and err.exit_code == 1
    message = str(err)
    assert message.startswith(f"PIF-Net engine wrote the fused raster '{output}' (complete), but not its quality "
                              "report (exit code 1): Error: the fused raster ")
    assert "or untick 'Write a quality report and quicklook'" in message and "--no-report" not in message
    assert "`pifnet-engine report " in message  # a terminal command stays as it is
    assert message.endswith("the raster can be used as it is; fix what the message names and run again for the "
                            "report, or untick 'Write a quality report and quicklook'")
    # the same exit without a raster is the ordinary bad-data case
    assert "cannot fuse these inputs (exit code 1)" in str(classify_outcome(RunOutcome(1, errors=[said]), output))
