"""The error boundary of a command: every failure becomes one line and a documented exit code.

:func:`guarded` wraps a click command. Inside it:

- a :class:`~pifnet_engine.errors.PifnetError` (bad data, bad usage) is reported as it is;
- anything else that escapes is classified by :func:`classify`: an ``OSError`` or a rasterio/GDAL
  error becomes a :class:`~pifnet_engine.errors.SystemIOError` (exit 3: disk full, file-size
  limit, a file that vanished, permissions), ``MemoryError`` and CUDA out-of-memory an
  :class:`~pifnet_engine.errors.OutOfMemoryError` (exit 4), everything else an
  :class:`~pifnet_engine.errors.InternalError` (exit 70), each saying what failed, where (the
  activity from :func:`pifnet_engine.activity.doing`) and what to do;
- Ctrl-C exits 130, SIGTERM 143.

The message goes to the command's reporter (a JSON ``error`` event with ``--progress json``) and
the command ends with ``click.exceptions.Exit(code)``, so click's ``CliRunner`` sees exactly what a
user sees. ``--debug`` (or ``PIFNET_DEBUG=1``) re-raises unexpected exceptions with their traceback.
Temporary files are already gone by then: every writer removes them in its ``finally``/``__exit__``.
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pifnet_engine.activity import RASTER_COMPLETE, activity_of
from pifnet_engine.errors import InternalError, OutOfMemoryError, PifnetError, SystemIOError
from pifnet_engine.progress import make_reporter
from pifnet_engine.stopping import Terminated

F = TypeVar("F", bound=Callable[..., Any])


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and exc not in out and len(out) < 8:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return out


def _where(exc: BaseException) -> str:
    what = next((a for a in map(activity_of, _chain(exc)) if a), None)
    return f" while {what}" if what else ""


def _free_space(path: str | None) -> str:
    folder = Path(path).parent if path else Path.cwd()
    try:
        return f"{shutil.disk_usage(folder).free / 1e9:.2f} GB free in '{folder}'"
    except OSError:
        return "free space unknown"


def _text(exc: BaseException) -> str:
    return " / ".join(dict.fromkeys(str(e).strip() for e in _chain(exc) if str(e).strip()))[:300]


def classify(exc: BaseException, output: str | None = None) -> PifnetError:
    """The user-facing error for an exception that is not a :class:`PifnetError`."""
    from pifnet_engine.raster.gdal_failures import is_rasterio_error  # rasterio: imported on first use

    where = _where(exc)
    chain = _chain(exc)
    text = _text(exc)
    if any(isinstance(e, MemoryError) for e in chain) or _is_cuda_oom(exc):
        gpu = _is_cuda_oom(exc)
        return OutOfMemoryError(
            f"the {'GPU' if gpu else 'machine'} ran out of memory{where}; use a smaller --tile-size or --batch-size"
            + (", or --device cpu" if gpu else ", or close other programs"))
    os_err = next((e for e in chain if isinstance(e, OSError) and e.errno is not None), None)
    if os_err is not None:
        name = os_err.filename if isinstance(os_err.filename, str) else None
        subject = f" '{name}'" if name else ""
        if os_err.errno in (errno.ENOSPC, errno.EDQUOT):
            return SystemIOError(f"no space left on the device{where} ({os_err.strerror}{subject}; "
                                 f"{_free_space(name or output)}): free space or write the output elsewhere")
        if os_err.errno == errno.EFBIG:
            return SystemIOError(f"a file-size limit was reached{where} ({os_err.strerror}{subject}): the file system or "
                                 "your quota does not allow a file this large; write elsewhere or a smaller area")
        if os_err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return SystemIOError(f"permission denied{where} ({os_err.strerror}{subject}): check that the file can be read "
                                 "and the output folder written, or choose other paths")
        if os_err.errno in (errno.EISDIR, errno.ENOTEMPTY):
            return SystemIOError(f"a folder is in the way{where} ({os_err.strerror}{subject}): a folder was made where "
                                 "the output goes; remove it or choose another output name")
        if os_err.errno == errno.ENOENT:
            return SystemIOError(f"a file is missing{where} ({os_err.strerror}{subject}): it was moved or deleted; "
                                 "check the path (and the files a VRT points to)")
        return SystemIOError(f"input/output failed{where} ({os_err.strerror}{subject}); check the disk and the paths")
    if any(is_rasterio_error(e) for e in chain):
        lower = text.lower()
        if "file too large" in lower:
            hint = ("a file-size limit was reached: the file system or your quota does not allow a file this large; "
                    "write elsewhere or a smaller area")
        elif "no space left" in lower or "disk full" in lower:
            hint = f"no space left on the device ({_free_space(output)}): free space or write the output elsewhere"
        elif "no such file" in lower or "does not exist" in lower or "not recognized" in lower:
            hint = "a file is missing or unreadable (moved or deleted? a VRT pointing at a removed file?); check the paths"
        elif "temporary" in where and ("read" in lower or "seek" in lower):
            hint = ("the engine's own temporary file could not be read back, so writing it was probably cut short: the "
                    f"disk may be full or a file-size limit or quota reached ({_free_space(output)}); free space or "
                    "write the output elsewhere")
        elif "write" in lower:
            hint = (f"the disk may be full or a file-size limit or quota reached ({_free_space(output)}); free space "
                    "or write the output elsewhere")
        else:
            hint = "the raster may be damaged or on a disconnected drive; check it with gdalinfo"
        return SystemIOError(f"GDAL failed{where} ({text}): {hint}")
    if any(type(e).__module__.startswith("torch") for e in chain) or "torch" in text.lower():
        return InternalError(f"PyTorch failed{where} ({text}); try --device cpu, or rerun with --debug and report it")
    return InternalError(f"internal error{where}: {type(exc).__name__}: {text or 'no message'}; this is a bug: rerun "
                         "with --debug (or PIFNET_DEBUG=1) for the traceback and report it")


def _is_cuda_oom(exc: BaseException) -> bool:
    for e in _chain(exc):
        if type(e).__name__ == "OutOfMemoryError" and type(e).__module__.startswith("torch"):
            return True
        if isinstance(e, RuntimeError) and "CUDA out of memory" in str(e):
            return True
    return False


def _what_was_kept(exc: BaseException) -> str:
    """After a stop: nothing, or (stopped while its report was being made) the complete raster."""
    activity = activity_of(exc) or ""
    if RASTER_COMPLETE in activity:
        return (f" while {activity.replace(RASTER_COMPLETE, '').strip()}: the raster is complete and kept, its "
                "report was not written (make it with `pifnet-engine report`)")
    return "; nothing was written"


def debug_requested() -> bool:
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().params.get("debug"):
        return True
    return os.environ.get("PIFNET_DEBUG", "").strip().lower() in ("1", "true", "yes")


def guarded(f: F) -> F:
    """Wrap a click command callback in the error boundary (see the module docstring). The command's
    ``progress`` parameter, when it has one, picks the reporter of the error; its ``output`` (or
    ``output_dir``) names the folder whose free space a disk-full message quotes."""
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kind = kwargs.get("progress")
        reporter = make_reporter("json" if kind == "json" else "none")
        output = kwargs.get("output")
        try:
            return f(*args, **kwargs)
        except PifnetError as exc:
            reporter.error(str(exc), exc.exit_code)
            raise click.exceptions.Exit(exc.exit_code) from None
        except (KeyboardInterrupt, Terminated) as exc:
            code, what = (130, "interrupted (Ctrl-C)") if isinstance(exc, KeyboardInterrupt) else (143, "terminated (SIGTERM)")
            reporter.error(f"{what}{_what_was_kept(exc)}", code)
            raise click.exceptions.Exit(code) from None
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:  # the boundary: everything else becomes one classified line
            if debug_requested():
                raise
            err = classify(exc, str(output) if output is not None else None)
            reporter.error(str(err), err.exit_code)
            raise click.exceptions.Exit(err.exit_code) from None
    return wrapper  # type: ignore[return-value]
