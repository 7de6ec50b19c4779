import hashlib
import json
import pickle
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from pifnet_engine.errors import WeightsError
from pifnet_engine.model.weights import load_weights, read_manifest, save_weights, weights_paths

from .helpers import randomise_zero_inits, tiny_model

EXTRA = {
    "hsi": {"wavelengths_nm": [450.0, 500.0, 550.0, 600.0, 650.0, 700.0], "fwhm_nm": [10.0] * 6,
            "sensor": "test"},
    "msi": {"band_names": ["B", "G", "R"], "wavelengths_nm": [480.0, 560.0, 660.0]},
    "normalisation": {"hsi": {"offset": 0.0, "scale": 10000.0}, "msi": {"offset": 0.0, "scale": 10000.0}},
    "training": {"data": "synthetic", "command": "pifnet-train --epochs 1"},
    "validation": {"PSNR": 30.5},
}


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    model = tiny_model()
    randomise_zero_inits(model)
    save_weights(tmp_path / "tiny_x2", model, EXTRA)
    return tmp_path / "tiny_x2", model


def test_round_trip(saved: tuple[Path, torch.nn.Module]) -> None:
    base, model = saved
    assert base.with_name("tiny_x2.safetensors").is_file() and base.with_name("tiny_x2.json").is_file()
    loaded, manifest = load_weights(base.with_name("tiny_x2.safetensors"))
    assert not loaded.training
    assert loaded.cfg == model.cfg
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    x, y = torch.rand(1, 6, 4, 4), torch.rand(1, 3, 8, 8)
    model.eval()
    with torch.no_grad():
        assert torch.equal(loaded(x, y).fused, model(x, y).fused)
    assert manifest["name"] == "tiny_x2" and manifest["ratio"] == 2
    assert manifest["hsi"]["bands"] == 6 and manifest["hsi"]["wavelengths_nm"][0] == 450.0
    assert manifest["msi"]["band_names"] == ["B", "G", "R"]
    assert manifest["normalisation"]["hsi"]["scale"] == 10000.0
    assert manifest["training"]["command"].startswith("pifnet-train")
    assert manifest["validation"] == {"PSNR": 30.5}
    assert len(manifest["sha256"]) == 64 and manifest["engine_version"]
    assert read_manifest(base)["sha256"] == manifest["sha256"]


def test_paths_accept_stem_or_either_file(tmp_path: Path) -> None:
    for p in ("w/a.b", "w/a.b.json", "w/a.b.safetensors"):
        st, js = weights_paths(p)
        assert (st.name, js.name) == ("a.b.safetensors", "a.b.json")


def test_tampered_tensor_file_is_refused(saved: tuple[Path, torch.nn.Module]) -> None:
    base, _ = saved
    st = base.with_name("tiny_x2.safetensors")
    data = bytearray(st.read_bytes())
    data[-3] ^= 0x01  # one bit of one weight
    st.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="SHA-256 .* modified"):
        load_weights(base)


def test_pickle_files_are_refused(saved: tuple[Path, torch.nn.Module]) -> None:
    base, model = saved
    st = base.with_name("tiny_x2.safetensors")
    manifest = json.loads(base.with_name("tiny_x2.json").read_text())
    for writer in (lambda p: torch.save(model.state_dict(), p),
                   lambda p: p.write_bytes(pickle.dumps({"a": [1, 2]}, protocol=2))):
        writer(st)
        manifest["sha256"] = hashlib.sha256(st.read_bytes()).hexdigest()  # even with a valid digest
        base.with_name("tiny_x2.json").write_text(json.dumps(manifest))
        with pytest.raises(WeightsError, match="pickle"):
            load_weights(base)


def _write_raw(path: Path, header: dict, data: bytes) -> None:
    blob = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + data)


def _rehash(base: Path) -> None:
    js = base.with_name(base.name + ".json")
    manifest = json.loads(js.read_text())
    manifest["sha256"] = hashlib.sha256(base.with_name(base.name + ".safetensors").read_bytes()).hexdigest()
    js.write_text(json.dumps(manifest))


@pytest.mark.parametrize("header,data,match", [
    # safetensors ignores unknown fields in a record; the tensor is not one of the model's.
    ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "code": "print(1)"}}, b"\0" * 4,
     "lacks 166 of the 166 tensors .* holds 1 tensors that config does not have"),
    ({"x": "import os"}, b"", "not a readable safetensors file .* not a safetensors JSON header"),
    ({"x": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8, "tensor 'x' has dtype I64"),
    ({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8,
     "tensor sizes its header declares do not add up to the file's length"),
    ({"__metadata__": {"a": {"b": 1}}}, b"", "not a safetensors JSON header"),
])
def test_non_tensor_content_is_refused(saved: tuple[Path, torch.nn.Module], header: dict, data: bytes,
                                       match: str) -> None:
    base, _ = saved
    _write_raw(base.with_name("tiny_x2.safetensors"), header, data)
    _rehash(base)
    with pytest.raises(WeightsError, match=match):
        load_weights(base)


def test_tensors_of_another_architecture_are_refused(saved: tuple[Path, torch.nn.Module]) -> None:
    base, _ = saved
    save_file({"head_hsi.0.weight": torch.zeros(3, 3)}, str(base.with_name("tiny_x2.safetensors")))
    _rehash(base)
    with pytest.raises(WeightsError, match="lacks 165 of the 166 tensors"):
        load_weights(base)


def test_manifest_errors(saved: tuple[Path, torch.nn.Module], tmp_path: Path) -> None:
    base, model = saved
    with pytest.raises(WeightsError, match="not found"):
        load_weights(tmp_path / "nothing_here")
    js = base.with_name("tiny_x2.json")
    manifest = json.loads(js.read_text())
    manifest["hsi"]["bands"] = 7
    js.write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="hsi.bands is 7 but the model config has 6"):
        read_manifest(base)
    js.write_text("{not json")
    with pytest.raises(WeightsError, match="not valid JSON"):
        read_manifest(base)
    with pytest.raises(WeightsError, match="wavelengths_nm must be a list of 6"):
        save_weights(tmp_path / "bad", model, {"hsi": {"wavelengths_nm": [1.0, 2.0]}})
    with pytest.raises(WeightsError, match="unknown keys"):
        save_weights(tmp_path / "bad", model, {"optimizer": {}})


def test_manifest_cannot_point_elsewhere(saved: tuple[Path, torch.nn.Module]) -> None:
    base, _ = saved
    js = base.with_name("tiny_x2.json")
    manifest = json.loads(js.read_text())
    manifest["safetensors"] = "../other/tiny_x2.safetensors"
    js.write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="bare name"):
        load_weights(base)
