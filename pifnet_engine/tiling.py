"""Paired windows over the output region, and their blending weights.

Tiles of ``tile`` x ``tile`` MSI pixels start on coarse-pixel corners and step by ``tile``. Each
tile *contributes* to its core extended by ``overlap`` pixels towards each neighbour, and is
*read* with a further ``halo`` so that every contributed pixel sees its neighbourhood. Across a
seam the two tiles' weights are ``cos^2`` and ``sin^2`` ramps over ``2 * overlap`` pixels, which
sum to one, so the blended output is a partition-of-unity mix and has no seams.

All quantities are in MSI pixels (``*_px``) of the MSI raster, multiples of the ratio.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from rasterio.windows import Window

from pifnet_engine.errors import UsageError
from pifnet_engine.geometry import Frames, shrink
from pifnet_engine.grid import GridPlan


@dataclass(frozen=True)
class Tile:
    """One paired window.

    ``index``: (row, col) in the tile grid; ``read``: the MSI window read (halo included, may reach
    outside the raster); ``hsi_read``: the matching coarse-grid window; ``contrib``: the part of the
    output region (MSI pixel indices) this tile contributes to; ``core`` / ``hsi_core``: the tile
    itself (``tile`` x ``tile`` MSI pixels, no overlap, no halo) and its coarse pixels, what the
    statistics pass reads.
    """

    index: tuple[int, int]
    read: Window
    hsi_read: Window
    contrib: Window
    core: Window
    hsi_core: Window


def _axis_starts(frames: Frames, axis: int, tile: int) -> list[int]:
    """Tile starts along rows (``axis`` 0) or columns (1): from the coarse-pixel corner at or
    before the output region's first pixel, every ``tile`` MSI pixels, over the region."""
    ow = frames.out_window
    out0, length = (int(ow.row_off), int(ow.height)) if axis == 0 else (int(ow.col_off), int(ow.width))
    return list(range(frames.aligned_start(out0, axis), out0 + length, tile))


def ramp_weights(length: int, lead: int, trail: int, start: int, lo: int, hi: int,
                 overlap: int) -> np.ndarray:
    """1-D weights over output pixels [lo, hi) for a tile starting at ``start`` of side ``length``.

    ``lead``/``trail`` say whether there is a neighbour before/after; ramps run over
    [start - overlap, start + overlap) and [start + length - overlap, start + length + overlap).
    """
    x = np.arange(lo, hi, dtype=np.float64) + 0.5
    w = np.ones(hi - lo, np.float64)
    if overlap > 0:
        if lead:
            u = np.clip((x - (start - overlap)) / (2 * overlap), 0.0, 1.0)
            w *= np.sin(0.5 * np.pi * u) ** 2
        if trail:
            u = np.clip((x - (start + length - overlap)) / (2 * overlap), 0.0, 1.0)
            w *= np.cos(0.5 * np.pi * u) ** 2
    return w


@dataclass(frozen=True)
class TileLayout:
    """All tiles of a plan, with the seam blocks used to blend them."""

    plan: GridPlan
    tile_px: int
    overlap_px: int
    halo_px: int

    @cached_property
    def row_starts(self) -> list[int]:
        return _axis_starts(self.plan.frames, 0, self.tile_px)

    @cached_property
    def col_starts(self) -> list[int]:
        return _axis_starts(self.plan.frames, 1, self.tile_px)

    @property
    def window_px(self) -> int:
        """Side of every read window (MSI pixels): all windows have the same size."""
        return self.tile_px + 2 * (self.overlap_px + self.halo_px)

    @property
    def n_tiles(self) -> int:
        return len(self.row_starts) * len(self.col_starts)

    def _span(self, starts: list[int], i: int) -> tuple[int, int]:
        """[lo, hi) that tile ``i`` contributes to along one axis (before clipping to the output)."""
        lo = starts[i] - (self.overlap_px if i > 0 else 0)
        hi = starts[i] + self.tile_px + (self.overlap_px if i + 1 < len(starts) else 0)
        return lo, hi

    def _extent(self, starts: list[int], i: int, out0: int, out1: int) -> tuple[int, int]:
        lo, hi = self._span(starts, i)
        return max(lo, out0), min(hi, out1)

    def tiles(self) -> list[Tile]:
        """Tiles in row-major order."""
        frames = self.plan.frames
        ow = self.plan.out_window
        reach = self.overlap_px + self.halo_px
        out = []
        for i, rs in enumerate(self.row_starts):
            ry0, ry1 = self._extent(self.row_starts, i, int(ow.row_off), int(ow.row_off + ow.height))
            for j, cs in enumerate(self.col_starts):
                cx0, cx1 = self._extent(self.col_starts, j, int(ow.col_off), int(ow.col_off + ow.width))
                core = Window(cs, rs, self.tile_px, self.tile_px)
                read = shrink(core, -reach)
                out.append(Tile((i, j), read, frames.coarse_of(read), Window(cx0, ry0, cx1 - cx0, ry1 - ry0),
                                core, frames.coarse_of(core)))
        return out

    def describe(self, tile: Tile) -> str:
        """``window 3 of 12 (MSI rows 256-511, cols 0-255)``: the tile's number in row-major order
        and the MSI pixel rows/cols (inclusive) it contributes to, for messages."""
        i, j = tile.index
        number = i * len(self.col_starts) + j + 1
        (r0, r1), (c0, c1) = tile.contrib.toranges()
        return f"window {number} of {self.n_tiles} (MSI rows {r0}-{r1 - 1}, cols {c0}-{c1 - 1})"

    def weights(self, tile: Tile) -> np.ndarray:
        """(h, w) float32 blending weights over ``tile.contrib``."""
        i, j = tile.index
        c = tile.contrib
        wy = ramp_weights(self.tile_px, i > 0, i + 1 < len(self.row_starts), self.row_starts[i],
                          int(c.row_off), int(c.row_off + c.height), self.overlap_px)
        wx = ramp_weights(self.tile_px, j > 0, j + 1 < len(self.col_starts), self.col_starts[j],
                          int(c.col_off), int(c.col_off + c.width), self.overlap_px)
        return np.outer(wy, wx).astype(np.float32)

    def _axis_blocks(self, starts: list[int], out0: int, out1: int) -> tuple[list[int], list[int]]:
        """Break points along one axis and, per interval between them, how many tiles cover it.

        Every contribution edge is a break point, so a tile's intervals are found by bisection:
        the work per tile does not grow with the number of tiles in the scene.
        """
        pts = {out0, out1}
        for s in starts[1:]:
            pts.update((s - self.overlap_px, s + self.overlap_px))
        breaks = sorted(p for p in pts if out0 <= p <= out1)
        counts = [0] * (len(breaks) - 1)
        for i in range(len(starts)):
            lo, hi = self._span(starts, i)
            for k in range(bisect_left(breaks, max(lo, out0)), bisect_left(breaks, min(hi, out1))):
                counts[k] += 1
        return breaks, counts

    @cached_property
    def _row_blocks(self) -> tuple[list[int], list[int]]:
        ow = self.plan.out_window
        return self._axis_blocks(self.row_starts, int(ow.row_off), int(ow.row_off + ow.height))

    @cached_property
    def _col_blocks(self) -> tuple[list[int], list[int]]:
        ow = self.plan.out_window
        return self._axis_blocks(self.col_starts, int(ow.col_off), int(ow.col_off + ow.width))

    def blocks_of(self, tile: Tile) -> list[tuple[tuple[int, int], Window, int]]:
        """Blocks inside ``tile.contrib``: (block key, window, number of contributing tiles)."""
        rows, row_counts = self._row_blocks
        cols, col_counts = self._col_blocks
        c = tile.contrib
        a0, a1 = bisect_left(rows, int(c.row_off)), bisect_left(rows, int(c.row_off + c.height))
        b0, b1 = bisect_left(cols, int(c.col_off)), bisect_left(cols, int(c.col_off + c.width))
        return [((a, b), Window(cols[b], rows[a], cols[b + 1] - cols[b], rows[a + 1] - rows[a]),
                 row_counts[a] * col_counts[b])
                for a in range(a0, a1) for b in range(b0, b1)]


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def plan_layout(plan: GridPlan, tile_px: int, overlap_px: int | None, *, halo_lr: int, overlap_lr: int,
                multiple_lr: int) -> TileLayout:
    """The :class:`TileLayout` for ``--tile-size`` / ``--overlap`` (MSI pixels; ``None``: the method's
    ``overlap_lr`` HSI pixels), rounded to what the ratio and the method need.

    ``halo_lr``: HSI pixels each window needs beyond its contribution area (the method's receptive
    field plus the fill radius of invalid pixels); ``multiple_lr``: whole windows must be a multiple
    of that many HSI pixels a side (the network's Haar levels). The halo grows until they are.

    Raises:
        UsageError: a tile size below 1 or a negative overlap.
    """
    r = plan.ratio
    if tile_px < 1:
        raise UsageError(f"--tile-size must be positive, got {tile_px}")
    halo = r * halo_lr
    overlap = r * overlap_lr if overlap_px is None else overlap_px
    if overlap < 0:
        raise UsageError(f"--overlap must be 0 or more, got {overlap}")
    overlap = _round_up(overlap, r)
    tile = _round_up(max(tile_px, 2 * overlap, r), r)
    # Never use tiles much larger than the output itself.
    out_h, out_w = plan.out_shape
    tile = min(tile, _round_up(max(out_h, out_w) + r, r))
    tile = max(tile, 2 * overlap)
    k = multiple_lr
    if k % 2 == 0 and (tile // r) % 2:
        tile += r
    while ((tile + 2 * (overlap + halo)) // r) % k:
        halo += r
    return TileLayout(plan, tile, overlap, halo)
