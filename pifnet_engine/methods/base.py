"""The interface every fusion method implements, so that the windowed pipeline does not care
whether it runs bicubic upsampling, GSA or a neural network on a GPU.

The pipeline calls, in order:

1. ``check_pair(pair)`` once, before reading any window (weights compatibility lives here; it
   only checks and remembers the pair);
2. if ``needs_statistics``: ``start_statistics()`` (the method builds its empty accumulators),
   ``accumulate(batch)`` for every *core* window of the scene (no halo, each coarse pixel seen
   exactly once), then ``finish_statistics()``;
3. ``fuse(hsi, msi)`` for batches of equally sized windows (with halo), on ``self.device``.

Window tensors (all float32, in the HSI's and MSI's physical units, i.e. after GDAL
scale/offset; invalid pixels already filled with a local mean of valid neighbours):

- ``hsi``: (B, C, h, w) low-resolution hyperspectral window;
- ``msi``: (B, c, h*s, w*s) high-resolution multispectral window, s = ``pair.ratio``;
- result: (B, C, h*s, w*s) fused window, same units as ``hsi``.

Bad bands (``pair.good_bands[k]`` False) arrive filled with zeros; the pipeline writes them as
nodata whatever the method returns for them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch


@dataclass(frozen=True)
class PairSpec:
    """What a method may know about the input pair before any pixel is read.

    Wavelengths and FWHM are in nanometres, ``None`` where the raster does not say.
    """

    hsi_bands: int
    msi_bands: int
    ratio: int
    hsi_wavelengths_nm: tuple[float, ...] | None = None
    hsi_fwhm_nm: tuple[float, ...] | None = None
    msi_wavelengths_nm: tuple[float, ...] | None = None
    msi_band_names: tuple[str, ...] | None = None
    good_bands: tuple[bool, ...] | None = None
    hsi_name: str = "HSI"
    msi_name: str = "MSI"

    @property
    def good_mask(self) -> np.ndarray:
        """(hsi_bands,) bool: False for bad bands (all True when the HSI names none)."""
        return np.array(self.good_bands or (True,) * self.hsi_bands, bool)


@dataclass
class StatsBatch:
    """One core window for a statistics pass (no halo; each coarse pixel exactly once).

    - ``hsi``: (C, h, w) float64 LR-HSI values;
    - ``msi_low``: (c, h, w) float64 MSI averaged over each coarse pixel's s x s footprint;
    - ``valid``: (h, w) bool, True where the HSI pixel and all its MSI pixels are valid;
    - ``msi``: (c, h*s, w*s) float64 full-resolution MSI; ``msi_valid``: (h*s, w*s) bool.
    """

    hsi: np.ndarray
    msi_low: np.ndarray
    valid: np.ndarray
    msi: np.ndarray
    msi_valid: np.ndarray


class FusionMethod(ABC):
    """Base class of fusion methods. Subclasses set ``name`` and implement :meth:`fuse`."""

    name: ClassVar[str]
    #: True when the method needs a streaming statistics pass before fusing.
    needs_statistics: ClassVar[bool] = False
    #: Working memory of one window, bytes per window pixel (MSI grid) per HSI band, for the
    #: pre-flight check (:mod:`pifnet_engine.preflight`): the window's float32 arrays and their copies.
    work_bytes_per_pixel_band: ClassVar[int] = 24

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.pair: PairSpec | None = None

    # --- geometry the pipeline must respect -------------------------------------------------
    def halo_lr_px(self, ratio: int) -> int:
        """Context (coarse HSI pixels) each window needs on every side beyond what it outputs."""
        return 4

    def default_overlap_lr_px(self, ratio: int) -> int:
        """Blending overlap (coarse pixels) between neighbouring windows when the user gives none.

        Exact local methods need none: with enough halo every window gives the same pixels.
        """
        return 0

    def window_multiple_lr(self, ratio: int) -> int:
        """Window sides (coarse pixels, halo included) must be a multiple of this."""
        return 1

    def default_batch_size(self) -> int:
        return 1

    # --- lifecycle ---------------------------------------------------------------------------
    def check_pair(self, pair: PairSpec) -> None:
        """Refuse a pair this method cannot fuse (raise :class:`~pifnet_engine.errors.WeightsError`
        or :class:`~pifnet_engine.errors.InputDataError`). Called before any window is read."""
        self.pair = pair

    def start_statistics(self) -> None:
        """Build empty accumulators for the pair :meth:`check_pair` accepted (only if
        ``needs_statistics``); called before the first :meth:`accumulate`."""

    def accumulate(self, batch: StatsBatch) -> None:
        """Add one core window to the method's global statistics (only if ``needs_statistics``)."""

    def finish_statistics(self) -> None:
        """Turn the accumulated sums into the parameters :meth:`fuse` uses."""

    @abstractmethod
    def fuse(self, hsi: torch.Tensor, msi: torch.Tensor) -> torch.Tensor:
        """Fuse a batch of windows: (B, C, h, w) + (B, c, hs, ws) -> (B, C, hs, ws)."""

    def provenance(self) -> dict[str, str]:
        """Tags written into the output GeoTIFF describing how it was made."""
        return {"PIFNET_METHOD": self.name}
