"""``fuse --precision``: PIF-Net under bfloat16 autocast matches the float32 reference path.

Tolerance: the bf16 output of the bundled demo is within 0.2 dB PSNR of the fp32 output's score
against the 30 m reference, and at least 50 dB PSNR against the fp32 output itself (measured: 59.5 dB,
35.92 vs 35.97 dB against the reference).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from pifnet_engine.demo import demo_paths
from pifnet_engine.errors import UsageError
from pifnet_engine.metrics import psnr
from pifnet_engine.precision import native_bf16, resolve_precision

from .cli_runner import fuse, run
from .physical import on_good_bands


def test_bf16_fusion_matches_the_fp32_reference_path(tmp_path: Path):
    paths = demo_paths()
    outs = {p: fuse(paths["hsi"], paths["msi"], tmp_path / f"{p}.tif", "--method", "pifnet", "--precision", p)
            for p in ("fp32", "bf16")}
    with rasterio.open(outs["bf16"]) as ds:
        assert ds.tags()["PIFNET_AUTOCAST"] == "bf16"
    with rasterio.open(outs["fp32"]) as ds:
        assert ds.tags()["PIFNET_AUTOCAST"] == "none"
    (ref, fp32, bf16), valid, peak = on_good_bands(paths["reference"], outs["fp32"], outs["bf16"])
    assert not np.array_equal(fp32, bf16)  # the option does change the arithmetic
    assert psnr(fp32, bf16, data_range=peak, valid=valid) >= 50.0
    assert abs(psnr(ref, bf16, data_range=peak, valid=valid) - psnr(ref, fp32, data_range=peak, valid=valid)) <= 0.2


def test_auto_means_bf16_only_where_the_device_has_it():
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) == ("bf16" if native_bf16(cpu) else "fp32")
    assert resolve_precision("fp32", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    with pytest.raises(UsageError, match="expected one of"):
        resolve_precision("fp16", cpu)


def test_an_unknown_precision_is_refused_by_the_command_line(tmp_path: Path):
    paths = demo_paths()
    code, err = run(["fuse", str(paths["hsi"]), str(paths["msi"]), "-o", str(tmp_path / "o.tif"), "--precision",
                     "fp16"])
    assert code == 2 and "'fp16' is not one of 'auto', 'bf16', 'fp32'" in err
    assert not (tmp_path / "o.tif").exists()
