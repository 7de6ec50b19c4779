"""Fast CPU selective scan: numba kernels for the recurrence, PyTorch for the elementwise rest.

Same signature and semantics as :func:`.selective_scan_ref.selective_scan_ref`. The split:

- PyTorch (autograd): ``dt = softplus(delta + delta_bias)``, ``out = (y + D * u) * silu(z)``,
  dtype casts; these are cheap elementwise ops on (b, d, l).
- at inference (no gradient needed) the operator ``pifnet::selective_scan_forward``
  (``torch.library.custom_op``), which ``torch.compile`` calls as one opaque step;
- in training :class:`_ScanCore` (custom autograd.Function): ``y, last_state = scan(u, dt, A, B, C)`` with a
  hand-written backward (:mod:`.scan_kernels_numba`) that recomputes the states instead of
  storing the (b, d, n, l) state history; gradients flow to u, dt, A, B, C and from ``last_state``.

numba is an optional dependency: :data:`NUMBA_AVAILABLE` says whether this path can run; the
dispatcher falls back to the reference without it. Threads follow ``torch.get_num_threads()``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from pifnet_engine.model.ops.cpu_threads import run_items
from pifnet_engine.model.ops.scan_args import check_scan_args, compute_dtype

try:
    from pifnet_engine.model.ops import scan_kernels_numba as _kernels
except ImportError:  # numba (optional) is absent: the dispatcher uses another implementation
    _kernels = None  # type: ignore[assignment]  # the module or None: checked before each use

NUMBA_AVAILABLE: bool = _kernels is not None


def _scan_forward(u: Tensor, dt: Tensor, A: Tensor, Bg: Tensor, Cg: Tensor) -> tuple[Tensor, Tensor]:
    """The numba forward: (u, dt (b, d, l), A (d, n), Bg, Cg (b, G, n, l)) -> (y (b, d, l), last (b, d, n)).

    All CPU, contiguous, one float dtype.
    """
    bsz, dim, length = u.shape
    y = u.new_empty((bsz, dim, length))
    last = u.new_empty((bsz, dim, A.shape[1]))
    args = (u.numpy(), dt.numpy(), A.numpy(), Bg.numpy(), Cg.numpy(), y.numpy(), last.numpy())
    run_items(lambda lo, hi: _kernels.scan_fwd(*args, lo, hi), bsz * dim)
    return y, last


@torch.library.custom_op("pifnet::selective_scan_forward", mutates_args=())
def _scan_forward_op(u: Tensor, dt: Tensor, A: Tensor, Bg: Tensor, Cg: Tensor) -> tuple[Tensor, Tensor]:
    """:func:`_scan_forward` as a PyTorch operator, for inference: ``torch.compile`` treats it as
    one opaque call (it cannot trace the numba kernel) and compiles the network around it."""
    return _scan_forward(u, dt, A, Bg, Cg)


@_scan_forward_op.register_fake
def _(u: Tensor, dt: Tensor, A: Tensor, Bg: Tensor, Cg: Tensor) -> tuple[Tensor, Tensor]:
    return u.new_empty(u.shape), u.new_empty((u.shape[0], u.shape[1], A.shape[1]))


class _ScanCore(torch.autograd.Function):
    """(u, dt, A, Bg, Cg) -> (y, last_state), with gradients (training).

    All CPU, contiguous, one float dtype; Bg, Cg grouped (b, G, n, l).
    """

    @staticmethod
    def forward(ctx: Any, u: Tensor, dt: Tensor, A: Tensor, Bg: Tensor, Cg: Tensor) -> tuple[Tensor, Tensor]:
        y, last = _scan_forward(u, dt, A, Bg, Cg)
        ctx.save_for_backward(u, dt, A, Bg, Cg)
        return y, last

    @staticmethod
    def backward(ctx: Any, dy: Tensor, dlast: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        u, dt, A, Bg, Cg = ctx.saved_tensors
        bsz, dim, length = u.shape
        groups, n = Bg.shape[1], A.shape[1]
        wd = u.dtype
        dy = dy.to(wd).contiguous() if dy is not None else u.new_zeros(u.shape)
        dlast = dlast.to(wd).contiguous() if dlast is not None else u.new_zeros((bsz, dim, n))
        per = dim // groups
        parts = max(1, min(per, -(-2 * torch.get_num_threads() // (bsz * groups))))
        du = torch.empty_like(u)
        ddt = torch.empty_like(u)
        dA_part = u.new_empty((bsz, dim, n))
        dB_part = u.new_empty((bsz, groups, parts, n, length))  # the kernel writes every element
        dC_part = u.new_empty((bsz, groups, parts, n, length))
        args = (u.numpy(), dt.numpy(), A.numpy(), Bg.numpy(), Cg.numpy(), dy.numpy(), dlast.numpy(), parts,
                du.numpy(), ddt.numpy(), dA_part.numpy(), dB_part.numpy(), dC_part.numpy())
        run_items(lambda lo, hi: _kernels.scan_bwd(*args, lo, hi), bsz * groups * parts)
        dB = dB_part[:, :, 0] if parts == 1 else dB_part.sum(2)
        dC = dC_part[:, :, 0] if parts == 1 else dC_part.sum(2)
        return du, ddt, dA_part.sum(0), dB, dC


def selective_scan_cpu(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None = None,
    z: Tensor | None = None,
    delta_bias: Tensor | None = None,
    delta_softplus: bool = False,
    return_last_state: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Selective scan on CPU tensors with numba kernels; arguments and result as the reference.

    Args:
        u, delta: (b, d, l); A: (d, n) real; B, C: (b, n, l) or (b, G, n, l);
        D, delta_bias: (d,) or None; z: (b, d, l) or None.

    Returns:
        out (b, d, l) in u's dtype, or (out, last_state (b, d, n)) with ``return_last_state``.

    Raises:
        RuntimeError: numba is not installed (check :data:`NUMBA_AVAILABLE` first).
        ValueError: shapes do not fit, or a tensor is not on the CPU.
    """
    if not NUMBA_AVAILABLE:
        raise RuntimeError(
            "the fast CPU selective scan needs numba, which is not installed; "
            "run `pip install numba` or use selective_scan_ref"
        )
    check_scan_args(u, delta, A, B, C, D, z, delta_bias)
    tensors = (u, delta, A, B, C, D, z, delta_bias)
    if any(t is not None and t.device.type != "cpu" for t in tensors):
        devices = sorted({str(t.device) for t in tensors if t is not None})
        raise ValueError(f"selective_scan_cpu: tensors are on {devices}; expected all on the CPU")
    wd = compute_dtype(*tensors)
    dtype_in = u.dtype
    u_w = u.to(wd)
    dt = delta.to(wd)
    if delta_bias is not None:
        dt = dt + delta_bias.to(wd)[:, None]
    if delta_softplus:
        dt = F.softplus(dt)
    # grouped (b, G, n, l): the kernels read each state's row contiguously in time
    Bg = (B if B.dim() == 4 else B.unsqueeze(1)).to(wd).contiguous()
    Cg = (C if C.dim() == 4 else C.unsqueeze(1)).to(wd).contiguous()
    core = (u_w.contiguous(), dt.contiguous(), A.to(wd).contiguous(), Bg, Cg)
    if torch.is_grad_enabled() and any(t.requires_grad for t in core):
        y, last = _ScanCore.apply(*core)
    else:  # inference: the operator (torch.compile can call it; no autograd bookkeeping)
        y, last = _scan_forward_op(*core)
    if D is not None:
        y = y + u_w * D.to(wd)[:, None]
    if z is not None:
        y = y * F.silu(z.to(wd))
    out = y.to(dtype_in)
    return (out, last) if return_last_state else out
