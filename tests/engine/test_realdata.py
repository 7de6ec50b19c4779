"""End to end on REAL georeferenced EnMAP L2A tiles (../shared/data/enmap_potsdam_tiles; skipped when absent).

The HSI is a mosaic of three real 32 x 32 px tiles (30 m, 224 bands, scale 0.0001, nodata -32768,
6 bad bands) made with ``rasterio.merge``; the fourth quadrant of its extent has no tile and is
nodata. The MSI (10 m, ratio 3, 4 bands) is simulated from the bicubically upsampled HSI through
a box spectral response and has its own grid: it starts 7 MSI pixels right of the HSI (inside a
coarse pixel) and 9 pixels above it (outside), so the output is the MSI grid over the overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
import torch.nn.functional as F
from affine import Affine
from rasterio.merge import merge

from ..shared_data import needs_shared

TILES = ["enmap_potsdam_tile_96_0.tif", "enmap_potsdam_tile_128_0.tif", "enmap_potsdam_tile_96_32.tif"]
RATIO = 3
MSI_OFFSET_PX = (-9, 7)          # (row, col) of the MSI's top-left corner in fine pixels of the HSI
MSI_SHAPE = (120, 150)
HOLE = (10, 20, 50)              # (row, col, band) of a single-band nodata pixel put into the HSI
BOX_SRF_NM = [(450.0, 520.0), (530.0, 590.0), (640.0, 670.0), (780.0, 880.0)]

pytestmark = [
    pytest.mark.realdata,
    *(needs_shared("enmap_potsdam_tiles", "images", t) for t in TILES),
]


@dataclass
class RealPair:
    hsi: Path
    msi: Path
    hsi_raw: np.ndarray          # (224, 64, 64) float32 raw values of the mosaic (x 1e-4 = reflectance)
    nodata: float
    good: np.ndarray             # (224,) bool
    wavelengths: list[float]
    fwhm: list[float]


from .cli_runner import fuse  # noqa: E402


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> RealPair:
    tmp = tmp_path_factory.mktemp("enmap")
    sources = [rasterio.open(shared_data / "enmap_potsdam_tiles" / "images" / t) for t in TILES]
    try:
        first = sources[0]
        raw, transform = merge(sources)                      # (224, 64, 64); missing quadrant = nodata
        count, nodata = first.count, first.nodata
        tags = [first.tags(b) for b in range(1, count + 1)]
        descriptions, scales, offsets = first.descriptions, first.scales, first.offsets
        crs = first.crs
    finally:
        for s in sources:
            s.close()
    assert raw.shape == (224, 64, 64)
    raw = raw.astype(np.float32)
    raw[HOLE[2], HOLE[0], HOLE[1]] = nodata
    hsi_path = tmp / "enmap_mosaic.tif"
    with rasterio.open(hsi_path, "w", driver="GTiff", width=64, height=64, count=count, dtype="float32",
                       crs=crs, transform=transform, nodata=nodata, tiled=True, blockxsize=32,
                       blockysize=32) as ds:
        ds.write(raw)
        for b in range(count):
            ds.update_tags(b + 1, **tags[b])
            ds.set_band_description(b + 1, descriptions[b])
        ds.scales, ds.offsets = scales, offsets

    good = np.array([t["bbl"] == "1" for t in tags])
    wl = [float(t["wavelength"]) for t in tags]
    fwhm = [float(t["fwhm"]) for t in tags]
    # Simulated MSI: bicubic x3 of the reflectance, box SRF, then its own (shifted) grid.
    refl = np.where(raw == nodata, 0.0, raw * scales[0]).astype(np.float32)
    up = F.interpolate(torch.from_numpy(refl)[None], scale_factor=RATIO, mode="bicubic",
                       align_corners=False)[0].numpy()
    msi_full = np.stack([up[good & (np.array(wl) >= lo) & (np.array(wl) <= hi)].mean(axis=0)
                         for lo, hi in BOX_SRF_NM])
    dy, dx = MSI_OFFSET_PX
    h, w = MSI_SHAPE
    padded = np.pad(msi_full, ((0, 0), (-dy, 0), (0, 0)), mode="edge")     # rows above the HSI
    msi = padded[:, :h, dx:dx + w]
    assert msi.shape == (4, h, w)
    msi_transform = Affine(10.0, 0, transform.c + 10.0 * dx, 0, -10.0, transform.f - 10.0 * dy)
    msi_path = tmp / "s2_sim.tif"
    with rasterio.open(msi_path, "w", driver="GTiff", width=w, height=h, count=4, dtype="float32",
                       crs=crs, transform=msi_transform) as ds:
        ds.write(msi.astype(np.float32))
        for b, (lo, hi) in enumerate(BOX_SRF_NM):
            ds.update_tags(b + 1, wavelength=str((lo + hi) / 2), wavelength_units="Nanometers")
    return RealPair(hsi_path, msi_path, raw, nodata, good, wl, fwhm)


@pytest.fixture(scope="module")
def outputs(pair: RealPair, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Path]:
    tmp = tmp_path_factory.mktemp("enmap_out")
    return {(m, t): fuse(pair.hsi, pair.msi, tmp / f"{m}_{t}.tif", "--method", m, "--tile-size", str(t))
            for m in ("bicubic", "gsa") for t in (64, 512)}


def _expected_invalid(pair: RealPair) -> np.ndarray:
    """(H, W) bool on the output grid: fine pixels whose coarse HSI pixel is nodata in a good band."""
    coarse = (pair.hsi_raw[pair.good] == pair.nodata).any(axis=0)              # (64, 64)
    fine = np.repeat(np.repeat(coarse, RATIO, axis=0), RATIO, axis=1)           # (192, 192)
    h = MSI_SHAPE[0] + MSI_OFFSET_PX[0]
    return fine[:h, MSI_OFFSET_PX[1]:MSI_OFFSET_PX[1] + MSI_SHAPE[1]]


@pytest.mark.parametrize("method", ["bicubic", "gsa"])
def test_real_pair_output_grid_metadata_and_nodata(pair: RealPair, outputs: dict, method: str) -> None:
    out = outputs[(method, 512)]
    with rasterio.open(pair.msi) as msi, rasterio.open(pair.hsi) as hsi, rasterio.open(out) as o:
        # Output = MSI grid over the overlap: the 9 MSI rows above the HSI are cut off.
        assert o.crs == msi.crs == hsi.crs
        assert o.transform == msi.transform @ Affine.translation(0, -MSI_OFFSET_PX[0])
        assert (o.height, o.width) == (MSI_SHAPE[0] + MSI_OFFSET_PX[0], MSI_SHAPE[1]) == (111, 150)
        assert o.transform.f == hsi.transform.f
        assert o.count == 224 and o.nodata == pair.nodata
        for b in range(224):
            tags = o.tags(b + 1)
            assert float(tags["wavelength"]) == pytest.approx(pair.wavelengths[b], rel=1e-6)
            assert float(tags["fwhm"]) == pytest.approx(pair.fwhm[b], rel=1e-5)
            assert tags["wavelength_units"] == "Nanometers"
            assert tags["bbl"] == ("1" if pair.good[b] else "0")
        assert o.descriptions == hsi.descriptions
        data = o.read()
    invalid = data == pair.nodata
    assert (~pair.good).sum() == 6
    assert invalid[~pair.good].all(), "the 6 bad bands must be nodata"
    expected = _expected_invalid(pair)
    assert expected.sum() > 900 and not expected.all()       # the missing quadrant + the hole
    for b in np.flatnonzero(pair.good):
        np.testing.assert_array_equal(invalid[b], expected, err_msg=f"band {b + 1}")
    valid = data[pair.good][:, ~expected]
    # Scale 0.0001 honoured: reflectance, not DN (the tiles store reflectance x 10000).
    assert -0.2 < valid.min() and valid.max() < 1.5
    assert 0.01 < float(np.median(valid)) < 0.6
    # Band means over the valid output match the HSI's physical means over the same ground.
    coarse_valid = ~(pair.hsi_raw[pair.good] == pair.nodata).any(axis=0)
    rows = slice(0, (MSI_SHAPE[0] + MSI_OFFSET_PX[0]) // RATIO)
    cols = slice(3, (MSI_OFFSET_PX[1] + MSI_SHAPE[1]) // RATIO)
    hsi_mean = (pair.hsi_raw[pair.good][:, rows, cols][:, coarse_valid[rows, cols]] * 1e-4).mean()
    assert float(valid.mean()) == pytest.approx(float(hsi_mean), rel=0.05)


@pytest.mark.parametrize("method", ["bicubic", "gsa"])
def test_real_pair_tile_size_invariance(pair: RealPair, outputs: dict, method: str) -> None:
    with rasterio.open(outputs[(method, 64)]) as a, rasterio.open(outputs[(method, 512)]) as b:
        assert a.tags()["PIFNET_TILE_PX"] != b.tags()["PIFNET_TILE_PX"]
        x, y = a.read(), b.read()
    np.testing.assert_array_equal(x == pair.nodata, y == pair.nodata)
    ok = y != pair.nodata
    data_range = float(y[ok].max() - y[ok].min())
    assert data_range > 0.1
    assert float(np.abs(x[ok] - y[ok]).max()) <= 1e-5 * data_range
