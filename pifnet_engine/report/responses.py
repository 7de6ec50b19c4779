"""The MSI's spectral responses as a (c, C) matrix over the HSI's bands: a preset, or estimated
from the pair itself.

Estimated (:class:`ResponseEstimator`): the MSI averaged over each HSI pixel's footprint is
regressed on the HSI at the HSI's resolution, per MSI band j, with non-negative weights and a free
offset::

    min_{w_j >= 0, b_j}  sum_i (m_j,i - b_j - w_j . h_i)^2

(i = HSI pixels valid in both rasters, h_i the good HSI bands), solved exactly as a
non-negative least-squares problem (``scipy.optimize.nnls``) on the normal equations, which are
accumulated window by window: memory is (C, C), never the scene. The non-negativity alone
regularises the problem: on the demo pair (an MSI simulated through Sentinel-2A's responses,
quantised to uint16) the estimated centroids are within 0.2 nm of the true ones and the weights
within 4 % (L1) of them, while a smoothness penalty along wavelength only blurred the boxy
Sentinel-2 responses (L1 error 9-24 % per band at a weight of 1e-3), so there is none. A ridge of
1e-10 of the mean variance keeps the Cholesky factor defined for collinear bands.

The weights carry the gain between the two rasters' units (their sum is 1 when both are
reflectance on the same scale); ``offset`` the difference of their zero levels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, solve_triangular
from scipy.optimize import nnls

from pifnet_engine.errors import InputDataError
from pifnet_engine.spectral import load_srf, response_matrix

#: Ridge added to the HSI's covariance, relative to its mean variance (numerical only).
RIDGE = 1e-10


@dataclass(frozen=True)
class Responses:
    """``weights`` (c, C) float64 (0 at bad bands), ``offsets`` (c,) in MSI units, ``names`` of the
    MSI bands; ``source``: ``"estimated"`` or ``"preset <sensor>"``; for an estimate also the
    fit's residual RMSE (c,) in MSI units and its R^2 (c,)."""

    source: str
    names: tuple[str, ...]
    weights: np.ndarray
    offsets: np.ndarray
    residual_rmse: np.ndarray | None = None
    r2: np.ndarray | None = None

    def apply(self, hsi: np.ndarray) -> np.ndarray:
        """(C, ...) -> (c, ...): ``offsets + weights @ hsi`` (the HSI seen by the MSI)."""
        flat = hsi.reshape(hsi.shape[0], -1).astype(np.float64)
        used = np.flatnonzero(np.any(self.weights != 0, axis=0))
        out = self.weights[:, used] @ flat[used] + self.offsets[:, None]
        return out.reshape((self.weights.shape[0],) + hsi.shape[1:])

    def centroids_nm(self, wavelengths_nm: Sequence[float]) -> list[float | None]:
        """Weighted mean wavelength of each MSI band's response (nm), None for an all-zero row."""
        wl = np.asarray(wavelengths_nm, np.float64)
        out: list[float | None] = []
        for row in self.weights:
            s = row.sum()
            out.append(float(row @ wl / s) if s > 0 else None)
        return out

    def as_dict(self, wavelengths_nm: Sequence[float] | None) -> dict[str, object]:
        d: dict[str, object] = {
            "source": self.source, "bands": list(self.names), "weights": self.weights.round(8).tolist(),
            "offsets": self.offsets.round(8).tolist(), "gain": self.weights.sum(axis=1).round(6).tolist(),
        }
        if wavelengths_nm is not None:
            d["centroid_nm"] = [None if v is None else round(v, 2) for v in self.centroids_nm(wavelengths_nm)]
        if self.residual_rmse is not None and self.r2 is not None:
            d["residual_rmse"] = self.residual_rmse.round(8).tolist()
            d["r2"] = self.r2.round(6).tolist()
        return d


class ResponseEstimator:
    """Accumulates the pair's second moments at the HSI's resolution and estimates :class:`Responses`.

    ``add(hsi, msi_low, valid)``: hsi (C, h, w), msi_low (c, h, w) (the MSI averaged over each HSI
    pixel's footprint), valid (h, w) bool; same physical units as the rasters.
    """

    def __init__(self, good: Sequence[bool] | np.ndarray, msi_names: Sequence[str]) -> None:
        self.good = np.flatnonzero(np.asarray(good, bool))
        self.bands = len(good)
        self.names = tuple(msi_names)
        k, c = self.good.size, len(self.names)
        self.n = 0
        self._shift_x: np.ndarray | None = None
        self._shift_y: np.ndarray | None = None
        self.sx = np.zeros(k)
        self.sy = np.zeros(c)
        self.sxx = np.zeros((k, k))
        self.sxy = np.zeros((k, c))
        self.syy = np.zeros(c)

    def add(self, hsi: np.ndarray, msi_low: np.ndarray, valid: np.ndarray) -> None:
        if not valid.any():
            return
        x = hsi[self.good][:, valid].astype(np.float64)
        y = msi_low[:, valid].astype(np.float64)
        if self._shift_x is None or self._shift_y is None:  # sums about a first mean: no cancellation
            self._shift_x, self._shift_y = x.mean(axis=1), y.mean(axis=1)
        shift_x, shift_y = self._shift_x, self._shift_y
        x -= shift_x[:, None]
        y -= shift_y[:, None]
        self.n += x.shape[1]
        self.sx += x.sum(axis=1)
        self.sy += y.sum(axis=1)
        self.sxx += x @ x.T
        self.sxy += x @ y.T
        self.syy += (y * y).sum(axis=1)

    def estimate(self) -> Responses:
        """Solve for the responses; refuses when there are fewer valid pixels than HSI bands."""
        k = self.good.size
        if self.n <= k:
            raise InputDataError(
                f"only {self.n} HSI pixels are valid in both rasters, fewer than the {k} good HSI bands: "
                "the MSI's spectral responses cannot be estimated from this pair; pass --msi-srf SENSOR")
        assert self._shift_x is not None and self._shift_y is not None
        mx, my = self.sx / self.n, self.sy / self.n
        cxx = self.sxx / self.n - np.outer(mx, mx)
        cxy = self.sxy / self.n - np.outer(mx, my)
        cyy = self.syy / self.n - my * my
        scale = max(float(np.trace(cxx)) / k, np.finfo(float).tiny)
        a = cxx + RIDGE * scale * np.eye(k)
        factor = cho_factor(a, lower=True)
        lower = np.tril(factor[0])
        weights = np.zeros((len(self.names), self.bands))
        resid = np.zeros(len(self.names))
        for j in range(len(self.names)):
            rhs = solve_triangular(lower, cxy[:, j], lower=True)
            w, _ = nnls(lower.T, rhs, maxiter=50 * k)
            weights[j, self.good] = w
            resid[j] = max(cyy[j] - 2.0 * w @ cxy[:, j] + w @ cxx @ w, 0.0)
        x0 = self._shift_x + mx
        y0 = self._shift_y + my
        offsets = y0 - weights[:, self.good] @ x0
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(cyy > 0, 1.0 - resid / cyy, np.nan)
        return Responses("estimated", self.names, weights, offsets, np.sqrt(resid), r2)


def preset_responses(sensor: str, msi_names: Sequence[str | None], wavelengths_nm: Sequence[float] | None,
                     fwhm_nm: Sequence[float] | None, good: Sequence[bool]) -> Responses:
    """The responses of a known sensor (``pifnet_engine.spectral`` registry) over the HSI's bands.

    MSI bands are matched to the sensor's bands by the first word of their description
    (``"B2 (490 nm)"`` -> ``B2``), else by position.
    """
    if wavelengths_nm is None:
        raise InputDataError(
            f"--msi-srf {sensor}: the HSI's band wavelengths are unknown, so a preset response cannot be "
            "resampled to its bands; add wavelength metadata to the HSI, or leave --msi-srf out to estimate "
            "the responses from the pair")
    full = load_srf(sensor)
    words = [(n or "").split(" ")[0] for n in msi_names]
    known = {b.lower() for b in full.band_names}
    if all(w.lower() in known for w in words):
        names = words
    elif len(msi_names) == len(full.band_names):
        names = list(full.band_names)
    else:
        raise InputDataError(
            f"--msi-srf {sensor}: the MSI bands {list(msi_names)} cannot be matched to the sensor's bands "
            f"{list(full.band_names)} (by description or by count); name the MSI bands like the sensor's, "
            "or leave --msi-srf out to estimate the responses from the pair")
    r = response_matrix(full.select(names), wavelengths_nm, fwhm_nm, valid_bands=good)
    return Responses(f"preset {sensor}", tuple(str(n) for n in names), np.asarray(r, np.float64),
                     np.zeros(len(names)))


def most_correlated(estimator: ResponseEstimator) -> np.ndarray:
    """(C,) index of the MSI band most correlated (absolute Pearson r at the HSI's resolution) with
    each HSI band, -1 for bad bands; from the moments ``estimator`` accumulated."""
    out = np.full(estimator.bands, -1, dtype=int)
    if estimator.n < 2:
        return out
    n = estimator.n
    mx, my = estimator.sx / n, estimator.sy / n
    vx = np.clip(np.diagonal(estimator.sxx) / n - mx * mx, 0.0, None)
    vy = np.clip(estimator.syy / n - my * my, 0.0, None)
    cov = estimator.sxy / n - np.outer(mx, my)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.abs(cov) / np.sqrt(np.outer(vx, vy))
    out[estimator.good] = np.argmax(np.nan_to_num(corr, nan=-1.0), axis=1)
    return out
