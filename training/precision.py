"""Mixed precision of the training forward pass: bfloat16 autocast where the hardware has it.

``TrainConfig.precision``:

- ``"auto"`` (default): bfloat16 autocast when the device computes bfloat16 natively (a CPU with
  AVX512-BF16 or AMX, a CUDA GPU with bfloat16 support), float32 otherwise (on a CPU without it,
  bfloat16 is emulated and slower than float32);
- ``"bf16"``: bfloat16 autocast whatever the hardware;
- ``"fp32"``: no autocast (every run before this option; ``run.json`` without the field).

Only the forward pass of a training step runs under autocast: convolutions and matrix products
take bfloat16 inputs and accumulate in float32 (PyTorch's autocast op list), the selective scan
works in float32 (:func:`pifnet_engine.model.ops.scan_args.compute_dtype`), the loss is computed
in float32 from the float32 bicubic base plus the bfloat16 residual, and the weights and AdamW
states stay float32. Validation and fusion are float32 (the engine never autocasts), so weights
trained this way are ordinary float32 weights.

Measured (``benchmarks/bench_training.py``, numbers in ``docs/training.md``): on the 2-core
AVX512-BF16 CPU a step of batch 4 x 64^2 takes 0.86 s instead of 1.24 s.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from pifnet_engine.errors import UsageError

#: Values of ``TrainConfig.precision``; the first is the default.
PRECISIONS = ("auto", "bf16", "fp32")


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 convolutions and matrix products natively."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private, present since torch 2.1
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"bf16"`` or ``"fp32"``: what ``precision`` means on ``device``."""
    if precision not in PRECISIONS:
        raise UsageError(f"--precision {precision!r}; expected one of {list(PRECISIONS)}")
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


@contextlib.contextmanager
def forward_precision(resolved: str, device: torch.device) -> Iterator[None]:
    """Context of a training forward pass under ``resolved`` (``"bf16"`` or ``"fp32"``)."""
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=resolved == "bf16"):
        yield
