"""Distribution of the affine couplings' log-scales s = I2(X_H') of a weights file on real input.

The invertibility term of eq. 4 read literally (+log-det, minimised) drove every coupling to
the clamp floor (issue 8: mean s = -7.27 and -7.99 of -8 in the old bundled weights); the
default squared penalty should leave them spread around 0. This prints, per coupling, the
mean / std / min / max of s over every coupled value of the input, the share within 5 % of
the clamp, and a coarse histogram over [-clamp, clamp].

Input: the demo pair (weights for EnMAP -> Sentinel-2) or, with ``--cave SCENE_DIR``, a CAVE
scene simulated with the weights' protocol (weights for CAVE -> Nikon D700).

Run::

    .venv/bin/python benchmarks/weights_log_scales.py enmap_s2_x3
    .venv/bin/python benchmarks/weights_log_scales.py cave_x4 --cave ../shared/data/cave --scene cloth
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import rasterio
import torch

from pifnet_engine.methods.pifnet import resolve_weights
from pifnet_engine.model.weights import load_weights


def demo_input() -> tuple[np.ndarray, np.ndarray]:
    from pifnet_engine.demo import demo_paths

    paths = demo_paths()
    with rasterio.open(paths["hsi"]) as h, rasterio.open(paths["msi"]) as m:
        x = h.read(masked=True).astype(np.float32).filled(0.0)
        y = m.read(masked=True).astype(np.float32).filled(0.0)
    return x, y


def cave_input(root: Path, scene: str, ratio: int, protocol: str) -> tuple[np.ndarray, np.ndarray]:
    from training.pairs import simulate_scene
    from training.scenes.cave import load_cave_scene
    from training.scenes.normalise import normalise

    scene_n, _ = normalise(load_cave_scene(root, scene))
    sim = simulate_scene(scene_n, ratio, protocol, msi_preset="nikon_d700")
    return sim.lr_hsi, sim.hr_msi


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights")
    ap.add_argument("--cave", type=Path, default=None, help="CAVE data folder (with --scene)")
    ap.add_argument("--scene", default="cloth")
    args = ap.parse_args()
    model, manifest = load_weights(resolve_weights(args.weights))
    cfg = model.cfg
    if args.cave is not None:
        x, y = cave_input(args.cave, args.scene, cfg.ratio, manifest["training"].get("protocol", "paper"))
    else:
        x, y = demo_input()
    h, w = x.shape[1:]
    k = cfg.window_multiple_lr
    x, y = x[:, : h - h % k, : w - w % k], y[:, : (h - h % k) * cfg.ratio, : (w - w % k) * cfg.ratio]
    x_t = torch.from_numpy(x / x[x != 0].mean())[None].float()
    y_t = torch.from_numpy(y / y[y != 0].mean())[None].float()
    scales: list[np.ndarray] = []
    originals = [b.log_scale for b in model.couplings.blocks]
    for block, orig in zip(model.couplings.blocks, originals, strict=True):
        def capture(x_h: torch.Tensor, orig=orig) -> torch.Tensor:
            s = orig(x_h)
            scales.append(s.detach().numpy().ravel())
            return s
        block.log_scale = capture  # type: ignore[method-assign]
    with torch.inference_mode():
        model(x_t, y_t, with_reference=False)
    clamp = cfg.log_scale_clamp
    print(f"weights {manifest['name']}: {len(scales)} couplings, clamp {clamp}, input {tuple(x_t.shape)} + "
          f"{tuple(y_t.shape)}")
    edges = np.linspace(-clamp, clamp, 9) if clamp else np.linspace(-8, 8, 9)
    print("coupling   mean    std     min     max  at clamp  histogram " + " ".join(f"{e:+.1f}" for e in edges[:-1]))
    for i, s in enumerate(scales, 1):
        near = float(np.mean(np.abs(s) >= 0.95 * clamp)) if clamp else float("nan")
        hist, _ = np.histogram(np.clip(s, edges[0], edges[-1]), bins=edges)
        shares = " ".join(f"{v / s.size:4.2f}" for v in hist)
        print(f"{i:8d} {s.mean():+.3f} {s.std():.3f} {s.min():+.3f} {s.max():+.3f} {100 * near:7.2f}%  {shares}")
    allv = np.concatenate(scales)
    print(f"all      {allv.mean():+.3f} {allv.std():.3f} {allv.min():+.3f} {allv.max():+.3f} "
          f"{100 * float(np.mean(np.abs(allv) >= 0.95 * clamp)) if clamp else float('nan'):7.2f}%")


if __name__ == "__main__":
    main()
