"""Score PIF-Net against GSA and bicubic on whole simulated scenes, through the engine's pipeline.

Every method fuses each scene with :func:`pifnet_engine.arrays.fuse_arrays`: the same windows,
halo, blending and nodata handling as ``pifnet-engine fuse`` (PIF-Net as a
:class:`~pifnet_engine.methods.pifnet.PIFNetMethod` built from a weights file, so the
normalisation in the weights' manifest is exercised too). Inputs are fed in the weights'
physical units (the normalised scene times the normalisation divisor) and outputs divided back,
so metrics are computed on the [0, 1] ground truth.

Metrics (:func:`pifnet_engine.metrics.all_metrics`): PSNR and SSIM with ``data_range = 1.0``
(the paper's convention for [0, 1] data), SAM in degrees, ERGAS with the 100 / ratio
convention; each scene's metrics are computed over its valid pixels, and the table's mean is the
unweighted mean over scenes. Every report states its protocol (``paper`` or ``centred``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pifnet_engine.arrays import fuse_arrays
from pifnet_engine.atomic_file import write_atomic
from pifnet_engine.errors import InputDataError
from pifnet_engine.methods import FusionMethod
from pifnet_engine.metrics import all_metrics
from pifnet_engine.model.pifnet import PIFNet
from training.pairs import SimulatedScene

BASELINES = ("gsa", "bicubic")
METRICS = ("psnr", "ssim", "sam", "ergas")
METRIC_LABELS = {"psnr": "PSNR (dB) ↑", "ssim": "SSIM ↑", "sam": "SAM (°) ↓", "ergas": "ERGAS ↓"}
CONVENTIONS = {
    "psnr": "dB, per band with data range 1.0 on the [0, 1] ground truth, then mean over bands",
    "ssim": "Wang et al. 2004, 11x11 Gaussian sigma 1.5, data range 1.0, mean over bands",
    "sam": "degrees, mean over valid pixels",
    "ergas": "100 / ratio * sqrt(mean_k MSE_k / mu_k^2)",
    "mean": "unweighted mean over scenes",
}
PROTOCOL_TEXT = {
    "paper": "paper protocol (Wei et al. 2015: 3x3 Gaussian blur sigma 0.5, keep every s-th pixel from "
             "pixel 0; HR-MSI = ground truth through the spectral response matrix)",
    "centred": "centred protocol (each coarse pixel = average over its s x s footprint, what georeferenced "
               "data look like; HR-MSI = ground truth through the spectral response matrix)",
}


def method_from_model(model: PIFNet, manifest_extra: dict[str, Any], device: torch.device | str) -> FusionMethod:
    """A :class:`PIFNetMethod` for an in-memory ``model``, as its weights file would fuse (a copy of
    the network; manifest checks included; nothing written)."""
    from pifnet_engine.methods.pifnet import PIFNetMethod

    return PIFNetMethod.from_model(model, manifest_extra, device, name="candidate")


def scene_inputs(sim: SimulatedScene) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(LR-HSI (C, h, w), HR-MSI (c, H, W), valid (H, W)) of ``sim`` with NaN where a coarse pixel
    is not clean (nodata in the source scene), as the engine would read nodata."""
    s = sim.ratio
    lr = sim.lr_hsi.astype(np.float32, copy=True)
    msi = sim.hr_msi.astype(np.float32, copy=True)
    valid = np.repeat(np.repeat(sim.clean, s, axis=0), s, axis=1)
    if not sim.clean.all():
        lr[:, ~sim.clean] = np.nan
        msi[:, ~valid] = np.nan
    return lr, msi, valid


def evaluate_scenes(
    sims: Sequence[SimulatedScene],
    pifnet: FusionMethod | None,
    *,
    scale: float = 1.0,
    wavelengths_nm: tuple[float, ...] | None = None,
    baselines: Sequence[str] = BASELINES,
    tile_px: int = 256,
    device: str = "cpu",
) -> dict[str, Any]:
    """Fuse every scene with PIF-Net (when given) and the ``baselines``; return the report dict.

    ``scale``: the normalisation divisor of the scenes (the weights' physical units per 1.0);
    ``wavelengths_nm``: the HSI band centres, written on the HSI so that the weights' band check
    runs. Report: ``scenes`` (per scene and method: metrics and seconds), ``mean`` (per method).
    """
    if not sims:
        raise ValueError("evaluate_scenes needs at least one scene")
    methods: list[tuple[str, FusionMethod | str]] = []
    if pifnet is not None:
        methods.append(("pifnet", pifnet))
    methods.extend((b, b) for b in baselines)
    per_scene = []
    for sim in sims:
        lr, msi, valid = scene_inputs(sim)
        entry: dict[str, Any] = {"name": sim.name, "shape": list(sim.target.shape), "metrics": {}, "seconds": {}}
        # Bad bands (e.g. EnMAP's water-vapour bands) carry no signal: leave them out of the
        # metrics (all_metrics drops bands that are NaN in the reference).
        target = sim.target
        if sim.good_bands is not None and not all(sim.good_bands):
            target = target.copy()
            target[~np.array(sim.good_bands)] = np.nan
        for label, method in methods:
            t0 = time.perf_counter()
            try:
                est = fuse_arrays(lr * np.float32(scale), msi * np.float32(scale), method=method, tile_px=tile_px,
                                  device=device, wavelengths_nm=wavelengths_nm) / np.float32(scale)
            except InputDataError as exc:
                if label == "pifnet":
                    raise
                # A baseline that cannot run on this scene (e.g. GSA on fewer pixels than bands): NaN scores.
                entry.setdefault("unavailable", {})[label] = str(exc)
                entry["metrics"][label] = {m: math.nan for m in METRICS}
                entry["seconds"][label] = round(time.perf_counter() - t0, 3)
                continue
            entry["seconds"][label] = round(time.perf_counter() - t0, 3)
            entry["metrics"][label] = all_metrics(target, est, sim.ratio, data_range=1.0, valid=valid)
        per_scene.append(entry)
    labels = [label for label, _ in methods]
    mean = {label: {m: float(np.mean([e["metrics"][label][m] for e in per_scene])) for m in METRICS}
            for label in labels}
    first = sims[0]
    return {"protocol": first.protocol, "protocol_text": PROTOCOL_TEXT.get(first.protocol, first.protocol),
            "ratio": first.ratio, "msi": first.msi_preset, "data_range": 1.0, "conventions": CONVENTIONS,
            "tile_px": tile_px, "methods": labels, "scenes": per_scene, "mean": mean}


def _fmt(metric: str, value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4f}" if metric == "ssim" else f"{value:.3f}" if metric in ("sam", "ergas") else f"{value:.2f}"


NAMES = {"pifnet": "PIF-Net", "gsa": "GSA", "bicubic": "Bicubic"}


def markdown_report(report: dict[str, Any], title: str) -> str:
    """The report as Markdown: protocol, conventions, mean table, per-scene table."""
    head = "| method | " + " | ".join(METRIC_LABELS[m] for m in METRICS) + " |"
    rule = "|---|" + "---:|" * len(METRICS)
    lines = [f"# {title}", "",
             f"Protocol: **{report['protocol']}**, ratio {report['ratio']}, MSI `{report['msi']}`: "
             f"{report['protocol_text']}.", "",
             "Metrics: PSNR and SSIM with data range 1.0 on the [0, 1] ground truth; SAM in degrees; "
             f"ERGAS = 100/ratio·sqrt(mean MSE_k/mu_k²). Whole scenes, fused through the engine's windowed "
             f"pipeline (tile {report['tile_px']} px). Mean over {len(report['scenes'])} scene(s).", ""]
    if report.get("weights"):
        w = report["weights"]
        lines += [f"Weights: `{w.get('name')}` (sha256 {str(w.get('sha256'))[:12]}…)", ""]
    lines += [head, rule]
    for label in report["methods"]:
        row = report["mean"][label]
        lines.append(f"| {NAMES.get(label, label)} | " + " | ".join(_fmt(m, row[m]) for m in METRICS) + " |")
    lines += ["", "Per scene:", "", "| scene | method | " + " | ".join(METRIC_LABELS[m] for m in METRICS) + " |",
              "|---|---|" + "---:|" * len(METRICS)]
    for entry in report["scenes"]:
        for label in report["methods"]:
            row = entry["metrics"][label]
            lines.append(f"| {entry['name']} | {NAMES.get(label, label)} | "
                         + " | ".join(_fmt(m, row[m]) for m in METRICS) + " |")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], out_dir: Path, stem: str, title: str) -> tuple[Path, Path]:
    """Write ``stem.json`` and ``stem.md`` into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    write_atomic(json_path, json.dumps(report, indent=2) + "\n")
    write_atomic(md_path, markdown_report(report, title))
    return json_path, md_path
