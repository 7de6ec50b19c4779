"""QGIS parameter helpers shared by the algorithms (``pifnet:fuse``, ``pifnet:fit``, ``pifnet:fitfuse``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingParameterDefinition,
)

#: File name endings of a GeoTIFF output.
OUTPUT_EXTENSIONS = (".tif", ".tiff")


def add_advanced_parameters(alg: QgsProcessingAlgorithm, parameters: Iterable[QgsProcessingParameterDefinition]) -> None:
    """Add ``parameters`` to ``alg``, each flagged as advanced."""
    for parameter in parameters:
        parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        alg.addParameter(parameter)


def optional_int(
    alg: QgsProcessingAlgorithm, parameters: dict[str, Any], name: str, context: QgsProcessingContext
) -> int | None:
    """Integer parameter ``name`` of ``alg``, or None when it was left empty."""
    value = parameters.get(name)
    return None if value is None or value == "" else alg.parameterAsInt(parameters, name, context)


def geotiff_output(
    alg: QgsProcessingAlgorithm, parameters: dict[str, Any], name: str, context: QgsProcessingContext
) -> str:
    """The raster destination ``name`` of ``alg``; refuses a name that is not a GeoTIFF's."""
    output = alg.parameterAsOutputLayer(parameters, name, context)
    if not output.lower().endswith(OUTPUT_EXTENSIONS):
        raise QgsProcessingException(
            f"Output '{output}' is not a GeoTIFF name; expected a file ending in .tif; choose a .tif output"
        )
    refuse_missing_folder(output)
    return output


def refuse_missing_folder(path: str) -> None:
    """Raise when the folder that should hold output ``path`` does not exist (before any program starts)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise QgsProcessingException(
            f"The output folder '{folder}' does not exist; create it or choose an output in an existing folder"
        )


def parameter_problem(check: Callable[[], object]) -> str | None:
    """The message of the :class:`QgsProcessingException` that ``check()`` raises, or None when it
    passes: what ``checkParameterValues`` reports (the check is the one the run itself makes)."""
    try:
        check()
    except QgsProcessingException as err:
        return str(err)
    return None
