"""`pifnet-train fit` argv building, checked against the CLI contract and the trainer's own parser; the fit's files.

As in test_options.py: ``test_argv_matches_options``, whose expectation mirrors the builder's
rules, runs over an all-pairs covering set of the option values (``allpairs.all_pairs``: 13 cases
instead of the 432 of the full product); ``test_argv_is_accepted_by_the_real_trainer_parser``
keeps the FULL product, since it is what guarantees that every argv the plugin can build is
accepted by ``pifnet-train fit`` with the intended values.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from .allpairs import all_pairs, uncovered_pairs
from .argv_split import split_argv

from qgis_plugin.errors import OptionsError
from qgis_plugin.fit_files import can_resume, manifest_path, manifest_verdict, run_folder
from qgis_plugin.fit_options import STARTS, FitOptions, build_fit_argv, check_resumable, fit_warnings, time_budget_arg
from qgis_plugin.options import DEVICES

TRAINER = "/opt/pifnet env/bin/pifnet-train"
#: Options of `pifnet-train fit` that take a value; the rest are flags.
VALUED = {"-o", "--output", "--time-budget", "--init", "--device", "--threads", "--max-steps", "--progress"}
FLAGS = {"--resume", "--overwrite", "--allow-resample"}
START_FILE = "/w/enmap s2 x3.safetensors"

#: Values of (start, device, resume, allow_resample, threads, max_steps, time_budget_min).
PARAMETERS = (STARTS, DEVICES, (False, True), (False, True), (None, 3), (None, 4), (10.0, 0.5, 1.25))
#: Every combination: what the real-parser test runs.
COMBINATIONS = list(itertools.product(*PARAMETERS))
#: Every pair of values of any two parameters in at least one case: what the expectation test runs.
PAIRWISE = all_pairs(*PARAMETERS)


def parse_argv(argv: list[str]) -> tuple[dict[str, str], set[str], list[str]]:
    """Split a `pifnet-train fit` argv into (valued options, flags, positionals); fails on unknown or repeated options."""
    return split_argv(argv, [TRAINER, "fit"], VALUED, FLAGS)


def options_for(start, device, resume, resample, threads, max_steps, minutes, **paths) -> FitOptions:
    return FitOptions(
        hsi_path=paths.get("hsi", "/data/enmap hsi.tif"),
        msi_path=paths.get("msi", "/data/-s2.tif"),
        weights_path=paths.get("weights", "/out/my fit.safetensors"),
        time_budget_min=minutes,
        start=start,
        start_weights_path=paths.get("start_file", START_FILE) if start == "file" else None,
        resume=resume,
        device=device,
        threads=threads,
        max_steps=max_steps,
        allow_resample=resample,
    )


@pytest.mark.parametrize("start,device,resume,resample,threads,max_steps,minutes", PAIRWISE)
def test_argv_matches_options(start, device, resume, resample, threads, max_steps, minutes) -> None:
    options = options_for(start, device, resume, resample, threads, max_steps, minutes)
    values, flags, positionals = parse_argv(build_fit_argv(TRAINER, options))

    assert positionals == ["/data/enmap hsi.tif", "/data/-s2.tif"]
    expected = {"--time-budget": time_budget_arg(minutes), "--device": device, "--progress": "json",
                "-o": "/out/my fit.safetensors"}
    if not resume:  # a resumed fit keeps its start
        expected["--init"] = {"auto": "auto", "none": "none", "file": START_FILE}[start]
    if threads is not None:
        expected["--threads"] = str(threads)
    if max_steps is not None:
        expected["--max-steps"] = str(max_steps)
    assert values == expected
    # --overwrite would start over, so a resumed fit never gets it
    assert flags == ({"--resume"} if resume else {"--overwrite"}) | ({"--allow-resample"} if resample else set())


def test_pairwise_cases_cover_every_pair_of_values() -> None:
    assert uncovered_pairs(PAIRWISE, *PARAMETERS) == set()
    assert set(PAIRWISE) <= set(COMBINATIONS) and len(set(PAIRWISE)) == len(PAIRWISE) < len(COMBINATIONS) // 20
    assert PAIRWISE == all_pairs(*PARAMETERS)  # deterministic: the same cases on every run


@pytest.mark.parametrize("minutes,text", [(10, "600s"), (10.0, "600s"), (0.5, "30s"), (1.25, "75s"), (0.01, "0.6s"),
                                          (1 / 3, "20s"), (0.123, "7.38s"), (10080, "604800s")])
def test_time_budget_is_seconds_the_trainer_parses(minutes: float, text: str) -> None:
    assert time_budget_arg(minutes) == text
    assert re.fullmatch(r"\d+(\.\d+)?s", text)  # the trainer's duration syntax


@pytest.mark.parametrize(
    "changes,fragment",
    [
        ({"start": "bundled"}, "start is 'bundled'; expected one of auto, none, file"),
        ({"device": "gpu"}, "device is 'gpu'; expected one of auto, cpu, cuda"),
        ({"hsi_path": ""}, "HSI path is empty"),
        ({"weights_path": "/out/w.pt"}, "weights file '/out/w.pt' is not a .safetensors name"),
        ({"weights_path": "/out/.safetensors"}, "is not a .safetensors name"),
        ({"weights_path": "/out/W.SAFETENSORS"}, "is not a .safetensors name"),
        ({"time_budget_min": 0}, "time budget is 0 minutes; expected a number > 0"),
        ({"time_budget_min": float("nan")}, "time budget is nan minutes"),
        ({"time_budget_min": True}, "time budget is True minutes"),
        ({"start": "file"}, "start is 'a weights file' but no start weights file is given"),
        ({"threads": 0}, "threads is 0; expected an integer >= 1"),
        ({"max_steps": -1}, "max steps is -1; expected an integer >= 1"),
    ],
)
def test_bad_values_are_refused_with_a_message(changes: dict, fragment: str) -> None:
    base = {"hsi_path": "/a.tif", "msi_path": "/b.tif", "weights_path": "/w.safetensors"}
    with pytest.raises(OptionsError, match=re.escape(fragment)):
        FitOptions(**(base | changes))


def test_a_resumed_fit_needs_no_start_file_and_warns_about_the_start() -> None:
    options = FitOptions("/a.tif", "/b.tif", "/out/w.safetensors", start="file", resume=True)
    [warning] = fit_warnings(options)
    assert "start choice is ignored" in warning and "'/out/w.fit'" in warning
    assert fit_warnings(FitOptions("/a.tif", "/b.tif", "/w.safetensors", resume=True)) == []


def test_a_start_file_without_start_file_choice_is_ignored_with_a_warning() -> None:
    options = FitOptions("/a.tif", "/b.tif", "/w.safetensors", start="auto", start_weights_path="/s.safetensors")
    assert build_fit_argv(TRAINER, options)[build_fit_argv(TRAINER, options).index("--init") + 1] == "auto"
    [warning] = fit_warnings(options)
    assert "'/s.safetensors' is ignored" in warning and "'auto'" in warning


def test_the_fit_files_beside_the_weights(tmp_path: Path) -> None:
    weights = str(tmp_path / "my fit.safetensors")
    assert manifest_path(weights) == str(tmp_path / "my fit.json")
    assert run_folder(weights) == str(tmp_path / "my fit.fit")
    assert not can_resume(weights)
    options = FitOptions("/a.tif", "/b.tif", weights, resume=True)
    with pytest.raises(OptionsError, match=r"Resume is ticked but there is no fit to continue .* untick Resume"):
        check_resumable(options)
    (tmp_path / "my fit.fit").mkdir()
    (tmp_path / "my fit.fit" / "run.json").write_text("{}")
    assert can_resume(weights)
    check_resumable(options)
    check_resumable(FitOptions("/a.tif", "/b.tif", str(tmp_path / "new.safetensors")))  # no resume: nothing to check


@pytest.mark.parametrize(
    "text,expected",
    [
        ('{"validation": {"ahead_of_gsa": true}}', True),
        ('{"validation": {"ahead_of_gsa": false}}', False),
        ('{"validation": {"ahead_of_gsa": "yes"}}', None),
        ('{"validation": {}}', None),
        ("[1, 2]", None),
        ("{not json", None),
    ],
)
def test_manifest_verdict(tmp_path: Path, text: str, expected: bool | None) -> None:
    weights = str(tmp_path / "w.safetensors")
    assert manifest_verdict(weights) is None  # no manifest
    Path(manifest_path(weights)).write_text(text)
    assert manifest_verdict(weights) is expected


def test_argv_is_accepted_by_the_real_trainer_parser(tmp_path: Path) -> None:
    """Every combination parses with `pifnet-train fit`'s own click command into the same values."""
    cli = pytest.importorskip("training.cli", reason="pifnet-train's CLI not importable in this Python")
    from training.cli import parse_duration

    for name in ("hsi.tif", "msi.tif", "start.safetensors"):
        (tmp_path / name).write_bytes(b"")
    group = cli.cli
    for start, device, resume, resample, threads, max_steps, minutes in COMBINATIONS:
        options = options_for(start, device, resume, resample, threads, max_steps, minutes,
                              hsi=str(tmp_path / "hsi.tif"), msi=str(tmp_path / "msi.tif"),
                              weights=str(tmp_path / "w.safetensors"), start_file=str(tmp_path / "start.safetensors"))
        argv = build_fit_argv(TRAINER, options)
        ctx = group.make_context("pifnet-train", argv[1:2], resilient_parsing=True)
        command = group.get_command(ctx, "fit")
        params = command.make_context("fit", argv[2:], parent=ctx).params
        assert str(params["hsi"]) == options.hsi_path and str(params["msi"]) == options.msi_path
        assert str(params["output"]) == options.weights_path
        assert parse_duration(params["time_budget"]) == pytest.approx(minutes * 60.0)
        assert params["init"] == ("auto" if resume else options.init)
        assert params["resume"] is resume and params["overwrite"] is (not resume)
        assert params["device"] == device and params["allow_resample"] is resample
        assert params["threads"] == threads and params["max_steps"] == max_steps
        assert params["progress"] == "json"


def test_manifest_verdict_reads_what_a_fit_writes(tmp_path: Path) -> None:
    """The manifest's verdict key, as training/fit/report.py writes it."""
    report = pytest.importorskip("training.fit.report", reason="the trainer is not importable in this Python")
    row = {"psnr": 30.0, "ssim": 0.9, "sam": 2.0, "ergas": 3.0}
    table = {"pifnet": row, "gsa": {**row, "psnr": 31.0}, "bicubic": row}
    weights = str(tmp_path / "w.safetensors")
    Path(manifest_path(weights)).write_text(json.dumps({"validation": report.validation_section(table, {}, 4)}))
    assert manifest_verdict(weights) is False
