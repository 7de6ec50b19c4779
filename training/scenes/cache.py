"""Compact scene cache: a normalised training region in one small HDF5 file.

GPU runs can take along only a few tens of MiB, so training reads the regions it needs from
these caches instead of the original scenes. One file holds one normalised :class:`Scene`:

- ``cube``: (C, H, W) unsigned integers ``round(value * levels)`` with ``levels = 2**bits - 1``
  (``bits=16`` by default: a step of 1.5e-5, below any sensor's noise; CAVE's 16-bit counts
  / 65535 round-trip exactly), chunked per band, gzip + byte shuffle;
- ``valid`` (H, W) uint8 when the scene has a mask;
- attributes: name, sensor, wavelengths / FWHM / good bands, the normalisation divisor and
  mode that produced [0, 1] from the file's units, georeferencing, free-text ``source``.

:func:`read_cache` returns the normalised scene (``full_scale = 1.0``), ready for
:func:`training.pairs.simulate_scene`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine

from rasterio.windows import Window

from pifnet_engine.errors import InputDataError, OutputExistsError, UsageError
from training.scenes.normalise import NormaliseMode, normalisation_scale, normalise
from training.scenes.scene import Scene

CACHE_FORMAT = "pifnet-scene-cache/1"


@dataclass(frozen=True)
class CacheInfo:
    """What a cache file says about where its data came from."""

    path: Path
    name: str
    shape: tuple[int, int, int]
    bits: int
    scale: float
    normalisation: str
    source: str
    size_bytes: int


def write_cache(
    path: str | Path,
    scene: Scene,
    scale: float,
    normalisation: str,
    source: str = "",
    bits: int = 16,
    overwrite: bool = False,
) -> CacheInfo:
    """Write a NORMALISED ``scene`` (values in [0, 1], from
    :func:`training.scenes.normalise.normalise`) to ``path`` (``.h5``).

    ``scale``/``normalisation``: the divisor and mode that normalised it (recorded so results
    can say how the ground truth was made). ``bits`` in 8..16: quantisation depth.
    """
    import h5py

    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"cache file exists: {path}; pass overwrite=True to replace it")
    if not 8 <= bits <= 16:
        raise UsageError(f"bits must be in 8..16; got {bits}")
    if scene.full_scale != 1.0 or scene.cube.size and (scene.cube.min() < 0.0 or scene.cube.max() > 1.0):
        raise InputDataError(
            f"scene {scene.name!r} is not normalised to [0, 1]; expected the output of "
            "training.scenes.normalise.normalise(scene)"
        )
    levels = (1 << bits) - 1
    quant = np.rint(scene.cube.astype(np.float64) * levels).astype(np.uint16)
    c, h, w = scene.cube.shape
    meta = {
        "format": CACHE_FORMAT,
        "name": scene.name,
        "sensor": scene.sensor,
        "bits": bits,
        "scale": float(scale),
        "normalisation": normalisation,
        "source": source,
        "wavelengths_nm": list(scene.wavelengths_nm) if scene.wavelengths_nm else None,
        "wavelengths_nominal": scene.wavelengths_nominal,
        "fwhm_nm": list(scene.fwhm_nm) if scene.fwhm_nm else None,
        "good_bands": list(scene.good_bands) if scene.good_bands else None,
        "transform": list(scene.transform)[:6] if scene.transform is not None else None,
        "crs": scene.crs,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    with h5py.File(tmp, "w") as f:
        f.attrs["meta"] = json.dumps(meta)
        f.create_dataset(
            "cube", data=quant, chunks=(1, h, w), compression="gzip", compression_opts=6, shuffle=True
        )
        if scene.valid is not None:
            f.create_dataset("valid", data=scene.valid.astype(np.uint8), compression="gzip", shuffle=True)
    tmp.replace(path)
    return cache_info(path)


def cache_regions(
    scene: Scene,
    windows: Sequence[Window],
    folder: str | Path,
    prefix: str | None = None,
    mode: NormaliseMode = "auto",
    scale: float | None = None,
    bits: int = 16,
    source: str = "",
    overwrite: bool = False,
) -> list[CacheInfo]:
    """Normalise the WHOLE raw ``scene`` once (``mode``, or an explicit whole-scene ``scale``),
    then write each window (e.g. a split's ``train`` windows) to ``folder/{prefix}_{i}.h5``.

    One file per region keeps each under the transfer limit; the recorded ``source`` says which
    rows/columns of which file each came from.
    """
    resolved = "explicit" if scale is not None else normalisation_scale(scene, mode)[1]
    normalised, used = normalise(scene, mode, scale=scale)
    prefix = prefix or scene.name
    out = []
    for i, win in enumerate(windows):
        r, c, h, w = int(win.row_off), int(win.col_off), int(win.height), int(win.width)
        where = f"{scene.name} rows {r}..{r + h - 1}, cols {c}..{c + w - 1}"
        region = normalised.crop(win, name=f"{prefix}_{i}")
        out.append(
            write_cache(
                Path(folder) / f"{prefix}_{i}.h5",
                region,
                used,
                resolved,
                source=f"{source}; {where}" if source else where,
                bits=bits,
                overwrite=overwrite,
            )
        )
    return out


def _meta(f: "object", path: Path) -> dict:
    raw = f.attrs.get("meta")  # type: ignore[attr-defined]
    meta = json.loads(raw) if raw is not None else {}
    if meta.get("format") != CACHE_FORMAT:
        raise InputDataError(
            f"{path} is not a scene cache (format {meta.get('format')!r}); expected {CACHE_FORMAT!r}, "
            "written by training.scenes.cache.write_cache"
        )
    return meta


def cache_info(path: str | Path) -> CacheInfo:
    """Read a cache file's metadata without its pixels."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"cache file not found: {path}; write it with write_cache first")
    with h5py.File(path, "r") as f:
        meta = _meta(f, path)
        shape = tuple(int(v) for v in f["cube"].shape)
    return CacheInfo(
        path=path,
        name=meta["name"],
        shape=shape,  # type: ignore[arg-type]
        bits=int(meta["bits"]),
        scale=float(meta["scale"]),
        normalisation=str(meta["normalisation"]),
        source=str(meta["source"]),
        size_bytes=path.stat().st_size,
    )


def read_cache(path: str | Path) -> Scene:
    """The normalised :class:`Scene` stored in ``path`` (float32 in [0, 1], ``full_scale = 1``)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"cache file not found: {path}; write it with write_cache first")
    with h5py.File(path, "r") as f:
        meta = _meta(f, path)
        cube = f["cube"][...].astype(np.float32) / np.float32((1 << int(meta["bits"])) - 1)
        valid = f["valid"][...].astype(bool) if "valid" in f else None

    def tup(key: str, kind: type) -> tuple | None:
        return tuple(kind(v) for v in meta[key]) if meta.get(key) is not None else None

    return Scene(
        name=meta["name"],
        cube=cube,
        wavelengths_nm=tup("wavelengths_nm", float),
        wavelengths_nominal=bool(meta.get("wavelengths_nominal", False)),
        fwhm_nm=tup("fwhm_nm", float),
        full_scale=1.0,
        good_bands=tup("good_bands", bool),
        valid=valid,
        sensor=meta["sensor"],
        transform=Affine(*meta["transform"]) if meta.get("transform") else None,
        crs=meta.get("crs"),
    )
