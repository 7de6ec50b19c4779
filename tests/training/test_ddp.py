"""Two-process DistributedDataParallel training on CPU (gloo), as ``torchrun --nproc-per-node 2`` runs it.

The global batch is split over the ranks and DDP averages the gradients, so the loss curve must
equal a one-process run with the same global batch (up to float summation order).
"""

from __future__ import annotations

import csv
import os
import socket
from pathlib import Path

import pytest
import torch.multiprocessing as mp

from training.checkpoint import load_checkpoint
from training.train_run import TrainRequest, run_training

from .train_fixtures import tiny_values, write_cave

RUN = dict(stride=16, epochs=1, val_every=100, batch_size=4)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(rank: int, world: int, port: int, out: str, cave: str) -> None:
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    result = run_training(TrainRequest(values=tiny_values(Path(out), Path(cave), **RUN)))
    if result.step != 4:
        raise RuntimeError(f"rank {rank} stopped at step {result.step}, expected 4")


def _losses(run: Path) -> list[float]:
    with open(run / "train_log.csv", newline="") as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


@pytest.mark.timeout(120)
def test_two_process_gloo_matches_one_process(tmp_path: Path) -> None:
    cave = write_cave(tmp_path / "cave")
    single = tmp_path / "single"
    run_training(TrainRequest(values=tiny_values(single, cave, **RUN)))

    ddp = tmp_path / "ddp"
    mp.start_processes(_worker, args=(2, _free_port(), str(ddp), str(cave)), nprocs=2, join=True,
                       start_method="spawn")

    assert len(_losses(ddp)) == 4
    assert _losses(ddp) == pytest.approx(_losses(single), rel=1e-4)
    ckpt = load_checkpoint(ddp / "checkpoints")
    assert ckpt.meta["position"]["world_size"] == 2 and ckpt.meta["position"]["step"] == 4
    assert sorted(p.name for p in ddp.iterdir()) == sorted(p.name for p in single.iterdir())  # rank 0 wrote once
