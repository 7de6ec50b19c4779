"""The report as text: JSON (non-finite numbers as ``null``) and a self-contained HTML page
(inline CSS, plots as inline SVG drawn by matplotlib, the quicklook as a data URI; no network)."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Sequence

import numpy as np


def _clean(value: object) -> object:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


def to_json(data: dict[str, object]) -> str:
    """Strict JSON (``allow_nan=False``): inf and NaN become ``null`` (a ``null`` PSNR with an
    ERGAS of 0 means the images are identical)."""
    return json.dumps(_clean(data), indent=1, allow_nan=False) + "\n"


def _fmt(value: object, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if math.isinf(value):
            return "∞"
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _figure(width_in: float = 8.0, height_in: float = 3.2):
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    return Figure(figsize=(width_in, height_in), dpi=100)


def responses_plot(wl: Sequence[float] | None, used: dict, estimated: dict) -> str:
    """SVG: each MSI band's weights over the HSI bands (estimated solid, a preset dashed)."""
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    x = np.asarray(wl, float) if wl is not None else None
    for src, style in ((estimated, "-"), (used if used.get("source", "").startswith("preset") else None, "--")):
        if not src or "weights" not in src:
            continue
        for name, row in zip(src["bands"], src["weights"], strict=True):
            row = np.asarray(row, float)
            xs = x if x is not None else np.arange(1, row.size + 1)
            order = np.argsort(xs)
            ax.plot(xs[order], row[order], style, lw=1.2, label=f"{name} ({src['source']})")
    ax.set_xlabel("HSI band wavelength (nm)" if x is not None else "HSI band")
    ax.set_ylabel("weight")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return _svg(fig)


def band_plot(wl: Sequence[float] | None, bands: Sequence[int], values: Sequence[float | None], label: str) -> str:
    """SVG: a per-band value (e.g. spatial-consistency PSNR) against wavelength."""
    fig = _figure(8.0, 2.6)
    ax = fig.add_subplot(1, 1, 1)
    y = np.array([np.nan if v is None else v for v in values], float)
    xs = np.array([wl[b - 1] for b in bands], float) if wl is not None else np.asarray(bands, float)
    order = np.argsort(xs)
    ax.plot(xs[order], y[order], ".-", ms=3, lw=0.8)
    ax.set_xlabel("wavelength (nm)" if wl is not None else "band")
    ax.set_ylabel(label)
    fig.tight_layout()
    return _svg(fig)


CSS = """body{font-family:sans-serif;max-width:72em;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:.2em .6em;text-align:right}
th{background:#eee}td.l,th.l{text-align:left}.verdict{font-weight:bold;padding:.4em;background:#fff4d6}
.note{color:#555;font-size:90%}img{max-width:100%}code{font-size:90%}"""


def to_html(data: dict, quicklook_png: bytes) -> str:
    """The human-readable report (one self-contained page)."""
    e = html.escape
    fused, inputs, grid = data["fused"], data["inputs"], data["grid"]
    sp, se, q, rr = data["spatial_consistency"], data["spectral_consistency"], data["qnr"], data["reduced_resolution"]
    wl = data["hsi_bands"]["wavelength_nm"]
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Quality report: {e(fused['name'])}</title>"
           f"<style>{CSS}</style></head><body>",
           f"<h1>Quality report: {e(fused['name'])}</h1>",
           f"<p>Method <b>{e(str(fused['method']))}</b>"
           + (f", weights <code>{e(str(fused['weights']))}</code>" if fused.get("weights") else "")
           + f"; pifnet-engine {e(data['engine_version'])}; ratio {grid['ratio']}.</p>"]
    if isinstance(rr, dict) and rr.get("verdict"):
        out.append(f"<p class='verdict'>{e(rr['verdict'])}</p>")
    b64 = base64.b64encode(quicklook_png).decode("ascii")
    out.append(f"<h2>Quicklook</h2><img alt='quicklook' src='data:image/png;base64,{b64}'>")
    out.append("<h2>Indices without a reference</h2><table><tr><th class='l'>index</th><th>PSNR dB</th>"
               "<th>SAM deg</th><th>ERGAS</th><th class='l'>ideal</th></tr>")
    for title, d in (("spatial consistency (fused degraded vs HSI)", sp),
                     ("spectral consistency (fused through the MSI responses vs MSI)", se)):
        if "skipped" in d:
            out.append(f"<tr><td class='l'>{e(title)}</td><td colspan='4' class='l'>not computed: {e(str(d['skipped']))}</td></tr>")
        else:
            out.append(f"<tr><td class='l'>{e(title)}</td><td>{_fmt(d['psnr_db'], 2)}</td><td>{_fmt(d['sam_deg'])}</td>"
                       f"<td>{_fmt(d['ergas'])}</td><td class='l'>PSNR ∞, SAM 0, ERGAS 0</td></tr>")
    out.append("</table>")
    out.append(f"<p class='note'>Spatial consistency over {sp.get('pixels')} HSI pixels; spectral consistency with "
               f"the responses: {e(str(data['responses_used'].get('source')))}.</p>")
    if q.get("qnr") is None:
        out.append(f"<p>QNR: not computed ({e(str(q.get('skipped')))}).</p>")
    else:
        out.append("<table><tr><th class='l'>QNR family (HS+MS)</th><th>D<sub>λ</sub></th><th>D<sub>S</sub></th>"
                   f"<th>QNR</th></tr><tr><td class='l'>{q['blocks']} blocks of {q['block_px_hsi']} HSI px</td>"
                   f"<td>{_fmt(q['d_lambda'], 4)}</td><td>{_fmt(q['d_s'], 4)}</td><td>{_fmt(q['qnr'], 4)}</td></tr></table>"
                   f"<p class='note'>Ideal: D<sub>λ</sub> = D<sub>S</sub> = 0, QNR = 1. {e(q['formula'])}. {e(q['citation'])}. "
                   "QNR is known to favour some methods over the truth; read it with the consistency and the "
                   "reduced-resolution check.</p>")
    out.append("<h2>Reduced-resolution check (Wald's protocol)</h2>")
    if "skipped" in rr:
        out.append(f"<p>Not run: {e(str(rr['skipped']))}.</p>")
    else:
        out.append(f"<p class='note'>{e(rr['protocol'])}; sample of {rr['sample_hsi_px'][2]} x {rr['sample_hsi_px'][3]} "
                   "HSI pixels at its centre; PSNR with the per-band peak of the HSI.</p>"
                   "<table><tr><th class='l'>method</th><th>PSNR dB</th><th>SAM deg</th><th>ERGAS</th><th>seconds</th></tr>")
        for name, row in rr["methods"].items():
            if "unavailable" in row:
                out.append(f"<tr><td class='l'>{e(name)}</td><td colspan='4' class='l'>unavailable: {e(row['unavailable'])}</td></tr>")
            else:
                out.append(f"<tr><td class='l'>{e(name)}</td><td>{_fmt(row['psnr_db'], 2)}</td><td>{_fmt(row['sam_deg'])}</td>"
                           f"<td>{_fmt(row['ergas'])}</td><td>{_fmt(row['seconds'], 1)}</td></tr>")
        out.append("</table>")
    est, used = data["estimated_responses"], data["responses_used"]
    out.append("<h2>MSI spectral responses</h2>")
    if "weights" in est:
        out.append(responses_plot(wl, used, est))
        out.append("<table><tr><th class='l'>MSI band</th><th>centroid nm</th><th>gain</th><th>offset</th>"
                   "<th>R²</th><th>residual RMSE</th></tr>")
        cents = est.get("centroid_nm") or [None] * len(est["bands"])
        for i, name in enumerate(est["bands"]):
            out.append(f"<tr><td class='l'>{e(name)}</td><td>{_fmt(cents[i], 1)}</td><td>{_fmt(est['gain'][i], 4)}</td>"
                       f"<td>{_fmt(est['offsets'][i], 4)}</td><td>{_fmt(est['r2'][i], 5)}</td>"
                       f"<td>{_fmt(est['residual_rmse'][i], 5)}</td></tr>")
        out.append("</table><p class='note'>Estimated from the pair: the MSI averaged over each HSI pixel regressed "
                   "on the HSI with non-negative weights and an offset (NNLS); residual in MSI units.</p>")
    else:
        out.append(f"<p>Not estimated: {e(str(est.get('skipped')))}.</p>")
    if sp.get("per_band"):
        out.append("<h2>Spatial consistency per band</h2>")
        out.append(band_plot(wl, sp["bands"], sp["per_band"]["psnr_db"], "PSNR dB"))
    out.append("<h2>What was run</h2><table><tr><th class='l'>file</th><th>size px</th><th>bands</th>"
               "<th class='l'>sha256</th></tr>")
    for role, d in (("fused", fused), ("HSI", inputs["hsi"]), ("MSI", inputs["msi"])):
        out.append(f"<tr><td class='l'>{role}: {e(d['name'])}</td><td>{d['width']} x {d['height']}</td><td>{d['bands']}</td>"
                   f"<td class='l'><code>{e(d['sha256'])}</code></td></tr>")
    out.append("</table><ul>")
    out.append(f"<li>grid: ratio {grid['ratio']}, {e(grid['crs'])}, output {grid['output_px'][1]} x {grid['output_px'][0]} px, "
               f"HSI warped: {e(str(grid['hsi_warped'] or 'no'))}</li>")
    for w in grid["warnings"] + list(data.get("fusion", {}).get("warnings", [])):
        out.append(f"<li>warning: {e(w)}</li>")
    fusion_s = data.get("fusion", {}).get("seconds")
    t = data["timing_s"]
    out.append(f"<li>timing: fusion {_fmt(fusion_s, 1)} s, report {_fmt(t['report_total'], 1)} s (consistency "
               f"{_fmt(t['consistency'], 1)} s, reduced-resolution check {_fmt(t['reduced_resolution'], 1)} s)</li>")
    tags = fused.get("tags", {})
    if tags:
        out.append("<li>provenance: " + ", ".join(f"{e(k)}={e(str(v))}" for k, v in tags.items()) + "</li>")
    out.append("</ul></body></html>\n")
    return "\n".join(out)
