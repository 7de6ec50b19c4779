"""Every way a run of the external engine can fail, as seen from the plugin, under one root.

Pure Python (no ``qgis`` import) so the unit tests can use it. Each message says what failed,
the offending value, what was expected and what the user should do about it.
"""

from __future__ import annotations


class PluginError(Exception):
    """Root of the plugin's errors; ``str(err)`` is the one-line message shown to the user."""


class OptionsError(PluginError, ValueError):
    """A parameter value the engine cannot be run with (checked before starting it)."""


class EngineError(PluginError):
    """Root of the errors about the external engine program."""


class EngineNotFoundError(EngineError, FileNotFoundError):
    """No ``pifnet-engine`` executable at the configured place, in ``PIFNET_ENGINE`` or on PATH."""


class EngineIncompatibleError(EngineError, RuntimeError):
    """The executable found is not a ``pifnet-engine`` this plugin can drive (too old / too new)."""


class EngineCrashedError(EngineError, RuntimeError):
    """The engine died from a signal (segfault, out-of-memory killer, ...) nobody asked for."""


class EngineFailedError(EngineError, RuntimeError):
    """The engine ran and exited with a non-zero code; ``exit_code`` is that code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class EngineCancelledError(EngineError):
    """The user cancelled the run; the engine was stopped and no output was left behind."""
