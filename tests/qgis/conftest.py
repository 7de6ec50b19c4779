"""QGIS integration tests: run by QGIS's own Python (``/usr/bin/python3 -m pytest tests/qgis``).

They skip when QGIS (or GDAL's ``osgeo``) cannot be imported, except with
``PIFNET_REQUIRE_QGIS=1`` (set by CI), where they fail instead. They run the real
``pifnet-engine``: ``$PIFNET_ENGINE``, else the repository's ``.venv/bin/pifnet-engine``, and the
real ``pifnet-train`` beside it (found by the plugin's own rule).
Nothing here may be imported at module level that only QGIS's Python has.

tests/ and tests/qgis are packages, so pytest puts the repository root on ``sys.path`` (its
``rootdir``-based ``prepend`` import mode) and ``qgis_plugin`` imports from the checkout; the
helpers beside the tests are imported relatively (``from .pair_fixture import make_pair``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIRE_QGIS = os.environ.get("PIFNET_REQUIRE_QGIS") == "1"
QGIS_PLUGINS_DIR = Path("/usr/share/qgis/python/plugins")  # Debian's processing plugin

try:  # only QGIS's Python has these
    import qgis.core  # noqa: F401
    from osgeo import gdal  # noqa: F401

    QGIS_PROBLEM: str | None = None
except ImportError as err:
    QGIS_PROBLEM = f"QGIS is not importable from {sys.executable} ({err}); run these tests with /usr/bin/python3"


def engine_path() -> Path:
    """The engine under test: ``$PIFNET_ENGINE``, else ``<repo>/.venv/bin/pifnet-engine``."""
    return Path(os.environ.get("PIFNET_ENGINE") or REPO_ROOT / ".venv" / "bin" / "pifnet-engine").absolute()


def _unavailable(reason: str) -> None:
    if REQUIRE_QGIS:
        pytest.fail(f"{reason} (PIFNET_REQUIRE_QGIS=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def qgis_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless QgsApplication with Processing and the PIF-Net provider, in a throw-away profile."""
    if QGIS_PROBLEM is not None:
        _unavailable(QGIS_PROBLEM)
    home = tmp_path_factory.mktemp("qgis-home")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[var] = str(home / var.lower())
    runtime = Path(tempfile.mkdtemp(prefix="xdg-runtime-"))
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if str(QGIS_PLUGINS_DIR) not in sys.path:
        sys.path.insert(0, str(QGIS_PLUGINS_DIR))

    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    from qgis_plugin.provider import PifnetProvider

    provider = PifnetProvider()
    if not QgsApplication.processingRegistry().addProvider(provider):
        pytest.fail("the PIF-Net provider could not be registered", pytrace=False)
    yield app
    QgsApplication.processingRegistry().removeProvider(provider)


@pytest.fixture(scope="session")
def engine(qgis_app: Any) -> Path:
    """The real engine executable (required: these tests never stand in for it)."""
    path = engine_path()
    if not os.access(path, os.X_OK):
        _unavailable(f"pifnet-engine not found at {path}; install the engine (pip install -e .) or set PIFNET_ENGINE")
    return path


@pytest.fixture(scope="session")
def trainer(engine: Path) -> Path:
    """The real ``pifnet-train`` beside the engine (the plugin finds it there by default)."""
    path = engine.parent / "pifnet-train"
    if not os.access(path, os.X_OK):
        _unavailable(f"pifnet-train not found beside the engine at {path}; install the engine (pip install -e .)")
    return path


def _provider_setting(name: str) -> Iterator[Any]:
    """A setter of the provider's setting ``name`` for one test; empties it again afterwards."""
    from processing.core.ProcessingConfig import ProcessingConfig

    def set_value(value: str) -> None:
        ProcessingConfig.setSettingValue(name, value)

    yield set_value
    ProcessingConfig.setSettingValue(name, "")


@pytest.fixture
def trainer_setting(qgis_app: Any) -> Iterator[Any]:
    """Sets the provider's pifnet-train setting for one test, then empties it again."""
    from qgis_plugin.settings import TRAINER_SETTING

    yield from _provider_setting(TRAINER_SETTING)


@pytest.fixture
def engine_setting(qgis_app: Any) -> Iterator[Any]:
    """Sets the provider's engine setting for one test, then empties it again."""
    from qgis_plugin.settings import ENGINE_SETTING

    yield from _provider_setting(ENGINE_SETTING)


@pytest.fixture(scope="session")
def small_pair(qgis_app: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """HSI 24x24 px, 20 bands, 30 m + MSI 72x72 px, 4 bands, 10 m; EPSG:32633, same footprint."""
    from .pair_fixture import make_pair

    return make_pair(tmp_path_factory.mktemp("small-pair"))


@pytest.fixture(scope="session")
def slow_pair(qgis_app: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """HSI 90x90 px + MSI 270x270 px: with 24 px tiles, 144 windows, several seconds of work."""
    from .pair_fixture import make_pair

    return make_pair(tmp_path_factory.mktemp("slow-pair"), hsi_px=90)


@pytest.fixture(scope="session")
def fit_pair(qgis_app: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """HSI 32x40 px, 12 bands, 30 m + MSI 96x120 px, 4 bands, 10 m: a fit of a few steps takes seconds."""
    from .pair_fixture import make_pair

    return make_pair(tmp_path_factory.mktemp("fit-pair"), hsi_px=(32, 40), n_bands=12)
