"""Benchmark ``pifnet-engine fuse`` on generated scenes of two sizes: throughput and peak RSS.

For every scene size (MSI side in pixels) a georeferenced pair is generated window by window
(the generator never holds a full scene): a smooth procedural "truth" made of a few abundance
fields times smooth spectra, block-averaged to the HSI (``--bands`` bands, 30 m for ratio 3 /
40 m for ratio 4, ...) and reduced by a box spectral response to a 4-band MSI. Then every method
is run in a fresh ``pifnet-engine`` process; wall time, output megapixels per second and the
engine process's peak resident memory (``ru_maxrss`` from ``os.wait4`` of that very process)
are reported as a Markdown table, plus the ratio of peak RSS large/small per method (the engine
promises memory bounded by the window size, so it should stay within 10 %).

Quick run::

    .venv/bin/python benchmarks/bench_engine.py --sizes 256 512 --bands 100

Full run (minutes to hours on 2 cores, ~10 GB of temporary disk per 4096^2 output)::

    nice .venv/bin/python benchmarks/bench_engine.py --sizes 1024 4096 --bands 120
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

CRS = "EPSG:32633"
MSI_RES_M = 10.0
ORIGIN = (360000.0, 5810000.0)
N_FIELDS = 5
MSI_BANDS = 4
#: HSI tile side when generating: one HSI block row (64 rows) is written per step.
HSI_BLOCK_PX = 64
#: GDAL block cache while generating, so that the generator's memory does not grow with the scene.
GENERATOR_CACHE_BYTES = 256 * 2 ** 20


@dataclass
class Result:
    size_px: int
    method: str
    seconds: float
    out_mpix: float
    peak_rss_mb: float
    returncode: int

    @property
    def mpix_per_s(self) -> float:
        return self.out_mpix / self.seconds if self.seconds > 0 else float("nan")


# --- scene generation ------------------------------------------------------------------------

def _spectra(bands: int, seed: int) -> np.ndarray:
    """(N_FIELDS, bands) float64 smooth endmember spectra in ~[0.05, 0.55]."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, bands)
    return np.stack([0.3 + 0.25 * np.sin(2 * np.pi * (x * (i + 1) / 2 + rng.random()))
                     for i in range(N_FIELDS)])


def _abundances(rows: np.ndarray, cols: np.ndarray, seed: int) -> np.ndarray:
    """(N_FIELDS, len(rows), len(cols)) float64 abundances (sum to one) at fine pixel centres.

    A cheap procedural function of the fine pixel index: sums of sinusoids of a few scales plus
    a hashed texture, so any window can be generated on its own.
    """
    rng = np.random.default_rng(seed)
    y = rows[:, None].astype(np.float64) + 0.5
    x = cols[None, :].astype(np.float64) + 0.5
    out = np.empty((N_FIELDS, rows.size, cols.size))
    for k in range(N_FIELDS):
        fx, fy, gx, gy = rng.uniform(0.002, 0.05, 4)
        px, py = rng.uniform(0, 2 * np.pi, 2)
        texture = np.sin(x * 12.9898 * (k + 1) + y * 78.233) * 43758.5453
        texture -= np.floor(texture)
        out[k] = (1.5 + np.sin(fx * x + px) * np.cos(fy * y + py) + 0.5 * np.sin(gx * x + gy * y)
                  + 0.3 * texture)
    return out / out.sum(axis=0, keepdims=True)


def write_scene(workdir: Path, size_px: int, bands: int, ratio: int, seed: int = 0,
                rows_per_step: int | None = None) -> tuple[Path, Path]:
    """Write ``hsi_<size>.tif`` ((bands, size/ratio, size/ratio) float32) and ``msi_<size>.tif``.

    Generated in strips of ``rows_per_step`` HSI rows (default: one HSI block row of 64), with a
    bounded GDAL cache, so memory is O(strip), not O(scene).
    """
    if size_px % ratio:
        raise SystemExit(f"--sizes must be multiples of the ratio {ratio}, got {size_px}")
    lr = size_px // ratio
    spectra = _spectra(bands, seed)                                         # (K, C)
    srf = np.zeros((MSI_BANDS, bands))
    for m, chunk in enumerate(np.array_split(np.arange(bands), MSI_BANDS)):
        srf[m, chunk] = 1.0 / len(chunk)
    msi_spectra = srf @ spectra.T                                           # (M, K)
    hsi_path = workdir / f"hsi_{size_px}.tif"
    msi_path = workdir / f"msi_{size_px}.tif"
    x0, y0 = ORIGIN
    t_msi = Affine(MSI_RES_M, 0, x0, 0, -MSI_RES_M, y0)
    t_hsi = Affine(MSI_RES_M * ratio, 0, x0, 0, -MSI_RES_M * ratio, y0)
    common = dict(driver="GTiff", crs=CRS, tiled=True, compress="deflate", predictor=3,
                  BIGTIFF="IF_SAFER", dtype="float32", interleave="band")
    step = rows_per_step or HSI_BLOCK_PX
    with rasterio.Env(GDAL_CACHEMAX=GENERATOR_CACHE_BYTES), \
            rasterio.open(hsi_path, "w", width=lr, height=lr, count=bands, transform=t_hsi,
                          nodata=-32768.0, blockxsize=HSI_BLOCK_PX, blockysize=HSI_BLOCK_PX,
                          **common) as hsi, \
            rasterio.open(msi_path, "w", width=size_px, height=size_px, count=MSI_BANDS,
                          transform=t_msi, blockxsize=256, blockysize=256, **common) as msi:
        for b in range(bands):
            wl = 420.0 + (2400.0 - 420.0) * b / max(bands - 1, 1)
            hsi.update_tags(b + 1, wavelength=f"{wl:.3f}", wavelength_units="Nanometers", fwhm="10.0")
        for r0 in range(0, lr, step):
            n = min(step, lr - r0)
            rows = np.arange(r0 * ratio, (r0 + n) * ratio)
            cols = np.arange(size_px)
            ab = _abundances(rows, cols, seed)                              # (K, n*r, size)
            msi.write(np.einsum("mk,khw->mhw", msi_spectra, ab).astype(np.float32),
                      window=Window(0, r0 * ratio, size_px, n * ratio))
            ab_lr = ab.reshape(N_FIELDS, n, ratio, lr, ratio).mean(axis=(2, 4))
            hsi.write(np.einsum("kc,khw->chw", spectra, ab_lr).astype(np.float32),
                      window=Window(0, r0, lr, n))
    return hsi_path, msi_path


def generate_in_subprocess(workdir: Path, size_px: int, bands: int, ratio: int) -> tuple[Path, Path]:
    """:func:`write_scene` in a fresh process, so this process stays small.

    Linux counts a forked child's peak RSS from the parent's RSS at fork time, so the parent
    must not hold the generator's memory (GDAL cache, strips) when it starts the engine.
    """
    proc = multiprocessing.get_context("spawn").Process(
        target=write_scene, args=(workdir, size_px, bands, ratio))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise SystemExit(f"scene generation for {size_px}^2 failed (exit {proc.exitcode})")
    return workdir / f"hsi_{size_px}.tif", workdir / f"msi_{size_px}.tif"


# --- running the engine ----------------------------------------------------------------------

def default_engine() -> list[str]:
    """The ``pifnet-engine`` console script beside this Python, else on PATH."""
    beside = Path(sys.executable).parent / "pifnet-engine"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("pifnet-engine")
    if found is None:
        raise SystemExit("pifnet-engine not found; install the package (pip install -e .) or pass --engine")
    return [found]


def run_engine(engine: list[str], hsi: Path, msi: Path, out: Path, method: str,
               tile_px: int, extra: list[str]) -> tuple[float, float, int, str]:
    """Run one fusion in a fresh process: (seconds, peak RSS in MB, return code, stderr tail).

    The peak RSS is ``ru_maxrss`` of that very process (``os.wait4``), i.e. its VmHWM.
    """
    argv = [*engine, "fuse", str(hsi), str(msi), "-o", str(out), "--method", method,
            "--tile-size", str(tile_px), "--progress", "none", "--overwrite", "--no-report", *extra]
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode(errors="replace")[-2000:]
    # ru_maxrss is in kilobytes on Linux.
    return seconds, usage.ru_maxrss / 1024.0, proc.returncode, tail


def output_megapixels(path: Path) -> float:
    """Pixels per band of the written output, in millions."""
    with rasterio.open(path) as ds:
        return ds.width * ds.height / 1e6


def markdown(results: list[Result], bands: int, ratio: int, tile_px: int) -> str:
    lines = [f"HSI bands: {bands}, ratio: {ratio}, MSI bands: {MSI_BANDS}, tile size: {tile_px} px",
             "",
             "| MSI size (px) | method | wall (s) | output Mpx | Mpx/s | peak RSS (MB) |",
             "|---|---|---:|---:|---:|---:|"]
    for r in results:
        status = "" if r.returncode == 0 else f" (exit {r.returncode})"
        lines.append(f"| {r.size_px}x{r.size_px} | {r.method}{status} | {r.seconds:.1f} | "
                     f"{r.out_mpix:.2f} | {r.mpix_per_s:.3f} | {r.peak_rss_mb:.0f} |")
    sizes = sorted({r.size_px for r in results})
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        lines += ["", f"| method | peak RSS {large}^2 / {small}^2 | within 10 % |", "|---|---:|---|"]
        for method in dict.fromkeys(r.method for r in results):
            a = [r for r in results if r.method == method and r.size_px == small]
            b = [r for r in results if r.method == method and r.size_px == large]
            if a and b:
                ratio_rss = b[0].peak_rss_mb / a[0].peak_rss_mb
                lines.append(f"| {method} | {ratio_rss:.3f} | {'yes' if ratio_rss <= 1.10 else 'NO'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096],
                        help="MSI scene sides in pixels [1024 4096]")
    parser.add_argument("--bands", type=int, default=120, help="HSI bands [120]")
    parser.add_argument("--ratio", type=int, default=4, help="MSI pixels per HSI pixel [4]")
    parser.add_argument("--methods", nargs="+", default=["bicubic", "gsa"], help="[bicubic gsa]")
    parser.add_argument("--tile-size", type=int, default=256, help="engine --tile-size [256]")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where scenes and outputs go [a temporary directory, removed afterwards]")
    parser.add_argument("--keep", action="store_true", help="keep scenes and outputs")
    parser.add_argument("--engine", nargs="+", default=None, help="engine command [pifnet-engine]")
    parser.add_argument("--engine-args", nargs=argparse.REMAINDER, default=[],
                        help="extra arguments for every `fuse` call (put last)")
    args = parser.parse_args(argv)

    engine = args.engine or default_engine()
    own_tmp = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="pifnet-bench-")) if own_tmp else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    try:
        for size in args.sizes:
            t0 = time.monotonic()
            hsi, msi = generate_in_subprocess(workdir, size, args.bands, args.ratio)
            print(f"generated {size}^2 scene in {time.monotonic() - t0:.1f} s "
                  f"({(hsi.stat().st_size + msi.stat().st_size) / 2**20:.0f} MB on disk)", file=sys.stderr)
            for method in args.methods:
                out = workdir / f"out_{size}_{method}.tif"
                seconds, rss, rc, tail = run_engine(engine, hsi, msi, out, method, args.tile_size,
                                                    args.engine_args)
                if rc != 0:
                    print(f"engine failed (exit {rc}) on {size}^2 {method}:\n{tail}", file=sys.stderr)
                mpix = output_megapixels(out) if rc == 0 else 0.0
                results.append(Result(size, method, seconds, mpix, rss, rc))
                print(f"{size}^2 {method}: {seconds:.1f} s, peak RSS {rss:.0f} MB", file=sys.stderr)
                if not args.keep:
                    out.unlink(missing_ok=True)
            if not args.keep:
                hsi.unlink(missing_ok=True)
                msi.unlink(missing_ok=True)
    finally:
        if own_tmp and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    own_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(markdown(results, args.bands, args.ratio, args.tile_size))
    print(f"\n(benchmark process peak RSS {own_mb:.0f} MB: a forked child's ru_maxrss starts at its "
          f"parent's RSS, so engine peaks below this value would be hidden)")
    return 0 if all(r.returncode == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
