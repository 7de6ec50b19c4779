"""The quicklook PNG: the upsampled HSI, the MSI and the fused result side by side, plus the
spatial-consistency error map, at a readable size for any scene size.

Drawn with matplotlib (titles, a colour bar and a fixed figure size are what a quicklook needs;
Pillow alone would mean drawing them by hand). Every image comes from a decimated read
(``DatasetReader.read(out_shape=...)``, which GDAL serves from overviews when the raster has them),
at most ``PANEL_PX`` pixels a side, so memory does not grow with the scene.

Colours: true colour from the bands nearest 640 / 550 / 470 nm (the rule of
:func:`pifnet_engine.raster.rgb.nearest_good_bands`, which the output's QGIS style uses too); a second
row in false colour (NIR 860 / red 650 / green 550 nm) when the HSI has a band within 40 nm of
860 nm. Each channel is stretched by the 2-98 % cumulative cut of :mod:`pifnet_engine.raster.stretch`; the HSI and the fused image share the fused image's
stretch (same unit), the MSI has its own.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from rasterio.enums import Resampling
from rasterio.windows import Window

from pifnet_engine.raster.rgb import TRUE_COLOUR_NM, nearest_good_bands
from pifnet_engine.raster.source import RasterSource
from pifnet_engine.raster.stretch import cumulative_cut, sample_shape
from pifnet_engine.report.region import ReportRegion

#: Longest side of each panel's image (pixels).
PANEL_PX = 480
FALSE_COLOUR_NM = (860.0, 650.0, 550.0)
#: How far (nm) an MSI band may be from a wanted wavelength (MSI bands are broad).
MSI_MAX_OFFSET_NM = 60.0


def _read(source: RasterSource, window: Window, bands: list[int], shape: tuple[int, int]) -> np.ndarray:
    """(3, h, w) float64 physical values of 0-based ``bands``, NaN where invalid (decimated read)."""
    ds = source.dataset
    idx = [source._indexes[b] for b in bands]
    raw = ds.read(idx, window=window, out_shape=(len(idx), *shape), resampling=Resampling.average,
                  masked=True, boundless=False)
    values = raw.astype(np.float64).filled(np.nan)
    scales, offsets = source.scales[bands][:, None, None], source.offsets[bands][:, None, None]
    return values * scales + offsets


def _limits(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (low, high) of the 2-98 % cumulative cut (the same stretch as the QGIS style)."""
    cuts = [cumulative_cut(band, np.isfinite(band)) for band in img]
    return (np.array([c.minimum for c in cuts])[:, None, None], np.array([c.maximum for c in cuts])[:, None, None])


def _rgb(img: np.ndarray, limits: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    lo, hi = limits
    out = np.clip((img - lo) / (hi - lo), 0.0, 1.0)
    alpha = np.all(np.isfinite(img), axis=0).astype(np.float64)
    return np.dstack([np.nan_to_num(out).transpose(1, 2, 0), alpha])


def _msi_bands(msi: RasterSource, targets: Sequence[float]) -> tuple[list[int] | None, str]:
    picks = nearest_good_bands(msi.band_info.wavelengths_nm, msi.band_info.good, targets, MSI_MAX_OFFSET_NM)
    if picks is not None:
        return picks, ""
    if targets == TRUE_COLOUR_NM and msi.count >= 3:
        return [2, 1, 0], " (bands 3/2/1: wavelengths unknown)"
    return None, ""


def render_quicklook(hsi: RasterSource, msi: RasterSource, fused: RasterSource, region: ReportRegion,
                     error_map: np.ndarray, title: str) -> bytes:
    """The quicklook as PNG bytes (about 1440 x 900 pixels at most, whatever the scene size)."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    info = hsi.band_info
    rows: list[tuple[str, list[int], list[int] | None, str]] = []
    tc = nearest_good_bands(info.wavelengths_nm, info.good, TRUE_COLOUR_NM)
    if tc is None:
        good = [i for i, g in enumerate(info.good) if g]
        tc = (good[:3] if len(good) >= 3 else [good[0]] * 3)
        tc_name = "bands " + "/".join(str(b + 1) for b in tc) + " (wavelengths unknown)"
    else:
        tc_name = "true colour"
    mb, mnote = _msi_bands(msi, TRUE_COLOUR_NM)
    rows.append((tc_name, tc, mb, mnote))
    fc = nearest_good_bands(info.wavelengths_nm, info.good, FALSE_COLOUR_NM)
    if fc is not None:
        mb2, mnote2 = _msi_bands(msi, FALSE_COLOUR_NM)
        rows.append(("false colour (NIR/red/green)", fc, mb2, mnote2))

    fine_msi = region.msi
    shape_f = sample_shape(int(region.fine.height), int(region.fine.width), PANEL_PX)
    shape_h = sample_shape(int(region.coarse.height), int(region.coarse.width), PANEL_PX)
    ncols = 4
    fig = Figure(figsize=(14.4, 3.6 * len(rows) + 0.6), dpi=100)
    fig.suptitle(title, fontsize=11)
    for row, (name, bands, mbands, mnote) in enumerate(rows):
        f_img = _read(fused, region.fine, bands, shape_f)
        h_img = _read(hsi, region.coarse, bands, shape_h)
        lim = _limits(f_img)
        panels: list[tuple[str, np.ndarray | None]] = [(f"HSI, upsampled ({name})", _rgb(h_img, lim))]
        if mbands is not None:
            m_img = _read(msi, fine_msi, mbands, shape_f)
            panels.append((f"MSI ({name}{mnote})", _rgb(m_img, _limits(m_img))))
        else:
            panels.append((f"MSI (no bands for {name})", None))
        panels.append((f"fused ({name})", _rgb(f_img, lim)))
        for col, (label, img) in enumerate(panels):
            ax = fig.add_subplot(len(rows), ncols, row * ncols + col + 1)
            ax.set_title(label, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            if img is not None:
                ax.imshow(img, interpolation="nearest", extent=(0, shape_f[1], shape_f[0], 0))
        if row == 0:
            ax = fig.add_subplot(len(rows), ncols, ncols)
            finite = error_map[np.isfinite(error_map)]
            vmax = float(np.percentile(finite, 99)) if finite.size else 1.0
            im = ax.imshow(error_map, cmap="magma", vmin=0.0, vmax=max(vmax, 1e-6), interpolation="nearest")
            ax.set_title("spatial consistency error (%)\nfused degraded vs HSI", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
