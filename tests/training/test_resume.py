"""Kill-and-resume gives the same loss curve as an uninterrupted run (tiny config, exact to 1e-6).

Four ways of stopping: a step limit (clean stop, checkpoint at the stop), a crash between
periodic checkpoints (the steps after the last checkpoint are trained again and their log rows
replaced), a real SIGTERM sent to a ``pifnet-train`` process (checkpoint, exit 143), and a real
SIGKILL (no cleanup at all, possibly in the middle of writing a checkpoint).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training.train_run import TrainRequest, run_training

from .train_fixtures import tiny_values, write_cave

REPO = Path(__file__).resolve().parents[2]
# 18 patches, batch 4 -> 4 steps per epoch; 3 epochs = 12 steps; validate only at the end.
RUN = dict(stride=16, epochs=3, val_every=100)


class Crash(RuntimeError):
    """Stands in for a process dying between two checkpoints."""


@pytest.fixture(scope="module")
def cave(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cave(tmp_path_factory.mktemp("cave"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, cave: Path) -> list[float]:
    out = tmp_path_factory.mktemp("ref") / "run"
    result = run_training(TrainRequest(values=tiny_values(out, cave, **RUN)))
    assert result.step == 12
    return _losses(out)


def _losses(run: Path) -> list[float]:
    with open(run / "train_log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, len(rows) + 1))
    return [float(r["loss"]) for r in rows]


def test_step_limit_then_resume_matches(tmp_path: Path, cave: Path, reference: list[float]) -> None:
    out = tmp_path / "run"
    first = run_training(TrainRequest(values=tiny_values(out, cave, max_steps=6, **RUN)))
    assert (first.reason, first.step, first.epoch) == ("max_steps", 6, 1)  # stopped mid-epoch 1
    second = run_training(TrainRequest(values=tiny_values(out, cave, resume=True), explicit={"resume"}))
    assert (second.reason, second.step) == ("finished", 12)
    assert _losses(out) == pytest.approx(reference, rel=1e-6, abs=1e-7)


def test_crash_between_checkpoints_then_resume_matches(tmp_path: Path, cave: Path, reference: list[float]) -> None:
    out = tmp_path / "run"

    def crash_at_8(step: int, terms: dict[str, float]) -> None:
        if step == 8:
            raise Crash("simulated kill")

    values = tiny_values(out, cave, checkpoint_every=3, **RUN)
    with pytest.raises(Crash):
        run_training(TrainRequest(values=values, on_step=crash_at_8))
    assert len(_losses(out)) == 8  # the log has rows past the last checkpoint (step 6)
    run_training(TrainRequest(values=tiny_values(out, cave, resume=True), explicit={"resume"}))
    assert _losses(out) == pytest.approx(reference, rel=1e-6, abs=1e-7)


def _train_argv(cave: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "training.cli", "train", "--scene", "cave", "--data", str(cave), "--out", str(out),
            "--hidden", "8", "--blocks", "1", "--d-state", "2", "--patch-size", "16", "--stride", "16",
            "--batch-size", "4", "--epochs", "3", "--val-every", "100", "--val-tile-size", "64",
            "--device", "cpu", "--progress", "none", "--threads", "1", *extra]


def test_sigterm_checkpoints_exits_143_and_resumes(tmp_path: Path, cave: Path, reference: list[float]) -> None:
    out = tmp_path / "run"
    argv = _train_argv(cave, out)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    log = out / "train_log.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if log.is_file() and len(log.read_text().splitlines()) >= 3:  # header + 2 steps
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err.decode()
    stopped = len(_losses(out))
    assert 2 <= stopped < 12
    result = run_training(TrainRequest(values=tiny_values(out, cave, resume=True), explicit={"resume"}))
    assert result.step == 12
    assert _losses(out) == pytest.approx(reference, rel=1e-6, abs=1e-7)


def test_sigkill_during_checkpointing_then_resume_matches(tmp_path: Path, cave: Path, reference: list[float]) -> None:
    """Checkpoints every step (atomic writes), SIGKILL after a few: whatever is on disk loads, and
    --resume continues from the last complete checkpoint to the same losses."""
    from training.checkpoint import POINTER, load_checkpoint

    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(_train_argv(cave, out, "--checkpoint-every", "1"), cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = out / "train_log.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if log.is_file() and len(log.read_text().splitlines()) >= 5:  # header + 4 steps
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    pointers = list(out.rglob(POINTER))
    assert pointers
    for pointer in pointers:  # the checkpoint on disk is complete (a write the kill cut is a temporary file)
        assert load_checkpoint(pointer.parent).tensors
    result = run_training(TrainRequest(values=tiny_values(out, cave, resume=True), explicit={"resume"}))
    assert result.step == 12
    assert _losses(out) == pytest.approx(reference, rel=1e-6, abs=1e-7)


FSIZE_TRAIN = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
from training.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_full_disk_while_checkpointing_leaves_nothing_that_does_not_load(tmp_path: Path, cave: Path,
                                                                              reference: list[float]) -> None:
    """A real write failure: 4 steps run and checkpoint normally; resumed under a 100 kB file-size limit,
    which the logs fit and the tiny run's checkpoints (~220 kB) do not, the run fails at its next
    checkpoint. One line, exit 3, no temporary file, nothing on disk that does not load; --resume
    then continues from the step-4 checkpoint to the uninterrupted run's losses."""
    from training.checkpoint import POINTER, load_checkpoint
    from pifnet_engine.model.weights import load_weights

    out = tmp_path / "run"
    first = run_training(TrainRequest(values=tiny_values(out, cave, max_steps=4, checkpoint_every=1, **RUN)))
    assert first.step == 4
    argv = ["train", "--out", str(out), "--resume", "--checkpoint-every", "1", "--progress", "none", "--threads", "1"]
    done = subprocess.run([sys.executable, "-c", FSIZE_TRAIN, *argv], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert done.returncode == 3, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("Error: a file-size limit was reached while writing '") and "ckpt_" in lines[0], lines[0]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert not [p for p in files if ".tmp" in p.name or p.name.startswith(".")], files
    pointers = list(out.rglob(POINTER))
    assert pointers
    for pointer in pointers:
        ckpt = load_checkpoint(pointer.parent)
        assert ckpt.tensors and ckpt.meta["position"]["step"] == 4, ckpt.meta["position"]
    for weights in out.rglob("*.safetensors"):
        if weights.with_suffix(".json").exists() and "checkpoints" not in weights.parts:
            load_weights(weights)
    result = run_training(TrainRequest(values=tiny_values(out, cave, resume=True), explicit={"resume"}))
    assert result.step == 12
    assert _losses(out) == pytest.approx(reference, rel=1e-6, abs=1e-7)


def test_checkpoint_round_trip_is_exact_and_pickle_free(tmp_path: Path) -> None:
    import json
    import random

    import numpy as np
    import torch

    from training.checkpoint import load_checkpoint, restore_training_state, save_checkpoint

    def make() -> tuple[torch.nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.StepLR]:
        torch.manual_seed(1)
        model = torch.nn.Linear(3, 2)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        return model, opt, torch.optim.lr_scheduler.StepLR(opt, 2, 0.5)

    model, opt, sched = make()
    for _ in range(3):
        model(torch.rand(4, 3)).pow(2).sum().backward()
        opt.step()
        opt.zero_grad()
        sched.step()
    random.seed(7)
    np.random.seed(7)
    save_checkpoint(tmp_path, model, opt, sched, {"step": 3, "epoch": 3, "batch_in_epoch": 0})
    draws = (random.random(), float(np.random.rand()), float(torch.rand(1)))

    fresh, fresh_opt, fresh_sched = make()
    ckpt = load_checkpoint(tmp_path)
    restore_training_state(ckpt, fresh, fresh_opt, fresh_sched)
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == draws
    for a, b in zip(model.state_dict().values(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    for p, q in zip(model.parameters(), fresh.parameters(), strict=True):
        for k, v in opt.state[p].items():
            assert torch.equal(v, fresh_opt.state[q][k]), (k, v, fresh_opt.state[q][k])
    assert fresh_opt.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == 5e-4
    assert fresh_opt.param_groups[0]["betas"] == (0.9, 0.999)
    assert fresh_sched.state_dict() == sched.state_dict()
    meta = json.loads((tmp_path / "last.json").read_text())  # plain JSON, tensors in safetensors
    blob = (tmp_path / meta["tensors"]).read_bytes()
    assert not blob.startswith(b"PK") and json.loads(blob[8:8 + int.from_bytes(blob[:8], "little")])
