"""Numba kernel of a depthwise convolution's weight gradient (CPU; serial, releases the GIL).

Import only through :mod:`.depthwise`, which handles numba being absent. PyTorch's CPU backward
for the weight of a depthwise convolution is 5-30x slower than its forward (measured for the
5x5, 7x7-dilated and 3-9 px kernels of PIF-Net, float32 and bfloat16, either memory format);
the gradient is a small correlation that vectorises well when written out.

For a "same" convolution of stride 1, kernel k x k, dilation d, zero padding p = d * (k // 2)::

    dW[c, i, j] = sum_{b, y, x} g[b, c, y, x] * xp[b, c, y + d*i, x + d*j]

with ``xp`` the padded input (b, C, H + 2p, W + 2p) and ``g`` the output gradient (b, C, H, W),
both C-contiguous and of one float dtype; ``out`` is (C, k, k). The inner loop runs along
contiguous image rows (x), accumulating k*k rows of partial sums per channel that stay in L1.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_FM_FAST = {"contract", "reassoc", "nsz", "arcp"}  # lets LLVM vectorise the row sums


@njit(fastmath=_FM_FAST, cache=True, nogil=True)
def depthwise_weight_grad(xp, g, dilation, out, lo, hi):  # type: ignore[no-untyped-def]
    """out[c] = dW[c] for the channels c in [lo, hi); see the module docstring."""
    bsz, _, h, w = g.shape
    k = out.shape[1]
    acc = np.zeros((k, k, w), dtype=out.dtype)
    for c in range(lo, hi):
        acc[:] = 0
        for b in range(bsz):
            for y in range(h):
                grow = g[b, c, y]
                for i in range(k):
                    xrow = xp[b, c, y + dilation * i]
                    for j in range(k):
                        a = acc[i, j]
                        xs = xrow[dilation * j:dilation * j + w]  # a slice: the loop below vectorises
                        for x in range(w):
                            a[x] += grow[x] * xs[x]
        for i in range(k):
            for j in range(k):
                out[c, i, j] = acc[i, j].sum()
