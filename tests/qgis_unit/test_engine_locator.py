"""Where the engine is found: setting, else PIFNET_ENGINE, else PATH; wrong places are named."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from qgis_plugin.engine_locator import ENGINE_NAME, EngineLocation, locate_engine
from qgis_plugin.errors import EngineNotFoundError


def make_program(folder: Path, name: str = ENGINE_NAME, executable: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n")
    mode = path.stat().st_mode
    path.chmod(mode | stat.S_IXUSR if executable else mode & ~(stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
    return path


def test_setting_wins_over_variable_and_path(tmp_path: Path) -> None:
    setting, env_var, on_path = (make_program(tmp_path / d) for d in ("setting", "env", "path"))
    environ = {"PIFNET_ENGINE": str(env_var), "PATH": str(on_path.parent)}
    assert locate_engine(str(setting), environ) == EngineLocation(str(setting), "setting")
    assert locate_engine("", environ) == EngineLocation(str(env_var), "PIFNET_ENGINE")
    assert locate_engine(None, {"PATH": str(on_path.parent)}) == EngineLocation(str(on_path), "PATH")
    assert locate_engine("   ", {"PIFNET_ENGINE": "  ", "PATH": str(on_path.parent)}).source == "PATH"


def test_a_folder_holding_the_engine_is_accepted(tmp_path: Path) -> None:
    program = make_program(tmp_path / "venv" / "bin")
    assert locate_engine(str(tmp_path / "venv" / "bin"), {}).path == str(program)


def test_wrong_setting_is_named_and_does_not_fall_back(tmp_path: Path) -> None:
    on_path = make_program(tmp_path / "path")
    missing = tmp_path / "nowhere" / ENGINE_NAME
    with pytest.raises(EngineNotFoundError) as err:
        locate_engine(str(missing), {"PATH": str(on_path.parent)})
    message = str(err.value)
    assert "the setting 'Settings > Options > Processing > Providers > PIF-Net > pifnet-engine executable'" in message
    assert f"'{missing}', which does not exist" in message and "correct the path" in message


def test_wrong_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(EngineNotFoundError, match="the environment variable PIFNET_ENGINE is the folder"):
        locate_engine(None, {"PIFNET_ENGINE": str(tmp_path), "PATH": ""})


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_not_executable_is_explained(tmp_path: Path) -> None:
    program = make_program(tmp_path, executable=False)
    if os.access(program, os.X_OK):
        pytest.skip("this user can execute any file")
    with pytest.raises(EngineNotFoundError, match="which is not executable.*chmod \\+x"):
        locate_engine(str(program), {})


def test_nothing_found_lists_what_was_searched(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    make_program(tmp_path / "other", name="not-the-engine")
    with pytest.raises(EngineNotFoundError) as err:
        locate_engine(None, {"PATH": f"{empty}{os.pathsep}{tmp_path / 'other'}"})
    message = str(err.value)
    assert message.startswith("PIF-Net engine not found: the setting is empty, PIFNET_ENGINE is not set")
    assert str(empty) in message and "Use from QGIS" in message
