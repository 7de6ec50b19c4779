"""``pifnet-train`` through its entry point: train / resume / evaluate / export, exit codes, messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pifnet_engine.errors import UsageError
from training.cli import main, parse_duration

from .train_fixtures import write_cave

TINY = ["--hidden", "8", "--blocks", "1", "--d-state", "2", "--patch-size", "16", "--stride", "16",
        "--batch-size", "4", "--val-tile-size", "64", "--device", "cpu", "--threads", "1", "--progress", "none"]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def test_parse_duration() -> None:
    assert parse_duration("3600") == 3600.0
    assert parse_duration("50m") == 3000.0
    assert parse_duration("1h30m") == 5400.0
    assert parse_duration("1.5h") == 5400.0
    with pytest.raises(UsageError, match=r"--time-budget '5 minutes' is not a duration; expected e.g. 3600"):
        parse_duration("5 minutes")


def test_train_resume_evaluate_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cave = write_cave(tmp_path / "cave")
    run = tmp_path / "run"
    base = ["train", "--scene", "cave", "--data", str(cave), "--out", str(run), *TINY]
    code, _, err = _run([*base, "--max-steps", "2"], capsys)
    assert code == 0, err
    doc = json.loads((run / "run.json").read_text())
    assert doc["command"].startswith("pifnet-train train --scene cave --data ")
    assert doc["data"]["protocol"] == "paper" and doc["data"]["ratio"] == 4
    assert doc["regions"]["validation"] == ["cloth"] and doc["normalisation"]["scale"] == 65535.0

    code, _, err = _run([*base, "--max-steps", "2"], capsys)
    assert code == 2 and "already holds a run (run.json); continue it with --resume" in err
    assert err.startswith("Error: ") and "Traceback" not in err

    code, _, err = _run(["train", "--out", str(run), "--resume", "--ratio", "2"], capsys)
    assert code == 2 and "drop --ratio" in err

    moved = tmp_path / "moved_cave"
    cave.parent.rename(moved)  # the same data in a new place, as on another machine
    code, _, err = _run(["train", "--data", str(moved / "complete_ms_data"), "--out", str(run), "--resume",
                         "--max-steps", "3", "--threads", "1", "--progress", "none"], capsys)
    assert code == 0, err
    assert len((run / "train_log.csv").read_text().splitlines()) == 1 + 3
    doc = json.loads((run / "run.json").read_text())
    assert doc["resumed"][0]["command"].endswith("--resume --max-steps 3 --threads 1 --progress none")
    assert doc["data"]["data"] == str((moved / "complete_ms_data").resolve())

    code, out, err = _run(["evaluate", str(run), "--split", "validation", "--device", "cpu", "--tile-size", "64"],
                          capsys)
    assert code == 0, err
    assert "| GSA |" in out and "Protocol: **paper**" in out
    report = json.loads((run / "eval_validation.json").read_text())
    assert report["split"] == "validation" and report["weights"]["name"].startswith("run")
    assert (run / "eval_validation.md").is_file()

    code, _, err = _run(["evaluate", str(run), "--split", "test", "--device", "cpu"], capsys)
    assert code == 1 and "split 'test' of --scene cave" in err and "has no scenes" in err

    code, out, err = _run(["export", str(run), "-o", str(tmp_path / "cave_tiny")], capsys)
    assert code == 0, err
    assert (tmp_path / "cave_tiny.safetensors").is_file() and (tmp_path / "cave_tiny.json").is_file()
    code, out, err = _run(["evaluate", str(tmp_path / "cave_tiny.json"), "--split", "validation",
                           "--device", "cpu", "--tile-size", "64"], capsys)
    assert code == 0, err  # a weights file knows its training data
    assert (tmp_path / "eval_validation.json").is_file()
    code, _, err = _run(["export", str(run), "-o", str(tmp_path / "cave_tiny")], capsys)
    assert code == 2 and "pass --overwrite" in err


def test_new_run_needs_scene_and_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["train", "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and "train needs --scene and --data" in err
    code, _, err = _run(["train", "--scene", "nope", "--data", ".", "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and "'nope' is not one of" in err
    code, _, err = _run(["train", "--scene", "cave", "--data", str(tmp_path / "missing"), "--out",
                         str(tmp_path / "run"), "--device", "cpu"], capsys)
    assert code == 1 and "does not exist" in err
    assert not (tmp_path / "run").exists()
