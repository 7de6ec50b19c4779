"""Reading paired windows: an MSI window and the coarse HSI window that covers it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from pifnet_engine.geometry import inside_mask
from pifnet_engine.grid import GridPlan
from pifnet_engine.raster.source import RasterSource


@dataclass
class PairWindow:
    """One paired window.

    - ``hsi``: (C, h, w) float32, ``hsi_valid``: (h, w) bool (coarse grid);
    - ``msi``: (c, h*s, w*s) float32, ``msi_valid``: (h*s, w*s) bool, False outside the output region;
    - ``valid``: (h*s, w*s) bool, where both inputs are valid: the output's data mask.
    """

    hsi: np.ndarray
    hsi_valid: np.ndarray
    msi: np.ndarray
    msi_valid: np.ndarray
    valid: np.ndarray


class PairReader:
    """Reads :class:`PairWindow` s for windows given in MSI pixels and coarse-grid pixels."""

    def __init__(self, plan: GridPlan, hsi: RasterSource, msi: RasterSource) -> None:
        self.plan = plan
        self.hsi = hsi
        self.msi = msi

    def read(self, msi_window: Window, hsi_window: Window) -> PairWindow:
        s = self.plan.ratio
        h = self.hsi.read(hsi_window)
        m = self.msi.read(msi_window)
        msi_valid = m.valid & inside_mask(msi_window, self.plan.out_window)
        hsi_up = np.repeat(np.repeat(h.valid, s, axis=0), s, axis=1)
        return PairWindow(h.values, h.valid, m.values, msi_valid, msi_valid & hsi_up)


def block_mean(x: np.ndarray, ratio: int) -> np.ndarray:
    """(c, h*s, w*s) -> (c, h, w): mean over each coarse pixel's s x s footprint."""
    c, hh, ww = x.shape
    return x.reshape(c, hh // ratio, ratio, ww // ratio, ratio).mean(axis=(2, 4))


def block_all(mask: np.ndarray, ratio: int) -> np.ndarray:
    """(h*s, w*s) bool -> (h, w): True where the whole s x s footprint is True."""
    hh, ww = mask.shape
    return np.asarray(mask.reshape(hh // ratio, ratio, ww // ratio, ratio).all(axis=(1, 3)))
