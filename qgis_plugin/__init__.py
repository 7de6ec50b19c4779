"""QGIS plugin "PIF-Net": a Processing provider that runs the external ``pifnet-engine``.

Only :func:`classFactory` lives here, and it imports QGIS lazily, so the pure-Python modules
(argv building, progress parsing, packaging) import without QGIS. Nothing in this package may
import torch or ``pifnet_engine``: they live in the engine's own Python environment.
"""

from typing import Any


def classFactory(iface: Any) -> Any:  # noqa: N802 (name required by QGIS)
    """Entry point QGIS calls with its interface object; returns the plugin object."""
    from .plugin import PifnetPlugin

    return PifnetPlugin(iface)
