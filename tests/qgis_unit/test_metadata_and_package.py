"""metadata.txt, versions, the zip QGIS installs, and what the plugin may import."""

from __future__ import annotations

import ast
import configparser
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from qgis_plugin.help_text import DOCS_URL, FIT_HELP_URL, FUSE_HELP_URL
from qgis_plugin.package import PLUGIN_FOLDER, ZIP_NAME, build_zip
from qgis_plugin.version import PLUGIN_VERSION

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO_ROOT / "qgis_plugin"
#: Modules that must import without QGIS (unit-tested here, used by the QGIS-side modules).
PURE_MODULES = {
    "__init__", "engine_check", "engine_env", "engine_locator", "engine_version", "errors", "feedback_sink",
    "file_identity", "fit_files", "fit_options", "fit_outcome", "fitfuse_choice", "help_text", "options", "outcome",
    "package", "programs", "progress", "report_files", "runner", "version",
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
        expected = {f"{PLUGIN_FOLDER}/{p.name}" for p in [*PLUGIN_DIR.glob("*.py"), *PLUGIN_DIR.glob("*.svg")]}
        assert expected <= set(names) and f"{PLUGIN_FOLDER}/__init__.py" in names
        # QGIS's plugin manager shows metadata.txt's icon=, a path inside the plugin folder
        icon = read_metadata()["icon"]
        assert f"{PLUGIN_FOLDER}/{icon}" in names
        assert archive.read(f"{PLUGIN_FOLDER}/{icon}") == (PLUGIN_DIR / icon).read_bytes()
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


def test_the_icon_is_a_square_svg_the_modules_name() -> None:
    """icons.py imports qgis, so it is checked by its text here and loaded in tests/qgis."""
    icon = read_metadata()["icon"]
    assert icon == "icon.svg" and f'ICON_FILE = "{icon}"' in (PLUGIN_DIR / "icons.py").read_text(encoding="utf-8")
    root = ET.parse(PLUGIN_DIR / icon).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    x, y, width, height = (float(v) for v in root.get("viewBox").split())
    assert (x, y) == (0.0, 0.0) and width == height
    assert not any(el.tag.endswith("image") for el in root.iter()), "drawn, not an embedded bitmap"


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("url", [FUSE_HELP_URL, FIT_HELP_URL])
def test_help_urls_open_sections_of_docs_qgis_md_on_the_repository(url: str) -> None:
    repository = read_metadata()["repository"].rstrip("/")
    assert DOCS_URL == f"{repository}/blob/main/docs/qgis.md" and read_metadata()["homepage"].rstrip("/") == repository
    page, anchor = url.split("#")
    assert page == DOCS_URL
    headings = [line.lstrip("#") for line in (REPO_ROOT / "docs" / "qgis.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("#")]
    assert anchor in {github_anchor(h) for h in headings}, anchor
