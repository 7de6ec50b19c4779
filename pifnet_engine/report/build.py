"""The quality report of a fused raster: what was run, consistency with the inputs, QNR and the
reduced-resolution check, as one JSON-ready dict (see docs/report.md for every field).

:func:`build_report` opens the pair the way ``fuse`` does, checks that the fused raster lies on
the pair's output grid, runs :func:`.consistency.check_consistency` and (unless switched off)
:func:`.wald.reduced_resolution_check` against GSA and bicubic, and renders the quicklook.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import rasterio

from pifnet_engine import __version__
from pifnet_engine.errors import InputDataError
from pifnet_engine.model.weights import sha256_file
from pifnet_engine.pipeline import open_pair
from pifnet_engine.raster.source import RasterSource, open_raster
from pifnet_engine.report.consistency import check_consistency
from pifnet_engine.report.quicklook import render_quicklook
from pifnet_engine.report.responses import preset_responses
from pifnet_engine.report.wald import reduced_resolution_check

REPORT_VERSION = 1
Progress = Callable[[float, str], None]


@dataclass
class ReportRequest:
    """What to report on. ``method``/``weights``: the method the fused raster was made with (read
    from its tags when None); ``fusion``: what the fusion itself said (seconds, warnings)."""

    fused: Path
    hsi: Path
    msi: Path
    allow_resample: bool = False
    msi_srf: str | None = None
    wald: bool = True
    device: str = "cpu"
    method: str | None = None
    weights: str | None = None
    #: PIF-Net's forward precision (``"bf16"``/``"fp32"``) for the reduced-resolution check; None: as the
    #: fused raster's ``PIFNET_AUTOCAST`` tag says.
    precision: str | None = None
    fusion: dict[str, object] = field(default_factory=dict)


@dataclass
class Report:
    """``data``: the JSON document; ``quicklook``: PNG bytes."""

    data: dict[str, object]
    quicklook: bytes


def _file_info(path: Path, ds: rasterio.io.DatasetReader) -> dict[str, object]:
    return {"name": path.name, "path": str(path.resolve()), "bytes": path.stat().st_size,
            "sha256": sha256_file(path), "width": ds.width, "height": ds.height, "bands": ds.count,
            "dtype": ds.dtypes[0], "crs": ds.crs.to_string() if ds.crs else None,
            "pixel_size": [ds.transform.a, -ds.transform.e]}


def _check_on_grid(fused: rasterio.io.DatasetReader, plan, bands: int, name: str) -> None:
    h, w = plan.out_shape
    if (fused.height, fused.width) != (h, w) or fused.count != bands or fused.crs != plan.crs or \
            not fused.transform.almost_equals(plan.out_transform):
        raise InputDataError(
            f"the fused raster '{name}' ({fused.width} x {fused.height} px, {fused.count} bands) is not on this "
            f"pair's output grid ({w} x {h} px, {bands} bands, the MSI's grid over the overlap); give the HSI and "
            "MSI it was fused from")


def build_report(req: ReportRequest, progress: Progress | None = None) -> Report:
    """Compute the report of ``req.fused`` against ``req.hsi`` and ``req.msi``."""
    t0 = time.perf_counter()
    tell = progress or (lambda fraction, message: None)
    with open_pair(req.hsi, req.msi, req.allow_resample) as pair, \
            open_raster(str(req.fused), "fused raster") as fused_ds:
        plan, hsi, msi = pair.plan, pair.hsi, pair.msi
        _check_on_grid(fused_ds, plan, hsi.original.count, req.fused.name)
        tags = fused_ds.tags()
        method = req.method or tags.get("PIFNET_METHOD", "unknown")
        weights = req.weights if req.weights is not None else tags.get("PIFNET_WEIGHTS")
        precision = req.precision or ("bf16" if tags.get("PIFNET_AUTOCAST") == "bf16" else "fp32")
        fused = RasterSource(fused_ds, role="fused raster")
        info = hsi.band_info
        preset = None
        if req.msi_srf is not None:
            preset = preset_responses(req.msi_srf, msi.band_info.descriptions, info.wavelengths_nm,
                                      info.fwhm_nm, info.good)
        cons = check_consistency(plan, hsi, msi, fused, preset,
                                 lambda f, m: tell(f * (0.7 if req.wald else 0.95), m))
        t_cons = time.perf_counter() - t0
        wald: dict[str, object]
        if req.wald:
            tell(0.7, "report: reduced-resolution check")
            rows = [(method, method, weights)] if method in ("pifnet", "gsa", "bicubic") else []
            rows += [(m, m, None) for m in ("gsa", "bicubic") if m != method]
            wald = reduced_resolution_check(plan, hsi, msi, rows, device=req.device, precision=precision)
            wald["verdict"] = _verdict(method, wald)
        else:
            wald = {"skipped": "--no-report-wald"}
        t_wald = time.perf_counter() - t0 - t_cons
        tell(0.95, "report: quicklook")
        png = render_quicklook(hsi, msi, fused, cons.region, cons.error_map,
                               f"{req.fused.name}: {method}" + (f" ({weights})" if weights else ""))
        wl = list(info.wavelengths_nm) if info.wavelengths_nm is not None else None
        data: dict[str, object] = {
            "report_version": REPORT_VERSION, "engine_version": __version__,
            "fused": {**_file_info(req.fused, fused_ds), "method": method, "weights": weights,
                      "tags": {k: v for k, v in tags.items() if k.startswith("PIFNET_")}},
            "inputs": {"hsi": _file_info(req.hsi, hsi.original), "msi": _file_info(req.msi, msi.original)},
            "grid": {"ratio": plan.ratio, "crs": plan.crs.to_string(), "hsi_warped": plan.warp_reason,
                     "output_px": list(plan.out_shape), "coarse_px": list(plan.coarse_shape),
                     "checked_hsi_px": [int(cons.region.coarse.row_off), int(cons.region.coarse.col_off),
                                        *cons.region.shape_lr],
                     "warnings": list(plan.warnings)},
            "hsi_bands": {"wavelength_nm": wl, "good": list(info.good)},
            "spatial_consistency": cons.spatial,
            "spectral_consistency": cons.spectral,
            "responses_used": (cons.responses.as_dict(wl) if cons.responses is not None
                               else {"source": "none", "skipped": cons.estimate_error}),
            "estimated_responses": (cons.estimated.as_dict(wl) if cons.estimated is not None
                                    else {"skipped": cons.estimate_error}),
            "qnr": cons.qnr,
            "reduced_resolution": wald,
            "fusion": req.fusion,
            "timing_s": {"consistency": round(t_cons, 2), "reduced_resolution": round(t_wald, 2),
                         "report_total": round(time.perf_counter() - t0, 2)},
        }
    return Report(data, png)


LABELS = {"pifnet": "PIF-Net", "gsa": "GSA", "bicubic": "bicubic"}


def _verdict(method: str, wald: dict[str, object]) -> str:
    """One sentence on the reduced-resolution table for the analyst (PIF-Net: ahead of GSA or not)."""
    rows = wald["methods"]
    assert isinstance(rows, dict)
    me = LABELS.get(method, method)

    def ok(name: str) -> bool:
        row = rows.get(name)
        return isinstance(row, dict) and row.get("psnr_db") is not None and row.get("sam_deg") is not None

    def text(name: str) -> str:
        row = rows[name]
        return f"PSNR {row['psnr_db']:.2f} dB, SAM {row['sam_deg']:.3f} deg"

    def why(name: str) -> str:
        row = rows.get(name)
        text = str(row.get("unavailable", "")) if isinstance(row, dict) else ""
        return text.split(";")[0] or "see the table"

    if not ok(method):
        return (f"the pair is too small for a reduced-resolution check of {me} ({why(method)}); judge it by the "
                "consistency numbers")
    if method == "gsa":
        return f"GSA at reduced resolution: {text('gsa')}" + (f" (bicubic: {text('bicubic')})" if ok("bicubic") else "")
    if not ok("gsa"):
        other = f"; bicubic: {text('bicubic')}" if ok("bicubic") and method != "bicubic" else ""
        return (f"GSA cannot run on the reduced-resolution sample ({why('gsa')}), so {me} cannot be compared with "
                f"it here: {me} {text(method)}{other}")
    if method == "bicubic":
        return (f"bicubic is an interpolation, not a fusion: at reduced resolution GSA scores {text('gsa')}, "
                f"bicubic {text('bicubic')}; fuse with --method gsa or pifnet")
    mine, gsa = rows[method], rows["gsa"]
    ahead = (round(mine["psnr_db"], 2) > round(gsa["psnr_db"], 2)
             and round(mine["sam_deg"], 3) < round(gsa["sam_deg"], 3))
    if ahead:
        return f"{me} is ahead of GSA at reduced resolution ({text(method)} vs GSA {text('gsa')})"
    return (f"{me} is NOT ahead of GSA at reduced resolution ({text(method)} vs GSA {text('gsa')}): for this pair "
            "we recommend GSA (--method gsa)")
