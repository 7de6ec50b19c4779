"""Find the engine (or the trainer) and make sure this plugin can drive it, cached per executable.

Pure Python (no ``qgis`` import). ``--version`` is asked once per executable file (path,
modification time, size), so opening the dialog again or running a batch does not pay the
program's start-up time each time; replacing the executable asks again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

from .engine_env import engine_environment
from .engine_locator import EngineLocation, locate_engine, locate_trainer
from .engine_version import Version, check_compatible, parse_version, query_version
from .errors import EngineNotFoundError
from .programs import ENGINE, TRAINER, Program
from .version import PLUGIN_VERSION

_cache: dict[tuple[str, int, int], Version] = {}
_cache_lock = threading.Lock()


def checked_engine(setting_value: str | None, environ: Mapping[str, str], ask: bool = True) -> EngineLocation:
    """The engine to run; raises :class:`~.errors.EngineNotFoundError` or
    :class:`~.errors.EngineIncompatibleError` with what to do.

    With ``ask=False`` the version is checked only when it is already cached: finding the file
    is instant, while a cold ``--version`` (importing PyTorch) takes seconds, too long for the
    GUI thread that calls ``canExecute`` when a dialog opens.
    """
    return _checked(locate_engine(setting_value, environ), ENGINE, environ, ask)


def checked_trainer(
    setting_value: str | None, engine_setting_value: str | None, environ: Mapping[str, str], ask: bool = True
) -> EngineLocation:
    """``pifnet-train`` to run (see :func:`~.engine_locator.locate_trainer`), checked like the engine.

    The engine is located only when neither the trainer setting nor ``PIFNET_TRAIN`` names the
    trainer. An engine named by its setting or ``PIFNET_ENGINE`` that is wrong raises its own
    error (the user pointed at it); an engine that is simply not on PATH leaves PATH to the trainer.
    """
    engine_path = _engine_to_look_beside(setting_value, engine_setting_value, environ)
    return _checked(locate_trainer(setting_value, environ, engine_path), TRAINER, environ, ask)


def _engine_to_look_beside(
    setting_value: str | None, engine_setting_value: str | None, environ: Mapping[str, str]
) -> str | None:
    """The engine whose folder may hold the trainer, or None when it is not needed or not found."""
    if (setting_value or "").strip() or environ.get(TRAINER.env_var, "").strip():
        return None
    explicit = (engine_setting_value or "").strip() or environ.get(ENGINE.env_var, "").strip()
    try:
        return locate_engine(engine_setting_value, environ).path
    except EngineNotFoundError:
        if explicit:
            raise
        return None


def _checked(location: EngineLocation, program: Program, environ: Mapping[str, str], ask: bool) -> EngineLocation:
    stat = os.stat(location.path)
    key = (location.path, stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        version = _cache.get(key)
    if version is None:
        if not ask:
            return location
        version = query_version(location.path, engine_environment(environ), program=program)
        with _cache_lock:
            _cache[key] = version
    check_compatible(version, parse_version(f"{ENGINE.name}, version {PLUGIN_VERSION}"), location.path, program)
    return location
