"""The bundled demo pair: a real EnMAP scene over Potsdam with a simulated Sentinel-2 MSI.

Wald protocol, so the fused result can be scored against a reference (see ATTRIBUTION.md):

- ``hsi``: ``hsi_enmap_90m.tif``, 224 bands, 21 x 21 px at 90 m (the reference degraded by 3);
- ``msi``: ``msi_s2_30m.tif``, Sentinel-2A B2, B3, B4, B8 simulated at 30 m, 63 x 63 px;
- ``reference``: ``reference_enmap_30m.tif``, the real EnMAP L2A data, 224 bands, 63 x 63 px, 30 m.

All three share the grid origin (EPSG:32633); the HSI pixel is exactly 3 x 3 MSI pixels.
Rebuild with ``python -m pifnet_engine.demo.build --data ../shared/data``.
"""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent

FILE_NAMES: dict[str, str] = {
    "hsi": "hsi_enmap_90m.tif",
    "msi": "msi_s2_30m.tif",
    "reference": "reference_enmap_30m.tif",
}

#: Ratio of HSI to MSI pixel size in the demo pair.
DEMO_RATIO = 3


def demo_paths() -> dict[str, Path]:
    """Paths of the bundled demo rasters: keys ``"hsi"``, ``"msi"``, ``"reference"``."""
    return {key: DEMO_DIR / name for key, name in FILE_NAMES.items()}
