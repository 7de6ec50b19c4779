"""Reading windows of a raster as physical values plus a validity mask.

A :class:`RasterSource` wraps an open rasterio dataset (or a ``WarpedVRT`` of one) and reads any
window, also one that reaches beyond the raster: the part inside is read, invalid pixels
(nodata value, internal mask, alpha band, NaN) are flagged, and the outside is filled by repeating the
nearest edge pixel and flagged invalid. Values come back as float32 after GDAL's per-band
scale/offset (``value = raw * scale + offset``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import rasterio
from rasterio.enums import ColorInterp, MaskFlags
from rasterio.io import DatasetReader
from rasterio.windows import Window

from pifnet_engine.errors import InputDataError
from pifnet_engine.geometry import clip, pad_widths
from pifnet_engine.raster.bands import BandInfo, read_band_info


@dataclass
class WindowData:
    """One window: ``values`` (C, h, w) float32 physical units; ``valid`` (h, w) bool."""

    values: np.ndarray
    valid: np.ndarray


def open_raster(path: str, role: str) -> DatasetReader:
    """Open ``path`` with rasterio, turning GDAL's failure into one clear :class:`InputDataError`."""
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputDataError(
            f"cannot read the {role} '{path}' as a raster ({exc}); give a GDAL-readable file "
            f"(GeoTIFF, ENVI .hdr/.img, VRT, ...)"
        ) from None


class RasterSource:
    """Window reader over ``dataset`` (possibly a WarpedVRT of ``original``).

    ``original`` supplies metadata (scale/offset, nodata, band info, name); ``dataset`` supplies
    pixels on the grid being processed. Pixel validity is the AND over the *good* bands (bad
    bands per ``bbl`` are often entirely nodata and must not blank the image).
    """

    def __init__(self, dataset: DatasetReader, original: DatasetReader | None = None,
                 role: str = "raster") -> None:
        self.dataset = dataset
        self.original = original if original is not None else dataset
        self.role = role
        # An alpha band (e.g. an RGBA camera image) is a validity mask, not a spectral band.
        interp = self.original.colorinterp
        self._alpha = [i + 1 for i, ci in enumerate(interp) if ci == ColorInterp.alpha][:1]
        data = [i for i in range(self.original.count) if i + 1 not in self._alpha]
        self._indexes = [i + 1 for i in data]
        info = read_band_info(self.original)
        self.band_info: BandInfo = info.subset(data) if self._alpha else info
        self.count = len(data)
        self.scales = np.array([self.original.scales[i] or 1.0 for i in data], np.float64)
        self.offsets = np.array([self.original.offsets[i] or 0.0 for i in data], np.float64)
        self.nodata = dataset.nodata
        self.dtype = np.dtype(self.original.dtypes[0])
        flags = dataset.mask_flag_enums[0] if dataset.count else []
        self._use_gdal_mask = (MaskFlags.per_dataset in flags or MaskFlags.alpha in flags) and (
            MaskFlags.nodata not in flags)
        self._good_idx = np.flatnonzero(np.array(self.band_info.good))
        self._bad = ~np.array(self.band_info.good)
        if self._good_idx.size == 0:
            raise InputDataError(
                f"the {role} '{self.original.name}' marks all {self.count} bands as bad (bbl = 0); "
                f"fix its bad-band list")

    @property
    def height(self) -> int:
        return self.dataset.height

    @property
    def width(self) -> int:
        return self.dataset.width

    def read(self, window: Window) -> WindowData:
        """Read ``window`` (integer offsets/sizes, may extend beyond the raster).

        Returns values (C, h, w) float32 with scale/offset applied and bad bands zeroed, and
        valid (h, w). Invalid pixels inside the raster are filled by :func:`fill_invalid`;
        pixels outside repeat the nearest edge pixel. Both stay flagged invalid.
        """
        h, w = int(window.height), int(window.width)
        inner = clip(window, self.height, self.width)
        if inner is None:
            return WindowData(np.zeros((self.count, h, w), np.float32), np.zeros((h, w), bool))
        raw = self.dataset.read(self._indexes, window=inner)
        valid = np.ones(raw.shape[1:], bool)
        good = raw[self._good_idx]
        if self.nodata is not None and not (isinstance(self.nodata, float) and math.isnan(self.nodata)):
            valid &= ~np.any(good == np.asarray(self.nodata, dtype=raw.dtype), axis=0)
        if raw.dtype.kind == "f":  # NaN and +-inf are not data: invalid pixels, like nodata
            valid &= np.all(np.isfinite(good), axis=0)
        if self._use_gdal_mask:
            valid &= self.dataset.read_masks(self._indexes[0], window=inner) > 0
        if self._alpha:
            valid &= self.dataset.read(self._alpha[0], window=inner) > 0
        values = raw.astype(np.float32)
        if np.any(self.scales != 1.0) or np.any(self.offsets != 0.0):
            values = (values * self.scales[:, None, None] + self.offsets[:, None, None]).astype(np.float32)
        if self._bad.any():
            values[self._bad] = 0.0
        if not valid.all():
            values = fill_invalid(values, valid)
        pad = pad_widths(window, inner)
        if any(p for pair in pad for p in pair):
            values = np.pad(values, ((0, 0),) + pad, mode="edge")
            valid = np.pad(valid, pad, mode="constant", constant_values=False)
        return WindowData(values, valid)


FILL_RADIUS_PX = 2
"""Reach (pixels) of :func:`fill_invalid`; windows need at least this much extra halo."""


def fill_invalid(values: np.ndarray, valid: np.ndarray, radius: int = FILL_RADIUS_PX) -> np.ndarray:
    """Replace invalid pixels by the mean of the valid ones within a (2r+1)^2 box, else 0.

    ``values``: (C, h, w) float32; ``valid``: (h, w) bool. The fill only looks ``radius`` pixels
    away, so a window with that much halo fills exactly as a whole-scene pass would. It only keeps
    convolutions near nodata finite and smooth: filled pixels are written as nodata anyway.
    """
    from scipy.ndimage import uniform_filter

    size = 2 * radius + 1
    weight = uniform_filter(valid.astype(np.float64), size=size, mode="constant")
    out = values.copy()
    invalid = ~valid
    has = invalid & (weight > 1e-12)
    for band in range(values.shape[0]):
        masked = np.where(valid, values[band], 0.0).astype(np.float64)
        total = uniform_filter(masked, size=size, mode="constant")
        out[band][invalid] = 0.0
        out[band][has] = (total[has] / weight[has]).astype(np.float32)
    return out
