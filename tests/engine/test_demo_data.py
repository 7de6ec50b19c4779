"""The bundled demo pair: opens, grids aligned at ratio 3, metadata, Wald consistency, rebuild."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

from pifnet_engine.demo import DEMO_RATIO, demo_paths
from pifnet_engine.simulate import degrade_centred, spectral_degrade
from pifnet_engine.spectral import load_srf, response_matrix

from ..shared_data import needs_shared

BAD_BANDS = [129, 130, 131, 132, 133, 134]  # 0-based, bbl = 0 in the EnMAP tiles


def _read(path: Path) -> tuple[np.ndarray, dict]:
    with rasterio.open(path) as src:
        meta = {
            "profile": src.profile, "transform": src.transform, "crs": src.crs,
            "band_tags": [src.tags(b) for b in range(1, src.count + 1)],
            "descriptions": src.descriptions, "scales": src.scales, "offsets": src.offsets,
        }
        return src.read(), meta


def test_paths_and_size() -> None:
    paths = demo_paths()
    assert set(paths) == {"hsi", "msi", "reference"}
    assert all(p.is_file() for p in paths.values())
    assert sum(p.stat().st_size for p in paths.values()) < 3_000_000
    assert (paths["hsi"].parent / "ATTRIBUTION.md").is_file()


def test_grids_aligned_at_ratio_3() -> None:
    p = demo_paths()
    hsi, h = _read(p["hsi"])
    msi, m = _read(p["msi"])
    ref, r = _read(p["reference"])
    assert hsi.shape == (224, 21, 21) and ref.shape == (224, 63, 63) and msi.shape == (4, 63, 63)
    assert h["crs"] == m["crs"] == r["crs"] and r["crs"].to_epsg() == 32633
    assert r["transform"] == Affine(30.0, 0.0, 364095.0, 0.0, -30.0, 5809965.0)
    assert m["transform"] == r["transform"]
    assert h["transform"] == Affine(90.0, 0.0, 364095.0, 0.0, -90.0, 5809965.0)
    assert h["transform"] == r["transform"] @ Affine.scale(DEMO_RATIO)


def test_band_metadata() -> None:
    p = demo_paths()
    hsi, h = _read(p["hsi"])
    ref, r = _read(p["reference"])
    assert h["band_tags"] == r["band_tags"]
    assert h["descriptions"] == r["descriptions"]
    assert r["descriptions"][0] == "band 1 (418.24 Nanometers)"
    assert r["band_tags"][0] == {"bbl": "1", "fwhm": "6.99561", "wavelength": "418.24",
                                 "wavelength_units": "Nanometers"}
    wl = [float(t["wavelength"]) for t in r["band_tags"]]
    assert len(wl) == 224 and wl[0] == 418.24 and wl[-1] == 2445.53
    assert [i for i, t in enumerate(r["band_tags"]) if t["bbl"] == "0"] == BAD_BANDS
    for meta, data in ((h, hsi), (r, ref)):
        assert meta["profile"]["dtype"] == "int16" and meta["profile"]["nodata"] == -32768
        assert set(meta["scales"]) == {0.0001} and set(meta["offsets"]) == {0.0}
        bad = np.all(data.reshape(224, -1) == -32768, axis=1)
        assert np.flatnonzero(bad).tolist() == BAD_BANDS
        assert not np.any(np.delete(data, BAD_BANDS, axis=0) == -32768)
    msi, m = _read(p["msi"])
    assert m["descriptions"] == ("B2 (490 nm)", "B3 (560 nm)", "B4 (665 nm)", "B8 (842 nm)")
    msi_wl = [float(t["wavelength"]) for t in m["band_tags"]]
    np.testing.assert_allclose(msi_wl, [492.7, 559.8, 664.6, 832.8], atol=0.2)
    assert all(t["wavelength_units"] == "Nanometers" for t in m["band_tags"])
    assert m["profile"]["dtype"] == "uint16" and set(m["scales"]) == {0.0001}


def test_wald_consistency() -> None:
    """HSI = 3 x 3 footprint mean of the reference; MSI = S2A SRF applied to the reference."""
    p = demo_paths()
    hsi, _ = _read(p["hsi"])
    msi, _ = _read(p["msi"])
    ref, r = _read(p["reference"])
    ref_f = np.where(ref == -32768, np.nan, ref.astype(np.float64))
    expected_hsi = np.rint(degrade_centred(ref_f, 3))
    good = np.setdiff1d(np.arange(224), BAD_BANDS)
    np.testing.assert_array_equal(hsi[good], expected_hsi[good])
    # Independent check of one coarse pixel: mean of reference rows 3..5, cols 6..8.
    assert hsi[10, 1, 2] == np.rint(ref[10, 3:6, 6:9].mean())
    wl = [float(t["wavelength"]) for t in r["band_tags"]]
    fwhm = [float(t["fwhm"]) for t in r["band_tags"]]
    valid = [t["bbl"] == "1" for t in r["band_tags"]]
    rm = response_matrix(load_srf("sentinel2a"), wl, fwhm, bands=("B2", "B3", "B4", "B8"),
                         valid_bands=valid)
    np.testing.assert_array_equal(msi, np.rint(spectral_degrade(ref_f, rm)))


@pytest.mark.realdata
@needs_shared("enmap_potsdam_tiles", "images")
def test_builder_reproduces_bundle_bit_for_bit(tmp_path: Path, shared_data: Path) -> None:
    from pifnet_engine.demo.build import build

    built = build(shared_data, tmp_path)
    for key, path in demo_paths().items():
        assert built[key].read_bytes() == path.read_bytes(), key
    # The reference is the real data: compare with one source tile directly.
    with rasterio.open(shared_data / "enmap_potsdam_tiles" / "images" / "enmap_potsdam_tile_96_32.tif") as t:
        tile = t.read()
    ref, _ = _read(demo_paths()["reference"])
    np.testing.assert_array_equal(ref[:, 32:, 32:], tile[:, :31, :31].astype(np.int16))
