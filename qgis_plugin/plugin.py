"""The QGIS plugin object: registers the provider (desktop and ``qgis_process``)."""

from __future__ import annotations

from typing import Any

from qgis.core import QgsApplication

from .provider import PifnetProvider


class PifnetPlugin:
    """``initProcessing`` is what ``qgis_process`` calls; the desktop calls ``initGui``."""

    def __init__(self, iface: Any) -> None:
        self.iface = iface
        self.provider: PifnetProvider | None = None

    def initProcessing(self) -> None:
        if self.provider is None:
            self.provider = PifnetProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:
        self.initProcessing()

    def unload(self) -> None:
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
