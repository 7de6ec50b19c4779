"""Full-reference quality metrics for fused hyperspectral images: PSNR, SSIM, SAM, ERGAS.

All functions take the reference ``ref`` and the estimate ``est`` as (C, H, W) arrays (numpy or
torch; computed in float64 numpy, no autograd) in the same unit, and an optional ``valid``
(H, W) bool mask. Bands with no finite value in the reference (bad bands stored as nodata) are
dropped; then pixels that are non-finite in any remaining band of either image are excluded.
Notation: x = reference, y = estimate, k = band (1..C), i = valid pixel (1..N).

Data range convention (PSNR and SSIM): ``data_range=None`` uses, per band, the maximum of the
reference over valid pixels, L_k = max_i x_k,i (as in Yokoya's HS-MS fusion toolbox; right for
any unit); pass ``data_range=1.0`` for data normalised to [0, 1] (the paper's protocol).

- PSNR (dB), per band then averaged: ``PSNR = mean_k 10 log10(L_k^2 / MSE_k)``,
  ``MSE_k = mean_i (x_k,i - y_k,i)^2``. Identical images give +inf.
- SSIM (Wang et al. 2004), per band then averaged: 11 x 11 Gaussian window, sigma 1.5 (the 2-D
  window is outer(g, g), g normalised), K1 = 0.01, K2 = 0.03, C1 = (K1 L_k)^2, C2 = (K2 L_k)^2;
  local mu, sigma^2, sigma_xy are Gaussian-weighted (population, not sample, moments); map =
  ((2 mu_x mu_y + C1)(2 sigma_xy + C2)) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2)),
  averaged over window positions lying wholly inside the image and wholly on valid pixels
  (no padding; images need at least 11 x 11 pixels).
- SAM (degrees): mean over valid pixels of the angle between spectra x_i, y_i (C-vectors),
  computed stably as 2 atan2(|x/|x| - y/|y||, |x/|x| + y/|y||) (= arccos of the normalised dot
  product); pixels where either spectrum has zero norm are left out.
- ERGAS (Wald 2002, 100/ratio convention): ``ERGAS = 100 / s * sqrt(mean_k RMSE_k^2 / mu_k^2)``,
  ``RMSE_k^2 = MSE_k``, ``mu_k = mean_i x_k,i``, s = ratio of pixel sizes (low / high, e.g. 4).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.ndimage import correlate1d

from pifnet_engine.errors import InputDataError, UsageError

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _as_array(x: Any, name: str) -> np.ndarray:
    if type(x).__module__.startswith("torch"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 3:
        raise InputDataError(f"{name} must be a (C, H, W) array; got shape {arr.shape}")
    return arr


def _prepare(ref: Any, est: Any, valid: Any | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, mask): float64 (C, H, W) images and (H, W) bool mask of usable pixels."""
    x, y = _as_array(ref, "reference"), _as_array(est, "estimate")
    if x.shape != y.shape:
        raise InputDataError(
            f"reference {x.shape} and estimate {y.shape} differ in shape; expected the same (C, H, W)"
        )
    keep = np.isfinite(x).reshape(x.shape[0], -1).any(axis=1)  # bad bands: no finite value
    if not keep.any():
        raise InputDataError("the reference has no finite value in any band; nothing to compare")
    x, y = x[keep], y[keep]
    mask = np.all(np.isfinite(x), axis=0) & np.all(np.isfinite(y), axis=0)
    if valid is not None:
        v = valid.detach().cpu().numpy() if type(valid).__module__.startswith("torch") else valid
        v = np.asarray(v, dtype=bool)
        if v.shape != x.shape[1:]:
            raise InputDataError(f"valid mask has shape {v.shape}; expected (H, W) = {x.shape[1:]}")
        mask &= v
    if not mask.any():
        raise InputDataError("no valid pixel to compare (mask empty or all NaN); check the inputs")
    return x, y, mask


def _band_ranges(x: np.ndarray, mask: np.ndarray, data_range: float | None) -> np.ndarray:
    if data_range is not None:
        if not (data_range > 0 and math.isfinite(data_range)):
            raise UsageError(f"data_range must be > 0; got {data_range!r}")
        return np.full(x.shape[0], float(data_range))
    peaks = x[:, mask].max(axis=1)
    if np.any(peaks <= 0):
        raise InputDataError(
            f"reference bands {np.flatnonzero(peaks <= 0).tolist()} have no positive value, so the "
            "per-band data range max(x_k) is not usable; pass data_range explicitly"
        )
    return peaks


def band_mse(ref: Any, est: Any, valid: Any | None = None) -> np.ndarray:
    """(C,) mean squared error per band over valid pixels, in squared data units."""
    x, y, mask = _prepare(ref, est, valid)
    return ((x[:, mask] - y[:, mask]) ** 2).mean(axis=1)


def psnr(ref: Any, est: Any, data_range: float | None = None, valid: Any | None = None) -> float:
    """Mean over bands of 10 log10(L_k^2 / MSE_k), dB (see the module docstring)."""
    x, y, mask = _prepare(ref, est, valid)
    mse = ((x[:, mask] - y[:, mask]) ** 2).mean(axis=1)
    peak = _band_ranges(x, mask, data_range)
    with np.errstate(divide="ignore"):
        return float(np.mean(10.0 * np.log10(peak**2 / mse)))


def _gaussian_taps() -> np.ndarray:
    r = SSIM_WINDOW // 2
    g = np.exp(-0.5 * (np.arange(-r, r + 1, dtype=np.float64) / SSIM_SIGMA) ** 2)
    return g / g.sum()


def _window_valid(a: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable weighted sum over each window, cropped to positions wholly inside the image."""
    r = taps.size // 2
    for axis in (-2, -1):
        a = correlate1d(a, taps, axis=axis, mode="constant")
    return a[..., r:a.shape[-2] - r, r:a.shape[-1] - r]


def ssim(ref: Any, est: Any, data_range: float | None = None, valid: Any | None = None) -> float:
    """Mean over bands of the mean SSIM map (11 x 11 Gaussian sigma 1.5, K1 0.01, K2 0.03)."""
    x, y, mask = _prepare(ref, est, valid)
    h, w = mask.shape
    if h < SSIM_WINDOW or w < SSIM_WINDOW:
        raise InputDataError(
            f"SSIM needs images of at least {SSIM_WINDOW} x {SSIM_WINDOW} px; got {h} x {w}"
        )
    peak = _band_ranges(x, mask, data_range)
    x = np.where(mask, x, 0.0)
    y = np.where(mask, y, 0.0)
    taps = _gaussian_taps()
    box = np.ones(SSIM_WINDOW)
    full = _window_valid(mask.astype(np.float64), box) > SSIM_WINDOW**2 - 0.5
    if not full.any():
        raise InputDataError(
            f"SSIM: no {SSIM_WINDOW} x {SSIM_WINDOW} window lies wholly on valid pixels; "
            "pass a larger valid region"
        )
    scores = []
    for k in range(x.shape[0]):
        c1, c2 = (SSIM_K1 * peak[k]) ** 2, (SSIM_K2 * peak[k]) ** 2
        mx, my = _window_valid(x[k], taps), _window_valid(y[k], taps)
        sxx = _window_valid(x[k] * x[k], taps) - mx * mx
        syy = _window_valid(y[k] * y[k], taps) - my * my
        sxy = _window_valid(x[k] * y[k], taps) - mx * my
        smap = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        scores.append(smap[full].mean())
    return float(np.mean(scores))


def sam(ref: Any, est: Any, valid: Any | None = None) -> float:
    """Mean spectral angle between reference and estimate spectra over valid pixels, degrees."""
    x, y, mask = _prepare(ref, est, valid)
    angles = spectral_angles_deg(x[:, mask], y[:, mask])
    if angles.size == 0:
        raise InputDataError(
            "SAM: every valid pixel has a zero spectrum in one image; nothing to compare"
        )
    return float(angles.mean())


def spectral_angles_deg(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """(C, N) and (C, N) -> (M,) angles in degrees between the spectra, for the M pixels where
    neither has zero norm (2 atan2(|u - v|, |u + v|) of the unit spectra)."""
    nx, ny = np.linalg.norm(xs, axis=0), np.linalg.norm(ys, axis=0)
    ok = (nx > 0) & (ny > 0)
    ux, uy = xs[:, ok] / nx[ok], ys[:, ok] / ny[ok]
    return np.degrees(2.0 * np.arctan2(np.linalg.norm(ux - uy, axis=0), np.linalg.norm(ux + uy, axis=0)))


def ergas(ref: Any, est: Any, ratio: float, valid: Any | None = None) -> float:
    """100 / ratio * sqrt(mean_k MSE_k / mu_k^2), unitless (lower is better; 0 = identical)."""
    if not (ratio > 0 and math.isfinite(ratio)):
        raise UsageError(f"ERGAS ratio must be > 0 (low-res / high-res pixel size); got {ratio!r}")
    x, y, mask = _prepare(ref, est, valid)
    mse = ((x[:, mask] - y[:, mask]) ** 2).mean(axis=1)
    mu = x[:, mask].mean(axis=1)
    if np.any(mu == 0):
        raise InputDataError(
            f"ERGAS: reference bands {np.flatnonzero(mu == 0).tolist()} have mean 0, so the relative "
            "error is undefined; drop those bands (e.g. bad bands) before computing ERGAS"
        )
    return float(100.0 / ratio * np.sqrt(np.mean(mse / mu**2)))


def all_metrics(ref: Any, est: Any, ratio: float, data_range: float | None = None,
                valid: Any | None = None) -> dict[str, float]:
    """``{"psnr", "ssim", "sam", "ergas"}`` with the conventions above."""
    return {
        "psnr": psnr(ref, est, data_range, valid),
        "ssim": ssim(ref, est, data_range, valid),
        "sam": sam(ref, est, valid),
        "ergas": ergas(ref, est, ratio, valid),
    }
