"""Where the programs are found; wrong places are named.

The engine: setting, else PIFNET_ENGINE, else PATH. The trainer: its setting, else PIFNET_TRAIN,
else beside the engine, else PATH.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from qgis_plugin.engine_check import checked_trainer
from qgis_plugin.engine_locator import ENGINE_NAME, EngineLocation, locate_engine, locate_trainer
from qgis_plugin.errors import EngineNotFoundError
from qgis_plugin.programs import TRAINER

TRAINER_NAME = TRAINER.name


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


# -- pifnet-train: its setting, else PIFNET_TRAIN, else beside the engine, else PATH -------------


def test_trainer_setting_and_variable_win_over_the_engines_folder(tmp_path: Path) -> None:
    engine = make_program(tmp_path / "venv" / "bin")
    beside = make_program(tmp_path / "venv" / "bin", name=TRAINER_NAME)
    setting, env_var = (make_program(tmp_path / d, name=TRAINER_NAME) for d in ("setting", "env"))
    on_path = make_program(tmp_path / "path", name=TRAINER_NAME)
    environ = {"PIFNET_TRAIN": str(env_var), "PATH": str(on_path.parent)}
    assert locate_trainer(str(setting), environ, str(engine)) == EngineLocation(str(setting), "setting")
    assert locate_trainer("", environ, str(engine)) == EngineLocation(str(env_var), "PIFNET_TRAIN")
    path_only = {"PATH": str(on_path.parent)}
    assert locate_trainer(None, path_only, str(engine)) == EngineLocation(str(beside), "beside pifnet-engine")
    assert locate_trainer(None, path_only, None) == EngineLocation(str(on_path), "PATH")
    assert locate_trainer("  ", {"PIFNET_TRAIN": " ", **path_only}, None).source == "PATH"


def test_trainer_not_beside_the_engine_comes_from_path(tmp_path: Path) -> None:
    engine = make_program(tmp_path / "venv" / "bin")
    on_path = make_program(tmp_path / "path", name=TRAINER_NAME)
    assert locate_trainer(None, {"PATH": str(on_path.parent)}, str(engine)) == EngineLocation(str(on_path), "PATH")


def test_wrong_trainer_setting_is_named_and_does_not_fall_back(tmp_path: Path) -> None:
    engine = make_program(tmp_path / "venv" / "bin")
    make_program(tmp_path / "venv" / "bin", name=TRAINER_NAME)
    missing = tmp_path / "nowhere" / TRAINER_NAME
    with pytest.raises(EngineNotFoundError) as err:
        locate_trainer(str(missing), {}, str(engine))
    message = str(err.value)
    assert message.startswith("PIF-Net trainer not found: the setting 'Settings > Options > Processing > Providers > "
                              "PIF-Net > pifnet-train executable'")
    assert f"'{missing}', which does not exist" in message
    with pytest.raises(EngineNotFoundError, match="the environment variable PIFNET_TRAIN is the folder .* holds no 'pifnet-train'"):
        locate_trainer(None, {"PIFNET_TRAIN": str(tmp_path)}, str(engine))


def test_no_trainer_anywhere_lists_what_was_searched(tmp_path: Path) -> None:
    engine = make_program(tmp_path / "venv" / "bin")
    with pytest.raises(EngineNotFoundError) as err:
        locate_trainer(None, {"PATH": "/nowhere"}, str(engine))
    message = str(err.value)
    assert message.startswith("PIF-Net trainer not found: the setting is empty, PIFNET_TRAIN is not set, none is in "
                              f"the engine's folder ({engine.parent}) and no 'pifnet-train' is on PATH (/nowhere)")
    assert "pifnet-train program in it" in message
    with pytest.raises(EngineNotFoundError, match=r"PIFNET_TRAIN is not set and no 'pifnet-train' is on PATH \(empty\)"):
        locate_trainer(None, {}, None)


def test_checked_trainer_looks_beside_the_configured_engine(tmp_path: Path) -> None:
    engine = make_program(tmp_path / "venv" / "bin")
    beside = make_program(tmp_path / "venv" / "bin", name=TRAINER_NAME)
    on_path = make_program(tmp_path / "path", name=TRAINER_NAME)
    path_only = {"PATH": str(on_path.parent)}
    # ask=False: located, not run (the stand-in programs are no real trainer)
    assert checked_trainer(None, str(engine), path_only, ask=False) == EngineLocation(str(beside), "beside pifnet-engine")
    assert checked_trainer(None, None, {"PIFNET_ENGINE": str(engine), **path_only}, ask=False).path == str(beside)
    # no engine anywhere: the trainer on PATH is used
    assert checked_trainer(None, None, path_only, ask=False) == EngineLocation(str(on_path), "PATH")
    # the engine is not needed when the trainer is named
    assert checked_trainer(str(on_path), str(tmp_path / "missing"), {}, ask=False).source == "setting"


def test_checked_trainer_reports_a_wrong_engine_setting(tmp_path: Path) -> None:
    """The user pointed at an engine; the trainer beside it is meant, so the wrong path is an error."""
    on_path = make_program(tmp_path / "path", name=TRAINER_NAME)
    missing = tmp_path / "gone" / ENGINE_NAME
    with pytest.raises(EngineNotFoundError, match=f"PIF-Net engine not found: the setting .* is '{missing}', which does not exist"):
        checked_trainer(None, str(missing), {"PATH": str(on_path.parent)}, ask=False)
