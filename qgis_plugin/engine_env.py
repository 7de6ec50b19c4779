"""The environment the engine runs in: QGIS's own, minus what belongs to QGIS's Python and GDAL.

Pure Python (no ``qgis`` import). QGIS sets ``PYTHONPATH``/``PYTHONHOME`` for its embedded Python
(and, in the OSGeo4W and macOS builds, ``GDAL_DATA``/``PROJ_LIB`` for its own GDAL and PROJ).
Leaked into the engine they make its Python import QGIS's packages instead of its own (numpy
of another ABI, another GDAL), which fails in confusing ways; the engine's environment brings
its own copies, so they are removed.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Variables removed besides every ``PYTHON*`` one: GDAL/PROJ data of QGIS's own builds.
DROPPED_VARIABLES: frozenset[str] = frozenset(
    {"GDAL_DATA", "GDAL_DRIVER_PATH", "PROJ_LIB", "PROJ_DATA", "__PYVENV_LAUNCHER__"}
)

#: Set for every run: unbuffered UTF-8 so progress lines arrive as they are written.
FORCED_VARIABLES: Mapping[str, str] = {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}


def engine_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``environ`` without ``PYTHON*`` and :data:`DROPPED_VARIABLES`, plus :data:`FORCED_VARIABLES`."""
    env = {
        name: value
        for name, value in environ.items()
        if not name.upper().startswith("PYTHON") and name.upper() not in DROPPED_VARIABLES
    }
    env.update(FORCED_VARIABLES)
    return env
