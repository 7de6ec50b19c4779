"""QGIS's Python and GDAL variables do not leak into the engine's environment."""

from __future__ import annotations

from qgis_plugin.engine_env import engine_environment


def test_python_and_gdal_variables_are_removed_the_rest_kept() -> None:
    qgis_like = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/a",
        "PYTHONPATH": "/usr/share/qgis/python",
        "PYTHONHOME": "C:\\OSGeo4W\\apps\\Python39",
        "PYTHONSTARTUP": "/x.py",
        "PythonUserBase": "/y",
        "GDAL_DATA": "C:\\OSGeo4W\\apps\\gdal\\share\\gdal",
        "PROJ_LIB": "C:\\OSGeo4W\\share\\proj",
        "CUDA_VISIBLE_DEVICES": "1",
        "QGIS_PREFIX_PATH": "/usr",
    }
    env = engine_environment(qgis_like)
    assert env == {
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/a",
        "CUDA_VISIBLE_DEVICES": "1",
        "QGIS_PREFIX_PATH": "/usr",
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "utf-8",
    }
    assert qgis_like["PYTHONPATH"] == "/usr/share/qgis/python"  # the input is not modified
