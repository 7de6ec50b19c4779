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
states stay float32. Validation is float32 and fusion float32 unless `pifnet-engine fuse --precision` says otherwise
(the rule lives in :mod:`pifnet_engine.precision`), so weights trained this way are ordinary
float32 weights.

Measured (``benchmarks/bench_training.py``, numbers in ``docs/training.md``): on the 2-core
AVX512-BF16 CPU a step of batch 4 x 64^2 takes 0.86 s instead of 1.24 s.
"""

from __future__ import annotations

from pifnet_engine.precision import PRECISIONS, autocast_for, native_bf16, resolve_precision

#: Context of a training forward pass under ``resolved`` (``"bf16"`` or ``"fp32"``) on ``device``.
forward_precision = autocast_for


__all__ = ["PRECISIONS", "forward_precision", "native_bf16", "resolve_precision"]
