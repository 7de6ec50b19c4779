"""EnMAP L2A tiles (e.g. ``../shared/data/enmap_potsdam_tiles/images``): 224 bands 418-2445 nm,
surface reflectance x 10000 stored as float32 with GDAL scale 0.0001, nodata -32768, bad bands
(``bbl = 0``, water vapour) entirely nodata; 32 x 32 px tiles with their own geotransforms.

Training blocks = every tile in the folder except :data:`~training.splits.ENMAP_DEMO_RESERVED_TILES`,
mosaicked into contiguous blocks. Cubes are reflectance (scale applied), ``full_scale = 1.0``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pifnet_engine.errors import InputDataError
from training.scenes.mosaic import mosaic_blocks
from training.scenes.scene import Scene
from training.splits import ENMAP_DEMO_RESERVED_TILES, enmap_training_tiles

ENMAP_SENSOR = "EnMAP HSI (L2A reflectance)"


def enmap_tiles(folder: str | Path, pattern: str = "*.tif") -> list[Path]:
    """All tiles matching ``pattern`` in ``folder`` (or its ``images`` child), sorted."""
    folder = Path(folder)
    if (folder / "images").is_dir():
        folder = folder / "images"
    tiles = sorted(folder.glob(pattern))
    if not tiles:
        raise InputDataError(
            f"no EnMAP tiles matching {pattern!r} in {folder}; expected GeoTIFF tiles; check the path"
        )
    return tiles


def load_enmap_training_blocks(
    folder: str | Path, reserved: Iterable[str] = ENMAP_DEMO_RESERVED_TILES, pattern: str = "*.tif"
) -> list[Scene]:
    """Mosaic the tiles of ``folder`` minus ``reserved`` (file stems) into contiguous blocks.

    Returns one :class:`Scene` per block, ``cube`` (224, H, W) float32 reflectance, with
    ``valid`` False in gaps between tiles, ``good_bands`` from ``bbl``, and georeferencing.
    """
    tiles = enmap_training_tiles(enmap_tiles(folder, pattern), reserved)
    if not tiles:
        raise InputDataError(
            f"every EnMAP tile in {folder} is reserved for the demo; expected training tiles besides "
            f"{list(reserved)}"
        )
    return mosaic_blocks(tiles, prefix="enmap_block", full_scale=1.0, sensor=ENMAP_SENSOR)
