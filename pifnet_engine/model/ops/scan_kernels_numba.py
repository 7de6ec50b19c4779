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
    x[t, n] = a[t, n] * x[t-1, n] + dt[t] * u[t] * B[b, g, n, t],   x[-1] = 0
    y[t]    = sum_n C[b, g, n, t] * x[t, n]

Arrays are C-contiguous numpy views of torch tensors: u, dt, y, du, ddt (b, d, l); A (d, n);
B, C (b, G, n, l) (mamba-ssm's layout, every state's row contiguous in time); last (b, d, n).

How it is fast (the recurrence is sequential in t, so SIMD cannot run along it):

- **States outside, time inside.** Per (batch, channel), the states are taken 4 at a time and the
  time loop carries those 4 states in scalar variables (registers): 4 independent FMA chains
  hide the FMA latency, and no state goes through memory between steps. (A state-inner loop over
  an array ``x[n]`` does not vectorise: LLVM needs runtime alias checks and, for n = 16, ends in
  its scalar remainder loop.) States left over (n % 4) run one chain each.
- **Everything that is not the chain is a separate loop along t over contiguous rows**, with few
  arrays per loop so LLVM vectorises it: the decays exp(dt * A) (a vectorisable float32 ``exp``;
  libm's scalar exp costs ~6 ns, several times a whole step), and in the backward the gradient
  products and sums, computed from the stored state / adjoint histories of the 4 states.
- The backward recomputes the states (one (4, l) history per state block, in L2) instead of
  storing the (b, d, n, l) history in the forward.

Sums that mix channels (dB, dC over the channels of a group, dA over the batch) go to
per-work-item partial arrays that the caller reduces, so no two threads write the same element.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_BLOCK_T = 512  # forward: time steps per block (three (4, 512) buffers stay in L1)
_W = 4  # states per block: independent recurrence chains interleaved in one time loop
_FM_EXACT = {"contract"}  # FMA only: the exp's range reduction must not be re-associated
_FM_FAST = {"contract", "reassoc", "nsz", "arcp"}  # lets LLVM vectorise the sums


@njit(fastmath=_FM_EXACT, cache=True, nogil=True)
def _exp_scaled(arg, scale, out):  # type: ignore[no-untyped-def]
    """out[j] = exp(scale * arg[j]) for 1-D float arrays of equal size.

    float64: libm's exp (float64 is for tests and gradcheck, not speed). float32: vectorisable,
    rel. error < 2e-7: Cody-Waite range reduction + Cephes' degree-7 polynomial; 2**k is added
    straight into the exponent bits. The argument is clamped to [-86, 88]: exp(-86) = 4e-38
    stands in for smaller decays (whose contribution is below float32 resolution anyway).
    """
    n = arg.size
    if arg.itemsize != 4:
        for j in range(n):
            out[j] = math.exp(scale * arg[j])
        return
    out_bits = out.view(np.int32)
    for j in range(n):
        v = min(max(scale * arg[j], np.float32(-86.0)), np.float32(88.0))
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
        out_bits[j] += np.int32(kf) << 23  # LLVM forwards the store: one vectorised pass


@njit(fastmath=_FM_EXACT, cache=True, nogil=True)
def exp_block(arg, out):  # type: ignore[no-untyped-def]
    """out[j] = exp(arg[j]) for 1-D float arrays (see :func:`_exp_scaled` for the accuracy)."""
    _exp_scaled(arg, arg.dtype.type(1.0), out)


@njit(fastmath=_FM_FAST, cache=True, nogil=True)
def _decay_rows(dt_r, A_r, n0, w, t0, t1, stride, dec):  # type: ignore[no-untyped-def]
    """dec[k * stride + t - t0] = exp(dt_r[t] * A_r[n0 + k]) for k < w, t in [t0, t1)."""
    m = t1 - t0
    dt_b = dt_r[t0:t1]
    for k in range(w):
        _exp_scaled(dt_b, A_r[n0 + k], dec[k * stride:k * stride + m])


@njit(fastmath=_FM_FAST, cache=True, nogil=True)
def _drive_rows(s_r, M, n0, w, t0, t1, stride, out):  # type: ignore[no-untyped-def]
    """out[k * stride + t - t0] = s_r[t] * M[n0 + k, t] for k < w, t in [t0, t1); M: (n, l)."""
    m = t1 - t0
    s_b = s_r[t0:t1]
    for k in range(w):
        row = M[n0 + k, t0:t1]
        out_k = out[k * stride:k * stride + m]
        for j in range(m):
            out_k[j] = s_b[j] * row[j]


@njit(fastmath=_FM_FAST, cache=True, nogil=True)
def _chain_fwd(dec, drv, xs, stride, m, w, st):  # type: ignore[no-untyped-def]
    """The recurrence of w states over m steps, rows k * stride of the buffers.

    x_k = dec[k, j] * x_k + drv[k, j], stored to xs[k, j]; st[k] holds x_k on entry and on exit.
    w == 4 interleaves the 4 chains in one loop (registers, latency hidden); else one at a time.
    """
    if w == 4:
        s1, s2, s3 = stride, 2 * stride, 3 * stride
        a0, a1, a2, a3 = dec[:m], dec[s1:s1 + m], dec[s2:s2 + m], dec[s3:s3 + m]
        b0, b1, b2, b3 = drv[:m], drv[s1:s1 + m], drv[s2:s2 + m], drv[s3:s3 + m]
        o0, o1, o2, o3 = xs[:m], xs[s1:s1 + m], xs[s2:s2 + m], xs[s3:s3 + m]
        x0, x1, x2, x3 = st[0], st[1], st[2], st[3]
        for j in range(m):
            x0 = a0[j] * x0 + b0[j]
            x1 = a1[j] * x1 + b1[j]
            x2 = a2[j] * x2 + b2[j]
            x3 = a3[j] * x3 + b3[j]
            o0[j] = x0
            o1[j] = x1
            o2[j] = x2
            o3[j] = x3
        st[0], st[1], st[2], st[3] = x0, x1, x2, x3
        return
    for k in range(w):
        a0 = dec[k * stride:k * stride + m]
        b0 = drv[k * stride:k * stride + m]
        o0 = xs[k * stride:k * stride + m]
        x = st[k]
        for j in range(m):
            x = a0[j] * x + b0[j]
            o0[j] = x
        st[k] = x


@njit(fastmath=_FM_FAST, cache=True, nogil=True)
def _chain_rev(dec, gc, hs, stride, m, w, st):  # type: ignore[no-untyped-def]
    """The adjoint recurrence, backwards: h[j] = h[j+1] * dec[j+1] + gc[j], h[m-1] = st[k] + gc[m-1].

    h[j] = dL/dx[j] along all paths (gc[j] = dy[j] C[j] is the direct one; st[k] = dL/dx of the
    last state); stored to hs[k, j], rows k * stride. m >= 1. The loops run forwards over reversed
    views (index i = m - 2 - j), so no index can be negative and numba emits no wrap-around code.
    """
    e = m - 1
    if w == 4:
        s1, s2, s3 = stride, 2 * stride, 3 * stride
        # a*[i] = dec[m - 1 - i], b*[i] = gc[m - 2 - i], o*[i] = hs[m - 2 - i]
        a0, a1 = dec[1:m][::-1], dec[s1 + 1:s1 + m][::-1]
        a2, a3 = dec[s2 + 1:s2 + m][::-1], dec[s3 + 1:s3 + m][::-1]
        b0, b1, b2, b3 = gc[:e][::-1], gc[s1:s1 + e][::-1], gc[s2:s2 + e][::-1], gc[s3:s3 + e][::-1]
        o0, o1, o2, o3 = hs[:e][::-1], hs[s1:s1 + e][::-1], hs[s2:s2 + e][::-1], hs[s3:s3 + e][::-1]
        h0, h1, h2, h3 = st[0] + gc[e], st[1] + gc[s1 + e], st[2] + gc[s2 + e], st[3] + gc[s3 + e]
        hs[e], hs[s1 + e], hs[s2 + e], hs[s3 + e] = h0, h1, h2, h3
        for i in range(e):
            h0 = h0 * a0[i] + b0[i]
            h1 = h1 * a1[i] + b1[i]
            h2 = h2 * a2[i] + b2[i]
            h3 = h3 * a3[i] + b3[i]
            o0[i] = h0
            o1[i] = h1
            o2[i] = h2
            o3[i] = h3
        return
    for k in range(w):
        base = k * stride
        a0 = dec[base + 1:base + m][::-1]
        b0 = gc[base:base + e][::-1]
        o0 = hs[base:base + e][::-1]
        h = st[k] + gc[base + e]
        hs[base + e] = h
        for i in range(e):
            h = h * a0[i] + b0[i]
            o0[i] = h


@njit(fastmath=_FM_FAST, cache=True, nogil=True)
def _readout_rows(Cg, n0, w, t0, t1, stride, xs, y_r):  # type: ignore[no-untyped-def]
    """y_r[t] += sum_k Cg[n0 + k, t] * xs[k * stride + t - t0] for t in [t0, t1)."""
    m = t1 - t0
    y_b = y_r[t0:t1]
    for k in range(w):
        row = Cg[n0 + k, t0:t1]
        xs_k = xs[k * stride:k * stride + m]
        for j in range(m):
            y_b[j] += row[j] * xs_k[j]


@njit(fastmath=_FM_FAST, cache=True, nogil=True)
def scan_fwd(u, dt, A, B, C, y, last, item_lo, item_hi):  # type: ignore[no-untyped-def]
    """Forward: fill y (b, d, l) and last (b, d, n) for work items [item_lo, item_hi).

    Work item i is (batch i // d, channel i % d); disjoint item ranges may run in parallel
    threads (the kernel releases the GIL). Time runs in blocks of _BLOCK_T steps per state block.
    """
    bsz, dim, L = u.shape
    G = B.shape[1]
    N = A.shape[1]
    per = dim // G
    T = _BLOCK_T
    dec = np.empty(_W * T, dtype=u.dtype)
    drv = np.empty(_W * T, dtype=u.dtype)
    xs = np.empty(_W * T, dtype=u.dtype)
    v = np.empty(L, dtype=u.dtype)
    st = np.empty(_W, dtype=u.dtype)
    for item in range(item_lo, item_hi):
        bi = item // dim
        di = item - bi * dim
        gi = di // per
        u_r = u[bi, di]
        dt_r = dt[bi, di]
        y_r = y[bi, di]
        A_r = A[di]
        Bg = B[bi, gi]
        Cg = C[bi, gi]
        for t in range(L):
            v[t] = dt_r[t] * u_r[t]
        y_r[:] = 0.0
        n0 = 0
        while n0 < N:
            w = _W if n0 + _W <= N else 1
            st[:] = 0.0
            for t0 in range(0, L, T):
                t1 = min(t0 + T, L)
                _decay_rows(dt_r, A_r, n0, w, t0, t1, T, dec)
                _drive_rows(v, Bg, n0, w, t0, t1, T, drv)
                _chain_fwd(dec, drv, xs, T, t1 - t0, w, st)
                _readout_rows(Cg, n0, w, t0, t1, T, xs, y_r)
            for k in range(w):
                last[bi, di, n0 + k] = st[k]
            n0 += w


@njit(fastmath=_FM_FAST, cache=True, nogil=True)
def _state_grads(  # type: ignore[no-untyped-def]
    dy_r, dt_r, v, B_n, a_n, x_k, h_k, dec_k, dB_n, dC_n, sb, sa, first
):
    """Gradient terms of one state n of one channel, from its histories; returns its dA.

    x_k, h_k, dec_k (l,): the state x[t], the adjoint dL/dx[t] (all paths) and the decay a[t].
    Accumulates dC_n[t] += dy[t] x[t], dB_n[t] += h[t] v[t] (assigns them when ``first``, the
    first channel of a work item), sb[t] += h[t] B_n[t] and sa[t] += a_n h[t] a[t] x[t-1];
    returns sum_t dt[t] h[t] a[t] x[t-1] (float64).
    One loop per output keeps the runtime alias checks few, so LLVM vectorises each.
    """
    L = x_k.size
    if first:
        for t in range(L):
            dC_n[t] = dy_r[t] * x_k[t]
        for t in range(L):
            dB_n[t] = h_k[t] * v[t]
    else:
        for t in range(L):
            dC_n[t] += dy_r[t] * x_k[t]
        for t in range(L):
            dB_n[t] += h_k[t] * v[t]
    for t in range(L):
        sb[t] += h_k[t] * B_n[t]
    acc = 0.0
    for t in range(1, L):
        q = h_k[t] * dec_k[t] * x_k[t - 1]
        sa[t] += a_n * q
        acc += np.float64(dt_r[t] * q)
    return acc


@njit(fastmath=_FM_FAST, cache=True, nogil=True)
def scan_bwd(  # type: ignore[no-untyped-def]
    u, dt, A, B, C, dy, dlast, parts, du, ddt, dA_part, dB_part, dC_part, item_lo, item_hi
):
    """Backward of :func:`scan_fwd`, recomputing the states channel by channel, 4 states at a time.

    Inputs as in the forward plus dy (b, d, l) and dlast (b, d, n), the gradients of y and of
    the last state. ``parts`` splits each group's channels into that many ranges; work items are
    (batch, group, part), b * G * parts of them, and this call does [item_lo, item_hi).
    Outputs: du, ddt (b, d, l); dA_part (b, d, n), to be summed over b;
    dB_part, dC_part (b, G, parts, n, l), to be summed over parts (every element is written).
    """
    bsz, dim, L = u.shape
    G = B.shape[1]
    N = A.shape[1]
    per = dim // G
    if L == 0:
        dA_part[:] = 0.0
        return  # dB_part, dC_part have no elements
    dec = np.empty(_W * L, dtype=u.dtype)  # row k: a[t] of state n0 + k
    drv = np.empty(_W * L, dtype=u.dtype)  # row k: v[t] B[t], then dy[t] C[t]
    xs = np.empty(_W * L, dtype=u.dtype)  # row k: x[t]
    hs = np.empty(_W * L, dtype=u.dtype)  # row k: dL/dx[t]
    v = np.empty(L, dtype=u.dtype)
    sb = np.empty(L, dtype=u.dtype)  # sum_n h B
    sa = np.empty(L, dtype=u.dtype)  # sum_n A h a x[t-1]
    st = np.empty(_W, dtype=u.dtype)
    for item in range(item_lo, item_hi):
        bi = item // (G * parts)
        rest = item - bi * G * parts
        gi = rest // parts
        pi = rest - gi * parts
        d_lo = gi * per + (pi * per) // parts
        d_hi = gi * per + ((pi + 1) * per) // parts
        Bg = B[bi, gi]
        Cg = C[bi, gi]
        dBg = dB_part[bi, gi, pi]
        dCg = dC_part[bi, gi, pi]
        for di in range(d_lo, d_hi):
            u_r = u[bi, di]
            dt_r = dt[bi, di]
            dy_r = dy[bi, di]
            A_r = A[di]
            for t in range(L):
                v[t] = dt_r[t] * u_r[t]
            sb[:] = 0.0
            sa[:] = 0.0
            n0 = 0
            while n0 < N:
                w = _W if n0 + _W <= N else 1
                _decay_rows(dt_r, A_r, n0, w, 0, L, L, dec)
                _drive_rows(v, Bg, n0, w, 0, L, L, drv)
                st[:] = 0.0
                _chain_fwd(dec, drv, xs, L, L, w, st)
                _drive_rows(dy_r, Cg, n0, w, 0, L, L, drv)
                for k in range(w):
                    st[k] = dlast[bi, di, n0 + k]
                _chain_rev(dec, drv, hs, L, L, w, st)
                for k in range(w):
                    n = n0 + k
                    lo = k * L
                    dA_part[bi, di, n] = _state_grads(
                        dy_r, dt_r, v, Bg[n], A_r[n], xs[lo:lo + L], hs[lo:lo + L], dec[lo:lo + L],
                        dBg[n], dCg[n], sb, sa, di == d_lo,
                    )
                n0 += w
            du_r = du[bi, di]
            ddt_r = ddt[bi, di]
            for t in range(L):
                du_r[t] = dt_r[t] * sb[t]
                ddt_r[t] = u_r[t] * sb[t] + sa[t]
