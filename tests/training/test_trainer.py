"""The trainer: logs, learning-rate schedule, checkpoints, best weights, time budget, sampler."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pifnet_engine.model.weights import load_weights
from pifnet_engine.model import PIFNetConfig
from training.checkpoint import load_checkpoint
from training.distributed import DistInfo
from training.pairs import simulate_scene
from training.scenes.cave import CAVE_WAVELENGTHS_NM
from training.scenes.scene import Scene
from training.trainer import Trainer
from training.trainer_config import TrainConfig
from training.sampler import ResumableSampler
from training.train_run import TrainRequest, run_training

from .train_fixtures import smooth_cube, tiny_values, write_cave


@pytest.fixture(scope="module")
def cave(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cave(tmp_path_factory.mktemp("cave"))


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_cosine_schedule_warms_up_decays_per_step_and_penalises_squared_log_scales(tmp_path: Path,
                                                                                cave: Path) -> None:
    values = tiny_values(tmp_path / "run", cave, stride=16, epochs=2, val_every=2, warmup_steps=2,
                         schedule_steps=6, lr=4e-4)
    result = run_training(TrainRequest(values=values))
    assert (result.reason, result.step) == ("finished", 8)
    rows = _rows(tmp_path / "run" / "train_log.csv")
    cfg = TrainConfig(lr=4e-4, warmup_steps=2, schedule_steps=6)
    expected = [4e-4 * cfg.lr_factor(step, 6) for step in range(8)]
    assert [float(r["lr"]) for r in rows] == pytest.approx(expected, rel=1e-6)
    assert expected[0] == pytest.approx(2e-4)  # half way through the 2-step warm-up, cosine at its top
    assert 4e-4 > expected[1] > expected[2] > expected[5]
    assert expected[6] == expected[7] == pytest.approx(4e-4 * 0.02)
    assert all(float(r["inv"]) >= 0 for r in rows)  # mean s^2, never negative
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["train"]["schedule"] == "cosine" and run["train"]["inv_penalty"] == "square"


def test_run_logs_schedule_checkpoint_and_best(tmp_path: Path, cave: Path) -> None:
    # 2 scenes x 9 patches (48 px, 16-px patches, stride 16) = 18 patches -> 4 steps of 4 per epoch
    values = tiny_values(tmp_path / "run", cave, stride=16, epochs=2, lr_step_epochs=1, val_every=1,
                         schedule="step", lr=1e-4, inv_penalty="paper")
    result = run_training(TrainRequest(values=values))
    assert (result.reason, result.step, result.epoch) == ("finished", 8, 2)
    rows = _rows(tmp_path / "run" / "train_log.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, 9))
    assert [float(r["lr"]) for r in rows] == [1e-4] * 4 + [5e-5] * 4  # halved after every epoch here
    assert all(float(r["loss"]) > 0 for r in rows)
    for r in rows:  # eq. 4 with the paper's weights
        total = float(r["l1"]) + 0.01 * float(r["inv"]) + 0.1 * float(r["cos"])
        assert float(r["loss"]) == pytest.approx(total, rel=1e-5, abs=1e-7)
    assert [int(r["step"]) for r in _rows(tmp_path / "run" / "val_log.csv")] == [4, 8]

    ckpt = load_checkpoint(tmp_path / "run" / "checkpoints")
    assert ckpt.meta["position"] == {"step": 8, "epoch": 2, "batch_in_epoch": 0, "world_size": 1, "steps_per_epoch": 4}
    assert ckpt.meta["scheduler"]["last_epoch"] == 2
    assert any(k.endswith(".exp_avg_sq") for k in ckpt.tensors) and "rng.torch_cpu" in ckpt.tensors
    assert len(list((tmp_path / "run" / "checkpoints").glob("*.safetensors"))) == 1  # older ones removed

    model, manifest = load_weights(tmp_path / "run" / "best.safetensors")
    val = manifest["validation"]
    assert val["protocol"] == "paper" and val["scenes"] == ["cloth"]
    assert manifest["normalisation"]["mode"] == "pair_mean" and model.cfg.residual == "bicubic"
    assert set(val) >= {"pifnet", "gsa", "bicubic"}
    best_step = max(_rows(tmp_path / "run" / "val_log.csv"), key=lambda r: float(r["psnr"]))["step"]
    assert manifest["training"]["step"] == int(best_step)
    assert manifest["msi"]["band_names"] == ["blue", "green", "red"]
    assert manifest["hsi"]["wavelengths_nm"][0] == 400.0
    assert model.cfg.hidden == 8 and model.cfg.hsi_bands == 31 and model.cfg.msi_bands == 3
    report = json.loads((tmp_path / "run" / "validation.json").read_text())
    assert report["methods"] == ["pifnet", "gsa", "bicubic"] and report["step"] == 8


def test_time_budget_stops_cleanly_with_checkpoint_and_validation(tmp_path: Path, cave: Path) -> None:
    values = tiny_values(tmp_path / "run", cave, stride=16, epochs=50)
    result = run_training(TrainRequest(values=values, time_budget_s=1e-3))
    assert (result.reason, result.step) == ("time_budget", 1)
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoints")
    assert ckpt.meta["position"]["step"] == 1 and ckpt.meta["position"]["batch_in_epoch"] == 1
    assert (tmp_path / "run" / "best.safetensors").is_file()  # validated before stopping


def test_sampler_resumes_inside_an_epoch_and_shards_disjointly() -> None:
    data = list(range(10))
    full = ResumableSampler(data, seed=3)  # type: ignore[arg-type]
    full.set_epoch(2)
    order = list(full)
    assert sorted(order) == data and order != data
    tail = ResumableSampler(data, seed=3)  # type: ignore[arg-type]
    tail.set_epoch(2)
    tail.set_start(4)
    assert list(tail) == order[4:] and len(tail) == 6
    shards = []
    for rank in range(2):
        s = ResumableSampler(data, num_replicas=2, rank=rank, seed=3)  # type: ignore[arg-type]
        s.set_epoch(2)
        shards.append(list(s))
    assert sorted(shards[0] + shards[1]) == data
    assert shards[0] == order[0::2] and shards[1] == order[1::2]  # global batches = the 1-process ones


def test_nonfinite_loss_stops_with_a_clear_error(tmp_path: Path) -> None:
    scene = Scene("beads", smooth_cube(31, 32, seed=0).astype(np.float32), wavelengths_nm=CAVE_WAVELENGTHS_NM,
                  full_scale=1.0)
    sim = simulate_scene(scene, 4, "paper", msi_preset="nikon_d700")
    cfg = PIFNetConfig(hsi_bands=31, msi_bands=3, ratio=4, hidden=8, blocks=1, d_state=2)
    trainer = Trainer(tmp_path, cfg, TrainConfig(batch_size=2, patch_size=16), [sim], [], DistInfo(), {})
    with torch.no_grad():
        next(trainer.model.parameters()).fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="training loss became nan at step 1; lower --lr"):
        trainer.fit(max_steps=1)
