"""Hyper-parameters of a training run and the run folder's ``run.json``.

The paper trains with AdamW, learning rate 1e-4 halved every 200 epochs, batch 8, 500 epochs,
64 x 64 ground-truth patches and the eq. 4 loss (lambda_inv = 0.01, lambda_cos = 0.1); that is
:data:`PAPER_SETTINGS` (``pifnet-train train --paper-settings``). Our defaults differ where we
measured that they learn faster on the hardware analysts have (``benchmarks/bench_training.py``,
numbers in ``docs/training.md``): bfloat16 autocast where the hardware has it, batch 4 at learning rate 4e-4 with a 50-step linear warm-up
and a cosine decay to 2 % over ``schedule_steps`` (default: the whole run, ``epochs`` x steps
per epoch; set it to the steps a time budget allows), and the squared log-scale reading of
L_inv (:mod:`pifnet_engine.model.loss`). Where the paper is silent: AdamW's weight decay is
PyTorch's default 0.01; the seed is 0.

``run.json`` (written once when a run starts, read by ``--resume``, ``evaluate`` and ``export``)::

    {"format": "pifnet-train-run", "format_version": 1, "engine_version": "0.1.0",
     "created_utc": "...", "command": "pifnet-train train ...",
     "data": {DataSpec}, "train": {TrainConfig}, "model": {PIFNetConfig},
     "regions": {"train": [...], "validation": [...], "test": [...]},
     "normalisation": {"scale": 65535.0, "mode": "full_scale"}}
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pifnet_engine import __version__
from pifnet_engine.atomic_file import write_atomic
from pifnet_engine.errors import InputDataError, UsageError
from pifnet_engine.model.loss import INV_PENALTIES, LAMBDA_COS, LAMBDA_INV
from training.precision import PRECISIONS

RUN_FORMAT = "pifnet-train-run"
RUN_FILE = "run.json"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (all in epochs / steps of the global batch).

    - ``batch_size``: global batch (split evenly over ``torchrun`` processes);
    - ``schedule``: ``"cosine"`` (per step: linear warm-up over ``warmup_steps``, then cosine
      from ``lr`` to :data:`COSINE_FLOOR` x ``lr`` at ``schedule_steps``, flat after) or
      ``"step"`` (the paper's StepLR: lr * gamma ** (epoch // lr_step_epochs));
    - ``inv_penalty``: ``"square"`` or ``"paper"``, the reading of L_inv;
    - ``patch_size``: ground-truth patch side (fine pixels); ``stride``: patch grid step (fine
      pixels, ``None`` = about half a patch, see :class:`training.pairs.PatchDataset`);
    - ``val_every``: validate every this many epochs (and when the run stops early);
      ``val_every_steps``: also every this many steps (0 = off; fits, whose epochs are a few steps);
    - ``checkpoint_minutes`` / ``checkpoint_every``: also checkpoint this often (minutes / steps;
      0 = only at epoch ends and at stop); ``epoch_end_checkpoints``: False skips the epoch-end
      checkpoints (fits, whose epochs are a few steps, checkpoint by minutes and at stop);
    - ``val_tile_px``: engine tile size (MSI px) of validation fusion;
    - ``precision``: ``"auto"``, ``"bf16"`` or ``"fp32"``, the training forward pass's
      autocast (:mod:`training.precision`).
    """

    epochs: int = 500
    batch_size: int = 4
    lr: float = 4e-4
    schedule: str = "cosine"
    warmup_steps: int = 50
    schedule_steps: int | None = None
    inv_penalty: str = "square"
    lr_step_epochs: int = 200
    lr_gamma: float = 0.5
    weight_decay: float = 0.01
    lambda_inv: float = LAMBDA_INV
    lambda_cos: float = LAMBDA_COS
    patch_size: int = 64
    stride: int | None = None
    seed: int = 0
    val_every: int = 1
    val_every_steps: int = 0
    checkpoint_minutes: float = 10.0
    checkpoint_every: int = 0
    epoch_end_checkpoints: bool = True
    val_tile_px: int = 256
    workers: int = 0
    precision: str = "auto"

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "lr_step_epochs", "patch_size", "val_every", "val_tile_px"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UsageError(f"training option {name} = {value!r}; expected a positive integer")
        for name in ("checkpoint_every", "workers", "seed", "val_every_steps"):
            if getattr(self, name) < 0:
                raise UsageError(f"training option {name} = {getattr(self, name)!r}; expected >= 0")
        if self.schedule not in SCHEDULES:
            raise UsageError(f"--schedule {self.schedule!r}; expected one of {list(SCHEDULES)}")
        if self.inv_penalty not in INV_PENALTIES:
            raise UsageError(f"--inv-penalty {self.inv_penalty!r}; expected one of {list(INV_PENALTIES)}")
        if self.warmup_steps < 0 or (self.schedule_steps is not None and self.schedule_steps < 1):
            raise UsageError(f"warmup_steps = {self.warmup_steps!r} must be >= 0 and schedule_steps = "
                             f"{self.schedule_steps!r} >= 1")
        if self.precision not in PRECISIONS:
            raise UsageError(f"--precision {self.precision!r}; expected one of {list(PRECISIONS)}")
        if not self.lr > 0 or not 0 < self.lr_gamma <= 1:
            raise UsageError(f"lr = {self.lr!r} must be > 0 and lr_gamma = {self.lr_gamma!r} in (0, 1]")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """Inverse of :meth:`to_dict`; a run.json older than the cosine schedule keeps the
        paper's StepLR and log-det L_inv it was started with, one older than mixed precision
        its float32."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs.setdefault("schedule", "step")
        kwargs.setdefault("inv_penalty", "paper")
        kwargs.setdefault("precision", "fp32")
        return cls(**kwargs)

    def lr_factor(self, step: int, horizon: int) -> float:
        """Multiplier of ``lr`` for optimisation step ``step`` (0-based) under the cosine
        schedule with ``horizon`` steps (``schedule_steps`` or the run's length)."""
        warm = min(1.0, (step + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        t = min(step, horizon) / max(1, horizon)
        return warm * (COSINE_FLOOR + (1.0 - COSINE_FLOOR) * 0.5 * (1.0 + math.cos(math.pi * t)))


#: Schedules of :class:`TrainConfig`; the first is the default.
SCHEDULES = ("cosine", "step")
#: The cosine schedule ends at this fraction of the peak learning rate.
COSINE_FLOOR = 0.02
#: The paper's optimisation setting (with ``--paper-settings``; the model gets residual "none").
PAPER_SETTINGS: dict[str, Any] = {"batch_size": 8, "lr": 1e-4, "schedule": "step", "lr_step_epochs": 200,
                                  "inv_penalty": "paper"}


def write_run_file(run_dir: Path, content: dict[str, Any]) -> Path:
    """Write ``run_dir/run.json`` with the format header and creation time added."""
    doc = {"format": RUN_FORMAT, "format_version": 1, "engine_version": __version__,
           "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), **content}
    path = run_dir / RUN_FILE
    write_atomic(path, json.dumps(doc, indent=2) + "\n")
    return path


def read_run_file(run_dir: Path) -> dict[str, Any]:
    """Read ``run_dir/run.json``; :class:`InputDataError` when it is missing or not a run file."""
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise InputDataError(
            f"{run_dir} is not a training run folder ({RUN_FILE} missing); expected the --out folder "
            "of `pifnet-train train`"
        )
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("format") != RUN_FORMAT:
        raise InputDataError(f"{path} has format {doc.get('format')!r}; expected {RUN_FORMAT!r}")
    return doc
