"""``fuse --method pifnet`` end to end on the bundled demo pair (issue 3, "Done when").

A randomly initialised model (quality comes with training) runs through the engine's windowed
pipeline on the real EnMAP/Sentinel-2 demo pair; weights for another sensor are refused with one
clear line, before any window is read and without leaving a file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio

from pifnet_engine.demo import demo_paths
from pifnet_engine.model.weights import save_weights
from ..engine.cli_runner import run
from .helpers import randomise_zero_inits, tiny_model


def _demo_weights(tmp_path: Path, hsi_bands: int, msi_bands: int, ratio: int, name: str) -> Path:
    model = tiny_model(hsi_bands=hsi_bands, msi_bands=msi_bands, ratio=ratio)
    randomise_zero_inits(model)
    save_weights(tmp_path / name, model, {"notes": "random initialisation (test only)"})
    return tmp_path / f"{name}.safetensors"


def test_random_pifnet_fuses_the_demo_pair(tmp_path: Path) -> None:
    demo = demo_paths()
    weights = _demo_weights(tmp_path, 224, 4, 3, "random_enmap_s2_x3")
    out = tmp_path / "fused.tif"
    code, err = run(["fuse", str(demo["hsi"]), str(demo["msi"]), "-o", str(out), "--method", "pifnet",
                     "--weights", str(weights), "--tile-size", "33", "--progress", "none"])
    assert code == 0, err
    with rasterio.open(out) as o, rasterio.open(demo["msi"]) as m:
        assert (o.crs, o.transform, o.shape, o.count) == (m.crs, m.transform, m.shape, 224)
        assert o.tags()["PIFNET_METHOD"] == "pifnet" and o.tags()["PIFNET_WEIGHTS"] == "random_enmap_s2_x3"
        z = o.read(masked=True)
    good = [b for b in range(224) if not z.mask[b].all()]
    assert len(good) == 218 and np.isfinite(z[good].compressed()).all()


def test_weights_for_another_sensor_are_refused(tmp_path: Path) -> None:
    demo = demo_paths()
    weights = _demo_weights(tmp_path, 31, 3, 4, "cave_like_x4")
    out = tmp_path / "fused.tif"
    code, err = run(["fuse", str(demo["hsi"]), str(demo["msi"]), "-o", str(out), "--method", "pifnet",
                     "--weights", str(weights)])
    assert code == 1
    assert err.strip() == ("Error: HSI 'hsi_enmap_90m.tif' has 224 bands but weights 'cave_like_x4' expect 31; "
                           "train weights for this sensor with `pifnet-train`, or pass --method gsa")
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "cave_like_x4.json", "cave_like_x4.safetensors"]
