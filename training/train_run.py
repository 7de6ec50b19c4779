"""``pifnet-train train`` behind the command line: set up data, model and run folder, then train.

A new run refuses an existing run folder (continue it with ``--resume``) and writes ``run.json``
first; ``--resume`` reads everything that defines the run from ``run.json`` (data, protocol,
model, optimisation) and only lets the stopping / device / logging options change.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from pifnet_engine.errors import InputDataError, OutputExistsError
from pifnet_engine.model import PIFNetConfig
from pifnet_engine.model.normalisation import MODE_PAIR_MEAN
from training.datasets import DataSpec, load_split_scenes, simulate_split
from training.distributed import barrier, init_distributed, shutdown
from training.export import manifest_extra
from training.pairs import seen_maxima
from training.trainer import StepHook, Trainer, TrainResult
from training.trainer_config import RUN_FILE, TrainConfig, read_run_file, write_run_file

#: TrainConfig fields that --resume may change, and the CLI option each comes from.
RESUMABLE = {"epochs": "epochs", "val_every": "val_every", "checkpoint_minutes": "checkpoint_minutes",
             "checkpoint_every": "checkpoint_every", "val_tile_px": "val_tile_size", "workers": "workers",
             "precision": "precision"}


@dataclass
class TrainRequest:
    """The parsed ``train`` options (``values``: option -> value with defaults filled in;
    ``explicit``: the options given on the command line)."""

    values: dict[str, Any]
    explicit: set[str] = field(default_factory=set)
    time_budget_s: float | None = None
    progress: str = "none"
    command: str = "pifnet-train train"
    on_step: StepHook | None = None


def _spec(v: dict[str, Any]) -> DataSpec:
    return DataSpec(scene=v["scene"], data=Path(v["data"]).resolve(), ratio=v["ratio"], protocol=v["protocol"],
                    msi_srf=v["msi_srf"], key=v["key"])


def _config(v: dict[str, Any]) -> TrainConfig:
    return TrainConfig(epochs=v["epochs"], batch_size=v["batch_size"], lr=v["lr"], lr_step_epochs=v["lr_step_epochs"],
                       schedule=v["schedule"], warmup_steps=v["warmup_steps"], schedule_steps=v["schedule_steps"],
                       inv_penalty=v["inv_penalty"],
                       patch_size=v["patch_size"], stride=v["stride"], seed=v["seed"], val_every=v["val_every"],
                       checkpoint_minutes=v["checkpoint_minutes"], checkpoint_every=v["checkpoint_every"],
                       val_tile_px=v["val_tile_size"], workers=v["workers"], precision=v["precision"])


def _check_new_run_folder(out: Path) -> None:
    if (out / RUN_FILE).exists():
        raise OutputExistsError(f"{out} already holds a run ({RUN_FILE}); continue it with --resume, "
                                "or choose another --out")
    if out.exists() and any(out.iterdir()):
        raise OutputExistsError(f"--out {out} exists and is not empty; choose a new folder for the run")


def run_training(req: TrainRequest) -> TrainResult:
    """Train as ``req`` says; returns how the run ended (rank 0's view)."""
    started = time.monotonic()
    v = req.values
    if v.get("threads"):
        torch.set_num_threads(int(v["threads"]))
    dist = init_distributed(v.get("device") or "auto")
    try:
        out = Path(v["out"])
        run: dict[str, Any] | None = None
        if v.get("resume"):
            run = read_run_file(out)
            if "data" in req.explicit:  # the same data moved (e.g. onto a GPU machine)
                run["data"]["data"] = str(Path(v["data"]).resolve())
            spec = DataSpec.from_dict(run["data"])
            changes = {f: v[o] for f, o in RESUMABLE.items() if o in req.explicit}
            cfg = dataclasses.replace(TrainConfig.from_dict(run["train"]), **changes)
        else:
            if dist.is_main:  # only rank 0 writes; torchrun stops the others if it fails
                _check_new_run_folder(out)
            spec, cfg = _spec(v), _config(v)
        scenes = load_split_scenes(spec)
        if not scenes.train:
            raise InputDataError(f"no training scenes found for --scene {spec.scene} in {spec.data}; check --data")
        train_sims = simulate_split(spec, scenes.train)
        val_sims = simulate_split(spec, scenes.validation)
        if run is None:
            model_kwargs = {k: v[k] for k in ("hidden", "blocks", "d_state", "residual") if v.get(k) is not None}
            model_cfg = PIFNetConfig(hsi_bands=train_sims[0].target.shape[0], msi_bands=train_sims[0].hr_msi.shape[0],
                                     ratio=spec.ratio, **model_kwargs)
            seen = seen_maxima(train_sims)
            run = {"command": req.command, "data": spec.to_dict(), "train": cfg.to_dict(), "model": model_cfg.to_dict(),
                   "regions": scenes.regions,
                   "normalisation": {"scale": scenes.scale, "mode": scenes.normalisation, "inputs": MODE_PAIR_MEAN,
                                     "seen": {"hsi_max": seen[0], "msi_max": seen[1]}},
                   "world_size": dist.world_size, "resumed": []}
            if dist.is_main:
                out.mkdir(parents=True, exist_ok=True)
                write_run_file(out, run)
        else:
            model_cfg = PIFNetConfig.from_dict(run["model"])
            if dist.is_main:
                run["train"] = cfg.to_dict()
                run.setdefault("resumed", []).append(
                    {"command": req.command, "utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
                doc = {k: val for k, val in run.items() if k not in ("format", "format_version", "engine_version",
                                                                     "created_utc")}
                write_run_file(out, doc)
        barrier(dist)
        extra = manifest_extra(run, scenes.train[0], train_sims[0], dist.device.type)
        trainer = Trainer(out, model_cfg, cfg, train_sims, val_sims, dist, extra, scale=scenes.scale,
                          wavelengths_nm=extra["hsi"]["wavelengths_nm"] and tuple(extra["hsi"]["wavelengths_nm"]),
                          progress=req.progress, on_step=req.on_step,
                          pair_mean=run["normalisation"].get("inputs") == MODE_PAIR_MEAN)
        if v.get("resume"):
            trainer.resume()
        result = trainer.fit(req.time_budget_s, v.get("max_steps"), started=started)
        if dist.is_main:
            sys.stderr.write(json.dumps({"event": "stopped", "reason": result.reason, "step": result.step,
                                         "epoch": result.epoch, "seconds": round(result.seconds, 1),
                                         "best": result.best}) + "\n")
        return result
    finally:
        shutdown(dist)

