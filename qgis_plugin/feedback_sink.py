"""Show a program's events and stdout in a QGIS feedback (the log and the progress bar).

Pure Python (no ``qgis`` import): the feedback is anything with QgsProcessingFeedback's
reporting methods (:class:`Feedback`), so the unit tests pass a recorder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from .progress import (
    DoneEvent,
    EngineEvent,
    ErrorEvent,
    ProgressEvent,
    ProgressTracker,
    StartEvent,
    TextLine,
    WarningEvent,
)

#: How ``pifnet-train``'s training-step messages begin ("step 12, loss 0.00449, 0.3 min"); the
#: other fit messages (start, plan, validation scores, stop) are always logged.
STEP_LINE_PREFIX = "step "
#: Prefix of the lines a program prints for the user to heed (the fit's verdict when not ahead of GSA).
WARNING_PREFIX = "Warning: "


class Feedback(Protocol):
    """The part of ``QgsProcessingFeedback`` the sinks use."""

    def setProgress(self, progress: float) -> None: ...  # noqa: N802 (QGIS API)

    def pushInfo(self, info: str) -> None: ...  # noqa: N802

    def pushWarning(self, warning: str) -> None: ...  # noqa: N802

    def pushConsoleInfo(self, info: str) -> None: ...  # noqa: N802

    def reportError(self, error: str, fatalError: bool = False) -> None: ...  # noqa: N802, N803


class EventSink:
    """Shows events in the log and progress bar.

    A fuse reports every window, so only the first message of each stage is logged
    (``log_every_s`` None); its done event's report summary is logged too. A fit reports a few messages (start, plan, validation scores) and a
    training-step line every couple of seconds: with ``log_every_s`` set, every message is
    logged except step lines (:data:`STEP_LINE_PREFIX`), which are logged at most once per
    ``log_every_s`` seconds.
    """

    def __init__(
        self,
        feedback: Feedback,
        tracker: ProgressTracker | None = None,
        log_every_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.feedback = feedback
        self.tracker = tracker or ProgressTracker()
        self.log_every_s = log_every_s
        self.clock = clock
        self.stage = ""
        self._last_step_log: float | None = None

    def __call__(self, event: EngineEvent) -> None:
        fb = self.feedback
        if isinstance(event, ProgressEvent):
            fb.setProgress(self.tracker.update(event))
            self._log_progress(event)
        elif isinstance(event, StartEvent):
            windows = "" if event.windows_total is None else f", {event.windows_total} windows"
            fb.pushInfo(f"pifnet-engine {event.engine_version}: method {event.method}{windows} -> {event.output}")
        elif isinstance(event, WarningEvent):
            fb.pushWarning(event.message)
        elif isinstance(event, ErrorEvent):
            pass  # the run's exception carries the message (outcome.program_said); QGIS shows that once
        elif isinstance(event, DoneEvent):
            took = "" if event.seconds is None else f" in {event.seconds:.1f} s"
            fb.pushInfo(f"Done{took}: {event.output}")
            if event.summary:
                fb.pushInfo(f"Quality report: {event.summary}")
        elif isinstance(event, TextLine):
            fb.pushConsoleInfo(event.text)

    def _log_progress(self, event: ProgressEvent) -> None:
        new_stage = bool(event.stage) and event.stage != self.stage
        if new_stage:
            self.stage = event.stage
        if self.log_every_s is None:
            if new_stage:  # one line per stage, not per window
                message = event.message.removeprefix(f"{event.stage}: ")  # "report: quicklook"
                self.feedback.pushInfo(f"Stage {event.stage}: {message}" if message else f"Stage {event.stage}")
            return
        if not event.message:
            return
        if event.message.startswith(STEP_LINE_PREFIX):
            now = self.clock()
            if self._last_step_log is not None and now - self._last_step_log < self.log_every_s:
                return
            self._last_step_log = now
        self.feedback.pushInfo(event.message)


class StdoutSink:
    """Shows a program's stdout lines: ``Warning: ...`` lines as warnings, the rest (tables) as console text."""

    def __init__(self, feedback: Feedback) -> None:
        self.feedback = feedback
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        if line.startswith(WARNING_PREFIX):
            self.feedback.pushWarning(line)
        else:
            self.feedback.pushConsoleInfo(line)
