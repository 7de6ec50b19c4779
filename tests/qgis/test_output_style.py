"""The engine's output opened in QGIS 3.22 as a user opens it: drawn from its style file out.qml.

Also pins the two measurements that made the engine write a .qml: QGIS 3.22 does not pick its
RGB bands from GDAL's colour interpretation, and Processing's own loading of a result layer skips
the default style (so a Processing algorithm must set its result's renderer itself).
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.qgis

TIMEOUT_S = 300


def _bands(layer) -> tuple[int, int, int]:
    from qgis.core import QgsMultiBandColorRenderer

    renderer = layer.renderer()
    assert isinstance(renderer, QgsMultiBandColorRenderer), type(renderer).__name__
    return renderer.redBand(), renderer.greenBand(), renderer.blueBand()


def test_output_opens_in_true_colour_with_its_stretch(qgis_app, engine, small_pair, tmp_path: Path) -> None:
    from qgis.core import QgsProcessingContext, QgsProcessingUtils, QgsProject, QgsRasterLayer

    out = tmp_path / "fused.tif"
    done = subprocess.run(
        [str(engine), "fuse", str(small_pair.hsi), str(small_pair.msi), "-o", str(out), "--method", "bicubic",
         "--progress", "none"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    style = tmp_path / "fused.qml"
    assert style.is_file()

    wl = np.linspace(400.0, 1000.0, small_pair.hsi_bands)  # the fixture's band centres
    expected = tuple(int(np.argmin(abs(wl - t))) + 1 for t in (640.0, 550.0, 470.0))
    assert expected != (1, 2, 3)

    layer = QgsRasterLayer(str(out), "fused")  # what dragging the file into QGIS does
    assert layer.isValid()
    assert _bands(layer) == expected
    renderer = layer.renderer()
    xml_renderer = ET.parse(style).getroot().find("./pipe/rasterrenderer")
    for colour, enhancement in (("red", renderer.redContrastEnhancement()),
                                ("green", renderer.greenContrastEnhancement()),
                                ("blue", renderer.blueContrastEnhancement())):
        written = xml_renderer.find(f"{colour}ContrastEnhancement")
        assert enhancement.minimumValue() == pytest.approx(float(written.findtext("minValue")))
        assert enhancement.maximumValue() == pytest.approx(float(written.findtext("maxValue")))
        assert 0.0 < enhancement.minimumValue() < enhancement.maximumValue() < 1.0  # reflectance, 2-98 %
    assert renderer.minMaxOrigin().cumulativeCutLower() == pytest.approx(0.02)

    # The bands come from the style file: without the default style, QGIS draws bands 1/2/3.
    bare = QgsRasterLayer(str(out), "fused", "gdal", QgsRasterLayer.LayerOptions(loadDefaultStyle=False))
    assert _bands(bare) == (1, 2, 3)
    # Processing loads a result without its default style.
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    loaded = QgsProcessingUtils.mapLayerFromString(str(out), context, True, QgsProcessingUtils.LayerHint.Raster)
    assert _bands(loaded) == (1, 2, 3)


def test_gdal_colour_interpretation_does_not_choose_the_bands(qgis_app, tmp_path: Path) -> None:
    from osgeo import gdal
    from qgis.core import QgsRasterLayer

    path = tmp_path / "colorinterp.tif"
    ds = gdal.GetDriverByName("GTiff").Create(str(path), 16, 16, 6, gdal.GDT_Float32)
    ds.SetGeoTransform((500000.0, 10.0, 0.0, 5800000.0, 0.0, -10.0))
    for band in range(1, 7):
        ds.GetRasterBand(band).WriteArray(np.full((16, 16), band / 10.0, np.float32))
        ds.GetRasterBand(band).SetColorInterpretation(gdal.GCI_GrayIndex)
    for band, interp in ((5, gdal.GCI_RedBand), (4, gdal.GCI_GreenBand), (2, gdal.GCI_BlueBand)):
        ds.GetRasterBand(band).SetColorInterpretation(interp)
    ds = None
    check = gdal.Open(str(path))
    assert check.GetRasterBand(5).GetColorInterpretation() == gdal.GCI_RedBand  # stored
    check = None
    layer = QgsRasterLayer(str(path), "colorinterp")
    assert layer.dataProvider().colorInterpretationName(5) == "Red"  # QGIS reads it ...
    assert _bands(layer) == (1, 2, 3)  # ... and does not draw with it
