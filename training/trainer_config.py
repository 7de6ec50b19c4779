"""Hyper-parameters of a training run and the run folder's ``run.json``.

Defaults are the paper's: AdamW, learning rate 1e-4 halved every 200 epochs, batch 8, 500
epochs, 64 x 64 ground-truth patches, the eq. 4 loss with lambda_inv = 0.01, lambda_cos = 0.1.
Where the paper is silent: AdamW's weight decay is PyTorch's default 0.01; the seed is 0.

``run.json`` (written once when a run starts, read by ``--resume``, ``evaluate`` and ``export``)::

    {"format": "pifnet-train-run", "format_version": 1, "engine_version": "0.1.0",
     "created_utc": "...", "command": "pifnet-train train ...",
     "data": {DataSpec}, "train": {TrainConfig}, "model": {PIFNetConfig},
     "regions": {"train": [...], "validation": [...], "test": [...]},
     "normalisation": {"scale": 65535.0, "mode": "full_scale"}}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pifnet_engine import __version__
from pifnet_engine.errors import InputDataError, UsageError
from pifnet_engine.model.loss import LAMBDA_COS, LAMBDA_INV

RUN_FORMAT = "pifnet-train-run"
RUN_FILE = "run.json"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (all in epochs / steps of the global batch).

    - ``batch_size``: global batch (split evenly over ``torchrun`` processes);
    - ``lr``, ``lr_step_epochs``, ``lr_gamma``: StepLR, lr * gamma ** (epoch // step);
    - ``patch_size``: ground-truth patch side (fine pixels); ``stride``: patch grid step (fine
      pixels, ``None`` = about half a patch, see :class:`training.pairs.PatchDataset`);
    - ``val_every``: validate every this many epochs (and when the run stops early);
    - ``checkpoint_minutes`` / ``checkpoint_every``: also checkpoint this often (minutes / steps;
      0 = only at epoch ends and at stop);
    - ``val_tile_px``: engine tile size (MSI px) of validation fusion.
    """

    epochs: int = 500
    batch_size: int = 8
    lr: float = 1e-4
    lr_step_epochs: int = 200
    lr_gamma: float = 0.5
    weight_decay: float = 0.01
    lambda_inv: float = LAMBDA_INV
    lambda_cos: float = LAMBDA_COS
    patch_size: int = 64
    stride: int | None = None
    seed: int = 0
    val_every: int = 1
    checkpoint_minutes: float = 10.0
    checkpoint_every: int = 0
    val_tile_px: int = 256
    workers: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "lr_step_epochs", "patch_size", "val_every", "val_tile_px"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UsageError(f"training option {name} = {value!r}; expected a positive integer")
        for name in ("checkpoint_every", "workers", "seed"):
            if getattr(self, name) < 0:
                raise UsageError(f"training option {name} = {getattr(self, name)!r}; expected >= 0")
        if not self.lr > 0 or not 0 < self.lr_gamma <= 1:
            raise UsageError(f"lr = {self.lr!r} must be > 0 and lr_gamma = {self.lr_gamma!r} in (0, 1]")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def write_run_file(run_dir: Path, content: dict[str, Any]) -> Path:
    """Write ``run_dir/run.json`` with the format header and creation time added."""
    doc = {"format": RUN_FORMAT, "format_version": 1, "engine_version": __version__,
           "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), **content}
    path = run_dir / RUN_FILE
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
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
