"""Small generated data for the trainer / evaluation / export / CLI tests (seeded, written to tmp_path).

- :func:`write_cave`: a ``complete_ms_data`` folder in CAVE's layout (31 16-bit PNGs per scene);
- :func:`write_geotiff_tiles`: georeferenced 8-band HSI tiles with wavelength tags;
- :func:`tiny_values`: the option values of a tiny, fast training run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from training.cli import DEFAULTS

#: Two training scenes and one validation scene of the MHF-net split (names must be CAVE's).
TRAIN_SCENES = ("beads", "pompoms")
VAL_SCENES = ("cloth",)


def smooth_cube(bands: int, size: int, seed: int) -> np.ndarray:
    """(bands, size, size) float64 in [0.05, 0.95]: a few random blobs with smooth spectra."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    wl = np.linspace(0.0, 1.0, bands)[:, None, None]
    cube = np.full((bands, size, size), 0.3)
    for _ in range(4):
        cy, cx, r = rng.uniform(0.1, 0.9, 2).tolist() + [rng.uniform(0.1, 0.3)]
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        spectrum = 0.3 + 0.3 * np.sin(2 * np.pi * (wl * rng.uniform(0.5, 2.0) + rng.uniform()))
        cube += blob[None] * spectrum
    cube += 0.02 * rng.standard_normal(cube.shape)
    return np.clip(cube / cube.max() * 0.9, 0.05, 0.95)


def write_cave(root: Path, scenes: tuple[str, ...] = TRAIN_SCENES + VAL_SCENES, size: int = 48) -> Path:
    """Write ``root/complete_ms_data/<scene>_ms/<scene>_ms/<scene>_ms_NN.png`` (16-bit)."""
    from PIL import Image

    base = root / "complete_ms_data"
    for k, scene in enumerate(scenes):
        folder = base / f"{scene}_ms" / f"{scene}_ms"
        folder.mkdir(parents=True)
        cube = np.round(smooth_cube(31, size, seed=k) * 65535).astype(np.uint16)
        for b in range(31):
            Image.fromarray(cube[b]).save(folder / f"{scene}_ms_{b + 1:02d}.png")
    return base


def write_geotiff_tiles(folder: Path, bands: int = 8, size: int = 48, tiles: int = 2) -> list[Path]:
    """Write ``tiles`` separate (non-touching) reflectance GeoTIFFs with per-band wavelength tags
    (450..880 nm, inside Sentinel-2's B2..B8 range)."""
    import rasterio
    from affine import Affine

    folder.mkdir(parents=True, exist_ok=True)
    waves = np.linspace(450.0, 880.0, bands)
    paths = []
    for t in range(tiles):
        cube = smooth_cube(bands, size, seed=10 + t).astype(np.float32) * 0.5
        path = folder / f"tile_{t}.tif"
        transform = Affine(30.0, 0.0, 400000.0 + t * 30.0 * (size + 10), 0.0, -30.0, 5800000.0)
        with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=bands, dtype="float32",
                           crs="EPSG:32633", transform=transform, nodata=-32768.0) as ds:
            ds.write(cube)
            for b in range(bands):
                ds.update_tags(b + 1, wavelength=f"{waves[b]:.1f}", wavelength_units="Nanometers", fwhm="10.0")
        paths.append(path)
    return paths


def tiny_values(out: Path, data: Path, **overrides: Any) -> dict[str, Any]:
    """Option values (as the CLI fills them) of a tiny CAVE run: D = 8, L = 1, N = 2, 16-px patches."""
    values: dict[str, Any] = {**DEFAULTS, "scene": "cave", "data": data, "msi_srf": None, "key": None, "out": out,
                              "resume": False, "stride": None, "hidden": 8, "blocks": 1, "d_state": 2,
                              "patch_size": 16, "batch_size": 4, "epochs": 2, "val_tile_size": 64,
                              "checkpoint_minutes": 0.0, "max_steps": None, "threads": 1, "device": "cpu"}
    values.update(overrides)
    return values
