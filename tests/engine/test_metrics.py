"""PSNR, SSIM, SAM, ERGAS against hand-computed values, identities, masks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pifnet_engine.errors import InputDataError
from pifnet_engine.metrics import all_metrics, ergas, psnr, sam, ssim

# Two bands, one row of two pixels.
REF = np.array([[[1.0, 0.5]], [[0.2, 0.4]]])
EST = np.array([[[0.9, 0.5]], [[0.2, 0.2]]])


def test_psnr_by_hand() -> None:
    # band 0: MSE = (0.1^2 + 0)/2 = 0.005 ; band 1: MSE = (0 + 0.2^2)/2 = 0.02.
    # data_range=1: 10log10(1/0.005) = 10log10(200) = 23.0103 ; 10log10(1/0.02) = 10log10(50)
    # = 16.9897 ; mean = 10*log10(200*50)/2 = 10*log10(10^4)/2 = 20 exactly.
    assert psnr(REF, EST, data_range=1.0) == pytest.approx(20.0, abs=1e-12)
    # per-band max of the reference: L0 = 1, L1 = 0.4 -> 10log10(0.16/0.02) = 10log10(8) = 9.0309
    # mean = (23.0103 + 9.0309)/2 = 16.0206.
    assert psnr(REF, EST) == pytest.approx((10 * math.log10(200) + 10 * math.log10(8)) / 2)
    assert psnr(REF, EST) == pytest.approx(16.0206, abs=1e-4)


def test_ergas_by_hand() -> None:
    # mu0 = 0.75, mu1 = 0.3 ; MSE0/mu0^2 = 0.005/0.5625 = 0.0088889 ; MSE1/mu1^2 = 0.02/0.09
    # = 0.2222222 ; mean = 0.1155556 ; sqrt = 0.3399346 ; * 100/4 = 8.498366.
    assert ergas(REF, EST, ratio=4) == pytest.approx(8.498366, abs=1e-6)
    assert ergas(REF, EST, ratio=2) == pytest.approx(2 * 8.498366, abs=1e-6)


def test_sam_by_hand() -> None:
    ref = np.array([[[1.0, 1.0]], [[0.0, 1.0]]])  # pixel spectra (1,0) and (1,1)
    est = np.array([[[0.0, 3.0]], [[2.0, 0.0]]])  # (0,2) and (3,0)
    # angles: (1,0)-(0,2) = 90 deg ; (1,1)-(3,0) = 45 deg ; mean = 67.5 deg.
    assert sam(ref, est) == pytest.approx(67.5, abs=1e-12)
    # Scaling a spectrum does not change its angle.
    assert sam(ref, 7.0 * ref) == pytest.approx(0.0, abs=1e-7)


def test_ssim_constant_images_by_hand() -> None:
    # x = 0.5, y = 0.25 everywhere, L = 1: C1 = 1e-4, C2 = 9e-4, all sigmas 0, so
    # SSIM = (2*0.5*0.25 + 1e-4)/(0.25 + 0.0625 + 1e-4) * (0 + C2)/(0 + C2) = 0.2501/0.3126.
    x = np.full((1, 11, 11), 0.5)
    y = np.full((1, 11, 11), 0.25)
    assert ssim(x, y, data_range=1.0) == pytest.approx(0.2501 / 0.3126, abs=1e-12)


def test_ssim_antisymmetric_pattern_by_hand() -> None:
    # p = sign(col - 5) on an 11 x 11 image: Gaussian-weighted mean 0 by symmetry, weighted
    # E[p^2] = q = 1 - g[5], with g the 1-D window: sum_{i=-5..5} exp(-i^2/4.5) = 1 + 2(0.800737
    # + 0.411112 + 0.135335 + 0.028566 + 0.003866) = 3.759233 -> g[5] = 0.266012, q = 0.733988.
    # x = 0.5 + 0.1 p, y = 0.5 - 0.1 p: mu_x = mu_y = 0.5 -> luminance term 1;
    # sigma_x^2 = sigma_y^2 = 0.01 q = 0.00733988, sigma_xy = -0.00733988, C2 = 0.0009:
    # SSIM = (-0.01467976 + 0.0009)/(0.01467976 + 0.0009) = -0.01377976/0.01557976 = -0.884466.
    p = np.sign(np.arange(11) - 5.0)[None, None, :] * np.ones((1, 11, 1))
    x, y = 0.5 + 0.1 * p, 0.5 - 0.1 * p
    assert ssim(x, y, data_range=1.0) == pytest.approx(-0.884466, abs=1e-6)


def _ssim_direct(x: np.ndarray, y: np.ndarray, peak: float) -> float:
    """Window by window, straight from Wang et al. 2004 (slow reference)."""
    r = np.arange(-5, 6)
    g = np.exp(-(r**2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    vals = []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            a, b = x[i:i + 11, j:j + 11], y[i:i + 11, j:j + 11]
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum()
            cab = (w * (a - ma) * (b - mb)).sum()
            vals.append((2 * ma * mb + c1) * (2 * cab + c2) / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
    return float(np.mean(vals))


def test_ssim_matches_direct_reference() -> None:
    rng = np.random.default_rng(3)
    x = rng.random((2, 14, 13))
    y = x + 0.1 * rng.standard_normal(x.shape)
    expected = np.mean([_ssim_direct(x[k], y[k], x[k].max()) for k in range(2)])
    assert ssim(x, y) == pytest.approx(expected, abs=1e-12)


def test_identities() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((3, 12, 12)) + 0.1
    m = all_metrics(x, x.copy(), ratio=4)
    assert m["psnr"] == math.inf
    assert m["ssim"] == pytest.approx(1.0, abs=1e-12)
    assert m["sam"] == 0.0
    assert m["ergas"] == 0.0


def test_valid_mask_and_nan_and_bad_bands() -> None:
    # Masking out the one wrong pixel of band 1 and band 0 leaves identical data.
    valid = np.array([[False, True]])
    est = EST.copy()
    est[1, 0, 1] = 0.4  # now only pixel 0 differs (band 0)
    assert psnr(REF, est, valid=valid) == math.inf
    assert ergas(REF, est, 4, valid=valid) == 0.0
    # NaN in the estimate excludes the pixel just like the mask.
    est_nan = est.copy()
    est_nan[0, 0, 0] = np.nan
    assert psnr(REF, est_nan) == math.inf
    # A bad band (all NaN in the reference) is dropped: same result as without it.
    ref3 = np.concatenate([REF, np.full((1, 1, 2), np.nan)])
    est3 = np.concatenate([EST, np.zeros((1, 1, 2))])
    assert psnr(ref3, est3, data_range=1.0) == pytest.approx(20.0)
    assert ergas(ref3, est3, 4) == pytest.approx(ergas(REF, EST, 4))
    # SSIM only uses windows wholly on valid pixels.
    rng = np.random.default_rng(5)
    x = rng.random((1, 12, 12)) + 0.5
    y = x.copy()
    y[0, 0, 0] += 1.0  # only the window at (0, 0) sees it
    mask = np.ones((12, 12), bool)
    mask[0, 0] = False
    assert ssim(x, y, valid=mask) == pytest.approx(1.0, abs=1e-12)
    assert ssim(x, y) < 1.0


def test_torch_inputs() -> None:
    t_ref, t_est = torch.from_numpy(REF), torch.from_numpy(EST).float()
    assert psnr(t_ref, t_est, data_range=1.0) == pytest.approx(20.0, abs=1e-5)


def test_errors() -> None:
    with pytest.raises(InputDataError, match="differ in shape"):
        psnr(REF, EST[:, :, :1])
    with pytest.raises(InputDataError, match=r"\(C, H, W\)"):
        sam(REF[0], EST[0])
    with pytest.raises(InputDataError, match="at least 11 x 11"):
        ssim(REF, EST)
    with pytest.raises(InputDataError, match="mean 0"):
        ergas(np.zeros((1, 2, 2)), np.ones((1, 2, 2)), 4)
