"""Window layout, blending weights and tiled == untiled invariance (issue 2, item 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

from pifnet_engine.grid import GridPlan
from pifnet_engine.tiling import TileLayout
from .cli_runner import run
from .scenes import make_pair, smooth_cube, write_raster


def _plan(h: int, w: int, ratio: int = 3, origin: tuple[int, int] = (0, 0), out_off: tuple[int, int] = (0, 0)) -> GridPlan:
    t = Affine(10, 0, 0, 0, -10, 0)
    return GridPlan(crs=rasterio.crs.CRS.from_epsg(32633), ratio=ratio, ratio_measured=(ratio, ratio),
                    msi_res=(10, 10), hsi_res=(10 * ratio, 10 * ratio),
                    out_window=Window(out_off[1], out_off[0], w, h), out_transform=t,
                    coarse_transform=t, coarse_shape=(h // ratio + 2, w // ratio + 2),
                    coarse_origin_px=origin, warp_reason=None)


@pytest.mark.parametrize("tile,overlap", [(12, 0), (12, 3), (18, 6), (30, 15)])
def test_weights_are_a_partition_of_unity(tile: int, overlap: int) -> None:
    plan = _plan(50, 71, origin=(-1, 2), out_off=(1, 4))
    lay = TileLayout(plan, tile, overlap, 6)
    total = np.zeros((50, 71))
    for t in lay.tiles():
        assert t.read.width == lay.window_px and t.read.height == lay.window_px
        c = t.contrib
        r0, c0 = int(c.row_off) - 1, int(c.col_off) - 4
        total[r0:r0 + int(c.height), c0:c0 + int(c.width)] += lay.weights(t)
        # Blocks tile the contribution exactly once.
        blocks = np.zeros((int(c.height), int(c.width)), int)
        for _, bw, expected in lay.blocks_of(t):
            blocks[int(bw.row_off - c.row_off):int(bw.row_off - c.row_off + bw.height),
                   int(bw.col_off - c.col_off):int(bw.col_off - c.col_off + bw.width)] += 1
        assert (blocks == 1).all()
        # Tiles start on coarse corners and read the HSI window matching the MSI window.
        assert (t.read.col_off - 2) % 3 == 0 and (t.read.row_off + 1) % 3 == 0
        assert t.hsi_read.col_off * 3 + 2 == t.read.col_off and t.hsi_read.width * 3 == t.read.width
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


@pytest.mark.parametrize("method", ["bicubic", "gsa"])
def test_tile_size_does_not_change_result(tmp_path: Path, method: str) -> None:
    """64 vs 512 px tiles (and a blended small-tile run): max abs diff <= 1e-5 of the data range."""
    pair = make_pair(tmp_path, bands=20, fine=(150, 201), ratio=3, hsi_offset_px=(3, 6))
    # Punch a nodata hole into the HSI so that filling is exercised across window borders.
    with rasterio.open(pair.hsi, "r+") as ds:
        a = ds.read()
        a[:, 20:23, 30:34] = -32768.0
        ds.write(a)
    outs = []
    for tile, overlap in [(64, 0), (512, 0), (33, 12)]:
        out = tmp_path / f"{method}_{tile}_{overlap}.tif"
        code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(out), "--method", method,
                         "--tile-size", str(tile), "--overlap", str(overlap)])
        assert code == 0, err
        with rasterio.open(out) as ds:
            outs.append(ds.read(masked=True))
    rng = float(outs[1].max() - outs[1].min())
    for other in (outs[0], outs[2]):
        assert (other.mask == outs[1].mask).all()
        assert float(np.abs(other - outs[1]).max()) <= 1e-5 * rng
    # The hole is nodata in the output, exactly over its footprint.
    hole = outs[1].mask[0]
    assert hole.sum() == 3 * 3 * 4 * 3
    assert hole[60:69, 90:102].all()  # output origin = HSI origin


def test_gsa_beats_bicubic_on_consistent_pair(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, bands=24, fine=(120, 120), ratio=4, seed=5)
    errs = {}
    for method in ("bicubic", "gsa"):
        out = tmp_path / f"{method}.tif"
        code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(out), "--method", method])
        assert code == 0, err
        with rasterio.open(out) as ds:
            errs[method] = float(np.sqrt(((ds.read() - pair.truth) ** 2).mean()))
    assert errs["gsa"] < 0.9 * errs["bicubic"], errs


def test_fuse_arrays_equals_the_fused_file_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-memory path (no temporary files) gives the pixels the CLI writes, bit for bit, seams
    and nodata included."""
    import tempfile

    from pifnet_engine.arrays import fuse_arrays

    truth = smooth_cube(12, 96, 120, seed=3)
    hsi = truth.reshape(12, 32, 3, 40, 3).mean(axis=(2, 4)).astype(np.float32)
    msi = np.stack([truth[0:4].mean(0), truth[4:8].mean(0), truth[8:].mean(0)]).astype(np.float32)
    hsi[:, 5:7, 9:12] = np.nan
    hsi_path = write_raster(tmp_path / "hsi.tif", hsi, Affine(30, 0, 500000, 0, -30, 5000000), nodata=float("nan"))
    msi_path = write_raster(tmp_path / "msi.tif", msi, Affine(10, 0, 500000, 0, -10, 5000000), nodata=float("nan"))
    out = tmp_path / "file.tif"
    code, err = run(["fuse", str(hsi_path), str(msi_path), "-o", str(out), "--method", "gsa", "--tile-size", "33",
                     "--overlap", "12", "--no-report"])
    assert code == 0, err
    with rasterio.open(out) as ds:
        from_file = ds.read()
    def no_files(*args: object, **kwargs: object) -> None:
        raise AssertionError("fuse_arrays made a temporary file or folder")

    for name in ("mkdtemp", "mkstemp", "TemporaryDirectory", "NamedTemporaryFile"):
        monkeypatch.setattr(tempfile, name, no_files)
    in_memory = fuse_arrays(hsi, msi, "gsa", tile_px=33, overlap_px=12, device="cpu")
    assert np.array_equal(in_memory, from_file, equal_nan=True)
    assert np.isnan(in_memory[:, 15:21, 27:36]).all() and np.isfinite(in_memory[:, :15]).all()
