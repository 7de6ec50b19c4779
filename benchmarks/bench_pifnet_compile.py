"""PIF-Net per 128² window on the CPU, eager against ``torch.compile`` (inductor), in one run.

The numba selective scan is a PyTorch operator at inference (``pifnet::selective_scan_forward``,
:mod:`pifnet_engine.model.ops.selective_scan_cpu`), so dynamo compiles the network around it.
Prints the compile time of the first call, the median seconds per window of each, the largest
difference of the compiled output from the eager one relative to the output's range, and how many
windows a job needs before the compile pays for itself. The engine does not compile (yet): this
measures whether it should.

    .venv/bin/python benchmarks/bench_pifnet_compile.py --threads 2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pifnet_throughput import precision_context, smooth_inputs, timed  # noqa: E402

from pifnet_engine.methods.pifnet import resolve_weights  # noqa: E402
from pifnet_engine.model.weights import load_weights  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="cave_x4", help="bundled name or weights file [cave_x4]")
    ap.add_argument("--precisions", nargs="+", choices=["fp32", "bf16"], default=["fp32", "bf16"])
    ap.add_argument("--lr-size", type=int, default=32, help="LR window side [32]; output = ratio x")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model, manifest = load_weights(resolve_weights(args.weights))
    cfg = model.cfg
    model = model.eval().to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    x, y = smooth_inputs(1, cfg.hsi_bands, cfg.msi_bands, args.lr_size, cfg.ratio)
    x, y = x.contiguous(memory_format=torch.channels_last), y.contiguous(memory_format=torch.channels_last)
    out_px = args.lr_size * cfg.ratio
    print(f"PIF-Net weights {manifest['name']}: C={cfg.hsi_bands} c={cfg.msi_bands} s={cfg.ratio} D={cfg.hidden} "
          f"L={cfg.blocks}; torch {torch.__version__}, {torch.get_num_threads()} threads, channels-last, "
          f"{out_px}x{out_px} output windows, batch 1, median of {args.repeats}\n")
    print("| precision | eager (s/window) | compiled (s/window) | speed-up | first compiled call (s) | "
          "max diff / range | break-even (windows) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    cpu = torch.device("cpu")
    for precision in args.precisions:
        torch._dynamo.reset()
        compiled = torch.compile(model, dynamic=False)
        eager_s, eager = timed(model, x, y, cpu, precision, args.repeats)
        with torch.inference_mode(), precision_context(cpu, precision):
            t0 = time.perf_counter()
            compiled(x, y, with_reference=False)  # the compile
            first = time.perf_counter() - t0
        comp_s, comp = timed(compiled, x, y, cpu, precision, args.repeats)
        diff = float((comp.float() - eager.float()).abs().max() / (eager.float().max() - eager.float().min()))
        saved = eager_s - comp_s
        even = f"{(first - comp_s) / saved:.0f}" if saved > 0 else "never"
        print(f"| {precision} | {eager_s:.4f} | {comp_s:.4f} | {eager_s / comp_s:.2f} | {first:.1f} | {diff:.1e} | "
              f"{even} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
