"""Which part of a fused raster can be checked against its inputs, and the chunks it is read in.

The report compares the fused image with the HSI over the HSI pixels that lie wholly inside the
output (the output region starts and ends on MSI pixels, which need not be HSI pixel corners).
:class:`ReportRegion` holds that area twice, as a coarse-grid window and as an output-pixel
window, and cuts it into chunks of whole HSI pixels.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from rasterio.windows import Window

from pifnet_engine.errors import InputDataError
from pifnet_engine.grid import GridPlan

#: About this many MSI pixels a side per chunk (memory: bands x side^2 x 4 bytes per array).
CHUNK_MSI_PX = 256


@dataclass(frozen=True)
class ReportRegion:
    """``coarse``: coarse-grid pixels wholly inside the output; ``fine``: the same area in output
    pixels; ``msi_offset``: (row, col) of output pixel (0, 0) in the MSI raster."""

    ratio: int
    coarse: Window
    fine: Window
    msi_offset: tuple[int, int]

    @classmethod
    def from_plan(cls, plan: GridPlan) -> "ReportRegion":
        r, (o_r, o_c), ow = plan.ratio, plan.coarse_origin_px, plan.out_window
        hc, wc = plan.coarse_shape
        i0 = max(0, math.ceil((ow.row_off - o_r) / r))
        i1 = min(hc, math.floor((ow.row_off + ow.height - o_r) / r))
        j0 = max(0, math.ceil((ow.col_off - o_c) / r))
        j1 = min(wc, math.floor((ow.col_off + ow.width - o_c) / r))
        if i1 <= i0 or j1 <= j0:
            raise InputDataError(
                "no whole HSI pixel lies inside the fused output, so it cannot be compared with its inputs; "
                "give a pair that overlaps by at least one HSI pixel")
        coarse = Window(j0, i0, j1 - j0, i1 - i0)
        fine = Window(o_c + j0 * r - ow.col_off, o_r + i0 * r - ow.row_off, (j1 - j0) * r, (i1 - i0) * r)
        return cls(r, coarse, fine, (int(ow.row_off), int(ow.col_off)))

    @property
    def shape_lr(self) -> tuple[int, int]:
        return int(self.coarse.height), int(self.coarse.width)

    def chunk_side_lr(self, multiple: int) -> int:
        """A chunk side in HSI pixels: a multiple of ``multiple`` near ``CHUNK_MSI_PX / ratio``."""
        return max(multiple, (CHUNK_MSI_PX // self.ratio) // multiple * multiple)

    def chunks(self, side_lr: int) -> Iterator[tuple[Window, Window, Window]]:
        """(coarse window, output window, MSI window) of each chunk, row by row; chunk origins are
        ``side_lr`` HSI pixels apart from the region's corner (the last row/column may be smaller)."""
        r = self.ratio
        h, w = self.shape_lr
        for i in range(0, h, side_lr):
            for j in range(0, w, side_lr):
                ch, cw = min(side_lr, h - i), min(side_lr, w - j)
                coarse = Window(self.coarse.col_off + j, self.coarse.row_off + i, cw, ch)
                fine = Window(self.fine.col_off + j * r, self.fine.row_off + i * r, cw * r, ch * r)
                msi = Window(fine.col_off + self.msi_offset[1], fine.row_off + self.msi_offset[0],
                             fine.width, fine.height)
                yield coarse, fine, msi
