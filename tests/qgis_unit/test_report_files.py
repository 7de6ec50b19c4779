"""Finding the quality report a fuse wrote: the done event's path, else the naming rule for a file this run changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qgis_plugin.progress import DoneEvent
from qgis_plugin.report_files import (
    changed_report_files,
    report_files_beside,
    report_states,
    report_temp_files,
    written_report,
)


@pytest.mark.parametrize(
    "output,stem",
    [("/d/out.tif", "/d/out"), ("/d/a.b.tiff", "/d/a.b"), ("/d/my scene.TIF", "/d/my scene"), ("out.tif", "out")],
)
def test_names_follow_the_engines_rule(output: str, stem: str) -> None:
    files = report_files_beside(output)
    assert files.all() == (f"{stem}.report.html", f"{stem}.report.json", f"{stem}.quicklook.png")


def write(path: Path, text: str = "x") -> None:
    path.write_text(text, encoding="utf-8")


def test_the_done_events_path_wins(tmp_path: Path) -> None:
    output = str(tmp_path / "out.tif")
    named = tmp_path / "elsewhere.html"
    write(named)
    done = DoneEvent(output, 1.0, files={"report": str(named), "quicklook": "/q.png"})
    assert written_report(output, done, report_states(output)) == str(named)


def test_without_a_named_file_only_a_report_this_run_wrote_counts(tmp_path: Path) -> None:
    output = str(tmp_path / "out.tif")
    html = tmp_path / "out.report.html"
    write(html, "an older run's report")
    before = report_states(output)
    done = DoneEvent(output, 1.0)  # no files: --no-report, or a report the data did not allow
    assert written_report(output, done, before) is None
    assert written_report(output, None, before) is None
    write(html, "this run's report, longer than the old one")
    assert written_report(output, done, before) == str(html)
    assert changed_report_files(output, before) == {str(html)}
    # a named file that does not exist falls back to the rule as well
    gone = DoneEvent(output, 1.0, files={"report": str(tmp_path / "gone.html")})
    assert written_report(output, gone, before) == str(html)


def test_a_new_file_counts_as_changed_and_a_removed_one_does_not(tmp_path: Path) -> None:
    output = str(tmp_path / "out.tif")
    json_path = tmp_path / "out.report.json"
    write(json_path)
    before = report_states(output)
    os.remove(json_path)
    write(tmp_path / "out.quicklook.png")
    assert changed_report_files(output, before) == {str(tmp_path / "out.quicklook.png")}


def test_temporary_files_of_the_atomic_writes(tmp_path: Path) -> None:
    output = str(tmp_path / "my [scene].tif")  # glob characters in the name
    expected = {tmp_path / ".my [scene].report.html.k2j3h4.tmp", tmp_path / ".my [scene].quicklook.png.abcd.tmp"}
    for path in [*expected, tmp_path / ".other.report.html.k2j3h4.tmp", tmp_path / "my [scene].report.html"]:
        write(path)
    assert report_temp_files(output) == {str(p) for p in expected}
