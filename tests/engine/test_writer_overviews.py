"""Internal overviews of the output raster: which levels, inside the .tif, nodata kept out of the averages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.enums import Resampling

from pifnet_engine.raster.overviews import build_overviews, overview_levels
from .writer_helpers import band_info, make_spec, write_output


def test_levels_stop_once_the_shorter_side_is_below_256_px() -> None:
    assert overview_levels(1024, 1024) == [2, 4, 8]
    assert overview_levels(2048, 3000) == [2, 4, 8, 16]
    assert overview_levels(256, 5000) == [2]
    assert overview_levels(255, 100000) == []
    assert overview_levels(100, 120) == []


@pytest.mark.parametrize("cog", [False, True], ids=["gtiff", "cog"])
def test_large_output_has_internal_average_overviews(tmp_path: Path, cog: bool) -> None:
    rng = np.random.default_rng(0)
    values = rng.uniform(0.1, 0.5, (2, 1024, 1024)).astype(np.float32)
    valid = np.ones((1024, 1024), bool)
    out = write_output(tmp_path / "out.tif", make_spec(1024, 1024, band_info(2), cog=cog), values, valid)
    with rasterio.open(out) as ds:
        assert ds.overviews(1) == ds.overviews(2) == [2, 4, 8]
        assert ds.tags()["PIFNET_RATIO"] == "3"  # metadata survives the overview build
        assert ds.tags(ns="IMAGE_STRUCTURE")["COMPRESSION"] == "DEFLATE"
    with rasterio.open(out, overview_level=0) as ovr:
        assert ovr.shape == (512, 512)
        expected = values.reshape(2, 512, 2, 512, 2).mean(axis=(2, 4))
        np.testing.assert_allclose(ovr.read(), expected, rtol=1e-6)
    # Internal: nothing beside the .tif (no .ovr, no .aux.xml, no temporary file; two bands get no style).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"]


@pytest.mark.parametrize("cog", [False, True], ids=["gtiff", "cog"])
def test_small_output_has_no_overviews(tmp_path: Path, cog: bool) -> None:
    values = np.full((3, 100, 120), 0.25, np.float32)
    out = write_output(tmp_path / "out.tif", make_spec(100, 120, band_info(3), cog=cog), values,
                       np.ones((100, 120), bool))
    with rasterio.open(out) as ds:
        assert ds.overviews(1) == []


@pytest.mark.parametrize(("dtype", "nodata"), [("float32", float("nan")), ("float32", -9999.0),
                                              ("int16", -32768.0)], ids=["nan", "minus9999", "int16"])
@pytest.mark.parametrize("cog", [False, True], ids=["gtiff", "cog"])
def test_nodata_does_not_bleed_into_overviews(tmp_path: Path, dtype: str, nodata: float, cog: bool) -> None:
    """In every 2x2 cell the top-left pixel is nodata: the overview is the mean of the other three;
    the first 64 columns are all nodata: nodata in the overview too."""
    size = 512
    rng = np.random.default_rng(1)
    values = rng.uniform(100.0, 200.0, (1, size, size)).astype(np.float32)
    if dtype == "int16":
        values = np.rint(values)
    valid = np.ones((size, size), bool)
    valid[0::2, 0::2] = False
    valid[:, :64] = False
    out = write_output(tmp_path / "out.tif", make_spec(size, size, band_info(1), dtype=dtype, nodata=nodata, cog=cog),
                       values, valid)
    with rasterio.open(out) as ds:
        assert ds.overviews(1) == [2, 4]
    with rasterio.open(out, overview_level=0) as ovr:
        got = ovr.read(1).astype(np.float64)
        got_valid = ovr.read_masks(1) > 0
    cells = np.where(valid, values[0], np.nan).reshape(size // 2, 2, size // 2, 2)
    expected = _nanmean_cells(cells)
    assert not got_valid[:, :32].any()
    assert got_valid[:, 32:].all()
    if np.isnan(nodata):
        assert np.isnan(got[:, :32]).all()
    else:
        assert (got[:, :32] == nodata).all()
    tolerance = 0.5 if dtype == "int16" else 1e-3  # integer averages are rounded
    np.testing.assert_allclose(got[:, 32:], expected[:, 32:], atol=tolerance)


def _nanmean_cells(cells: np.ndarray) -> np.ndarray:
    """(h, 2, w, 2) with NaN for nodata -> (h, w) mean of the valid values (NaN where none)."""
    total = np.nansum(cells, axis=(1, 3))
    count = np.isfinite(cells).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


@pytest.mark.parametrize("cog", [False, True], ids=["gtiff", "cog"])
def test_no_overviews_when_asked(tmp_path: Path, cog: bool) -> None:
    """``fuse --no-overviews``: the same large output without them (and otherwise the same pixels)."""
    from .cli_runner import fuse
    from .scenes import make_pair

    pair = make_pair(tmp_path, bands=6, fine=(768, 768), ratio=3)
    extra = ["--method", "bicubic", *(["--cog"] if cog else [])]
    with_ovr = fuse(pair.hsi, pair.msi, tmp_path / "with.tif", *extra)
    without = fuse(pair.hsi, pair.msi, tmp_path / "without.tif", *extra, "--no-overviews")
    with rasterio.open(with_ovr) as a, rasterio.open(without) as b:
        assert a.overviews(1) == [2, 4] and b.overviews(1) == []
        np.testing.assert_array_equal(a.read(), b.read())


def test_overviews_are_compressed_at_the_fast_deflate_level(tmp_path: Path) -> None:
    """The overviews take DEFLATE level 1 (faster to write, slightly larger) and the same averages
    as GDAL's own build at its default level; the full resolution is left as it was."""
    rng = np.random.default_rng(2)
    smooth = np.cumsum(rng.normal(0, 1, (2, 512, 512)), axis=2).astype(np.float32)
    paths = []
    for name in ("ours.tif", "gdal_default.tif"):
        path = tmp_path / name
        with rasterio.open(path, "w", driver="GTiff", width=512, height=512, count=2, dtype="float32",
                           tiled=True, blockxsize=256, blockysize=256, compress="DEFLATE", predictor=3,
                           interleave="band") as ds:
            ds.write(smooth)
        paths.append(path)
    base_bytes = paths[0].stat().st_size
    build_overviews(paths[0], [2, 4])
    with rasterio.open(paths[1], "r+") as ds:
        ds.build_overviews([2, 4], Resampling.average)
    ours, default = (p.stat().st_size - base_bytes for p in paths)
    assert ours > default * 1.01, (ours, default)  # level 1 compresses less than GDAL's default 6
    for level in (0, 1):
        with rasterio.open(paths[0], overview_level=level) as a, rasterio.open(paths[1], overview_level=level) as b:
            np.testing.assert_array_equal(a.read(), b.read())
    with rasterio.open(paths[0]) as ds:
        np.testing.assert_array_equal(ds.read(), smooth)


@pytest.mark.parametrize(("dtype", "nodata"), [("float32", float("nan")), ("float32", -9999.0),
                                              ("int16", -32768.0)], ids=["nan", "minus9999", "int16"])
def test_an_output_without_nodata_pixels_gets_the_same_overviews_faster(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dtype: str, nodata: float) -> None:
    """Every pixel valid: the overviews are averaged with the nodata value unset (GDAL's vectorised
    path), equal to GDAL's own build with it set, and carry the nodata value as GDAL's would."""
    from pifnet_engine.raster import overviews

    calls: list[list[int]] = []
    real = overviews._build_without_nodata
    monkeypatch.setattr(overviews, "_build_without_nodata", lambda ds, levels: (calls.append(levels), real(ds, levels)))
    rng = np.random.default_rng(3)
    values = rng.uniform(100.0, 200.0, (2, 512, 512)).astype(np.float32)
    if dtype == "int16":
        values = np.rint(values)
    out = write_output(tmp_path / "out.tif", make_spec(512, 512, band_info(2), dtype=dtype, nodata=nodata),
                       values, np.ones((512, 512), bool))
    assert calls == [[2, 4]]
    reference = tmp_path / "gdal.tif"
    with rasterio.open(out) as src:
        profile = src.profile
        data = src.read()
    with rasterio.open(reference, "w", **profile) as ds:
        ds.write(data)
        ds.build_overviews([2, 4], Resampling.average)
    for level in (0, 1):
        with rasterio.open(out, overview_level=level) as a, rasterio.open(reference, overview_level=level) as b:
            assert (a.nodata == b.nodata) or (np.isnan(a.nodata) and np.isnan(b.nodata))
            tolerance = 1.0 if dtype == "int16" else 1e-4  # integer averages may round the other way
            np.testing.assert_allclose(a.read().astype(np.float64), b.read().astype(np.float64), atol=tolerance)
    with rasterio.open(out) as ds:
        assert ds.nodata == nodata or (np.isnan(ds.nodata) and np.isnan(nodata))
        np.testing.assert_array_equal(ds.read(), data)


def test_an_output_with_one_nodata_pixel_averages_around_it(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A single invalid pixel is enough for GDAL's nodata-aware average (the fast build is not used)."""
    from pifnet_engine.raster import overviews

    monkeypatch.setattr(overviews, "_build_without_nodata", lambda ds, levels: pytest.fail("fast build used"))
    values = np.full((1, 512, 512), 4.0, np.float32)
    valid = np.ones((512, 512), bool)
    valid[300, 301] = False
    values[0, 300, 300] = 8.0  # the cell's mean of its 3 valid pixels is 16/3, with the nodata -9999 it'd be < 0
    out = write_output(tmp_path / "out.tif", make_spec(512, 512, band_info(1), nodata=-9999.0), values, valid)
    with rasterio.open(out, overview_level=0) as ovr:
        assert ovr.read(1)[150, 150] == pytest.approx(16.0 / 3.0)
        assert ovr.nodata == -9999.0


def test_holds_value_finds_nan_and_numbers() -> None:
    from pifnet_engine.writer import holds_value

    a = np.zeros((2, 3, 3), np.float32)
    assert not holds_value(a, float("nan")) and not holds_value(a, -9999.0)
    a[1, 2, 2] = np.nan
    assert holds_value(a, float("nan"))
    a[0, 0, 0] = -9999.0
    assert holds_value(a, -9999.0)
    assert not holds_value(np.zeros(4, np.int16), float("nan"))
    assert holds_value(np.full(4, -32768, np.int16), -32768.0)
