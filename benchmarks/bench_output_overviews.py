"""What the output's internal overviews and QGIS style cost: commit time and file size, with and without.

Writes a ``--size`` x ``--size`` x ``--bands`` float32 output (smooth spectra plus 1 % noise, NaN
nodata, wavelengths 400-1000 nm) through :class:`pifnet_engine.writer.OutputTarget` under the
engine's ``GDAL_CACHEMAX``, once as the engine does it (overviews + out.qml) and once without
either, for GeoTIFF and COG, and prints commit seconds, .tif MiB and the process's peak RSS::

    .venv/bin/python benchmarks/bench_output_overviews.py --size 2048 --bands 50

Needs about 2.5 GB of temporary disk for the default size.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from pifnet_engine.pipeline import GDAL_CACHE_BYTES
from pifnet_engine.raster.bands import BandInfo
from pifnet_engine.writer import OutputSpec, OutputTarget

BLOCK_PX = 256


def spec_for(size: int, bands: int, cog: bool) -> OutputSpec:
    info = BandInfo(count=bands, wavelengths_nm=tuple(np.linspace(400.0, 1000.0, bands)), fwhm_nm=None,
                    good=(True,) * bands, descriptions=(None,) * bands, source="band")
    return OutputSpec(crs=CRS.from_epsg(32633), transform=Affine(10.0, 0, 360000.0, 0, -10.0, 5810000.0),
                      height=size, width=size, count=bands, dtype="float32", nodata=float("nan"), band_info=info,
                      scales=(1.0,) * bands, offsets=(0.0,) * bands, cog=cog)


def write_and_commit(path: Path, spec: OutputSpec, with_extras: bool) -> tuple[float, float]:
    """(commit seconds, .tif MiB); ``with_extras`` False drops the overviews and the style."""
    if not with_extras:
        spec.__dict__["overview_levels"] = []  # cached properties of the frozen spec
        spec.__dict__["rgb"] = None
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:BLOCK_PX, 0:BLOCK_PX].astype(np.float32)
    gains = np.linspace(0.5, 1.5, spec.count, dtype=np.float32)[:, None, None]
    valid = np.ones((BLOCK_PX, BLOCK_PX), bool)
    with OutputTarget(path, spec, overwrite=True) as target:
        for r in range(0, spec.height, BLOCK_PX):
            for c in range(0, spec.width, BLOCK_PX):
                base = np.sin((yy + r) / 97.0) * np.cos((xx + c) / 61.0)
                block = 0.3 + 0.2 * base[None] * gains + rng.normal(0, 0.01, (spec.count, BLOCK_PX, BLOCK_PX))
                target.write(Window(c, r, BLOCK_PX, BLOCK_PX), block.astype(np.float32), valid)
        t0 = time.monotonic()
        target.commit()
        seconds = time.monotonic() - t0
    return seconds, path.stat().st_size / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048, help="output side, pixels (multiple of 256)")
    parser.add_argument("--bands", type=int, default=50)
    args = parser.parse_args()
    print("| format | overviews + style | commit s | .tif MiB | overview levels |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp, rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
        for cog in (False, True):
            for extras in (False, True):
                out = Path(tmp) / "out.tif"
                seconds, mib = write_and_commit(out, spec_for(args.size, args.bands, cog), extras)
                with rasterio.open(out) as ds:
                    levels = ds.overviews(1)
                print(f"| {'COG' if cog else 'GTiff'} | {'yes' if extras else 'no'} | {seconds:.1f} | {mib:.0f} "
                      f"| {levels} |")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
