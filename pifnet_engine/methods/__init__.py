"""Fusion methods by name. ``pifnet`` is imported lazily (it pulls in the model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from pifnet_engine.errors import UsageError
from pifnet_engine.methods.base import FusionMethod, PairSpec, StatsBatch

METHOD_NAMES = ("pifnet", "gsa", "bicubic")


def create_method(name: str, device: torch.device, weights: str | Path | None = None,
                  **options: Any) -> FusionMethod:
    """Build the method ``name`` on ``device``; ``weights`` only for ``pifnet``."""
    if name == "bicubic":
        from pifnet_engine.methods.bicubic import BicubicMethod
        method: FusionMethod = BicubicMethod(device)
    elif name == "gsa":
        from pifnet_engine.methods.gsa import GSAMethod
        method = GSAMethod(device)
    elif name == "pifnet":
        from pifnet_engine.methods.pifnet import PIFNetMethod
        return PIFNetMethod(device=device, weights=weights, **options)
    else:
        raise UsageError(f"unknown method '{name}'; choose one of {', '.join(METHOD_NAMES)}")
    if weights is not None:
        raise UsageError(f"--weights is only used by --method pifnet, not '{name}'; drop it")
    return method


__all__ = ["FusionMethod", "PairSpec", "StatsBatch", "create_method", "METHOD_NAMES"]
