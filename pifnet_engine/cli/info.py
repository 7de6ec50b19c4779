"""``pifnet-engine info HSI MSI``: the alignment plan, without fusing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from pifnet_engine.pipeline import FuseRequest, Job, open_job
from pifnet_engine.cli.options import layout_options, pair_arguments
from pifnet_engine.cli.boundary import guarded


def _wavelength_summary(wl: tuple[float, ...] | None, source: str | None) -> str:
    if wl is None:
        return "none found"
    return f"{len(wl)} bands, {min(wl):.1f}-{max(wl):.1f} nm (from {source} metadata)"


def describe(job: Job) -> dict[str, Any]:
    """The plan as a JSON-able dict (what ``info --json`` prints)."""
    p, lay = job.plan, job.layout
    hsi_ds, msi_ds = job.hsi.original, job.msi.original
    return {
        "hsi": {"path": str(job.request.hsi), "crs": hsi_ds.crs.to_string(), "size": [hsi_ds.width, hsi_ds.height],
                "bands": job.hsi.count, "pixel_size": list(p.hsi_res), "dtype": hsi_ds.dtypes[0],
                "nodata": hsi_ds.nodata,
                "wavelengths_nm": list(job.hsi.band_info.wavelengths_nm or []) or None,
                "fwhm_nm": list(job.hsi.band_info.fwhm_nm or []) or None,
                "bad_bands": [i + 1 for i, g in enumerate(job.hsi.band_info.good) if not g]},
        "msi": {"path": str(job.request.msi), "crs": msi_ds.crs.to_string(), "size": [msi_ds.width, msi_ds.height],
                "bands": job.msi.count, "pixel_size": list(p.msi_res), "dtype": msi_ds.dtypes[0],
                "nodata": msi_ds.nodata,
                "wavelengths_nm": list(job.msi.band_info.wavelengths_nm or []) or None},
        "ratio": p.ratio,
        "ratio_measured": list(p.ratio_measured),
        "hsi_warped": p.warp_reason,
        "output": {"crs": p.crs.to_string(), "size": [p.out_shape[1], p.out_shape[0]],
                   "bounds": list(p.out_bounds), "transform": list(p.out_transform)[:6],
                   "msi_window": {"col_off": int(p.out_window.col_off), "row_off": int(p.out_window.row_off),
                                  "width": int(p.out_window.width), "height": int(p.out_window.height)}},
        "method": job.method.name,
        "windows": {"count": lay.n_tiles, "tile_px": lay.tile_px, "overlap_px": lay.overlap_px,
                    "halo_px": lay.halo_px, "window_px": lay.window_px,
                    "grid": [len(lay.col_starts), len(lay.row_starts)]},
        "device": str(job.device),
        "warnings": list(p.warnings),
    }


@click.command()
@pair_arguments
@layout_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@guarded
def info(hsi: Path, msi: Path, method: str, weights: str | None, tile_size: int, overlap: int | None,
         allow_resample: bool, as_json: bool) -> None:
    """Print how HSI and MSI would be put on one grid and cut into windows, without fusing."""
    request = FuseRequest(hsi=hsi, msi=msi, method=method, weights=weights, tile_px=tile_size,
                          overlap_px=overlap, allow_resample=allow_resample, device="auto")
    with open_job(request) as job:
        d = describe(job)
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return
    h, m, o, w = d["hsi"], d["msi"], d["output"], d["windows"]
    lines = [
        f"HSI     {h['path']}",
        f"        {h['size'][0]} x {h['size'][1]} px, {h['bands']} bands {h['dtype']}, pixel {h['pixel_size'][0]:g} x "
        f"{h['pixel_size'][1]:g}, {h['crs']}, nodata {h['nodata']}",
        f"        wavelengths: {_wavelength_summary(job.hsi.band_info.wavelengths_nm, job.hsi.band_info.source)}"
        + (", fwhm present" if h['fwhm_nm'] else ", no fwhm")
        + (f", bad bands {h['bad_bands']}" if h['bad_bands'] else ""),
        f"MSI     {m['path']}",
        f"        {m['size'][0]} x {m['size'][1]} px, {m['bands']} bands {m['dtype']}, pixel {m['pixel_size'][0]:g} x "
        f"{m['pixel_size'][1]:g}, {m['crs']}, nodata {m['nodata']}",
        f"        wavelengths: {_wavelength_summary(job.msi.band_info.wavelengths_nm, job.msi.band_info.source)}",
        f"Ratio   {d['ratio']} (measured {d['ratio_measured'][0]:.6g} x {d['ratio_measured'][1]:.6g})",
        f"HSI     {'warped onto the MSI-aligned grid: ' + d['hsi_warped'] if d['hsi_warped'] else 'read as is (aligned)'}",
        f"Output  {o['size'][0]} x {o['size'][1]} px x {h['bands']} bands, {o['crs']}, bounds "
        f"({', '.join(f'{v:.3f}' for v in o['bounds'])})",
        f"        = MSI pixels cols {o['msi_window']['col_off']}..{o['msi_window']['col_off'] + o['size'][0] - 1}, "
        f"rows {o['msi_window']['row_off']}..{o['msi_window']['row_off'] + o['size'][1] - 1}",
        f"Windows {w['count']} ({w['grid'][0]} x {w['grid'][1]}), tile {w['tile_px']} px, overlap {w['overlap_px']} px, "
        f"halo {w['halo_px']} px, read {w['window_px']} px; method {d['method']} on {d['device']}",
    ]
    lines += [f"Warning: {x}" for x in d["warnings"]]
    click.echo("\n".join(lines))
