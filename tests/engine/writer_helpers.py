"""Writing a whole array through :class:`~pifnet_engine.writer.OutputTarget` (tests of the writer only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from pifnet_engine.raster.bands import BandInfo
from pifnet_engine.writer import OutputSpec, OutputTarget

T_OUT = Affine(10.0, 0.0, 360000.0, 0.0, -10.0, 5810000.0)


def band_info(count: int, wavelengths_nm: list[float] | None = None, bad: tuple[int, ...] = ()) -> BandInfo:
    """Band metadata of ``count`` bands; ``bad``: 0-based bad bands."""
    return BandInfo(count=count, wavelengths_nm=None if wavelengths_nm is None else tuple(wavelengths_nm),
                    fwhm_nm=None, good=tuple(b not in bad for b in range(count)),
                    descriptions=(None,) * count, source=None if wavelengths_nm is None else "band")


def make_spec(height: int, width: int, info: BandInfo, *, dtype: str = "float32", nodata: float = float("nan"),
              scale: float = 1.0, cog: bool = False) -> OutputSpec:
    """An :class:`OutputSpec` on :data:`T_OUT` (EPSG:32633) with one ``scale`` for every band."""
    return OutputSpec(crs=CRS.from_epsg(32633), transform=T_OUT, height=height, width=width, count=info.count,
                      dtype=dtype, nodata=nodata, band_info=info, scales=(scale,) * info.count,
                      offsets=(0.0,) * info.count, tags={"PIFNET_RATIO": "3"}, cog=cog)


def write_output(path: Path, spec: OutputSpec, values: np.ndarray, valid: np.ndarray, *,
                 overwrite: bool = False, block_px: int = 256) -> Path:
    """Write (C, H, W) float32 physical ``values`` with (H, W) bool ``valid`` in ``block_px`` blocks, commit."""
    with OutputTarget(path, spec, overwrite) as target:
        for r in range(0, spec.height, block_px):
            for c in range(0, spec.width, block_px):
                h, w = min(block_px, spec.height - r), min(block_px, spec.width - c)
                target.write(Window(c, r, w, h), values[:, r:r + h, c:c + w], valid[r:r + h, c:c + w])
        return target.commit()
