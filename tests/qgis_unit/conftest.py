"""Unit tests of the QGIS plugin's pure-Python parts: no QGIS needed (run by the venv Python).

Puts the repository root on ``sys.path`` so ``qgis_plugin`` imports without being installed
(it is not part of the engine's wheel).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
