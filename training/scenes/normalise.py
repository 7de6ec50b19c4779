"""Ground truth in [0, 1]: divide a scene by one scalar and clip.

Decision (one scalar per scene, never per band, so spectral shapes are untouched):

- ``"full_scale"`` — divide by the sensor's fixed full scale (:attr:`Scene.full_scale`): 65535
  for CAVE's 16-bit PNGs (the Fusformer / PSRT / MHF-net line divides by 2^16 - 1 too, so our
  numbers compare with theirs, and a dark scene stays dark), 1.0 for EnMAP reflectance (the
  weights then see reflectance, the unit the engine feeds them after GDAL scale/offset).
- ``"max"`` — divide by the scene maximum over valid pixels of good bands (Wei et al. 2015 and
  the benchmark line for Pavia, Chikusei, Houston, whose files hold uncalibrated DN without a
  meaningful full scale). Compute it on the WHOLE scene (not the training region) so train and
  test share one scale; for windowed reads pass ``scale=`` explicitly.
- ``"auto"`` (default) — ``"full_scale"`` when the scene has one, else ``"max"``.

Values are clipped to [0, 1] afterwards (reflectance can exceed 1 or dip below 0 slightly).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from pifnet_engine.errors import InputDataError, UsageError
from training.scenes.scene import Scene

NormaliseMode = Literal["auto", "full_scale", "max"]
NORMALISE_MODES = ("auto", "full_scale", "max")


def scene_max(scene: Scene) -> float:
    """Maximum over valid pixels of good bands (file units)."""
    cube = scene.cube
    if scene.good_bands is not None:
        cube = cube[np.asarray(scene.good_bands)]
    values = cube[:, scene.valid] if scene.valid is not None else cube
    if values.size == 0:
        raise InputDataError(f"scene {scene.name!r} has no valid pixel; expected some data to normalise")
    return float(values.max())


def normalisation_scale(scene: Scene, mode: NormaliseMode = "auto") -> tuple[float, str]:
    """(divisor, resolved mode) for ``scene`` under ``mode`` (see module docstring)."""
    if mode not in NORMALISE_MODES:
        raise UsageError(f"unknown normalisation {mode!r}; expected one of {NORMALISE_MODES}")
    if mode == "auto":
        mode = "full_scale" if scene.full_scale is not None else "max"
    if mode == "full_scale":
        if scene.full_scale is None:
            raise UsageError(
                f"scene {scene.name!r} has no fixed full scale (uncalibrated DN); use mode='max'"
            )
        return float(scene.full_scale), mode
    peak = scene_max(scene)
    if peak <= 0:
        raise InputDataError(
            f"scene {scene.name!r}: maximum value is {peak}; expected a positive maximum to "
            "normalise by; check the data is not empty or all negative"
        )
    return peak, mode


def normalise(scene: Scene, mode: NormaliseMode = "auto", scale: float | None = None) -> tuple[Scene, float]:
    """(scene / scale clipped to [0, 1], scale). ``scale`` overrides ``mode`` (e.g. a whole-scene
    maximum computed elsewhere). The result has ``full_scale = 1.0``."""
    if scale is None:
        scale, _ = normalisation_scale(scene, mode)
    if not (np.isfinite(scale) and scale > 0):
        raise UsageError(f"normalisation scale must be a positive number; got {scale!r}")
    cube = np.clip(scene.cube / np.float32(scale), 0.0, 1.0).astype(np.float32)
    return dataclasses.replace(scene, cube=cube, full_scale=1.0), float(scale)
