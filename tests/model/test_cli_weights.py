import json
from pathlib import Path

from click.testing import CliRunner

from pifnet_engine.cli.weights import weights
from pifnet_engine.errors import WeightsError
from pifnet_engine.model.weights import save_weights

from .helpers import tiny_model


def test_show_human_and_json(tmp_path: Path) -> None:
    save_weights(tmp_path / "tiny", tiny_model(), {
        "hsi": {"wavelengths_nm": [400.0 + 10 * i for i in range(6)]},
        "msi": {"band_names": ["B", "G", "R"]}, "validation": {"PSNR": 31.2}})
    runner = CliRunner()
    res = runner.invoke(weights, ["show", str(tmp_path / "tiny.safetensors")])
    assert res.exit_code == 0, res.output
    assert "name:            tiny" in res.output
    assert "6 bands" in res.output and "[400, 410, 420, 430, 440, 450]" in res.output
    assert "[B, G, R]" in res.output and "PSNR=31.2" in res.output
    res = runner.invoke(weights, ["show", "--json", str(tmp_path / "tiny.json")])
    assert res.exit_code == 0
    assert json.loads(res.output)["model"]["config"]["hsi_bands"] == 6


def test_show_missing_file_is_one_weights_error_line(tmp_path: Path) -> None:
    """Through click's runner, as a user sees it: the error boundary's line and exit code."""
    res = CliRunner().invoke(weights, ["show", str(tmp_path / "nope.json")])
    assert res.exit_code == WeightsError.exit_code
    assert res.output.startswith("Error: ") and "not found" in res.output and res.output.count("\n") == 1


def test_main_cli_reports_one_error_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from pifnet_engine.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["weights", "show", str(tmp_path / "nope.json")])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: weights manifest") and "not found" in err[0]


def test_list_and_show_bundled_by_name(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pifnet_engine.methods.pifnet as mod

    monkeypatch.setattr(mod, "BUNDLED_DIR", tmp_path)
    runner = CliRunner()
    assert "no bundled weights" in runner.invoke(weights, ["list"]).output
    save_weights(tmp_path / "tiny_x2", tiny_model(), {"training": {"protocol": "centred"}})
    res = runner.invoke(weights, ["list"])
    assert res.exit_code == 0 and res.output.startswith("tiny_x2") and "protocol centred" in res.output
    res = runner.invoke(weights, ["show", "tiny_x2"])
    assert res.exit_code == 0 and "name:            tiny_x2" in res.output
