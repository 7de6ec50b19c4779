"""Which part of a fused raster can be checked against its inputs, and the chunks it is read in.

The report compares the fused image with the HSI over the HSI pixels that lie wholly inside the
output (the output region starts and ends on MSI pixels, which need not be HSI pixel corners).
:class:`ReportRegion` holds that area twice, as a coarse-grid window and as an output-pixel
window, and cuts it into chunks of whole HSI pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from rasterio.windows import Window

from pifnet_engine.errors import InputDataError
from pifnet_engine.geometry import Frames, absolute
from pifnet_engine.grid import GridPlan

#: About this many MSI pixels a side per chunk (memory: bands x side^2 x 4 bytes per array).
CHUNK_MSI_PX = 256


@dataclass(frozen=True)
class ReportRegion:
    """``coarse``: coarse-grid pixels wholly inside the output; ``fine``: the same area in output
    pixels; ``frames``: the job's pixel frames (:class:`~pifnet_engine.geometry.Frames`)."""

    ratio: int
    coarse: Window
    fine: Window
    frames: Frames

    @classmethod
    def from_plan(cls, plan: GridPlan) -> "ReportRegion":
        frames = plan.frames
        coarse = frames.coarse_inside(plan.out_window, plan.coarse_shape)
        if coarse is None:
            raise InputDataError(
                "no whole HSI pixel lies inside the fused output, so it cannot be compared with its inputs; "
                "give a pair that overlaps by at least one HSI pixel")
        return cls(plan.ratio, coarse, frames.output_of(frames.msi_of(coarse)), frames)

    @property
    def msi(self) -> Window:
        """The region in MSI pixels."""
        return self.frames.msi_of(self.coarse)

    @property
    def shape_lr(self) -> tuple[int, int]:
        return int(self.coarse.height), int(self.coarse.width)

    def chunk_side_lr(self, multiple: int) -> int:
        """A chunk side in HSI pixels: a multiple of ``multiple`` near ``CHUNK_MSI_PX / ratio``."""
        return max(multiple, (CHUNK_MSI_PX // self.ratio) // multiple * multiple)

    def chunks(self, side_lr: int) -> Iterator[tuple[Window, Window, Window]]:
        """(coarse window, output window, MSI window) of each chunk, row by row; chunk origins are
        ``side_lr`` HSI pixels apart from the region's corner (the last row/column may be smaller)."""
        h, w = self.shape_lr
        for i in range(0, h, side_lr):
            for j in range(0, w, side_lr):
                coarse = absolute(Window(j, i, min(side_lr, w - j), min(side_lr, h - i)), self.coarse)
                msi = self.frames.msi_of(coarse)
                yield coarse, self.frames.output_of(msi), msi
