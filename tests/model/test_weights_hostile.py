"""Hostile or broken weights files, each built for real: refused with one WeightsError line from
the header alone (nothing the header claims is allocated, the file body is not read unless the
digest is what is wrong), through the Python loader and through ``pifnet-engine fuse``."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import pifnet_engine.model.weights as weights_mod
from pifnet_engine.demo import demo_paths
from pifnet_engine.errors import WeightsError
from pifnet_engine.model.weights import load_weights, save_weights

from ..engine.cli_runner import run
from .helpers import tiny_model

REPO = Path(__file__).resolve().parents[2]
#: A header that declares a 250-trillion-element float tensor (10^15 bytes) over 16 data bytes.
ABSURD_TENSOR = {"w": {"dtype": "F32", "shape": [250_000_000_000_000], "data_offsets": [0, 10**15]}}


def _raw(header: object, data: bytes = b"", length: int | None = None) -> bytes:
    """A safetensors-shaped blob written by hand: 8-byte little-endian header length + JSON + data."""
    text = json.dumps(header).encode()
    return (len(text) if length is None else length).to_bytes(8, "little") + text + data


def _torch_save(model: torch.nn.Module, zipped: bool) -> bytes:
    import io

    buf = io.BytesIO()
    torch.save(model.state_dict(), buf, _use_new_zipfile_serialization=zipped)
    return buf.getvalue()


def _edited_state(model: torch.nn.Module, tmp: Path, reshape: bool) -> bytes:
    """The model's tensors with the first one (by name) left out, or reshaped to (2, 2)."""
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    first = sorted(state)[0]
    if reshape:
        state[first] = torch.zeros(2, 2)
    else:
        del state[first]
    save_file(state, str(tmp))
    return tmp.read_bytes()


# name: (what the .safetensors holds, given the good file's bytes and the model;
#        an edit of the manifest, or None; the expected message; whether the file body may be read)
Case = tuple[Callable[[bytes, torch.nn.Module, Path], bytes], Callable[[dict], None] | None, str, bool]
CASES: dict[str, Case] = {
    "empty": (lambda good, m, t: b"", None,
              r"not a readable safetensors file of 0 bytes: it is empty", False),
    "not_safetensors": (lambda good, m, t: random.Random(0).randbytes(4096), None,
                        r"not a readable safetensors file of 4096 bytes: its first 8 bytes declare a header "
                        r"of \d+ bytes larger than safetensors allows \(100000000\)", False),
    "text_file": (lambda good, m, t: b"hsi_bands = 31\nmsi_bands = 3\n" * 20, None,
                  r"its first 8 bytes declare a header of \d+ bytes larger than safetensors allows", False),
    "pickle_zip": (lambda good, m, t: _torch_save(m, True), None,
                   r"is a PyTorch pickle \(torch.save / .pt / .pth\), not safetensors; it is never loaded", False),
    "pickle_legacy": (lambda good, m, t: _torch_save(m, False), None, r"is a PyTorch pickle", False),
    "pickle_plain": (lambda good, m, t: pickle.dumps({"a": [1, 2]}, protocol=4), None, r"is a PyTorch pickle", False),
    "truncated": (lambda good, m, t: good[: len(good) // 2], None,
                  r"the tensor sizes its header declares do not add up to the file's length", False),
    "truncated_in_header": (lambda good, m, t: good[:40], None,
                            r"not a readable safetensors file of 40 bytes: its first 8 bytes declare a header "
                            r"of \d+ bytes longer than the file", False),
    "absurd_tensor_size": (lambda good, m, t: _raw(ABSURD_TENSOR, b"\0" * 16), None,
                           r"the tensor sizes its header declares do not add up to the file's length", False),
    "absurd_shape_overflow": (lambda good, m, t: _raw({"w": {"dtype": "F32", "shape": [2**62, 8],
                                                             "data_offsets": [0, 16]}}, b"\0" * 16), None,
                              r"its header declares tensor sizes too large to compute", False),
    "absurd_header_length": (lambda good, m, t: _raw({"w": 1}, length=10**15), None,
                             r"its first 8 bytes declare a header of 1000000000000000 bytes larger than "
                             r"safetensors allows", False),
    "wrong_digest": (lambda good, m, t: good, lambda man: man.update(sha256="0" * 64),
                     r"SHA-256 is [0-9a-f]{64} but the manifest says 0{64}; the file is corrupt or was modified",
                     True),
    "manifest_names_missing_tensors": (
        lambda good, m, t: good, lambda man: man["model"]["config"].update(blocks=3),
        r"the tensor file lacks \d+ of the \d+ tensors the manifest's model config needs "
        r"\(couplings\.blocks\.2\.", False),
    "manifest_declares_a_huge_model": (
        lambda good, m, t: good, lambda man: man["model"]["config"].update(hidden=65536, d_state=4096),
        r"tensor '[\w.]+' has shape \([\d, ]+\); the manifest's model config needs \([\d, ]+\)", False),
    "manifest_declares_millions_of_blocks": (
        lambda good, m, t: good, lambda man: man["model"]["config"].update(blocks=10**7),
        r"the manifest's model config declares blocks = 10000000, more than the 166 tensors the file holds", False),
    "file_lacks_a_tensor": (lambda good, m, t: _edited_state(m, t, reshape=False), None,
                            r"the tensor file lacks 1 of the 166 tensors the manifest's model config needs", False),
    "tensor_of_wrong_shape": (lambda good, m, t: _edited_state(m, t, reshape=True), None,
                              r"tensor 'couplings\.blocks\.0\.i1\.in_proj\.weight' has shape \(2, 2\); the "
                              r"manifest's model config needs \(", False),
}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict, torch.nn.Module]:
    """A real tiny weights file: its bytes, its manifest, its model."""
    folder = tmp_path_factory.mktemp("good")
    model = tiny_model()
    manifest = save_weights(folder / "tiny_x2", model)
    return (folder / "tiny_x2.safetensors").read_bytes(), manifest, model


def _build(case: str, good: tuple[bytes, dict, torch.nn.Module], folder: Path) -> Path:
    """``folder/bad.safetensors`` + ``bad.json`` for ``case``; the manifest's digest is the bad file's
    own (the check under test is not the digest) unless the case edits it."""
    blob_of, edit, _, _ = CASES[case]
    good_bytes, manifest, model = good
    blob = blob_of(good_bytes, model, folder / "scratch.safetensors")
    (folder / "scratch.safetensors").unlink(missing_ok=True)
    (folder / "bad.safetensors").write_bytes(blob)
    manifest = json.loads(json.dumps(manifest))
    manifest.update(name="bad", safetensors="bad.safetensors", sha256=hashlib.sha256(blob).hexdigest())
    if edit is not None:
        edit(manifest)
    (folder / "bad.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder / "bad.safetensors"


def _no_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tripwire: the file's body must not be read (that happens for the digest, after the checks)."""
    def tripwire(path: Path, *args: object) -> bytes:
        raise AssertionError(f"the body of {path} was read")
    monkeypatch.setattr(weights_mod, "_read_verified", tripwire)


@pytest.mark.parametrize("case", sorted(CASES))
def test_python_loader_refuses(case: str, good: tuple[bytes, dict, torch.nn.Module], tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    bad = _build(case, good, tmp_path)
    before = {p.name: _sha(p) for p in tmp_path.iterdir()}
    if not CASES[case][3]:
        _no_digest(monkeypatch)
    with pytest.raises(WeightsError, match=CASES[case][2]) as exc:
        load_weights(bad)
    message = str(exc.value)
    assert "\n" not in message and message.startswith(f"weights 'bad' ({bad}): ")
    assert "pifnet-train export" in message  # how to fix it
    assert {p.name: _sha(p) for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_refuses(case: str, good: tuple[bytes, dict, torch.nn.Module], tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """As a user sees it: exit 1, one to three lines, no traceback, nothing written, inputs unchanged."""
    bad = _build(case, good, tmp_path)
    paths = demo_paths()
    inputs = [bad, bad.with_suffix(".json"), paths["hsi"], paths["msi"]]
    before = [_sha(p) for p in inputs]
    listing = sorted(p.name for p in tmp_path.iterdir())
    if not CASES[case][3]:
        _no_digest(monkeypatch)
    out = tmp_path / "fused.tif"
    code, err = run(["fuse", str(paths["hsi"]), str(paths["msi"]), "-o", str(out), "--method", "pifnet",
                     "--weights", str(bad), "--no-report", "--progress", "none"])
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 1, err
    assert 1 <= len(lines) <= 3 and "Traceback" not in err, err
    assert lines[0].startswith(f"Error: weights 'bad' ({bad}): ")
    assert re.search(CASES[case][2], err), err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == listing
    assert [_sha(p) for p in inputs] == before


CHILD = r"""
import resource, sys
from pifnet_engine.errors import WeightsError
from pifnet_engine.model.weights import load_weights
from tests.engine.cli_runner import run  # a child process: absolute (PYTHONPATH is the repository)
import pifnet_engine.cli.fuse, pifnet_engine.methods.pifnet, rasterio  # imported before the limit

def vm_bytes():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))

limit = vm_bytes() + 2 * 2**30
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    bytearray(3 * 2**30)
    print("LIMIT NOT EFFECTIVE")
except MemoryError:
    print("LIMIT OK")
hsi, msi, out = sys.argv[1:4]
for bad in sys.argv[4:]:
    try:
        load_weights(bad)
        print("LOADED", bad)
    except WeightsError as exc:
        print("REFUSED", exc)
    code, err = run(["fuse", hsi, msi, "-o", out, "--method", "pifnet", "--weights", bad, "--no-report",
                     "--progress", "none"])
    print("CLI", code, err.strip().replace("\n", " | "))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc/self/status")
def test_absurd_headers_allocate_nothing_they_claim(good: tuple[bytes, dict, torch.nn.Module],
                                                     tmp_path: Path) -> None:
    """Under an address-space limit 2 GB above the process's use, headers that claim 10^15 bytes (a
    tensor) or a 10^15-byte header, and manifests that declare a model of ~10^11 parameters or 10^7
    blocks, are refused with the message, not a MemoryError."""
    cases = ["absurd_tensor_size", "absurd_header_length", "absurd_shape_overflow", "manifest_declares_a_huge_model",
             "manifest_declares_millions_of_blocks"]
    bads = []
    for case in cases:
        (tmp_path / case).mkdir()
        bads.append(_build(case, good, tmp_path / case))
    paths = demo_paths()
    out = tmp_path / "fused.tif"
    proc = subprocess.run([sys.executable, "-c", CHILD, str(paths["hsi"]), str(paths["msi"]), str(out),
                           *map(str, bads)], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0] == "LIMIT OK", proc.stdout
    refused = [ln for ln in lines if ln.startswith("REFUSED")]
    cli = [ln for ln in lines if ln.startswith("CLI")]
    assert len(refused) == len(cli) == len(cases), proc.stdout
    for case, r, c in zip(cases, refused, cli, strict=True):
        assert re.search(CASES[case][2], r), r
        assert c.startswith("CLI 1 Error: weights 'bad'") and "|" not in c and "MemoryError" not in c, c
    assert "Traceback" not in proc.stderr and not out.exists()
