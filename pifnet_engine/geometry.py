"""The pixel frames of a job and the conversions between them: the one owner of window arithmetic.

Three frames, all integer pixel indices (``rasterio.windows.Window``: column offset, row offset,
width, height):

- **MSI pixels** of the MSI raster: tiles, the output region (``GridPlan.out_window``), MSI reads;
- **coarse pixels** of the HSI's grid (the HSI raster itself, or the ``WarpedVRT`` that puts it on
  a grid aligned with the MSI): coarse pixel (i, j) covers MSI rows ``origin_row + s*i`` to
  ``origin_row + s*i + s - 1`` and the same for columns, s the ratio;
- **output pixels**: MSI pixels relative to the output region's corner (what the writer writes).

Every other module converts between them with :class:`Frames` and takes slices of arrays with
:func:`slices_in`; nobody adds or subtracts offsets by hand. Checked strictly by mypy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window, WindowError, intersection


def _ints(window: Window) -> tuple[int, int, int, int]:
    """(col_off, row_off, width, height) of an integer window."""
    return int(window.col_off), int(window.row_off), int(window.width), int(window.height)


def relative(window: Window, frame: Window) -> Window:
    """``window`` in the pixel indices of ``frame`` (whose corner becomes (0, 0)); same size."""
    c, r, w, h = _ints(window)
    fc, fr, _, _ = _ints(frame)
    return Window(c - fc, r - fr, w, h)


def absolute(window: Window, frame: Window) -> Window:
    """The inverse of :func:`relative`: ``window`` given in ``frame``'s indices, in the frame's own frame."""
    c, r, w, h = _ints(window)
    fc, fr, _, _ = _ints(frame)
    return Window(c + fc, r + fr, w, h)


def slices_in(window: Window, frame: Window) -> tuple[slice, slice]:
    """(row slice, column slice) of ``window`` in an array that covers ``frame``."""
    c, r, w, h = _ints(relative(window, frame))
    return slice(r, r + h), slice(c, c + w)


def shrink(window: Window, px: int) -> Window:
    """``window`` without ``px`` pixels on each side (its core when ``px`` is the halo)."""
    c, r, w, h = _ints(window)
    return Window(c + px, r + px, w - 2 * px, h - 2 * px)


def clip(window: Window, height: int, width: int) -> Window | None:
    """The part of ``window`` inside a raster of ``height`` x ``width`` pixels, or None when none is."""
    return _common(window, Window(0, 0, width, height))


def _common(a: Window, b: Window) -> Window | None:
    """The pixels of both ``a`` and ``b``, or None when they share none (also when they only touch)."""
    try:
        both = intersection(a, b)
    except WindowError:
        return None
    c, r, w, h = _ints(both)
    return Window(c, r, w, h) if w > 0 and h > 0 else None


def inside_mask(window: Window, region: Window) -> np.ndarray:
    """(h, w) bool over ``window``: True on the pixels that also lie in ``region``."""
    mask = np.zeros((int(window.height), int(window.width)), bool)
    common = _common(window, region)
    if common is None:
        return mask
    rows, cols = slices_in(common, window)
    mask[rows, cols] = True
    return mask


def grid_cell(key: tuple[int, int], block: int, height: int, width: int) -> Window:
    """Cell ``key`` = (row, column) of the ``block`` x ``block`` grid from the corner of a
    ``height`` x ``width`` raster (a GeoTIFF's tiles), clipped at its right and bottom edges."""
    cell = clip(Window(key[1] * block, key[0] * block, block, block), height, width)
    if cell is None:
        raise ValueError(f"grid cell {key} of {block} px lies outside a {height} x {width} raster")
    return cell


def grid_cells(window: Window, block: int, height: int, width: int) -> list[tuple[tuple[int, int], Window]]:
    """The cells of that grid which ``window`` (inside the raster) touches: (key, cell) pairs."""
    c, r, w, h = _ints(window)
    return [((bi, bj), grid_cell((bi, bj), block, height, width))
            for bi in range(r // block, (r + h - 1) // block + 1)
            for bj in range(c // block, (c + w - 1) // block + 1)]


def pad_widths(window: Window, inner: Window) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) pixels by which ``window`` extends beyond ``inner`` (inside it)."""
    c, r, w, h = _ints(window)
    ic, ir, iw, ih = _ints(inner)
    return (ir - r, r + h - ir - ih), (ic - c, c + w - ic - iw)


@dataclass(frozen=True)
class Frames:
    """The frames of one job: ``ratio`` s, ``coarse_origin_px`` (row, col) = the MSI pixel at the
    coarse grid's corner, ``out_window`` = the output region in MSI pixels."""

    ratio: int
    coarse_origin_px: tuple[int, int]
    out_window: Window

    def coarse_of(self, msi_window: Window) -> Window:
        """The coarse pixels of an MSI window that starts and ends on coarse-pixel corners.

        Raises:
            ValueError: it does not (a caller's bug: tiles and reads are aligned by construction).
        """
        s, (orow, ocol) = self.ratio, self.coarse_origin_px
        c, r, w, h = _ints(msi_window)
        if (c - ocol) % s or (r - orow) % s or w % s or h % s:
            raise ValueError(f"MSI window {msi_window} is not aligned with the coarse grid "
                             f"(origin {self.coarse_origin_px}, ratio {s})")
        return Window((c - ocol) // s, (r - orow) // s, w // s, h // s)

    def msi_of(self, coarse_window: Window) -> Window:
        """The MSI pixels covered by coarse pixels ``coarse_window``."""
        s, (orow, ocol) = self.ratio, self.coarse_origin_px
        c, r, w, h = _ints(coarse_window)
        return Window(ocol + s * c, orow + s * r, s * w, s * h)

    def output_of(self, msi_window: Window) -> Window:
        """An MSI window in output pixels."""
        return relative(msi_window, self.out_window)

    def msi_of_output(self, out_window: Window) -> Window:
        """An output-pixel window in MSI pixels."""
        return absolute(out_window, self.out_window)

    def coarse_inside(self, msi_region: Window, coarse_shape: tuple[int, int]) -> Window | None:
        """The coarse pixels wholly inside ``msi_region`` and inside a coarse grid of
        ``coarse_shape`` (rows, cols), or None when there is none."""
        s, (orow, ocol) = self.ratio, self.coarse_origin_px
        c, r, w, h = _ints(msi_region)
        i0, i1 = max(0, math.ceil((r - orow) / s)), min(coarse_shape[0], math.floor((r + h - orow) / s))
        j0, j1 = max(0, math.ceil((c - ocol) / s)), min(coarse_shape[1], math.floor((c + w - ocol) / s))
        if i1 <= i0 or j1 <= j0:
            return None
        return Window(j0, i0, j1 - j0, i1 - i0)

    def aligned_start(self, msi_index: int, axis: int) -> int:
        """The last coarse-pixel corner at or before MSI row (``axis`` 0) or column (1) ``msi_index``."""
        origin = self.coarse_origin_px[axis]
        return origin + self.ratio * math.floor((msi_index - origin) / self.ratio)
