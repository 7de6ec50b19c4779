"""``pifnet-engine fuse HSI MSI -o OUT``."""

from __future__ import annotations

from pathlib import Path

import click

from pifnet_engine.pipeline import FuseRequest, run_fusion
from pifnet_engine.precision import DEFAULT_FUSE_PRECISION, PRECISIONS
from pifnet_engine.progress import make_reporter
from pifnet_engine.cli.options import layout_options, pair_arguments, report_options
from pifnet_engine.cli.boundary import guarded


@click.command()
@pair_arguments
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output GeoTIFF (on the MSI grid over the overlap).")
@layout_options
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Windows per fuser call.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--dtype", type=click.Choice(["float32", "keep"]), default="float32", show_default=True,
              help="float32 physical values, or keep the HSI's data type with its scale/offset.")
@click.option("--precision", type=click.Choice(list(PRECISIONS)), default=DEFAULT_FUSE_PRECISION, show_default=True,
              help="PIF-Net's arithmetic: bf16 autocast (faster; where the CPU/GPU has bfloat16 natively with auto), "
                   "or fp32. Other methods always compute in float32.")
@click.option("--cog", is_flag=True, help="Write a Cloud Optimized GeoTIFF.")
@click.option("--overviews/--no-overviews", default=True, show_default=True,
              help="Internal overviews in the output, so QGIS draws a large raster quickly (they cost about a "
                   "third of the writing time).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file (and its report).")
@click.option("--report/--no-report", default=True, show_default=True,
              help="Write OUT.report.html/.json and OUT.quicklook.png beside OUT.")
@report_options
@click.option("--progress", type=click.Choice(["bar", "json", "none"]), default=None,
              help="Progress on stderr [bar on a terminal, else none].")
@guarded
def fuse(hsi: Path, msi: Path, output: Path, method: str, weights: str | None, tile_size: int,
         overlap: int | None, allow_resample: bool, batch_size: int | None, device: str, dtype: str,
         precision: str, cog: bool, overviews: bool, overwrite: bool, report: bool, report_wald: bool, msi_srf: str | None,
         progress: str | None) -> None:
    """Fuse HSI and MSI into a high-resolution hyperspectral GeoTIFF OUT."""
    reporter = make_reporter(progress)
    request = FuseRequest(hsi=hsi, msi=msi, output=output, method=method, weights=weights,
                          tile_px=tile_size, overlap_px=overlap, batch_size=batch_size, device=device,
                          dtype=dtype, cog=cog, overviews=overviews, overwrite=overwrite, allow_resample=allow_resample,
                          report=report, report_wald=report_wald, msi_srf=msi_srf,
                          method_options={"precision": precision} if method == "pifnet" else {})
    result = run_fusion(request, reporter)
    if result.report_files and progress != "json":  # json: the files are in the done event
        for kind in ("report", "quicklook"):
            click.echo(f"{kind}: {result.report_files[kind]}")
        click.echo(result.summary)
