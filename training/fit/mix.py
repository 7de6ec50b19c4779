"""The weight-space mix of a fine-tune with its start (WiSE-FT: Wortsman et al., 2022).

A fine-tune on a small pair is chosen on a small held-out block at reduced resolution; its
change to the start can fit that block (and the degradation of the reduced pair) more than the
full-resolution image. Writing ``start + fraction x (fine-tune - start)`` keeps the direction of
the fine-tune and the start's behaviour at full resolution. Measured on two EnMAP development
pairs and the README demo (docs/fit.md, "Fine-tunes on small pairs"): at 0.25 the full-resolution
PSNR and ERGAS were ahead of both the start and the unmixed fine-tune wherever the unmixed
fine-tune was not clearly better.
"""

from __future__ import annotations

import copy

import torch

from pifnet_engine.model import PIFNet

#: Fraction of the fine-tune's change written for a fine-tune on a pair whose reduced HSI is under
#: ``SMALL_FINE_TUNE`` pixels a side (:func:`training.fit.run.mix_fraction`).
SMALL_PAIR_MIX = 0.25


def mix_weights(start: PIFNet, fitted: PIFNet, fraction: float) -> PIFNet:
    """A copy of ``fitted`` whose floating-point tensors are ``start + fraction x (fitted - start)``
    (``fraction`` 0: the start, 1: the fine-tune). Both models must have the same config."""
    if start.cfg != fitted.cfg:
        raise ValueError("mix_weights: the start and the fine-tune have different model configs")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"mix_weights: the fraction must be in [0, 1]; got {fraction:g}")
    old = start.state_dict()
    mixed = {k: torch.lerp(old[k].to(v.dtype), v, fraction) if v.is_floating_point() else v
             for k, v in fitted.state_dict().items()}
    model = copy.deepcopy(fitted)
    model.load_state_dict(mixed)
    return model
