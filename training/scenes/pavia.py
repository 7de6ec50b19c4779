"""Pavia University (ROSIS-03, Gamba): 610 x 340 px, 103 bands (115 minus 12 noisy), ~430-860 nm,
1.3 m GSD, distributed as ``PaviaU.mat`` (MATLAB v5, variable ``paviaU``, 610 x 340 x 103 uint16
raw DN; max ~8000).

Band centres are not distributed with the file and which 12 bands were dropped is not
documented, so ``wavelengths_nm`` is ``None``: the protocol's HR-MSI uses the ready-made
103-band ROSIS -> IKONOS matrix instead of an SRF (see :mod:`training.pairs`). Values are raw DN,
so ``full_scale`` is ``None`` (normalise by the scene maximum).
"""

from __future__ import annotations

from pathlib import Path

from rasterio.windows import Window

from training.scenes.matfile import read_mat_cube
from training.scenes.scene import Scene

#: (rows, cols, bands) of the full scene as distributed.
PAVIA_UNIVERSITY_SHAPE: tuple[int, int, int] = (610, 340, 103)
PAVIA_UNIVERSITY_KEY = "paviaU"


def load_pavia_university(path: str | Path, key: str | None = None, window: Window | None = None) -> Scene:
    """Load ``PaviaU.mat`` (or any v5/v7.3 ``.mat`` holding a rows x cols x 103 cube).

    ``key``: the variable; ``None`` picks the only 3-D variable (``paviaU`` in the real file,
    ``paviaU_subimg`` in the 50 x 50 crop of ``../shared/data/pavia_university``). Returns a
    :class:`Scene` with ``cube`` (103, H, W) float32 raw DN.
    """
    cube = read_mat_cube(path, key=key, window=window)
    return Scene(name="pavia_university", cube=cube, sensor="ROSIS-03")
