"""Every error the engine raises on purpose, under one root.

Each class also inherits the matching builtin so callers can catch it either way. The CLI turns
a :class:`PifnetError` into one line on stderr and the class's ``exit_code``; anything else is a
bug and keeps its traceback.

Messages follow one pattern: what failed, the offending value, what was expected, how to fix it.
"""

from __future__ import annotations


class PifnetError(Exception):
    """Root of the engine's errors. ``exit_code`` is what the CLI exits with."""

    exit_code: int = 1


class InputDataError(PifnetError, ValueError):
    """The input rasters (or weights) cannot be fused as given: bad data, exit code 1."""

    exit_code = 1


class GridError(InputDataError):
    """HSI and MSI grids do not fit together (no overlap, bad ratio, rotation, missing CRS)."""


class WeightsError(InputDataError):
    """A weights file is unreadable, unsafe or does not fit the input pair."""


class ImplausibleOutputError(InputDataError):
    """A window's fused values are non-finite or far beyond its inputs' range (inputs in units the
    weights were not trained for, broken weights, degenerate statistics); nothing is written."""


class UsageError(PifnetError, ValueError):
    """The command line asks for something impossible or unsafe: bad usage, exit code 2."""

    exit_code = 2


class OutputExistsError(UsageError, FileExistsError):
    """The output path exists (and ``--overwrite`` was not given) or equals an input path."""


class DeviceError(UsageError, RuntimeError):
    """The requested compute device is not available (e.g. ``--device cuda`` without a GPU)."""


class Cancelled(PifnetError):
    """The run was interrupted (Ctrl-C or SIGTERM); nothing was left behind. Exit code 130."""

    exit_code = 130


class SystemIOError(PifnetError, OSError):
    """Reading or writing failed for a reason outside the data: the disk is full, a file-size limit or
    quota was reached, a file vanished or cannot be accessed. Exit code 3."""

    exit_code = 3


class OutOfMemoryError(PifnetError, MemoryError):
    """The machine (or the GPU) ran out of memory. Exit code 4."""

    exit_code = 4


class InternalError(PifnetError, RuntimeError):
    """An unexpected failure inside the engine or PyTorch (a bug, or a broken installation). Exit code 70."""

    exit_code = 70
