"""Engine version answer parsing and the compatibility rule (same MAJOR.MINOR)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from qgis_plugin.engine_env import engine_environment
from qgis_plugin.engine_version import check_compatible, parse_version, query_version
from qgis_plugin.errors import EngineIncompatibleError, EngineNotFoundError
from qgis_plugin.version import PLUGIN_VERSION

REPO_ROOT = Path(__file__).resolve().parents[2]


def engine_path() -> str | None:
    """The engine under test: $PIFNET_ENGINE, else the repository's .venv, else PATH."""
    candidates = [os.environ.get("PIFNET_ENGINE", ""), str(REPO_ROOT / ".venv" / "bin" / "pifnet-engine"), shutil.which("pifnet-engine") or ""]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("pifnet-engine, version 0.1.0\n", (0, 1, 0)),
        ("pifnet-engine, version 12.3.45", (12, 3, 45)),
        ("pifnet-engine, version 0.2.0rc1\n", (0, 2, 0)),
    ],
)
def test_parse_version(text: str, expected: tuple[int, int, int]) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["", "gdalinfo, version 3.6.2", "pifnet-engine 0.1", "Usage: pifnet-engine [OPTIONS]"])
def test_other_programs_are_not_taken_for_the_engine(text: str) -> None:
    with pytest.raises(EngineIncompatibleError, match="is not a PIF-Net engine"):
        parse_version(text, "/usr/bin/thing")


@pytest.mark.parametrize("engine", [(0, 1, 0), (0, 1, 7)])
def test_same_major_minor_is_compatible(engine: tuple[int, int, int]) -> None:
    check_compatible(engine, (0, 1, 3))


@pytest.mark.parametrize("engine", [(0, 0, 9), (0, 0, 99)])
def test_older_engine_is_too_old(engine: tuple[int, int, int]) -> None:
    with pytest.raises(EngineIncompatibleError, match=r"too old: '/e' is version 0\.0\.\d+; this plugin needs 0\.1\.x; install engine 0\.1\.x"):
        check_compatible(engine, (0, 1, 0), "/e")


@pytest.mark.parametrize("engine", [(0, 2, 0), (1, 0, 0)])
def test_newer_engine_is_too_new(engine: tuple[int, int, int]) -> None:
    with pytest.raises(EngineIncompatibleError, match="too new: .* upgrade the plugin"):
        check_compatible(engine, (0, 1, 0), "/e")


def test_query_version_of_a_missing_program(tmp_path: Path) -> None:
    with pytest.raises(EngineNotFoundError, match="could not be started"):
        query_version(str(tmp_path / "pifnet-engine"), os.environ)


def test_query_version_of_a_program_that_is_not_the_engine() -> None:
    with pytest.raises(EngineIncompatibleError, match="is not a PIF-Net engine"):
        query_version(shutil.which("true") or "/bin/true", os.environ)


def test_real_engine_is_compatible_with_this_plugin() -> None:
    path = engine_path()
    if path is None:
        pytest.skip("pifnet-engine not installed (set PIFNET_ENGINE)")
    version = query_version(path, engine_environment(os.environ))
    check_compatible(version, parse_version(f"pifnet-engine, version {PLUGIN_VERSION}"), path)
    engine_init = (REPO_ROOT / "pifnet_engine" / "__init__.py").read_text(encoding="utf-8")
    declared = re.search(r'__version__ = "([^"]+)"', engine_init).group(1)
    assert ".".join(map(str, version)) == declared


def test_checked_engine_asks_once_and_refuses_a_non_engine(tmp_path: Path) -> None:
    """A program that answers --version like another tool is refused; ask=False never runs it."""
    from qgis_plugin.engine_check import checked_engine

    if os.name == "nt":
        pytest.skip("shell script")
    program = tmp_path / "pifnet-engine"
    program.write_text("#!/bin/sh\necho 'gdalinfo, version 3.6.2'\n")
    program.chmod(0o755)
    assert checked_engine(str(program), {}, ask=False).path == str(program)
    with pytest.raises(EngineIncompatibleError, match="is not a PIF-Net engine"):
        checked_engine(str(program), {"PATH": "/usr/bin:/bin"})



def test_the_trainer_is_recognised_and_checked_by_the_same_rule() -> None:
    from qgis_plugin.programs import TRAINER

    assert parse_version("pifnet-train, version 0.1.2\n", "/t", TRAINER) == (0, 1, 2)
    with pytest.raises(EngineIncompatibleError, match="'/t' is not a PIF-Net trainer: .*expected 'pifnet-train, version X.Y.Z'"):
        parse_version("pifnet-engine, version 0.1.0", "/t", TRAINER)
    with pytest.raises(EngineIncompatibleError, match=r"PIF-Net trainer too old: '/t' is version 0\.0\.9"):
        check_compatible((0, 0, 9), (0, 1, 0), "/t", TRAINER)


def test_real_trainer_is_compatible_with_this_plugin() -> None:
    from qgis_plugin.engine_check import checked_trainer

    engine = engine_path()
    if engine is None:
        pytest.skip("pifnet-engine not installed (set PIFNET_ENGINE)")
    trainer = os.path.join(os.path.dirname(engine), "pifnet-train")
    if not os.access(trainer, os.X_OK):
        pytest.skip(f"no pifnet-train beside {engine}")
    location = checked_trainer(None, engine, {"PATH": "/usr/bin:/bin"})
    assert location.path == trainer and location.source == "beside pifnet-engine"
