"""The external programs the plugin runs, as values: their file names, titles and where to set them.

Pure Python (no ``qgis`` import). Both come from the same engine installation (one Python
environment, two console scripts): ``pifnet-engine`` fuses, ``pifnet-train`` fits weights. The
locator (:mod:`.engine_locator`), the version check (:mod:`.engine_version`) and the messages
take one of these values, so the two are found, checked and named the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Where the provider's settings live in the QGIS user interface (for messages).
SETTINGS_PATH = "Settings > Options > Processing > Providers > PIF-Net"


@dataclass(frozen=True)
class Program:
    """One external program.

    ``name`` is the console script's file name (``.exe`` is added by PATHEXT on Windows);
    ``title`` names it in messages ("PIF-Net engine ..."); ``env_var`` may hold its path;
    ``setting_description`` is the label of its provider setting.
    """

    name: str
    title: str
    env_var: str
    setting_description: str

    @property
    def setting_label(self) -> str:
        """The setting's place in the QGIS user interface."""
        return f"{SETTINGS_PATH} > {self.setting_description}"

    @property
    def how_to_install(self) -> str:
        """How to get the program (ends a "not found" message)."""
        return (
            "install the engine into its own Python environment (see 'Use from QGIS' in the PIF-Net "
            f"README) and set {self.setting_label} to the {self.name} program in it "
            f"(.../bin/{self.name}, or ...\\Scripts\\{self.name}.exe on Windows)"
        )


#: The fusion program (``pifnet-engine fuse``).
ENGINE = Program(
    name="pifnet-engine",
    title="PIF-Net engine",
    env_var="PIFNET_ENGINE",
    setting_description="pifnet-engine executable",
)

#: The fitting program (``pifnet-train fit``), installed beside the engine.
TRAINER = Program(
    name="pifnet-train",
    title="PIF-Net trainer",
    env_var="PIFNET_TRAIN",
    setting_description="pifnet-train executable",
)
