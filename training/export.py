"""Weights manifests for a run, and ``pifnet-train export``: the best checkpoint as an engine
weights file (``NAME.safetensors`` + ``NAME.json``, see :mod:`pifnet_engine.model.weights`).

The trainer writes the best validation model of a run as ``<run>/best.safetensors`` +
``best.json`` whenever validation improves; export re-reads it through the engine's own loader
(digest, header and shape checks) and saves it under its final name, so what is exported is
exactly what ``pifnet-engine fuse --method pifnet --weights NAME.safetensors`` will load.

Manifest sections filled here:

- ``hsi``: band centres / FWHM (omitted when they are only nominal), sensor;
- ``msi``: the MSI preset's band names and response-weighted band centres, the (c, C) response
  matrix used to simulate it;
- ``normalisation``: ``pair_mean`` with the largest normalised values seen in training (see
  :mod:`pifnet_engine.model.normalisation`); for runs started before it, offset 0 and scale =
  the divisor that took the training data to [0, 1] (e.g. 65535 for CAVE's 16-bit counts);
- ``training``: data (scene kind, path, regions / scenes per split, protocol, ratio, MSI),
  the command line, the optimisation settings, step / epoch reached, device;
- ``validation``: PIF-Net's, GSA's and bicubic's mean metrics on the validation scenes, protocol
  and conventions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pifnet_engine.errors import InputDataError, OutputExistsError
from pifnet_engine.model.normalisation import MODE_PAIR_MEAN, pair_mean_section
from pifnet_engine.model.weights import load_weights, save_weights, weights_paths
from training.pairs import MSI_PRESETS, SimulatedScene
from training.scenes.scene import Scene


def msi_section(preset: str, response: np.ndarray) -> dict[str, Any]:
    """The manifest's ``msi`` section for an MSI simulated with ``preset`` / ``response`` (c, C)."""
    sensor, bands = MSI_PRESETS.get(preset, (preset, None))
    section: dict[str, Any] = {"sensor": sensor, "band_names": None, "wavelengths_nm": None,
                               "spectral_responses": {"preset": preset, "matrix": np.round(response, 8).tolist()}}
    if preset != "rosis_ikonos" and preset in MSI_PRESETS:
        from pifnet_engine.spectral.srf import load_srf

        srf = load_srf(sensor, bands=bands)
        section["band_names"] = list(srf.band_names)
        section["wavelengths_nm"] = [round(float(v), 2) for v in srf.centres_nm()]
    return section


def hsi_section(scene: Scene) -> dict[str, Any]:
    """The manifest's ``hsi`` section from a training scene's band metadata."""
    nominal = scene.wavelengths_nominal
    return {"sensor": scene.sensor,
            "wavelengths_nm": None if nominal or scene.wavelengths_nm is None else list(scene.wavelengths_nm),
            "fwhm_nm": None if nominal or scene.fwhm_nm is None else list(scene.fwhm_nm),
            "wavelengths_nominal": nominal}


def manifest_extra(run: dict[str, Any], scene: Scene, sim: SimulatedScene, device: str) -> dict[str, Any]:
    """Manifest sections (all but ``validation``) for weights trained by the run ``run`` (the
    content of ``run.json``) on scenes like ``scene`` / ``sim``."""
    norm = run["normalisation"]
    if norm.get("inputs") == MODE_PAIR_MEAN:
        section = pair_mean_section(norm["seen"]["hsi_max"], norm["seen"]["msi_max"])
    else:  # a run started before the unit-free normalisation
        section = {
            "hsi": {"offset": 0.0, "scale": float(norm["scale"])},
            "msi": {"offset": 0.0, "scale": float(norm["scale"])},
            "description": (f"HSI and MSI divided by {norm['scale']:g} ({norm['mode']} normalisation of the "
                            "training ground truth), so the network sees [0, 1] data"),
        }
    return {
        "hsi": hsi_section(scene),
        "msi": msi_section(sim.msi_preset, sim.response),
        "normalisation": section,
        "training": {
            "data": {**run["data"], "regions": run.get("regions", {})},
            "protocol": run["data"]["protocol"],
            "command": run.get("command"),
            "settings": run["train"],
            "device": device,
        },
    }


def best_weights(run_dir: Path) -> Path:
    """``<run>/best.safetensors``, or an :class:`InputDataError` saying how to get one."""
    st, js = weights_paths(run_dir / "best")
    if not (st.is_file() and js.is_file()):
        raise InputDataError(
            f"run {run_dir} has no validated weights yet (best.safetensors/best.json are written at each "
            "validation); resume training with `pifnet-train train --out RUN --resume` until one validation ran"
        )
    return st


def export_run(run_dir: Path, output: Path, name: str | None = None, overwrite: bool = False,
               notes: str | None = None) -> dict[str, Any]:
    """Write the run's best weights as ``output`` (``NAME``, ``NAME.safetensors`` or
    ``NAME.json``); returns the new manifest. The manifest name defaults to NAME's stem."""
    model, manifest = load_weights(best_weights(run_dir))
    st_path, json_path = weights_paths(output)
    for p in (st_path, json_path):
        if p.exists() and not overwrite:
            raise OutputExistsError(f"output {p} exists; pass --overwrite to replace it, or choose another name")
    if not st_path.parent.is_dir():
        raise InputDataError(f"output folder {st_path.parent} does not exist; create it first")
    extra = {k: manifest[k] for k in ("hsi", "msi", "normalisation", "training", "validation") if k in manifest}
    extra["name"] = name or st_path.name[: -len(".safetensors")]
    extra["training"] = {**extra.get("training", {}), "run": str(run_dir.resolve())}
    if notes is not None or "notes" in manifest:
        extra["notes"] = notes if notes is not None else manifest["notes"]
    return save_weights(st_path, model, extra)
