"""PIF-Net inference throughput: windows/s and Mpx/s of fused output by batch size and precision.

The network alone (no raster I/O), in eval mode under ``torch.inference_mode``, on 128 x 128
output windows (LR 32 x 32, ratio 4) of a smooth synthetic scene, for every ``--batches`` size and
every ``--precisions`` entry (``fp32``; ``bf16`` = ``torch.autocast`` bfloat16 on the device, on
the CPU too where it has AVX-512 BF16 / AMX). Weights: the bundled ``cave_x4`` (trained, 31 HSI
bands, 3 MSI bands; ``--weights NAME|FILE``) so that the bf16 quality figure means something, or
``--paper`` for the random-init PaviaU configuration of ``bench_model.py`` (103 / 4 bands).

For bf16 it reports the PSNR of the bf16 output against the fp32 output of the same windows (data
range = the fp32 output's range): how much the precision alone changes the fused image.

    .venv/bin/python benchmarks/bench_pifnet_throughput.py --device cpu --threads 2 --batches 1 4
    python3 benchmarks/bench_pifnet_throughput.py --device cuda --batches 1 8 32 128 --json out.json

Prints a Markdown table (and writes the rows as JSON with ``--json``).
"""

from __future__ import annotations

import pifnet_engine  # noqa: F401  first: sets the OpenMP spin count before torch loads

import argparse
import contextlib
import copy
import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from pifnet_engine.model import PIFNet, PIFNetConfig
from pifnet_engine.model.weights import load_weights
from pifnet_engine.methods.pifnet import resolve_weights

PAPER = dict(hsi_bands=103, msi_bands=4, ratio=4, hidden=64, blocks=4, d_state=4)


def smooth_inputs(batch: int, bands: int, msi_bands: int, lr: int, ratio: int,
                  seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(batch, C, lr, lr) HSI and (batch, c, lr*s, lr*s) MSI of smooth fields in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    size = lr * ratio
    fields = F.avg_pool2d(torch.rand(batch, 6, size + 16, size + 16, generator=g), 17, stride=1)
    fields = (fields - fields.amin((2, 3), keepdim=True)) / (fields.amax((2, 3), keepdim=True) -
                                                              fields.amin((2, 3), keepdim=True))
    spectra = torch.rand(6, bands, generator=g)
    truth = torch.einsum("bkhw,kc->bchw", fields, spectra) / 6
    srf = torch.zeros(msi_bands, bands)
    for m, chunk in enumerate(torch.arange(bands).chunk(msi_bands)):
        srf[m, chunk] = 1.0 / len(chunk)
    return F.avg_pool2d(truth, ratio), torch.einsum("mc,bchw->bmhw", srf, truth)


def precision_context(device: torch.device, precision: str) -> contextlib.AbstractContextManager[Any]:
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(model: PIFNet, x: torch.Tensor, y: torch.Tensor, device: torch.device, precision: str,
          repeats: int, layout: str = "contiguous") -> tuple[float, torch.Tensor]:
    """Median seconds of one forward of the whole batch, and its (float32, CPU) output; ``layout``
    ``channels_last`` runs a channels-last copy of the model on channels-last inputs (the engine's
    CPU default, :func:`pifnet_engine.methods.pifnet.channels_last_for`)."""
    if layout == "channels_last":
        model = copy.deepcopy(model).to(memory_format=torch.channels_last)
        x, y = x.contiguous(memory_format=torch.channels_last), y.contiguous(memory_format=torch.channels_last)
    times = []
    with torch.inference_mode(), precision_context(device, precision):
        for i in range(repeats + 1):  # the first run warms up (numba, cuDNN autotuning, allocator)
            sync(device)
            t0 = time.perf_counter()
            z = model(x, y, with_reference=False).fused
            sync(device)
            if i:
                times.append(time.perf_counter() - t0)
    return statistics.median(times), z.float().cpu()


def psnr(test: torch.Tensor, ref: torch.Tensor) -> float:
    mse = float((test - ref).pow(2).mean())
    peak = float(ref.max() - ref.min())
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", help="cpu, cuda or auto [auto]")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--precisions", nargs="+", choices=["fp32", "bf16"], default=["fp32", "bf16"])
    ap.add_argument("--layouts", nargs="+", choices=["contiguous", "channels_last"],
                    default=["contiguous", "channels_last"], help="memory formats; the first fp32 one is the reference")
    ap.add_argument("--weights", default="cave_x4", help="bundled name or weights file [cave_x4]")
    ap.add_argument("--paper", action="store_true", help="random-init PaviaU configuration instead of weights")
    ap.add_argument("--lr-size", type=int, default=32, help="LR window side [32]; output = ratio x")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    if args.paper:
        torch.manual_seed(0)
        model, label = PIFNet(PIFNetConfig(**PAPER)).eval(), "random-init PaviaU configuration"
    else:
        model, manifest = load_weights(resolve_weights(args.weights))
        label = f"weights {manifest['name']}"
    cfg = model.cfg
    model = model.to(device)
    out_px = args.lr_size * cfg.ratio
    print(f"PIF-Net {label}: C={cfg.hsi_bands} c={cfg.msi_bands} s={cfg.ratio} D={cfg.hidden} L={cfg.blocks}; "
          f"torch {torch.__version__}, device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else
             f", {torch.get_num_threads()} threads"))
    print(f"{out_px}x{out_px} output windows, median of {args.repeats} forwards per row\n")
    print("| batch | layout | precision | s / batch | s / window | windows/s | output Mpx/s | PSNR vs fp32 (dB) |")
    print("|---:|---|---|---:|---:|---:|---:|---:|")
    rows = []
    for batch in args.batches:
        x, y = smooth_inputs(batch, cfg.hsi_bands, cfg.msi_bands, args.lr_size, cfg.ratio)
        x, y = x.to(device), y.to(device)
        reference = None
        for layout, precision in [(lay, p) for lay in args.layouts for p in args.precisions]:
            seconds, z = timed(model, x, y, device, precision, args.repeats, layout)
            if precision == "fp32" and reference is None:
                reference = z
            quality = psnr(z, reference) if z is not reference and reference is not None else None
            row = {"batch": batch, "layout": layout, "precision": precision, "seconds_per_batch": seconds,
                   "seconds_per_window": seconds / batch, "windows_per_s": batch / seconds,
                   "output_mpx_per_s": batch * out_px * out_px / seconds / 1e6, "psnr_vs_fp32_db": quality,
                   "device": str(device), "weights": label}
            rows.append(row)
            q = "" if quality is None else f"{quality:.1f}"
            print(f"| {batch} | {layout} | {precision} | {seconds:.4f} | {seconds / batch:.4f} | {batch / seconds:.2f} | "
                  f"{row['output_mpx_per_s']:.3f} | {q} |")
    best = max(rows, key=lambda r: r["windows_per_s"])
    print(f"\nbest: batch {best['batch']} {best['layout']} {best['precision']}: {best['windows_per_s']:.2f} windows/s, "
          f"{best['output_mpx_per_s']:.3f} Mpx/s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
