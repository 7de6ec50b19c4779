"""Houston 2013 (IEEE GRSS Data Fusion Contest 2013, ITRES CASI-1500): 349 x 1905 px, 144 bands,
380-1050 nm, 2.5 m GSD. Distributed as a GeoTIFF (``2013_IEEE_GRSS_DF_Contest_CASI.tif``, 144
bands) and re-distributed by many repositories as a ``.mat`` (349 x 1905 x 144, variable name
varies: ``Houston``, ``houston``, ...).

Wavelengths come from the GeoTIFF's band metadata when present, else the nominal even spacing
over 380-1050 nm (``wavelengths_nominal=True``). Values are at-sensor radiance counts without a
fixed full scale, so ``full_scale`` is ``None`` (normalise by the scene maximum).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rasterio.windows import Window

from training.scenes.matfile import read_mat_cube
from training.scenes.raster import load_raster
from training.scenes.scene import Scene, nominal_wavelengths

#: (rows, cols, bands) of the full scene as distributed.
HOUSTON2013_SHAPE: tuple[int, int, int] = (349, 1905, 144)
HOUSTON2013_RANGE_NM: tuple[float, float] = (380.0, 1050.0)
_SENSOR = "ITRES CASI-1500"


def load_houston2013(path: str | Path, key: str | None = None, window: Window | None = None) -> Scene:
    """Load Houston 2013 from a GeoTIFF (any GDAL raster) or a ``.mat`` file.

    ``key``: the ``.mat`` variable (``None``: the only 3-D variable); ignored for rasters.
    Returns a :class:`Scene` with ``cube`` (144, H, W) float32.
    """
    path = Path(path)
    if path.suffix.lower() == ".mat":
        cube = read_mat_cube(path, key=key, window=window)
        scene = Scene(name="houston2013", cube=cube, sensor=_SENSOR)
    else:
        scene = load_raster(path, window=window, name="houston2013", sensor=_SENSOR)
    if scene.wavelengths_nm is None:
        scene = dataclasses.replace(
            scene,
            wavelengths_nm=nominal_wavelengths(*HOUSTON2013_RANGE_NM, scene.bands),
            wavelengths_nominal=True,
        )
    return scene
