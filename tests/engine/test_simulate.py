"""Simulation protocols: shapes, footprint geometry, the paper's corner offset, nodata, spectral map."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pifnet_engine.errors import InputDataError, UsageError
from pifnet_engine.simulate import (
    degrade_centred,
    degrade_paper,
    gaussian_kernel_1d,
    paper_offset_px,
    simulate_pair,
    spectral_degrade,
)

RATIOS = (2, 3, 4, 8)


@pytest.mark.parametrize("s", RATIOS)
def test_shapes(s: int) -> None:
    gt = np.random.default_rng(s).random((5, 8 * s + (s - 1), 6 * s), dtype=np.float32)
    for lr in (degrade_paper(gt, s), degrade_centred(gt, s), degrade_centred(gt, s, sigma=1.0)):
        assert lr.shape == (5, 8, 6)  # trailing s - 1 rows ignored
        assert lr.dtype == np.float32
    batch = np.stack([gt, gt])
    assert degrade_centred(batch, s).shape == (2, 5, 8, 6)


def test_gaussian_kernel_matches_fspecial_by_hand() -> None:
    # fspecial('gaussian', 3, 0.5): taps exp(-1/(2*0.25)) = exp(-2) = 0.135335 at +-1, 1 at 0,
    # normalised by 1 + 2*0.135335 = 1.270671 -> [0.106507, 0.786986, 0.106507].
    g = gaussian_kernel_1d(0.5, 3)
    np.testing.assert_allclose(g, [0.106507, 0.786986, 0.106507], atol=1e-6)


@pytest.mark.parametrize("s", RATIOS)
@pytest.mark.parametrize("sigma", [None, 0.7])
def test_centred_preserves_constant(s: int, sigma: float | None) -> None:
    gt = np.full((3, 4 * s, 5 * s), 0.37)
    np.testing.assert_allclose(degrade_centred(gt, s, sigma=sigma), 0.37, rtol=1e-12)


@pytest.mark.parametrize("s", RATIOS)
def test_centred_footprint_geometry(s: int) -> None:
    """A bright fine pixel contributes only to the coarse pixel whose footprint contains it."""
    rng = np.random.default_rng(0)
    for _ in range(5):
        r, c = rng.integers(0, 4 * s), rng.integers(0, 4 * s)
        gt = np.zeros((1, 4 * s, 4 * s))
        gt[0, r, c] = 1.0
        lr = degrade_centred(gt, s)
        expected = np.zeros((1, 4, 4))
        expected[0, r // s, c // s] = 1.0 / s**2
        np.testing.assert_allclose(lr, expected, atol=1e-15)


def test_centred_footprint_average_by_hand() -> None:
    # 4x4 image, s = 2: coarse (0,0) = mean(0, 1, 4, 5) = 2.5; (0,1) = mean(2,3,6,7) = 4.5;
    # (1,0) = mean(8,9,12,13) = 10.5; (1,1) = mean(10,11,14,15) = 12.5.
    gt = np.arange(16.0).reshape(1, 4, 4)
    np.testing.assert_allclose(degrade_centred(gt, 2)[0], [[2.5, 4.5], [10.5, 12.5]])


@pytest.mark.parametrize("s", RATIOS)
def test_centred_psf_is_symmetric_about_footprint_centre(s: int) -> None:
    """With a Gaussian, the centroid of an impulse response sits on the footprint centre."""
    n = 6 * s
    row = 3 * s + (s - 1) / 2.0  # fine-pixel index of the centre of coarse pixel 3's footprint
    # Response of coarse pixel (3, 3) to an impulse at every fine position = its PSF.
    psf = np.zeros((n, n))
    for r in range(n):
        gt = np.zeros((1, n, n))
        gt[0, r, 3 * s + 1] = 1.0
        psf[r, 0] = degrade_centred(gt, s, sigma=0.8)[0, 3, 3]
    rows = np.arange(n)
    centroid = (psf[:, 0] * rows).sum() / psf[:, 0].sum()
    assert centroid == pytest.approx(row, abs=1e-9)


@pytest.mark.parametrize("s", RATIOS)
def test_paper_keeps_corner_sample(s: int) -> None:
    """Coarse (i, j) is the blurred fine pixel (i*s, j*s): the corner of its footprint."""
    gt = np.zeros((1, 4 * s, 4 * s))
    gt[0, 2 * s, 1 * s] = 1.0
    lr = degrade_paper(gt, s)
    # 3x3 sigma 0.5 centre weight = 0.786986^2 = 0.619347 (see the kernel test above).
    assert lr[0, 2, 1] == pytest.approx(0.786986**2, abs=1e-6)
    assert np.count_nonzero(lr) == 1
    # The footprint centre of coarse (2, 1) is (s-1)/2 fine px further down/right.
    assert paper_offset_px(s) == (s - 1) / 2
    # An impulse at the far corner of the footprint (2s+s-1, s+s-1) never reaches coarse (2, 1)
    # for s >= 3 (the kernel reaches 1 fine pixel); centred averaging does see it.
    if s >= 3:
        gt2 = np.zeros_like(gt)
        gt2[0, 2 * s + s - 1, s + s - 1] = 1.0
        assert degrade_paper(gt2, s)[0, 2, 1] == 0.0
        assert degrade_centred(gt2, s)[0, 2, 1] == pytest.approx(1 / s**2)


def test_paper_equals_explicit_blur_then_subsample() -> None:
    """Cross-check against a direct 2-D loop with reflected borders (d c b a | a b c d)."""
    rng = np.random.default_rng(1)
    gt = rng.random((2, 8, 8))
    g = gaussian_kernel_1d(0.5, 3)
    padded = np.pad(gt, ((0, 0), (1, 1), (1, 1)), mode="symmetric")
    blurred = np.zeros_like(gt)
    for a in range(3):
        for b in range(3):
            blurred += g[a] * g[b] * padded[:, a:a + 8, b:b + 8]
    np.testing.assert_allclose(degrade_paper(gt, 2), blurred[:, ::2, ::2], rtol=1e-12)


def test_nodata_is_ignored_and_propagated() -> None:
    gt = np.full((2, 6, 6), 2.0)
    gt[0, 0, 0] = np.nan  # 1 of 9 pixels of coarse (0,0): average of the rest stays 2
    gt[1, :3, :3] = np.nan  # band 1's coarse (0,0) footprint entirely nodata
    lr = degrade_centred(gt, 3)
    assert lr[0, 0, 0] == pytest.approx(2.0)
    assert math.isnan(lr[1, 0, 0])
    assert np.isfinite(lr[1]).sum() == 3
    lp = degrade_paper(gt, 3)
    # The sampled pixel (0,0) itself is nodata: 0.787^2 = 62% of the kernel weight is invalid.
    assert math.isnan(lp[0, 0, 0])
    gt_nb = np.full((1, 6, 6), 2.0)
    gt_nb[0, 0, 1] = np.nan  # a neighbour only: normalised convolution over the valid pixels
    assert degrade_paper(gt_nb, 3)[0, 0, 0] == pytest.approx(2.0)
    assert math.isnan(lp[1, 0, 0])
    # Less than min_valid of the footprint valid -> nodata.
    gt3 = np.full((1, 3, 3), 1.0)
    gt3[0, :2, :] = np.nan  # 3 of 9 valid < 0.5
    assert math.isnan(degrade_centred(gt3, 3)[0, 0, 0])
    assert degrade_centred(gt3, 3, min_valid=0.3)[0, 0, 0] == pytest.approx(1.0)


def test_spectral_degrade_by_hand_and_bad_bands() -> None:
    gt = np.array([[[1.0]], [[2.0]], [[np.nan]], [[4.0]]])  # (C=4, 1, 1), band 2 bad
    r = np.array([[0.5, 0.5, 0.0, 0.0], [0.0, 0.25, 0.0, 0.75]])
    # msi0 = 0.5*1 + 0.5*2 = 1.5 ; msi1 = 0.25*2 + 0.75*4 = 3.5 (the NaN band has weight 0)
    np.testing.assert_allclose(spectral_degrade(gt, r)[:, 0, 0], [1.5, 3.5])
    batch = np.stack([gt, 2 * gt])
    np.testing.assert_allclose(spectral_degrade(batch, r)[:, :, 0, 0], [[1.5, 3.5], [3.0, 7.0]])
    with pytest.raises(InputDataError, match="same C"):
        spectral_degrade(gt, r[:, :3])


def test_torch_roundtrip_and_simulate_pair() -> None:
    gt = torch.rand(4, 12, 12, dtype=torch.float32)
    r = torch.full((2, 4), 0.25)
    lr, msi = simulate_pair(gt, 4, r, protocol="centred")
    assert isinstance(lr, torch.Tensor) and lr.shape == (4, 3, 3) and lr.dtype == torch.float32
    assert msi.shape == (2, 12, 12)
    torch.testing.assert_close(lr, gt.reshape(4, 3, 4, 3, 4).mean(dim=(2, 4)))
    lr_p, _ = simulate_pair(gt, 4, r, protocol="paper")
    np.testing.assert_allclose(lr_p.numpy(), degrade_paper(gt.numpy(), 4))


def test_bad_arguments() -> None:
    gt = np.zeros((1, 8, 8))
    with pytest.raises(UsageError, match="ratio"):
        degrade_centred(gt, 0)
    with pytest.raises(UsageError, match="odd"):
        degrade_paper(gt, 2, kernel=4)
    with pytest.raises(InputDataError, match="smaller than one coarse pixel"):
        degrade_centred(gt, 16)
    with pytest.raises(UsageError, match="protocol"):
        simulate_pair(gt, 2, np.ones((1, 1)), protocol="corner")
