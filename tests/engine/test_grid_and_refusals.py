"""Grid planning through the real CLI: golden georeferencing and every refusal (issue 2, item 3/6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from click.testing import CliRunner

from pifnet_engine.cli.main import cli
from .cli_runner import run
from .scenes import make_pair, smooth_cube, write_raster


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "pifnet" in p.name or p.name.startswith("out"))


def test_output_grid_is_msi_grid_over_overlap(tmp_path: Path) -> None:
    # HSI starts 6 MSI px right/down of the MSI origin and ends inside it.
    pair = make_pair(tmp_path, fine=(90, 120), ratio=3, hsi_offset_px=(6, 9))
    out = tmp_path / "out.tif"
    code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(out), "--method", "bicubic"])
    assert code == 0, err
    with rasterio.open(pair.msi) as msi, rasterio.open(pair.hsi) as hsi, rasterio.open(out) as o:
        assert o.crs == msi.crs
        assert o.transform == msi.transform @ Affine.translation(9, 6)
        assert (o.height, o.width) == (hsi.height * 3, hsi.width * 3) == (84, 111)
        assert o.count == hsi.count
        assert o.bounds == hsi.bounds


def test_msi_smaller_than_hsi_crops_to_msi(tmp_path: Path) -> None:
    truth = smooth_cube(6, 60, 60, seed=3)
    hsi = truth.reshape(6, 20, 3, 20, 3).mean(axis=(2, 4))
    write_raster(tmp_path / "hsi.tif", hsi, Affine(30, 0, 1000, 0, -30, 2000))
    # MSI covers cols 12..47, rows 3..50 of the fine grid: starts mid-coarse-pixel.
    write_raster(tmp_path / "msi.tif", truth[:4, 3:51, 12:48], Affine(10, 0, 1120, 0, -10, 1970))
    out = tmp_path / "out.tif"
    code, err = run(["fuse", str(tmp_path / "hsi.tif"), str(tmp_path / "msi.tif"), "-o", str(out)])
    assert code == 0, err
    with rasterio.open(tmp_path / "msi.tif") as msi, rasterio.open(out) as o:
        assert o.transform == msi.transform and o.shape == msi.shape


def test_hsi_in_another_crs_is_warped_with_warning(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, fine=(90, 90), ratio=3)
    # Reproject the HSI into geographic coordinates (EPSG:4326) at ~30 m.
    from rasterio.warp import calculate_default_transform, reproject, Resampling
    with rasterio.open(pair.hsi) as src:
        t, w, h = calculate_default_transform(src.crs, "EPSG:4326", src.width, src.height, *src.bounds)
        data = np.full((src.count, h, w), -32768.0, np.float32)
        reproject(src.read(), data, src_transform=src.transform, src_crs=src.crs, dst_transform=t,
                  dst_crs="EPSG:4326", resampling=Resampling.bilinear, dst_nodata=-32768.0)
        geo = write_raster(tmp_path / "hsi_4326.tif", data, t, crs="EPSG:4326", nodata=-32768.0)
    out = tmp_path / "out.tif"
    code, err = run(["fuse", str(geo), str(pair.msi), "-o", str(out), "--method", "bicubic"])
    assert code == 0, err
    assert "Warning:" in err and "CRS differs" in err
    with rasterio.open(pair.msi) as msi, rasterio.open(out) as o:
        assert o.crs == msi.crs
        assert o.transform.a == msi.transform.a and o.transform.e == msi.transform.e
        z = o.read(masked=True)
    # Interior pixels approximate the truth (two resamplings + bicubic on smooth data).
    inner = z[:, 15:-15, 15:-15]
    assert inner.mask.sum() == 0
    assert float(np.abs(inner - pair.truth[:, 15:75, 15:75][:, : inner.shape[1], : inner.shape[2]]).mean()) < 0.02


def test_misaligned_hsi_is_warped(tmp_path: Path) -> None:
    truth = smooth_cube(5, 60, 60, seed=1)
    hsi = truth.reshape(5, 20, 3, 20, 3).mean(axis=(2, 4))
    write_raster(tmp_path / "hsi.tif", hsi, Affine(30, 0, 1004, 0, -30, 2000))  # 0.4 px shift
    write_raster(tmp_path / "msi.tif", truth[:4], Affine(10, 0, 1000, 0, -10, 2000))
    code, err = run(["info", str(tmp_path / "hsi.tif"), str(tmp_path / "msi.tif")])
    assert code == 0, err
    code, err = run(["fuse", str(tmp_path / "hsi.tif"), str(tmp_path / "msi.tif"), "-o", str(tmp_path / "o.tif")])
    assert code == 0 and "offset" in err and "warped" in err


def _refusal(tmp_path: Path, hsi: Path, msi: Path, expect_code: int, *words: str,
             extra: tuple[str, ...] = ()) -> None:
    out = tmp_path / "out.tif"
    code, err = run(["fuse", str(hsi), str(msi), "-o", str(out), *extra])
    assert code == expect_code, err
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert "Traceback" not in err
    for w in words:
        assert w in err, (w, err)
    assert not out.exists()
    assert leftovers(tmp_path) == []


def _grid_pair(tmp_path: Path, hsi_t: Affine, msi_t: Affine, hsi_crs: str | None = "EPSG:32633",
               msi_crs: str | None = "EPSG:32633", hsi_shape=(20, 20), msi_shape=(60, 60)) -> tuple[Path, Path]:
    h = write_raster(tmp_path / "hsi.tif", smooth_cube(6, *hsi_shape), hsi_t, crs=hsi_crs)
    m = write_raster(tmp_path / "msi.tif", smooth_cube(3, *msi_shape, seed=2), msi_t, crs=msi_crs)
    return h, m


def test_refuses_no_overlap(tmp_path: Path) -> None:
    h, m = _grid_pair(tmp_path, Affine(30, 0, 100000, 0, -30, 2000), Affine(10, 0, 1000, 0, -10, 2000))
    _refusal(tmp_path, h, m, 1, "do not overlap")


def test_refuses_non_integer_ratio_unless_allowed(tmp_path: Path) -> None:
    h, m = _grid_pair(tmp_path, Affine(25, 0, 1000, 0, -25, 2000), Affine(10, 0, 1000, 0, -10, 2000),
                      hsi_shape=(24, 24))
    _refusal(tmp_path, h, m, 1, "2.5", "not close to an integer", "--allow-resample")
    out = tmp_path / "resampled.tif"
    code, err = run(["fuse", str(h), str(m), "-o", str(out), "--allow-resample"])
    assert code == 0, err
    assert "resampled to ratio" in err
    with rasterio.open(out) as o, rasterio.open(m) as msi:
        assert o.transform == msi.transform and o.shape == msi.shape


def test_refuses_ratio_below_two(tmp_path: Path) -> None:
    h, m = _grid_pair(tmp_path, Affine(10, 0, 1000, 0, -10, 2000), Affine(10, 0, 1000, 0, -10, 2000))
    _refusal(tmp_path, h, m, 1, "at least 2")


def test_refuses_swapped_arguments(tmp_path: Path) -> None:
    h, m = _grid_pair(tmp_path, Affine(30, 0, 1000, 0, -30, 2000), Affine(10, 0, 1000, 0, -10, 2000))
    _refusal(tmp_path, m, h, 1, "swapped")


def test_refuses_rotated_transform(tmp_path: Path) -> None:
    rot = Affine(30, 0, 1000, 0, -30, 2000) @ Affine.rotation(10)
    h, m = _grid_pair(tmp_path, rot, Affine(10, 0, 1000, 0, -10, 2000))
    _refusal(tmp_path, h, m, 1, "rotated")


def test_refuses_missing_crs(tmp_path: Path) -> None:
    h, m = _grid_pair(tmp_path, Affine(30, 0, 1000, 0, -30, 2000), Affine(10, 0, 1000, 0, -10, 2000),
                      msi_crs=None)
    _refusal(tmp_path, h, m, 1, "no coordinate reference system", "MSI")


def test_refuses_existing_output_without_overwrite(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, fine=(30, 30))
    out = tmp_path / "out.tif"
    out.write_bytes(b"precious")
    code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(out)])
    assert code == 2 and "already exists" in err and "--overwrite" in err
    assert out.read_bytes() == b"precious"
    code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(out), "--overwrite"])
    assert code == 0, err
    with rasterio.open(out) as o:
        assert o.count == 12


def test_refuses_output_equal_to_input(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, fine=(30, 30))
    before = pair.msi.read_bytes()
    code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(pair.msi), "--overwrite"])
    assert code == 2 and "is one of the inputs" in err
    assert pair.msi.read_bytes() == before


def test_not_a_raster_is_bad_data(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, fine=(30, 30))
    junk = tmp_path / "junk.tif"
    junk.write_text("not a raster")
    _refusal(tmp_path, junk, pair.msi, 1, "cannot read the HSI")


def test_usage_errors_exit_2_in_one_line(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, fine=(30, 30))
    code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(tmp_path / "o.tif"), "--method", "nope"])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "nope" in err
    code, err = run(["fuse", str(tmp_path / "missing.tif"), str(pair.msi), "-o", str(tmp_path / "o.tif")])
    assert code == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1
    code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(tmp_path / "o.tif"), "--method", "gsa",
                     "--weights", str(pair.hsi)])
    assert code == 2 and "--weights" in err
    assert not (tmp_path / "o.tif").exists()


def test_info_prints_plan(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, fine=(60, 90), hsi_offset_px=(3, 0))
    result = CliRunner().invoke(cli, ["info", str(pair.hsi), str(pair.msi), "--tile-size", "30"])
    assert result.exit_code == 0, result.output
    for needle in ("EPSG:32633", "Ratio   3", "Output  90 x 57 px x 12 bands", "wavelengths: 12 bands, 420.0-2400.0 nm",
                   "Windows 6 (3 x 2)"):
        assert needle in result.output, (needle, result.output)
    result = CliRunner().invoke(cli, ["info", str(pair.hsi), str(pair.msi), "--json"])
    import json
    d = json.loads(result.output)
    assert d["output"]["size"] == [90, 57] and d["ratio"] == 3 and len(d["hsi"]["wavelengths_nm"]) == 12
