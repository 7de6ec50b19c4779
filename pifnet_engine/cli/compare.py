"""``pifnet-engine compare REFERENCE ESTIMATE...``: quality of fused rasters against a reference.

Meant for evaluation scenes (Wald protocol, benchmark crops): the rasters are read whole.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import rasterio

from pifnet_engine.errors import InputDataError
from pifnet_engine.metrics import all_metrics
from pifnet_engine.raster.source import open_raster
from pifnet_engine.cli.boundary import guarded

#: compare reads whole rasters; refuse beyond this many values per raster.
MAX_VALUES = 500_000_000


def read_physical(path: Path, role: str) -> tuple[np.ndarray, rasterio.Affine, dict[str, str]]:
    """(C, H, W) float64 physical values (scale/offset applied), NaN where invalid; transform; tags."""
    with open_raster(str(path), role) as ds:
        if ds.count * ds.width * ds.height > MAX_VALUES:
            raise InputDataError(
                f"the {role} '{path}' has {ds.count * ds.width * ds.height:,} values; compare reads whole "
                f"rasters and accepts at most {MAX_VALUES:,}; compare a crop (gdal_translate -srcwin)")
        data = ds.read(masked=True).astype(np.float64)
        scales = np.array([s if s is not None else 1.0 for s in ds.scales])[:, None, None]
        offsets = np.array([o if o is not None else 0.0 for o in ds.offsets])[:, None, None]
        values = data.filled(np.nan) * scales + offsets
        return values, ds.transform, ds.tags()


@click.command()
@click.argument("reference", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("estimates", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--ratio", type=click.IntRange(min=1), default=None,
              help="Pixel-size ratio for ERGAS [the estimate's PIFNET_RATIO tag].")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@guarded
def compare(reference: Path, estimates: tuple[Path, ...], ratio: int | None, as_json: bool) -> None:
    """Print PSNR (dB), SSIM, SAM (degrees) and ERGAS of each ESTIMATE against REFERENCE."""
    ref, ref_t, _ = read_physical(reference, "reference")
    rows = []
    for est_path in estimates:
        est, est_t, tags = read_physical(est_path, "estimate")
        if est.shape != ref.shape or est_t != ref_t:
            raise InputDataError(
                f"'{est_path}' ({est.shape[0]} bands, {est.shape[2]} x {est.shape[1]} px) is not on the grid "
                f"of the reference '{reference}' ({ref.shape[0]} bands, {ref.shape[2]} x {ref.shape[1]} px); "
                f"fuse onto the reference's grid first")
        r = ratio or int(tags.get("PIFNET_RATIO", 0))
        if not r:
            raise InputDataError(f"'{est_path}' has no PIFNET_RATIO tag; pass --ratio")
        m = all_metrics(ref, est, ratio=r)
        rows.append({"estimate": str(est_path), "method": tags.get("PIFNET_METHOD", "?"), **m})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'method':<10} {'PSNR dB':>8} {'SSIM':>7} {'SAM deg':>8} {'ERGAS':>7}  file")
    for row in rows:
        click.echo(f"{row['method']:<10} {row['psnr']:8.2f} {row['ssim']:7.4f} {row['sam']:8.3f} "
                   f"{row['ergas']:7.3f}  {row['estimate']}")
