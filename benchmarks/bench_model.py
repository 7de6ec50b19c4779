"""Benchmark the PIF-Net network itself: parameters, forward time per window, window sensitivity.

Paper's PaviaU configuration: C = 103 HSI bands, c = 4 MSI bands, ratio s = 4, D = 64, L = 4.
For every state size N in ``--d-states`` (default 16 4 1) it prints the parameter count and the
forward time of one 128 x 128 output window (LR input 32 x 32, batch 1, eval mode,
``torch.inference_mode``, without the spectral tail that only the loss needs) on CPU, and on
CUDA when available, plus the share of that time spent in the selective scans.

``--window-sensitivity`` measures how much a randomly initialised model's output for a fixed
16 x 16 LR core changes with the context (margin, coarse pixels) around it, relative to the
result with the largest context: the seam-relevant part of the receptive field.

Run (about a minute on 2 CPU cores)::

    .venv/bin/python benchmarks/bench_model.py
    .venv/bin/python benchmarks/bench_model.py --window-sensitivity --d-states 4
    .venv/bin/python benchmarks/bench_model.py --scan ref     # force the reference scan
"""

from __future__ import annotations

import pifnet_engine  # noqa: F401  first: sets the OpenMP spin count before torch loads

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

import pifnet_engine.model.ssmm as ssmm_module
from pifnet_engine.model import PIFNet, PIFNetConfig, count_parameters
from pifnet_engine.model.pifnet import parameter_breakdown

PAPER = dict(hsi_bands=103, msi_bands=4, ratio=4, hidden=64, blocks=4)


class ScanTimer:
    """Wraps the model's ``selective_scan_fn`` to add up the time spent in it."""

    def __init__(self, fn: Callable[..., Any], device: torch.device) -> None:
        self.fn, self.device, self.seconds = fn, device, 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._sync()
        t0 = time.perf_counter()
        out = self.fn(*args, **kwargs)
        self._sync()
        self.seconds += time.perf_counter() - t0
        return out

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def pick_scan(kind: str) -> Callable[..., Any]:
    if kind == "ref":
        from pifnet_engine.model.ops import selective_scan_ref
        return selective_scan_ref
    from pifnet_engine.model.ops import selective_scan_fn
    return selective_scan_fn


def time_forward(model: PIFNet, device: torch.device, lr: int, repeats: int, scan: Callable[..., Any],
                 autocast: bool = False) -> tuple[float, float, float]:
    """Median wall seconds per forward of one window, the median scan share of it, and the median
    process CPU seconds (with --threads 1 on an idle machine CPU ~= wall; on a shared machine the
    CPU time is the figure that other processes do not inflate)."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 103, lr, lr, generator=g).to(device)
    y = torch.rand(1, 4, lr * 4, lr * 4, generator=g).to(device)
    timer = ScanTimer(scan, device)
    ssmm_module.selective_scan_fn = timer
    times, shares, cpu = [], [], []
    ctx = torch.autocast("cuda", dtype=torch.bfloat16) if autocast else torch.autocast("cpu", enabled=False)
    with torch.inference_mode(), ctx:
        for i in range(repeats + 1):
            timer.seconds = 0.0
            timer._sync()
            t0, c0 = time.perf_counter(), time.process_time()
            model(x, y, with_reference=False)
            timer._sync()
            dt = time.perf_counter() - t0
            if i:  # the first run warms up (numba compilation, cuDNN autotuning, allocator)
                times.append(dt)
                cpu.append(time.process_time() - c0)
                shares.append(timer.seconds / dt)
    return statistics.median(times), statistics.median(shares), statistics.median(cpu)


def smooth_field(shape: tuple[int, ...], sigma_px: float, g: torch.Generator) -> torch.Tensor:
    """Gaussian-smoothed noise, (1, k, H, W), rescaled to [0, 1] per channel."""
    noise = torch.rand(shape, generator=g)
    r = int(3 * sigma_px)
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1) / sigma_px) ** 2)
    k = (k / k.sum()).float()
    c = shape[1]
    out = F.conv2d(F.pad(noise, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    out = F.conv2d(F.pad(out, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    lo = out.amin(dim=(2, 3), keepdim=True)
    hi = out.amax(dim=(2, 3), keepdim=True)
    return (out - lo) / (hi - lo)


def window_sensitivity(d_state: int, margins: list[int], core: int = 16) -> None:
    """Relative RMS change of a fixed core's output vs the context margin around it."""
    torch.manual_seed(0)
    model = PIFNet(PIFNetConfig(**PAPER, d_state=d_state)).eval()
    g = torch.Generator().manual_seed(1)
    big = max(margins)
    side_lr = core + 2 * big
    # A scene made of 5 smooth abundance maps times random smooth spectra, MSI = band averages.
    abund = smooth_field((1, 5, side_lr * 4, side_lr * 4), 6.0, g)
    spectra = smooth_field((1, 5, 103, 1), 8.0, g)[0, :, :, 0]  # (5, 103)
    truth = torch.einsum("bkhw,kc->bchw", abund, spectra) / 5
    hsi = F.avg_pool2d(truth, 4)
    msi = torch.stack([truth[:, i * 25:(i + 1) * 25].mean(1) for i in range(4)], dim=1)

    def core_output(margin: int) -> torch.Tensor:
        lo, hi = big - margin, big + core + margin
        with torch.inference_mode():
            z = model(hsi[..., lo:hi, lo:hi], msi[..., 4 * lo:4 * hi, 4 * lo:4 * hi], with_reference=False).fused
        m = 4 * margin
        return z[..., m:m + 4 * core, m:m + 4 * core]

    ref = core_output(big)
    scale = ref.std().item()
    print(f"\nwindow sensitivity (d_state={d_state}, random init, core {core}x{core} LR px = "
          f"{4 * core}x{4 * core} output px; relative to margin {big} LR px)")
    print("| margin (LR px each side) | window (LR px) | rel. RMS diff | max abs diff / std |")
    print("|---|---|---|---|")
    for m in margins:
        d = core_output(m) - ref
        print(f"| {m} | {core + 2 * m} | {d.pow(2).mean().sqrt().item() / scale:.2e} | "
              f"{d.abs().max().item() / scale:.2e} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d-states", type=int, nargs="+", default=[16, 4, 1])
    ap.add_argument("--lr-size", type=int, default=32, help="LR window side (output = 4x)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scan", choices=["auto", "ref"], default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    ap.add_argument("--no-cuda", action="store_true")
    ap.add_argument("--window-sensitivity", action="store_true")
    ap.add_argument("--margins", type=int, nargs="+", default=[0, 2, 4, 8, 12, 16])
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    scan = pick_scan(args.scan)
    devices = [torch.device("cpu")]
    if torch.cuda.is_available() and not args.no_cuda:
        devices.append(torch.device("cuda"))
    out_px = 4 * args.lr_size
    print(f"PIF-Net PaviaU configuration C=103 c=4 s=4 D=64 L=4; torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads, scan={args.scan}")
    print(f"forward of one {out_px}x{out_px} output window (LR {args.lr_size}x{args.lr_size}), batch 1, "
          f"median of {args.repeats}")
    print("| d_state | parameters | device | seconds / window | CPU seconds / window | scan share |")
    print("|---|---|---|---|---|---|")
    for n in args.d_states:
        torch.manual_seed(0)
        model = PIFNet(PIFNetConfig(**PAPER, d_state=n)).eval()
        params = count_parameters(model)
        for dev in devices:
            m = model.to(dev)
            variants = [False, True] if dev.type == "cuda" else [False]
            for amp in variants:
                sec, share, cpu = time_forward(m, dev, args.lr_size, args.repeats, scan, autocast=amp)
                label = f"{dev.type}{' bf16' if amp else ''}"
                print(f"| {n} | {params:,} | {label} | {sec:.3f} | {cpu:.3f} | {100 * share:.0f} % |")
        last = model
    print("\nparameters by part (last d_state):",
          ", ".join(f"{k} {v:,}" for k, v in parameter_breakdown(last.cpu()).items()))
    ssmm_module.selective_scan_fn = scan
    if args.window_sensitivity:
        for n in args.d_states:
            window_sensitivity(n, args.margins)


if __name__ == "__main__":
    main()
