"""Parse the ``--progress json`` stderr lines of ``pifnet-engine fuse`` and ``pifnet-train fit``.

Pure Python (no ``qgis`` import). One line in, one event out; a line that is not a well-formed
event (plain text from a library, a traceback after a crash, truncated JSON, an event type a newer
engine added) becomes a :class:`TextLine` so it can still be shown and kept for diagnostics —
parsing never raises.

Line format (``docs/cli.md``)::

    {"event": "start", "engine_version": "0.1.0", "method": "gsa", "output": "/abs/out.tif", "windows_total": 24}
    {"event": "warning", "message": "..."}
    {"event": "progress", "stage": "fuse", "fraction": 0.42, "windows_done": 10, "windows_total": 24, "message": "..."}
    {"event": "done", "output": "/abs/out.tif", "seconds": 12.3,
     "files": {"report": "/abs/out.report.html", "report_json": "...", "quicklook": "..."}, "summary": "..."}
    {"event": "error", "message": "...", "exit_code": 1}

A fuse's stages are ``stats``, ``fuse``, ``finalize`` and, unless ``--no-report``, ``report`` (the
quality report, after the raster is written; ``finalize`` ends the run). Its ``done`` event has
``files`` and ``summary`` when the report was written.
``pifnet-train fit`` writes the same lines without a ``start`` event (stages ``prepare`` and
``fit``; ``windows_done`` / ``windows_total`` are the step and the planned steps), and its
``done`` event adds ``"ahead_of_gsa": true|false``, the verdict of its held-out check.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Union

#: The stages of a fuse's progress events, in the order they first appear.
FUSE_STAGES: tuple[str, ...] = ("stats", "fuse", "finalize", "report")
#: The stages of a fit's progress events.
FIT_STAGES: tuple[str, ...] = ("prepare", "fit")


@dataclass(frozen=True)
class StartEvent:
    """The engine accepted the job; ``windows_total`` windows will be fused."""

    engine_version: str
    method: str
    output: str
    windows_total: int | None


@dataclass(frozen=True)
class WarningEvent:
    """Something the user should know; the run goes on."""

    message: str


@dataclass(frozen=True)
class ProgressEvent:
    """``fraction`` of the whole job done, in [0, 1]; ``stage`` one of :data:`FUSE_STAGES` or
    :data:`FIT_STAGES` (a newer program may add others: they are shown, not refused)."""

    stage: str
    fraction: float
    windows_done: int | None
    windows_total: int | None
    message: str


@dataclass(frozen=True)
class DoneEvent:
    """The output is complete; ``seconds`` is the program's wall time in seconds.

    ``ahead_of_gsa``: for a fit, whether the fitted PIF-Net beat GSA on its held-out block
    (None for a fuse, which does not say). ``files``: for a fuse that wrote its quality report,
    kind (``report``, ``report_json``, ``quicklook``) -> absolute path; ``summary`` the report's
    one-line summary (None without a report).
    """

    output: str
    seconds: float | None
    ahead_of_gsa: bool | None = None
    files: dict[str, str] = field(default_factory=dict)
    summary: str | None = None


@dataclass(frozen=True)
class ErrorEvent:
    """The engine failed with ``message`` and is about to exit with ``exit_code``."""

    message: str
    exit_code: int | None


@dataclass(frozen=True)
class TextLine:
    """A stderr line that is not a well-formed event; ``text`` is the line without its newline."""

    text: str


EngineEvent = Union[StartEvent, WarningEvent, ProgressEvent, DoneEvent, ErrorEvent, TextLine]


def parse_progress_line(line: str) -> EngineEvent | None:
    """The event on one stderr ``line``; ``None`` for a blank line. Never raises."""
    text = line.rstrip("\r\n")
    if not text.strip():
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return TextLine(text)
    if not isinstance(obj, dict):
        return TextLine(text)
    try:
        event = _event_from_dict(obj)
    except (KeyError, TypeError, ValueError):
        return TextLine(text)
    return event if event is not None else TextLine(text)


def _event_from_dict(obj: dict[str, Any]) -> EngineEvent | None:
    kind = obj.get("event")
    if kind == "start":
        return StartEvent(
            engine_version=_str(obj["engine_version"]),
            method=_str(obj["method"]),
            output=_str(obj["output"]),
            windows_total=_opt_int(obj.get("windows_total")),
        )
    if kind == "warning":
        return WarningEvent(_str(obj["message"]))
    if kind == "progress":
        return ProgressEvent(
            stage=_str(obj.get("stage", "")),
            fraction=_fraction(obj["fraction"]),
            windows_done=_opt_int(obj.get("windows_done")),
            windows_total=_opt_int(obj.get("windows_total")),
            message=_str(obj.get("message", "")),
        )
    if kind == "done":
        seconds = obj.get("seconds")
        summary = obj.get("summary")
        return DoneEvent(
            _str(obj["output"]),
            None if seconds is None else _finite(seconds),
            _opt_bool(obj.get("ahead_of_gsa")),
            _str_map(obj.get("files")),
            None if summary is None else _str(summary),
        )
    if kind == "error":
        return ErrorEvent(_str(obj["message"]), _opt_int(obj.get("exit_code")))
    return None


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _str_map(value: Any) -> dict[str, str]:
    """A JSON object of strings (``{}`` for None)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {value!r}")
    return {_str(k): _str(v) for k, v in value.items()}


def _finite(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)


def _fraction(value: Any) -> float:
    """A finite number clamped to [0, 1] (rounding may put it a hair outside)."""
    return min(1.0, max(0.0, _finite(value)))


def _opt_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise TypeError(f"expected true or false, got {value!r}")


def _opt_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


class ProgressTracker:
    """Turns progress events into a non-decreasing percentage for a progress bar.

    The job's fractions 0..1 map onto ``low_percent``..``high_percent`` (0..100 for a job run
    alone; a part of it when one algorithm runs several jobs, e.g. a fit then a fuse).
    """

    def __init__(self, low_percent: float = 0.0, high_percent: float = 100.0) -> None:
        if not 0.0 <= low_percent <= high_percent <= 100.0:
            raise ValueError(
                f"progress range {low_percent}..{high_percent} %; expected 0 <= low <= high <= 100"
            )
        self.low_percent, self.high_percent = low_percent, high_percent
        self.percent = low_percent

    def update(self, event: ProgressEvent) -> float:
        """The percentage after ``event``; never lower than the previous one."""
        span = self.high_percent - self.low_percent
        self.percent = max(self.percent, self.low_percent + span * event.fraction)
        return self.percent
