"""Helpers of the QGIS integration tests: a feedback that records, a cancel on progress, output paths, live processes.

Imported by the test modules only inside tests (it imports ``qgis`` lazily).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def make_feedback() -> Any:
    """A QgsProcessingFeedback that records what the algorithm reported."""
    from qgis.core import QgsProcessingFeedback

    class Recorder(QgsProcessingFeedback):
        def __init__(self) -> None:
            super().__init__()
            self.infos: list[str] = []
            self.errors: list[str] = []
            self.warnings: list[str] = []
            self.console: list[str] = []
            self.commands: list[str] = []
            self.progress_values: list[float] = []
            self.progressChanged.connect(self.progress_values.append)

        def pushInfo(self, info: str) -> None:  # noqa: N802 (QGIS API)
            self.infos.append(info)
            super().pushInfo(info)

        def pushWarning(self, warning: str) -> None:  # noqa: N802
            self.warnings.append(warning)
            super().pushWarning(warning)

        def pushConsoleInfo(self, info: str) -> None:  # noqa: N802
            self.console.append(info)
            super().pushConsoleInfo(info)

        def pushCommandInfo(self, info: str) -> None:  # noqa: N802
            self.commands.append(info)
            super().pushCommandInfo(info)

        def reportError(self, error: str, fatalError: bool = False) -> None:  # noqa: N802, N803
            self.errors.append(error)
            super().reportError(error, fatalError)

    return Recorder()


def cancel_once_above(feedback: Any, percent: float) -> list[float]:
    """Cancel ``feedback`` at its first progress value above ``percent``; the list gets that value."""
    cancelled_at: list[float] = []

    def cancel_once(value: float) -> None:  # called on the program's progress lines
        if value > percent and not cancelled_at:
            cancelled_at.append(value)
            feedback.cancel()

    feedback.progressChanged.connect(cancel_once)
    return cancelled_at


def output_path(result: Any) -> str:
    """The file of an output value (a path, or a layer QGIS loaded)."""
    from qgis.core import QgsMapLayer

    return result.source() if isinstance(result, QgsMapLayer) else str(result)


def processes_mentioning(path: Path) -> list[int]:
    """PIDs of live processes whose command line mentions ``path`` (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(path).encode() in cmdline:
            pids.append(int(entry.name))
    return pids
