"""The engine's CUDA path on a real GPU (skipped without one; run by ``benchmarks/gpu_check.sh``).

Every method fuses the bundled demo on the GPU as on the CPU: PIF-Net in float32 within 50 dB PSNR
of the CPU output (cuDNN and the CPU kernels sum in different orders), GSA and bicubic within 60 dB;
PIF-Net in bf16 on the GPU within 0.2 dB of the fp32 score against the 30 m reference.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pifnet_engine.demo import demo_paths
from pifnet_engine.metrics import psnr

from .cli_runner import fuse
from .physical import on_good_bands

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


@pytest.mark.parametrize("method,floor_db", [("pifnet", 50.0), ("gsa", 60.0), ("bicubic", 60.0)])
def test_the_gpu_fuses_the_demo_as_the_cpu_does(tmp_path: Path, method: str, floor_db: float):
    paths = demo_paths()
    outs = [fuse(paths["hsi"], paths["msi"], tmp_path / f"{d}.tif", "--method", method, "--device", d)
            for d in ("cpu", "cuda")]
    (cpu, gpu), valid, peak = on_good_bands(*outs)
    assert psnr(cpu, gpu, data_range=peak, valid=valid) >= floor_db


def test_bf16_on_the_gpu_scores_as_fp32(tmp_path: Path):
    paths = demo_paths()
    outs = [fuse(paths["hsi"], paths["msi"], tmp_path / f"{p}.tif", "--method", "pifnet", "--device", "cuda",
                 "--precision", p) for p in ("fp32", "bf16")]
    (ref, fp32, bf16), valid, peak = on_good_bands(paths["reference"], *outs)
    assert abs(psnr(ref, bf16, data_range=peak, valid=valid) - psnr(ref, fp32, data_range=peak, valid=valid)) <= 0.2
