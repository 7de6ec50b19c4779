"""Build ``pifnet_qgis_plugin.zip``, installable with QGIS's Plugins > Install from ZIP.

Usage (any Python >= 3.10, no QGIS needed), from the repository root::

    python3 -m qgis_plugin.package -o dist/

The zip holds one top-level folder, :data:`PLUGIN_FOLDER`, with the plugin's ``*.py`` files, its
icon (``*.svg``, named by ``icon=`` in ``metadata.txt``) and the repository's ``metadata.txt`` (and
``LICENSE`` when present). Entries are sorted and carry
a fixed timestamp, so the same sources give the same bytes.
"""

from __future__ import annotations

import argparse
import re
import sys
import zipfile
from pathlib import Path

from .version import PLUGIN_VERSION

#: Folder name inside the zip = the plugin's Python package name in a QGIS profile.
PLUGIN_FOLDER = "pifnet_qgis_plugin"
ZIP_NAME = f"{PLUGIN_FOLDER}.zip"
PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
#: The package's files that go into the zip: its modules and its icon.
PACKAGED_PATTERNS = ("*.py", "*.svg")
#: Fixed entry timestamp (zip cannot store dates before 1980).
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def plugin_files(package_dir: Path = PACKAGE_DIR, repo_root: Path = REPO_ROOT) -> dict[str, Path]:
    """Archive name -> source file for everything the plugin needs, sorted by name."""
    files = {f"{PLUGIN_FOLDER}/{p.name}": p for pattern in PACKAGED_PATTERNS for p in package_dir.glob(pattern)}
    files[f"{PLUGIN_FOLDER}/metadata.txt"] = repo_root / "metadata.txt"
    licence = repo_root / "LICENSE"
    if licence.is_file():
        files[f"{PLUGIN_FOLDER}/LICENSE"] = licence
    return dict(sorted(files.items()))


def metadata_version(metadata: Path) -> str | None:
    """The ``version=`` value of a QGIS ``metadata.txt``, or None when absent."""
    match = re.search(r"^version\s*=\s*(\S+)\s*$", metadata.read_text(encoding="utf-8"), re.MULTILINE)
    return match.group(1) if match else None


def build_zip(out_dir: Path, package_dir: Path = PACKAGE_DIR, repo_root: Path = REPO_ROOT) -> Path:
    """Write ``out_dir/pifnet_qgis_plugin.zip`` and return its path.

    Raises FileNotFoundError when ``metadata.txt`` is missing and ValueError when its version is
    not the plugin's :data:`~.version.PLUGIN_VERSION`.
    """
    metadata = repo_root / "metadata.txt"
    if not metadata.is_file():
        raise FileNotFoundError(
            f"metadata.txt not found at '{metadata}'; expected the plugin metadata at the repository "
            "root; run this from a full checkout"
        )
    found = metadata_version(metadata)
    if found != PLUGIN_VERSION:
        raise ValueError(
            f"metadata.txt says version={found}; expected {PLUGIN_VERSION} (qgis_plugin/version.py); "
            "make both equal to the engine's version"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / ZIP_NAME
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, source in plugin_files(package_dir, repo_root).items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, source.read_bytes())
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m qgis_plugin.package", description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output-dir", type=Path, default=Path("dist"), help="folder for the zip (default: dist)")
    args = parser.parse_args(argv)
    try:
        target = build_zip(args.output_dir)
    except (OSError, ValueError) as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
