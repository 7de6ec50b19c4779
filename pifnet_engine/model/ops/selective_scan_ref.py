"""Reference selective scan: the sequential recurrence, pure PyTorch (the ground truth for tests).

Same signature and semantics as mamba-ssm's ``selective_scan_fn`` (see :mod:`.scan_args` for the
shapes). For every batch ``b``, channel ``d``, state index ``n`` and step ``t``::

    dt[t]  = softplus(delta[t] + delta_bias)          (softplus only with delta_softplus=True)
    x[t]   = exp(dt[t] * A[d, n]) * x[t-1] + dt[t] * B[n, t] * u[t],      x[-1] = 0
    y[t]   = sum_n C[n, t] * x[t, n]  +  D[d] * u[t]
    out[t] = y[t] * silu(z[t])                        (only when z is given)

Accumulation is in float32 (float64 when an input is float64, so fp64 gradcheck is meaningful);
the output has ``u``'s dtype. ``last_state`` is x at the last step, (b, d, n), in the working dtype.
Autograd differentiates through the loop: slow, but exact.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from pifnet_engine.model.ops.scan_args import check_scan_args, compute_dtype, expand_groups


def selective_scan_ref(
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
    """Sequential selective scan over the last axis.

    Args:
        u: (b, d, l) input sequence.
        delta: (b, d, l) step sizes (before bias / softplus).
        A: (d, n) real state matrix diagonal (negative for a stable scan).
        B: (b, n, l) or grouped (b, g, n, l) input projection.
        C: (b, n, l) or grouped (b, g, n, l) output projection.
        D: (d,) skip connection, or None.
        z: (b, d, l) gate, the output is multiplied by silu(z); or None.
        delta_bias: (d,) added to delta before softplus, or None.
        delta_softplus: apply softplus to delta (+ bias).
        return_last_state: also return the final state.

    Returns:
        out (b, d, l) in u's dtype; with ``return_last_state`` the tuple (out, last_state (b, d, n)).
    """
    check_scan_args(u, delta, A, B, C, D, z, delta_bias)
    wd = compute_dtype(u, delta, A, B, C, D, z, delta_bias)
    dtype_in = u.dtype
    b, d, l = u.shape
    u_w = u.to(wd)
    dt = delta.to(wd)
    if delta_bias is not None:
        dt = dt + delta_bias.to(wd)[:, None]
    if delta_softplus:
        dt = F.softplus(dt)
    n = A.shape[1]
    # per-step factors, time-major (b, d, l, n); unbind() so autograd stacks the step gradients
    # once instead of scattering each step into a full-size zero tensor
    decay = torch.exp(dt.unsqueeze(-1) * A.to(wd)[:, None, :]).unbind(2)
    drive = ((dt * u_w).unsqueeze(-1) * expand_groups(B.to(wd), d).transpose(2, 3)).unbind(2)
    readout = expand_groups(C.to(wd), d).transpose(2, 3).unbind(2)
    x = u_w.new_zeros((b, d, n))
    ys = []
    for t in range(l):
        x = decay[t] * x + drive[t]
        ys.append((x * readout[t]).sum(-1))
    y = torch.stack(ys, dim=2) if ys else u_w.new_zeros((b, d, 0))
    if D is not None:
        y = y + u_w * D.to(wd)[:, None]
    if z is not None:
        y = y * F.silu(z.to(wd))
    out = y.to(dtype_in)
    return (out, x) if return_last_state else out
