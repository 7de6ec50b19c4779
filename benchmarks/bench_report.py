"""Benchmark the quality report: its cost relative to the fusion, and flat memory from 1024^2 to 4096^2.

For each scene size a pair is generated as in ``bench_engine.py`` (window by window), fused with
GSA in a fresh ``pifnet-engine fuse --no-report`` process, then reported on by a fresh
``pifnet-engine report`` process (consistency passes, the reduced-resolution check with GSA and
bicubic, the quicklook). Wall time and peak RSS (``ru_maxrss`` of that process) of both are
printed as a Markdown table, with the quicklook's pixel size and bytes.

    nice .venv/bin/python benchmarks/bench_report.py --sizes 1026 4098 --bands 32  # multiples of the ratio
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pifnet_engine  # noqa: F401  (sets the OpenMP spin count before torch loads)
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import default_engine, generate_in_subprocess  # noqa: E402


def timed(argv: list[str]) -> tuple[float, float, int, str]:
    """(seconds, peak RSS MB, return code, stderr tail) of ``argv`` in a fresh process."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - t0
        err.seek(0)
        tail = err.read().decode(errors="replace")[-2000:]
    return seconds, usage.ru_maxrss / 1024.0, os.waitstatus_to_exitcode(status), tail


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1026, 4098])
    ap.add_argument("--bands", type=int, default=32)
    ap.add_argument("--ratio", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    engine = default_engine()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-report-", dir=args.workdir) as tmp:
        work = Path(tmp)
        for size in args.sizes:
            hsi, msi = generate_in_subprocess(work, size, args.bands, args.ratio)
            out = work / f"fused_{size}.tif"
            f = timed([*engine, "fuse", str(hsi), str(msi), "-o", str(out), "--method", "gsa", "--no-report",
                       "--progress", "none", "--overwrite"])
            if f[2] != 0:
                raise SystemExit(f"fuse {size} failed: {f[3]}")
            r = timed([*engine, "report", str(out), str(hsi), str(msi), "--overwrite"])
            if r[2] != 0:
                raise SystemExit(f"report {size} failed: {r[3]}")
            png = work / f"fused_{size}.quicklook.png"
            with Image.open(png) as im:
                ql = f"{im.width} x {im.height} px, {png.stat().st_size / 1024:.0f} kB"
            rows.append((size, f, r, ql))
            for p in work.glob(f"*_{size}*"):
                p.unlink()
    print(f"HSI bands: {args.bands}, ratio: {args.ratio}, MSI bands: 4; GSA fusion, then `pifnet-engine report`")
    print()
    print("| MSI size (px) | fuse (s) | fuse peak RSS (MB) | report (s) | report / fuse | report peak RSS (MB) | quicklook |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for size, f, r, ql in rows:
        print(f"| {size} | {f[0]:.1f} | {f[1]:.0f} | {r[0]:.1f} | {r[0] / f[0]:.2f} | {r[1]:.0f} | {ql} |")
    if len(rows) >= 2:
        print()
        print(f"report peak RSS, largest / smallest scene: {rows[-1][2][1] / rows[0][2][1]:.2f}")


if __name__ == "__main__":
    main()
