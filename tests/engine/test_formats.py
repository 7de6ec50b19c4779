"""Reading and writing raster formats through the real CLI (issue 2, items 2 and 6).

Inputs: GeoTIFF, ENVI .hdr/.img, VRT; wavelengths in EnMAP-Box order; nodata values, internal
masks and NaN; scale/offset. Outputs: checked with rasterio AND with Debian's ``gdalinfo -json``
(skipped when ``gdalinfo`` is not installed, unless ``PIFNET_CI=1``, where its absence fails).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import ColorInterp, Compression, MaskFlags

import pifnet_engine
from pifnet_engine.errors import InputDataError
from pifnet_engine.raster.bands import BandInfo, parse_envi_list, read_band_info, unit_factor_nm
from .scenes import make_pair, smooth_cube, write_raster
from .scenes_formats import write_envi, write_vrt

RATIO = 3
T_MSI = Affine(10.0, 0, 360000.0, 0, -10.0, 5810000.0)
T_HSI = Affine(30.0, 0, 360000.0, 0, -30.0, 5810000.0)


# --- helpers ---------------------------------------------------------------------------------

from .cli_runner import fuse  # noqa: E402


def gdalinfo_json(path: Path) -> dict:
    """``gdalinfo -json -mdd all`` from the system GDAL (skip without it unless PIFNET_CI=1)."""
    exe = shutil.which("gdalinfo") or ("/usr/bin/gdalinfo" if Path("/usr/bin/gdalinfo").exists() else None)
    if exe is None:
        if os.environ.get("PIFNET_CI") == "1":
            pytest.fail("gdalinfo (Debian package gdal-bin) is required when PIFNET_CI=1")
        pytest.skip("gdalinfo not installed (apt-get install gdal-bin)")
    done = subprocess.run([exe, "-json", "-mdd", "all", str(path)], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def invalid_mask(ds: rasterio.io.DatasetReader) -> np.ndarray:
    """(C, H, W) bool: pixels equal to the output's nodata value (NaN-aware)."""
    data = ds.read()
    nd = ds.nodata
    assert nd is not None, "output has no nodata value"
    return np.isnan(data) if math.isnan(nd) else data == nd


def wl_tags(wavelengths: list[float], units: str | None, fwhm: list[float] | None = None) -> list[dict[str, str]]:
    tags = []
    for i, w in enumerate(wavelengths):
        t = {"wavelength": str(w)}
        if units is not None:
            t["wavelength_units"] = units
        if fwhm is not None:
            t["fwhm"] = str(fwhm[i])
        tags.append(t)
    return tags


def tiny_tif(path: Path, count: int = 3, band_tags: list[dict[str, str]] | None = None,
             imagery: list[dict[str, str]] | None = None, envi: dict[str, str] | None = None,
             descriptions: list[str] | None = None) -> Path:
    """A 4 x 4 float32 GeoTIFF carrying the given spectral metadata."""
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=count, dtype="float32",
                       crs="EPSG:32633", transform=T_HSI) as ds:
        ds.write(np.ones((count, 4, 4), np.float32))
        for b in range(count):
            if band_tags is not None:
                ds.update_tags(b + 1, **band_tags[b])
            if imagery is not None:
                ds.update_tags(b + 1, ns="IMAGERY", **imagery[b])
            if descriptions is not None:
                ds.set_band_description(b + 1, descriptions[b])
        if envi is not None:
            ds.update_tags(ns="ENVI", **envi)
    return path


def band_info_of(path: Path) -> BandInfo:
    with rasterio.open(path) as ds:
        return read_band_info(ds)


# --- read_band_info: EnMAP-Box order and units -------------------------------------------------

def test_imagery_domain_comes_first(tmp_path: Path) -> None:
    path = tiny_tif(tmp_path / "a.tif",
                    imagery=[{"CENTRAL_WAVELENGTH_UM": v, "FWHM_UM": "0.012"} for v in ("0.45", "0.55", "0.65")],
                    band_tags=wl_tags([1.0, 2.0, 3.0], "Nanometers", [5.0, 5.0, 5.0]),
                    envi={"wavelength": "{7, 8, 9}"})
    info = band_info_of(path)
    assert info.source == "IMAGERY"
    assert info.wavelengths_nm == pytest.approx((450.0, 550.0, 650.0))
    assert info.fwhm_nm == pytest.approx((12.0, 12.0, 12.0))


def test_band_level_comes_before_envi_lists(tmp_path: Path) -> None:
    path = tiny_tif(tmp_path / "a.tif", band_tags=wl_tags([500.0, 600.0, 700.0], "Nanometers", [9.0, 9.5, 10.0]),
                    envi={"wavelength": "{1, 2, 3}", "fwhm": "{0.1, 0.1, 0.1}", "wavelength_units": "Micrometers"})
    info = band_info_of(path)
    assert info.source == "band"
    assert info.wavelengths_nm == pytest.approx((500.0, 600.0, 700.0))
    assert info.fwhm_nm == pytest.approx((9.0, 9.5, 10.0))


@pytest.mark.parametrize("units,values,expected_nm", [
    ("Nanometers", [450.0, 550.0, 650.0], [450.0, 550.0, 650.0]),
    ("nm", [450.0, 550.0, 650.0], [450.0, 550.0, 650.0]),
    ("Micrometers", [0.45, 0.55, 0.65], [450.0, 550.0, 650.0]),
    ("micrometers", [0.45, 0.55, 2.45], [450.0, 550.0, 2450.0]),
    (None, [0.45, 0.55, 2.45], [450.0, 550.0, 2450.0]),      # guessed: < 100 means micrometres
    (None, [418.24, 550.0, 2445.53], [418.24, 550.0, 2445.53]),  # guessed: nanometres
    ("Unknown", [0.45, 0.55, 0.65], [450.0, 550.0, 650.0]),   # unknown unit: guessed as well
])
def test_band_level_units(tmp_path: Path, units: str | None, values: list[float], expected_nm: list[float]) -> None:
    fwhm = [v / 50 for v in values]
    info = band_info_of(tiny_tif(tmp_path / "a.tif", band_tags=wl_tags(values, units, fwhm)))
    assert info.source == "band"
    assert info.wavelengths_nm == pytest.approx(expected_nm)
    assert info.fwhm_nm == pytest.approx([v / 50 for v in expected_nm])


@pytest.mark.parametrize("units,wl,expected_nm", [
    ("Micrometers", "{0.45, 0.55 ,0.65}", [450.0, 550.0, 650.0]),
    ("Nanometers", "{ 450,550, 650 }", [450.0, 550.0, 650.0]),
    (None, "{0.45, 0.55, 0.65}", [450.0, 550.0, 650.0]),
    (None, "{450, 550, 650}", [450.0, 550.0, 650.0]),
])
def test_envi_dataset_lists(tmp_path: Path, units: str | None, wl: str, expected_nm: list[float]) -> None:
    scale = expected_nm[0] / float(parse_envi_list(wl)[0])
    envi = {"wavelength": wl, "fwhm": "{" + ", ".join(str(v / scale) for v in (10.0, 11.0, 12.0)) + "}",
            "bbl": "{1, 0, 1}"}
    if units is not None:
        envi["wavelength_units"] = units
    info = band_info_of(tiny_tif(tmp_path / "a.tif", envi=envi))
    assert info.source == "ENVI"
    assert info.wavelengths_nm == pytest.approx(expected_nm)
    assert info.fwhm_nm == pytest.approx((10.0, 11.0, 12.0))
    assert info.good == (True, False, True)
    assert info.n_good == 2


def test_envi_list_of_wrong_length_is_ignored(tmp_path: Path) -> None:
    info = band_info_of(tiny_tif(tmp_path / "a.tif", envi={"wavelength": "{450, 550}", "bbl": "{1, 0}"}))
    assert info.wavelengths_nm is None and info.source is None
    assert info.good == (True, True, True)


def test_band_level_bbl(tmp_path: Path) -> None:
    tags = wl_tags([450.0, 550.0, 650.0], "Nanometers")
    for t, flag in zip(tags, ("1", "0", "1"), strict=True):
        t["bbl"] = flag
    info = band_info_of(tiny_tif(tmp_path / "a.tif", band_tags=tags))
    assert info.good == (True, False, True)


def test_no_spectral_metadata(tmp_path: Path) -> None:
    info = band_info_of(tiny_tif(tmp_path / "a.tif", descriptions=["x", "y", "z"]))
    assert info.wavelengths_nm is None and info.fwhm_nm is None and info.source is None
    assert info.good == (True, True, True)
    assert info.descriptions == ("x", "y", "z")


def test_non_numeric_wavelength_is_a_clear_error(tmp_path: Path) -> None:
    path = tiny_tif(tmp_path / "bad.tif", band_tags=wl_tags([450.0, 550.0, 650.0], "Nanometers")[:2]
                    + [{"wavelength": "red", "wavelength_units": "Nanometers"}])
    with pytest.raises(InputDataError, match=r"bad\.tif.*wavelength"):
        band_info_of(path)


def test_unit_helpers() -> None:
    assert unit_factor_nm("Micrometers", [0.5]) == 1000.0
    assert unit_factor_nm(" Nanometers ", [0.5]) == 1.0      # said nanometres: trusted
    assert unit_factor_nm(None, [0.4, 99.0]) == 1000.0
    assert unit_factor_nm(None, [0.4, 100.0]) == 1.0
    assert unit_factor_nm("mm", [0.0005]) == 1e6
    assert parse_envi_list("{ 0.45, 0.55 ,0.65}") == ["0.45", "0.55", "0.65"]
    assert parse_envi_list("{}") == []


def test_envi_header_read_through_gdal(tmp_path: Path) -> None:
    data = smooth_cube(4, 6, 5)
    img = write_envi(tmp_path / "h.img", data, T_HSI, wavelengths=[0.45, 0.55, 1.6, 2.2],
                     fwhm=[0.01, 0.012, 0.02, 0.03], units="Micrometers", bbl=[1, 1, 0, 1],
                     band_names=["blue", "green", "swir1", "swir2"])
    with rasterio.open(img) as ds:
        assert ds.driver == "ENVI"
        assert ds.crs.to_epsg() == 32633 and ds.transform == T_HSI
        np.testing.assert_array_equal(ds.read(), data)
        info = read_band_info(ds)
    assert info.wavelengths_nm == pytest.approx((450.0, 550.0, 1600.0, 2200.0))
    assert info.fwhm_nm == pytest.approx((10.0, 12.0, 20.0, 30.0))
    assert info.good == (True, True, False, True)
    assert info.descriptions[0] is not None and info.descriptions[0].startswith("blue")


# --- end to end: metadata reaches the output ---------------------------------------------------

def _check_band_metadata(out: Path, wl_nm: list[float], fwhm_nm: list[float] | None,
                         descriptions: list[str] | None, bbl: list[int] | None = None) -> None:
    """rasterio and gdalinfo both show the band-level metadata of ``out`` (in nanometres)."""
    with rasterio.open(out) as ds:
        assert ds.count == len(wl_nm)
        for b in range(ds.count):
            tags = ds.tags(b + 1)
            assert float(tags["wavelength"]) == pytest.approx(wl_nm[b], rel=1e-6)
            assert tags["wavelength_units"] == "Nanometers"
            if fwhm_nm is not None:
                assert float(tags["fwhm"]) == pytest.approx(fwhm_nm[b], rel=1e-5)
            if bbl is not None:
                assert tags["bbl"] == str(bbl[b])
        if descriptions is not None:
            assert list(ds.descriptions) == descriptions
        # Read back the EnMAP-Box way too.
        info = read_band_info(ds)
        assert info.wavelengths_nm == pytest.approx(wl_nm, rel=1e-6)
    g = gdalinfo_json(out)
    assert len(g["bands"]) == len(wl_nm)
    for b, band in enumerate(g["bands"]):
        md = band["metadata"][""]
        assert float(md["wavelength"]) == pytest.approx(wl_nm[b], rel=1e-6)
        assert md["wavelength_units"] == "Nanometers"
        if fwhm_nm is not None:
            assert float(md["fwhm"]) == pytest.approx(fwhm_nm[b], rel=1e-5)
        if descriptions is not None:
            assert band["description"] == descriptions[b]


def _pair_arrays(bands: int = 8, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(bands, 16, 20) HSI and (4, 48, 60) MSI float32 on T_HSI / T_MSI."""
    truth = smooth_cube(bands, 48, 60, seed)
    hsi = truth.reshape(bands, 16, RATIO, 20, RATIO).mean(axis=(2, 4))
    srf = np.zeros((4, bands), np.float32)
    for m, chunk in enumerate(np.array_split(np.arange(bands), 4)):
        srf[m, chunk] = 1.0 / len(chunk)
    return hsi.astype(np.float32), np.einsum("mc,chw->mhw", srf, truth).astype(np.float32)


def test_imagery_domain_wavelengths_reach_output(tmp_path: Path) -> None:
    hsi_arr, msi_arr = _pair_arrays(bands=5)
    wl_um = [0.4182, 0.5505, 0.8, 1.2, 2.4455]
    fwhm_um = [0.00699561, 0.008, 0.01, 0.011, 0.0071581]
    hsi = tmp_path / "hsi.tif"
    with rasterio.open(hsi, "w", driver="GTiff", width=20, height=16, count=5, dtype="float32",
                       crs="EPSG:32633", transform=T_HSI) as ds:
        ds.write(hsi_arr)
        for b in range(5):
            ds.update_tags(b + 1, ns="IMAGERY", CENTRAL_WAVELENGTH_UM=str(wl_um[b]), FWHM_UM=str(fwhm_um[b]))
            ds.set_band_description(b + 1, f"EnMAP band {b + 1}")
    msi = write_raster(tmp_path / "msi.tif", msi_arr, T_MSI)
    out = fuse(hsi, msi, tmp_path / "out.tif", "--method", "gsa")
    _check_band_metadata(out, [v * 1000 for v in wl_um], [v * 1000 for v in fwhm_um],
                         [f"EnMAP band {b + 1}" for b in range(5)], bbl=[1] * 5)


def test_wavelength_digits_survive(tmp_path: Path) -> None:
    """Wavelengths/FWHM with more than 6 significant digits (PRISMA/DESIS style) are not rounded."""
    hsi_arr, msi_arr = _pair_arrays(bands=4)
    wl = [402.4412, 1001.2345, 2450.9876, 999.99999]
    fwhm = [5.12345, 10.01234, 7.654321, 8.0]
    hsi = write_raster(tmp_path / "hsi.tif", hsi_arr, T_HSI, wavelengths=wl, fwhm=fwhm)
    msi = write_raster(tmp_path / "msi.tif", msi_arr, T_MSI)
    out = fuse(hsi, msi, tmp_path / "out.tif", "--method", "bicubic")
    with rasterio.open(out) as o:
        got_wl = [float(o.tags(b + 1)["wavelength"]) for b in range(4)]
        got_fwhm = [float(o.tags(b + 1)["fwhm"]) for b in range(4)]
    assert got_wl == pytest.approx(wl, rel=1e-9, abs=0)
    assert got_fwhm == pytest.approx(fwhm, rel=1e-9, abs=0)


def test_envi_input_end_to_end(tmp_path: Path) -> None:
    hsi_arr, msi_arr = _pair_arrays(bands=6)
    hsi_arr[:, 2, 3] = -9999.0      # one nodata pixel (ENVI "data ignore value")
    wl_um = [0.45, 0.5, 0.6, 0.8, 1.2, 2.0]
    fwhm_um = [0.01, 0.011, 0.012, 0.013, 0.014, 0.015]
    names = ["b1", "b2", "b3", "b4", "b5", "b6"]
    img = write_envi(tmp_path / "hsi.img", hsi_arr, T_HSI, wavelengths=wl_um, fwhm=fwhm_um,
                     units="Micrometers", bbl=[1, 1, 0, 1, 1, 1], band_names=names, nodata=-9999)
    tif = write_raster(tmp_path / "hsi.tif", hsi_arr, T_HSI, nodata=-9999.0)
    with rasterio.open(tif, "r+") as ds:
        for b in range(6):
            ds.update_tags(b + 1, bbl="0" if b == 2 else "1")
    msi = write_raster(tmp_path / "msi.tif", msi_arr, T_MSI)

    out = fuse(img, msi, tmp_path / "out.tif", "--method", "bicubic")
    ref = fuse(tif, msi, tmp_path / "ref.tif", "--method", "bicubic")
    with rasterio.open(out) as o, rasterio.open(msi) as m, rasterio.open(ref) as r:
        assert o.crs == m.crs and o.transform == m.transform and o.shape == m.shape
        assert o.tags()["PIFNET_HSI_WARPED"] == "no", "the ENVI CRS should be recognised as the MSI's"
        assert o.tags()["PIFNET_HSI"] == "hsi.img"
        assert o.nodata == -9999.0
        data, bad = o.read(), invalid_mask(o)
        np.testing.assert_array_equal(data, r.read())   # ENVI reading == GeoTIFF reading
    assert bad[2].all(), "the bad band (bbl = 0) must be nodata"
    expected = np.zeros((48, 60), bool)
    expected[6:9, 9:12] = True
    for b in (0, 1, 3, 4, 5):
        np.testing.assert_array_equal(bad[b], expected)
    descriptions = [f"{n} ({w} Micrometers)" for n, w in zip(names, wl_um, strict=True)]
    _check_band_metadata(out, [v * 1000 for v in wl_um], [v * 1000 for v in fwhm_um],
                         descriptions, bbl=[1, 1, 0, 1, 1, 1])


def test_envi_domain_only_via_vrt_and_vrt_input(tmp_path: Path) -> None:
    """A VRT HSI whose wavelengths are dataset-level ENVI lists; a VRT MSI; same pixels as the GeoTIFFs."""
    pair = make_pair(tmp_path, bands=5, fine=(48, 60), ratio=RATIO, seed=4)
    with rasterio.open(pair.hsi) as ds:
        w, h, t = ds.width, ds.height, ds.transform
    hsi_vrt = write_vrt(tmp_path / "hsi.vrt", pair.hsi.resolve(), count=5, width=w, height=h, transform=t,
                        nodata=-32768.0, descriptions=[f"chan {i}" for i in range(5)],
                        dataset_metadata={"ENVI": {"wavelength": "{0.5, 0.6, 0.7, 0.8, 0.9}",
                                                   "fwhm": "{0.01, 0.01, 0.02, 0.02, 0.03}",
                                                   "wavelength_units": "Micrometers"}})
    msi_vrt = tmp_path / "msi.vrt"
    if shutil.which("gdalbuildvrt"):
        subprocess.run(["gdalbuildvrt", "-q", str(msi_vrt), str(pair.msi)], check=True)
    else:
        write_vrt(msi_vrt, pair.msi.resolve(), count=4, width=60, height=48, transform=T_MSI)
    out = fuse(hsi_vrt, msi_vrt, tmp_path / "out.tif", "--method", "gsa")
    ref = fuse(pair.hsi, pair.msi, tmp_path / "ref.tif", "--method", "gsa")
    with rasterio.open(out) as o, rasterio.open(ref) as r:
        assert o.transform == r.transform and o.crs == r.crs
        np.testing.assert_array_equal(o.read(), r.read())
        assert o.tags()["PIFNET_HSI"] == "hsi.vrt" and o.tags()["PIFNET_MSI"] == "msi.vrt"
    _check_band_metadata(out, [500.0, 600.0, 700.0, 800.0, 900.0], [10.0, 10.0, 20.0, 20.0, 30.0],
                         [f"chan {i}" for i in range(5)])


# --- nodata, internal masks and NaN ------------------------------------------------------------

HSI_HOLES = [(3, 4), (0, 19), (15, 0)]          # coarse pixels (row, col): interior, corners
MSI_HOLES = [(20, 31), (0, 0), (47, 59), (30, 10), (31, 10)]   # fine pixels


@pytest.mark.parametrize("method", ["bicubic", "gsa"])
@pytest.mark.parametrize("where,kind", [("hsi", "nodata"), ("hsi", "nan"), ("hsi", "mask"),
                                        ("msi", "nodata"), ("msi", "nan"), ("msi", "mask")])
def test_invalid_pixels_become_output_nodata_exactly(tmp_path: Path, where: str, kind: str, method: str) -> None:
    hsi_arr, msi_arr = _pair_arrays(bands=6, seed=2)
    arr, holes = (hsi_arr, HSI_HOLES) if where == "hsi" else (msi_arr, MSI_HOLES)
    fill = {"nodata": -9999.0, "nan": np.nan, "mask": 1.0e6}[kind]    # 1e6: garbage under the mask
    band = 1                                                          # one band is enough
    for r, c in holes:
        arr[band if kind != "mask" else slice(None), r, c] = fill
    nodata = -9999.0 if kind == "nodata" else None
    paths = {}
    for role, a, t in (("hsi", hsi_arr, T_HSI), ("msi", msi_arr, T_MSI)):
        paths[role] = write_raster(tmp_path / f"{role}.tif", a, t, nodata=nodata if role == where else None)
    if kind == "mask":
        mask = np.full(arr.shape[1:], 255, np.uint8)
        for r, c in holes:
            mask[r, c] = 0
        with rasterio.open(paths[where], "r+") as ds:
            ds.write_mask(mask)
        with rasterio.open(paths[where]) as ds:
            assert MaskFlags.per_dataset in ds.mask_flag_enums[0]
    out = fuse(paths["hsi"], paths["msi"], tmp_path / "out.tif", "--method", method)

    expected = np.zeros((48, 60), bool)
    for r, c in holes:
        if where == "hsi":
            expected[r * RATIO:(r + 1) * RATIO, c * RATIO:(c + 1) * RATIO] = True
        else:
            expected[r, c] = True
    with rasterio.open(out) as o:
        bad = invalid_mask(o)
        data = o.read()
        if where == "hsi" and kind == "nodata":
            assert o.nodata == -9999.0
        else:
            assert math.isnan(o.nodata)
    for b in range(6):
        np.testing.assert_array_equal(bad[b], expected, err_msg=f"band {b + 1}")
    good = data[:, ~expected]
    assert np.isfinite(good).all()
    # Values under the mask (1e6) or NaN must not leak into valid neighbours.
    assert good.min() > -0.5 and good.max() < 1.5


@pytest.mark.parametrize("kind", ["nodata", "mask"])
def test_invalid_hsi_pixels_through_the_warp(tmp_path: Path, kind: str) -> None:
    """HSI half a coarse pixel off the MSI grid (read through a WarpedVRT): the hole stays local."""
    hsi_arr, msi_arr = _pair_arrays(bands=6, seed=3)
    hsi_arr[:, 5, 6] = -9999.0 if kind == "nodata" else 1.0e6
    shifted = Affine(30.0, 0, 360000.0 + 15.0, 0, -30.0, 5810000.0 - 15.0)
    hsi = write_raster(tmp_path / "hsi.tif", hsi_arr, shifted, nodata=-9999.0 if kind == "nodata" else None)
    if kind == "mask":
        mask = np.full((16, 20), 255, np.uint8)
        mask[5, 6] = 0
        with rasterio.open(hsi, "r+") as ds:
            ds.write_mask(mask)
    msi = write_raster(tmp_path / "msi.tif", msi_arr, T_MSI)
    out = fuse(hsi, msi, tmp_path / "out.tif", "--method", "gsa")
    with rasterio.open(out) as o:
        assert o.tags()["PIFNET_HSI_WARPED"] != "no"
        bad, data = invalid_mask(o), o.read()
    # The hole covers MSI rows 16.5..19.5, cols 19.5..22.5; allow one coarse pixel around it.
    rows, cols = np.nonzero(bad.any(axis=0))
    assert rows.size > 0, "the masked HSI pixel must make some output nodata"
    assert rows.min() >= 13 and rows.max() < 23 and cols.min() >= 16 and cols.max() < 26
    np.testing.assert_array_equal(bad, np.broadcast_to(bad[0], bad.shape))
    good = data[:, ~bad[0]]
    assert np.isfinite(good).all() and good.min() > -0.5 and good.max() < 1.5


# --- scale / offset and --dtype keep --------------------------------------------------------------

@pytest.mark.parametrize("scale,offset", [(1e-4, 0.0), (2e-4, -0.1)])
def test_scale_offset_honoured(tmp_path: Path, scale: float, offset: float) -> None:
    hsi_f, msi_arr = _pair_arrays(bands=5, seed=5)
    raw = np.rint((hsi_f - offset) / scale).astype(np.int16)
    raw[:, 4, 5] = -32768
    physical = (raw.astype(np.float64) * scale + offset).astype(np.float32)
    physical[:, 4, 5] = -32768.0
    hsi_int = write_raster(tmp_path / "hsi_int.tif", raw, T_HSI, nodata=-32768, dtype="int16")
    with rasterio.open(hsi_int, "r+") as ds:
        ds.scales = (scale,) * 5
        ds.offsets = (offset,) * 5
    hsi_phys = write_raster(tmp_path / "hsi_phys.tif", physical, T_HSI, nodata=-32768.0)
    msi = write_raster(tmp_path / "msi.tif", msi_arr, T_MSI)

    out = fuse(hsi_int, msi, tmp_path / "out.tif", "--method", "gsa")
    ref = fuse(hsi_phys, msi, tmp_path / "ref.tif", "--method", "gsa")
    keep = fuse(hsi_int, msi, tmp_path / "keep.tif", "--method", "gsa", "--dtype", "keep")
    with rasterio.open(out) as o, rasterio.open(ref) as r, rasterio.open(keep) as k:
        assert o.dtypes[0] == "float32"
        assert o.scales == (1.0,) * 5 and o.offsets == (0.0,) * 5
        a, b = o.read(), r.read()
        np.testing.assert_array_equal(invalid_mask(o), invalid_mask(r))
        ok = ~invalid_mask(o)
        np.testing.assert_allclose(a[ok], b[ok], atol=1e-6)     # physical values, float rounding only
        assert 0.0 < a[ok].min() and a[ok].max() < 1.0

        assert k.dtypes == ("int16",) * 5
        assert k.nodata == -32768
        assert k.scales == pytest.approx((scale,) * 5) and k.offsets == pytest.approx((offset,) * 5)
        kraw = k.read()
        np.testing.assert_array_equal(kraw == -32768, invalid_mask(o))
        np.testing.assert_allclose(kraw[ok] * scale + offset, a[ok], atol=scale * 0.5 + 1e-6)
    g = gdalinfo_json(keep)
    for band in g["bands"]:
        assert band["type"] == "Int16"
        assert band["scale"] == pytest.approx(scale) and band["offset"] == pytest.approx(offset)
        assert band["noDataValue"] == -32768
    assert g["metadata"]["IMAGE_STRUCTURE"]["PREDICTOR"] == "2"


# --- file structure: GTiff, COG, provenance ----------------------------------------------------

def test_gtiff_structure_cog_and_provenance(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, bands=5, fine=(96, 120), ratio=RATIO, seed=6)
    gtiff = fuse(pair.hsi, pair.msi, tmp_path / "out.tif", "--method", "gsa", "--tile-size", "48")
    cog = fuse(pair.hsi, pair.msi, tmp_path / "out_cog.tif", "--method", "gsa", "--tile-size", "48", "--cog")
    with rasterio.open(gtiff) as g, rasterio.open(cog) as c:
        assert g.profile["tiled"] and g.block_shapes == [(256, 256)] * 5
        assert g.compression == Compression.deflate
        assert g.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == "3"
        assert g.dtypes == ("float32",) * 5
        np.testing.assert_array_equal(g.read(), c.read())
        assert g.transform == c.transform and g.crs == c.crs and g.nodata == c.nodata
        tags = g.tags()
        assert tags["PIFNET_METHOD"] == "gsa"
        assert tags["PIFNET_ENGINE_VERSION"] == pifnet_engine.__version__
        assert tags["PIFNET_RATIO"] == str(RATIO)
        assert tags["PIFNET_HSI"] == "hsi.tif" and tags["PIFNET_MSI"] == "msi.tif"
        assert c.tags()["PIFNET_METHOD"] == "gsa"
    gi = gdalinfo_json(gtiff)
    st = gi["metadata"]["IMAGE_STRUCTURE"]
    assert st["COMPRESSION"] == "DEFLATE" and st["PREDICTOR"] == "3"
    assert st.get("LAYOUT") != "COG"
    assert gi["bands"][0]["block"] == [256, 256]
    assert gi["metadata"][""]["PIFNET_METHOD"] == "gsa"
    assert gi["metadata"][""]["PIFNET_ENGINE_VERSION"] == pifnet_engine.__version__
    ci = gdalinfo_json(cog)
    assert ci["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"] == "COG"
    assert ci["metadata"]["IMAGE_STRUCTURE"]["COMPRESSION"] == "DEFLATE"
    assert ci["metadata"][""]["PIFNET_RATIO"] == str(RATIO)
    assert [b["metadata"][""]["wavelength"] for b in ci["bands"]] == \
        [b["metadata"][""]["wavelength"] for b in gi["bands"]]
    assert not [p.name for p in tmp_path.iterdir() if "pifnet" in p.name]


# --- bad bands ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["bicubic", "gsa"])
def test_bad_bands_are_nodata_with_metadata_kept(tmp_path: Path, method: str) -> None:
    hsi_arr, msi_arr = _pair_arrays(bands=7, seed=7)
    bad = [1, 5]
    hsi_arr[bad] = -32768.0               # EnMAP style: bad bands are entirely nodata
    wl = [420.0, 500.0, 650.0, 900.0, 1350.0, 1400.0, 2200.0]
    hsi = write_raster(tmp_path / "hsi.tif", hsi_arr, T_HSI, nodata=-32768.0, wavelengths=wl, fwhm=[8.0] * 7)
    with rasterio.open(hsi, "r+") as ds:
        for b in range(7):
            ds.update_tags(b + 1, bbl="0" if b in bad else "1")
    msi = write_raster(tmp_path / "msi.tif", msi_arr, T_MSI)
    out = fuse(hsi, msi, tmp_path / "out.tif", "--method", method)
    with rasterio.open(out) as o:
        invalid = invalid_mask(o)
        for b in range(7):
            if b in bad:
                assert invalid[b].all(), f"bad band {b + 1} must be nodata"
            else:
                assert not invalid[b].any(), f"good band {b + 1} must stay valid"
    _check_band_metadata(out, wl, [8.0] * 7, [f"band {b + 1}" for b in range(7)],
                         bbl=[0 if b in bad else 1 for b in range(7)])


# --- --progress json ---------------------------------------------------------------------------

def test_progress_json_lines(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, bands=4, fine=(96, 120), ratio=RATIO, seed=8)
    out = tmp_path / "out.tif"
    exe = Path(sys.executable).parent / "pifnet-engine"
    argv = ([str(exe)] if exe.exists() else [sys.executable, "-c", "from pifnet_engine.cli.main import main; main()"])
    done = subprocess.run([*argv, "fuse", str(pair.hsi), str(pair.msi), "-o", str(out), "--method", "gsa",
                           "--tile-size", "30", "--progress", "json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines()]   # every line parses
    assert events[0]["event"] == "start" and events[0]["method"] == "gsa"
    assert events[-1]["event"] == "done" and Path(events[-1]["output"]) == out.resolve()
    progress = [e for e in events if e["event"] == "progress"]
    assert {e["event"] for e in events} <= {"start", "warning", "progress", "done"}
    fractions = [e["fraction"] for e in progress]
    assert len(progress) > 4
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert all(b >= a for a, b in itertools.pairwise(fractions)), fractions
    assert fractions[-1] == 1.0
    total = events[0]["windows_total"]
    assert total > 1
    assert all(e["windows_total"] == total and 0 <= e["windows_done"] <= total for e in progress)
    assert [e["stage"] for e in progress].count("stats") == total
    assert out.exists()


def test_float_output_nodata_never_collides_with_data(tmp_path: Path) -> None:
    """A uint16 HSI with nodata 0: a fused float value of 0.0 must stay data, so the float32
    output's nodata is NaN (a negative HSI nodata such as -9999 is kept, see above)."""
    pair = make_pair(tmp_path, bands=5, fine=(30, 30), ratio=3)
    with rasterio.open(pair.hsi) as src:
        raw = np.clip(src.read() * 10000, 1, 60000).astype("uint16")
        raw[:, 2, 3] = 0
        profile = src.profile
    profile.update(dtype="uint16", nodata=0)
    hsi16 = tmp_path / "hsi16.tif"
    with rasterio.open(hsi16, "w", **profile) as dst:
        dst.write(raw)
    out = fuse(hsi16, pair.msi, tmp_path / "out.tif", "--method", "bicubic")
    with rasterio.open(out) as o:
        assert math.isnan(o.nodata)
        data = o.read(1)
    assert np.isnan(data[6:9, 9:12]).all() and np.isfinite(data[:6]).all()


def test_msi_alpha_band_is_a_mask_not_a_band(tmp_path: Path) -> None:
    """An RGBA MSI (camera image): the alpha band masks pixels and is not fused as a 4th band."""
    pair = make_pair(tmp_path, bands=6, msi_bands=3, fine=(30, 30), ratio=3)
    with rasterio.open(pair.msi) as src:
        rgb = src.read()
        profile = src.profile
    alpha = np.full((1, 30, 30), 255, np.float32)
    alpha[0, 10:13, 4:9] = 0
    profile.update(count=4)
    rgba = tmp_path / "rgba.tif"
    with rasterio.open(rgba, "w", **profile) as dst:
        dst.write(np.concatenate([rgb, alpha]))
        dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
    ref = fuse(pair.hsi, pair.msi, tmp_path / "ref.tif", "--method", "gsa")
    out = fuse(pair.hsi, rgba, tmp_path / "out.tif", "--method", "gsa")
    with rasterio.open(out) as o, rasterio.open(ref) as r:
        assert o.count == 6
        z, zr = o.read(masked=True), r.read()
        assert z.mask[:, 10:13, 4:9].all() and z.mask.sum() == 6 * 15
        # Elsewhere the result equals fusing the plain RGB MSI, up to the GSA statistics (which
        # now leave out the masked pixels).
        keep = ~z.mask[0]
        assert np.abs(z.data[:, keep] - zr[:, keep]).max() < 0.02
    code, text = run_info(pair.hsi, rgba)
    assert code == 0 and json.loads(text)["msi"]["bands"] == 3


def run_info(hsi: Path, msi: Path) -> tuple[int, str]:
    from click.testing import CliRunner
    from pifnet_engine.cli.main import cli
    result = CliRunner().invoke(cli, ["info", str(hsi), str(msi), "--json"])
    return result.exit_code, result.output
