"""The QGIS layer style written beside the output (``out.tif`` -> ``out.qml``). Pure Python.

Measured with QGIS 3.22 (``tests/qgis/test_output_style.py``): a layer created as
``QgsRasterLayer(path, name)`` — what dragging a file into QGIS or *Add Raster Layer* does —
loads ``<file name without extension>.qml`` from the raster's folder as its default style, so the
raster opens drawn from the chosen bands with the given stretch. QGIS 3.22 ignores GDAL's colour
interpretation for this (red/green/blue set on bands other than 1/2/3 still draws bands 1/2/3),
and Processing's own loading of an algorithm's result skips default styles.

The style holds the renderer only (``styleCategories="Symbology"``): a multiband colour renderer
on the chosen bands, each stretched min-max to the values computed from the data, described as a
2-98 % cumulative cut of the whole raster so that QGIS's layer properties show where they came from.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from pifnet_engine.raster.rgb import RgbBands
from pifnet_engine.raster.stretch import CUT_LOWER, CUT_UPPER, Stretch

#: The QGIS version whose style format is written (newer QGIS versions read it).
QGIS_STYLE_VERSION = "3.22.0"


def style_path(raster: Path) -> Path:
    """Where QGIS looks for a raster's default style: ``out.tif`` -> ``out.qml`` (same folder)."""
    return raster.with_suffix(".qml")


def multiband_qml(rgb: RgbBands, stretches: tuple[Stretch, Stretch, Stretch]) -> str:
    """A QGIS style (QML text) drawing ``rgb``'s bands as red/green/blue with ``stretches`` (physical units)."""
    root = ET.Element("qgis", version=QGIS_STYLE_VERSION, styleCategories="Symbology")
    pipe = ET.SubElement(root, "pipe")
    renderer = ET.SubElement(pipe, "rasterrenderer", type="multibandcolor", opacity="1", alphaBand="-1",
                             redBand=str(rgb.red), greenBand=str(rgb.green), blueBand=str(rgb.blue),
                             nodataColor="")
    ET.SubElement(renderer, "rasterTransparency")
    origin = ET.SubElement(renderer, "minMaxOrigin")
    for tag, text in (("limits", "CumulativeCut"), ("extent", "WholeRaster"), ("statAccuracy", "Estimated"),
                      ("cumulativeCutLower", f"{CUT_LOWER:g}"), ("cumulativeCutUpper", f"{CUT_UPPER:g}"),
                      ("stdDevFactor", "2")):
        ET.SubElement(origin, tag).text = text
    for colour, stretch in zip(("red", "green", "blue"), stretches, strict=True):
        enhancement = ET.SubElement(renderer, f"{colour}ContrastEnhancement")
        ET.SubElement(enhancement, "minValue").text = repr(float(stretch.minimum))
        ET.SubElement(enhancement, "maxValue").text = repr(float(stretch.maximum))
        ET.SubElement(enhancement, "algorithm").text = "StretchToMinimumMaximum"
    ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
    ET.SubElement(pipe, "huesaturation", saturation="0", grayscaleMode="0", invertColors="0", colorizeOn="0",
                  colorizeRed="255", colorizeGreen="128", colorizeBlue="128", colorizeStrength="100")
    ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    ET.SubElement(root, "blendMode").text = "0"
    ET.indent(root)
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            + ET.tostring(root, encoding="unicode") + "\n")
