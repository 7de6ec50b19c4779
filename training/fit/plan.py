"""The optimisation settings of a fit, chosen from the reduced pair, the start and the time budget.

Decisions (chosen, not tuned: only the output form of a fresh model was compared, in
``docs/fit.md``; the fits there ran with these settings):

- patch side: 64 fine pixels (the training default), smaller when the reduced pair's training
  part is smaller (the largest multiple of 2 s that fits; LR patches stay even-sided); the patch
  grid steps by one coarse pixel, so a small pair still yields many (overlapping) patches;
- learning rate: 4e-4 for a fresh model (the training default), 1e-4 when starting from weights
  (a fine-tune: the weights are already ahead of bicubic, a large rate would first undo them);
- cosine schedule over the steps the budget allows (measured on a few real steps before the
  fit; at least :data:`MIN_STEPS`), or over ``--max-steps`` when that is fewer; the warm-up is
  10 % of them, at most 50. With ``--max-steps`` at most :data:`MIN_STEPS` the schedule is
  those steps whatever the budget, so no steps are timed (:func:`needs_probe`);
- validation on the held-out block about 10 times per fit, checkpoints every minute and at
  stop (not at epoch ends: a small pair's epoch is a few steps).
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch

from pifnet_engine.errors import InputDataError
from pifnet_engine.model import PIFNet
from pifnet_engine.model.loss import LAMBDA_COS, LAMBDA_INV
from training.pairs import PatchDataset, SimulatedScene
from training.precision import resolve_precision
from training.trainer import ExtraLoss, step_loss
from training.trainer_config import TrainConfig

#: Learning rates of a fit from scratch and from weights.
LR_FRESH, LR_FINE_TUNE = 4e-4, 1e-4
#: Validations per fit (about).
VALIDATIONS = 10
#: A fit's epochs: effectively unbounded, the time budget or --max-steps ends it.
UNBOUNDED = 10**6
#: The shortest schedule a time budget plans (a budget too short for it still stops the fit).
MIN_STEPS = 10


def needs_probe(max_steps: int | None) -> bool:
    """Whether the schedule depends on the measured step time: not when ``--max-steps`` is at most
    :data:`MIN_STEPS` (the schedule is then exactly those steps)."""
    return max_steps is None or max_steps > MIN_STEPS


def schedule_steps(budget_s: float, step_s: float | None, max_steps: int | None) -> int:
    """Steps the cosine schedule spans: 85 % of the budget over the step time (15 % is left for
    validations and the final report), at least :data:`MIN_STEPS`, at most ``max_steps``;
    ``step_s`` may be None only when :func:`needs_probe` is False."""
    if step_s is None:
        if max_steps is None:
            raise ValueError("schedule_steps: a step time or max_steps is needed")
        return max_steps
    steps = max(MIN_STEPS, int(0.85 * budget_s / step_s))
    return steps if max_steps is None else min(steps, max_steps)


def largest_clean_square(clean: np.ndarray) -> int:
    """Side of the largest all-True square in a (h, w) bool mask (dynamic programming)."""
    best = 0
    prev = np.zeros(clean.shape[1] + 1, np.int64)
    for row in clean:
        cur = np.zeros_like(prev)
        for j, ok in enumerate(row, start=1):
            if ok:
                cur[j] = 1 + min(prev[j], prev[j - 1], cur[j - 1])
        best = max(best, int(cur.max()))
        prev = cur
    return best


def patch_side(train: SimulatedScene) -> int:
    """The patch side (fine pixels) for the training part of a reduced pair: at most 64, inside
    its largest clean square, LR side even (the model's Haar transform)."""
    s = train.ratio
    lr_side = min(64 // s, largest_clean_square(train.clean))
    lr_side -= lr_side % 2
    if lr_side < 2:
        raise InputDataError(f"the valid training part of the reduced pair holds no {2 * s} x {2 * s} pixel patch; "
                             "give a larger pair with fewer nodata holes")
    return lr_side * s


def seconds_per_step(model: PIFNet, dataset: PatchDataset, batch: int, device: torch.device,
                     precision: str, extra_loss: ExtraLoss | None = None) -> float:
    """Wall seconds of one optimisation step, measured on a copy of ``model`` (2 timed after 1
    warm-up), with the fit's ``extra_loss`` (the consistency term) when it has one."""
    probe = copy.deepcopy(model).to(device).train()
    opt = torch.optim.AdamW(probe.parameters(), lr=1e-6)
    items = [dataset.pair(i % len(dataset)) for i in range(batch)]
    stacked = {key: torch.stack([it[key] for it in items]) for key in ("lr_hsi", "hr_msi", "target", "base")
               if key in items[0]}
    resolved = resolve_precision(precision, device)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        loss, _, _ = step_loss(probe, stacked, device, resolved, probe.cfg.blocks, LAMBDA_INV, LAMBDA_COS,
                               "square", extra_loss, 0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return min(times[1:])


def fit_config(train: SimulatedScene, from_weights: bool, budget_s: float, step_s: float | None, n_patches: int,
               seed: int = 0, lr: float | None = None, batch: int = 4, precision: str = "auto",
               max_steps: int | None = None) -> TrainConfig:
    """The :class:`TrainConfig` of a fit (see the module docstring)."""
    batch = max(1, min(batch, n_patches))
    steps = schedule_steps(budget_s, step_s, max_steps)
    return TrainConfig(
        epochs=UNBOUNDED, batch_size=batch, lr=lr or (LR_FINE_TUNE if from_weights else LR_FRESH),
        schedule="cosine", warmup_steps=min(50, max(1, steps // 10)), schedule_steps=steps,
        patch_size=patch_side(train), stride=train.ratio, seed=seed, val_every=UNBOUNDED,
        val_every_steps=max(1, steps // VALIDATIONS), checkpoint_minutes=1.0, epoch_end_checkpoints=False,
        precision=precision)
