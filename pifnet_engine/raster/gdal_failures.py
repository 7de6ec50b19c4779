"""GDAL write failures that rasterio does not raise, raised.

rasterio turns a failing GDAL call into an exception where it checks the call's result. Some calls
report a failed write only through GDAL's error handler: building overviews, flushing the block
cache when a dataset is closed, parts of ``CreateCopy``. rasterio then logs "GDAL signalled an
error" (at INFO level) and carries on, and libtiff prints its own lines (``_tiffWriteProc: File
too large.``) straight to the process's stderr. A full disk or a file-size quota met there would
leave a truncated GeoTIFF behind an exit code 0 (measured: a file-size limit met while adding the
overviews gave a file GDAL cannot read past its first directory, and no error).

:func:`gdal_writes_checked` wraps such calls: a GDAL error signalled inside it is raised as a
:class:`rasterio.errors.RasterioIOError` when the block ends, with libtiff's lines in the message
instead of on the terminal (they are passed on to stderr unchanged when nothing failed); a rasterio
error raised inside it gets them too (a read that fails after a write was cut short says only
"TIFFReadEncodedTile() failed"; libtiff said "File too large" before).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator

import rasterio.errors

#: How rasterio logs a GDAL error that the call it made did not check.
SIGNALLED = "GDAL signalled an error"
#: A line libtiff or GDAL printed itself that says a write failed (``_tiffWriteProc: File too large.``);
#: such a line can come without any error reaching rasterio (a block flushed when the file is closed).
FAILURE_WORDS = ("error", "too large", "no space", "failed", "quota")


class _Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.levelno >= logging.ERROR or text.startswith(SIGNALLED):
            self.messages.append(text)


@contextlib.contextmanager
def _stderr_of_c_code() -> Iterator[list[str]]:
    """Redirect file descriptor 2 (what C libraries print to) into a temporary file for the block;
    the list receives its lines when the block ends."""
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(ln.strip() for ln in sink.read().decode(errors="replace").splitlines() if ln.strip())


@contextlib.contextmanager
def gdal_failures_dropped() -> Iterator[None]:
    """For closing a temporary file that is about to be deleted after a failure: what libtiff
    prints and what GDAL raises while its last blocks are flushed are dropped (the failure that
    caused the clean-up is the one the user is told)."""
    with _stderr_of_c_code(), contextlib.suppress(rasterio.errors.RasterioError):
        yield


def is_rasterio_error(exc: BaseException) -> bool:
    """A rasterio error, or GDAL's own error class as rasterio raises it from some calls
    (``rasterio._err.CPLE_*``, e.g. opening a file a failed write left damaged)."""
    return isinstance(exc, rasterio.errors.RasterioError) or type(exc).__module__.startswith("rasterio")


@contextlib.contextmanager
def gdal_writes_checked(what: str) -> Iterator[None]:
    """Raise ``RasterioIOError("<what> failed: ...")`` for a GDAL error signalled inside the block."""
    handler = _Failures()
    logger = logging.getLogger("rasterio")
    old_level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    printed: list[str] = []
    try:
        with _stderr_of_c_code() as printed:
            yield
    except Exception as exc:
        causes = [*printed, *handler.messages]
        if not causes or not is_rasterio_error(exc):
            raise
        # What libtiff printed or GDAL signalled before ("File too large", "No space left on device") is
        # the cause the user needs, not the later call that met its consequence (a damaged file).
        raise rasterio.errors.RasterioIOError(f"{what} failed: {'; '.join(dict.fromkeys(causes))}") from exc
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    failed_prints = [ln for ln in printed if any(word in ln.lower() for word in FAILURE_WORDS)]
    if handler.messages or failed_prints:
        details = "; ".join(dict.fromkeys([*printed, *handler.messages]))
        raise rasterio.errors.RasterioIOError(f"{what} failed: {details}")
    if printed:
        print("\n".join(printed), file=sys.stderr)
