"""Georeferenced HSI: EnMAP-like tiles (scale, nodata, bad bands, wavelengths), mosaicking into
contiguous blocks, and the demo tiles' exclusion; plus the real EnMAP tiles when present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from training.scenes.enmap import load_enmap_training_blocks
from training.scenes.mosaic import group_tiles, mosaic_blocks
from training.scenes.raster import load_raster
from training.splits import ENMAP_DEMO_RESERVED_TILES

from ..shared_data import needs_shared


NODATA = -32768.0
BANDS = 6
BAD = 3  # 0-based index of the bad band (bbl=0, all nodata)
WAVELENGTHS = (450.0, 550.0, 650.0, 940.0, 1600.0, 2200.0)
T = 4  # tile size, px
ORIGIN = (362175.0, 5809965.0)  # parent upper-left, UTM 33N


def overlap_area(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Area shared by two (left, bottom, right, top) boxes; 0 when they only touch."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def block_bounds(scene) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a north-up 30 m scene."""
    h, w = scene.shape_hw
    left, top = scene.transform.c, scene.transform.f
    return left, top - 30.0 * h, left + 30.0 * w, top


def valid_px(scene) -> int:
    """Number of valid pixels of a scene."""
    return int(scene.valid.sum()) if scene.valid is not None else scene.shape_hw[0] * scene.shape_hw[1]


def write_tile(folder: Path, col: int, row: int, seed: int, holes: bool = False) -> Path:
    """A T x T EnMAP-like tile at pixel offset (col, row) of the parent grid, named like the real
    ones; values = reflectance * 10000 stored as float32 with scale 0.0001."""
    rng = np.random.default_rng(seed)
    data = rng.uniform(100, 9000, size=(BANDS, T, T)).astype(np.float32)
    data[BAD] = NODATA
    if holes:
        data[:, 0, 0] = NODATA
    path = folder / f"enmap_potsdam_tile_{col}_{row}.tif"
    transform = from_origin(ORIGIN[0] + 30.0 * col, ORIGIN[1] - 30.0 * row, 30.0, 30.0)
    with rasterio.open(path, "w", driver="GTiff", width=T, height=T, count=BANDS, dtype="float32",
                       crs="EPSG:32633", transform=transform, nodata=NODATA) as dst:
        dst.write(data)
        dst.scales = (0.0001,) * BANDS
        for b in range(BANDS):
            dst.update_tags(b + 1, wavelength=str(WAVELENGTHS[b]), wavelength_units="Nanometers",
                            fwhm="7.0", bbl="0" if b == BAD else "1")
    return path


def test_load_raster_applies_scale_nodata_and_band_metadata(tmp_path: Path) -> None:
    path = write_tile(tmp_path, 0, 0, seed=0, holes=True)
    with rasterio.open(path) as src:
        raw = src.read()
        transform = src.transform
    scene = load_raster(path, full_scale=1.0)
    assert scene.cube.shape == (BANDS, T, T) and scene.cube.dtype == np.float32
    assert scene.good_bands == tuple(b != BAD for b in range(BANDS))
    assert scene.wavelengths_nm == WAVELENGTHS and scene.fwhm_nm == (7.0,) * BANDS
    assert scene.transform == transform
    assert scene.valid is not None and not scene.valid[0, 0] and scene.valid.sum() == T * T - 1
    good = [b for b in range(BANDS) if b != BAD]
    np.testing.assert_allclose(scene.cube[good, 1:, :], raw[good, 1:, :] * 1e-4, rtol=1e-6)
    assert not scene.cube[BAD].any() and not scene.cube[:, 0, 0].any()  # bad band / nodata -> 0


def test_group_tiles_by_shared_edges(tmp_path: Path) -> None:
    a = write_tile(tmp_path, 0, 0, 1)
    b = write_tile(tmp_path, T, 0, 2)  # right of a
    c = write_tile(tmp_path, T, T, 3)  # below b
    d = write_tile(tmp_path, 3 * T, 2 * T, 4)  # touches c at a corner only -> separate
    groups = group_tiles([d, c, b, a])
    assert [sorted(p.name for p in g) for g in groups] == [sorted([a.name, b.name, c.name]), [d.name]]


def test_mosaic_block_values_transform_and_gap_mask(tmp_path: Path) -> None:
    a = write_tile(tmp_path, 0, 0, 1)
    b = write_tile(tmp_path, T, 0, 2)
    c = write_tile(tmp_path, T, T, 3)
    (block,) = mosaic_blocks([a, b, c], prefix="blk", full_scale=1.0)
    assert block.name == "blk_0" and block.cube.shape == (BANDS, 2 * T, 2 * T)
    assert block.transform == from_origin(*ORIGIN, 30.0, 30.0)
    expected_valid = np.ones((2 * T, 2 * T), bool)
    expected_valid[T:, :T] = False  # no tile below a
    np.testing.assert_array_equal(block.valid, expected_valid)
    for path, (r, c0) in ((a, (0, 0)), (b, (0, T)), (c, (T, T))):
        tile = load_raster(path)
        np.testing.assert_array_equal(block.cube[:, r : r + T, c0 : c0 + T], tile.cube)
    assert not block.cube[:, T:, :T].any()


def test_reserved_demo_tiles_never_reach_training_blocks(tmp_path: Path) -> None:
    # the four demo tiles (names of the real ones) plus training tiles, one adjacent to them
    reserved = [write_tile(tmp_path, int(n.split("_")[-2]), int(n.split("_")[-1]), seed=i)
                for i, n in enumerate(ENMAP_DEMO_RESERVED_TILES)]
    assert sorted(p.stem for p in reserved) == sorted(ENMAP_DEMO_RESERVED_TILES)
    # tile 64+T_0 shares an edge with the reserved tile 64_0: it must not pull it into its block
    train = [write_tile(tmp_path, 64 + T, 0, 10), write_tile(tmp_path, 128, T, 11), write_tile(tmp_path, 160, 64, 12)]
    blocks = load_enmap_training_blocks(tmp_path)
    assert sum(valid_px(b) for b in blocks) == len(train) * T * T
    assert len(blocks) == 3
    for block in blocks:
        for path in reserved:
            with rasterio.open(path) as src:
                assert overlap_area(block_bounds(block), tuple(src.bounds)) == 0.0
    # without the exclusion list the demo tiles would be mosaicked in
    everything = load_enmap_training_blocks(tmp_path, reserved=())
    assert sum(valid_px(b) for b in everything) == 7 * T * T


@pytest.mark.realdata
@needs_shared("enmap_potsdam_tiles", "images")
def test_real_enmap_training_blocks(shared_data: Path) -> None:
    enmap = shared_data / "enmap_potsdam_tiles"
    blocks = load_enmap_training_blocks(enmap)
    tiles = sorted((enmap / "images").glob("*.tif"))
    n_train = len([t for t in tiles if t.stem not in ENMAP_DEMO_RESERVED_TILES])
    assert n_train == len(tiles) - 4 == 14
    assert sum(valid_px(b) for b in blocks) == n_train * 32 * 32
    reserved_bounds = []
    for t in tiles:
        if t.stem in ENMAP_DEMO_RESERVED_TILES:
            with rasterio.open(t) as src:
                reserved_bounds.append(tuple(src.bounds))
    for block in blocks:
        assert block.bands == 224 and sum(block.good_bands) == 218
        assert block.wavelengths_nm[0] == pytest.approx(418.24) and block.fwhm_nm is not None
        assert all(overlap_area(block_bounds(block), rb) == 0.0 for rb in reserved_bounds)
        good = block.cube[np.asarray(block.good_bands)]
        values = good[:, block.valid] if block.valid is not None else good
        assert -0.1 < values.min() and values.max() < 1.1  # reflectance, not x10000
