"""Which three bands of a fused raster to show as red, green and blue. Pure Python.

QGIS draws a multiband raster from bands 1/2/3 unless a style says otherwise — for EnMAP three
violet bands at 418-429 nm, a grey image. The engine therefore picks the good bands nearest
640 / 550 / 470 nm ("true colour") when the raster has a good band within
:data:`MAX_OFFSET_NM` of each, else the first three good bands; with fewer than three good bands
there is nothing to choose (``None``). Bad bands (``bbl`` = 0) are written as nodata and never
chosen. The choice is written into the output as the dataset tag ``PIFNET_RGB_BANDS`` and into the
QGIS style beside it (:mod:`pifnet_engine.raster.qgis_style`).

The QGIS plugin has its own copy of the true-colour rule (``qgis_plugin/true_colour.py``): the
plugin and the engine run in different Pythons and may not import each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pifnet_engine.raster.bands import BandInfo

#: Target centres (nm) of the red, green and blue display bands.
TRUE_COLOUR_NM = (640.0, 550.0, 470.0)
#: A band further than this from a target does not count as that colour (same as the plugin's).
MAX_OFFSET_NM = 40.0


@dataclass(frozen=True)
class RgbBands:
    """1-based ``red``/``green``/``blue`` band numbers; ``true_colour`` False for the first-three-good fallback."""

    red: int
    green: int
    blue: int
    true_colour: bool

    @property
    def bands(self) -> tuple[int, int, int]:
        return self.red, self.green, self.blue

    def tags(self) -> dict[str, str]:
        """Dataset tags naming the choice, e.g. ``PIFNET_RGB_BANDS="9,6,3"`` (for ``gdal_translate -b``)."""
        return {"PIFNET_RGB_BANDS": ",".join(str(b) for b in self.bands),
                "PIFNET_RGB_KIND": "true_colour" if self.true_colour else "first_good_bands"}


def nearest_good_bands(wavelengths_nm: Sequence[float] | None, good: Sequence[bool],
                       targets_nm: Sequence[float], max_offset_nm: float = MAX_OFFSET_NM) -> list[int] | None:
    """0-based good bands nearest each target wavelength (smallest ``|centre - target|``; a tie goes
    to the lower band), or None when the wavelengths are unknown or a target has no good band within
    ``max_offset_nm``."""
    if wavelengths_nm is None:
        return None
    known = [b for b in range(len(good)) if good[b] and math.isfinite(wavelengths_nm[b])]
    if not known:
        return None
    chosen = []
    for target in targets_nm:
        offset, band = min((abs(wavelengths_nm[b] - target), b) for b in known)
        if offset > max_offset_nm:
            return None
        chosen.append(band)
    return chosen


def choose_rgb_bands(info: BandInfo) -> RgbBands | None:
    """The display bands of a raster with band metadata ``info`` (see the module docstring)."""
    good = [b for b in range(info.count) if info.good[b]]
    if len(good) < 3:
        return None
    picks = nearest_good_bands(info.wavelengths_nm, info.good, TRUE_COLOUR_NM)
    if picks is not None:
        return RgbBands(picks[0] + 1, picks[1] + 1, picks[2] + 1, true_colour=True)
    return RgbBands(good[0] + 1, good[1] + 1, good[2] + 1, true_colour=False)
