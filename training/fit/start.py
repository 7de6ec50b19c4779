"""Where a fit starts: weights that fit the pair, or a fresh residual PIF-Net.

``--init`` values:

- ``auto`` (default): the first bundled weights file whose bands, ratio and band wavelengths fit
  the pair (the rule of ``pifnet-engine fuse --method pifnet`` without ``--weights``), else a
  fresh model;
- ``none``: a fresh residual model (it starts as the bicubic image), with half the paper's
  blocks (:data:`FRESH_HIDDEN`, :data:`FRESH_BLOCKS`);
- a bundled name or a ``.safetensors`` / ``.json`` path: those weights, refused with the reason
  when they do not fit the pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from pifnet_engine.errors import WeightsError
from pifnet_engine.methods.base import PairSpec
from pifnet_engine.methods.pifnet import bundled_weights, mismatch, resolve_weights
from pifnet_engine.model import PIFNet, PIFNetConfig
from pifnet_engine.model.weights import load_weights, read_manifest


@dataclass
class Start:
    """The starting model of a fit. ``source``: the weights file, None for a fresh model."""

    model: PIFNet
    source: Path | None
    manifest: dict[str, Any] | None
    how: str  # "bundled", "given", "fresh"

    @property
    def description(self) -> str:
        if self.source is None:
            form = self.model.cfg.residual
            return f"a fresh PIF-Net, residual over {form} (it starts as the {form} image)"
        name = self.manifest["name"] if self.manifest else self.source.stem
        return f"{'bundled' if self.how == 'bundled' else 'given'} weights '{name}' ({self.source})"

    def summary(self) -> dict[str, Any]:
        """The manifest's ``training.init`` entry."""
        return {"how": self.how, "weights": None if self.manifest is None else self.manifest["name"],
                "sha256": None if self.manifest is None else self.manifest.get("sha256")}


#: The output form of a fresh fitted model (``--residual``): see docs/fit.md for the measurements.
FRESH_RESIDUAL = "bicubic"
#: Width (D) and depth (L) of a fresh fitted model. A fit has one pair and minutes on a CPU, not
#: a benchmark's scenes and days: with half the paper's blocks (L = 2 instead of 4) a step takes
#: about half as long, and within the same 10 minutes the fit ended ahead of the paper's size on
#: the development scene (docs/fit.md, "Size of a fresh model").
FRESH_HIDDEN = 64
FRESH_BLOCKS = 2


def fresh_model(pair: PairSpec, residual: str = FRESH_RESIDUAL, seed: int = 0) -> PIFNet:
    """A fresh PIF-Net for ``pair``: D = :data:`FRESH_HIDDEN`, L = :data:`FRESH_BLOCKS`, the other
    settings ``PIFNetConfig``'s defaults, output form ``residual``, initialised
    from ``seed`` (the fit's ``--seed``; the global random state is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return PIFNet(PIFNetConfig(hsi_bands=pair.hsi_bands, msi_bands=pair.msi_bands, ratio=pair.ratio,
                                   residual=residual, hidden=FRESH_HIDDEN, blocks=FRESH_BLOCKS))


def choose_start(init: str, pair: PairSpec, residual: str = FRESH_RESIDUAL, seed: int = 0) -> tuple[Start, list[str]]:
    """The start for ``--init init`` and, for ``auto``, why each bundled file did not fit
    (``residual`` and ``seed``: the output form and the initialisation of a fresh model)."""
    if init == "none":
        return Start(fresh_model(pair, residual, seed), None, None, "fresh"), []
    if init == "auto":
        reasons = []
        for path in bundled_weights():
            manifest = read_manifest(path)
            why = mismatch(manifest, pair)
            if why is None:
                model, manifest = load_weights(path)
                return Start(model, path, manifest, "bundled"), reasons
            reasons.append(f"{manifest['name']}: {why}")
        return Start(fresh_model(pair, residual, seed), None, None, "fresh"), reasons
    path = resolve_weights(init)
    manifest = read_manifest(path)
    why = mismatch(manifest, pair)
    if why is not None:
        raise WeightsError(f"--init {init}: {why}; start from another file or from scratch with --init none")
    model, manifest = load_weights(path)
    how = "bundled" if path.resolve().parent in {p.resolve().parent for p in bundled_weights()} else "given"
    return Start(model, path, manifest, how), []
