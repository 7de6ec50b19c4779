"""Run the engine as a child process: stream its events, honour Cancel, report how it ended.

Pure Python (no ``qgis`` import): QGIS is reached only through the callbacks. Two reader
threads copy stdout and stderr lines into a queue; the calling thread parses them, calls
``on_event`` and polls ``is_cancelled`` at least every ``poll_s`` seconds. Cancel sends the
engine SIGTERM (``Popen.terminate``; the engine then removes its partial output and exits 143;
``pifnet-train`` writes its best weights so far first) and, if it is still running ``grace_s``
seconds later, kills it.
"""

from __future__ import annotations

import glob
import os
import shutil
import queue
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, cast

from .errors import EngineNotFoundError
from .programs import ENGINE, Program
from .progress import DoneEvent, EngineEvent, ErrorEvent, TextLine, parse_progress_line

#: Seconds between SIGTERM and SIGKILL after Cancel.
DEFAULT_GRACE_S = 10.0
#: Most seconds between two checks of the cancel flag.
DEFAULT_POLL_S = 0.1
#: Non-event stderr lines kept for the error message (the end of a traceback, say).
TEXT_TAIL_LINES = 12
#: Seconds to wait for the pipes to close after the engine exited (a grandchild may hold them).
PIPE_DRAIN_S = 5.0


@dataclass
class RunOutcome:
    """How one engine run ended.

    ``returncode`` is ``Popen.returncode`` (negative = killed by that signal on POSIX);
    ``cancelled`` is True when Cancel stopped it; ``killed`` when it had to be killed after
    ``grace_s``; ``errors`` are the messages of its error events; ``text_tail`` the last
    stderr lines that were not events; ``done`` its done event; ``seconds`` the wall time.
    """

    returncode: int
    cancelled: bool = False
    killed: bool = False
    errors: list[str] = field(default_factory=list)
    text_tail: list[str] = field(default_factory=list)
    done: DoneEvent | None = None
    seconds: float = 0.0


def _pump(stream: IO[str], tag: str, lines: "queue.Queue[tuple[str, str | None]]") -> None:
    """Copy ``stream``'s lines into ``lines`` as ``(tag, line)``, then ``(tag, None)`` at EOF."""
    try:
        for line in stream:
            lines.put((tag, line))
    finally:
        lines.put((tag, None))


def start_engine(
    argv: Sequence[str], env: Mapping[str, str], cwd: str | None = None, program: Program = ENGINE
) -> subprocess.Popen:
    """Start ``argv`` (running ``program``) with pipes for stdout/stderr and no stdin, in ``env``;
    no console window."""
    try:
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        )
    except (FileNotFoundError, PermissionError) as err:
        raise EngineNotFoundError(
            f"{program.title} could not be started: '{argv[0]}' ({err.strerror}); expected an "
            f"executable {program.name} program; check the {program.title} setting"
        ) from err


def run_engine(
    argv: Sequence[str],
    env: Mapping[str, str],
    on_event: Callable[[EngineEvent], None],
    is_cancelled: Callable[[], bool],
    on_stdout: Callable[[str], None] | None = None,
    grace_s: float = DEFAULT_GRACE_S,
    poll_s: float = DEFAULT_POLL_S,
    cwd: str | None = None,
    program: Program = ENGINE,
) -> RunOutcome:
    """Run ``argv`` (the engine, or another ``program`` with the same JSON lines) to its end (or
    until cancelled) and say how it ended.

    ``on_event`` gets every parsed stderr event (blank lines are skipped); ``on_stdout`` every
    stdout line without its newline. Both are called from the calling thread.
    """
    started = time.monotonic()
    proc = start_engine(argv, env, cwd, program)
    lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
    readers = [
        threading.Thread(target=_pump, args=(cast(IO[str], proc.stdout), "stdout", lines), daemon=True),
        threading.Thread(target=_pump, args=(cast(IO[str], proc.stderr), "stderr", lines), daemon=True),
    ]
    for reader in readers:
        reader.start()

    outcome = RunOutcome(returncode=0)
    tail: deque[str] = deque(maxlen=TEXT_TAIL_LINES)
    open_streams = len(readers)
    cancel_at: float | None = None
    exited_at: float | None = None
    try:
        while True:
            try:
                tag, line = lines.get(timeout=poll_s)
            except queue.Empty:
                tag, line = "", None
            if tag and line is None:
                open_streams -= 1
            elif tag == "stdout" and line is not None:
                if on_stdout is not None:
                    on_stdout(line.rstrip("\r\n"))
            elif tag == "stderr" and line is not None:
                event = parse_progress_line(line)
                if event is not None:
                    if isinstance(event, TextLine):
                        tail.append(event.text)
                    elif isinstance(event, ErrorEvent):
                        outcome.errors.append(event.message)
                    elif isinstance(event, DoneEvent):
                        outcome.done = event
                    on_event(event)

            running = proc.poll() is None
            if running and cancel_at is None and is_cancelled():
                cancel_at = time.monotonic()
                outcome.cancelled = True
                _signal(proc, kill=False)
            if running and cancel_at is not None and not outcome.killed and time.monotonic() - cancel_at > grace_s:
                outcome.killed = True
                _signal(proc, kill=True)
            if not running:
                exited_at = exited_at or time.monotonic()
                if open_streams == 0 or time.monotonic() - exited_at > PIPE_DRAIN_S:
                    break
    finally:
        if proc.poll() is None:  # on_event raised, or KeyboardInterrupt: never leave it behind
            _signal(proc, kill=True)
            proc.wait()
    outcome.returncode = proc.wait()
    for reader in readers:
        reader.join(timeout=PIPE_DRAIN_S)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None and not any(r.is_alive() for r in readers):
            stream.close()
    outcome.text_tail = list(tail)
    outcome.seconds = time.monotonic() - started
    return outcome


def _signal(proc: subprocess.Popen, kill: bool) -> None:
    """SIGTERM (or SIGKILL) ``proc``; on Windows both end it at once (TerminateProcess)."""
    try:
        if kill:
            proc.kill()
        else:
            proc.terminate()
    except ProcessLookupError:  # it exited between poll() and the signal
        pass


def engine_temp_files(output_path: str) -> set[str]:
    """The engine's temporary files for ``output_path`` now on disk.

    The engine writes ``.<name>.<token>.pifnet-tmp*.tif`` beside the output (and a folder
    ``.<name>.<token>.pifnet-tmp-blocks-*`` of tiles not yet complete, one
    ``.<name>.<token>.pifnet-tmp-blend-*`` of seam blocks) and renames the finished
    file onto the output; it removes them itself unless it is killed.
    """
    folder, name = os.path.split(output_path)
    return set(glob.glob(os.path.join(glob.escape(folder or "."), f".{glob.escape(name)}.*.pifnet-tmp*")))


def remove_files(paths: set[str]) -> list[str]:
    """Delete those of ``paths`` that exist (partial outputs, temporaries); the ones removed."""
    removed = []
    for path in sorted(paths):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)  # the engine's spill folders (open tiles, seam blocks)
            removed.append(path)
        elif os.path.lexists(path):
            os.remove(path)
            removed.append(path)
    return removed
