"""Progress and message reporting on stderr: a terminal bar, JSON lines for machines, or nothing.

The JSON-lines format is a contract with the QGIS plugin (docs/cli.md): in ``json`` mode every
line written on stderr is one JSON object with an ``event`` field.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO


class Reporter:
    """Base reporter: plain ``Warning:``/``Error:`` lines, no progress."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self._last_fraction = 0.0

    def _clamp(self, fraction: float) -> float:
        self._last_fraction = max(self._last_fraction, min(max(fraction, 0.0), 1.0))
        return self._last_fraction

    def start(self, **fields: object) -> None:
        pass

    def warning(self, message: str) -> None:
        self.stream.write(f"Warning: {message}\n")
        self.stream.flush()

    def progress(self, stage: str, fraction: float, done: int, total: int, message: str = "") -> None:
        self._clamp(fraction)

    def done(self, output: str, seconds: float, files: dict[str, str] | None = None,
             summary: str | None = None) -> None:
        """The run finished: ``output`` written; ``files``: other files written (e.g. the report's,
        by kind); ``summary``: one line about the result."""

    def error(self, message: str, exit_code: int) -> None:
        self.stream.write(f"Error: {message}\n")
        self.stream.flush()


class BarReporter(Reporter):
    """A one-line progress bar redrawn in place (for terminals)."""

    width = 30

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._t0 = time.monotonic()
        self._drawn = False

    def _newline(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self._drawn = False

    def warning(self, message: str) -> None:
        self._newline()
        super().warning(message)

    def progress(self, stage: str, fraction: float, done: int, total: int, message: str = "") -> None:
        f = self._clamp(fraction)
        filled = int(round(f * self.width))
        elapsed = time.monotonic() - self._t0
        eta = f"{elapsed / f * (1 - f):5.0f}s left" if f > 0.01 else "         "
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{stage:<8} [{bar}] {f:6.1%} {done}/{total} windows {eta}")
        self.stream.flush()
        self._drawn = True

    def done(self, output: str, seconds: float, files: dict[str, str] | None = None,
             summary: str | None = None) -> None:
        self._newline()
        self.stream.write(f"Wrote {output} in {seconds:.1f} s\n")
        self.stream.flush()

    def error(self, message: str, exit_code: int) -> None:
        self._newline()
        super().error(message, exit_code)


class JsonReporter(Reporter):
    """One JSON object per line (see docs/cli.md)."""

    def _emit(self, **obj: object) -> None:
        self.stream.write(json.dumps(obj) + "\n")
        self.stream.flush()

    def start(self, **fields: object) -> None:
        self._emit(event="start", **fields)

    def warning(self, message: str) -> None:
        self._emit(event="warning", message=message)

    def progress(self, stage: str, fraction: float, done: int, total: int, message: str = "") -> None:
        self._emit(event="progress", stage=stage, fraction=round(self._clamp(fraction), 6),
                   windows_done=done, windows_total=total, message=message)

    def done(self, output: str, seconds: float, files: dict[str, str] | None = None,
             summary: str | None = None) -> None:
        extra: dict[str, object] = {}
        if files:
            extra["files"] = files
        if summary:
            extra["summary"] = summary
        self._emit(event="done", output=output, seconds=round(seconds, 3), **extra)

    def error(self, message: str, exit_code: int) -> None:
        self._emit(event="error", message=message, exit_code=exit_code)


def make_reporter(kind: str | None, stream: TextIO | None = None) -> Reporter:
    """``bar``, ``json`` or ``none``; ``None`` picks ``bar`` on a terminal, else ``none``."""
    stream = stream if stream is not None else sys.stderr
    if kind is None:
        kind = "bar" if stream.isatty() else "none"
    return {"bar": BarReporter, "json": JsonReporter, "none": Reporter}[kind](stream)
