"""The quality report ``pifnet-engine fuse`` writes beside the fused raster, as the plugin finds it.

Pure Python (no ``qgis`` import). Beside ``out.tif`` the engine writes ``out.report.html``
(self-contained), ``out.report.json`` and ``out.quicklook.png`` unless ``--no-report`` is given
(``docs/cli.md``); its ``done`` event names them (``files``). The plugin takes the HTML's path
from that event and falls back to the naming rule, but only for a file this run wrote: an older
run's report left beside the raster is not this raster's report.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from dataclasses import dataclass

from .file_identity import FileState, file_state
from .progress import DoneEvent

#: Kind of each file in the ``done`` event's ``files``.
HTML_KIND = "report"


@dataclass(frozen=True)
class ReportFiles:
    """The report's three files beside one fused raster (absolute or as given)."""

    html: str
    json: str
    quicklook: str

    def all(self) -> tuple[str, str, str]:
        return (self.html, self.json, self.quicklook)


def report_files_beside(output_path: str) -> ReportFiles:
    """The engine's names for the report of ``output_path``: ``out.tif`` -> ``out.report.html``, ...

    The stem is the file name without its last suffix (``a.b.tif`` -> ``a.b``), as the engine has it.
    """
    folder, name = os.path.split(output_path)
    stem = os.path.splitext(name)[0] or name
    return ReportFiles(
        os.path.join(folder, f"{stem}.report.html"),
        os.path.join(folder, f"{stem}.report.json"),
        os.path.join(folder, f"{stem}.quicklook.png"),
    )


def report_states(output_path: str) -> dict[str, FileState | None]:
    """Path -> :func:`file_state` of each report file of ``output_path``, before a run."""
    return {path: file_state(path) for path in report_files_beside(output_path).all()}


def changed_report_files(output_path: str, before: Mapping[str, FileState | None]) -> set[str]:
    """The report files of ``output_path`` that exist now and differ from ``before`` (this run wrote them)."""
    return {path for path in report_files_beside(output_path).all()
            if os.path.lexists(path) and file_state(path) != before.get(path)}


def report_temp_files(output_path: str) -> set[str]:
    """Temporary files of the report's atomic writes now on disk (``.out.report.html.XXXX.tmp``).

    The engine removes them itself unless it is killed.
    """
    found: set[str] = set()
    for path in report_files_beside(output_path).all():
        folder, name = os.path.split(path)
        found |= set(glob.glob(os.path.join(glob.escape(folder or "."), f".{glob.escape(name)}.*.tmp")))
    return found


def written_report(output_path: str, done: DoneEvent | None, before: Mapping[str, FileState | None]) -> str | None:
    """The HTML report this run wrote for ``output_path``, or None when it wrote none.

    The ``done`` event's ``files["report"]`` when that file exists; else (an engine that did not
    name it) ``out.report.html`` beside the output when this run changed it (``before``: the
    states from :func:`report_states` taken before the run).
    """
    named = done.files.get(HTML_KIND) if done is not None else None
    if named and os.path.isfile(named):
        return named
    html = report_files_beside(output_path).html
    return html if html in changed_report_files(output_path, before) and os.path.isfile(html) else None
