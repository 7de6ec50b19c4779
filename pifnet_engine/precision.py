"""Arithmetic precision of PIF-Net's forward pass: bfloat16 autocast where the hardware has it.

Values of ``--precision`` (``pifnet-engine fuse`` and ``pifnet-train``):

- ``"auto"``: bfloat16 autocast when the device computes bfloat16 natively (a CPU with
  AVX512-BF16 or AMX, a CUDA GPU with bfloat16 support), float32 otherwise (on a CPU without it
  bfloat16 is emulated and slower than float32);
- ``"bf16"``: bfloat16 autocast whatever the hardware;
- ``"fp32"``: no autocast.

Under autocast, convolutions and matrix products take bfloat16 inputs and accumulate in float32
(PyTorch's autocast op list); the selective scan works in float32
(:func:`pifnet_engine.model.ops.scan_args.compute_dtype`); weights stay float32.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from pifnet_engine.errors import UsageError

#: Accepted values; the first is the default of ``pifnet-train``.
PRECISIONS = ("auto", "bf16", "fp32")
#: Default of ``pifnet-engine fuse --precision``.
DEFAULT_FUSE_PRECISION = "fp32"


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


def autocast_for(resolved: str, device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """The autocast context of a forward pass in ``resolved`` (``"bf16"`` or ``"fp32"``) precision."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=resolved == "bf16")
