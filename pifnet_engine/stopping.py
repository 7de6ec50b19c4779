"""Ctrl-C and SIGTERM: stop the run at once, and surely.

The CLI installs :func:`install_handlers`: on SIGINT / SIGTERM the handler records the signal and
raises (``KeyboardInterrupt`` / :class:`Terminated`) so that a long step stops at once and every
``finally`` removes its temporary files. An exception raised by a signal handler can be lost,
though: Python swallows it when it lands in a ``__del__`` or a C callback (printing "Exception
ignored"), and the run would go on to exit 0. So the pipeline also calls :func:`check` between
windows, which raises again for a recorded signal.
"""

from __future__ import annotations

import signal
from types import FrameType


class Terminated(BaseException):
    """SIGTERM, raised like ``KeyboardInterrupt`` so that cleanup runs as for Ctrl-C."""


_received: list[int] = []


def _raise_for(signum: int) -> None:
    if signum == signal.SIGTERM:
        raise Terminated()
    raise KeyboardInterrupt()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    _raise_for(signum)


def install_handlers() -> None:
    """Handle SIGINT and SIGTERM as described above (main thread only)."""
    _received.clear()
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def check() -> None:
    """Raise for a signal that was received (when its first exception was lost), else nothing."""
    if _received:
        _raise_for(_received[0])
