"""Find the engine and make sure this plugin can drive it, with the answer cached per executable.

Pure Python (no ``qgis`` import). ``--version`` is asked once per executable file (path,
modification time, size), so opening the dialog again or running a batch does not pay the
engine's start-up time each time; replacing the executable asks again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

from .engine_env import engine_environment
from .engine_locator import EngineLocation, locate_engine
from .engine_version import Version, check_compatible, parse_version, query_version
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
    location = locate_engine(setting_value, environ)
    stat = os.stat(location.path)
    key = (location.path, stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        version = _cache.get(key)
    if version is None:
        if not ask:
            return location
        version = query_version(location.path, engine_environment(environ))
        with _cache_lock:
            _cache[key] = version
    check_compatible(version, parse_version(f"pifnet-engine, version {PLUGIN_VERSION}"), location.path)
    return location
