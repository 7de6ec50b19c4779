"""From ``--scene NAME --data PATH`` to normalised train / validation / test scenes.

This module only assembles what the scene loaders (:mod:`training.scenes`) and the paper's
splits (:mod:`training.splits`) provide; the simulation of (LR-HSI, HR-MSI) pairs is
:func:`training.pairs.simulate_scene`.

Scene kinds (``--scene``) and their splits:

- ``cave``: ``--data`` is the ``complete_ms_data`` folder (or its parent). Train / validation /
  test scenes from :func:`training.splits.cave_split` (MHF-net's 20/12 split, our fixed two
  validation scenes). Normalisation: / 65535 (16-bit full scale).
- ``pavia``, ``chikusei``, ``houston``: ``--data`` is the scene file (``.mat``; Houston also
  GeoTIFF). Test = the paper's test regions; the paper's training region is cut into train and
  validation by :func:`holdout_strip` (validation = the last :data:`VALIDATION_FRACTION` of the
  training region along its longer side; the paper has no validation set, ours never touches
  the test regions). Normalisation: / the whole-scene maximum (Wei et al. line).
- ``georeferenced``: ``--data`` is a GeoTIFF or a folder of tiles (mosaicked into contiguous
  blocks; the engine demo's EnMAP tiles are always left out). Validation = the last block when
  there are several, else the :func:`holdout_strip` of the only one. No test split (the demo
  scene is the test). Normalisation: / 1.0 (reflectance).
- ``cache``: ``--data`` is a folder with ``train/``, ``validation/`` and optionally ``test/``
  subfolders of compact scene caches (:func:`training.scenes.cache.write_cache`), already
  normalised; for GPU runs that can take only a few tens of MiB along.

Every scene returned is normalised to [0, 1] (``full_scale = 1``); :class:`SplitScenes` records
the divisor so that exported weights can tell the engine which physical units they expect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rasterio.windows import Window

from pifnet_engine.errors import InputDataError, UsageError
from pifnet_engine.simulate import PROTOCOLS
from training.pairs import MSI_PRESETS, SimulatedScene, default_msi_preset, simulate_scene
from training.scenes.scene import Scene

SCENE_KINDS = ("cave", "pavia", "chikusei", "houston", "georeferenced", "cache")
SPLITS = ("train", "validation", "test")
#: Fraction of a training region held out for validation (region benchmarks, single blocks).
VALIDATION_FRACTION = 0.2
#: Scene families, as :data:`training.pairs.DEFAULT_MSI` knows them.
FAMILY = {"cave": "cave", "pavia": "pavia_university", "chikusei": "chikusei",
          "houston": "houston2013", "georeferenced": "enmap"}


@dataclass(frozen=True)
class DataSpec:
    """What the command line asked for.

    ``msi_srf``: an MSI preset of :data:`training.pairs.MSI_PRESETS` or ``None`` for the scene
    family's default; ``key``: the ``.mat`` variable (``None``: the only 3-D one).
    """

    scene: str
    data: Path
    ratio: int = 4
    protocol: str = "paper"
    msi_srf: str | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        if self.scene not in SCENE_KINDS:
            raise UsageError(f"unknown scene {self.scene!r}; expected one of {', '.join(SCENE_KINDS)}")
        if self.protocol not in PROTOCOLS:
            raise UsageError(f"unknown protocol {self.protocol!r}; expected one of {', '.join(PROTOCOLS)}")
        if not isinstance(self.ratio, int) or self.ratio < 2:
            raise UsageError(f"ratio must be an integer >= 2 (e.g. 4); got {self.ratio!r}")
        if self.msi_srf is not None and self.msi_srf not in MSI_PRESETS:
            raise UsageError(
                f"unknown MSI preset {self.msi_srf!r}; expected one of {', '.join(sorted(MSI_PRESETS))}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"scene": self.scene, "data": str(self.data), "ratio": self.ratio,
                "protocol": self.protocol, "msi_srf": self.msi_srf, "key": self.key}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DataSpec":
        return cls(scene=d["scene"], data=Path(d["data"]), ratio=int(d["ratio"]),
                   protocol=d["protocol"], msi_srf=d.get("msi_srf"), key=d.get("key"))


@dataclass(frozen=True)
class SplitScenes:
    """Normalised scenes per split, and how they were made.

    ``scale``: the divisor that took the files' units to [0, 1] (same for HSI and simulated MSI);
    ``normalisation``: its mode; ``regions``: split -> human-readable list of scenes/regions.
    """

    train: tuple[Scene, ...]
    validation: tuple[Scene, ...]
    test: tuple[Scene, ...]
    scale: float
    normalisation: str
    regions: dict[str, list[str]] = field(default_factory=dict)

    def get(self, split: str) -> tuple[Scene, ...]:
        if split not in SPLITS:
            raise UsageError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        return getattr(self, split)


def holdout_strip(region: Window, multiple: int, fraction: float = VALIDATION_FRACTION) -> tuple[Window, Window]:
    """Cut ``region`` into (train, validation): validation = the last ``fraction`` of it along
    its longer side, both parts' sizes multiples of ``multiple`` (fine pixels) on that side."""
    r, c, h, w = int(region.row_off), int(region.col_off), int(region.height), int(region.width)
    long = max(h, w)
    # At least 16 px so that every metric (SSIM's 11 x 11 window) can be computed on it.
    min_val = -(-16 // multiple) * multiple
    val = max(min_val, int(long * fraction) // multiple * multiple)
    if long - val < multiple:
        raise InputDataError(
            f"training region {h}x{w} px is too small to hold out a validation strip of {val} px; "
            "expected a region several coarse pixels long"
        )
    if w >= h:
        return Window(c, r, w - val, h), Window(c + w - val, r, val, h)
    return Window(c, r, w, h - val), Window(c, r + h - val, w, val)


def _region_name(scene: str, win: Window) -> str:
    r, c, h, w = int(win.row_off), int(win.col_off), int(win.height), int(win.width)
    return f"{scene}[{r}:{r + h},{c}:{c + w}]"


def _region_benchmark(scene: Scene, split: Any, ratio: int) -> SplitScenes:
    """Normalise the WHOLE scene by its maximum, then crop the split's regions."""
    from training.scenes.normalise import normalise

    normed, scale = normalise(scene, "max")
    multiple = 2 * ratio
    train, val = [], []
    for win in split.train:
        t, v = holdout_strip(win, multiple)
        train.append(normed.crop(t, name=_region_name(scene.name, t)))
        val.append(normed.crop(v, name=_region_name(scene.name, v)))
    test = [normed.crop(win, name=_region_name(scene.name, win)) for win in split.test]
    return SplitScenes(tuple(train), tuple(val), tuple(test), scale, "max",
                       {k: [s.name for s in v] for k, v in (("train", train), ("validation", val), ("test", test))})


def region_benchmark_scenes(scene: Scene, split: Any, ratio: int) -> SplitScenes:
    """Public form of the region-benchmark assembly (any :class:`training.splits.RegionSplit`)."""
    split.check_disjoint()
    return _region_benchmark(scene, split, ratio)


def _cave(spec: DataSpec) -> SplitScenes:
    from training.scenes.cave import list_cave_scenes, load_cave_scene
    from training.scenes.normalise import normalise
    from training.splits import cave_split

    split = cave_split(list_cave_scenes(spec.data))

    def load(names: tuple[str, ...]) -> tuple[Scene, ...]:
        return tuple(normalise(load_cave_scene(spec.data, n), "full_scale")[0] for n in names)

    return SplitScenes(load(split.train), load(split.validation), load(split.test), 65535.0, "full_scale",
                       {"train": list(split.train), "validation": list(split.validation), "test": list(split.test)})


def _georeferenced(spec: DataSpec) -> SplitScenes:
    from training.scenes.mosaic import mosaic_blocks
    from training.scenes.normalise import normalise
    from training.splits import enmap_training_tiles

    path = spec.data
    files = [path] if path.is_file() else sorted(path.glob("*.tif")) or sorted((path / "images").glob("*.tif"))
    files = enmap_training_tiles(files)
    if not files:
        raise InputDataError(
            f"no GeoTIFF found at {path} (demo tiles excluded); expected a .tif file or a folder of tiles"
        )
    blocks = [normalise(b, "full_scale")[0] for b in mosaic_blocks(files, prefix="block", full_scale=1.0)]
    # Validation: the last 20 % (along its longer side) of the largest block; training: the rest
    # of it and every other block, so that small tile mosaics keep most pixels for training.
    largest = max(range(len(blocks)), key=lambda i: blocks[i].shape_hw[0] * blocks[i].shape_hw[1])
    b = blocks[largest]
    t, v = holdout_strip(Window(0, 0, b.shape_hw[1], b.shape_hw[0]), 2 * spec.ratio)
    train = [x for i, x in enumerate(blocks) if i != largest] + [b.crop(t, name=f"{b.name}_train")]
    val = [b.crop(v, name=f"{b.name}_validation")]
    return SplitScenes(tuple(train), tuple(val), (), 1.0, "full_scale",
                       {"train": [s.name for s in train], "validation": [s.name for s in val], "test": [],
                        "files": [p.name for p in files]})


def _cache(spec: DataSpec) -> SplitScenes:
    from training.scenes.cache import cache_info, read_cache

    parts: dict[str, list[Path]] = {k: sorted((spec.data / k).glob("*.h5")) for k in SPLITS}
    if not parts["train"]:
        raise InputDataError(
            f"no scene caches in {spec.data / 'train'}; expected train/*.h5 (and validation/*.h5) "
            "written by training.scenes.cache.write_cache"
        )
    scales = {cache_info(p).scale for v in parts.values() for p in v}
    if len(scales) != 1:
        raise InputDataError(
            f"scene caches in {spec.data} were normalised by different divisors {sorted(scales)}; "
            "expected one divisor for all, so the weights see one unit"
        )
    modes = {cache_info(p).normalisation for v in parts.values() for p in v}
    loaded = {k: tuple(read_cache(p) for p in v) for k, v in parts.items()}
    return SplitScenes(loaded["train"], loaded["validation"], loaded["test"], scales.pop(), "/".join(sorted(modes)),
                       {k: [s.name for s in v] for k, v in loaded.items()})


def load_split_scenes(spec: DataSpec) -> SplitScenes:
    """Load and normalise the scenes of ``spec`` (see the module docstring for each kind)."""
    if not spec.data.exists():
        raise InputDataError(f"--data {spec.data} does not exist; expected the {spec.scene} data; check the path")
    if spec.scene == "cave":
        return _cave(spec)
    if spec.scene == "georeferenced":
        return _georeferenced(spec)
    if spec.scene == "cache":
        return _cache(spec)
    from training import splits
    from training.scenes import load_chikusei, load_houston2013, load_pavia_university

    loader, make_split = {
        "pavia": (load_pavia_university, splits.pavia_university_split),
        "chikusei": (load_chikusei, splits.chikusei_split),
        "houston": (load_houston2013, splits.houston2013_split),
    }[spec.scene]
    scene = loader(spec.data, key=spec.key)
    return region_benchmark_scenes(scene, make_split(scene.shape_hw), spec.ratio)


def msi_preset_for(spec: DataSpec, scene: Scene) -> str:
    """The MSI preset: ``spec.msi_srf``, else the scene family's default
    (:data:`training.pairs.DEFAULT_MSI`; for caches, by the cached scene's name)."""
    if spec.msi_srf is not None:
        return spec.msi_srf
    if spec.scene == "cache":
        return default_msi_preset(scene)
    from training.pairs import DEFAULT_MSI

    return DEFAULT_MSI[FAMILY[spec.scene]]


def simulate_split(spec: DataSpec, scenes: tuple[Scene, ...]) -> list[SimulatedScene]:
    """Simulate every scene of a split under ``spec``'s protocol, ratio and MSI preset."""
    return [simulate_scene(s, spec.ratio, spec.protocol, msi_preset=msi_preset_for(spec, s)) for s in scenes]
