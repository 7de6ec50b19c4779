"""Benchmark and georeferenced scene loaders, one module per on-disk format.

Every loader returns a :class:`~training.scenes.scene.Scene`: a (C, H, W) float32 cube in the
file's units plus what is known about its bands (wavelengths, bad bands, full scale, valid mask).
"""

from training.scenes.cache import cache_regions, read_cache, write_cache
from training.scenes.cave import list_cave_scenes, load_cave_scene
from training.scenes.chikusei import load_chikusei
from training.scenes.enmap import load_enmap_training_blocks
from training.scenes.houston import load_houston2013
from training.scenes.mosaic import mosaic_blocks
from training.scenes.normalise import normalise
from training.scenes.pavia import load_pavia_university
from training.scenes.raster import load_raster
from training.scenes.scene import Scene

__all__ = [
    "Scene",
    "cache_regions",
    "list_cave_scenes",
    "load_cave_scene",
    "load_chikusei",
    "load_enmap_training_blocks",
    "load_houston2013",
    "load_pavia_university",
    "load_raster",
    "mosaic_blocks",
    "normalise",
    "read_cache",
    "write_cache",
]
