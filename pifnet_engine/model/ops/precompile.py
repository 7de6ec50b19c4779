"""Compile the numba CPU kernels into numba's on-disk cache (run once after installation).

The kernels compile on first use per dtype, a few seconds in every fresh process until the cache
next to the modules is written (measured on the 2-core CPU: the first inference plus training step
of a small PIF-Net took 7.3 s with an empty cache and 0.5 s with a warm one). ``.ci/setup`` runs
``python -m pifnet_engine.model.ops.precompile`` so that neither the first ``pifnet-engine fuse``
nor each test worker pays it. It runs a tiny PIF-Net forward (inference) and forward + backward
(training) in float32, bfloat16 autocast and float64: the dtypes the engine, the trainer and the
tests use. Without numba (an optional dependency) it says so and does nothing.
"""

from __future__ import annotations

import importlib
import time

import torch

from pifnet_engine.model.config import PIFNetConfig
from pifnet_engine.model.loss import pifnet_loss
from pifnet_engine.model.pifnet import PIFNet


def precompile() -> float:
    """Run the kernels once per dtype; returns the seconds it took (0 without numba)."""
    # by module path: the package exports functions of the same names as these modules
    modules = ("pifnet_engine.model.ops.depthwise", "pifnet_engine.model.ops.selective_scan_cpu")
    if any(getattr(importlib.import_module(m), "_kernels", None) is None for m in modules):
        return 0.0
    t0 = time.perf_counter()
    for dtype, autocast in ((torch.float32, False), (torch.float32, True), (torch.float64, False)):
        torch.manual_seed(0)
        model = PIFNet(PIFNetConfig(hsi_bands=6, msi_bands=3, ratio=2, hidden=8, blocks=1, d_state=2)).to(dtype)
        x = torch.rand(1, 6, 8, 8, dtype=dtype)
        y = torch.rand(1, 3, 16, 16, dtype=dtype)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            with torch.inference_mode():
                model(x, y, with_reference=False)
            out = model(x, y)
        loss, _ = pifnet_loss(out, torch.rand(1, 6, 16, 16, dtype=dtype), blocks=1)
        loss.backward()
    return time.perf_counter() - t0


def main() -> None:
    seconds = precompile()
    print("numba is not installed: the PyTorch reference kernels are used" if seconds == 0.0
          else f"numba CPU kernels compiled and cached ({seconds:.1f} s)")


if __name__ == "__main__":
    main()
