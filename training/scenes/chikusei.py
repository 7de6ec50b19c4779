"""Chikusei (Yokoya & Iwasaki 2016): Headwall Hyperspec-VNIR-C, 2517 x 2335 px, 128 bands,
363-1018 nm, 2.5 m GSD, distributed as ``HyperspecVNIR_Chikusei_20140729.mat`` (MATLAB v7.3 =
HDF5, variable ``chikusei``, MATLAB size 2517 x 2335 x 128 = rows x cols x bands).

The file carries no wavelengths; the loader returns the nominal even spacing over 363-1018 nm
(``wavelengths_nominal=True``). Values are uncalibrated, so ``full_scale`` is ``None`` and
normalisation uses the scene maximum.
"""

from __future__ import annotations

from pathlib import Path

from rasterio.windows import Window

from training.scenes.matfile import mat_cube_shape, read_mat_cube
from training.scenes.scene import Scene, nominal_wavelengths

#: (rows, cols, bands) of the full scene as distributed.
CHIKUSEI_SHAPE: tuple[int, int, int] = (2517, 2335, 128)
CHIKUSEI_RANGE_NM: tuple[float, float] = (363.0, 1018.0)


def chikusei_shape(path: str | Path, key: str | None = None) -> tuple[int, int, int]:
    """(C, H, W) of the cube in ``path`` without reading the pixels."""
    return mat_cube_shape(path, key)


def load_chikusei(path: str | Path, key: str | None = None, window: Window | None = None) -> Scene:
    """Load Chikusei (or a pixel ``window`` of it, read from disk without loading the rest).

    ``key``: the MATLAB variable (the real file's is ``chikusei``); ``None`` picks the only
    3-D variable. Returns a :class:`Scene` with ``cube`` (128, H, W) float32 raw values.
    """
    cube = read_mat_cube(path, key=key, window=window)
    name = "chikusei" if window is None else f"chikusei{_window_suffix(window)}"
    return Scene(
        name=name,
        cube=cube,
        wavelengths_nm=nominal_wavelengths(*CHIKUSEI_RANGE_NM, cube.shape[0]),
        wavelengths_nominal=True,
        sensor="Headwall Hyperspec-VNIR-C",
    )


def _window_suffix(window: Window) -> str:
    r, c = int(window.row_off), int(window.col_off)
    return f"[{r}:{r + int(window.height)},{c}:{c + int(window.width)}]"
