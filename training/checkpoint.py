"""Training checkpoints without pickle: tensors in safetensors, everything else in JSON.

A checkpoint lets a killed run resume exactly where it stopped, so it holds: the model's
``state_dict``; the optimizer's state (every tensor, e.g. AdamW's ``exp_avg``/``exp_avg_sq``/
``step``, plus its ``param_groups``); the LR scheduler's ``state_dict``; the position
(epoch, batch within the epoch, global step); and all random state: Python's ``random``,
NumPy's global generator, torch's CPU generator and every CUDA generator. The data order needs no
stored state: the sampler's permutation is a function of (seed, epoch) and each patch's
augmentation of (seed, epoch, index) (see :mod:`training.sampler` and
:class:`training.pairs.PatchDataset`), so the position is enough.

Decision: no ``torch.save`` anywhere. The optimizer state is flattened into named tensors
(``optim.<param index>.<key>``) and JSON; checkpoints can therefore be read without executing
code, like the weights files, and inspected with any safetensors tool.

Layout in ``<run>/checkpoints/``: ``ckpt_<step>.safetensors`` (tensors) and ``last.json`` (the
rest + the tensor file's name and SHA-256). ``last.json`` is replaced atomically after its tensor
file is complete and older tensor files are removed afterwards, so a kill at any moment leaves
the previous or the new checkpoint, never a torn one.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from pifnet_engine.atomic_file import write_atomic
from pifnet_engine.errors import InputDataError

FORMAT = "pifnet-train-checkpoint"
FORMAT_VERSION = 1
POINTER = "last.json"


@dataclass
class Checkpoint:
    """A loaded checkpoint: ``tensors`` by name and the JSON ``meta``."""

    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]

    def prefixed(self, prefix: str) -> dict[str, torch.Tensor]:
        """Tensors whose name starts with ``prefix + '.'``, with the prefix removed."""
        n = len(prefix) + 1
        return {k[n:]: v for k, v in self.tensors.items() if k.startswith(prefix + ".")}


# --- random state ---------------------------------------------------------------------------

def capture_rng() -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(JSON part, tensor part) of every global random generator of this process."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    meta = {"python": [version, list(internal), gauss],
            "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
            "cuda_devices": torch.cuda.device_count() if torch.cuda.is_available() else 0}
    tensors = {"rng.torch_cpu": torch.get_rng_state()}
    if meta["cuda_devices"]:
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    return meta, tensors


def restore_rng(meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    """Inverse of :func:`capture_rng` (CUDA states only when this process sees the same GPUs)."""
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(tensors["rng.torch_cpu"])
    n = meta.get("cuda_devices", 0)
    if n and torch.cuda.is_available() and torch.cuda.device_count() == n:
        torch.cuda.set_rng_state_all([tensors[f"rng.cuda.{i}"] for i in range(n)])


# --- optimizer ------------------------------------------------------------------------------

def optimizer_to_flat(optimizer: torch.optim.Optimizer) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(JSON part, tensors) of ``optimizer.state_dict()``."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
    return {"param_groups": groups, "scalars": scalars, "tuple_keys": ["betas"]}, tensors


def optimizer_from_flat(meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Rebuild the ``state_dict`` that :func:`optimizer_to_flat` flattened."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    for idx, values in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(values)
    tuple_keys = set(meta.get("tuple_keys", []))
    groups = [{k: (tuple(v) if k in tuple_keys and isinstance(v, list) else v) for k, v in g.items()}
              for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


# --- files ----------------------------------------------------------------------------------

def save_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: torch.optim.lr_scheduler.LRScheduler, position: dict[str, Any],
                    extra: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint into ``folder`` and return the path of its ``last.json``.

    ``model``: the bare model (not the DDP wrapper); ``position``: JSON-ready dict with at
    least ``epoch``, ``batch_in_epoch`` and ``step``; ``extra``: any other JSON-ready state.
    """
    folder.mkdir(parents=True, exist_ok=True)
    optim_meta, optim_tensors = optimizer_to_flat(optimizer)
    rng_meta, rng_tensors = capture_rng()
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors.update(optim_tensors)
    tensors.update(rng_tensors)
    blob = st_save(tensors, metadata={"format": FORMAT})
    step = int(position["step"])
    st_path = folder / f"ckpt_{step:09d}.safetensors"
    write_atomic(st_path, blob)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "position": position,
            "optimizer": optim_meta, "scheduler": scheduler.state_dict(), "rng": rng_meta,
            "extra": extra or {}, "tensors": st_path.name, "sha256": hashlib.sha256(blob).hexdigest()}
    pointer = folder / POINTER
    write_atomic(pointer, (json.dumps(meta, indent=1) + "\n").encode("utf-8"))
    for old in folder.glob("ckpt_*.safetensors"):
        if old.name != st_path.name:
            old.unlink(missing_ok=True)
    return pointer


def has_checkpoint(folder: Path) -> bool:
    return (folder / POINTER).is_file()


def load_checkpoint(folder: Path) -> Checkpoint:
    """Read ``folder/last.json`` and its tensor file (digest-checked)."""
    pointer = folder / POINTER
    if not pointer.is_file():
        raise InputDataError(f"no checkpoint in {folder}: {POINTER} is missing; start a new run instead of --resume")
    try:
        meta = json.loads(pointer.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputDataError(f"checkpoint {pointer} is not valid JSON ({exc}); the run folder is damaged") from exc
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise InputDataError(
            f"checkpoint {pointer} has format {meta.get('format')!r} v{meta.get('format_version')!r}; "
            f"expected {FORMAT!r} v{FORMAT_VERSION}; resume it with the engine version that wrote it"
        )
    st_path = folder / meta["tensors"]
    if not st_path.is_file():
        raise InputDataError(f"checkpoint tensors {st_path} are missing; the run folder is damaged")
    blob = st_path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != meta["sha256"]:
        raise InputDataError(
            f"checkpoint tensors {st_path} have SHA-256 {digest} but {POINTER} says {meta['sha256']}; "
            "the file is corrupt"
        )
    return Checkpoint(tensors=st_load(blob), meta=meta)


def restore_training_state(ckpt: Checkpoint, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                           scheduler: torch.optim.lr_scheduler.LRScheduler) -> None:
    """Load model, optimizer, scheduler and RNG state from ``ckpt`` (model already on its device;
    ``Optimizer.load_state_dict`` moves the state tensors to the parameters' device)."""
    model.load_state_dict(ckpt.prefixed("model"), strict=True)
    optimizer.load_state_dict(optimizer_from_flat(ckpt.meta["optimizer"], ckpt.prefixed("optim")))
    scheduler.load_state_dict(ckpt.meta["scheduler"])
    restore_rng(ckpt.meta["rng"], {k: v for k, v in ckpt.tensors.items() if k.startswith("rng.")})
