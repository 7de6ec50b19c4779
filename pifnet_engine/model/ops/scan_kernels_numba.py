"""Numba kernels of the selective scan core, forward and backward (CPU, multi-threaded).

Import this module only through :mod:`.selective_scan_cpu`, which handles numba being absent.
Numba ships binary wheels (numba + llvmlite), so no compiler is needed on the user's machine; the
kernels compile on first use per dtype (a few seconds) and are cached on disk when the package
directory is writable. They are serial and release the GIL: the caller runs disjoint work-item
ranges in its own threads (numba's OpenMP layer spin-waits and collapsed 5x on a loaded 2-core
machine in our measurements; plain threads do not).

The core computed here, for each batch ``b``, channel ``d`` (group ``g = d // (dim // G)``),
state ``n`` and step ``t``, with ``dt`` already biased and softplus-ed::

    a[t, n] = exp(dt[t] * A[d, n])
    x[t, n] = a[t, n] * x[t-1, n] + dt[t] * u[t] * B[b, g, t, n],   x[-1] = 0
    y[t]    = sum_n C[b, g, t, n] * x[t, n]

Arrays are C-contiguous numpy views of torch tensors: u, dt, y, du, ddt (b, d, l); A (d, n);
B, C **time-major** (b, G, l, n) so the state loop is contiguous and vectorises; last (b, d, n).
Speed comes from (1) a vectorisable float32 ``exp`` (libm's scalar exp costs ~6 ns, ~5x the rest
of a step) and (2) state-inner loops that LLVM turns into SIMD. Sums that mix channels (dB, dC
over the channels of a group, dA over the batch) go to per-work-item partial arrays that the
caller reduces, so no two threads write the same element.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_BLOCK_T = 128  # time steps whose decays are computed at once (a (128, n) buffer stays in L1/L2)
_FM_EXACT = {"contract"}  # FMA only: the exp's range reduction must not be re-associated
_FM_FAST = {"contract", "reassoc", "nsz", "arcp"}  # lets LLVM vectorise the sums over n


@njit(fastmath=_FM_EXACT, cache=True, nogil=True)
def exp_block(arg, out):  # type: ignore[no-untyped-def]
    """out[j] = exp(arg[j]) for 1-D float arrays.

    float64: libm's exp (float64 is for tests and gradcheck, not speed). float32: vectorisable,
    rel. error < 2e-7: Cody-Waite range reduction + Cephes' degree-7 polynomial; 2**k is added straight into the
    exponent bits. The argument is clamped to [-86, 88]: exp(-86) = 4e-38 stands in for smaller
    decays (whose contribution is below float32 resolution anyway).
    """
    n = arg.size
    if arg.itemsize != 4:
        for j in range(n):
            out[j] = math.exp(arg[j])
        return
    out_bits = out.view(np.int32)
    kbuf = np.empty(n, dtype=np.int32)
    for j in range(n):
        v = min(max(arg[j], np.float32(-86.0)), np.float32(88.0))
        kf = np.floor(v * np.float32(1.4426950408889634) + np.float32(0.5))
        r = v - kf * np.float32(0.693359375)
        r = r + kf * np.float32(2.12194440e-4)
        p = np.float32(1.9875691500e-4)
        p = p * r + np.float32(1.3981999507e-3)
        p = p * r + np.float32(8.3334519073e-3)
        p = p * r + np.float32(4.1665795894e-2)
        p = p * r + np.float32(1.6666665459e-1)
        p = p * r + np.float32(5.0000001201e-1)
        out[j] = (p * r) * r + r + np.float32(1.0)
        kbuf[j] = np.int32(kf)
    for j in range(n):
        out_bits[j] += kbuf[j] << 23


@njit(fastmath=_FM_FAST, cache=True, nogil=True)
def _decays(dt_row, A_row, t0, t1, arg, out):  # type: ignore[no-untyped-def]
    """out[(t - t0) * n + k] = exp(dt_row[t] * A_row[k]) for t in [t0, t1) (flat buffers)."""
    n = A_row.size
    for t in range(t0, t1):
        base = (t - t0) * n
        dtt = dt_row[t]
        for k in range(n):
            arg[base + k] = dtt * A_row[k]
    m = (t1 - t0) * n
    exp_block(arg[:m], out[:m])


@njit(fastmath=_FM_FAST, cache=True, nogil=True)
def scan_fwd(u, dt, A, B, C, y, last, item_lo, item_hi):  # type: ignore[no-untyped-def]
    """Forward: fill y (b, d, l) and last (b, d, n) for work items [item_lo, item_hi).

    Work item i is (batch i // d, channel i % d); disjoint item ranges may run in parallel
    threads (the kernel releases the GIL). Rows are taken as flat 1-D views up front: numba's
    multi-dimensional indexing inside the time loop cost more than the arithmetic.
    """
    bsz, dim, L = u.shape
    G = B.shape[1]
    N = A.shape[1]
    per = dim // G
    arg = np.empty(_BLOCK_T * N, dtype=u.dtype)
    dec = np.empty(_BLOCK_T * N, dtype=u.dtype)
    x = np.empty(N, dtype=u.dtype)
    for item in range(item_lo, item_hi):
        bi = item // dim
        di = item - bi * dim
        gi = di // per
        u_r = u[bi, di]
        dt_r = dt[bi, di]
        y_r = y[bi, di]
        A_r = A[di]
        Bf = B[bi, gi].reshape(L * N)
        Cf = C[bi, gi].reshape(L * N)
        x[:] = 0.0
        for t0 in range(0, L, _BLOCK_T):
            t1 = min(t0 + _BLOCK_T, L)
            _decays(dt_r, A_r, t0, t1, arg, dec)
            for t in range(t0, t1):
                v = dt_r[t] * u_r[t]
                s = 0.0 * v
                ob = (t - t0) * N
                gb = t * N
                for k in range(N):
                    xk = dec[ob + k] * x[k] + v * Bf[gb + k]
                    x[k] = xk
                    s += Cf[gb + k] * xk
                y_r[t] = s
        last[bi, di, :] = x


@njit(fastmath=_FM_FAST, cache=True, nogil=True)
def scan_bwd(  # type: ignore[no-untyped-def]
    u, dt, A, B, C, dy, dlast, parts, du, ddt, dA_part, dB_part, dC_part, item_lo, item_hi
):
    """Backward of :func:`scan_fwd`, recomputing the states channel by channel.

    Inputs as in the forward plus dy (b, d, l) and dlast (b, d, n), the gradients of y and of
    the last state. ``parts`` splits each group's channels into that many ranges; work items are
    (batch, group, part), b * G * parts of them, and this call does [item_lo, item_hi).
    Outputs: du, ddt (b, d, l); dA_part (b, d, n), to be summed over b;
    dB_part, dC_part (b, G, parts, l, n), to be summed over parts.
    """
    bsz, dim, L = u.shape
    G = B.shape[1]
    N = A.shape[1]
    per = dim // G
    xs = np.zeros((L + 1) * N, dtype=u.dtype)  # row 0 = x[-1] = 0, row t+1 = x[t]
    dec = np.empty(L * N, dtype=u.dtype)
    arg = np.empty(L * N, dtype=u.dtype)
    h = np.empty(N, dtype=u.dtype)
    dA_acc = np.empty(N, dtype=np.float64)
    for item in range(item_lo, item_hi):
        bi = item // (G * parts)
        rest = item - bi * G * parts
        gi = rest // parts
        pi = rest - gi * parts
        d_lo = gi * per + (pi * per) // parts
        d_hi = gi * per + ((pi + 1) * per) // parts
        Bf = B[bi, gi].reshape(L * N)
        Cf = C[bi, gi].reshape(L * N)
        dBf = dB_part[bi, gi, pi].reshape(L * N)
        dCf = dC_part[bi, gi, pi].reshape(L * N)
        for di in range(d_lo, d_hi):
            u_r = u[bi, di]
            dt_r = dt[bi, di]
            dy_r = dy[bi, di]
            du_r = du[bi, di]
            ddt_r = ddt[bi, di]
            A_r = A[di]
            _decays(dt_r, A_r, 0, L, arg, dec)
            for t in range(L):
                v = dt_r[t] * u_r[t]
                base = t * N
                for k in range(N):
                    xs[base + N + k] = dec[base + k] * xs[base + k] + v * Bf[base + k]
            h[:] = dlast[bi, di]
            dA_acc[:] = 0.0
            for t in range(L - 1, -1, -1):
                g = dy_r[t]
                dtt = dt_r[t]
                ut = u_r[t]
                v = dtt * ut
                base = t * N
                s_b = 0.0 * v
                s_a = 0.0 * v
                for k in range(N):
                    j = base + k
                    hk = h[k] + g * Cf[j]
                    dCf[j] += g * xs[j + N]
                    dBf[j] += hk * v
                    s_b += hk * Bf[j]
                    hax = hk * dec[j] * xs[j]
                    s_a += A_r[k] * hax
                    dA_acc[k] += dtt * hax
                    h[k] = hk * dec[j]
                du_r[t] = dtt * s_b
                ddt_r[t] = ut * s_b + s_a
            for k in range(N):
                dA_part[bi, di, k] = dA_acc[k]
