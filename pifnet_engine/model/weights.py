"""PIF-Net weights files: safetensors tensors + a JSON manifest, never pickle.

A weights file NAME is two files side by side:

- ``NAME.safetensors``: the model's ``state_dict`` (float tensors only). safetensors is a
  length-prefixed JSON header plus raw little-endian arrays; reading it cannot execute code.
  The ``safetensors`` library checks the header against the file (``safe_open``: lengths,
  offsets, overlaps, dtype sizes) before any tensor is read; this module adds what it does not
  do: a clear refusal of a pickle / ``torch.save`` file, float tensors only, the names and
  shapes of the manifest's model, the digest. Each failure is one :class:`WeightsError`.
- ``NAME.json``: the manifest (schema below). Its ``sha256`` is the digest of the .safetensors
  file; :func:`load_weights` refuses a file whose digest differs (corrupted or tampered).

Manifest (``format_version`` 1)::

    {
      "format": "pifnet-weights", "format_version": 1, "name": "cave_x4",
      "engine_version": "0.1.0", "created_utc": "2025-01-01T00:00:00Z",
      "model": {"architecture": "PIF-Net", "config": {PIFNetConfig fields}, "parameters": 824398},
      "hsi": {"bands": 31, "wavelengths_nm": [...] | null, "fwhm_nm": [...] | null, "sensor": str | null},
      "msi": {"bands": 3, "wavelengths_nm": [...] | null, "band_names": [...] | null,
              "spectral_responses": {...} | null, "sensor": str | null},
      "ratio": 4,
      "normalisation": {"mode": "pair_mean", "seen": {"hsi_max": 18.5, "msi_max": 15.5},
                        "description": str | null}
                       (or, legacy "fixed": {"hsi": {"offset": 0.0, "scale": 1.0}, "msi": {...}}),
      "training": {"data": ..., "command": ...},
      "validation": {"PSNR": ..., ...},
      "safetensors": "cave_x4.safetensors",
      "sha256": "<64 hex digits>"
    }

Normalisation: see :mod:`pifnet_engine.model.normalisation` (unit-free ``pair_mean``, or the
legacy fixed ``(value - offset) / scale`` of older manifests).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from pifnet_engine import __version__
from pifnet_engine.atomic_file import write_atomic
from pifnet_engine.errors import WeightsError
from pifnet_engine.model.config import PIFNetConfig
from pifnet_engine.model.normalisation import MODE_PAIR_MEAN, MODES, mode_of
from pifnet_engine.model.pifnet import PIFNet, count_parameters

FORMAT = "pifnet-weights"
FORMAT_VERSION = 1
#: safetensors dtypes accepted in a weights file (the model has float tensors only).
FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")
#: The largest header safetensors reads (its ``MAX_HEADER_SIZE``); a real one is a few tens of kB.
SAFETENSORS_MAX_HEADER_BYTES = 100_000_000
#: Refuse manifests larger than this before reading them (a real one is a few tens of kB).
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
EXTRA_KEYS = {"name", "hsi", "msi", "normalisation", "training", "validation", "notes"}


def weights_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(NAME.safetensors, NAME.json) for ``NAME``, ``NAME.safetensors`` or ``NAME.json``."""
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        base = p.with_suffix("")
    else:
        base = p
    return base.with_name(base.name + ".safetensors"), base.with_name(base.name + ".json")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- writing ---------------------------------------------------------------------------------

def _sensor_section(extra: dict[str, Any] | None, bands: int, kind: str) -> dict[str, Any]:
    section: dict[str, Any] = {"bands": bands, "wavelengths_nm": None, "sensor": None}
    if kind == "hsi":
        section["fwhm_nm"] = None
    else:
        section.update({"band_names": None, "spectral_responses": None})
    section.update(extra or {})
    return section


def build_manifest(model: PIFNet, manifest_extra: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """The manifest of ``model`` (without ``sha256``/``safetensors``), checked for consistency."""
    extra = dict(manifest_extra or {})
    unknown = sorted(set(extra) - EXTRA_KEYS)
    if unknown:
        raise WeightsError(
            f"save_weights: manifest_extra has unknown keys {unknown}; expected a subset of "
            f"{sorted(EXTRA_KEYS)}"
        )
    cfg = model.cfg
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": extra.get("name", name),
        "engine_version": __version__,
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": {"architecture": "PIF-Net", "config": cfg.to_dict(),
                  "parameters": count_parameters(model)},
        "hsi": _sensor_section(extra.get("hsi"), cfg.hsi_bands, "hsi"),
        "msi": _sensor_section(extra.get("msi"), cfg.msi_bands, "msi"),
        "ratio": cfg.ratio,
        "normalisation": dict(extra.get("normalisation") or {
            "hsi": {"offset": 0.0, "scale": 1.0}, "msi": {"offset": 0.0, "scale": 1.0}, "description": None}),
        "training": extra.get("training", {"data": None, "command": None}),
        "validation": extra.get("validation", {}),
    }
    if "notes" in extra:
        manifest["notes"] = extra["notes"]
    validate_manifest(manifest, where="save_weights", check_digest=False)
    return manifest


def _state(model: PIFNet) -> dict[str, torch.Tensor]:
    """``model``'s tensors as weights files hold them: float32, on the CPU, contiguous."""
    return {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}


def _serialise(state: dict[str, torch.Tensor], manifest: dict[str, Any]) -> bytes:
    """The safetensors bytes of ``state`` (see :func:`_state`) as ``save_weights`` writes them."""
    return st_save(state, metadata={"format": FORMAT, "name": str(manifest["name"])})


def in_memory_weights(model: PIFNet, manifest_extra: dict[str, Any] | None = None,
                      name: str = "in-memory") -> tuple[PIFNet, dict[str, Any]]:
    """What :func:`load_weights` would return for ``model`` saved with ``manifest_extra``, without a
    file: an independent float32 CPU copy of the network and its manifest (checked like a saved one;
    ``sha256`` is the digest of its serialisation, which can differ from a saved file's in the
    order of the header's metadata). Training validates its model through this."""
    manifest = build_manifest(model, manifest_extra, name)
    state = _state(model)
    manifest["sha256"] = hashlib.sha256(_serialise(state, manifest)).hexdigest()
    copy = PIFNet(model.cfg)
    copy.load_state_dict(state, strict=True)  # copies the values: the copy is independent of ``model``
    return copy, manifest


def save_weights(path: str | os.PathLike[str], model: PIFNet,
                 manifest_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``NAME.safetensors`` and ``NAME.json`` (atomically, each) and return the manifest.

    Args:
        path: ``NAME``, ``NAME.safetensors`` or ``NAME.json``; the directory must exist.
        model: the network; its ``cfg`` goes into the manifest.
        manifest_extra: sections to add (keys in ``EXTRA_KEYS``): "hsi"/"msi" (band metadata,
            merged over the band counts from the config), "normalisation", "training"
            ({"data", "command"}), "validation" (metrics), "name" (defaults to NAME), "notes".
    """
    st_path, json_path = weights_paths(path)
    manifest = build_manifest(model, manifest_extra, st_path.name[: -len(".safetensors")])
    blob = _serialise(_state(model), manifest)
    write_atomic(st_path, blob)
    manifest["safetensors"] = st_path.name
    manifest["sha256"] = hashlib.sha256(blob).hexdigest()
    write_atomic(json_path, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    return manifest


# --- reading ---------------------------------------------------------------------------------

def _fail(where: str, what: str) -> WeightsError:
    return WeightsError(f"{where}: {what}")


def _check_numbers(value: Any, bands: int, where: str, field: str, allow_scalar: bool) -> None:
    if value is None:
        return
    if allow_scalar and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise _fail(where, f"{field} = {value!r}; expected a finite number")
        return
    if (not isinstance(value, list) or len(value) != bands
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                       for v in value)):
        raise _fail(where, f"{field} must be a list of {bands} finite numbers (one per band); "
                           f"got {str(value)[:80]}")


def _check_normalisation(norm: Any, cfg: PIFNetConfig, where: str) -> None:
    """The ``normalisation`` section: ``pair_mean`` with its training maxima, or the legacy
    fixed ``(offset, scale)`` pairs (see :mod:`pifnet_engine.model.normalisation`)."""
    if not isinstance(norm, dict):
        raise _fail(where, f"normalisation must be an object; got {norm!r}")
    mode = mode_of(norm)
    if mode not in MODES:
        raise _fail(where, f"normalisation.mode is {mode!r}; expected one of {list(MODES)}; upgrade pifnet-engine")
    if mode == MODE_PAIR_MEAN:
        seen = norm.get("seen")
        for key in ("hsi_max", "msi_max"):
            value = seen.get(key) if isinstance(seen, dict) else None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0:
                raise _fail(where, f"normalisation.seen.{key} is {value!r}; expected a positive number")
        return
    for kind, bands in (("hsi", cfg.hsi_bands), ("msi", cfg.msi_bands)):
        pair = norm.get(kind)
        if not isinstance(pair, dict) or "offset" not in pair or "scale" not in pair:
            raise _fail(where, f"normalisation.{kind} must be {{'offset': ..., 'scale': ...}}; got {pair!r}")
        _check_numbers(pair["offset"], bands, where, f"normalisation.{kind}.offset", True)
        _check_numbers(pair["scale"], bands, where, f"normalisation.{kind}.scale", True)
        scales = pair["scale"] if isinstance(pair["scale"], list) else [pair["scale"]]
        if any(s == 0 for s in scales):
            raise _fail(where, f"normalisation.{kind}.scale contains 0; expected non-zero scales")


def validate_manifest(manifest: Any, where: str, check_digest: bool = True) -> PIFNetConfig:
    """Check the manifest's structure; return its model config. Raise :class:`WeightsError`."""
    if not isinstance(manifest, dict):
        raise _fail(where, f"manifest is a JSON {type(manifest).__name__}; expected an object")
    if manifest.get("format") != FORMAT:
        raise _fail(where, f"manifest format is {manifest.get('format')!r}; expected {FORMAT!r}; "
                           "this is not a PIF-Net weights manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise _fail(where, f"manifest format_version is {version!r}; this engine reads 1..{FORMAT_VERSION}; "
                           "upgrade pifnet-engine")
    for key in ("name", "model", "hsi", "msi", "ratio", "normalisation"):
        if key not in manifest:
            raise _fail(where, f"manifest lacks {key!r}; the weights file is incomplete")
    model = manifest["model"]
    if not isinstance(model, dict) or "config" not in model:
        raise _fail(where, "manifest 'model' lacks 'config'")
    cfg = PIFNetConfig.from_dict(model["config"])
    for kind, bands in (("hsi", cfg.hsi_bands), ("msi", cfg.msi_bands)):
        section = manifest[kind]
        if not isinstance(section, dict) or section.get("bands") != bands:
            got = section.get("bands") if isinstance(section, dict) else section
            raise _fail(where, f"manifest {kind}.bands is {got!r} but the model config has {bands}")
        _check_numbers(section.get("wavelengths_nm"), bands, where, f"{kind}.wavelengths_nm", False)
        if kind == "hsi":
            _check_numbers(section.get("fwhm_nm"), bands, where, "hsi.fwhm_nm", False)
        else:
            names = section.get("band_names")
            if names is not None and (not isinstance(names, list) or len(names) != bands
                                      or not all(isinstance(n, str) for n in names)):
                raise _fail(where, f"msi.band_names must be a list of {bands} strings")
    if manifest["ratio"] != cfg.ratio:
        raise _fail(where, f"manifest ratio {manifest['ratio']!r} differs from the model config's {cfg.ratio}")
    _check_normalisation(manifest["normalisation"], cfg, where)
    if check_digest:
        digest = manifest.get("sha256")
        if not isinstance(digest, str) or len(digest) != 64:
            raise _fail(where, f"manifest sha256 is {digest!r}; expected 64 hex digits")
    return cfg


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``NAME.json`` (``path`` may name either file or the stem). No tensors are read."""
    _, json_path = weights_paths(path)
    where = f"weights manifest {json_path}"
    if not json_path.is_file():
        raise WeightsError(f"{where}: not found; a weights file is NAME.safetensors plus NAME.json "
                           "side by side; pass the path of either")
    size = json_path.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        raise WeightsError(f"{where}: is {size} bytes; a manifest is a few tens of kB (at most "
                           f"{MAX_MANIFEST_BYTES}); this is not a weights manifest: export the weights again")
    try:
        manifest = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{where}: not valid JSON ({exc}); re-export the weights") from exc
    validate_manifest(manifest, where)
    return manifest


def _looks_like_pickle(head: bytes, size: int) -> bool:
    """True for a pickle (protocol 2-5) or a zip (``torch.save``) that is not a safetensors file.

    ``head`` is the file's first 9 bytes, ``size`` its length. A safetensors file starts with its
    little-endian header length, whose first byte may be anything (0x80 for a header of 128 + 256k
    bytes), so the safetensors reading wins when that length fits the file and a JSON object follows.
    """
    if len(head) >= 9:
        n = int.from_bytes(head[:8], "little")
        if n <= SAFETENSORS_MAX_HEADER_BYTES and 8 + n <= size and head[8:9] == b"{":
            return False
    return head[:4] == b"PK\x03\x04" or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"))


def _unreadable(where: str, head: bytes, size: int, exc: Exception) -> WeightsError:
    """The one-line error for a file of ``size`` bytes starting with ``head`` that safetensors
    refuses (``exc``: its message)."""
    text = str(exc).removeprefix("Error while deserializing header: ")
    squashed = text.lower().replace(" ", "").replace("_", "")
    why = next((plain for keys, plain in _SAFETENSORS_REASONS if any(k in squashed for k in keys)), None)
    if size < 8:
        why = "it is too short to be a safetensors file" if size else "it is empty"
    elif why is not None and "first 8 bytes" in why:
        why = why.replace("a header", f"a header of {int.from_bytes(head[:8], 'little')} bytes")
    detail = f"{why} (safetensors: {text})" if why else f"safetensors: {text}"
    return _fail(where, f"not a readable safetensors file of {size} bytes: {detail}; it is truncated, corrupt "
                        "or not a weights file: download or export it again (`pifnet-train export`), "
                        "or use --method gsa")


#: safetensors' reasons for refusing a file, in plain words: fragments of its messages (lower case,
#: without spaces; the texts of safetensors >= 0.5 and the error names that 0.4 prints), first match.
_SAFETENSORS_REASONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("filenotfullycovered", "metadataincompletebuffer"),
     "the tensor sizes its header declares do not add up to the file's length"),
    (("overflow",), "its header declares tensor sizes too large to compute"),
    (("headertoolarge",),
     f"its first 8 bytes declare a header larger than safetensors allows ({SAFETENSORS_MAX_HEADER_BYTES})"),
    (("invalidheaderlength",), "its first 8 bytes declare a header longer than the file"),
    (("invalidoffset",), "its header declares overlapping or misplaced tensor data"),
    (("invalidjson", "invalidheaderdeserialization", "jsonerror"), "its header is not a safetensors JSON header"),
    (("invalidheader",), "its header is not UTF-8 JSON"),
)


def _some(names: list[str], n: int = 3) -> str:
    return ", ".join(names[:n]) + (f", ... {len(names) - n} more" if len(names) > n else "")


def _check_tensors(found: dict[str, tuple[str, tuple[int, ...]]], expected: dict[str, torch.Tensor],
                   where: str) -> None:
    """The file's tensors (name -> (safetensors dtype, shape), from its header) against the model's
    state dict ``expected``: float tensors only, exactly the model's names and shapes."""
    for key, (dtype, _) in sorted(found.items()):
        if dtype not in FLOAT_DTYPES:
            raise _fail(where, f"tensor {key!r} has dtype {dtype}; PIF-Net weights hold float tensors "
                               f"({', '.join(FLOAT_DTYPES)}): export the weights with `pifnet-train export`, or use --method gsa")
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        parts = [f"lacks {len(missing)} of the {len(expected)} tensors the manifest's model config needs "
                 f"({_some(missing)})"] if missing else []
        parts += [f"holds {len(unexpected)} tensors that config does not have ({_some(unexpected)})"] if unexpected else []
        raise _fail(where, f"the tensor file {' and '.join(parts)}; the manifest and the .safetensors do not "
                           "belong together or come from another engine version: export them again with "
                           "`pifnet-train export`, or use --method gsa")
    for key, ref in expected.items():
        if found[key][1] != tuple(ref.shape):
            raise _fail(where, f"tensor {key!r} has shape {found[key][1]}; the manifest's model config needs "
                               f"{tuple(ref.shape)}; export the weights again with `pifnet-train export`, or use --method gsa")


#: Up to this many blocks / segments / heads a config is built (shapes only) to compare with the file.
MAX_MODULES = 256


def _expected_tensors(cfg: PIFNetConfig, held: int, where: str) -> dict[str, torch.Tensor]:
    """The state dict of ``cfg``'s model with shapes only (built on the ``meta`` device: nothing is
    allocated, so a manifest that declares a model of 10^10 parameters costs nothing). A config with
    more blocks, segments or heads than the file holds tensors (and more than :data:`MAX_MODULES`)
    is refused before even that: each adds tensors, and a config of 10^7 blocks would take minutes
    to build; a smaller mismatch gets the exact list of missing tensors from the shapes."""
    for name in ("blocks", "ssm_segments", "lora_heads"):
        value = getattr(cfg, name)
        if value > max(held, MAX_MODULES):
            raise _fail(where, f"the manifest's model config declares {name} = {value}, more than the {held} "
                               "tensors the file holds; the manifest and the .safetensors do not belong together: "
                               "export them again with `pifnet-train export`, or use --method gsa")
    with torch.device("meta"):
        return PIFNet(cfg).state_dict()


def _read_verified(path: Path, size: int, sha256: str, where: str) -> bytes:
    """The ``size`` bytes of the tensor file (its header already checked against that size), refused
    unless their SHA-256 is the manifest's ``sha256``. The tensors are then loaded from these very
    bytes, so the digest covers exactly what is loaded."""
    with open(path, "rb") as f:
        blob = f.read(size + 1)
    if len(blob) != size:
        raise _fail(where, f"changed while it was read ({size} bytes, then {len(blob)}); load it again "
                           "once nothing writes to it")
    digest = hashlib.sha256(blob).hexdigest()
    if digest != sha256.lower():
        raise _fail(where, f"SHA-256 is {digest} but the manifest says {sha256}; the file is corrupt or was "
                           "modified, or the manifest belongs to another file: download or export it again "
                           "(`pifnet-train export`), or use --method gsa")
    return blob


def load_weights(path: str | os.PathLike[str]) -> tuple[PIFNet, dict[str, Any]]:
    """Read a weights file: returns (model on CPU in eval mode, manifest).

    Checks, in this order, each failing with one :class:`WeightsError` before any tensor is
    read: the manifest's structure; that the .safetensors is not a pickle (its first 9 bytes);
    the safetensors header against the file's length (by ``safe_open``, which reads the header
    only and allocates nothing the header claims); float tensors with exactly the names and
    shapes of the manifest's model config (a shapes-only model on the ``meta`` device: a manifest that
    declares a huge model allocates nothing). Only then is the file read (its length is known and
    fits the model), its SHA-256 compared with the manifest's and the tensors loaded from the same
    bytes. A system failure reading the file (permissions, I/O) is raised as the ``OSError`` it is.
    """
    manifest = read_manifest(path)
    st_path, json_path = weights_paths(path)
    listed = manifest.get("safetensors", st_path.name)
    if not isinstance(listed, str) or Path(listed).name != listed or not listed.endswith(".safetensors"):
        raise WeightsError(f"weights manifest {json_path}: 'safetensors' is {listed!r}; expected the bare "
                           "name of a .safetensors file in the same folder")
    st_path = json_path.with_name(listed)
    where = f"weights {manifest['name']!r} ({st_path})"
    if not st_path.is_file():
        raise WeightsError(f"{where}: tensor file not found next to {json_path.name}; copy both files")
    with open(st_path, "rb") as f:
        head, size = f.read(9), os.fstat(f.fileno()).st_size
    if _looks_like_pickle(head, size):
        raise _fail(where, "is a PyTorch pickle (torch.save / .pt / .pth), not safetensors; it is never "
                           "loaded because unpickling can run code: export the weights with `pifnet-train "
                           "export` (or save the state_dict with safetensors.torch.save_file), or use --method gsa")
    cfg = validate_manifest(manifest, where)
    try:
        with safe_open(st_path, framework="pt", device="cpu") as handle:  # the header only
            found = {key: (handle.get_slice(key).get_dtype(), tuple(handle.get_slice(key).get_shape()))
                     for key in handle.keys()}
        _check_tensors(found, _expected_tensors(cfg, len(found), where), where)
        tensors = st_load(_read_verified(st_path, size, manifest["sha256"], where))
    except (SafetensorError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise  # a system failure (permissions, I/O): the CLI's boundary names it
        raise _unreadable(where, head, size, exc) from None
    model = PIFNet(cfg)  # allocated only now: its tensors are the file's, whose size is known
    model.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()}, strict=True)
    model.eval()
    return model, manifest
