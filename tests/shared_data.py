"""The one place that knows where the real data of ``../shared/data`` lies (see its README.md).

Tests that read real data mark themselves with :func:`needs_shared` (and ``pytest.mark.realdata``)
and take the folder from the ``shared_data`` fixture (registered in ``tests/conftest.py``), so
they skip cleanly, with the missing path in the reason, when the data is not there.

Environment:
    PIFNET_SHARED_DATA: the folder to use instead of ``<repository>/../shared/data``. Point it at
    an empty folder (``PIFNET_SHARED_DATA=/tmp/empty pytest ...``) to check that every real-data
    test skips cleanly without the data; point it at a copy of the data to test against that.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The real-data folder: ``$PIFNET_SHARED_DATA``, else ``<repository>/../shared/data``.
SHARED_DATA = Path(os.environ.get("PIFNET_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data").resolve()


def _label(sub: Path) -> str:
    """How a skip reason names ``SHARED_DATA / sub``: ``../shared/data/<sub>``, or the full path if overridden."""
    if os.environ.get("PIFNET_SHARED_DATA"):
        return f"{SHARED_DATA / sub} (from PIFNET_SHARED_DATA)"
    return f"../shared/data/{sub.as_posix()}" if sub.parts else "../shared/data"


def needs_shared(*subpath: str) -> pytest.MarkDecorator:
    """A mark that skips the test unless ``SHARED_DATA / subpath`` exists (a file or a folder).

    ``needs_shared("cave")``, ``needs_shared("pavia_university", "paviaU_subimg.mat")``.
    """
    sub = Path(*subpath)
    return pytest.mark.skipif(not (SHARED_DATA / sub).exists(), reason=f"{_label(sub)} not present")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder :data:`SHARED_DATA`; skips the test when it does not exist."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{_label(Path())} not present")
    return SHARED_DATA
