"""Spectral response functions: bundled tables, file formats, response matrices."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from pifnet_engine.errors import InputDataError
from pifnet_engine.spectral import (
    SENSORS,
    available_sensors,
    load_rosis_ikonos_matrix,
    load_srf,
    load_srf_file,
    response_matrix,
)
from pifnet_engine.spectral.build_tables import build

from ..shared_data import needs_shared


def test_sentinel2a_10m_bands_bundled() -> None:
    srf = load_srf("sentinel2a", bands=("B2", "B3", "B4", "B8"))
    assert srf.band_names == ("B2", "B3", "B4", "B8")
    assert srf.responses.shape == (4, srf.wavelengths_nm.size)
    assert np.all(np.diff(srf.wavelengths_nm) > 0)
    # ESA: S2A central wavelengths 492.7 / 559.8 / 664.6 / 832.8 nm.
    np.testing.assert_allclose(srf.centres_nm(), [492.7, 559.8, 664.6, 832.8], atol=0.5)
    # Half-maximum ranges listed in ../shared/data/srf/SOURCE.txt for S2A_MSI_V4.txt.
    np.testing.assert_allclose(srf.half_max_ranges_nm(), [[460, 524], [543, 577], [650, 679], [783, 887]])
    assert load_srf("S2A", bands=["b8"]).band_names == ("B8",)  # alias + case-insensitive


@pytest.mark.parametrize("name", [n for n, s in SENSORS.items() if s.bundled])
def test_every_bundled_sensor_loads(name: str) -> None:
    srf = load_srf(name)
    assert srf.n_bands == len(SENSORS[name].band_names)
    assert np.all(srf.responses >= 0) and np.all(srf.responses.max(axis=1) > 0)
    assert name in available_sensors()


def test_nikon_peaks_in_the_right_order() -> None:
    srf = load_srf("nikon_d700")
    peaks = srf.wavelengths_nm[srf.responses.argmax(axis=1)]
    assert srf.band_names == ("blue", "green", "red")
    assert peaks[0] < peaks[1] < peaks[2]


def test_unknown_sensor_and_band_messages() -> None:
    with pytest.raises(InputDataError, match="unknown sensor 'spot9'"):
        load_srf("spot9")
    with pytest.raises(InputDataError, match="no band 'B13'.*B8A"):
        load_srf("sentinel2a", bands=("B13",))
    with pytest.raises(InputDataError, match="not bundled.*source_dir"):
        load_srf("worldview3")


def test_response_matrix_by_hand_box_sampling(tmp_path: Path) -> None:
    """Without FWHM: R[j,k] = s_j(lambda_k) * spacing_k, rows normalised."""
    table = tmp_path / "cam.csv"
    table.write_text("wavelength_nm,a,b\n400,0,1\n410,1,1\n420,2,0\n430,1,0\n")
    srf = load_srf_file(table, sensor="cam")
    # HSI at 405, 415, 425 nm (uniform spacing 10 cancels): a -> interp = [0.5, 1.5, 1.5]
    # / 3.5 = [1/7, 3/7, 3/7]; b -> [1, 0.5, 0] / 1.5 = [2/3, 1/3, 0].
    r = response_matrix(srf, [405.0, 415.0, 425.0])
    np.testing.assert_allclose(r, [[1 / 7, 3 / 7, 3 / 7], [2 / 3, 1 / 3, 0.0]])
    # Masking band 1: a -> [0.5, 0, 1.5] / 2 ; b -> [1, 0, 0].
    r2 = response_matrix(srf, [405.0, 415.0, 425.0], valid_bands=[True, False, True])
    np.testing.assert_allclose(r2, [[0.25, 0.0, 0.75], [1.0, 0.0, 0.0]])


def test_response_matrix_gaussian_integration() -> None:
    """A narrow Gaussian HSI band samples the SRF: with FWHM -> 0 it matches box sampling."""
    srf = load_srf("sentinel2a", bands=("B3",))
    wl = np.arange(530.0, 590.0, 5.0)
    r_box = response_matrix(srf, wl)
    r_gauss = response_matrix(srf, wl, hsi_fwhm_nm=np.full(wl.size, 5.0))
    assert r_gauss.shape == (1, wl.size)
    np.testing.assert_allclose(r_gauss.sum(), 1.0)
    np.testing.assert_allclose(r_gauss, r_box, atol=0.03)  # same shape, smoothed by 5 nm
    assert abs(r_gauss[0] @ wl - srf.centres_nm()[0]) < 1.0  # centroid preserved


def test_response_matrix_refuses_uncovered_band() -> None:
    srf = load_srf("sentinel2a", bands=("B2", "B11"))
    with pytest.raises(InputDataError, match="'B11'.*covered"):
        response_matrix(srf, np.arange(400.0, 1000.0, 10.0))


def test_rosis_matrix_bundled() -> None:
    raw = load_rosis_ikonos_matrix(normalise=False)
    assert raw.shape == (4, 103)
    # Row sums and peaks documented in ../shared/data/srf/SOURCE.txt.
    np.testing.assert_allclose(raw.sum(axis=1), [16.95, 21.40, 16.92, 21.03], atol=0.01)
    np.testing.assert_array_equal(raw.argmax(axis=1), [16, 29, 59, 84])
    np.testing.assert_allclose(load_rosis_ikonos_matrix().sum(axis=1), 1.0)


@needs_shared("srf")
@pytest.mark.realdata
@pytest.mark.parametrize("name", list(SENSORS))
def test_source_files_match_bundled_tables(name: str, shared_data: Path) -> None:
    src = load_srf(name, source_dir=shared_data / "srf")
    assert src.n_bands == len(SENSORS[name].band_names)
    if SENSORS[name].bundled:
        pkg = load_srf(name)
        np.testing.assert_allclose(pkg.centres_nm(), src.centres_nm(), rtol=1e-9)
        for j in range(src.n_bands):
            np.testing.assert_allclose(
                np.interp(src.wavelengths_nm, pkg.wavelengths_nm, pkg.responses[j], left=0, right=0),
                src.responses[j], rtol=1e-7, atol=1e-12)


@needs_shared("srf")
@pytest.mark.realdata
def test_build_tables_reproduces_bundle(tmp_path: Path, shared_data: Path) -> None:
    from pifnet_engine.spectral.srf import PACKAGE_DATA

    srf_dir = shared_data / "srf"
    for path in build(srf_dir, tmp_path):
        assert path.read_bytes() == (PACKAGE_DATA / path.name).read_bytes(), path.name
    # %.17g round-trips float64 exactly.
    np.testing.assert_array_equal(load_rosis_ikonos_matrix(normalise=False, source_dir=srf_dir),
                                  load_rosis_ikonos_matrix(normalise=False))


@needs_shared("enmap_potsdam_tiles", "enmap_potsdam_srf.csv")
@pytest.mark.realdata
def test_enmap_to_sentinel2_with_bad_bands(shared_data: Path) -> None:
    rows = list(csv.DictReader((shared_data / "enmap_potsdam_tiles" / "enmap_potsdam_srf.csv").open()))
    wl = np.array([float(r["wavelength"]) for r in rows])
    fwhm = np.array([float(r["fwhm"]) for r in rows])
    srf = load_srf("sentinel2a")
    r = response_matrix(srf, wl, fwhm, bands=("B2", "B3", "B4", "B8"))
    assert r.shape == (4, 224)
    np.testing.assert_allclose(r.sum(axis=1), 1.0)
    np.testing.assert_allclose(r @ wl, srf.select(("B2", "B3", "B4", "B8")).centres_nm(), atol=1.5)
    # The EnMAP water-vapour gap (bands 129..134, 1331-1391 nm): S2 B10 (1375 nm) lies inside it.
    valid = np.ones(224, bool)
    valid[129:135] = False
    with pytest.raises(InputDataError, match="'B10'"):
        response_matrix(srf, wl, fwhm, bands=("B10",), valid_bands=valid)
    assert response_matrix(srf, wl, fwhm, bands=("B11",), valid_bands=valid)[0, ~valid].sum() == 0
