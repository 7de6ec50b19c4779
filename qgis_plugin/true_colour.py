"""Which bands of a fused raster to show as red, green and blue, and what to call its layer. Pure Python.

The fused raster carries the HSI's band centres (the engine writes ``wavelength`` and
``wavelength_units`` per band, and a description such as ``band 12 (551.3 Nanometers)``). QGIS
would draw bands 1/2/3 — for EnMAP three violet bands at 418-429 nm, a grey image — so the
result layer is drawn from the bands nearest 640 / 550 / 470 nm instead, when the raster
has bands within :data:`MAX_OFFSET_NM` of each.

The wavelength reading is a small subset of the engine's (``pifnet_engine.raster.bands``): the
plugin may not import the engine (it runs in QGIS's Python, the engine in its own), and only the
keys the engine itself writes into its outputs are needed here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

#: Target centres (nm) of the red, green and blue display bands.
TRUE_COLOUR_NM = (640.0, 550.0, 470.0)
#: A band further than this from a target does not count as that colour.
MAX_OFFSET_NM = 40.0

_UNIT_TO_NM = {"nanometers": 1.0, "nanometer": 1.0, "nm": 1.0, "micrometers": 1000.0, "micrometer": 1000.0,
               "microns": 1000.0, "um": 1000.0, "µm": 1000.0}
_DESCRIPTION_NM = re.compile(r"\(([0-9]+(?:\.[0-9]*)?)\s*(nanometers|nm|micrometers|um|µm)\)", re.IGNORECASE)


def band_centre_nm(metadata: Mapping[str, str], description: str = "") -> float | None:
    """A band's centre in nm from its GDAL metadata (``wavelength`` [+ ``wavelength_units``]) or description."""
    value = metadata.get("wavelength") or metadata.get("WAVELENGTH")
    units = (metadata.get("wavelength_units") or metadata.get("WAVELENGTH_UNITS") or "").strip().lower()
    if value:
        try:
            wl = float(value)
        except ValueError:
            wl = None
        if wl is not None:
            return wl * _UNIT_TO_NM.get(units, 1000.0 if wl < 100 else 1.0)
    match = _DESCRIPTION_NM.search(description or "")
    if match:
        return float(match.group(1)) * _UNIT_TO_NM[match.group(2).lower()]
    return None


def true_colour_bands(centres_nm: Sequence[float | None]) -> tuple[int, int, int] | None:
    """1-based (red, green, blue) bands nearest 640 / 550 / 470 nm, or None when one is missing."""
    chosen = []
    for target in TRUE_COLOUR_NM:
        best = min(((abs(wl - target), i) for i, wl in enumerate(centres_nm) if wl is not None), default=None)
        if best is None or best[0] > MAX_OFFSET_NM:
            return None
        chosen.append(best[1] + 1)
    return chosen[0], chosen[1], chosen[2]


def result_layer_name(output_path: str, method_label: str) -> str:
    """``fused_scene (GSA)``: the file's name without extension and the method that made it."""
    stem = os.path.splitext(os.path.basename(output_path))[0] or output_path
    return f"{stem} ({method_label})"
