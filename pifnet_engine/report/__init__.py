"""The quality report and quicklook written beside every fused raster (``pifnet-engine fuse``,
``pifnet-engine report``): consistency with the inputs, a QNR-family index, the reduced-resolution
check, what was run; as ``OUT.report.json``, ``OUT.report.html`` and ``OUT.quicklook.png``.

Modules: :mod:`.region` (which pixels, in which chunks), :mod:`.band_errors` (streaming PSNR /
SAM / ERGAS), :mod:`.responses` (the MSI's spectral responses: preset or estimated), :mod:`.qnr`,
:mod:`.consistency` (the two windowed passes), :mod:`.wald` (reduced resolution),
:mod:`.quicklook`, :mod:`.build` (the document), :mod:`.document` (JSON and HTML), :mod:`.files`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pifnet_engine.errors import PifnetError
from pifnet_engine.report.files import ReportPaths

if TYPE_CHECKING:
    from pifnet_engine.report.build import ReportRequest

# The builder (and with it the model, scipy and the quicklook's imaging) is imported by
# write_report, not here: `fuse --no-report` needs only ReportPaths (0.33 s of start-up saved).
__all__ = ["ReportPaths", "summary_line", "write_report"]


def summary_line(data: dict) -> str:
    """One line for the terminal: the consistency numbers, QNR and the reduced-resolution verdict."""
    sp, se, q, rr = (data["spatial_consistency"], data["spectral_consistency"], data["qnr"],
                     data["reduced_resolution"])

    def num(v: object, digits: int) -> str:
        return "inf" if v is None and digits == 2 else ("-" if v is None else f"{v:.{digits}f}")

    parts = [f"spatial consistency {num(sp.get('psnr_db'), 2)} dB / SAM {num(sp.get('sam_deg'), 3)} deg"]
    if "skipped" not in se:
        parts.append(f"spectral consistency {num(se.get('psnr_db'), 2)} dB / SAM {num(se.get('sam_deg'), 3)} deg")
    if q.get("qnr") is not None:
        parts.append(f"QNR {q['qnr']:.4f}")
    text = "; ".join(parts)
    if isinstance(rr, dict) and rr.get("verdict"):
        text += f". Reduced resolution: {rr['verdict']}"
    return text


def write_report(request: "ReportRequest", paths: ReportPaths,
                 progress: Callable[[float, str], None] | None = None) -> tuple[dict[str, str], str]:
    """Build and write the report of ``request.fused``; returns ({kind: path}, summary line).

    A failure names the raster (which is complete and stays) and how to get the report later.
    """
    from pifnet_engine.report import build
    from pifnet_engine.report.document import to_html, to_json

    try:
        report = build.build_report(request, progress)
    except PifnetError as exc:
        raise type(exc)(
            f"the fused raster '{request.fused}' was written, but its quality report could not be made: {exc}. "
            f"Make it later with `pifnet-engine report {request.fused} {request.hsi} {request.msi}`, "
            "or pass --no-report") from None
    paths.write(to_json(report.data), to_html(report.data, report.quicklook), report.quicklook)
    files = {"report": str(paths.html.resolve()), "report_json": str(paths.json.resolve()),
             "quicklook": str(paths.quicklook.resolve())}
    return files, summary_line(report.data)
