"""``pifnet-train evaluate``: score a run's best weights (or any weights file) on a split.

The data default to what the weights were trained on (``run.json`` of a run folder, or the
manifest's ``training.data`` of a weights file); any of ``--scene/--data/--ratio/--protocol/
--msi-srf/--key`` overrides them. Writes ``eval_<split>.json`` and ``eval_<split>.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from pifnet_engine.errors import InputDataError, UsageError
from pifnet_engine.methods.pifnet import PIFNetMethod
from pifnet_engine.model.weights import read_manifest, weights_paths
from pifnet_engine.pipeline import resolve_device
from training.datasets import DataSpec, load_split_scenes, simulate_split
from training.evaluate import evaluate_scenes, markdown_report, write_report
from training.export import best_weights
from training.trainer_config import RUN_FILE, read_run_file


def _data_spec(base: dict[str, Any] | None, overrides: dict[str, Any], source: Path) -> DataSpec:
    merged = dict(base or {})
    merged.update({k: v for k, v in overrides.items() if v is not None})
    missing = [k for k in ("scene", "data") if merged.get(k) is None]
    if missing:
        raise UsageError(
            f"{source} does not say which data it was trained on; pass "
            f"{' and '.join('--' + k for k in missing)}"
        )
    merged.setdefault("ratio", 4)
    merged.setdefault("protocol", "paper")
    return DataSpec.from_dict({**merged, "data": str(merged["data"])})


def evaluate_source(source: Path, split: str, overrides: dict[str, Any], out: Path | None = None,
                    tile_px: int = 256, device: str = "auto", threads: int | None = None) -> tuple[Path, Path, str]:
    """Evaluate ``source`` (run folder or weights file) on ``split``; returns (JSON, Markdown, text)."""
    if threads:
        torch.set_num_threads(threads)
    if source.is_dir() and (source / RUN_FILE).is_file():
        run = read_run_file(source)
        weights = best_weights(source)
        base = run["data"]
        out = out or source
    elif source.is_dir():
        raise InputDataError(f"{source} is neither a run folder ({RUN_FILE} missing) nor a weights file")
    else:
        weights = weights_paths(source)[0]
        manifest = read_manifest(source)
        base = (manifest.get("training") or {}).get("data")
        out = out or weights.parent
    spec = _data_spec(base, overrides, source)
    scenes = load_split_scenes(spec)
    chosen = scenes.get(split)
    if not chosen:
        hint = (" (CAVE: the 12 MHF-net test scenes are kept out of ../shared/data/cave; point --data at a "
                "complete CAVE download)" if spec.scene == "cave" else "")
        raise InputDataError(
            f"split {split!r} of --scene {spec.scene} in {spec.data} has no scenes{hint}; use --split validation "
            "or other data"
        )
    sims = simulate_split(spec, chosen)
    method = PIFNetMethod(device=resolve_device(device), weights=weights)
    waves = method.manifest["hsi"].get("wavelengths_nm")
    report = evaluate_scenes(sims, method, scale=scenes.scale, wavelengths_nm=tuple(waves) if waves else None,
                             tile_px=tile_px, device=device)
    report.update({"split": split, "data": spec.to_dict(),
                   "weights": {"name": method.weights_name, "sha256": method.manifest["sha256"], "file": str(weights)}})
    title = f"{method.weights_name}: {spec.scene} {split} split"
    json_path, md_path = write_report(report, out, f"eval_{split}", title)
    return json_path, md_path, markdown_report(report, title)
