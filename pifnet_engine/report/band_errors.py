"""Streaming full-reference errors (PSNR, SAM, ERGAS, per band) over windows of any size.

The same conventions as :mod:`pifnet_engine.metrics` (per-band peak of the reference as the PSNR
data range, SAM in degrees as 2 atan2(|u - v|, |u + v|), ERGAS with the 100 / ratio factor), but
accumulated window by window, so a whole scene is never in memory: per band the sum of squared
errors, the sum and the maximum of the reference; per pixel the spectral angle. Finished with
:meth:`BandErrors.result`. ``metrics.all_metrics`` on the concatenation of the windows gives the
same PSNR, SAM and ERGAS (tested).
"""

from __future__ import annotations

import math

import numpy as np

from pifnet_engine.metrics import spectral_angles_deg


class BandErrors:
    """Accumulates the errors of ``est`` against ``ref`` for ``bands`` bands.

    ``add(ref, est, valid)``: ref/est (C, h, w) float arrays in the same unit, valid (h, w) bool.
    """

    def __init__(self, bands: int) -> None:
        self.bands = bands
        self.sse = np.zeros(bands, np.float64)
        self.ref_sum = np.zeros(bands, np.float64)
        self.ref_max = np.full(bands, -np.inf)
        self.pixels = 0
        self.angle_sum = 0.0
        self.angle_pixels = 0

    def add(self, ref: np.ndarray, est: np.ndarray, valid: np.ndarray) -> None:
        if not valid.any():
            return
        x = ref[:, valid].astype(np.float64)
        y = est[:, valid].astype(np.float64)
        self.sse += ((x - y) ** 2).sum(axis=1)
        self.ref_sum += x.sum(axis=1)
        self.ref_max = np.maximum(self.ref_max, x.max(axis=1))
        self.pixels += x.shape[1]
        angles = spectral_angles_deg(x, y)
        self.angle_sum += float(angles.sum())
        self.angle_pixels += angles.size

    def result(self, ratio: float) -> dict[str, object]:
        """``{"pixels", "psnr_db", "sam_deg", "ergas", "per_band": {"psnr_db", "rmse", "mean"}}``.

        Values that are undefined (no pixel, a band with peak or mean <= 0) are ``None``;
        identical images give PSNR ``inf`` (written as ``null`` in JSON).
        """
        if self.pixels == 0:
            return {"pixels": 0, "psnr_db": None, "sam_deg": None, "ergas": None, "per_band": None}
        mse = self.sse / self.pixels
        mean = self.ref_sum / self.pixels
        with np.errstate(divide="ignore", invalid="ignore"):
            band_psnr = np.where(self.ref_max > 0, 10.0 * np.log10(self.ref_max ** 2 / mse), np.nan)
            rel = mse / mean ** 2
        ok = np.isfinite(band_psnr) | np.isposinf(band_psnr)
        psnr = float(np.mean(band_psnr[ok])) if ok.any() else None
        ergas = float(100.0 / ratio * math.sqrt(rel.mean())) if np.all(mean > 0) else None
        sam = self.angle_sum / self.angle_pixels if self.angle_pixels else None
        return {
            "pixels": self.pixels, "psnr_db": psnr, "sam_deg": sam, "ergas": ergas,
            "per_band": {"psnr_db": [_num(v) for v in band_psnr], "rmse": [_num(v) for v in np.sqrt(mse)],
                         "mean": [_num(v) for v in mean]},
        }


def _num(value: float) -> float | None:
    """A float for JSON: NaN -> None, +inf kept (the writer maps it to null with a note)."""
    v = float(value)
    return None if math.isnan(v) else v
