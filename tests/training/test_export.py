"""Export: the best validated weights of a run become an engine weights file that
``pifnet-engine fuse --method pifnet --weights FILE`` accepts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine

from pifnet_engine.errors import InputDataError, OutputExistsError
from pifnet_engine.model.weights import load_weights
from pifnet_engine.simulate import degrade_centred, spectral_degrade
from training.export import export_run
from training.train_run import TrainRequest, run_training

from .train_fixtures import tiny_values, write_geotiff_tiles


@pytest.fixture(scope="module")
def geo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny run on two georeferenced 8-band tiles (train block + validation block), ratio 3,
    centred protocol, Sentinel-2 10 m bands as MSI."""
    tmp = tmp_path_factory.mktemp("geo")
    tiles = tmp / "tiles"
    write_geotiff_tiles(tiles)
    run = tmp / "run"
    values = tiny_values(run, tiles, scene="georeferenced", ratio=3, protocol="centred", patch_size=12,
                         stride=12, epochs=1, max_steps=3)
    result = run_training(TrainRequest(values=values, command="pifnet-train train --scene georeferenced ..."))
    assert result.reason == "max_steps"
    return run, tiles


def test_export_writes_manifest_with_data_protocol_command_validation(tmp_path: Path, geo_run: tuple[Path, Path]) -> None:
    run, _ = geo_run
    manifest = export_run(run, tmp_path / "enmap_like_x3")
    assert manifest["name"].startswith("enmap_like_x3")
    model, loaded = load_weights(tmp_path / "enmap_like_x3.safetensors")
    best, _ = load_weights(run / "best.safetensors")
    for (k, a), (_, b) in zip(model.state_dict().items(), best.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    training = loaded["training"]
    assert training["protocol"] == "centred" and training["data"]["scene"] == "georeferenced"
    assert training["data"]["regions"]["validation"] == ["block_0_validation"]
    assert training["command"] == "pifnet-train train --scene georeferenced ..."
    assert training["step"] == 3 and training["run"] == str(run.resolve())
    val = loaded["validation"]
    assert val["protocol"] == "centred" and {"pifnet", "gsa", "bicubic"} <= set(val)
    assert loaded["msi"]["band_names"] == ["B2", "B3", "B4", "B8"] and len(loaded["msi"]["wavelengths_nm"]) == 4
    assert loaded["hsi"]["wavelengths_nm"][0] == pytest.approx(450.0)
    norm = loaded["normalisation"]
    assert norm["mode"] == "pair_mean" and norm["seen"]["hsi_max"] > 1.0 and norm["seen"]["msi_max"] > 1.0
    assert (model.cfg.hsi_bands, model.cfg.msi_bands, model.cfg.ratio) == (8, 4, 3)

    with pytest.raises(OutputExistsError, match="--overwrite"):
        export_run(run, tmp_path / "enmap_like_x3")
    export_run(run, tmp_path / "enmap_like_x3", overwrite=True, notes="test")


def test_export_without_validated_weights_says_how_to_get_them(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    with pytest.raises(InputDataError, match="no validated weights yet"):
        export_run(tmp_path / "run", tmp_path / "x")


def test_engine_fuses_a_georeferenced_pair_with_exported_weights(tmp_path: Path, geo_run: tuple[Path, Path]) -> None:
    from pifnet_engine.cli.main import main as engine_main

    run, tiles = geo_run
    export_run(run, tmp_path / "w")
    with rasterio.open(tiles / "tile_1.tif") as src:
        cube = src.read().astype(np.float64)
        tags = [src.tags(b + 1) for b in range(src.count)]
        t = src.transform
    _, loaded = load_weights(tmp_path / "w.safetensors")
    response = np.asarray(loaded["msi"]["spectral_responses"]["matrix"])
    hsi = degrade_centred(cube, 3).astype(np.float32)  # 90 m
    msi = spectral_degrade(cube, response).astype(np.float32)  # 30 m
    hsi_path, msi_path, out = tmp_path / "hsi.tif", tmp_path / "msi.tif", tmp_path / "fused.tif"
    for path, data, res in ((hsi_path, hsi, 90.0), (msi_path, msi, 30.0)):
        with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0],
                           dtype="float32", crs="EPSG:32633", transform=Affine(res, 0, t.c, 0, -res, t.f)) as ds:
            ds.write(data)
            if path == hsi_path:
                for b, tag in enumerate(tags):
                    ds.update_tags(b + 1, **tag)
    with pytest.raises(SystemExit) as done:
        engine_main(["fuse", str(hsi_path), str(msi_path), "-o", str(out), "--method", "pifnet",
                     "--weights", str(tmp_path / "w.safetensors"), "--device", "cpu", "--progress", "none"])
    assert done.value.code == 0
    with rasterio.open(out) as fused, rasterio.open(msi_path) as ref:
        assert (fused.count, fused.shape) == (8, ref.shape)
        assert fused.transform == ref.transform and fused.crs == ref.crs
        assert np.isfinite(fused.read()).all()
        assert fused.tags()["PIFNET_WEIGHTS"] == loaded["name"]
