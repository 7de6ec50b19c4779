"""Read a 3-D hyperspectral array from a MATLAB ``.mat`` file, v5 (scipy) or v7.3 (HDF5, h5py).

MATLAB stores arrays column-major. A MATLAB ``rows x cols x bands`` cube therefore appears

- in a v5 file, through :func:`scipy.io.loadmat`, as a NumPy ``(rows, cols, bands)`` array;
- in a v7.3 (HDF5) file, through h5py, as a dataset of shape ``(bands, cols, rows)`` — every
  axis reversed.

Both come back here as ``(C, H, W) = (bands, rows, cols)`` float32. For v7.3 files a pixel
window can be read without loading the whole cube (Chikusei is ~1.5 GB as float64 in memory).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rasterio.windows import Window

from pifnet_engine.errors import InputDataError


def is_v73(path: str | Path) -> bool:
    """True when ``path`` is a MATLAB v7.3 file (an HDF5 container)."""
    import h5py

    return bool(h5py.is_hdf5(str(path)))


def _pick_key(path: Path, candidates: dict[str, tuple[int, ...]], key: str | None) -> str:
    """Choose the variable to read: ``key`` if given, else the only 3-D variable."""
    if key is not None:
        if key not in candidates:
            raise InputDataError(
                f"{path}: no variable {key!r}; the file holds {sorted(candidates) or 'no arrays'}; "
                "pass the right key"
            )
        return key
    cubes = [k for k, shape in candidates.items() if len(shape) == 3]
    if len(cubes) != 1:
        raise InputDataError(
            f"{path}: cannot tell which variable is the cube: 3-D variables {cubes} among "
            f"{sorted(candidates)}; expected exactly one; pass key=..."
        )
    return cubes[0]


def mat_cube_shape(path: str | Path, key: str | None = None) -> tuple[int, int, int]:
    """(C, H, W) of the cube in ``path`` without reading its pixels (v7.3) or after a cheap
    header scan (v5, via :func:`scipy.io.whosmat`)."""
    path = Path(path)
    _check_exists(path)
    if is_v73(path):
        import h5py

        with h5py.File(path, "r") as f:
            shapes = _h5_shapes(f)
            name = _pick_key(path, shapes, key)
            bands, cols, rows = shapes[name]
            return bands, rows, cols
    import scipy.io

    shapes = {n: tuple(s) for n, s, _ in scipy.io.whosmat(str(path))}
    name = _pick_key(path, shapes, key)
    rows, cols, bands = shapes[name]
    return bands, rows, cols


def read_mat_cube(path: str | Path, key: str | None = None, window: Window | None = None) -> np.ndarray:
    """Read the cube ``key`` (or the only 3-D variable) as (C, H, W) float32.

    ``window``: pixel region (rows/cols of the MATLAB array) to read, ``None`` for all. A v7.3
    file reads only that region from disk; a v5 file is loaded whole then cropped.
    """
    path = Path(path)
    _check_exists(path)
    if is_v73(path):
        import h5py

        with h5py.File(path, "r") as f:
            name = _pick_key(path, _h5_shapes(f), key)
            ds = f[name]
            if window is None:
                data = ds[...]
            else:
                r0, c0, h, w = _window_bounds(path, window, rows=ds.shape[2], cols=ds.shape[1])
                data = ds[:, c0 : c0 + w, r0 : r0 + h]
            return np.ascontiguousarray(np.transpose(data, (0, 2, 1)), dtype=np.float32)
    import scipy.io

    contents = scipy.io.loadmat(str(path))
    arrays = {k: v.shape for k, v in contents.items() if not k.startswith("__") and isinstance(v, np.ndarray)}
    name = _pick_key(path, arrays, key)
    data = contents[name]
    if data.ndim != 3:
        raise InputDataError(
            f"{path}: variable {name!r} has shape {data.shape}; expected a rows x cols x bands cube"
        )
    if window is not None:
        r0, c0, h, w = _window_bounds(path, window, rows=data.shape[0], cols=data.shape[1])
        data = data[r0 : r0 + h, c0 : c0 + w]
    return np.ascontiguousarray(np.transpose(data, (2, 0, 1)), dtype=np.float32)


def mat_cube_max(path: str | Path, key: str | None = None) -> float:
    """Maximum of the whole cube, read one band at a time for v7.3 files (for normalising a
    scene whose training region is read with a window; see :mod:`training.scenes.normalise`)."""
    path = Path(path)
    _check_exists(path)
    if not is_v73(path):
        return float(read_mat_cube(path, key).max())
    import h5py

    with h5py.File(path, "r") as f:
        ds = f[_pick_key(path, _h5_shapes(f), key)]
        return float(max(np.max(ds[b]) for b in range(ds.shape[0])))


def _h5_shapes(f: "object") -> dict[str, tuple[int, ...]]:
    """Top-level numeric datasets of an open HDF5 file (MATLAB's ``#refs#`` group excluded)."""
    import h5py

    return {
        k: tuple(v.shape)
        for k, v in f.items()  # type: ignore[attr-defined]
        if isinstance(v, h5py.Dataset) and not k.startswith("#") and v.dtype.kind in "fiu"
    }


def _window_bounds(path: Path, window: Window, rows: int, cols: int) -> tuple[int, int, int, int]:
    r0, c0, h, w = int(window.row_off), int(window.col_off), int(window.height), int(window.width)
    if r0 < 0 or c0 < 0 or h <= 0 or w <= 0 or r0 + h > rows or c0 + w > cols:
        raise InputDataError(
            f"{path}: window rows {r0}..{r0 + h} x cols {c0}..{c0 + w} is outside the {rows}x{cols} "
            "cube; expected a non-empty region inside it"
        )
    return r0, c0, h, w


def _check_exists(path: Path) -> None:
    if not path.is_file():
        raise InputDataError(f"MATLAB file not found: {path}; expected an existing .mat file; check the path")
