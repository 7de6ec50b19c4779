"""Inputs at the edges of what the engine takes: a sliver of overlap, very many bands, infinities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio

from .cli_runner import run
from .scenes import make_pair, write_raster


def test_a_sliver_of_overlap(tmp_path: Path):
    """An MSI overlapping the HSI by 5 MSI pixels (less than two HSI pixels): bicubic fuses it (and says
    no report is possible), GSA refuses in one line."""
    pair = make_pair(tmp_path, bands=12, fine=(96, 96))
    with rasterio.open(pair.msi) as ds:
        data, t = ds.read(), ds.transform
    sliver = write_raster(tmp_path / "sliver.tif", data[:, :, :5], t @ rasterio.Affine.translation(94, 0))
    code, err = run(["fuse", str(pair.hsi), str(sliver), "-o", str(tmp_path / "b.tif"), "--method", "bicubic"],
                    report=True)
    assert code == 0 and "Warning: no quality report" in err and "no whole HSI pixel" in err
    with rasterio.open(tmp_path / "b.tif") as ds:
        assert (ds.width, ds.height, ds.count) == (2, 96, 12)
    code, err = run(["fuse", str(pair.hsi), str(sliver), "-o", str(tmp_path / "g.tif"), "--method", "gsa"])
    assert code == 1 and err.count("\n") == 1 and "GSA needs more valid overlapping pixels than bands" in err
    assert not (tmp_path / "g.tif").exists()


def test_very_many_bands(tmp_path: Path):
    pair = make_pair(tmp_path, bands=1500, fine=(48, 48))
    code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(tmp_path / "b.tif"), "--method", "bicubic",
                     "--no-report-wald"])
    assert code == 0, err
    with rasterio.open(tmp_path / "b.tif") as ds:
        assert ds.count == 1500 and ds.tags(1500)["wavelength"] == "2400"
    code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(tmp_path / "g.tif"), "--method", "gsa"])
    assert code == 1 and "found 256 valid HSI pixels for 1500 bands" in err


def test_infinite_input_values_never_reach_the_output(tmp_path: Path):
    pair = make_pair(tmp_path, bands=12, fine=(96, 96))
    with rasterio.open(pair.hsi) as ds:
        data, t, nodata = ds.read(), ds.transform, ds.nodata
        wl = [float(ds.tags(b + 1)["wavelength"]) for b in range(ds.count)]
    data[:, 5, 5] = np.inf
    data[3, 10, 10] = -np.inf
    hot = write_raster(tmp_path / "hot.tif", data, t, nodata=nodata, wavelengths=wl)
    for method in ("gsa", "bicubic"):  # +-inf counts as invalid, like NaN: nodata there, finite elsewhere
        out = tmp_path / f"{method}.tif"
        code, err = run(["fuse", str(hot), str(pair.msi), "-o", str(out), "--method", method, "--no-report"])
        assert code == 0 and err == "", err
        with rasterio.open(out) as ds:
            v, nodata = ds.read(), ds.nodata  # the HSI's -32768
        assert not np.isinf(v).any() and nodata == -32768
        assert (v[:, 15:18, 15:18] == nodata).all() and (v[:, 30:33, 30:33] == nodata).all()
        assert np.isfinite(v[:, 40:50, 40:50]).all() and (v[:, 40:50, 40:50] != nodata).all()
