"""How raster values become the numbers PIF-Net sees: the weights manifest's ``normalisation``.

Two modes:

- ``"pair_mean"`` (what ``pifnet-train`` writes): unit-free. The HSI is divided by one number,
  s_h = the mean of all valid values of the pair's HSI over its good bands (coarse pixels valid
  in both inputs), and the MSI by its own s_m = the mean of all its valid values; the network's
  output is multiplied by s_h. The same rule is applied per scene in training (on the simulated
  LR-HSI and HR-MSI, never on the ground truth) and per pair in fusion (from the engine's
  streaming statistics pass, never per window, which would make seams). DN 0-65535,
  reflectance 0-1 and reflectance x 10000 therefore all reach the network as the same numbers,
  and any linear change of units of either input leaves the physical result unchanged. One
  global number per sensor (not per band) keeps each spectrum's shape, which SAM and the
  MSI's spectral responses depend on. Manifest::

      {"mode": "pair_mean",
       "seen": {"hsi_max": 18.5, "msi_max": 15.5},   # largest normalised value in training
       "description": "..."}

- ``"fixed"`` (manifests written before ``pair_mean``; ``mode`` absent): a constant
  ``(offset, scale)`` per sensor, number or one per band; the network saw ``(value - offset) /
  scale`` with values in [0, 1] during training.

Refusals (:func:`unit_refusal`), checked after the statistics pass and before any window is
fused: a pair whose normalised values reach more than :data:`OUT_OF_RANGE_FACTOR` times the
largest value seen in training, and at least :data:`MIN_REFUSED_REACH` times their mean
(``pair_mean``), or than 1.0 (``fixed``), whose mean is not
positive, or (``fixed``) whose normalised mean is below :data:`FIXED_MIN_MEAN` (e.g. reflectance
0-1 given to weights trained on 16-bit counts: the values would be ~1e-5). Such input made the
old network overflow into NaN or produce garbage, silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

MODE_PAIR_MEAN = "pair_mean"
MODE_FIXED = "fixed"
MODES = (MODE_PAIR_MEAN, MODE_FIXED)
#: A pair whose normalised values exceed the training maximum by more than this is refused.
#: Normalised by its mean, a scene's maximum is a property of its contrast: measured max / mean
#: 2.9-5.4 on the 18 real EnMAP tiles, 5.2 on the demo HSI, 4.5 on the Paris Hyperion crop, 3.0
#: on the Pavia crop of ../shared/data, up to 18.5 on the CAVE training scenes (studio scenes
#: with dark backgrounds); 4x beyond anything seen in training means other units or a broken input.
OUT_OF_RANGE_FACTOR = 4.0
#: ... but a pair is never refused below this max / mean: small training sets may show less
#: contrast than a user's scene (the EnMAP tiles of ``enmap_s2_x3`` reach only 3.8, the CAVE
#: scenes 18.5), and scenes with glint or bright roofs over a dark background can go beyond
#: (not measured here); a window that really overflows is still stopped by
#: :mod:`pifnet_engine.sanity`.
MIN_REFUSED_REACH = 50.0
#: ``fixed`` weights: a normalised mean below this means the input is in smaller units.
FIXED_MIN_MEAN = 1e-3


@dataclass
class ValueStatistics:
    """Streaming sum / count / maximum of the valid values of one sensor (float64)."""

    total: float = 0.0
    count: int = 0
    maximum: float = -math.inf

    def add(self, values: np.ndarray) -> None:
        """Add a 1-D (or any shape) array of valid, finite values."""
        if values.size:
            v = np.asarray(values, dtype=np.float64)
            self.total += float(v.sum())
            self.count += int(v.size)
            self.maximum = max(self.maximum, float(v.max()))

    @property
    def mean(self) -> float:
        """Mean of the values added (NaN when none)."""
        return self.total / self.count if self.count else math.nan


@dataclass
class PairStatistics:
    """The statistics of one pair (or one training scene) that normalisation needs."""

    hsi: ValueStatistics
    msi: ValueStatistics

    @classmethod
    def empty(cls) -> "PairStatistics":
        return cls(ValueStatistics(), ValueStatistics())

    def add(self, lr_hsi: np.ndarray, hsi_valid: np.ndarray, hr_msi: np.ndarray, msi_valid: np.ndarray,
            good_bands: np.ndarray | tuple[bool, ...] | None = None) -> None:
        """Add one window or scene: ``lr_hsi`` (C, h, w) with ``hsi_valid`` (h, w) bool,
        ``hr_msi`` (c, H, W) with ``msi_valid`` (H, W) bool; bad bands (``good_bands`` False) are
        left out. The one rule of both the engine's streaming pass and training."""
        good = np.ones(lr_hsi.shape[0], bool) if good_bands is None else np.asarray(good_bands, bool)
        if hsi_valid.any():
            self.hsi.add(lr_hsi[good][:, hsi_valid])
        if msi_valid.any():
            self.msi.add(hr_msi[:, msi_valid])


def pair_statistics(lr_hsi: np.ndarray, hsi_valid: np.ndarray, hr_msi: np.ndarray, msi_valid: np.ndarray,
                    good_bands: tuple[bool, ...] | None = None) -> PairStatistics:
    """Statistics of an in-memory pair (see :meth:`PairStatistics.add`)."""
    stats = PairStatistics.empty()
    stats.add(lr_hsi, hsi_valid, hr_msi, msi_valid, good_bands)
    return stats


def mode_of(norm: dict[str, Any]) -> str:
    """The normalisation mode of a manifest section (``fixed`` when ``mode`` is absent)."""
    return str(norm.get("mode", MODE_FIXED))


def pair_mean_section(seen_hsi_max: float, seen_msi_max: float) -> dict[str, Any]:
    """The manifest's ``normalisation`` section for weights trained with ``pair_mean``."""
    return {"mode": MODE_PAIR_MEAN,
            "seen": {"hsi_max": float(seen_hsi_max), "msi_max": float(seen_msi_max)},
            "description": ("unit-free: HSI divided by the mean of its valid good-band values, MSI by the mean "
                            "of its valid values, one number per sensor per pair (per scene in training); "
                            "output multiplied by the HSI's")}


def _fixed_pair(norm: dict[str, Any], kind: str) -> tuple[np.ndarray, np.ndarray]:
    pair = norm[kind]
    return (np.atleast_1d(np.asarray(pair["offset"], np.float64)),
            np.atleast_1d(np.asarray(pair["scale"], np.float64)))


def unit_refusal(norm: dict[str, Any], stats: PairStatistics, weights: str, hsi_name: str = "HSI",
                 msi_name: str = "MSI") -> str | None:
    """Why the pair with ``stats`` cannot be fused with weights ``weights`` whose manifest
    normalisation is ``norm`` (one sentence with what to do), or None."""
    for kind, name, st in (("hsi", hsi_name, stats.hsi), ("msi", msi_name, stats.msi)):
        label = kind.upper()
        if st.count == 0:
            return f"{label} '{name}' has no valid values where both inputs overlap; check its nodata value and mask"
        if mode_of(norm) == MODE_PAIR_MEAN:
            if not st.mean > 0:
                return (f"{label} '{name}' values average {st.mean:.4g}, not a positive quantity; PIF-Net's "
                        "normalisation divides by the mean: give radiance, reflectance or counts (check the "
                        "raster's scale/offset tags), or use --method gsa")
            seen = float(norm["seen"][f"{kind}_max"])
            reach = st.maximum / st.mean
            if reach > max(OUT_OF_RANGE_FACTOR * seen, MIN_REFUSED_REACH):
                return (f"{label} '{name}' values reach {reach:.3g} times their mean ({st.maximum:.4g} vs mean "
                        f"{st.mean:.4g}) but weights '{weights}' were trained on values up to {seen:.3g} times the "
                        "mean; part of the raster is probably in other units or broken: mask the outliers "
                        "(nodata) or check the raster's scale/offset tags, or use --method gsa")
        else:
            offset, scale = _fixed_pair(norm, kind)
            hi_scale = float(np.max(np.abs(scale)))
            top = (st.maximum - float(offset.min())) / hi_scale
            mean = (st.mean - float(offset.mean())) / hi_scale
            trained = f"values up to {float(offset.max() + scale.max()):.4g}"
            if top > OUT_OF_RANGE_FACTOR:
                return (f"{label} '{name}' values reach {st.maximum:.4g} but weights '{weights}' were trained on "
                        f"{trained} (fixed normalisation of an older manifest); convert the {label} to those units "
                        "(check its scale/offset tags), retrain the weights with this pifnet-train, or use --method gsa")
            if mean < FIXED_MIN_MEAN:
                return (f"{label} '{name}' values average {st.mean:.4g} but weights '{weights}' were trained on "
                        f"{trained} (fixed normalisation of an older manifest): the input is in smaller units; "
                        "convert it (check its scale/offset tags), retrain the weights with this pifnet-train, "
                        "or use --method gsa")
    return None


def scales_for(norm: dict[str, Any], stats: PairStatistics, hsi_bands: int,
               msi_bands: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(hsi_offset, hsi_scale, msi_offset, msi_scale), each (bands,) float64: the network sees
    ``(value - offset) / scale``; ``stats`` are used by ``pair_mean`` only."""
    if mode_of(norm) == MODE_PAIR_MEAN:
        return (np.zeros(hsi_bands), np.full(hsi_bands, stats.hsi.mean),
                np.zeros(msi_bands), np.full(msi_bands, stats.msi.mean))
    ho, hs = _fixed_pair(norm, "hsi")
    mo, ms = _fixed_pair(norm, "msi")
    return (np.broadcast_to(ho, hsi_bands).copy(), np.broadcast_to(hs, hsi_bands).copy(),
            np.broadcast_to(mo, msi_bands).copy(), np.broadcast_to(ms, msi_bands).copy())
