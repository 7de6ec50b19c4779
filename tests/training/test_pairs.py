"""Simulation protocols as training pairs: exactness under augmentation, patch geometry, masks,
reproducibility, normalisation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from pifnet_engine.errors import InputDataError, UsageError
from pifnet_engine.simulate import degrade_centred, degrade_paper, spectral_degrade
from pifnet_engine.spectral.srf import load_rosis_ikonos_matrix
from training.pairs import PatchDataset, corner_for, default_msi_preset, dihedral, msi_response, seen_maxima, simulate_scene
from training.scenes.normalise import normalisation_scale, normalise
from training.scenes.scene import Scene

from ..shared_data import needs_shared

DEGRADE = {"paper": degrade_paper, "centred": degrade_centred}
R = np.array([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]])  # (c=2, C=3), rows sum to 1


def make_scene(h: int = 24, w: int = 24, bands: int = 3, seed: int = 0, valid: np.ndarray | None = None) -> Scene:
    """A smooth-plus-noise normalised scene (values in [0, 1], full_scale 1)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 0.5 + 0.3 * np.sin(yy / 3.0 + xx / 5.0)
    cube = np.clip(base[None] * rng.uniform(0.5, 1.0, (bands, 1, 1)) + rng.normal(0, 0.05, (bands, h, w)), 0, 1)
    return Scene(name="synthetic", cube=cube.astype(np.float32), full_scale=1.0, valid=valid)


ALL_TRANSFORMS = [(rot, flip) for rot in range(4) for flip in (False, True)]


@pytest.mark.parametrize("protocol", ["paper", "centred"])
@pytest.mark.parametrize("ratio", [2, 3, 4, 8])
def test_augmented_pair_is_the_protocol_applied_to_the_augmented_scene(protocol: str, ratio: int) -> None:
    scene = make_scene()
    sim = simulate_scene(scene, ratio, protocol, response=R)
    ds = PatchDataset([sim], patch_size=24, stride=24, pair_mean=False)
    assert ds.positions == [(0, 0, 0)]
    for rot, flip in ALL_TRANSFORMS:
        item = ds.pair(0, rot, flip)
        gt_t = np.ascontiguousarray(dihedral(scene.cube, rot, flip))
        np.testing.assert_array_equal(item["target"].numpy(), gt_t)
        np.testing.assert_allclose(item["lr_hsi"].numpy(), DEGRADE[protocol](gt_t, ratio), atol=1e-6)
        np.testing.assert_allclose(item["hr_msi"].numpy(), spectral_degrade(gt_t, R), atol=1e-6)


def test_pair_mean_normalisation_divides_by_the_scene_input_means_and_is_unit_free() -> None:
    scene = make_scene()
    sim = simulate_scene(scene, 4, "centred", response=R)
    raw = PatchDataset([sim], patch_size=24, stride=24, pair_mean=False).pair(0, 1, True)
    ds = PatchDataset([sim], patch_size=24, stride=24)
    hs, ms = float(sim.lr_hsi.mean()), float(sim.hr_msi.mean())
    assert ds.scales[0] == (pytest.approx(hs, rel=1e-6), pytest.approx(ms, rel=1e-6))
    item = ds.pair(0, 1, True)
    np.testing.assert_allclose(item["lr_hsi"].numpy(), raw["lr_hsi"].numpy() / hs, rtol=1e-6)
    np.testing.assert_allclose(item["target"].numpy(), raw["target"].numpy() / hs, rtol=1e-6)
    np.testing.assert_allclose(item["hr_msi"].numpy(), raw["hr_msi"].numpy() / ms, rtol=1e-6)
    # The same scene in other units (x 0.5 for the HSI, x 0.25 for the MSI) gives the same items.
    other = dataclasses.replace(sim, target=sim.target * 0.5, hr_msi=sim.hr_msi * 0.25,
                                lr_variants={k: v * 0.5 for k, v in sim.lr_variants.items()})
    again = PatchDataset([other], patch_size=24, stride=24).pair(0, 1, True)
    for key in ("lr_hsi", "hr_msi", "target"):
        np.testing.assert_allclose(again[key].numpy(), item[key].numpy(), rtol=1e-5)
    hsi_max, msi_max = seen_maxima([sim])
    assert hsi_max == pytest.approx(float(sim.lr_hsi.max()) / hs, rel=1e-6) and msi_max > 1.0


def test_paper_corners_really_differ() -> None:
    """Guards the test above: with corner sampling, a flipped LR is NOT the flip of the LR."""
    scene = make_scene()
    sim = simulate_scene(scene, 4, "paper", response=R)
    assert set(sim.lr_variants) == {(0, 0), (0, 3), (3, 0), (3, 3)}
    flipped_naive = dihedral(sim.lr_hsi, 0, True)
    assert np.abs(flipped_naive - degrade_paper(dihedral(scene.cube, 0, True).copy(), 4)).max() > 1e-3
    assert corner_for(4, 0, False) == (0, 0) and corner_for(4, 0, True) == (0, 3)
    assert corner_for(4, 2, False) == (3, 3) and corner_for(4, 1, False) == (0, 3)


@pytest.mark.parametrize("protocol", ["paper", "centred"])
def test_patches_sit_on_multiples_of_s_and_match_the_scene(protocol: str) -> None:
    scene = make_scene(40, 52)
    sim = simulate_scene(scene, 4, protocol, response=R)
    assert sim.target.shape == (3, 40, 52) and sim.lr_hsi.shape == (3, 10, 13) and sim.hr_msi.shape == (2, 40, 52)
    ds = PatchDataset([sim], patch_size=16, stride=12, augment=False, pair_mean=False)
    assert ds.protocol == protocol and ds.ratio == 4
    rows = sorted({y for _, y, _ in ds.positions})
    cols = sorted({x for _, _, x in ds.positions})
    assert rows == [0, 12, 24] and cols == [0, 12, 24, 36]
    for i, (_, y, x) in enumerate(ds.positions):
        item = ds[i]
        assert y % 4 == 0 and x % 4 == 0
        np.testing.assert_array_equal(item["target"].numpy(), scene.cube[:, y : y + 16, x : x + 16])
        np.testing.assert_array_equal(item["lr_hsi"].numpy(), sim.lr_hsi[:, y // 4 : y // 4 + 4, x // 4 : x // 4 + 4])
        np.testing.assert_array_equal(item["hr_msi"].numpy(), sim.hr_msi[:, y : y + 16, x : x + 16])
    with pytest.raises(UsageError, match="multiple of the ratio 4"):
        PatchDataset([sim], patch_size=18)
    with pytest.raises(UsageError, match="stride 6"):
        PatchDataset([sim], patch_size=16, stride=6)


def test_odd_sized_scene_is_cropped_to_multiples_of_s() -> None:
    sim = simulate_scene(make_scene(27, 30), 4, "centred", response=R)
    assert sim.target.shape == (3, 24, 28) and sim.lr_hsi.shape == (3, 6, 7)


@pytest.mark.parametrize(
    ("protocol", "dirty"),
    [("centred", {(3, 3)}), ("paper", {(2, 2), (2, 3), (3, 2), (3, 3)})],
)
def test_patches_touching_nodata_are_skipped(protocol: str, dirty: set[tuple[int, int]]) -> None:
    valid = np.ones((32, 32), bool)
    valid[12, 12] = False  # inside coarse pixel (3, 3) at s = 4
    scene = make_scene(32, 32, valid=valid)
    sim = simulate_scene(scene, 4, protocol, response=R)
    assert {tuple(int(v) for v in ij) for ij in np.argwhere(~sim.clean)} == dirty
    ds = PatchDataset([sim], patch_size=8, stride=4, augment=False)
    expected = {
        (y * 4, x * 4)
        for y in range(7)
        for x in range(7)
        if not any(y <= i < y + 2 and x <= j < x + 2 for i, j in dirty)
    }
    assert {(y, x) for _, y, x in ds.positions} == expected


def test_augmentation_is_seeded_and_changes_per_epoch() -> None:
    sim = simulate_scene(make_scene(48, 48), 4, "paper", response=R)
    a = PatchDataset([sim], patch_size=16, stride=8, seed=7)
    b = PatchDataset([sim], patch_size=16, stride=8, seed=7)
    order = list(reversed(range(len(a))))  # reading order does not matter
    for i in order:
        for key in ("lr_hsi", "hr_msi", "target"):
            assert torch.equal(a[i][key], b[i][key])
    draws0 = [a.transform_of(i) for i in range(len(a))]
    assert len(set(draws0)) > 4  # all kinds of transforms are drawn
    a.set_epoch(1)
    assert [a.transform_of(i) for i in range(len(a))] != draws0
    c = PatchDataset([sim], patch_size=16, stride=8, seed=8)
    assert [c.transform_of(i) for i in range(len(c))] != draws0
    off = PatchDataset([sim], patch_size=16, stride=8, augment=False)
    assert all(off.transform_of(i) == (0, False) for i in range(len(off)))


def test_dataloader_batches_64_16_at_ratio_4() -> None:
    sim = simulate_scene(make_scene(96, 96), 4, "paper", response=R)
    ds = PatchDataset([sim, dataclasses.replace(sim, name="second")])
    assert len(ds) == 2 * 2 * 2  # default stride 32: origins 0 and 32 per axis
    batch = next(iter(DataLoader(ds, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0))))
    assert batch["lr_hsi"].shape == (8, 3, 16, 16) and batch["lr_hsi"].dtype == torch.float32
    assert batch["hr_msi"].shape == (8, 2, 64, 64) and batch["target"].shape == (8, 3, 64, 64)


def test_dataset_refuses_mixed_scenes() -> None:
    a = simulate_scene(make_scene(), 4, "paper", response=R)
    b = simulate_scene(make_scene(), 4, "centred", response=R)
    with pytest.raises(InputDataError, match="expected all scenes of one dataset to match"):
        PatchDataset([a, b], patch_size=8)


def test_simulate_refuses_unnormalised_scene_and_bad_args() -> None:
    raw = Scene(name="raw", cube=np.full((3, 8, 8), 1000.0, np.float32))
    with pytest.raises(InputDataError, match="not normalised"):
        simulate_scene(raw, 2, response=R)
    with pytest.raises(UsageError, match="unknown simulation protocol"):
        simulate_scene(make_scene(), 2, "bicubic", response=R)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="ratio must be an integer >= 2"):
        simulate_scene(make_scene(), 1, response=R)
    with pytest.raises(InputDataError, match=r"expected \(c, 3\)"):
        simulate_scene(make_scene(), 2, response=np.ones((2, 5)))


# --- normalisation --------------------------------------------------------------------------

def test_normalise_modes() -> None:
    cube = np.array([[[0.0, 30000.0], [65535.0, 70000.0]]], np.float32)
    cave_like = Scene(name="c", cube=cube, full_scale=65535.0)
    out, scale = normalise(cave_like)  # auto -> full scale
    assert scale == 65535.0 and out.full_scale == 1.0
    np.testing.assert_allclose(out.cube, np.clip(cube / 65535.0, 0, 1))
    out_max, peak = normalise(cave_like, mode="max")
    assert peak == 70000.0 and out_max.cube.max() == 1.0
    dn = Scene(name="dn", cube=cube)
    assert normalisation_scale(dn) == (70000.0, "max")
    with pytest.raises(UsageError, match="no fixed full scale"):
        normalise(dn, mode="full_scale")
    assert normalise(dn, scale=140000.0)[0].cube.max() == 0.5  # whole-scene scale passed in


def test_max_ignores_invalid_pixels_and_bad_bands() -> None:
    cube = np.ones((2, 2, 2), np.float32)
    cube[0, 0, 0] = 50.0  # invalid pixel
    cube[1] = 99.0  # bad band
    scene = Scene(name="m", cube=cube, good_bands=(True, False), valid=np.array([[False, True], [True, True]]))
    assert normalisation_scale(scene) == (1.0, "max")


def test_reflectance_is_clipped() -> None:
    scene = Scene(name="r", cube=np.array([[[-0.02, 0.5, 1.04]]], np.float32), full_scale=1.0)
    np.testing.assert_allclose(normalise(scene)[0].cube, [[[0.0, 0.5, 1.0]]])


# --- MSI presets and real data --------------------------------------------------------------

def test_msi_presets() -> None:
    wl = tuple(400.0 + 10.0 * k for k in range(31))
    cave = Scene(name="beads", cube=np.zeros((31, 4, 4), np.float32), wavelengths_nm=wl, full_scale=1.0, sensor="CAVE")
    rgb = msi_response(cave, "nikon_d700")
    assert rgb.shape == (3, 31)
    np.testing.assert_allclose(rgb.sum(axis=1), 1.0)
    assert np.argmax(rgb[0]) < np.argmax(rgb[1]) < np.argmax(rgb[2])  # blue, green, red
    pavia = Scene(name="pavia_university", cube=np.zeros((103, 4, 4), np.float32), full_scale=1.0)
    np.testing.assert_allclose(msi_response(pavia, "rosis_ikonos"), load_rosis_ikonos_matrix())
    for name, first, last, bands in (("chikusei", 363.0, 1018.0, 128), ("houston2013", 380.0, 1050.0, 144)):
        vnir = Scene(name=name, cube=np.zeros((bands, 4, 4), np.float32), full_scale=1.0,
                     wavelengths_nm=tuple(np.linspace(first, last, bands)))
        ikonos = msi_response(vnir, default_msi_preset(vnir))
        assert default_msi_preset(vnir) == "ikonos" and ikonos.shape == (4, bands)
        np.testing.assert_allclose(ikonos.sum(axis=1), 1.0)
    with pytest.raises(InputDataError, match="no band wavelengths"):
        msi_response(pavia, "ikonos")
    with pytest.raises(InputDataError, match="needs the 103-band ROSIS"):
        msi_response(cave, "rosis_ikonos")


@pytest.mark.realdata
@needs_shared("pavia_university", "paviaU_subimg.mat")
def test_real_pavia_crop_with_ikonos_matrix(shared_data: Path) -> None:
    from training.scenes.pavia import load_pavia_university

    scene, scale = normalise(load_pavia_university(shared_data / "pavia_university" / "paviaU_subimg.mat"))
    assert scale == 6614.0
    sim = simulate_scene(scene, 4, "paper")  # default MSI for Pavia: the ROSIS -> IKONOS matrix
    assert sim.msi_preset == "rosis_ikonos" and sim.hr_msi.shape == (4, 48, 48)
    np.testing.assert_allclose(sim.hr_msi[:, 5, 7], load_rosis_ikonos_matrix() @ sim.target[:, 5, 7], rtol=1e-5)
    item = PatchDataset([sim], patch_size=16)[0]
    assert item["lr_hsi"].shape == (103, 4, 4) and item["hr_msi"].shape == (4, 16, 16)


@pytest.mark.realdata
@needs_shared("enmap_potsdam_tiles")
def test_real_enmap_blocks_centred_x3_with_sentinel2(shared_data: Path) -> None:
    from training.scenes.enmap import load_enmap_training_blocks

    blocks = [normalise(b)[0] for b in load_enmap_training_blocks(shared_data / "enmap_potsdam_tiles")]
    sims = [simulate_scene(b, 3, "centred") for b in blocks]
    assert all(s.msi_preset == "sentinel2_10m" and s.response.shape == (4, 224) for s in sims)
    bad = ~np.asarray(blocks[0].good_bands)
    assert not sims[0].response[:, bad].any()  # bad bands carry no MSI weight
    ds = PatchDataset(sims, patch_size=24, stride=3)
    item = ds[0]
    assert item["lr_hsi"].shape == (224, 8, 8) and item["hr_msi"].shape == (4, 24, 24)
    assert ds.protocol == "centred"
