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


def file_state(path: str) -> tuple[int, int] | None:
    """(mtime in ns, size in bytes) of ``path``, or None when it does not exist."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def same_file(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` name the same file (existing or not)."""
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def refuse_input_as_output(output: str, inputs: dict[str, str]) -> None:
    """Raise when ``output`` is one of ``inputs`` (label -> path)."""
    for label, path in inputs.items():
        if same_file(output, path):
            raise QgsProcessingException(
                f"Output '{output}' is the {label} input; expected a new file; choose another output name"
            )
