"""How a fused raster appears in QGIS: its layer name and a true-colour rendering applied on load."""

from __future__ import annotations

from qgis.core import (
    QgsContrastEnhancement,
    QgsMapLayer,
    QgsMultiBandColorRenderer,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingLayerPostProcessorInterface,
    QgsRasterLayer,
    QgsRasterMinMaxOrigin,
)

from .true_colour import band_centre_nm, result_layer_name, true_colour_bands


def band_centres_nm(path: str) -> list[float | None]:
    """Band centres (nm) of the raster file ``path`` as GDAL reads them; [] when it cannot be opened."""
    from osgeo import gdal  # QGIS's Python has GDAL's bindings

    ds = gdal.Open(path)
    if ds is None:
        return []
    try:
        return [band_centre_nm(ds.GetRasterBand(b).GetMetadata() or {}, ds.GetRasterBand(b).GetDescription())
                for b in range(1, ds.RasterCount + 1)]
    finally:
        ds = None


def apply_true_colour(layer: QgsRasterLayer) -> tuple[int, int, int] | None:
    """Draw ``layer`` from its bands nearest 640/550/470 nm (2-98 % stretch); the bands, or None if left as is."""
    bands = true_colour_bands(band_centres_nm(layer.source()))
    if bands is None:
        return None
    layer.setRenderer(QgsMultiBandColorRenderer(layer.dataProvider(), *bands))
    layer.setContrastEnhancement(QgsContrastEnhancement.StretchToMinimumMaximum, QgsRasterMinMaxOrigin.CumulativeCut)
    layer.triggerRepaint()
    return bands


class TrueColourOnLoad(QgsProcessingLayerPostProcessorInterface):
    """Layer post-processor of the fused raster: true-colour rendering when it has the bands."""

    def postProcessLayer(self, layer: QgsMapLayer, context: QgsProcessingContext,  # noqa: N802 (QGIS API)
                         feedback: QgsProcessingFeedback) -> None:
        if isinstance(layer, QgsRasterLayer):
            bands = apply_true_colour(layer)
            if bands is not None:
                feedback.pushInfo(f"Drawn as true colour from bands {bands[0]}/{bands[1]}/{bands[2]} (R/G/B)")


#: Post-processors must outlive the algorithm run that registers them; one instance serves all.
_POST_PROCESSOR = TrueColourOnLoad()


def present_result(context: QgsProcessingContext, output_path: str, method_label: str) -> None:
    """Name the result layer after file and method, and give it the true-colour post-processor.

    Only when QGIS will load the output (dialog runs, ``runAndLoadResults``)."""
    if not context.willLoadLayerOnCompletion(output_path):
        return
    details = context.layerToLoadOnCompletionDetails(output_path)
    details.name = result_layer_name(output_path, method_label)
    if hasattr(details, "forceName"):
        details.forceName = True
    details.setPostProcessor(_POST_PROCESSOR)
