"""``pifnet-engine report FUSED HSI MSI``: the quality report of a fused raster."""

from __future__ import annotations

from pathlib import Path

import click

from pifnet_engine.report import ReportPaths, write_report
from pifnet_engine.report.build import ReportRequest
from pifnet_engine.writer import check_output_path
from pifnet_engine.cli.options import existing_raster, report_options
from pifnet_engine.cli.boundary import guarded


@click.command()
@click.argument("fused", type=existing_raster)
@click.argument("hsi", type=existing_raster)
@click.argument("msi", type=existing_raster)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the report: OUT.report.json/.html and OUT.quicklook.png "
                   "[beside FUSED, named after it].")
@report_options
@click.option("--allow-resample", is_flag=True, help="As given to fuse: the HSI was warped to an integer ratio.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Device for the reduced-resolution check.")
@click.option("--weights", type=str, metavar="FILE|NAME", default=None,
              help="The PIF-Net weights FUSED was made with, for the reduced-resolution check [the name in "
                   "FUSED's tags: bundled weights are found by it, a weights file needs this option].")
@click.option("--overwrite", is_flag=True, help="Replace existing report files.")
@guarded
def report(fused: Path, hsi: Path, msi: Path, output: Path | None, report_wald: bool, msi_srf: str | None,
           allow_resample: bool, device: str, weights: str | None, overwrite: bool) -> None:
    """Write the quality report and quicklook of FUSED (made by `fuse` from HSI and MSI)."""
    paths = ReportPaths.beside(output if output is not None else fused)
    for p in paths.all():
        check_output_path(p, [fused, hsi, msi], overwrite)
    files, summary = write_report(
        ReportRequest(fused=fused, hsi=hsi, msi=msi, allow_resample=allow_resample, msi_srf=msi_srf,
                      wald=report_wald, device=device, weights=weights), paths)
    for kind, path in files.items():
        click.echo(f"{kind}: {path}")
    click.echo(summary)
