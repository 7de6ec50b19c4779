"""Fixtures shared by every test folder (the QGIS run, ``.ci/qgis-tests``, stops at tests/qgis and does not read this)."""

from __future__ import annotations

from .shared_data import shared_data

__all__ = ["shared_data"]
