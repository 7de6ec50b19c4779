"""Find the ``pifnet-engine`` executable: the provider setting, else ``PIFNET_ENGINE``, else PATH.

Pure Python (no ``qgis`` import). An explicit place (the setting or the variable) that is wrong
is an error naming that place; it never silently falls through to the next one, so the user
learns why the engine they pointed at is not used.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import EngineNotFoundError

#: File name of the engine's console script (``.exe`` is added by PATHEXT on Windows).
ENGINE_NAME = "pifnet-engine"
#: Environment variable that may hold the engine's path.
ENGINE_ENV_VAR = "PIFNET_ENGINE"
#: Where the setting lives in the QGIS user interface (for messages).
SETTING_LABEL = "Settings > Options > Processing > Providers > PIF-Net > pifnet-engine executable"

HOW_TO_INSTALL = (
    "install the engine into its own Python environment (see 'Use from QGIS' in the PIF-Net "
    "README) and set " + SETTING_LABEL + " to the pifnet-engine program in it "
    "(.../bin/pifnet-engine, or ...\\Scripts\\pifnet-engine.exe on Windows)"
)


@dataclass(frozen=True)
class EngineLocation:
    """An engine executable and where its path came from ("setting", "PIFNET_ENGINE" or "PATH")."""

    path: str
    source: str


def locate_engine(setting_value: str | None, environ: Mapping[str, str]) -> EngineLocation:
    """The engine to run, from the provider setting, else ``environ["PIFNET_ENGINE"]``, else PATH.

    A folder is accepted for the setting and the variable when it holds ``pifnet-engine``.
    Raises :class:`EngineNotFoundError` with what was looked at and how to fix it.
    """
    if setting_value and str(setting_value).strip():
        return EngineLocation(_explicit(str(setting_value).strip(), f"the setting '{SETTING_LABEL}'"), "setting")
    env_value = environ.get(ENGINE_ENV_VAR, "").strip()
    if env_value:
        return EngineLocation(_explicit(env_value, f"the environment variable {ENGINE_ENV_VAR}"), ENGINE_ENV_VAR)
    search_path = environ.get("PATH", "")
    found = shutil.which(ENGINE_NAME, path=search_path)
    if found:
        return EngineLocation(os.path.abspath(found), "PATH")
    raise EngineNotFoundError(
        f"PIF-Net engine not found: the setting is empty, {ENGINE_ENV_VAR} is not set and no "
        f"'{ENGINE_NAME}' is on PATH ({search_path or 'empty'}); expected the path of the "
        f"pifnet-engine program; {HOW_TO_INSTALL}"
    )


def _explicit(value: str, where: str) -> str:
    """``value`` (a file, or a folder holding the engine) as an absolute executable path."""
    path = os.path.abspath(os.path.expanduser(value))
    if os.path.isdir(path):
        inside = shutil.which(ENGINE_NAME, path=path)
        if inside:
            return os.path.abspath(inside)
        raise EngineNotFoundError(
            f"PIF-Net engine not found: {where} is the folder '{path}', which holds no "
            f"'{ENGINE_NAME}'; expected the path of the pifnet-engine program; point it at "
            f"the program itself (e.g. .../bin/{ENGINE_NAME}), or {HOW_TO_INSTALL}"
        )
    if not os.path.isfile(path):
        raise EngineNotFoundError(
            f"PIF-Net engine not found: {where} is '{path}', which does not exist; expected the "
            f"path of the pifnet-engine program; correct the path, or {HOW_TO_INSTALL}"
        )
    if not os.access(path, os.X_OK):
        raise EngineNotFoundError(
            f"PIF-Net engine cannot be run: {where} is '{path}', which is not executable; "
            f"expected the pifnet-engine program; point it at .../bin/{ENGINE_NAME} of the engine's "
            "environment (not at a Python file), or make it executable (chmod +x)"
        )
    return path
