"""Input and output files of the algorithms: the file behind a raster layer, and file identity (QGIS side)."""

from __future__ import annotations

import os
from typing import Any

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProviderRegistry,
    QgsRasterLayer,
)

from .file_identity import same_file


def layer_file_path(
    alg: QgsProcessingAlgorithm, parameters: dict[str, Any], name: str, label: str, context: QgsProcessingContext
) -> str:
    """The file behind raster parameter ``name`` of ``alg``; refuses layers that are not GDAL files."""
    layer: QgsRasterLayer | None = alg.parameterAsRasterLayer(parameters, name, context)
    if layer is None:
        raise QgsProcessingException(f"The {label} layer could not be loaded: {parameters.get(name)!r}; expected a raster file")
    source = layer.source()
    if layer.providerType() == "gdal":
        if os.path.isfile(source):
            return source
        parts = QgsProviderRegistry.instance().decodeUri("gdal", source)
        path = parts.get("path") or ""
        if os.path.isfile(path) and not parts.get("layerName") and not parts.get("openOptions"):
            return path
    raise QgsProcessingException(
        f"The {label} layer '{layer.name()}' is not a plain raster file ({layer.providerType()}: {source}); "
        "the engine reads files only; export it first with Raster > Conversion > Translate (to GeoTIFF)"
    )


def refuse_same_inputs(hsi: str, msi: str) -> None:
    """Raise when the HSI and MSI inputs are one file."""
    if same_file(hsi, msi):
        raise QgsProcessingException(
            f"The HSI and MSI inputs are the same file '{hsi}'; expected a hyperspectral raster and a "
            "multispectral raster of the same place; choose the multispectral raster as MSI"
        )


def refuse_input_as_output(output: str, inputs: dict[str, str]) -> None:
    """Raise when ``output`` is one of ``inputs`` (label -> path)."""
    for label, path in inputs.items():
        if same_file(output, path):
            raise QgsProcessingException(
                f"Output '{output}' is the {label} input; expected a new file; choose another output name"
            )
