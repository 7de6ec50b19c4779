"""The value every scene loader returns: a hyperspectral cube with what is known about its bands."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from affine import Affine
from rasterio.windows import Window, transform as window_transform

from pifnet_engine.errors import InputDataError


@dataclass(frozen=True, eq=False)
class Scene:
    """A hyperspectral scene (or a region of one) as loaded from disk.

    - ``cube``: (C, H, W) float32, in the file's units after any GDAL scale/offset (raw DN for
      the benchmark ``.mat`` files, 16-bit counts for CAVE, reflectance for EnMAP L2A);
      invalid pixels hold 0.
    - ``wavelengths_nm``: C band centres in nanometres, or ``None`` when unknown;
      ``wavelengths_nominal`` is True when they are the sensor's nominal even spacing rather
      than per-band metadata read from the file; ``fwhm_nm``: C band widths (nm) or ``None``.
    - ``full_scale``: the value that means "100 %" in the file's units when the sensor has one
      (65535 for CAVE's 16-bit PNGs, 1.0 for reflectance), ``None`` for uncalibrated DN
      (then :func:`training.pairs.normalise` uses the scene maximum).
    - ``good_bands``: C flags, False for bad bands (all nodata, e.g. EnMAP water vapour bands),
      or ``None`` when every band is good.
    - ``valid``: (H, W) bool, False where a pixel is nodata in any good band, or ``None`` when
      every pixel is valid.
    - ``transform``/``crs``: georeferencing (affine pixel -> map, CRS as WKT) of georeferenced
      scenes, ``None`` for the benchmark files.
    """

    name: str
    cube: np.ndarray
    wavelengths_nm: tuple[float, ...] | None = None
    wavelengths_nominal: bool = False
    fwhm_nm: tuple[float, ...] | None = None
    full_scale: float | None = None
    good_bands: tuple[bool, ...] | None = None
    valid: np.ndarray | None = None
    sensor: str = "unknown"
    transform: Affine | None = None
    crs: str | None = None

    def __post_init__(self) -> None:
        if self.cube.ndim != 3 or self.cube.dtype != np.float32:
            raise InputDataError(
                f"scene {self.name!r}: cube has shape {self.cube.shape} and dtype {self.cube.dtype}; "
                "expected a (C, H, W) float32 array; convert with np.asarray(cube, np.float32)"
            )
        bands = self.cube.shape[0]
        per_band = (
            ("wavelengths_nm", self.wavelengths_nm),
            ("fwhm_nm", self.fwhm_nm),
            ("good_bands", self.good_bands),
        )
        for label, seq in per_band:
            if seq is not None and len(seq) != bands:
                raise InputDataError(
                    f"scene {self.name!r}: {label} has {len(seq)} entries but the cube has {bands} "
                    "bands; expected one entry per band"
                )
        if self.valid is not None and self.valid.shape != self.cube.shape[1:]:
            raise InputDataError(
                f"scene {self.name!r}: valid mask has shape {self.valid.shape} but the cube is "
                f"{self.cube.shape[1:]} pixels; expected an (H, W) mask"
            )

    @property
    def bands(self) -> int:
        """Number of spectral bands C."""
        return int(self.cube.shape[0])

    @property
    def shape_hw(self) -> tuple[int, int]:
        """(H, W) in pixels."""
        return int(self.cube.shape[1]), int(self.cube.shape[2])

    def crop(self, window: Window, name: str | None = None) -> "Scene":
        """The sub-scene inside ``window`` (pixel offsets and sizes, integers); raises
        :class:`InputDataError` when the window is not inside the scene."""
        h, w = self.shape_hw
        row_off, col_off = int(window.row_off), int(window.col_off)
        height, width = int(window.height), int(window.width)
        inside = row_off >= 0 and col_off >= 0 and height > 0 and width > 0
        if not inside or row_off + height > h or col_off + width > w:
            raise InputDataError(
                f"scene {self.name!r}: region rows {row_off}..{row_off + height} x cols "
                f"{col_off}..{col_off + width} is not inside the {h}x{w} scene; expected a "
                "non-empty region inside it; check the split matches the scene's shape"
            )
        rows = slice(row_off, row_off + height)
        cols = slice(col_off, col_off + width)
        return Scene(
            name=name or f"{self.name}[{row_off}:{row_off + height},{col_off}:{col_off + width}]",
            cube=np.ascontiguousarray(self.cube[:, rows, cols]),
            wavelengths_nm=self.wavelengths_nm,
            wavelengths_nominal=self.wavelengths_nominal,
            fwhm_nm=self.fwhm_nm,
            full_scale=self.full_scale,
            good_bands=self.good_bands,
            valid=None if self.valid is None else np.ascontiguousarray(self.valid[rows, cols]),
            sensor=self.sensor,
            transform=None if self.transform is None else window_transform(window, self.transform),
            crs=self.crs,
        )


def nominal_wavelengths(first_nm: float, last_nm: float, bands: int) -> tuple[float, ...]:
    """``bands`` evenly spaced band centres from ``first_nm`` to ``last_nm`` (nanometres)."""
    return tuple(float(v) for v in np.linspace(first_nm, last_nm, bands))
