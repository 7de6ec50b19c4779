"""A no-reference quality index of the QNR family for hyperspectral + multispectral fusion.

QNR (Alparone, Aiazzi, Baronti, Garzelli, Nencini, Selva: "Multispectral and panchromatic data
fusion assessment without reference", Photogrammetric Engineering & Remote Sensing 74(2),
193-200, 2008) rates a fused image F from its inputs alone::

    QNR = (1 - D_lambda) * (1 - D_S)
    D_lambda = 1 / (K (K - 1)) * sum_{k != l} |Q(F_k, F_l) - Q(H_k, H_l)|         (p = 1)
    D_S      = 1 / C * sum_k |Q(F_k, P_k) - Q(H_k, P~_k)|                        (q = 1)

with Q the universal image quality index (Wang & Bovik 2002),
``Q(a, b) = 4 cov(a, b) mean(a) mean(b) / ((var a + var b)(mean(a)^2 + mean(b)^2))``, computed on
blocks and averaged over them. D_lambda says how much fusion changed the relations between bands
(spectral distortion), D_S how much it changed each band's relation to the sharp image (spatial
distortion); 0 is ideal for both, 1 for QNR.

Adaptation to HS + MS (our choice, stated in every report): the panchromatic image P_k for HSI
band k is the MSI band most correlated with it at the HSI's resolution, P~_k that band averaged
over each HSI pixel's footprint; D_lambda uses ``LAMBDA_BANDS`` good HSI bands spread evenly over
the spectrum (all K (K - 1) pairs of 224 bands would cost more than the fusion); blocks cover the
same ground at both scales: ``BLOCK_LR_PX`` HSI pixels (``BLOCK_LR_PX * ratio`` MSI pixels) a side,
only blocks valid in every input count.
"""

from __future__ import annotations

import numpy as np

#: Side of a Q block in HSI pixels (at the MSI's resolution: times the ratio).
BLOCK_LR_PX = 8
#: Number of HSI bands whose pairs enter D_lambda.
LAMBDA_BANDS = 16

CITATION = ("L. Alparone, B. Aiazzi, S. Baronti, A. Garzelli, F. Nencini, M. Selva, \"Multispectral and "
            "panchromatic data fusion assessment without reference\", Photogrammetric Engineering & Remote "
            "Sensing 74(2):193-200, 2008")
FORMULA = ("QNR = (1 - D_lambda)(1 - D_S); D_lambda = mean over band pairs k != l of |Q(F_k, F_l) - Q(H_k, H_l)|; "
           "D_S = mean over HSI bands k of |Q(F_k, P_k) - Q(H_k, P~_k)|; Q = universal image quality index on "
           "blocks; P_k = the MSI band most correlated with HSI band k, P~_k = P_k at the HSI's resolution")


def lambda_bands(good: np.ndarray, count: int = LAMBDA_BANDS) -> np.ndarray:
    """Indices of up to ``count`` good bands spread evenly over the good bands."""
    idx = np.flatnonzero(good)
    if idx.size <= count:
        return idx
    return idx[np.unique(np.round(np.linspace(0, idx.size - 1, count)).astype(int))]


def _blocks(x: np.ndarray, side: int) -> np.ndarray:
    """(n, H, W) with H, W multiples of ``side`` -> (nb, n, side * side) blocks in row-major order."""
    n, h, w = x.shape
    b = x.reshape(n, h // side, side, w // side, side).transpose(1, 3, 0, 2, 4)
    return b.reshape((h // side) * (w // side), n, side * side)


def _q(mean_a: np.ndarray, mean_b: np.ndarray, var_a: np.ndarray, var_b: np.ndarray,
       cov: np.ndarray) -> np.ndarray:
    """UIQI from block moments (broadcast). Constant blocks take the limit of the luminance term."""
    lum_num, lum_den = 2.0 * mean_a * mean_b, mean_a ** 2 + mean_b ** 2
    con_num, con_den = 2.0 * cov, var_a + var_b
    with np.errstate(divide="ignore", invalid="ignore"):
        lum = np.where(lum_den > 0, lum_num / lum_den, 1.0)
        con = np.where(con_den > 0, con_num / con_den, 1.0)
    return lum * con


def _pair_q(x: np.ndarray) -> np.ndarray:
    """(nb, K, P) -> (nb, K, K) Q between every pair of rows, per block."""
    mean = x.mean(axis=2)
    xc = x - mean[:, :, None]
    cov = xc @ xc.transpose(0, 2, 1) / x.shape[2]
    var = np.diagonal(cov, axis1=1, axis2=2)
    return _q(mean[:, :, None], mean[:, None, :], var[:, :, None], var[:, None, :], cov)


def _band_q(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(nb, C, P) and (nb, C, P) -> (nb, C) Q between matching rows, per block."""
    mx, mp = x.mean(axis=2), p.mean(axis=2)
    xc, pc = x - mx[:, :, None], p - mp[:, :, None]
    return _q(mx, mp, (xc * xc).mean(axis=2), (pc * pc).mean(axis=2), (xc * pc).mean(axis=2))


class QNRAccumulator:
    """Accumulates block Q values; ``result()`` gives D_lambda, D_S and QNR.

    ``pan``: (C,) index of the MSI band that stands for the panchromatic image of each HSI band
    (-1 for bad bands); ``ratio``: MSI pixels per HSI pixel.
    """

    def __init__(self, good: np.ndarray, pan: np.ndarray, ratio: int) -> None:
        self.bands = np.flatnonzero(good)
        self.lam = lambda_bands(good)
        self.pan = pan
        self.ratio = ratio
        k = self.lam.size
        self.q_f = np.zeros((k, k))
        self.q_h = np.zeros((k, k))
        self.s_f = np.zeros(self.bands.size)
        self.s_h = np.zeros(self.bands.size)
        self.blocks = 0

    def add(self, hsi: np.ndarray, msi_low: np.ndarray, valid_lr: np.ndarray, fused: np.ndarray,
            msi: np.ndarray) -> None:
        """One chunk: hsi (C, h, w), msi_low (c, h, w), valid_lr (h, w) (valid in every input over
        the whole footprint); fused (C, h*r, w*r), msi (c, h*r, w*r). h, w need not be multiples of
        ``BLOCK_LR_PX``: the incomplete blocks at the bottom/right are left out."""
        b, r = BLOCK_LR_PX, self.ratio
        h, w = (valid_lr.shape[0] // b) * b, (valid_lr.shape[1] // b) * b
        if h == 0 or w == 0:
            return
        ok = _blocks(valid_lr[None, :h, :w], b)[:, 0].all(axis=1)
        if not ok.any():
            return
        bands, pan = self.bands, self.pan[self.bands]
        hb = _blocks(hsi[bands, :h, :w].astype(np.float64), b)[ok]
        pb = _blocks(msi_low[:, :h, :w].astype(np.float64), b)[ok][:, pan]
        fb = _blocks(fused[bands, :h * r, :w * r].astype(np.float64), b * r)[ok]
        mb = _blocks(msi[:, :h * r, :w * r].astype(np.float64), b * r)[ok][:, pan]
        lam = np.searchsorted(bands, self.lam)
        self.q_f += _pair_q(fb[:, lam]).sum(axis=0)
        self.q_h += _pair_q(hb[:, lam]).sum(axis=0)
        self.s_f += _band_q(fb, mb).sum(axis=0)
        self.s_h += _band_q(hb, pb).sum(axis=0)
        self.blocks += int(ok.sum())

    def result(self) -> dict[str, object]:
        common = {"formula": FORMULA, "citation": CITATION, "block_px_hsi": BLOCK_LR_PX,
                  "block_px_msi": BLOCK_LR_PX * self.ratio, "lambda_bands": (self.lam + 1).tolist(),
                  "blocks": self.blocks}
        k = self.lam.size
        if self.blocks == 0 or k < 2:
            why = ("no block of %d x %d HSI pixels is valid in every input" % (BLOCK_LR_PX, BLOCK_LR_PX)
                   if self.blocks == 0 else "fewer than 2 good HSI bands")
            return {**common, "d_lambda": None, "d_s": None, "qnr": None, "skipped": why}
        off = ~np.eye(k, dtype=bool)
        d_lambda = float(np.abs(self.q_f - self.q_h)[off].mean() / self.blocks)
        d_s = float(np.abs(self.s_f - self.s_h).mean() / self.blocks)
        return {**common, "d_lambda": d_lambda, "d_s": d_s, "qnr": (1.0 - d_lambda) * (1.0 - d_s)}
