"""Refuse, before the first window, a job that cannot fit: in memory, or on the output's disk.

- **Memory**: one batch of windows needs about ``batch x window_px^2 x bands x
  method.work_bytes_per_pixel_band`` bytes. More than ``MEMORY_SHARE`` of the memory available now
  (``MemAvailable`` of /proc/meminfo on Linux; no check elsewhere) is refused, naming the tile size
  that would fit.
- **Disk**: a GeoTIFF is written compressed straight away (see :mod:`.writer`); how well the data
  compress is not known in advance. With less free space than a quarter of the uncompressed size
  (``height x width x bands x bytes per value``; DEFLATE does not shrink fused reflectance that
  far) the job is refused with both sizes; with less than the uncompressed size plus its overviews
  (4/3 of it) it gets a warning. A COG is first written uncompressed beside the target: less free
  space than that is refused, less than twice that (the COG also needs room until the rename) is
  a warning.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np

from pifnet_engine.errors import UsageError

MEMORY_SHARE = 0.8


def available_memory_bytes() -> int | None:
    """``MemAvailable`` in bytes, or None where /proc/meminfo does not exist."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


def check_memory(window_px: int, margin_px: int, bands: int, batch: int, bytes_per_pixel_band: int,
                 available: int | None) -> None:
    """Refuse when a batch of windows would need more than ``MEMORY_SHARE`` of ``available`` bytes.

    ``window_px``: side of a read window (MSI pixels, halo included); ``margin_px``: the part of it
    that is not tile (2 x (overlap + halo)).
    """
    if available is None:
        return
    need = batch * window_px ** 2 * bands * bytes_per_pixel_band
    if need <= MEMORY_SHARE * available:
        return
    side = math.isqrt(int(MEMORY_SHARE * available / 2 / (batch * bands * bytes_per_pixel_band)))
    tile = max(side - margin_px, 0)
    fix = (f"use --tile-size {tile} or less" if tile >= 16 else "use a smaller --batch-size or a machine with more memory")
    if batch > 1 and tile >= 16:
        fix += " (or a smaller --batch-size)"
    raise UsageError(
        f"a batch of {batch} window(s) of {window_px} x {window_px} px with {bands} bands needs ~{_gb(need)} of memory, "
        f"but {_gb(available)} are available; {fix}")


def check_disk(folder: Path, height: int, width: int, bands: int, dtype: str, cog: bool = False) -> str | None:
    """Refuse an output that cannot fit in ``folder`` (see the module docstring); return a warning
    when it might not, else None."""
    raw = height * width * bands * np.dtype(dtype).itemsize
    free = shutil.disk_usage(folder).free
    size = f"{width} x {height} px x {bands} bands"
    if cog:
        if raw > free:
            raise UsageError(
                f"the output needs ~{_gb(raw)} of temporary space in '{folder}' (its uncompressed working copy, "
                f"{size}), but only {_gb(free)} are free; free space there or write the output to another disk")
        if 2 * raw > free:
            return (f"only {_gb(free)} are free in '{folder}': the uncompressed working copy (~{_gb(raw)}) fits, the "
                    "compressed copy may not; if the run fails for lack of space, free space or write elsewhere")
        return None
    if 4 * free < raw:
        raise UsageError(
            f"the output ({size}) takes ~{_gb(raw)} uncompressed and would not fit in the {_gb(free)} free in "
            f"'{folder}' even compressed 4:1; free space there or write the output to another disk")
    with_overviews = raw * 4 // 3
    if with_overviews > free:
        return (f"only {_gb(free)} are free in '{folder}': the output takes ~{_gb(with_overviews)} uncompressed with "
                "its overviews; compressed it is usually smaller, by how much is not known in advance; if the run "
                "fails for lack of space, free space or write elsewhere")
    return None
