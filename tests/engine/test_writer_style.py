"""How the output is displayed: RGB band choice, the PIFNET_RGB_BANDS tags, the QGIS style out.qml beside it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import rasterio

from pifnet_engine.errors import OutputExistsError
from pifnet_engine.raster.qgis_style import style_path
from pifnet_engine.raster.rgb import RgbBands, choose_rgb_bands
from pifnet_engine.raster.stretch import Stretch, cumulative_cut, sample_shape
from pifnet_engine.writer import OutputTarget, check_output_path
from .cli_runner import fuse, run
from .scenes import make_pair
from .writer_helpers import band_info, make_spec, write_output

WL_20 = list(np.linspace(400.0, 1000.0, 20))  # 31.6 nm apart: bands 9/6/3 nearest 640/550/470


# --- band choice ---------------------------------------------------------------------------

def test_true_colour_bands_are_nearest_640_550_470_nm() -> None:
    rgb = choose_rgb_bands(band_info(20, WL_20))
    assert rgb == RgbBands(9, 6, 3, true_colour=True)
    assert rgb.tags() == {"PIFNET_RGB_BANDS": "9,6,3", "PIFNET_RGB_KIND": "true_colour"}


def test_a_bad_band_is_never_chosen() -> None:
    # Band 9 (652.6 nm) is bad: red goes to band 8 (621.1 nm), the next nearest good band.
    assert choose_rgb_bands(band_info(20, WL_20, bad=(8,))).bands == (8, 6, 3)


def test_unknown_wavelengths_fall_back_to_the_first_three_good_bands() -> None:
    assert choose_rgb_bands(band_info(20)) == RgbBands(1, 2, 3, true_colour=False)
    assert choose_rgb_bands(band_info(20, bad=(0, 2))).bands == (2, 4, 5)
    assert choose_rgb_bands(band_info(3)).bands == (1, 2, 3)


def test_no_band_near_a_target_falls_back_to_the_first_three_good_bands() -> None:
    swir = list(np.linspace(1000.0, 2500.0, 30))
    assert choose_rgb_bands(band_info(30, swir)) == RgbBands(1, 2, 3, true_colour=False)
    # A NaN centre is no band near anything; the others still give true colour.
    wl = [float("nan")] + WL_20[1:]
    assert choose_rgb_bands(band_info(20, wl)).bands == (9, 6, 3)


def test_fewer_than_three_good_bands_have_no_rgb() -> None:
    assert choose_rgb_bands(band_info(2, [550.0, 640.0])) is None
    assert choose_rgb_bands(band_info(5, bad=(0, 1, 2))) is None


# --- stretch --------------------------------------------------------------------------------

def test_cumulative_cut_leaves_out_invalid_and_non_finite_values() -> None:
    values = np.concatenate([np.arange(100.0), [np.nan, np.inf, -1e30]])
    valid = np.ones(values.shape, bool)
    valid[-1] = False
    cut = cumulative_cut(values, valid)
    assert cut == Stretch(float(np.quantile(np.arange(100.0), 0.02)), float(np.quantile(np.arange(100.0), 0.98)))
    assert cumulative_cut(np.full(10, 0.3), np.ones(10, bool)) == Stretch(0.3, 1.3)
    assert cumulative_cut(np.full(10, np.nan), np.ones(10, bool)) == Stretch(0.0, 1.0)


def test_sample_shape_keeps_the_aspect_within_1024_px() -> None:
    assert sample_shape(100, 120) == (100, 120)
    assert sample_shape(2048, 4096) == (512, 1024)
    assert sample_shape(3, 100000) == (1, 1024)


# --- the written output ----------------------------------------------------------------------

def _renderer(qml: Path) -> ET.Element:
    root = ET.parse(qml).getroot()
    assert root.tag == "qgis" and root.get("styleCategories") == "Symbology"
    renderers = root.findall("./pipe/rasterrenderer")
    assert len(renderers) == 1
    return renderers[0]


def _limits(renderer: ET.Element, colour: str) -> tuple[float, float]:
    ce = renderer.find(f"{colour}ContrastEnhancement")
    assert ce is not None and ce.findtext("algorithm") == "StretchToMinimumMaximum"
    return float(ce.findtext("minValue")), float(ce.findtext("maxValue"))


def test_output_names_its_rgb_bands_and_gets_a_style_stretched_on_its_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    values = rng.uniform(0.0, 1.0, (20, 60, 70)).astype(np.float32) * np.linspace(1, 3, 20)[:, None, None]
    valid = np.ones((60, 70), bool)
    valid[:10] = False  # nodata rows: not part of the stretch
    values[:, :10] = 1000.0
    out = write_output(tmp_path / "out.tif", make_spec(60, 70, band_info(20, WL_20)), values, valid)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.qml", "out.tif"]
    with rasterio.open(out) as ds:
        assert ds.tags()["PIFNET_RGB_BANDS"] == "9,6,3"
        assert ds.tags()["PIFNET_RGB_KIND"] == "true_colour"
    renderer = _renderer(tmp_path / "out.qml")
    assert renderer.get("type") == "multibandcolor"
    assert (renderer.get("redBand"), renderer.get("greenBand"), renderer.get("blueBand")) == ("9", "6", "3")
    assert renderer.findtext("minMaxOrigin/limits") == "CumulativeCut"
    for colour, band in (("red", 9), ("green", 6), ("blue", 3)):
        data = values[band - 1, 10:].astype(np.float64)
        np.testing.assert_allclose(_limits(renderer, colour), np.quantile(data, [0.02, 0.98]), rtol=1e-6)


def test_stretch_is_in_physical_units_for_a_scaled_integer_output(tmp_path: Path) -> None:
    """QGIS applies a band's scale before stretching (measured: a uint16 band with scale 1e-4 samples as reflectance)."""
    rng = np.random.default_rng(3)
    values = np.rint(rng.uniform(0.05, 0.6, (4, 40, 40)) * 1e4).astype(np.float32) / 1e4
    out = write_output(tmp_path / "out.tif", make_spec(40, 40, band_info(4), dtype="uint16", nodata=0.0,
                                                        scale=1e-4), values, np.ones((40, 40), bool))
    with rasterio.open(out) as ds:
        assert ds.scales == (1e-4,) * 4 and ds.tags()["PIFNET_RGB_BANDS"] == "1,2,3"
    lo, hi = _limits(_renderer(style_path(out)), "red")
    np.testing.assert_allclose((lo, hi), np.quantile(values[0].astype(np.float64), [0.02, 0.98]), atol=1e-6)
    assert 0.05 <= lo < hi <= 0.6


def test_large_output_stretch_comes_from_the_overviews(tmp_path: Path) -> None:
    values = np.empty((3, 2048, 1024), np.float32)
    for b in range(3):
        values[b] = np.linspace(0.0, 1.0 + b, 2048, dtype=np.float32)[:, None]
    out = write_output(tmp_path / "big.tif", make_spec(2048, 1024, band_info(3)), values, np.ones((2048, 1024), bool))
    renderer = _renderer(tmp_path / "big.qml")
    for b, colour in enumerate(("red", "green", "blue")):
        np.testing.assert_allclose(_limits(renderer, colour), (0.02 * (1 + b), 0.98 * (1 + b)), atol=2e-3)
    assert out.name == "big.tif"


def test_output_without_rgb_removes_a_stale_style_only_with_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out.tif"
    values = np.full((2, 20, 20), 0.5, np.float32)
    spec = make_spec(20, 20, band_info(2))
    style_path(out).write_text("<qgis/>")
    with pytest.raises(OutputExistsError, match="QGIS style .*out.qml' beside the output already exists"):
        check_output_path(out, [], overwrite=False)
    write_output(out, spec, values, np.ones((20, 20), bool), overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"]
    with rasterio.open(out) as ds:
        assert "PIFNET_RGB_BANDS" not in ds.tags()


def test_style_appearing_while_fusing_is_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "out.tif"
    spec = make_spec(20, 20, band_info(3))
    with pytest.raises(OutputExistsError, match="appeared while fusing"):
        with OutputTarget(out, spec, overwrite=False) as target:
            style_path(out).write_text("<qgis>mine</qgis>")
            target.commit()
    assert style_path(out).read_text() == "<qgis>mine</qgis>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.qml"]


def test_cli_refuses_an_existing_style_without_overwrite_and_replaces_it_with(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, bands=40, fine=(60, 60), ratio=3)  # 420-2400 nm: bands 5/4/2 nearest
    out = tmp_path / "out.tif"
    user_style = "<qgis>the analyst's own</qgis>"
    style_path(out).write_text(user_style)
    code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(out), "--method", "bicubic",
                     "--progress", "none"])
    assert code == 2 and "QGIS style" in err and "out.qml" in err and "--overwrite" in err
    assert not out.exists() and style_path(out).read_text() == user_style
    fuse(pair.hsi, pair.msi, out, "--method", "bicubic", "--overwrite")
    renderer = _renderer(style_path(out))
    assert (renderer.get("redBand"), renderer.get("greenBand"), renderer.get("blueBand")) == ("5", "4", "2")
    with rasterio.open(out) as ds:
        assert ds.tags()["PIFNET_RGB_BANDS"] == "5,4,2"
