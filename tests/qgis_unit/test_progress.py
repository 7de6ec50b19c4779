"""Progress-line parsing from a recorded engine transcript, and from malformed lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qgis_plugin.progress import (
    FUSE_STAGES,
    DoneEvent,
    ErrorEvent,
    ProgressEvent,
    ProgressTracker,
    StartEvent,
    TextLine,
    WarningEvent,
    parse_progress_line,
)

DATA = Path(__file__).resolve().parent / "data"


def read_lines(name: str) -> list[str]:
    return (DATA / name).read_text(encoding="utf-8").splitlines(keepends=True)


def test_recorded_transcript_parses_into_the_expected_events() -> None:
    """stderr of a real `pifnet-engine fuse --progress json` run (see data/README.md)."""
    lines = read_lines("fuse_gsa_transcript.jsonl")
    events = [parse_progress_line(line) for line in lines]

    assert not any(isinstance(e, TextLine) for e in events), "a well-formed line was not recognised"
    start = events[0]
    assert isinstance(start, StartEvent) and start.method == "gsa" and start.engine_version == "0.1.0"
    assert start.windows_total is not None and start.windows_total > 1
    assert isinstance(events[-1], DoneEvent) and events[-1].output == start.output
    progress = [e for e in events if isinstance(e, ProgressEvent)]
    assert len(progress) >= start.windows_total
    fractions = [e.fraction for e in progress]
    assert fractions == sorted(fractions) and 0.0 <= fractions[0] and fractions[-1] == pytest.approx(1.0)
    stages = [e.stage for e in progress]
    assert set(stages) == set(FUSE_STAGES) == {"stats", "fuse", "finalize", "report"}
    # the report comes after the raster is written, and finalize closes the run
    assert stages.index("report") > max(i for i, st in enumerate(stages) if st == "fuse") and stages[-1] == "finalize"
    fuse = [e for e in progress if e.stage == "fuse"]
    assert fuse[-1].windows_done == fuse[-1].windows_total == start.windows_total
    done = events[-1]
    assert set(done.files) == {"report", "report_json", "quicklook"}
    assert done.files["report"] == "/tmp/pfx/fused.report.html" and done.files["quicklook"] == "/tmp/pfx/fused.quicklook.png"
    assert done.summary.startswith("spatial consistency ") and "Reduced resolution: " in done.summary
    # every line is one JSON object, and the parser kept every field it knows
    for line, event in zip(lines, events, strict=True):
        raw = json.loads(line)
        if isinstance(event, ProgressEvent):
            assert event.fraction == pytest.approx(raw["fraction"]) and event.message == raw.get("message", "")


def test_error_and_warning_events() -> None:
    warning = parse_progress_line('{"event": "warning", "message": "HSI is warped onto the MSI grid: CRS differs"}\n')
    assert warning == WarningEvent("HSI is warped onto the MSI grid: CRS differs")
    error = parse_progress_line('{"event": "error", "message": "Error: HSI has no CRS: a.tif", "exit_code": 1}')
    assert error == ErrorEvent("Error: HSI has no CRS: a.tif", 1)


MALFORMED = [
    '{"event": "progress", "stage": "fuse", "fraction": 0.4',  # truncated (engine killed mid-line)
    "Traceback (most recent call last):",
    '  File "/x/pipeline.py", line 12, in run',
    "[1, 2, 3]",
    '"a string"',
    "42",
    "null",
    '{"event": "telemetry", "x": 1}',  # unknown event (a newer engine)
    '{"message": "no event field"}',
    '{"event": "progress", "stage": "fuse"}',  # no fraction
    '{"event": "progress", "fraction": "0.5"}',  # fraction as text
    '{"event": "progress", "fraction": NaN}',  # json accepts NaN; it is not a fraction
    '{"event": "progress", "fraction": Infinity}',
    '{"event": "progress", "fraction": true}',
    '{"event": "progress", "fraction": 0.5, "windows_done": 2.5}',
    '{"event": "start", "method": "gsa"}',  # missing engine_version / output
    '{"event": "error", "message": 17}',
    '{"event": "done"}',
    '{"event": "done", "output": "/o.tif", "files": ["/o.report.html"]}',  # files not an object
    '{"event": "done", "output": "/o.tif", "files": {"report": 3}}',
    '{"event": "done", "output": "/o.tif", "summary": 0.97}',
    "\x00\x01 binary garbage \ufffd",
    "Warning: plain-text warning from an older engine",
]


@pytest.mark.parametrize("line", MALFORMED)
def test_malformed_lines_become_text_never_raise(line: str) -> None:
    assert parse_progress_line(line + "\n") == TextLine(line)


@pytest.mark.parametrize("line", ["", "\n", "   \r\n", "\t"])
def test_blank_lines_are_skipped(line: str) -> None:
    assert parse_progress_line(line) is None


def test_crlf_and_extra_fields_are_accepted() -> None:
    event = parse_progress_line('{"event": "progress", "stage": "fuse", "fraction": 0.25, "gpu_mem_mb": 812}\r\n')
    assert event == ProgressEvent("fuse", 0.25, None, None, "")


def test_fraction_is_clamped_into_zero_one() -> None:
    assert parse_progress_line('{"event": "progress", "fraction": 1.0000001}').fraction == 1.0
    assert parse_progress_line('{"event": "progress", "fraction": -1e-9}').fraction == 0.0


def test_transcript_with_noise_keeps_events_and_text_in_order() -> None:
    lines = read_lines("fuse_gsa_transcript.jsonl")
    noisy = [lines[0], "some library chatter\n", "\n", *lines[1:3], MALFORMED[0] + "\n"]
    events = [parse_progress_line(line) for line in noisy]
    assert [type(e).__name__ for e in events] == ["StartEvent", "TextLine", "NoneType", *[type(parse_progress_line(l)).__name__ for l in lines[1:3]], "TextLine"]


def test_tracker_percentage_never_goes_down() -> None:
    tracker = ProgressTracker()
    steps = [0.1, 0.3, 0.2, 0.3, 1.0]
    assert [tracker.update(ProgressEvent("fuse", f, None, None, "")) for f in steps] == [10.0, 30.0, 30.0, 30.0, 100.0]


def test_a_fits_done_event_carries_its_verdict() -> None:
    line = '{"event": "done", "output": "/o/w.safetensors", "seconds": 21.5, "ahead_of_gsa": false}'
    assert parse_progress_line(line) == DoneEvent("/o/w.safetensors", 21.5, False)
    assert parse_progress_line('{"event": "done", "output": "/o.tif", "seconds": 1}').ahead_of_gsa is None
    bad = '{"event": "done", "output": "/o/w.safetensors", "ahead_of_gsa": "no"}'
    assert parse_progress_line(bad) == TextLine(bad)


def test_tracker_maps_fractions_onto_its_part_of_the_bar() -> None:
    fit, fuse = ProgressTracker(0.0, 80.0), ProgressTracker(80.0, 100.0)
    assert fit.percent == 0.0 and fuse.percent == 80.0
    assert fit.update(ProgressEvent("fit", 0.5, None, None, "")) == 40.0
    assert fit.update(ProgressEvent("fit", 1.0, None, None, "")) == 80.0
    assert fuse.update(ProgressEvent("fuse", 0.5, None, None, "")) == 90.0
    with pytest.raises(ValueError, match="progress range 80.0..20.0 %"):
        ProgressTracker(80.0, 20.0)


def test_recorded_fit_transcript_parses_into_the_expected_events() -> None:
    """stderr of a real `pifnet-train fit --progress json` run (see data/README.md)."""
    lines = read_lines("fit_transcript.jsonl")
    events = [parse_progress_line(line) for line in lines]

    assert not any(isinstance(e, (TextLine, StartEvent)) for e in events), "a fit has no start event, and no line is text"
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.output.endswith("w.safetensors") and isinstance(done.ahead_of_gsa, bool)
    progress = [e for e in events if isinstance(e, ProgressEvent)]
    assert {e.stage for e in progress} == {"prepare", "fit"}
    assert progress[0].stage == "prepare" and progress[0].message.startswith("start: ")
    fractions = [e.fraction for e in progress]
    assert fractions == sorted(fractions) and fractions[-1] <= 1.0
    steps = [e.windows_done for e in progress if e.stage == "fit" and e.message.startswith("step ")]
    assert steps and steps == sorted(steps)
    tracker = ProgressTracker(0.0, 80.0)
    assert max(tracker.update(e) for e in progress) <= 80.0


def test_a_fuses_done_event_without_a_report_has_no_files() -> None:
    """``--no-report`` (or a report the data do not allow): no ``files``, no ``summary``."""
    event = parse_progress_line('{"event": "done", "output": "/o.tif", "seconds": 4.2}')
    assert event == DoneEvent("/o.tif", 4.2) and event.files == {} and event.summary is None
    with_nulls = parse_progress_line('{"event": "done", "output": "/o.tif", "seconds": 4.2, "files": null, "summary": null}')
    assert with_nulls == event
