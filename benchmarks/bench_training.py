"""Benchmark PIF-Net training on the CPU: samples/s and validation PSNR against wall-clock minutes.

Runs the training settings below one after the other on the same data (CAVE x4, paper
protocol, Nikon D700 MSI, the training scenes of ``pifnet-train``'s split), each for
``--minutes`` of training time, and validates every ``--val-every`` seconds on a centred
``--val-crop`` crop of the validation scene ``cloth`` (whole crop in one forward pass, data
range 1.0 in the scene's [0, 1] units). GSA and bicubic are scored on the same crop through
the engine. Validation time is not counted as training time.

Settings (``--settings``, comma-separated):

- ``paper``: how the bundled weights were trained before issue 8: the paper's form
  (residual ``none``), batch 8, AdamW lr 1e-4 (StepLR at 200 epochs = constant here), the
  log-det reading of L_inv, ``--paper-threads`` threads (1, as those runs used);
- ``none``: the new optimisation (batch 4, lr 4e-4, 50-step warm-up + cosine, squared
  log-scale L_inv, ``--threads``) with the paper's output form: the residual ablation;
- ``fp32``: residual ``bicubic`` and the new optimisation in float32 (the precision ablation);
- ``default``: the new default, residual ``bicubic`` with the forward pass in bfloat16 autocast
  where the CPU has it (``--precision auto``, what ``pifnet-train train`` does now).

``none`` and ``default`` use ``--precision auto``, ``paper`` and ``fp32`` float32.

All settings normalise each scene by its own input means (``pair_mean``). The cosine horizon is
the number of steps that fit in ``--minutes`` (estimated from the first 10 steps), as one
would set ``--schedule-steps`` for a time budget.

Run (about 3 x ``--minutes`` plus data loading; nothing else heavy on the machine)::

    .venv/bin/python benchmarks/bench_training.py --data ../shared/data/cave --minutes 7 --default-minutes 15

``--minutes-of paper=3,fp32=3`` gives single settings another length (samples/s needs only a few).
"""

from __future__ import annotations

import pifnet_engine  # noqa: F401  first: sets the OpenMP spin count before torch loads

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pifnet_engine.arrays import fuse_arrays
from pifnet_engine.metrics import psnr, sam
from pifnet_engine.model import PIFNet, PIFNetConfig
from pifnet_engine.model.loss import pifnet_loss
from training.datasets import DataSpec, load_split_scenes, simulate_split
from training.pairs import PatchDataset, SimulatedScene, scene_statistics
from training.precision import forward_precision, resolve_precision
from training.trainer_config import TrainConfig


@dataclass(frozen=True)
class Setting:
    name: str
    residual: str
    batch: int
    lr: float
    schedule: str
    inv_penalty: str
    threads: int
    precision: str


def settings(paper_threads: int, threads: int) -> dict[str, Setting]:
    return {
        "paper": Setting("paper", "none", 8, 1e-4, "constant", "paper", paper_threads, "fp32"),
        "none": Setting("none", "none", 4, 4e-4, "cosine", "square", threads, "auto"),
        "fp32": Setting("fp32", "bicubic", 4, 4e-4, "cosine", "square", threads, "fp32"),
        "default": Setting("default", "bicubic", 4, 4e-4, "cosine", "square", threads, "auto"),
    }


def crop(sim: SimulatedScene, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centred (LR-HSI, HR-MSI, target) crop of ``size`` fine pixels."""
    s = sim.ratio
    h, w = sim.target.shape[1:]
    y0, x0 = (h - size) // 2 // s * s, (w - size) // 2 // s * s
    return (sim.lr_hsi[:, y0 // s:(y0 + size) // s, x0 // s:(x0 + size) // s],
            sim.hr_msi[:, y0:y0 + size, x0:x0 + size], sim.target[:, y0:y0 + size, x0:x0 + size])


def validate(model: PIFNet, lr: np.ndarray, msi: np.ndarray, target: np.ndarray,
             scales: tuple[float, float]) -> tuple[float, float]:
    """(PSNR dB, SAM deg) of the model on a crop, normalised with the scene's scales."""
    model.eval()
    with torch.inference_mode():
        x = torch.from_numpy(lr / scales[0])[None].float()
        y = torch.from_numpy(msi / scales[1])[None].float()
        z = model(x, y, with_reference=False).fused[0].numpy() * scales[0]
    model.train()
    return psnr(target, z, data_range=1.0), sam(target, z)


def run_setting(st: Setting, train: list[SimulatedScene], val: SimulatedScene, minutes: float, val_every: float,
                crop_px: int, seed: int) -> dict:
    torch.set_num_threads(st.threads)
    torch.manual_seed(seed)
    cfg = PIFNetConfig(hsi_bands=train[0].target.shape[0], msi_bands=train[0].hr_msi.shape[0], ratio=train[0].ratio,
                       residual=st.residual)
    model = PIFNet(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=st.lr, weight_decay=0.01)
    ds = PatchDataset(train, patch_size=64, seed=seed)
    loader = torch.utils.data.DataLoader(ds, batch_size=st.batch, shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(seed))
    lr_v, msi_v, tgt_v = crop(val, crop_px)
    stats = scene_statistics(val)
    scales = (stats.hsi.mean, stats.msi.mean)
    budget = 60.0 * minutes
    precision = resolve_precision(st.precision, torch.device("cpu"))
    tcfg = TrainConfig(lr=st.lr, warmup_steps=50)
    curve = [(0.0, 0, *validate(model, lr_v, msi_v, tgt_v, scales))]
    print(f"  [{st.name}] {curve[-1][0]:6.2f} min  step {0:5d}  PSNR {curve[-1][2]:6.2f}  SAM {curve[-1][3]:6.2f}",
          flush=True)
    train_s, step, horizon, next_val, epoch = 0.0, 0, None, val_every, 0
    done = False
    while not done:
        ds.set_epoch(epoch)
        for batch in loader:
            t0 = time.perf_counter()
            if st.schedule == "cosine":
                factor = tcfg.lr_factor(step, horizon or 10**9)
                for group in opt.param_groups:
                    group["lr"] = st.lr * factor
            with forward_precision(precision, torch.device("cpu")):
                out = model(batch["lr_hsi"], batch["hr_msi"])
            loss, _ = pifnet_loss(out, batch["target"], inv_penalty=st.inv_penalty, blocks=cfg.blocks)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            train_s += time.perf_counter() - t0
            step += 1
            if step == 10 and st.schedule == "cosine":
                horizon = int(budget / (train_s / step))
            if train_s >= next_val or train_s >= budget:
                p, a = validate(model, lr_v, msi_v, tgt_v, scales)
                curve.append((train_s / 60, step, p, a))
                print(f"  [{st.name}] {train_s / 60:6.2f} min  step {step:5d}  PSNR {p:6.2f}  SAM {a:6.2f}", flush=True)
                next_val += val_every
            if train_s >= budget:
                done = True
                break
        epoch += 1
    return {"setting": st, "precision": precision, "steps": step, "samples_per_s": step * st.batch / train_s, "curve": curve}


def first_time_above(curve: list[tuple[float, int, float, float]], level: float) -> float | None:
    for minutes, _, p, _ in curve:
        if p > level:
            return minutes
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/cave"))
    ap.add_argument("--minutes", type=float, default=6.0, help="training minutes per setting")
    ap.add_argument("--default-minutes", type=float, default=None,
                    help="training minutes of the 'default' setting [--minutes]; the summary compares all "
                         "settings at --minutes too")
    ap.add_argument("--val-every", type=float, default=60.0, help="seconds of training between validations")
    ap.add_argument("--val-crop", type=int, default=256)
    ap.add_argument("--settings", default="paper,none,fp32,default")
    ap.add_argument("--minutes-of", default="", help="per-setting training minutes, e.g. paper=3,fp32=3")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--paper-threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    t0 = time.perf_counter()
    spec = DataSpec(scene="cave", data=args.data.resolve(), ratio=4, protocol="paper", msi_srf="nikon_d700", key=None)
    scenes = load_split_scenes(spec)
    train = simulate_split(spec, scenes.train)
    val = next(s for s in simulate_split(spec, scenes.validation) if s.name == "cloth")
    print(f"CAVE x4: {len(train)} training scenes, validation crop {args.val_crop}^2 of '{val.name}' "
          f"(data loaded in {time.perf_counter() - t0:.0f} s); torch {torch.__version__}, {args.threads} threads "
          f"(paper setting: {args.paper_threads})", flush=True)
    lr_v, msi_v, tgt_v = crop(val, args.val_crop)
    base = {}
    for method in ("gsa", "bicubic"):
        z = fuse_arrays(lr_v, msi_v, method=method, device="cpu")
        base[method] = (psnr(tgt_v, z, data_range=1.0), sam(tgt_v, z))
        print(f"  {method:8s} PSNR {base[method][0]:6.2f}  SAM {base[method][1]:6.2f}", flush=True)

    table = settings(args.paper_threads, args.threads)
    own = dict(item.split("=") for item in args.minutes_of.split(",") if item)
    results = []
    for name in args.settings.split(","):
        print(f"== {name}: {table[name]}", flush=True)
        minutes = args.default_minutes if name == "default" and args.default_minutes else args.minutes
        minutes = float(own.get(name, minutes))
        results.append(run_setting(table[name], train, val, minutes, args.val_every, args.val_crop, args.seed))

    gsa_psnr = base["gsa"][0]
    print(f"\nsummary ({args.minutes:g} training minutes each; GSA {gsa_psnr:.2f} dB / {base['gsa'][1]:.2f} deg, "
          f"bicubic {base['bicubic'][0]:.2f} dB / {base['bicubic'][1]:.2f} deg)")
    at = args.minutes
    print(f"{'setting':8s} {'threads':>7s} {'batch':>5s} {'precision':>9s} {'minutes':>7s} {'steps':>6s} {'samples/s':>9s} "
          f"{'x paper':>7s} {f'PSNR@{at:g}m':>10s} {f'SAM@{at:g}m':>9s} {'final PSNR':>10s} {'final SAM':>9s} "
          f"{'min to pass GSA':>15s}")
    ref = next((r["samples_per_s"] for r in results if r["setting"].name == "paper"), math.nan)
    for r in results:
        st, curve = r["setting"], r["curve"]
        passed = first_time_above(curve, gsa_psnr)
        upto = [c for c in curve if c[0] <= at + 1e-6] or curve[:1]
        print(f"{st.name:8s} {st.threads:7d} {st.batch:5d} {r['precision']:>9s} {curve[-1][0]:7.1f} {r['steps']:6d} "
              f"{r['samples_per_s']:9.2f} {r['samples_per_s'] / ref:7.2f} {upto[-1][2]:10.2f} {upto[-1][3]:9.2f} "
              f"{curve[-1][2]:10.2f} {curve[-1][3]:9.2f} {('%.1f' % passed) if passed is not None else 'not yet':>15s}")


if __name__ == "__main__":
    main()
