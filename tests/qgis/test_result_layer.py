"""The fused raster as an analyst meets it in QGIS: layer name, true-colour bands, a missing output folder."""

from __future__ import annotations

import numpy as np
import pytest
from .qgis_helpers import make_feedback

pytestmark = pytest.mark.qgis


def test_loaded_result_is_named_and_drawn_in_true_colour(qgis_app, engine, engine_setting, small_pair, tmp_path) -> None:
    import processing
    from qgis.core import QgsMultiBandColorRenderer, QgsProcessingContext, QgsProject, QgsRasterLayer

    engine_setting(str(engine))
    target = tmp_path / "fused_scene.tif"
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = make_feedback()
    processing.runAndLoadResults(
        "pifnet:fuse",
        {"HSI": str(small_pair.hsi), "MSI": str(small_pair.msi), "METHOD": 1, "TILE_SIZE": 24, "OUTPUT": str(target)},
        feedback=feedback, context=context,
    )
    layers = [lyr for lyr in QgsProject.instance().mapLayers().values()
              if isinstance(lyr, QgsRasterLayer) and lyr.source() == str(target)]
    assert len(layers) == 1, [lyr.source() for lyr in QgsProject.instance().mapLayers().values()]
    layer = layers[0]
    assert layer.name() == "fused_scene (GSA)"
    renderer = layer.renderer()
    assert isinstance(renderer, QgsMultiBandColorRenderer)
    wl = np.linspace(400.0, 1000.0, small_pair.hsi_bands)  # the fixture's band centres
    expected = tuple(int(np.argmin(abs(wl - t))) + 1 for t in (640.0, 550.0, 470.0))
    assert (renderer.redBand(), renderer.greenBand(), renderer.blueBand()) == expected
    assert expected != (1, 2, 3)
    QgsProject.instance().removeAllMapLayers()


def test_output_in_a_missing_folder_is_reported_as_such(qgis_app, engine, engine_setting, small_pair, tmp_path) -> None:
    import processing
    from qgis.core import QgsProcessingException

    engine_setting(str(engine))
    target = tmp_path / "no_such_folder" / "fused.tif"
    with pytest.raises(QgsProcessingException, match="output folder .*no_such_folder' does not exist"):
        processing.run(
            "pifnet:fuse",
            {"HSI": str(small_pair.hsi), "MSI": str(small_pair.msi), "METHOD": 1, "OUTPUT": str(target)},
            feedback=make_feedback(),
        )
    assert not target.parent.exists()
