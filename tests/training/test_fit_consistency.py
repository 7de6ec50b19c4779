"""The fit's full-resolution consistency term (:mod:`training.fit.consistency`) on generated pairs whose
MSI is an exact band mix of the ground truth and whose HSI is its footprint mean: the truth agrees
with the pair, other images do not; patches stay off the held-out block and are reproducible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pifnet_engine.errors import InputDataError
from ..engine.scenes import make_pair
from training.fit.consistency import ConsistencyTerm, full_resolution
from training.fit.pair import read_pair, reduced_pair


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return make_pair(tmp_path_factory.mktemp("pair"), bands=12, fine=(72, 78), ratio=3)


@pytest.fixture(scope="module")
def term(pair) -> ConsistencyTerm:  # type: ignore[no-untyped-def]
    data = read_pair(pair.hsi, pair.msi)
    return ConsistencyTerm(full_resolution(data, reduced_pair(data)), 1.0, 4, 0, torch.device("cpu"))


def test_responses_are_estimated_from_the_pair(pair, term: ConsistencyTerm) -> None:  # type: ignore[no-untyped-def]
    """make_pair's MSI is an exact band mix: the estimate explains it (R^2 ~ 1) with non-negative
    weights (the smooth cube's bands are collinear, so which bands carry them is not identified:
    the next test checks that the estimate reproduces the MSI from the truth)."""
    r = term.data.responses
    assert r.r2 is not None and np.all(r.r2 > 0.999)
    assert r.weights.shape == (4, 12) and np.all(r.weights >= 0) and np.all(r.weights.sum(axis=1) > 0)
    assert term.data.hsi_scale > 0 and term.data.msi_scale > 0


def test_the_truth_agrees_with_the_pair_and_bicubic_does_not(pair, term: ConsistencyTerm) -> None:  # type: ignore[no-untyped-def]
    s, d = pair.ratio, term.data
    y, x, p = 0, 0, d.side
    truth = torch.from_numpy(pair.truth[None, :, : p * s, : p * s] / d.hsi_scale).float()
    lr = torch.from_numpy(d.hsi[None, :, y:y + p, x:x + p])
    msi = torch.from_numpy(d.msi[None, :, : p * s, : p * s])
    spatial, spectral = term.measure(truth, lr, msi)
    assert spatial.item() < 1e-5 and spectral.item() < 2e-3
    up = F.interpolate(lr, scale_factor=s, mode="bicubic", align_corners=False)
    spatial_up, spectral_up = term.measure(up, lr, msi)
    assert spatial_up.item() > 10 * spatial.item() and spectral_up.item() > 5 * spectral.item()


def test_patches_avoid_the_held_out_block_and_repeat_per_step(pair, term: ConsistencyTerm) -> None:  # type: ignore[no-untyped-def]
    data = read_pair(pair.hsi, pair.msi)
    red = reduced_pair(data)
    (hc, wc), (bh, bw), s = red.reduced_shape, red.held_out_px, pair.ratio
    row0, col0 = (hc - bh) * s, (wc - bw) * s  # the held-out block's footprint starts here (HSI pixels)
    p = term.data.side
    assert p >= 2 and p % 2 == 0 and len(term.data.origins)
    for y, x in term.data.origins:
        assert y + p <= row0 or x + p <= col0
    a, b = term.patches(7), term.patches(7)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not torch.equal(term.patches(8)[1], a[1])
    assert a[0].shape == (4, 12, p, p) and a[1].shape == (4, 4, p * s, p * s)


def test_too_few_pixels_for_the_responses_is_an_input_error(tmp_path: Path) -> None:
    many = make_pair(tmp_path, bands=300, fine=(54, 54), ratio=3)
    data = read_pair(many.hsi, many.msi)
    with pytest.raises(InputDataError, match="fewer than the 300 good HSI bands"):
        full_resolution(data, reduced_pair(data))


def test_the_term_trains_the_network_towards_the_pair(pair, term: ConsistencyTerm) -> None:  # type: ignore[no-untyped-def]
    """Steps on the term alone lower it: the gradient reaches the network (a tiny PIF-Net whose
    residual tails start random, so that its output starts off the pair)."""
    from ..model.helpers import randomise_zero_inits, tiny_model

    model = tiny_model(hsi_bands=12, msi_bands=4, ratio=3)
    randomise_zero_inits(model)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = term(model, 0)[1].item()
    for _ in range(10):
        loss, _ = term(model, 0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert term(model, 0)[1].item() < 0.5 * first
