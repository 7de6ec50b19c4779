"""The provider's and the algorithms' icon: ``icon.svg`` beside this module (QGIS side)."""

from __future__ import annotations

import os

from qgis.PyQt.QtGui import QIcon

#: The icon file; the plugin zip carries it, and ``metadata.txt`` names it (``icon=icon.svg``).
ICON_FILE = "icon.svg"


def plugin_icon_path() -> str:
    """Absolute path of the icon file."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), ICON_FILE)


def plugin_icon() -> QIcon:
    """The icon as a QIcon (QGIS draws the SVG at any size)."""
    return QIcon(plugin_icon_path())


class PluginIcon:
    """Mixin (first base) giving a QGIS provider or algorithm the plugin's icon."""

    def icon(self) -> QIcon:
        return plugin_icon()

    def svgIconPath(self) -> str:
        return plugin_icon_path()
