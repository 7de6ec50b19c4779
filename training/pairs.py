"""Training pairs: simulate (LR-HSI, HR-MSI) from a normalised ground truth, cut 64 x 64 patches.

Protocols (the ``protocol`` attribute of every :class:`SimulatedScene` and :class:`PatchDataset`):

- ``"paper"`` — Wei et al. 2015 as in PIF-Net: 3 x 3 Gaussian blur (sigma 0.5) then keep every
  s-th pixel from pixel 0 (:func:`pifnet_engine.simulate.degrade_paper`). For benchmarks.
- ``"centred"`` — the footprint average of each coarse pixel
  (:func:`pifnet_engine.simulate.degrade_centred`): what georeferenced data look like. For
  weights meant for real sensors.

HR-MSI = ground truth through a row-normalised (c, C) spectral response matrix
(:func:`pifnet_engine.simulate.spectral_degrade`); :func:`msi_response` builds the default one
per scene family (:data:`DEFAULT_MSI`).

The degraded scene is computed once (:func:`simulate_scene`), not per patch, so each LR pixel
sees its real neighbours. Patches start at multiples of s (so the LR patch is exactly the LR
pixels of the GT patch's footprints). Augmentation is the 8 flips/90-degree rotations, applied
so that the pair stays exactly what the protocol would give for the transformed scene:

- centred: footprint averaging commutes with every flip/rotation, so one LR is transformed along;
- paper: the kept sample sits at the top-left corner of its footprint, and a flip/rotation
  moves that corner. We precompute the LR for each of the 4 corners (degrade the flipped scene,
  flip back) and, for a transform T, take the corner T brings to the top-left. Then
  ``T(lr) == degrade_paper(T(gt))`` exactly (the 3 x 3 Gaussian and reflected borders are
  symmetric), instead of silently training on a half-pixel-shifted LR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from pifnet_engine.errors import InputDataError, UsageError
from pifnet_engine.model.normalisation import PairStatistics, pair_statistics
from pifnet_engine.simulate import PROTOCOLS, Protocol, degrade_centred, degrade_paper, spectral_degrade
from pifnet_engine.spectral.srf import load_rosis_ikonos_matrix, load_srf, response_matrix
from training.scenes.scene import Scene

#: Ratios the benchmarks use (any integer >= 2 works).
RATIOS = (2, 3, 4, 8)

#: MSI presets: name -> (sensor for load_srf, bands) or the ready-made ROSIS matrix.
MSI_PRESETS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "rosis_ikonos": ("rosis_ikonos_4x103", None),  # ready-made 4 x 103 matrix (CSTF / MHF-net)
    "nikon_d700": ("nikon_d700", ("blue", "green", "red")),
    "ikonos": ("ikonos", ("B1", "B2", "B3", "B4")),  # blue, green, red, NIR (no PAN)
    "sentinel2_10m": ("sentinel2a", ("B2", "B3", "B4", "B8")),  # the 10 m bands
}

#: Default MSI preset per scene family (Scene.name prefix).
DEFAULT_MSI: dict[str, str] = {
    "pavia_university": "rosis_ikonos",
    "chikusei": "ikonos",
    "houston2013": "ikonos",
    "enmap": "sentinel2_10m",
    "cave": "nikon_d700",
}

_CLEAN = 1.0 - 1e-6  # a degraded validity mask at least this high saw only valid pixels
_BAND_CHUNK = 16  # bands per degrade call (bounds float64 temporaries)


def msi_response(scene: Scene, preset: str) -> np.ndarray:
    """(c, C) float64 row-normalised response matrix of MSI ``preset`` for ``scene``'s bands
    (bad bands get 0 weight)."""
    if preset not in MSI_PRESETS:
        raise UsageError(f"unknown MSI preset {preset!r}; expected one of {sorted(MSI_PRESETS)}")
    sensor, bands = MSI_PRESETS[preset]
    if preset == "rosis_ikonos":
        matrix = load_rosis_ikonos_matrix()
        if scene.bands != matrix.shape[1]:
            raise InputDataError(
                f"MSI preset 'rosis_ikonos' needs the 103-band ROSIS Pavia cube; scene {scene.name!r} "
                f"has {scene.bands} bands; pick another preset"
            )
        return matrix
    if scene.wavelengths_nm is None:
        raise InputDataError(
            f"scene {scene.name!r} has no band wavelengths, so MSI preset {preset!r} cannot be "
            "simulated; expected wavelengths in the scene (or use the 'rosis_ikonos' matrix for Pavia)"
        )
    return response_matrix(
        load_srf(sensor, bands=bands),
        scene.wavelengths_nm,
        hsi_fwhm_nm=scene.fwhm_nm,
        valid_bands=scene.good_bands,
    )


def default_msi_preset(scene: Scene) -> str:
    """The :data:`DEFAULT_MSI` preset for ``scene`` by its name (``"cave"`` for CAVE scenes)."""
    for family, preset in DEFAULT_MSI.items():
        if scene.name.startswith(family):
            return preset
    if scene.sensor.startswith("CAVE"):
        return DEFAULT_MSI["cave"]
    raise UsageError(
        f"no default MSI for scene {scene.name!r}; pass one of {sorted(MSI_PRESETS)} explicitly"
    )


# --- augmentation ---------------------------------------------------------------------------

def dihedral(x: np.ndarray, rot: int, flip: bool) -> np.ndarray:
    """Rotate the last two axes by ``rot`` x 90 degrees counter-clockwise, then mirror columns
    if ``flip``. (..., H, W) -> (..., H', W')."""
    y = np.rot90(x, k=rot, axes=(-2, -1))
    return y[..., ::-1] if flip else y


def corner_for(ratio: int, rot: int, flip: bool) -> tuple[int, int]:
    """Which corner (oy, ox), each 0 or ratio-1, of an s x s footprint the transform brings to
    the top-left: the paper protocol's kept sample for the transformed patch."""
    idx = np.arange(ratio * ratio).reshape(ratio, ratio)
    oy, ox = divmod(int(dihedral(idx, rot, flip)[0, 0]), ratio)
    return oy, ox


# --- simulation -----------------------------------------------------------------------------

def _degrade(cube: np.ndarray, ratio: int, protocol: Protocol, corner: tuple[int, int]) -> np.ndarray:
    """LR of ``cube`` (C, H, W) (H, W multiples of ratio) whose samples sit at footprint corner
    ``corner`` (paper) / footprint average (centred), in band chunks."""
    oy, ox = corner
    flipped = cube[:, ::-1] if oy else cube
    flipped = flipped[:, :, ::-1] if ox else flipped
    fn = degrade_paper if protocol == "paper" else degrade_centred
    parts = [
        fn(np.ascontiguousarray(flipped[i : i + _BAND_CHUNK]), ratio)
        for i in range(0, cube.shape[0], _BAND_CHUNK)
    ]
    lr = np.concatenate(parts, axis=0)
    lr = lr[:, ::-1] if oy else lr
    lr = lr[:, :, ::-1] if ox else lr
    return np.ascontiguousarray(lr, dtype=np.float32)


@dataclass(frozen=True, eq=False)
class SimulatedScene:
    """A normalised scene with its simulated LR-HSI and HR-MSI, computed once.

    - ``target``: (C, H, W) float32 ground truth in [0, 1], H and W multiples of ``ratio``;
    - ``lr_variants``: corner (oy, ox) -> (C, H/s, W/s) float32 LR-HSI; ``"paper"`` holds the 4
      corners, ``"centred"`` only (0, 0); :attr:`lr_hsi` is the protocol's LR of the scene;
    - ``hr_msi``: (c, H, W) float32;
    - ``clean``: (H/s, W/s) bool, True where a coarse pixel's LR (every variant) and all its
      fine pixels come from valid data only;
    - ``response``: (c, C) the spectral response matrix used; ``msi_preset``: its name;
    - ``good_bands``: the scene's bad-band list (False = bad band, no signal), ``None`` = all good;
    - ``base``: (C, H, W) float32 GSA image of the scene's inputs for a GSA-residual model
      (``PIFNetConfig.residual == "gsa"``), ``None`` otherwise (only the centred protocol).
    """

    name: str
    protocol: str
    ratio: int
    target: np.ndarray
    lr_variants: dict[tuple[int, int], np.ndarray]
    hr_msi: np.ndarray
    clean: np.ndarray
    response: np.ndarray
    msi_preset: str = "custom"
    good_bands: tuple[bool, ...] | None = None
    base: np.ndarray | None = None

    @property
    def lr_hsi(self) -> np.ndarray:
        """(C, H/s, W/s) LR-HSI of the untransformed scene under :attr:`protocol`."""
        return self.lr_variants[(0, 0)]


def simulate_scene(
    scene: Scene,
    ratio: int,
    protocol: Protocol = "paper",
    response: np.ndarray | None = None,
    msi_preset: str | None = None,
) -> SimulatedScene:
    """Simulate LR-HSI and HR-MSI for a NORMALISED scene (see :func:`training.scenes.normalise.normalise`).

    The scene is cropped to multiples of ``ratio`` (last rows/columns dropped). ``response``:
    (c, C) matrix; when ``None`` it is built from ``msi_preset`` (default: the scene family's
    :data:`DEFAULT_MSI`).
    """
    if protocol not in PROTOCOLS:
        raise UsageError(f"unknown simulation protocol {protocol!r}; expected one of {PROTOCOLS}")
    if isinstance(ratio, bool) or not isinstance(ratio, (int, np.integer)) or ratio < 2:
        raise UsageError(f"ratio must be an integer >= 2 (e.g. one of {RATIOS}); got {ratio!r}")
    ratio = int(ratio)
    lo, hi = float(scene.cube.min(initial=0.0)), float(scene.cube.max(initial=0.0))
    if scene.full_scale != 1.0 or lo < 0.0 or hi > 1.0:
        raise InputDataError(
            f"scene {scene.name!r} is not normalised to [0, 1] (full_scale={scene.full_scale}); "
            "expected the output of training.scenes.normalise.normalise(scene)"
        )
    if response is None:
        msi_preset = msi_preset or default_msi_preset(scene)
        response = msi_response(scene, msi_preset)
    response = np.asarray(response, dtype=np.float64)
    if response.ndim != 2 or response.shape[1] != scene.bands:
        raise InputDataError(
            f"response matrix has shape {response.shape}; expected (c, {scene.bands}) for scene "
            f"{scene.name!r}"
        )
    h, w = scene.shape_hw
    hc, wc = h // ratio, w // ratio
    if hc == 0 or wc == 0:
        raise InputDataError(
            f"scene {scene.name!r} is {h}x{w} px, smaller than one {ratio}x{ratio} coarse pixel; "
            "use a larger region or a smaller ratio"
        )
    target = np.ascontiguousarray(scene.cube[:, : hc * ratio, : wc * ratio])
    last = ratio - 1
    corners = [(0, 0)] if protocol == "centred" else [(0, 0), (0, last), (last, 0), (last, last)]
    lr_variants = {c: _degrade(target, ratio, protocol, c) for c in corners}
    hr_msi = np.ascontiguousarray(spectral_degrade(target, response), dtype=np.float32)

    clean = np.ones((hc, wc), bool)
    if scene.valid is not None:
        valid = scene.valid[: hc * ratio, : wc * ratio]
        clean &= valid.reshape(hc, ratio, wc, ratio).all(axis=(1, 3))
        mask = valid[None].astype(np.float64)
        for c in corners:
            clean &= _degrade(mask, ratio, protocol, c)[0] >= _CLEAN
    return SimulatedScene(
        name=scene.name,
        protocol=protocol,
        ratio=ratio,
        target=target,
        lr_variants=lr_variants,
        hr_msi=hr_msi,
        clean=clean,
        response=response,
        msi_preset=msi_preset or "custom",
        good_bands=None if scene.good_bands is None else tuple(bool(g) for g in scene.good_bands),
    )


# --- patches --------------------------------------------------------------------------------

def clean_square_origins(clean: np.ndarray, side: int, step: int = 1) -> np.ndarray:
    """(n, 2) (row, col) of every ``side`` x ``side`` all-True square of ``clean`` (h, w) whose
    origin lies on the grid of ``step``, in row-major order (a summed-area table)."""
    if side > min(clean.shape):
        return np.zeros((0, 2), np.int64)
    bad = np.pad((~clean).astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    n_bad = bad[side:, side:] - bad[:-side, side:] - bad[side:, :-side] + bad[:-side, :-side]
    return np.argwhere(n_bad[::step, ::step] == 0) * step


class PatchDataset(Dataset):
    """Ground-truth patches with matching LR-HSI and HR-MSI patches, flips and 90-degree turns.

    Items are dicts of float32 tensors: ``"lr_hsi"`` (C, p, p), ``"hr_msi"`` (c, P, P),
    ``"target"`` (C, P, P), with P = ``patch_size`` and p = P / s (16 for 64 at s = 4), and
    ``"base"`` (C, P, P) when the scenes carry a GSA image.

    ``pair_mean`` (default True): each scene's LR-HSI and target are divided by the scene's HSI
    scale and its HR-MSI by its MSI scale, the unit-free rule the engine applies to a whole pair
    in fusion (:mod:`pifnet_engine.model.normalisation`; statistics of the simulated *inputs*
    over clean pixels, never of the ground truth). False: values as simulated (the old fixed
    normalisation).

    Patch origins are on a grid of ``stride`` fine pixels (a multiple of s; default about half a
    patch) inside each scene, keeping only patches whose coarse pixels are all ``clean``.
    Augmentation of item i in epoch e is drawn from ``numpy.random.default_rng([seed, e, i])``:
    reproducible, independent of worker processes and of the order items are read in; call
    :meth:`set_epoch` each epoch for fresh draws.
    """

    def __init__(
        self,
        scenes: Sequence[SimulatedScene],
        patch_size: int = 64,
        stride: int | None = None,
        augment: bool = True,
        seed: int = 0,
        pair_mean: bool = True,
    ) -> None:
        if not scenes:
            raise UsageError("PatchDataset needs at least one simulated scene")
        first = scenes[0]
        for sc in scenes:
            key = (sc.protocol, sc.ratio, sc.target.shape[0], sc.hr_msi.shape[0])
            ref = (first.protocol, first.ratio, first.target.shape[0], first.hr_msi.shape[0])
            if key != ref:
                raise InputDataError(
                    f"scene {sc.name!r} has (protocol, ratio, HSI bands, MSI bands) = {key} but "
                    f"{first.name!r} has {ref}; expected all scenes of one dataset to match"
                )
        s = first.ratio
        if patch_size % s or patch_size < s:
            raise UsageError(
                f"patch_size {patch_size} is not a multiple of the ratio {s}; expected e.g. "
                f"{max(s, patch_size - patch_size % s)} or {patch_size + s - patch_size % s}"
            )
        if stride is None:
            stride = s * max(1, -(-(patch_size // 2) // s))
        if stride <= 0 or stride % s:
            raise UsageError(f"stride {stride} must be a positive multiple of the ratio {s}")
        self.scenes = list(scenes)
        self.protocol: str = first.protocol
        self.ratio: int = s
        self.patch_size = patch_size
        self.stride = stride
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self.statistics = [scene_statistics(sc) for sc in self.scenes]
        self.scales = [(st.hsi.mean, st.msi.mean) if pair_mean else (1.0, 1.0) for st in self.statistics]
        self.positions = self._positions()
        if not self.positions:
            raise InputDataError(
                f"no clean {patch_size}x{patch_size} patch fits in scenes "
                f"{[sc.name for sc in scenes]}; expected regions of at least {patch_size} px of valid data"
            )

    def _positions(self) -> list[tuple[int, int, int]]:
        """(scene index, row, col) of every clean patch origin, fine pixels."""
        s, p = self.ratio, self.patch_size // self.ratio
        return [(k, int(y) * s, int(x) * s) for k, sc in enumerate(self.scenes)
                for y, x in clean_square_origins(sc.clean, p, self.stride // s)]

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation draws of ``epoch`` (call before each epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.positions)

    def transform_of(self, index: int) -> tuple[int, bool]:
        """(rotation k in 0..3, flip) of item ``index`` in the current epoch."""
        if not self.augment:
            return 0, False
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return int(rng.integers(4)), bool(rng.integers(2))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rot, flip = self.transform_of(index)
        return self.pair(index, rot, flip)

    def pair(self, index: int, rot: int = 0, flip: bool = False) -> dict[str, torch.Tensor]:
        """Patch ``index`` under an explicit transform (``rot`` x 90 degrees, then ``flip``)."""
        k, y, x = self.positions[index]
        sc, s, size = self.scenes[k], self.ratio, self.patch_size
        corner = (0, 0) if sc.protocol == "centred" else corner_for(s, rot, flip)
        target = sc.target[:, y : y + size, x : x + size]
        msi = sc.hr_msi[:, y : y + size, x : x + size]
        lr = sc.lr_variants[corner][:, y // s : (y + size) // s, x // s : (x + size) // s]
        hs, ms = (np.float32(1.0 / v) for v in self.scales[k])
        item = {
            "lr_hsi": torch.from_numpy(np.ascontiguousarray(dihedral(lr, rot, flip)) * hs),
            "hr_msi": torch.from_numpy(np.ascontiguousarray(dihedral(msi, rot, flip)) * ms),
            "target": torch.from_numpy(np.ascontiguousarray(dihedral(target, rot, flip)) * hs),
        }
        if sc.base is not None:  # GSA is equivariant to flips and turns: transform it like the target
            base = sc.base[:, y : y + size, x : x + size]
            item["base"] = torch.from_numpy(np.ascontiguousarray(dihedral(base, rot, flip)) * hs)
        return item


def seen_maxima(scenes: Sequence[SimulatedScene]) -> tuple[float, float]:
    """Largest ``pair_mean``-normalised LR-HSI and HR-MSI value over ``scenes`` (max / mean of
    each scene's :func:`scene_statistics`), for the manifest's ``normalisation.seen``."""
    stats = [scene_statistics(sc) for sc in scenes]
    return (max(st.hsi.maximum / st.hsi.mean for st in stats),
            max(st.msi.maximum / st.msi.mean for st in stats))


def scene_statistics(sim: SimulatedScene) -> PairStatistics:
    """The normalisation statistics of a simulated scene, as the engine gathers them for a pair:
    its protocol's LR-HSI over clean coarse pixels and good bands, its HR-MSI over their fine
    pixels."""
    s = sim.ratio
    fine = np.repeat(np.repeat(sim.clean, s, axis=0), s, axis=1)
    stats = pair_statistics(sim.lr_hsi, sim.clean, sim.hr_msi, fine, sim.good_bands)
    if not (stats.hsi.mean > 0 and stats.msi.mean > 0):
        raise InputDataError(
            f"scene {sim.name!r} has a non-positive mean (HSI {stats.hsi.mean:.4g}, MSI {stats.msi.mean:.4g}); "
            "PIF-Net's normalisation divides by it: check the scene's values"
        )
    return stats
