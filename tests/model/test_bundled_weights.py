"""The weights we ship: manifests against configs, the demo pair through pick-by-fit, unit-free
normalisation (the same physical result in any linear units) and the refusal of input in units
the weights were not trained for."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio

from pifnet_engine.demo import demo_paths
from pifnet_engine.metrics import psnr, sam
from pifnet_engine.methods.pifnet import bundled_weights
from pifnet_engine.model import count_parameters
from pifnet_engine.model.weights import load_weights, read_manifest, sha256_file, validate_manifest

from ..engine.cli_runner import fuse, run

BUNDLED = {p.stem: p for p in bundled_weights()}


def test_both_bundled_weights_are_shipped() -> None:
    assert {"cave_x4", "enmap_s2_x3"} <= set(BUNDLED)


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_manifest_matches_its_weights_and_config(name: str) -> None:
    manifest_path = BUNDLED[name]
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    cfg = validate_manifest(manifest, str(manifest_path))
    model, loaded = load_weights(manifest_path)
    assert loaded["name"] == name and model.cfg == cfg
    assert manifest["model"]["parameters"] == count_parameters(model)
    assert manifest["sha256"] == sha256_file(manifest_path.with_suffix(".safetensors"))
    assert manifest_path.with_suffix(".safetensors").stat().st_size < 8_000_000  # a few MB
    # Trained with what we ship as the default: residual output, unit-free normalisation.
    assert cfg.residual == "bicubic"
    assert manifest["normalisation"]["mode"] == "pair_mean"
    assert manifest["training"]["command"].startswith("pifnet-train train")
    val = manifest["validation"]
    assert {"pifnet", "gsa", "bicubic"} <= set(val)
    # The bundled weights beat GSA on their held-out validation data, in PSNR and in SAM.
    assert val["pifnet"]["psnr"] > val["gsa"]["psnr"] and val["pifnet"]["sam"] < val["gsa"]["sam"]


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(masked=True).astype(np.float64).filled(np.nan)


def test_demo_pair_fuses_through_pick_by_fit(tmp_path: Path) -> None:
    paths = demo_paths()
    out = fuse(paths["hsi"], paths["msi"], tmp_path / "fused.tif", "--method", "pifnet")
    with rasterio.open(out) as src:
        assert src.tags()["PIFNET_WEIGHTS"] == "enmap_s2_x3"
        assert src.tags()["PIFNET_NORMALISATION"].startswith("pair_mean")
    z, ref = _read(out), _read(paths["reference"])
    good = np.isfinite(ref).all(axis=(1, 2)) & np.isfinite(z).all(axis=(1, 2))
    assert good.sum() > 200
    gsa = _read(fuse(paths["hsi"], paths["msi"], tmp_path / "gsa.tif", "--method", "gsa"))
    rng = np.nanmax(ref[good], axis=(1, 2))[:, None, None]
    p_pif = psnr(ref[good] / rng, z[good] / rng, data_range=1.0)
    p_gsa = psnr(ref[good] / rng, gsa[good] / rng, data_range=1.0)
    assert p_pif > p_gsa and sam(ref[good], z[good]) < sam(ref[good], gsa[good])


# --- units ---------------------------------------------------------------------------------

def _variant(src_path: Path, dst: Path, dtype: str, factor: float, keep_scale: bool = False) -> Path:
    """A copy of ``src_path`` with the same metadata, its stored integers k (physical k * scale)
    rewritten as ``k * factor`` in ``dtype`` and, unless ``keep_scale``, no GDAL scale tag
    (nodata kept, or 65535 where the source's does not fit an unsigned type)."""
    with rasterio.open(src_path) as src:
        raw = src.read()
        nodata = src.nodata
        if dtype == "uint16" and nodata is not None and nodata < 0:
            raw = np.where(raw == nodata, 65535, raw)
            nodata = 65535
        profile = src.profile.copy()
        profile.update(dtype=dtype, nodata=nodata)
        valid = raw != nodata
        k = np.maximum(raw.astype(np.float64), 0.0)  # the same non-negative scene in every variant (uint16 DN)
        data = np.where(valid, k * factor, nodata).astype(dtype)
        assert dtype == "float32" or np.abs(data[valid] - k[valid] * factor).max() == 0  # exact
        with rasterio.open(dst, "w", **profile) as out:
            out.write(data)
            out.update_tags(**src.tags())
            for ns in src.tag_namespaces():
                if ns not in ("IMAGE_STRUCTURE", "DERIVED_SUBDATASETS"):
                    out.update_tags(ns=ns, **src.tags(ns=ns))
            for b in range(1, src.count + 1):
                out.update_tags(b, **src.tags(b))
                out.set_band_description(b, src.descriptions[b - 1] or "")
            if keep_scale:
                out.scales, out.offsets = src.scales, src.offsets
    return dst


def _stored_range(path: Path) -> tuple[float, float]:
    with rasterio.open(path) as src:
        raw = src.read(masked=True)
        return float(raw.min()), float(raw.max())


def test_fusion_is_the_same_in_any_linear_units(tmp_path: Path) -> None:
    """DN 0-65535, reflectance 0-1 (float32) and reflectance x 10000 (int16, scale tag dropped):
    the same physical result within 1e-4 relative."""
    paths = demo_paths()
    lo, hi = _stored_range(paths["hsi"])  # the demo stores reflectance x 10000 with a 1e-4 scale tag
    assert lo >= 0 and hi * 6 < 65535
    variants = {
        # name: (HSI dtype, factor onto the stored integers, MSI dtype, MSI factor, physical units per stored unit)
        "reflectance": ("float32", 1e-4, "float32", 1e-4, 1.0),
        "x10000_int16": ("int16", 1.0, "uint16", 1.0, 1e-4),
        "dn_uint16": ("uint16", 6.0, "uint16", 6.0, 1e-4 / 6.0),
    }
    results = {}
    for name, (hdt, hf, mdt, mf, unit) in variants.items():
        hsi = _variant(paths["hsi"], tmp_path / f"hsi_{name}.tif", hdt, hf)
        msi = _variant(paths["msi"], tmp_path / f"msi_{name}.tif", mdt, mf)
        out = fuse(hsi, msi, tmp_path / f"fused_{name}.tif", "--method", "pifnet", "--weights", "enmap_s2_x3")
        results[name] = _read(out) * unit
    ref = results["reflectance"]
    finite = np.isfinite(ref)
    assert finite.mean() > 0.9 and np.nanmax(np.abs(ref)) < 2.0  # reflectance, not garbage
    for name in ("x10000_int16", "dn_uint16"):
        other = results[name]
        assert np.array_equal(np.isfinite(other), finite)
        rel = np.abs(other[finite] - ref[finite]).max() / np.abs(ref[finite]).max()
        print(f"units {name}: max |diff| / max |ref| = {rel:.2e}")
        assert rel <= 1e-4, (name, rel)


def _old_style_manifest(tmp_path: Path, scale: float, stem: str = "old") -> Path:
    """The bundled enmap_s2_x3 with its normalisation rewritten in the fixed form of manifests
    written before the unit-free normalisation (the weights themselves unchanged)."""
    src = BUNDLED["enmap_s2_x3"]
    shutil.copy(src.with_suffix(".safetensors"), tmp_path / f"{stem}.safetensors")
    manifest = json.loads(src.read_text(encoding="utf-8"))
    manifest["name"] = stem
    manifest["safetensors"] = f"{stem}.safetensors"
    manifest["normalisation"] = {"hsi": {"offset": 0.0, "scale": scale}, "msi": {"offset": 0.0, "scale": scale},
                                 "description": "fixed"}
    (tmp_path / f"{stem}.json").write_text(json.dumps(manifest), encoding="utf-8")
    return tmp_path / f"{stem}.json"


def test_old_fixed_scale_manifest_loads_and_off_unit_input_is_refused(tmp_path: Path) -> None:
    """The issue's 100 %-NaN case: the demo raster with its GDAL scale tag dropped (values in
    reflectance x 10000) given to weights with a fixed scale of 1.0. Refused before any window,
    one line, no output. In the units it expects, the old-style manifest still loads and fuses."""
    paths = demo_paths()
    weights = _old_style_manifest(tmp_path, 1.0)
    assert read_manifest(weights)["normalisation"]["hsi"]["scale"] == 1.0
    hsi = _variant(paths["hsi"], tmp_path / "hsi_noscale.tif", "int16", 1.0)
    out = tmp_path / "fused.tif"
    code, err = run(["fuse", str(hsi), str(paths["msi"]), "-o", str(out), "--method", "pifnet",
                     "--weights", str(weights), "--progress", "none"])
    assert code != 0 and not out.exists()
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("Error: HSI 'hsi_noscale.tif' values reach") and "weights 'old'" in lines[0]
    assert "trained on values up to 1" in lines[0] and "scale/offset tags" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hsi_noscale.tif", "old.json", "old.safetensors"]
    # Reflectance 0-1 to weights trained on 16-bit counts: values ~1e-5 of what they saw.
    weights16 = _old_style_manifest(tmp_path, 65535.0, stem="old16")
    code, err = run(["fuse", str(paths["hsi"]), str(paths["msi"]), "-o", str(out), "--method", "pifnet",
                     "--weights", str(weights16), "--progress", "none"])
    assert code != 0 and not out.exists() and "the input is in smaller units" in err
    # Right units: loads and fuses.
    fuse(paths["hsi"], paths["msi"], out, "--method", "pifnet", "--weights", str(weights))
    assert np.isfinite(_read(out)).any()


def test_pair_far_outside_the_training_statistics_is_refused(tmp_path: Path) -> None:
    paths = demo_paths()
    seen = read_manifest(BUNDLED["enmap_s2_x3"])["normalisation"]["seen"]["hsi_max"]
    with rasterio.open(paths["hsi"]) as src:
        mean = float(src.read(masked=True).mean())
    # A few pixels at 100 x (what training saw x the mean): other units in part of the raster.
    hsi = _variant(paths["hsi"], tmp_path / "hsi_hot.tif", "float32", 1.0)
    with rasterio.open(hsi, "r+") as dst:
        data = dst.read()
        data[:, 5, 5:8] = 100 * seen * mean
        dst.write(data)
    out = tmp_path / "fused.tif"
    code, err = run(["fuse", str(hsi), str(paths["msi"]), "-o", str(out), "--method", "pifnet",
                     "--weights", "enmap_s2_x3", "--progress", "none"])
    assert code != 0 and not out.exists()
    assert "times their mean" in err and "weights 'enmap_s2_x3' were trained on values up to" in err
    assert len(err.strip().splitlines()) == 1
