"""Find the external programs: ``pifnet-engine`` and ``pifnet-train``.

Pure Python (no ``qgis`` import). The engine: the provider setting, else ``PIFNET_ENGINE``, else
PATH. The trainer: its own setting, else ``PIFNET_TRAIN``, else the ``pifnet-train`` in the
engine's folder (both are console scripts of one installation), else PATH.

An explicit place (a setting or a variable) that is wrong is an error naming that place; it
never silently falls through to the next one, so the user learns why the program they pointed
at is not used.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import EngineNotFoundError
from .programs import ENGINE, TRAINER, Program

#: File name of the engine's console script (``.exe`` is added by PATHEXT on Windows).
ENGINE_NAME = ENGINE.name
#: Environment variable that may hold the engine's path.
ENGINE_ENV_VAR = ENGINE.env_var
#: Where the engine setting lives in the QGIS user interface (for messages).
SETTING_LABEL = ENGINE.setting_label
HOW_TO_INSTALL = ENGINE.how_to_install
#: ``source`` of a trainer found in the engine's folder.
BESIDE_ENGINE = "beside pifnet-engine"


@dataclass(frozen=True)
class EngineLocation:
    """An executable and where its path came from: "setting", the variable's name
    (``PIFNET_ENGINE``, ``PIFNET_TRAIN``), "beside pifnet-engine" or "PATH"."""

    path: str
    source: str


def locate_engine(setting_value: str | None, environ: Mapping[str, str]) -> EngineLocation:
    """The engine to run, from the provider setting, else ``environ["PIFNET_ENGINE"]``, else PATH.

    A folder is accepted for the setting and the variable when it holds ``pifnet-engine``.
    Raises :class:`EngineNotFoundError` with what was looked at and how to fix it.
    """
    return _locate(ENGINE, setting_value, environ, beside=None)


def locate_trainer(setting_value: str | None, environ: Mapping[str, str], engine_path: str | None) -> EngineLocation:
    """``pifnet-train``: the trainer setting, else ``PIFNET_TRAIN``, else beside ``engine_path``, else PATH.

    ``engine_path`` is the located engine (None when it is not needed or not found); a trainer
    in its folder comes from the same installation, so it is preferred to one on PATH.
    Raises :class:`EngineNotFoundError` with what was looked at and how to fix it.
    """
    return _locate(TRAINER, setting_value, environ, beside=engine_path)


def _locate(program: Program, setting_value: str | None, environ: Mapping[str, str], beside: str | None) -> EngineLocation:
    if setting_value and str(setting_value).strip():
        where = f"the setting '{program.setting_label}'"
        return EngineLocation(_explicit(program, str(setting_value).strip(), where), "setting")
    env_value = environ.get(program.env_var, "").strip()
    if env_value:
        where = f"the environment variable {program.env_var}"
        return EngineLocation(_explicit(program, env_value, where), program.env_var)
    if beside:
        folder = os.path.dirname(os.path.abspath(beside))
        inside = shutil.which(program.name, path=folder)
        if inside:
            return EngineLocation(os.path.abspath(inside), BESIDE_ENGINE)
    search_path = environ.get("PATH", "")
    found = shutil.which(program.name, path=search_path)
    if found:
        return EngineLocation(os.path.abspath(found), "PATH")
    looked_beside = f", none is in the engine's folder ({os.path.dirname(os.path.abspath(beside))})" if beside else ""
    raise EngineNotFoundError(
        f"{program.title} not found: the setting is empty, {program.env_var} is not set{looked_beside} "
        f"and no '{program.name}' is on PATH ({search_path or 'empty'}); expected the path of the "
        f"{program.name} program; {program.how_to_install}"
    )


def _explicit(program: Program, value: str, where: str) -> str:
    """``value`` (a file, or a folder holding the program) as an absolute executable path."""
    path = os.path.abspath(os.path.expanduser(value))
    name = program.name
    if os.path.isdir(path):
        inside = shutil.which(name, path=path)
        if inside:
            return os.path.abspath(inside)
        raise EngineNotFoundError(
            f"{program.title} not found: {where} is the folder '{path}', which holds no "
            f"'{name}'; expected the path of the {name} program; point it at "
            f"the program itself (e.g. .../bin/{name}), or {program.how_to_install}"
        )
    if not os.path.isfile(path):
        raise EngineNotFoundError(
            f"{program.title} not found: {where} is '{path}', which does not exist; expected the "
            f"path of the {name} program; correct the path, or {program.how_to_install}"
        )
    if not os.access(path, os.X_OK):
        raise EngineNotFoundError(
            f"{program.title} cannot be run: {where} is '{path}', which is not executable; "
            f"expected the {name} program; point it at .../bin/{name} of the engine's "
            "environment (not at a Python file), or make it executable (chmod +x)"
        )
    return path
