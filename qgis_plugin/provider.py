"""The "PIF-Net" Processing provider (id ``pifnet``): fuse, fit, fit-and-fuse; two settings (the programs)."""

from __future__ import annotations

from processing.core.ProcessingConfig import ProcessingConfig
from qgis.core import QgsProcessingProvider

from .algorithm import FuseAlgorithm
from .fit_algorithm import FitAlgorithm
from .fitfuse_algorithm import FitFuseAlgorithm
from .icons import PluginIcon
from .settings import register_settings, unregister_settings
from .version import PLUGIN_VERSION


class PifnetProvider(PluginIcon, QgsProcessingProvider):
    """Runs the external ``pifnet-engine`` and ``pifnet-train``; raster outputs are GeoTIFF files only."""

    def id(self) -> str:
        return "pifnet"

    def name(self) -> str:
        return "PIF-Net"

    def longName(self) -> str:
        return f"PIF-Net hyperspectral image fusion (plugin {PLUGIN_VERSION})"

    def versionInfo(self) -> str:
        return PLUGIN_VERSION

    def load(self) -> bool:
        ProcessingConfig.settingIcons[self.name()] = self.icon()
        register_settings(self.name())
        self.refreshAlgorithms()
        return True

    def unload(self) -> None:
        unregister_settings()

    def loadAlgorithms(self) -> None:
        self.addAlgorithm(FuseAlgorithm())
        self.addAlgorithm(FitAlgorithm())
        self.addAlgorithm(FitFuseAlgorithm())

    def supportsNonFileBasedOutput(self) -> bool:
        return False

    def supportedOutputRasterLayerExtensions(self) -> list[str]:
        return ["tif"]

    def defaultRasterFileExtension(self) -> str:
        return "tif"
