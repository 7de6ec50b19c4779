"""Mosaic georeferenced tiles into contiguous blocks (one :class:`Scene` per connected group).

Tiles are grouped when they share an edge (or overlap) on the same grid; each group is merged
with :func:`rasterio.merge.merge` onto its bounding box. Cells of the bounding box that no tile
covers come back as nodata, so the block's ``valid`` mask is False there and patch samplers
skip them. All tiles must share CRS, pixel size, band count and data type.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import rasterio
from rasterio.merge import merge

from pifnet_engine.errors import InputDataError
from training.scenes.raster import raster_metadata, scene_from_raw
from training.scenes.scene import Scene


def _touch(a: rasterio.coords.BoundingBox, b: rasterio.coords.BoundingBox, tol: float) -> bool:
    """True when boxes overlap or share an edge of positive length (corners alone do not count)."""
    x_overlap = min(a.right, b.right) - max(a.left, b.left)
    y_overlap = min(a.top, b.top) - max(a.bottom, b.bottom)
    return (x_overlap > tol and y_overlap > -tol) or (y_overlap > tol and x_overlap > -tol)


def group_tiles(paths: Sequence[str | Path]) -> list[list[Path]]:
    """Connected groups of tiles (edge-adjacent or overlapping), each sorted by path; groups
    ordered by their first path. Raises :class:`InputDataError` on mixed CRS / pixel size / bands."""
    paths = sorted(Path(p) for p in paths)
    if not paths:
        raise InputDataError("no tiles to mosaic; expected at least one raster path; check the folder")
    bounds = []
    ref: tuple[object, ...] | None = None
    for p in paths:
        with rasterio.open(p) as src:
            key = (src.crs, (round(src.res[0], 9), round(src.res[1], 9)), src.count, src.dtypes[0])
            if ref is None:
                ref = key
            elif key != ref:
                raise InputDataError(
                    f"tile {p} has CRS/pixel size/bands/dtype {key}; expected {ref} like the other "
                    "tiles; mosaic only tiles of one product"
                )
            bounds.append(src.bounds)
            tol = 0.5 * min(abs(src.res[0]), abs(src.res[1]))
    parent = list(range(len(paths)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(paths)):
        for j in range(i + 1, len(paths)):
            if _touch(bounds[i], bounds[j], tol):
                parent[find(i)] = find(j)
    groups: dict[int, list[Path]] = {}
    for i, p in enumerate(paths):
        groups.setdefault(find(i), []).append(p)
    return sorted(groups.values(), key=lambda g: g[0])


def mosaic_group(
    paths: Sequence[str | Path], name: str, full_scale: float | None = None, sensor: str = "unknown"
) -> Scene:
    """Merge ``paths`` (one connected group) onto their bounding box as one :class:`Scene`
    with ``transform``/``crs``; band metadata (wavelengths, bad bands, scale/offset) from the
    first tile."""
    paths = [Path(p) for p in paths]
    with ExitStack() as stack:
        sources = [stack.enter_context(rasterio.open(p)) for p in paths]
        meta = raster_metadata(sources[0])
        if meta["nodata"] is None:
            raise InputDataError(
                f"tile {paths[0]} has no nodata value; expected one so gaps between tiles can be "
                "masked; set it with `gdal_edit.py -a_nodata`"
            )
        raw, transform = merge(sources, nodata=meta["nodata"])
    return scene_from_raw(raw, **meta, name=name, full_scale=full_scale, sensor=sensor, transform=transform)


def mosaic_blocks(
    paths: Sequence[str | Path], prefix: str = "block", full_scale: float | None = None, sensor: str = "unknown"
) -> list[Scene]:
    """One mosaicked :class:`Scene` per connected group of ``paths``, named ``{prefix}_{i}``."""
    return [
        mosaic_group(group, name=f"{prefix}_{i}", full_scale=full_scale, sensor=sensor)
        for i, group in enumerate(group_tiles(paths))
    ]
