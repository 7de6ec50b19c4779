"""The process handling of the runner: streaming, Cancel (SIGTERM, then kill), signals.

These start small real Python child processes: the real engine cannot be made to ignore
SIGTERM or crash on demand. The real engine runs through the same code in the QGIS
integration tests (tests/qgis), cancel included.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from qgis_plugin.errors import EngineNotFoundError
from qgis_plugin.progress import ProgressEvent, StartEvent, TextLine
from qgis_plugin.runner import engine_temp_files, remove_files, run_engine

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")


def child(code: str) -> list[str]:
    return [sys.executable, "-u", "-c", code]


def test_events_stdout_and_text_arrive_in_order() -> None:
    code = (
        "import sys\n"
        "print('{\"event\": \"start\", \"engine_version\": \"0.1.0\", \"method\": \"gsa\", \"output\": \"/o.tif\", \"windows_total\": 2}', file=sys.stderr)\n"
        "print('hello on stdout')\n"
        "print('{\"event\": \"progress\", \"stage\": \"fuse\", \"fraction\": 0.5}', file=sys.stderr)\n"
        "print('not json', file=sys.stderr)\n"
        "print('{\"event\": \"error\", \"message\": \"Error: bad\", \"exit_code\": 1}', file=sys.stderr)\n"
        "sys.exit(1)\n"
    )
    events, stdout = [], []
    outcome = run_engine(child(code), dict(os.environ), events.append, lambda: False, on_stdout=stdout.append)
    assert outcome.returncode == 1 and not outcome.cancelled
    assert [type(e) for e in events[:2]] == [StartEvent, ProgressEvent]
    assert events[2] == TextLine("not json") and outcome.text_tail == ["not json"]
    assert outcome.errors == ["Error: bad"] and stdout == ["hello on stdout"]


def test_cancel_sends_sigterm_and_the_child_exits_by_itself() -> None:
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))\n"
        "print('{\"event\": \"progress\", \"stage\": \"fuse\", \"fraction\": 0.1}', file=sys.stderr)\n"
        "time.sleep(60)\n"
    )
    events: list = []
    start = time.monotonic()
    outcome = run_engine(child(code), dict(os.environ), events.append, lambda: bool(events), grace_s=30)
    assert outcome.cancelled and not outcome.killed and outcome.returncode == 143
    assert time.monotonic() - start < 20


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period() -> None:
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('{\"event\": \"progress\", \"stage\": \"fuse\", \"fraction\": 0.1}', file=sys.stderr)\n"
        "time.sleep(60)\n"
    )
    events: list = []
    start = time.monotonic()
    outcome = run_engine(child(code), dict(os.environ), events.append, lambda: bool(events), grace_s=0.5)
    assert outcome.cancelled and outcome.killed and outcome.returncode == -signal.SIGKILL
    assert time.monotonic() - start < 20


def test_death_by_signal_is_a_negative_returncode() -> None:
    outcome = run_engine(child("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"), dict(os.environ), lambda e: None, lambda: False)
    assert outcome.returncode == -signal.SIGSEGV and not outcome.cancelled


def test_a_raising_callback_does_not_leave_the_child_running() -> None:
    code = "import sys, time\nprint('{\"event\": \"progress\", \"fraction\": 0.1}', file=sys.stderr)\ntime.sleep(60)\n"

    def boom(event: object) -> None:
        raise RuntimeError("callback failed")

    start = time.monotonic()
    with pytest.raises(RuntimeError, match="callback failed"):
        run_engine(child(code), dict(os.environ), boom, lambda: False)
    assert time.monotonic() - start < 20


def test_missing_program(tmp_path: Path) -> None:
    with pytest.raises(EngineNotFoundError, match="could not be started"):
        run_engine([str(tmp_path / "pifnet-engine"), "fuse"], dict(os.environ), lambda e: None, lambda: False)


def test_engine_temporaries_are_found_and_removed(tmp_path: Path) -> None:
    out = tmp_path / "o [1].tif"
    temps = {tmp_path / ".o [1].tif.ab12.pifnet-tmp-raw.tif", tmp_path / ".o [1].tif.ab12.pifnet-tmp.tif"}
    for temp in temps:
        temp.write_bytes(b"")
    blocks = tmp_path / ".o [1].tif.ab12.pifnet-tmp-blocks-x1y2"  # the engine's folder of incomplete tiles
    blocks.mkdir()
    (blocks / "0.npz").write_bytes(b"")
    temps.add(blocks)
    blend = tmp_path / ".o [1].tif.ab12.pifnet-tmp-blend-z9"  # and of seam blocks
    blend.mkdir()
    (blend / "0_1.npz").write_bytes(b"")
    temps.add(blend)
    other = tmp_path / ".other.tif.ab12.pifnet-tmp.tif"
    other.write_bytes(b"")
    found = engine_temp_files(str(out))
    assert found == {str(t) for t in temps}
    assert remove_files(found | {str(out)}) == sorted(found)
    assert list(tmp_path.iterdir()) == [other]
