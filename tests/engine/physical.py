"""Comparing fused rasters in physical units on their good bands (tests only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pifnet_engine.cli.compare import read_physical


def on_good_bands(*paths: Path) -> tuple[list[np.ndarray], np.ndarray, float]:
    """The rasters' physical values on the bands finite somewhere in all of them (the demo's water-vapour
    bands are NaN or zero), their common valid (H, W) mask, and the first raster's maximum as one data range."""
    arrays = [read_physical(p, "raster")[0] for p in paths]
    bands = np.logical_and.reduce([np.isfinite(a).any(axis=(1, 2)) for a in arrays])
    kept = [a[bands] for a in arrays]
    valid = np.logical_and.reduce([np.isfinite(a).all(axis=0) for a in kept])
    return kept, valid, float(np.nanmax(kept[0]))
