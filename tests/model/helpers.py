"""Tiny PIF-Net configurations for fast model tests (2 CPU cores shared by the whole suite)."""

from __future__ import annotations

import torch

from pifnet_engine.model import PIFNet, PIFNetConfig


def tiny_config(**overrides: object) -> PIFNetConfig:
    """6-band HSI, 3-band MSI, ratio 2, D = 8, L = 2, N = 2: a few thousand parameters."""
    kwargs: dict[str, object] = dict(
        hsi_bands=6, msi_bands=3, ratio=2, hidden=8, blocks=2, d_state=2, ssm_segments=2,
        ssm_kernels=(3, 5), lora_heads=4, lora_rank=1, se_reduction=2,
    )
    kwargs.update(overrides)
    return PIFNetConfig(**kwargs)  # type: ignore[arg-type]


def tiny_model(seed: int = 0, **overrides: object) -> PIFNet:
    torch.manual_seed(seed)
    return PIFNet(tiny_config(**overrides))


def randomise_zero_inits(model: torch.nn.Module, seed: int = 1) -> None:
    """Give the zero-initialised tensors (I2 output projections, LoRA B, the residual Tails' last
    convolutions) random values, so that tests exercise non-trivial scales, LoRA updates and tails."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            zero_init = (name.endswith("i2.out_proj.weight") or name.endswith("lora_b")
                         or (name.startswith("tail_") and name.endswith("2.weight")))
            if zero_init and not p.any():
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
