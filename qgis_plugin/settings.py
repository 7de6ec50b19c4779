"""The provider's Processing setting: where the ``pifnet-engine`` executable is (QGIS side)."""

from __future__ import annotations

from processing.core.ProcessingConfig import ProcessingConfig, Setting

#: Key under Processing/Configuration/ in the QGIS user settings (QGIS3.ini).
ENGINE_SETTING = "PIFNET_ENGINE_PATH"
#: Label of the setting in Settings > Options > Processing > Providers > PIF-Net.
ENGINE_SETTING_DESCRIPTION = "pifnet-engine executable"


def register_settings(group: str) -> None:
    """Add the provider's settings under ``group`` (the provider's name) and read saved values."""
    ProcessingConfig.addSetting(
        Setting(group, ENGINE_SETTING, ENGINE_SETTING_DESCRIPTION, "", valuetype=Setting.FILE)
    )
    ProcessingConfig.readSettings()


def unregister_settings() -> None:
    """Remove what :func:`register_settings` added (the saved value stays in the profile)."""
    if ENGINE_SETTING in ProcessingConfig.settings:
        ProcessingConfig.removeSetting(ENGINE_SETTING)


def engine_setting_value() -> str | None:
    """The configured engine path, or None when empty or not registered."""
    value = ProcessingConfig.getSetting(ENGINE_SETTING)
    return str(value) if value else None
