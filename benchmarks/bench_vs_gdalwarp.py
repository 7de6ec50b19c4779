"""``pifnet-engine fuse`` (bicubic, GSA) against GDAL doing the same resampling job, in one run.

For every ``--sizes`` scene (MSI side; a generated pair of ``bench_engine.write_scene``: ``--bands``
HSI bands at ratio 4, a 4-band MSI) it times, each in a fresh process, one after the other:

- ``gdalwarp -r cubic`` of the HSI onto the MSI grid, single-threaded and with two threads
  (``-multi -wo NUM_THREADS=2 -co NUM_THREADS=2``), same creation options as the engine's output
  (tiled 256 x 256, DEFLATE, predictor 3, band-interleaved, BIGTIFF=IF_SAFER);
- the same two-thread gdalwarp followed by ``gdaladdo -r average 2 4 ...`` (the engine's output
  has those internal overviews; single-threaded: Debian's GDAL 3.6.2 deadlocks with ``GDAL_NUM_THREADS``);
- ``pifnet-engine fuse --method bicubic`` and ``--method gsa`` (``--no-report``, two threads), with
  their internal overviews (compare with gdalwarp + gdaladdo) and with ``--no-overviews`` (compare
  with gdalwarp alone: the same output).

and prints wall seconds, peak RSS of the measured process and the engine/GDAL ratios, plus the
peak temporary disk use of the engine (the largest total size of the output folder seen while it
ran, sampled every 50 ms, minus the inputs) against its final output size.

    .venv/bin/python benchmarks/bench_vs_gdalwarp.py --sizes 1024 --bands 120
    nice .venv/bin/python benchmarks/bench_vs_gdalwarp.py --sizes 1024 4096 --bands 120   # ~20 GB disk, long
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import default_engine, generate_in_subprocess  # noqa: E402

from pifnet_engine.raster.overviews import overview_levels  # noqa: E402

CREATION = ["-co", "TILED=YES", "-co", "BLOCKXSIZE=256", "-co", "BLOCKYSIZE=256", "-co", "COMPRESS=DEFLATE",
            "-co", "PREDICTOR=3", "-co", "INTERLEAVE=BAND", "-co", "BIGTIFF=IF_SAFER"]


def folder_bytes(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def timed(argvs: list[list[str]], watch: Path | None = None, env: dict[str, str] | None = None
          ) -> tuple[float, float, int]:
    """Run the commands one after the other: (wall s, peak RSS MB of any of them, peak bytes in ``watch``)."""
    peak_disk = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak_disk[0] = max(peak_disk[0], folder_bytes(watch)) if watch else 0
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.monotonic()
    rss = 0.0
    try:
        for argv in argvs:
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            _, status, usage = os.wait4(proc.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.read().decode()[-1500:]}")  # type: ignore[union-attr]
            rss = max(rss, usage.ru_maxrss / 1024.0)
    finally:
        done.set()
        sampler.join()
    return time.monotonic() - t0, rss, peak_disk[0]


def grid_of(msi: Path) -> list[str]:
    import rasterio
    with rasterio.open(msi) as ds:
        b = ds.bounds
        return ["-t_srs", ds.crs.to_string(), "-te", str(b.left), str(b.bottom), str(b.right), str(b.top),
                "-ts", str(ds.width), str(ds.height)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024])
    ap.add_argument("--bands", type=int, default=120)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--only", nargs="+", default=None, metavar="WORDS",
                    help="run only the jobs whose name contains one of these (e.g. 'engine bicubic'), and the "
                         "two-thread gdalwarp jobs the ratios need")
    ap.add_argument("--engine-args", nargs=argparse.REMAINDER, default=[], help="extra fuse arguments (last)")
    args = ap.parse_args(argv)
    engine = default_engine()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="pifnet-vs-gdal-"))
    work.mkdir(parents=True, exist_ok=True)
    # No GDAL_NUM_THREADS: Debian's GDAL 3.6.2 deadlocked with it, gdalwarp (single-threaded run, band-
    # interleaved output) and gdaladdo alike (seen here, futex waits without CPU use); gdaladdo runs single-threaded.
    env = dict(os.environ)
    rows = []
    try:
        for size in args.sizes:
            hsi, msi = generate_in_subprocess(work, size, args.bands, 4)
            inputs = folder_bytes(work)
            grid = grid_of(msi)
            out = work / "out.tif"
            levels = [str(f) for f in overview_levels(size, size)]  # the engine's own rule
            warp = ["gdalwarp", "-q", "-overwrite", "-r", "cubic", *grid, *CREATION, str(hsi), str(out)]
            warp2 = [*warp[:2], "-multi", "-wo", "NUM_THREADS=2", "-co", "NUM_THREADS=2", *warp[2:]]
            addo = ["gdaladdo", "-q", "-r", "average", str(out), *levels]

            def fuse(method: str, *extra: str) -> list[str]:
                return [*engine, "fuse", str(hsi), str(msi), "-o", str(out), "--method", method, "--overwrite",
                        "--no-report", "--progress", "none", *extra, *args.engine_args]

            cases = {
                "gdalwarp (1 thread)": [warp],
                "gdalwarp -multi (2 threads)": [warp2],
                "gdalwarp -multi + gdaladdo": [warp2, addo],
                **{f"engine {m}{' ' + ' '.join(extra) if extra else ''}": [fuse(m, *extra)]
                   for extra in ((), ("--no-overviews",)) for m in ("bicubic", "gsa")},
            }
            if args.only:
                cases = {k: v for k, v in cases.items()
                         if k.startswith("gdalwarp -multi") or any(word in k for word in args.only)}
            results = {}
            for name, argvs in cases.items():
                for p in (out, out.with_suffix(".qml")):
                    p.unlink(missing_ok=True)
                seconds, rss, disk = timed(argvs, work, env)
                final = out.stat().st_size
                results[name] = (seconds, rss, max(disk - inputs, 0), final)
                print(f"{size}^2 {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
            rows.append((size, results))
            for p in (hsi, msi, out, out.with_suffix(".qml")):
                p.unlink(missing_ok=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"HSI bands {args.bands}, ratio 4, 4 MSI bands; creation options {' '.join(CREATION[1::2])}\n")
    print("| MSI size | job | wall (s) | / gdalwarp -multi | / gdalwarp -multi + gdaladdo | peak RSS (MB) | "
          "peak extra disk (MB) | output (MB) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for size, results in rows:
        base = results["gdalwarp -multi (2 threads)"][0]
        base_ovr = results["gdalwarp -multi + gdaladdo"][0]
        for name, (seconds, rss, disk, final) in results.items():
            print(f"| {size}² | {name} | {seconds:.1f} | {seconds / base:.2f} | {seconds / base_ovr:.2f} | {rss:.0f} | "
                  f"{disk / 1e6:.0f} | {final / 1e6:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
