"""Running ``pifnet-engine`` in-process exactly as the console script does (tests only)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from pifnet_engine.cli.main import main


def run(args: list[str]) -> tuple[int, str]:
    """Run the CLI with ``args``; returns (exit code, stderr). One-line errors, exit codes."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, err.getvalue()


def fuse(hsi: Path, msi: Path, out: Path, *extra: str, report: bool = False) -> Path:
    """``pifnet-engine fuse HSI MSI -o OUT --progress none [--no-report] EXTRA...``; fails the test on
    non-zero exit. The report is off unless asked for (the report's own tests ask)."""
    args = ["fuse", str(hsi), str(msi), "-o", str(out), "--progress", "none",
            *([] if report else ["--no-report"]), *extra]
    code, err = run(args)
    assert code == 0, f"pifnet-engine {' '.join(args)} exited {code}: {err}"
    return out
