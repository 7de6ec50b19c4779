"""Never a silent garbage raster: a window whose fused values are NaN, infinite or wildly beyond
its inputs stops the run with one line naming the window, and nothing is left behind."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from rasterio.windows import Window

from pifnet_engine import pipeline
from pifnet_engine.errors import ImplausibleOutputError, InputDataError
from pifnet_engine.grid import GridPlan
from pifnet_engine.methods import FusionMethod
from pifnet_engine.methods.bicubic import BicubicMethod, upsample_bicubic
from pifnet_engine.methods.gsa import GSAMethod
from pifnet_engine.sanity import BOUND_FACTOR, check_fused_batch, find_implausible
from pifnet_engine.tiling import TileLayout
from .cli_runner import run
from .scenes import make_pair, write_raster

RATIO = 3


def _batch(seed: int = 0, b: int = 3, bands: int = 6, msi_bands: int = 3, side: int = 10):
    """Seeded (hsi, msi, fused, valid): reflectance-like inputs and their bicubic upsampling."""
    rng = np.random.default_rng(seed)
    hsi = rng.uniform(0.01, 0.6, (b, bands, side, side)).astype(np.float32)
    msi = rng.uniform(0.01, 0.6, (b, msi_bands, side * RATIO, side * RATIO)).astype(np.float32)
    fused = upsample_bicubic(torch.from_numpy(hsi), RATIO).numpy()
    valid = np.ones((b, side * RATIO, side * RATIO), bool)
    return hsi, msi, fused, valid


def _check(hsi, msi, fused, valid, good=None, weights=None, method="bicubic") -> None:
    names = [f"window {i + 1} of {len(hsi)} (MSI rows 0-29, cols {30 * i}-{30 * i + 29})" for i in range(len(hsi))]
    check_fused_batch(hsi, msi, fused, valid, good, windows=names, method=method, weights=weights)


# --- (a) the check itself -----------------------------------------------------------------------

def test_ordinary_bicubic_batch_passes() -> None:
    _check(*_batch())


@pytest.mark.parametrize("value,what", [(np.nan, "NaN"), (np.inf, "infinite values"),
                                        (-np.inf, "infinite values"), (1e30, "values up to 1e+30"),
                                        (-60.0, "values up to -60")])
def test_garbage_value_is_refused_naming_the_window(value: float, what: str) -> None:
    hsi, msi, fused, valid = _batch()
    fused[1, 2, 4:6, 7] = value  # 2 of the window's 900 pixels
    with pytest.raises(ImplausibleOutputError) as exc:
        _check(hsi, msi, fused, valid)
    msg = str(exc.value)
    assert isinstance(exc.value, InputDataError) and exc.value.exit_code == 1
    assert msg.startswith(f"window 2 of 3 (MSI rows 0-29, cols 30-59) of method bicubic produced {what} "
                          f"in 0.222 % of its pixels; expected finite values within +-"), msg
    assert "HSI window values lie in [0.01" in msg and msg.endswith("nothing was written")
    assert "\n" not in msg


def test_whole_window_nan_with_weights_names_the_weights() -> None:
    hsi, msi, fused, valid = _batch()
    fused[0] = np.nan
    with pytest.raises(ImplausibleOutputError,
                       match=r"^window 1 of 3 .* of method pifnet produced NaN in 100 % of its pixels; .*"
                             r"the weights probably expect other input units or are broken: .*"
                             r"`pifnet-engine weights show cave_x4`\), or use --method gsa; nothing was written$"):
        _check(hsi, msi, fused, valid, weights="cave_x4", method="pifnet")


def test_bicubic_worst_case_overshoot_is_far_below_the_bound() -> None:
    """A +-1 checkerboard, the pattern that makes Keys' kernel ring most, overshoots 1.5 x: the
    bound of 10 x leaves a margin of more than 5."""
    hsi = np.indices((16, 16)).sum(axis=0) % 2 * 2.0 - 1.0
    hsi = np.broadcast_to(hsi, (1, 4, 16, 16)).astype(np.float32)
    fused = upsample_bicubic(torch.from_numpy(hsi), RATIO).numpy()
    assert 1.4 < np.abs(fused).max() < BOUND_FACTOR / 5
    msi = np.zeros((1, 2, 48, 48), np.float32)
    assert find_implausible(hsi, msi, fused, np.ones((1, 48, 48), bool)) is None


def test_gsa_like_injection_of_an_msi_only_cloud_passes() -> None:
    """Dark sea in the HSI, a cloud only in the MSI: detail injection makes the output ~28 x the
    HSI's largest value, and the MSI in the reference keeps that from being a false alarm."""
    hsi = np.full((1, 5, 10, 10), 0.03, np.float32)
    msi = np.full((1, 3, 30, 30), 0.03, np.float32)
    msi[:, :, 5:20, 5:20] = 0.7
    up = upsample_bicubic(torch.from_numpy(hsi), RATIO).numpy()
    fused = up + 1.2 * (msi.mean(axis=1, keepdims=True) - up)
    assert fused.max() > BOUND_FACTOR * hsi.max()
    assert find_implausible(hsi, msi, fused, np.ones((1, 30, 30), bool)) is None
    fused[0, 0, 0, 0] = BOUND_FACTOR * 0.7 * 1.01
    assert find_implausible(hsi, msi, fused, np.ones((1, 30, 30), bool)) is not None


def test_garbage_where_nothing_is_written_as_data_passes() -> None:
    """Bad bands and nodata pixels become nodata whatever the method returns for them."""
    hsi, msi, fused, valid = _batch()
    good = [True, False, True, True, True, True]
    hsi[:, 1] = 0.0
    fused[:, 1] = np.nan                      # a bad band
    valid[2, :, :4] = False
    fused[2, :, :, :4] = 1e30                 # nodata pixels of window 3
    _check(hsi, msi, fused, valid, good)
    fused[2, 3, 0, 4] = np.inf                # a data pixel
    with pytest.raises(ImplausibleOutputError, match=r"^window 3 of 3 .* infinite values in 0.128 % "):
        _check(hsi, msi, fused, valid, good)


def test_all_zero_window_refuses_only_non_finite_values() -> None:
    """An all-zero window (a zero fill without a nodata tag) carries no scale: GSA's constant there
    is fine, NaN is not."""
    hsi, msi, fused, valid = _batch(b=1)
    hsi[:] = 0.0
    msi[:] = 0.0
    fused[:] = 0.3
    _check(hsi, msi, fused, valid)
    fused[0, 0, 3, 3] = np.nan
    with pytest.raises(ImplausibleOutputError, match=r"produced NaN .*; expected finite values \(HSI window"):
        _check(hsi, msi, fused, valid)


def test_bound_is_per_window_so_batching_does_not_change_the_verdict() -> None:
    """A bright window in the same batch does not lend its scale to a dark one."""
    hsi, msi, fused, valid = _batch(b=2)
    hsi[0] *= 1000
    msi[0] *= 1000
    fused[0] *= 1000
    fused[1, 0, 10, 10] = 50.0   # > 10 x window 2's inputs (<= 0.6), < 10 x window 1's
    with pytest.raises(ImplausibleOutputError, match=r"^window 2 of 2 .* values up to 50 "):
        _check(hsi, msi, fused, valid)
    with pytest.raises(ImplausibleOutputError, match=r"^window 1 of 1 .* values up to 50 "):
        _check(hsi[1:], msi[1:], fused[1:], valid[1:])


def test_layout_describes_tiles_by_number_and_msi_pixels() -> None:
    t = Affine(10, 0, 0, 0, -10, 0)
    plan = GridPlan(crs=rasterio.crs.CRS.from_epsg(32633), ratio=3, ratio_measured=(3, 3), msi_res=(10, 10),
                    hsi_res=(30, 30), out_window=Window(0, 0, 70, 50), out_transform=t, coarse_transform=t,
                    coarse_shape=(18, 25), coarse_origin_px=(0, 0), warp_reason=None)
    layout = TileLayout(plan, 30, 0, 6)
    tiles = layout.tiles()
    assert [layout.describe(x) for x in (tiles[0], tiles[2], tiles[-1])] == [
        "window 1 of 6 (MSI rows 0-29, cols 0-29)", "window 3 of 6 (MSI rows 0-29, cols 60-69)",
        "window 6 of 6 (MSI rows 30-49, cols 60-69)"]


# --- (b) end to end through the real CLI --------------------------------------------------------

def _poisoned(base: type[FusionMethod], window: int, value: float, whole: bool) -> type[FusionMethod]:
    """``base`` whose result for the ``window``-th window (1-based, in fusing order) is corrupted:
    all of it, or one pixel in its centre, set to ``value``."""

    class Poisoned(base):  # type: ignore[misc, valid-type]
        def __init__(self, device: torch.device | str = "cpu") -> None:
            super().__init__(device)
            self.seen = 0

        def fuse(self, hsi: torch.Tensor, msi: torch.Tensor) -> torch.Tensor:
            z = super().fuse(hsi, msi).clone()
            k = window - 1 - self.seen
            if 0 <= k < z.shape[0]:
                if whole:
                    z[k] = value
                else:
                    z[k, :, z.shape[2] // 2, z.shape[3] // 2] = value
            self.seen += z.shape[0]
            return z

    return Poisoned


@pytest.fixture
def poison(monkeypatch: pytest.MonkeyPatch):
    """``poison(window, value, whole)``: ``--method bicubic|gsa`` builds the poisoned real method."""

    def install(window: int, value: float, whole: bool) -> None:
        real = {"bicubic": BicubicMethod, "gsa": GSAMethod}

        def create(name: str, device: torch.device, weights=None, **options: object) -> FusionMethod:
            return _poisoned(real[name], window, value, whole)(device)

        monkeypatch.setattr(pipeline, "create_method", create)

    return install


@pytest.mark.parametrize("method,value,whole,batch,what", [
    ("bicubic", np.nan, True, "1", "NaN in 100 % of its pixels"),
    ("gsa", np.nan, True, "2", "NaN in 100 % of its pixels"),
    ("gsa", 1e30, False, "1", "values up to 1e+30 in 0.0441 % of its pixels"),
    ("bicubic", -np.inf, False, "3", "infinite values in 0.0441 % of its pixels"),
])
def test_garbage_window_stops_the_run_and_leaves_nothing(tmp_path: Path, poison, method: str, value: float,
                                                         whole: bool, batch: str, what: str) -> None:
    pair = make_pair(tmp_path, fine=(96, 120), ratio=3)
    poison(3, value, whole)
    out = tmp_path / "out.tif"
    code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(out), "--method", method,
                     "--tile-size", "30", "--batch-size", batch, "--progress", "none"])
    assert code == 1, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    # 4 x 4 tiles of 30 px; the 3rd is row 0, col 2. Its 54 x 54 read window (12 px halo) reaches
    # 12 rows above the raster: 42 x 54 data pixels, so one poisoned pixel is 0.0441 % of them.
    assert lines[0].startswith(f"Error: window 3 of 16 (MSI rows 0-29, cols 60-89) of method {method} "
                               f"produced {what}; expected finite values"), lines[0]
    assert lines[0].endswith("nothing was written")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hsi.tif", "msi.tif"]


def test_garbage_window_json_error_event(tmp_path: Path, poison) -> None:
    pair = make_pair(tmp_path, fine=(96, 120), ratio=3)
    poison(5, np.nan, True)
    out = tmp_path / "out.tif"
    code, err = run(["fuse", str(pair.hsi), str(pair.msi), "-o", str(out), "--method", "gsa",
                     "--tile-size", "30", "--progress", "json"])
    assert code == 1
    events = [json.loads(line) for line in err.strip().splitlines()]
    assert events[-1]["event"] == "error" and events[-1]["exit_code"] == 1
    assert re.match(r"window 5 of 16 \(MSI rows 30-59, cols 0-29\) of method gsa produced NaN",
                    events[-1]["message"])
    # Windows 1-4 were fused and blended before the check stopped the run at window 5.
    assert [e["windows_done"] for e in events if e.get("stage") == "fuse"] == [1, 2, 3, 4]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hsi.tif", "msi.tif"]


# --- (c) no false alarm on real methods and sharp edges ----------------------------------------

def _edge_pair(tmp: Path, side: int = 120, bands: int = 12) -> tuple[Path, Path, np.ndarray]:
    """Land (hard-edged blocks of 4 materials, edges off the coarse grid) on the left, dark sea on
    the right with a bright cloud that only the MSI sees. Returns (hsi, msi, cloud mask)."""
    rng = np.random.default_rng(7)
    x = np.linspace(0, 1, bands)
    spectra = np.stack([0.05 + 0.55 * x, 0.6 - 0.5 * x, 0.3 + 0.25 * np.sin(6 * x), 0.1 + 0.4 * x ** 2])
    labels = rng.integers(0, 4, (side // 7 + 1, side // 7 + 1)).repeat(7, 0).repeat(7, 1)[:side, :side]
    truth = spectra[labels].transpose(2, 0, 1).astype(np.float32)            # (C, H, W)
    sea = np.zeros((side, side), bool)
    sea[:, side // 2:] = True
    truth[:, sea] = (0.03 - 0.02 * x)[:, None]
    srf = np.zeros((4, bands), np.float32)
    for m, chunk in enumerate(np.array_split(np.arange(bands), 4)):
        srf[m, chunk] = 1.0 / len(chunk)
    msi = np.einsum("mc,chw->mhw", srf, truth)
    cloud = np.zeros_like(sea)
    cloud[30:90, 75:110] = True
    msi[:, cloud] = 0.9
    n = side // RATIO
    hsi = truth.reshape(bands, n, RATIO, n, RATIO).mean(axis=(2, 4))
    wl = list(np.linspace(420.0, 2400.0, bands).round(3))
    h = write_raster(tmp / "hsi.tif", hsi, Affine(30.0, 0, 360000.0, 0, -30.0, 5810000.0), wavelengths=wl,
                     fwhm=[10.0] * bands, nodata=-32768.0)
    m = write_raster(tmp / "msi.tif", msi.astype(np.float32), Affine(10.0, 0, 360000.0, 0, -10.0, 5810000.0),
                     wavelengths=[490.0, 560.0, 665.0, 842.0])
    return h, m, cloud


@pytest.mark.parametrize("method", ["bicubic", "gsa"])
def test_real_methods_on_sharp_edges_and_an_msi_only_cloud_pass(tmp_path: Path, method: str) -> None:
    hsi, msi, cloud = _edge_pair(tmp_path)
    out = tmp_path / "out.tif"
    code, err = run(["fuse", str(hsi), str(msi), "-o", str(out), "--method", method, "--tile-size", "24",
                     "--progress", "none"])
    assert code == 0, err
    with rasterio.open(out) as ds, rasterio.open(hsi) as src:
        fused = ds.read()
        sea_hsi_max = float(src.read()[:, :, 24:].max())
    assert np.isfinite(fused).all()
    if method == "gsa":
        # The cloud is injected: an HSI-only bound would have refused this legitimate run.
        assert fused[:, cloud].max() > BOUND_FACTOR * sea_hsi_max
