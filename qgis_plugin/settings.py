"""The provider's Processing settings: where ``pifnet-engine`` and ``pifnet-train`` are (QGIS side)."""

from __future__ import annotations

from processing.core.ProcessingConfig import ProcessingConfig, Setting

from .programs import ENGINE, TRAINER

#: Key under Processing/Configuration/ in the QGIS user settings (QGIS3.ini).
ENGINE_SETTING = "PIFNET_ENGINE_PATH"
#: Label of the setting in Settings > Options > Processing > Providers > PIF-Net.
ENGINE_SETTING_DESCRIPTION = ENGINE.setting_description
#: Key of the trainer's setting; empty means the ``pifnet-train`` beside the engine.
TRAINER_SETTING = "PIFNET_TRAIN_PATH"
TRAINER_SETTING_DESCRIPTION = TRAINER.setting_description

_SETTINGS = ((ENGINE_SETTING, ENGINE_SETTING_DESCRIPTION), (TRAINER_SETTING, TRAINER_SETTING_DESCRIPTION))


def register_settings(group: str) -> None:
    """Add the provider's settings under ``group`` (the provider's name) and read saved values."""
    for key, description in _SETTINGS:
        ProcessingConfig.addSetting(Setting(group, key, description, "", valuetype=Setting.FILE))
    ProcessingConfig.readSettings()


def unregister_settings() -> None:
    """Remove what :func:`register_settings` added (the saved values stay in the profile)."""
    for key, _ in _SETTINGS:
        if key in ProcessingConfig.settings:
            ProcessingConfig.removeSetting(key)


def _value(key: str) -> str | None:
    value = ProcessingConfig.getSetting(key)
    return str(value) if value else None


def engine_setting_value() -> str | None:
    """The configured engine path, or None when empty or not registered."""
    return _value(ENGINE_SETTING)


def trainer_setting_value() -> str | None:
    """The configured ``pifnet-train`` path, or None when empty (then: beside the engine)."""
    return _value(TRAINER_SETTING)
