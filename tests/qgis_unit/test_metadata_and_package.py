"""metadata.txt, versions, the zip QGIS installs, and what the plugin may import."""

from __future__ import annotations

import ast
import configparser
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from qgis_plugin.package import PLUGIN_FOLDER, ZIP_NAME, build_zip
from qgis_plugin.version import PLUGIN_VERSION

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO_ROOT / "qgis_plugin"
#: Modules that must import without QGIS (unit-tested here, used by the QGIS-side modules).
PURE_MODULES = {
    "__init__", "engine_check", "engine_env", "engine_locator", "engine_version", "errors", "feedback_sink",
    "fit_files", "fit_options", "fit_outcome", "fitfuse_choice", "help_text", "options", "outcome", "package", "programs",
    "progress", "runner", "version",
}


def read_metadata() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO_ROOT / "metadata.txt", encoding="utf-8")
    return parser["general"]


def test_metadata_has_what_qgis_and_the_issue_require() -> None:
    meta = read_metadata()
    for key in ("name", "qgisMinimumVersion", "version", "description", "about", "author", "email",
                "repository", "tracker", "tags"):
        assert meta.get(key, "").strip(), f"metadata.txt lacks {key}"
    assert meta["qgisMinimumVersion"] == "3.22"
    assert meta["hasProcessingProvider"] == "yes"


def test_plugin_metadata_and_engine_versions_are_equal() -> None:
    engine_init = (REPO_ROOT / "pifnet_engine" / "__init__.py").read_text(encoding="utf-8")
    engine_version = re.search(r'__version__ = "([^"]+)"', engine_init).group(1)
    assert read_metadata()["version"] == PLUGIN_VERSION == engine_version


def test_zip_has_one_plugin_folder_qgis_recognises(tmp_path: Path) -> None:
    target = build_zip(tmp_path)
    assert target == tmp_path / ZIP_NAME
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert {name.split("/")[0] for name in names} == {PLUGIN_FOLDER}
        # QGIS's "Install from ZIP" takes the folder of the shortest */metadata.txt as the plugin
        metadata_files = sorted(n for n in names if n.endswith("metadata.txt"))
        assert metadata_files == [f"{PLUGIN_FOLDER}/metadata.txt"]
        assert archive.read(f"{PLUGIN_FOLDER}/metadata.txt") == (REPO_ROOT / "metadata.txt").read_bytes()
        expected = {f"{PLUGIN_FOLDER}/{p.name}" for p in PLUGIN_DIR.glob("*.py")}
        assert expected <= set(names) and f"{PLUGIN_FOLDER}/__init__.py" in names
        assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
        assert archive.testzip() is None


def test_zip_is_reproducible(tmp_path: Path) -> None:
    first = build_zip(tmp_path / "a").read_bytes()
    assert build_zip(tmp_path / "b").read_bytes() == first


def test_packaging_command(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "qgis_plugin.package", "-o", str(tmp_path / "dist")],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "dist" / ZIP_NAME)
    assert zipfile.is_zipfile(tmp_path / "dist" / ZIP_NAME)


def imported_modules(path: Path) -> set[str]:
    """Top-level names of absolute imports in ``path`` (relative imports give '')."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_plugin_never_imports_torch_or_the_engine() -> None:
    for path in PLUGIN_DIR.glob("*.py"):
        assert not imported_modules(path) & {"torch", "pifnet_engine", "numpy", "rasterio"}, path.name


def test_pure_modules_do_not_import_qgis() -> None:
    assert PURE_MODULES <= {p.stem for p in PLUGIN_DIR.glob("*.py")}
    for name in PURE_MODULES:
        assert not imported_modules(PLUGIN_DIR / f"{name}.py") & {"qgis", "processing", "PyQt5"}, name
    code = (
        "import sys\n"
        + "".join(f"import qgis_plugin.{name}\n" for name in sorted(PURE_MODULES - {'__init__'}))
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'qgis', 'processing', 'torch', 'pifnet_engine'})\n"
        "print(bad)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
