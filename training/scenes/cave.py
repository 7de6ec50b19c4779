"""CAVE multispectral database (Yasuma, Mitsunaga, Iso & Nayar, IEEE TIP 19(9), 2010): 32 lab
scenes, 512 x 512 px, 31 bands 400-700 nm in 10 nm steps, in the original layout of
``complete_ms_data.zip``::

    complete_ms_data/<scene>_ms/<scene>_ms/<scene>_ms_NN.png     NN = 01..31, band NN <-> 390+10*NN nm

Band PNGs are 16-bit greyscale, except the scene ``watercolors``, distributed as 8-bit RGBA.
Conversion to the common 16-bit scale (documented decision): an 8-bit band is the mean of its
R, G and B channels (they are equal in the CAVE files; alpha is ignored), multiplied by 257 so
that 8-bit full scale 255 maps exactly onto 16-bit full scale 65535 (255 * 257 = 65535). Every
scene is then returned in 16-bit counts with ``full_scale = 65535``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pifnet_engine.errors import InputDataError
from training.scenes.scene import Scene

CAVE_BANDS = 31
CAVE_WAVELENGTHS_NM: tuple[float, ...] = tuple(400.0 + 10.0 * k for k in range(CAVE_BANDS))
CAVE_FULL_SCALE = 65535.0


def cave_root(path: str | Path) -> Path:
    """The ``complete_ms_data`` folder: ``path`` itself or its ``complete_ms_data`` child."""
    path = Path(path)
    if (path / "complete_ms_data").is_dir():
        path = path / "complete_ms_data"
    if not path.is_dir():
        raise InputDataError(
            f"CAVE folder not found: {path}; expected the complete_ms_data folder of CAVE "
            "(complete_ms_data/<scene>_ms/<scene>_ms/*.png); check the path"
        )
    return path


def band_path(root: str | Path, scene: str, band: int) -> Path:
    """Path of band ``band`` (1..31) of ``scene`` under the ``complete_ms_data`` folder."""
    return cave_root(root) / f"{scene}_ms" / f"{scene}_ms" / f"{scene}_ms_{band:02d}.png"


def list_cave_scenes(root: str | Path) -> list[str]:
    """Names of the scenes under ``root`` that have all 31 band PNGs, sorted."""
    base = cave_root(root)
    names = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and p.name.endswith("_ms")):
        scene = folder.name[: -len("_ms")]
        if all(band_path(base, scene, b).is_file() for b in range(1, CAVE_BANDS + 1)):
            names.append(scene)
    return names


def read_band_png(path: str | Path) -> np.ndarray:
    """One CAVE band PNG as (H, W) float32 in 16-bit counts (0..65535).

    16-bit greyscale is returned as is; 8-bit greyscale, RGB or RGBA (watercolors) becomes the
    mean of the colour channels times 257 (alpha ignored).
    """
    from PIL import Image

    with Image.open(path) as im:
        mode = im.mode
        if mode in ("I;16", "I;16B", "I;16L", "I"):
            data = np.asarray(im, dtype=np.float32)
            if data.max(initial=0) > CAVE_FULL_SCALE:
                raise InputDataError(
                    f"CAVE band {path}: values up to {data.max():.0f}; expected 16-bit counts "
                    "<= 65535; check the file is a CAVE band PNG"
                )
            return data
        if mode in ("L", "LA"):
            return np.asarray(im.getchannel("L"), dtype=np.float32) * 257.0
        if mode in ("RGB", "RGBA", "P", "PA"):
            rgb = np.asarray(im.convert("RGB"), dtype=np.float32)
            return rgb.mean(axis=2) * 257.0
    raise InputDataError(
        f"CAVE band {path}: PNG mode {mode!r}; expected 16-bit greyscale or 8-bit grey/RGB/RGBA; "
        "check the file is a CAVE band PNG"
    )


def load_cave_scene(root: str | Path, scene: str) -> Scene:
    """Load CAVE scene ``scene`` (e.g. ``"beads"``) from the ``complete_ms_data`` folder ``root``.

    Returns a :class:`Scene` with ``cube`` (31, 512, 512) float32 in 16-bit counts,
    ``full_scale`` 65535 and the 31 wavelengths 400..700 nm.
    """
    bands = []
    for b in range(1, CAVE_BANDS + 1):
        p = band_path(root, scene, b)
        if not p.is_file():
            raise InputDataError(
                f"CAVE scene {scene!r}: band file missing: {p}; expected 31 PNGs "
                f"{scene}_ms_01.png..{scene}_ms_31.png; re-extract complete_ms_data.zip"
            )
        bands.append(read_band_png(p))
    shapes = {b.shape for b in bands}
    if len(shapes) != 1:
        raise InputDataError(
            f"CAVE scene {scene!r}: band PNGs have different sizes {sorted(shapes)}; expected "
            "equal sizes; re-extract complete_ms_data.zip"
        )
    return Scene(
        name=scene,
        cube=np.stack(bands).astype(np.float32),
        wavelengths_nm=CAVE_WAVELENGTHS_NM,
        full_scale=CAVE_FULL_SCALE,
        sensor="CAVE (Apogee Alta U260 + VariSpec tunable filter)",
    )
