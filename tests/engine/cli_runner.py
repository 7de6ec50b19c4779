"""Running ``pifnet-engine`` in-process exactly as the console script does (tests only)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from pifnet_engine.cli.main import main


def run(args: list[str], report: bool = False) -> tuple[int, str]:
    """Run the CLI with ``args``; returns (exit code, stderr). One-line errors, exit codes.

    A ``fuse`` runs without its quality report unless ``report`` (or ``--report`` in ``args``): the
    report has its own tests, and it would double the time of every other fusion test.
    """
    if args[:1] == ["fuse"] and not report and "--report" not in args and "--no-report" not in args:
        args = [*args, "--no-report"]
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
    args = ["fuse", str(hsi), str(msi), "-o", str(out), "--progress", "none", *extra]
    code, err = run(args, report=report)
    assert code == 0, f"pifnet-engine {' '.join(args)} exited {code}: {err}"
    return out
