"""A GSA-residual PIF-Net through the engine: it adds its detail to GSA of the same pair, so an
untrained one fuses exactly what ``--method gsa`` writes; with its tails trained it differs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import torch

from pifnet_engine.model.normalisation import pair_mean_section
from pifnet_engine.model.weights import save_weights
from ..engine import cli_runner
from ..engine.scenes import make_pair
from .helpers import randomise_zero_inits, tiny_model


def _fuse(pair, out: Path, *extra: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    cli_runner.fuse(pair.hsi, pair.msi, out, *extra)
    with rasterio.open(out) as ds:
        return ds.read()


def test_untrained_gsa_residual_weights_fuse_to_gsa(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, bands=6, msi_bands=3, fine=(48, 60), ratio=3)
    model = tiny_model(hsi_bands=6, msi_bands=3, ratio=3, residual="gsa")
    extra = {"normalisation": pair_mean_section(10.0, 10.0)}
    save_weights(tmp_path / "gsa_tiny", model, extra)
    gsa = _fuse(pair, tmp_path / "gsa.tif", "--method", "gsa")
    mine = _fuse(pair, tmp_path / "pif.tif", "--method", "pifnet", "--weights", str(tmp_path / "gsa_tiny.safetensors"))
    np.testing.assert_allclose(mine, gsa, rtol=1e-5, atol=1e-6)
    randomise_zero_inits(model)
    with torch.no_grad():
        save_weights(tmp_path / "gsa_trained", model, extra)
    other = _fuse(pair, tmp_path / "pif2.tif", "--method", "pifnet", "--weights",
                  str(tmp_path / "gsa_trained.safetensors"))
    assert np.isfinite(other).all() and not np.allclose(other, gsa, atol=1e-4)
