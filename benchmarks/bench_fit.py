"""Benchmark ``pifnet-train fit`` on a pair: fit speed, held-out curve, and (with a reference) the real result.

Runs the fit exactly as the command does (:func:`training.fit.run.run_fit`) for ``--minutes``,
then prints

- fit speed: steps, samples/s (patches per second of training), seconds per step, patch size;
- the held-out (reduced-resolution) validation curve: PSNR / SAM against minutes, GSA's and
  bicubic's level, and the first minute the fit passed GSA's PSNR;
- with ``--reference`` (ground truth on the MSI grid, never used by the fit): the full-resolution
  fusion with the fitted weights, the start weights (when the fit started from weights), GSA and
  bicubic, scored by ``pifnet-engine compare`` (PSNR / SSIM with each band's reference maximum as
  data range, SAM, ERGAS).

The demo pair (the default) and the pairs of ``benchmarks/make_fit_pairs.py``::

    .venv/bin/python benchmarks/bench_fit.py --minutes 10
    .venv/bin/python benchmarks/bench_fit.py --pair /tmp/fitpairs/cave_fake_and_real_food_x4 --init none --minutes 10
    .venv/bin/python benchmarks/bench_fit.py --pair /tmp/fitpairs/paris_x3 --init none --minutes 10

Nothing else heavy should run on the machine meanwhile (2 cores).
"""

from __future__ import annotations

import pifnet_engine  # noqa: F401  first: sets the OpenMP spin count before torch loads

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pifnet_engine.model.weights import read_manifest
from training.fit.run import FitRequest, run_dir_of, run_fit

DEMO = Path(__file__).resolve().parents[1] / "pifnet_engine" / "demo"
BIN = Path(sys.executable).parent


def _fuse(hsi: Path, msi: Path, out: Path, *extra: str) -> Path:
    subprocess.run([str(BIN / "pifnet-engine"), "fuse", str(hsi), str(msi), "-o", str(out), "--progress", "none",
                    "--overwrite", *extra], check=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pair", type=Path, default=None,
                    help="folder with hsi.tif, msi.tif (and reference.tif) [the bundled demo pair]")
    ap.add_argument("--minutes", type=float, default=10.0, help="the fit's --time-budget")
    ap.add_argument("--init", default="auto")
    ap.add_argument("--allow-small-pair", action="store_true", help="as the fit's (the demo pair needs it)")
    ap.add_argument("--residual", default=None, help="output form of a fresh model [the fit's default]")
    ap.add_argument("--consistency", type=float, default=None,
                    help="the fit's --consistency (0: Wald's protocol alone) [the fit's auto rule]")
    ap.add_argument("--lr", type=float, default=None, help="the fit's --lr [4e-4 fresh, 1e-4 from weights]")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None, help="folder for the weights and fused rasters [a temp dir]")
    args = ap.parse_args()

    if args.pair is None:
        hsi, msi, ref = DEMO / "hsi_enmap_90m.tif", DEMO / "msi_s2_30m.tif", DEMO / "reference_enmap_30m.tif"
    else:
        hsi, msi, ref = args.pair / "hsi.tif", args.pair / "msi.tif", args.pair / "reference.tif"
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-fit-"))
    out.mkdir(parents=True, exist_ok=True)
    weights = out / "fitted.safetensors"
    t0 = time.perf_counter()
    code = run_fit(FitRequest(hsi=hsi, msi=msi, output=weights, time_budget_s=60.0 * args.minutes, init=args.init,
                              overwrite=True, threads=args.threads, progress="log", allow_small=args.allow_small_pair,
                              consistency=args.consistency, lr=args.lr,
                              **({"residual": args.residual} if args.residual else {})))
    wall = time.perf_counter() - t0
    run_dir = run_dir_of(weights)
    run = json.loads((run_dir / "run.json").read_text())
    train_rows = list(csv.DictReader(open(run_dir / "train_log.csv")))
    val_rows = list(csv.DictReader(open(run_dir / "val_log.csv")))
    base = json.loads((run_dir / "baselines_validation.json").read_text())["mean"]
    batch = run["train"]["batch_size"]
    steps = len(train_rows)
    train_s = float(train_rows[-1]["seconds"]) if train_rows else 0.0
    print(f"\n== fit of {hsi.name} + {msi.name}: exit {code}, {wall / 60:.1f} min wall, start {run['init']['how']} "
          f"({run['init']['weights']}), reduced pair {run['reduced']['hsi_shape']} HSI px, held-out block "
          f"{run['reduced']['held_out_block_hsi_px']}, patch {run['train']['patch_size']} px, batch {batch}, "
          f"lr {run['train']['lr']:g}")
    if steps:
        print(f"speed: {steps} steps in {train_s / 60:.2f} min of training (incl. validations): "
              f"{steps * batch / train_s:.2f} samples/s, {train_s / steps:.2f} s/step "
              f"(probe before the fit: {run['reduced']['seconds_per_step'] or float('nan'):.2f} s/step)")
    gsa, bic = base["gsa"], base["bicubic"]
    print(f"held-out block: GSA {gsa['psnr']:.2f} dB / {gsa['sam']:.3f} deg, bicubic {bic['psnr']:.2f} dB / "
          f"{bic['sam']:.3f} deg")
    print(f"{'minutes':>8s} {'step':>6s} {'PSNR':>7s} {'SAM':>7s}")
    passed = None
    for row in val_rows:
        minutes = float(row["seconds"]) / 60
        print(f"{minutes:8.2f} {int(row['step']):6d} {float(row['psnr']):7.2f} {float(row['sam']):7.3f}")
        if passed is None and float(row["psnr"]) > gsa["psnr"]:
            passed = minutes
    print(f"minutes to pass GSA's held-out PSNR: {'%.2f' % passed if passed is not None else 'not within the fit'}")
    manifest = read_manifest(weights)
    print(f"verdict: {manifest['validation']['verdict']}")
    if not ref.is_file():
        return
    fused = [_fuse(hsi, msi, out / "fused_fitted.tif", "--method", "pifnet", "--weights", str(weights))]
    if run["init"]["weights"]:
        fused.append(_fuse(hsi, msi, out / "fused_start.tif", "--method", "pifnet", "--weights",
                           run["init"]["weights"]))
    fused += [_fuse(hsi, msi, out / f"fused_{m}.tif", "--method", m) for m in ("gsa", "bicubic")]
    print(f"\n== full resolution against {ref.name} (never seen by the fit)")
    subprocess.run([str(BIN / "pifnet-engine"), "compare", str(ref), *map(str, fused),
                    "--ratio", str(run["reduced"]["ratio"])], check=True)


if __name__ == "__main__":
    main()
