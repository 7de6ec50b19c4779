"""Single-process, multi-GPU and multi-node training through ``torchrun``.

``torchrun`` starts one process per device and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_distributed` reads them and joins the process
group (NCCL on CUDA, gloo on CPU). Without them the run is a plain single process. Rank 0 is
the only one that writes files (logs, checkpoints, weights); every rank reads the same data.

Examples::

    pifnet-train train ...                                        # one process
    torchrun --nproc-per-node 4 -m training.cli train ...         # 4 GPUs of one machine
    torchrun --nnodes 2 --node-rank R --nproc-per-node 8 \\
        --rdzv-backend c10d --rdzv-endpoint HOST:29500 -m training.cli train ...   # 2 machines
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from pifnet_engine.errors import DeviceError, UsageError
from pifnet_engine.pipeline import resolve_device


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size`` processes, its ``device``, and the
    process-group ``backend`` (``None`` for a single process)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """True on the process that writes files (rank 0)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise UsageError(f"environment variable {name}={raw!r}; expected an integer (set by torchrun)") from None


def init_distributed(device: str = "auto") -> DistInfo:
    """Resolve ``device`` (``auto``/``cpu``/``cuda``) and join the process group when launched by
    ``torchrun`` (``WORLD_SIZE`` > 1). Each CUDA process uses GPU ``LOCAL_RANK``."""
    world = _env_int("WORLD_SIZE", 1)
    dev = resolve_device(device)
    if world <= 1:
        return DistInfo(device=dev)
    rank, local = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if dev.type == "cuda":
        if local >= torch.cuda.device_count():
            raise DeviceError(
                f"LOCAL_RANK {local} but this machine has {torch.cuda.device_count()} CUDA GPUs; "
                "start at most one process per GPU (torchrun --nproc-per-node)"
            )
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank=rank, world_size=world, local_rank=local, device=dev, backend=backend)


def shutdown(info: DistInfo) -> None:
    """Leave the process group (no-op for a single process)."""
    if info.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.distributed:
        dist.barrier()


def mean_over_ranks(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Element-wise mean of ``values`` over all ranks (returned unchanged for one process)."""
    if not info.distributed:
        return values
    out = values.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / info.world_size


def any_rank(flag: bool, info: DistInfo) -> bool:
    """True when ``flag`` is True on at least one rank; every rank gets the same answer, so all
    stop at the same step (time budget, signals)."""
    if not info.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def broadcast_object(obj: object, info: DistInfo) -> object:
    """Rank 0's ``obj`` on every rank (small JSON-like values only)."""
    if not info.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
