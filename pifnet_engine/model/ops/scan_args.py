"""Argument checks and preparation shared by every selective-scan implementation.

All implementations (reference, fast CPU, mamba-ssm CUDA) take the arguments of mamba-ssm's
``selective_scan_fn``; this module checks their shapes once and brings them into the common
float working form. Shapes (``b`` batch, ``d`` channels, ``n`` state size, ``l`` sequence length,
``g`` groups of B/C, ``d`` divisible by ``g``):

- ``u``, ``delta``: (b, d, l); ``z``: (b, d, l) or None
- ``A``: (d, n), real
- ``B``, ``C``: (b, n, l) shared by all channels, or (b, g, n, l) grouped: channel ``i`` uses
  group ``i // (d // g)`` (VMamba's SS2D uses g = 4 scan directions)
- ``D``, ``delta_bias``: (d,) or None
"""

from __future__ import annotations

import torch
from torch import Tensor


def check_scan_args(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None,
    z: Tensor | None,
    delta_bias: Tensor | None,
) -> None:
    """Raise ``ValueError`` (a programming error, not a user-data error) when shapes do not fit.

    The message names the argument, its shape and the shape expected.
    """
    if u.dim() != 3:
        raise ValueError(f"selective scan: u has shape {tuple(u.shape)}; expected (batch, dim, L)")
    b, d, l = u.shape
    if tuple(delta.shape) != (b, d, l):
        raise ValueError(
            f"selective scan: delta has shape {tuple(delta.shape)}; expected u's shape {(b, d, l)}"
        )
    if A.is_complex() or A.dim() != 2 or A.shape[0] != d:
        raise ValueError(
            f"selective scan: A has shape {tuple(A.shape)} (complex={A.is_complex()}); "
            f"expected real (dim={d}, N)"
        )
    n = A.shape[1]
    for name, t in (("B", B), ("C", C)):
        if t.dim() == 3 and tuple(t.shape) == (b, n, l):
            continue
        if t.dim() == 4 and (t.shape[0], t.shape[2], t.shape[3]) == (b, n, l) and t.shape[1] > 0 \
                and d % t.shape[1] == 0:
            continue
        raise ValueError(
            f"selective scan: {name} has shape {tuple(t.shape)}; expected (batch={b}, N={n}, L={l}) "
            f"or grouped (batch={b}, G, N={n}, L={l}) with dim={d} divisible by G"
        )
    for name, vec in (("D", D), ("delta_bias", delta_bias)):
        if vec is not None and tuple(vec.shape) != (d,):
            raise ValueError(f"selective scan: {name} has shape {tuple(vec.shape)}; expected ({d},)")
    if z is not None and tuple(z.shape) != (b, d, l):
        raise ValueError(f"selective scan: z has shape {tuple(z.shape)}; expected u's shape {(b, d, l)}")


def compute_dtype(*tensors: Tensor | None) -> torch.dtype:
    """Working precision: float64 if any input is float64, else float32 (fp16/bf16 accumulate in fp32)."""
    if any(t is not None and t.dtype == torch.float64 for t in tensors):
        return torch.float64
    return torch.float32


def expand_groups(t: Tensor, dim: int) -> Tensor:
    """B or C as (b, d, n, l): (b, n, l) broadcast over channels, (b, g, n, l) repeated d // g times."""
    if t.dim() == 3:
        return t.unsqueeze(1).expand(t.shape[0], dim, t.shape[1], t.shape[2])
    return t.repeat_interleave(dim // t.shape[1], dim=1)
