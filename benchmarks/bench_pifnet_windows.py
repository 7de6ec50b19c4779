"""How much does PIF-Net's output depend on the window layout? (issue 3, "In the engine")

Fuses one synthetic scene through the engine's real windowed pipeline (``fuse_arrays``) with
several tile sizes and overlaps and reports, per layout, the RMS and max difference to a
reference layout with the most context (one window covering the scene), relative to the
output's standard deviation. Also checks for seams: the mean absolute jump across tile borders
vs. inside tiles.

    python benchmarks/bench_pifnet_windows.py                      # random-init weights
    python benchmarks/bench_pifnet_windows.py --weights W.safetensors --ratio 3
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from pifnet_engine.arrays import fuse_arrays
from pifnet_engine.methods.pifnet import PIFNetMethod
from pifnet_engine.model import PIFNet, PIFNetConfig
from pifnet_engine.model.weights import read_manifest, save_weights


def scene(bands: int, msi_bands: int, size: int, ratio: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random abundance maps x random spectra: (C, h, w) HSI and (c, H, W) MSI in [0, 1]."""
    from scipy.ndimage import gaussian_filter
    rng = np.random.default_rng(seed)
    abund = np.stack([gaussian_filter(rng.random((size, size)), 3.0) for _ in range(6)])
    abund /= abund.sum(0, keepdims=True)
    spectra = rng.random((6, bands)) * 0.8 + 0.1
    truth = np.einsum("kc,khw->chw", spectra, abund).astype(np.float32)
    srf = rng.random((msi_bands, bands)).astype(np.float32)
    srf /= srf.sum(1, keepdims=True)
    msi = np.einsum("mc,chw->mhw", srf, truth)
    h = size // ratio
    hsi = truth.reshape(bands, h, ratio, h, ratio).mean(axis=(2, 4))
    return hsi, msi


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--ratio", type=int, default=4)
    ap.add_argument("--bands", type=int, default=31)
    ap.add_argument("--msi-bands", type=int, default=3)
    ap.add_argument("--size", type=int, default=192, help="scene side, MSI pixels")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights
        if weights is None:
            torch.manual_seed(0)
            cfg = PIFNetConfig(hsi_bands=args.bands, msi_bands=args.msi_bands, ratio=args.ratio)
            weights = Path(tmp) / "random_init.safetensors"
            save_weights(weights, PIFNet(cfg), {"notes": "random initialisation, for layout tests only"})
        m = read_manifest(weights)
        ratio, bands, msi_bands = m["ratio"], m["hsi"]["bands"], m["msi"]["bands"]
        size = args.size - args.size % ratio
        hsi, msi = scene(bands, msi_bands, size, ratio)
        method = PIFNetMethod("cpu", weights)
        layouts = [(size, 0), (96, None), (96, 0), (64, None), (64, 0), (48, None)]
        outs = {}
        for tile, overlap in layouts:
            t0 = time.perf_counter()
            outs[(tile, overlap)] = fuse_arrays(hsi, msi, method, tile_px=tile, overlap_px=overlap, device="cpu")
            print(f"tile {tile:4d} overlap {'default' if overlap is None else overlap:>7}: "
                  f"{time.perf_counter() - t0:6.1f} s", flush=True)
        ref = outs[(size, 0)]
        sd = float(ref.std())
        print(f"\nweights: {m['name']} ({'random init' if args.weights is None else 'trained'}), ratio {ratio}, "
              f"scene {size}x{size} MSI px, {bands} bands; reference = one window over the whole scene")
        print("| tile px | overlap px | RMS diff / std | max diff / std | border jump / interior jump |")
        print("|---|---|---|---|---|")
        for (tile, overlap), z in outs.items():
            if (tile, overlap) == (size, 0):
                continue
            d = z - ref
            # seam indicator: mean |difference between neighbouring columns| on tile borders vs elsewhere
            jump = np.abs(np.diff(z, axis=2)).mean(axis=(0, 1))
            borders = [c - 1 for c in range(tile, size, tile)]
            ratio_jump = float(jump[borders].mean() / np.delete(jump, borders).mean()) if borders else float("nan")
            print(f"| {tile} | {'default' if overlap is None else overlap} | {np.sqrt((d ** 2).mean()) / sd:.2e} | "
                  f"{np.abs(d).max() / sd:.2e} | {ratio_jump:.3f} |")


if __name__ == "__main__":
    main()
