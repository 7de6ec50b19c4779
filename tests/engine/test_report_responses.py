"""The MSI's spectral responses estimated from the pair (NNLS) against the true ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from pifnet_engine.errors import InputDataError
from pifnet_engine.pairing import block_mean
from pifnet_engine.raster.source import RasterSource
from pifnet_engine.report.responses import ResponseEstimator, most_correlated, preset_responses
from pifnet_engine.spectral import load_srf, response_matrix

DEMO = Path(__file__).resolve().parents[2] / "pifnet_engine" / "demo"
S2_BANDS = ("B2", "B3", "B4", "B8")


def _full_rank_scene(bands: int, side: int, ratio: int, seed: int = 0) -> np.ndarray:
    """(bands, side*ratio, side*ratio): smooth spectra plus independent per-band texture, so the
    HSI's covariance has full rank and the responses are identifiable."""
    rng = np.random.default_rng(seed)
    base = 0.2 + 0.1 * np.sin(np.linspace(0, 3, bands))[:, None, None]
    return (base + 0.05 * rng.random((bands, side * ratio, side * ratio))).astype(np.float64)


def _estimate(truth: np.ndarray, response: np.ndarray, ratio: int, gain: float = 1.0, offset: float = 0.0,
              chunks: int = 1) -> object:
    hsi = block_mean(truth, ratio)
    msi_low = block_mean(gain * np.tensordot(response, truth, axes=1) + offset, ratio)
    est = ResponseEstimator([True] * truth.shape[0], [f"m{j}" for j in range(response.shape[0])])
    for rows in np.array_split(np.arange(hsi.shape[1]), chunks):  # windows, as the report reads them
        est.add(hsi[:, rows], msi_low[:, rows], np.ones((rows.size, hsi.shape[2]), bool))
    return est.estimate()


def _s2_over(wl: np.ndarray) -> np.ndarray:
    return np.asarray(response_matrix(load_srf("sentinel2a", bands=S2_BANDS), wl, [10.0] * wl.size), np.float64)


def test_noise_free_pair_gives_back_the_true_responses_gain_and_offset():
    """Tolerance: 1e-6 of the largest weight (exact arithmetic up to round-off)."""
    wl = np.linspace(420.0, 1000.0, 40)
    r = _s2_over(wl)
    truth = _full_rank_scene(40, 24, 3)
    for gain, offset in ((1.0, 0.0), (10000.0, 50.0)):
        est = _estimate(truth, r, 3, gain, offset, chunks=4)
        np.testing.assert_allclose(est.weights, gain * r, atol=1e-6 * gain * r.max())
        np.testing.assert_allclose(est.offsets, offset, atol=1e-6 * gain)
        assert np.all(est.r2 > 1 - 1e-9)
        np.testing.assert_allclose(np.sum(est.weights, axis=1), gain, rtol=1e-6)


def test_quantised_msi_still_gives_centroids_within_two_nm():
    """An MSI stored as uint16 reflectance x 10000: centroids within 2 nm, weights within 10 % (L1)."""
    wl = np.linspace(420.0, 1000.0, 40)
    r = _s2_over(wl)
    truth = _full_rank_scene(40, 40, 3, seed=1)
    msi = np.round(np.tensordot(r, truth, axes=1) * 10000) / 10000
    est = ResponseEstimator([True] * 40, list(S2_BANDS))
    est.add(block_mean(truth, 3), block_mean(msi, 3), np.ones((40, 40), bool))
    got = est.estimate()
    true_c = r @ wl / r.sum(axis=1)
    np.testing.assert_allclose(got.centroids_nm(wl), true_c, atol=2.0)
    l1 = np.abs(got.weights - r).sum(axis=1) / r.sum(axis=1)
    assert np.all(l1 < 0.10), l1


def test_demo_pair_responses_match_sentinel2a():
    """The bundled demo: real EnMAP, MSI simulated through Sentinel-2A's SRF and stored as uint16.
    Tolerance: centroids within 0.5 nm, weights within 6 % (L1) of the resampled SRF."""
    with rasterio.open(DEMO / "hsi_enmap_90m.tif") as h, rasterio.open(DEMO / "msi_s2_30m.tif") as m:
        hsi, msi = RasterSource(h, role="HSI"), RasterSource(m, role="MSI")
        hw, mw = hsi.read(Window(0, 0, 21, 21)), msi.read(Window(0, 0, 63, 63))
        info = hsi.band_info
        est = ResponseEstimator(info.good, list(S2_BANDS))
        est.add(hw.values, block_mean(mw.values, 3), hw.valid)
        got = est.estimate()
        preset = preset_responses("sentinel2a", msi.band_info.descriptions, info.wavelengths_nm, info.fwhm_nm, info.good)
    assert preset.names == S2_BANDS and preset.source == "preset sentinel2a"
    np.testing.assert_allclose(got.centroids_nm(info.wavelengths_nm), preset.centroids_nm(info.wavelengths_nm), atol=0.5)
    l1 = np.abs(got.weights - preset.weights).sum(axis=1) / preset.weights.sum(axis=1)
    assert np.all(l1 < 0.06), l1
    assert np.all(got.weights[:, ~np.array(info.good)] == 0)  # bad bands get no weight
    pan = most_correlated(est)
    wl = np.array(info.wavelengths_nm)
    assert pan[np.argmin(np.abs(wl - 560))] in (0, 1, 2) and pan[np.argmin(np.abs(wl - 860))] == 3
    assert np.all(pan[~np.array(info.good)] == -1)


def test_too_few_pixels_and_unmatched_presets_are_refused():
    est = ResponseEstimator([True] * 10, ["a"])
    est.add(np.ones((10, 2, 2)), np.ones((1, 2, 2)), np.ones((2, 2), bool))
    with pytest.raises(InputDataError, match="fewer than the 10 good HSI bands.*--msi-srf"):
        est.estimate()
    wl = tuple(np.linspace(420.0, 1000.0, 20))
    with pytest.raises(InputDataError, match="cannot be matched"):
        preset_responses("sentinel2a", ["red", "green"], wl, None, [True] * 20)
    with pytest.raises(InputDataError, match="wavelengths are unknown"):
        preset_responses("sentinel2a", list(S2_BANDS), None, None, [True] * 20)
    with pytest.raises(InputDataError, match="unknown sensor"):
        preset_responses("sentinel9", list(S2_BANDS), wl, None, [True] * 20)
