"""The built zip installed into a fresh profile, run by ``qgis_process`` like an analyst's script.

Debian's ``/usr/bin/qgis_process`` wrapper fails ("Command --noversioncheck not known"), so
``qgis_process.bin`` is called; QGIS runs with ``PATH=/usr/bin:/bin`` (another python3 first on
PATH crashes it) and is given the engine by absolute path through the provider setting.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.qgis

QGIS_PROCESS = Path("/usr/bin/qgis_process.bin")
INSTALLER_UNZIP = Path("/usr/share/qgis/python/pyplugin_installer/unzip.py")
TIMEOUT_S = 300


def install_from_zip(zip_path: Path, profile: Path) -> str:
    """Install ``zip_path`` into ``profile`` the way Plugins > Install from ZIP does; the plugin name.

    Same rule as QGIS's installer (pyplugin_installer/installer.py): the plugin is the folder of
    the shortest ``*/metadata.txt``; the files are extracted with the installer's own ``unzip``.
    """
    with zipfile.ZipFile(zip_path) as archive:
        metadata = sorted(n for n in archive.namelist() if n.endswith("metadata.txt"))
    assert metadata, "QGIS would refuse this zip: no metadata.txt"
    name = os.path.split(metadata[0])[0]
    spec = importlib.util.spec_from_file_location("qgis_installer_unzip", INSTALLER_UNZIP)
    unzip_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(unzip_module)
    unzip_module.unzip(str(zip_path), str(profile / "python" / "plugins"))
    return name


@pytest.fixture
def fresh_profile(qgis_app: Any, tmp_path: Path) -> dict[str, Any]:
    """A clean environment and empty QGIS profile for qgis_process, with the built zip installed."""
    from qgis_plugin.package import build_zip

    if not QGIS_PROCESS.is_file():
        pytest.fail(f"{QGIS_PROCESS} missing; install Debian's qgis package", pytrace=False)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
        "XDG_RUNTIME_DIR": str(runtime),
    }
    profile = tmp_path / "xdg-data" / "QGIS" / "QGIS3" / "profiles" / "default"
    name = install_from_zip(build_zip(tmp_path / "dist"), profile)
    enabled = qgis_process(env, "plugins", "enable", name)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    return {"env": env, "profile": profile, "plugin": name}


def qgis_process(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(QGIS_PROCESS), *args], env=env, capture_output=True, text=True, timeout=TIMEOUT_S)


def set_engine_setting(profile: Path, value: str) -> None:
    """Write the provider setting into the profile, as the Options dialog would."""
    from qgis.PyQt.QtCore import QSettings

    settings = QSettings(str(profile / "QGIS" / "QGIS3.ini"), QSettings.IniFormat)
    settings.setValue("Processing/Configuration/PIFNET_ENGINE_PATH", value)
    settings.sync()


def test_installed_zip_fuses_like_the_engine(fresh_profile, engine, small_pair, tmp_path) -> None:
    from .pair_fixture import grid_of, read_array

    import numpy as np

    set_engine_setting(fresh_profile["profile"], str(engine))
    via_qgis = tmp_path / "via qgis_process.tif"
    run = qgis_process(
        fresh_profile["env"], "run", "pifnet:fuse", "--",
        f"HSI={small_pair.hsi}", f"MSI={small_pair.msi}", "METHOD=1", "TILE_SIZE=24", f"OUTPUT={via_qgis}",
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, log
    assert f"PIF-Net engine: {engine} (from setting)" in log
    # the results qgis_process prints: the report (on by default) beside the raster
    report = tmp_path / "via qgis_process.report.html"
    assert f"OUTPUT_REPORT:\t{report}" in run.stdout, run.stdout
    assert report.is_file() and (tmp_path / "via qgis_process.quicklook.png").is_file()

    direct = tmp_path / "direct.tif"
    done = subprocess.run(
        [str(engine), "fuse", str(small_pair.hsi), str(small_pair.msi), "-o", str(direct), "--method", "gsa", "--tile-size", "24",
         "--no-report"],
        env={"PATH": "/usr/bin:/bin", "HOME": fresh_profile["env"]["HOME"]}, capture_output=True, text=True, timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr

    assert grid_of(via_qgis) == grid_of(direct)
    assert grid_of(via_qgis)[2:] == (small_pair.msi_size_px, small_pair.msi_size_px, small_pair.hsi_bands)
    a, b = read_array(via_qgis), read_array(direct)
    assert a.dtype == b.dtype == np.float32
    assert np.array_equal(a, b, equal_nan=True)


def test_missing_engine_is_reported_by_qgis_process(fresh_profile, small_pair, tmp_path) -> None:
    target = tmp_path / "fused.tif"
    run = qgis_process(fresh_profile["env"], "run", "pifnet:fuse", "--", f"HSI={small_pair.hsi}", f"MSI={small_pair.msi}", f"OUTPUT={target}")
    log = run.stdout + run.stderr
    assert run.returncode != 0
    assert "PIF-Net engine not found: the setting is empty, PIFNET_ENGINE is not set" in log, log
    assert not target.exists()


def test_installed_zip_has_the_fit_algorithms(fresh_profile, engine) -> None:
    """The zip carries the fit modules: qgis_process describes both fit algorithms and their parameters."""
    set_engine_setting(fresh_profile["profile"], str(engine))
    for alg_id, names in (("pifnet:fit", ("TIME_BUDGET", "START", "RESUME", "MAX_STEPS", "OUTPUT", "AHEAD_OF_GSA")),
                          ("pifnet:fitfuse", ("GSA_FALLBACK", "WEIGHTS", "REPORT", "OUTPUT", "OUTPUT_REPORT", "METHOD"))):
        run = qgis_process(fresh_profile["env"], "help", alg_id)
        log = run.stdout + run.stderr
        assert run.returncode == 0, log
        assert all(name in log for name in names), log
