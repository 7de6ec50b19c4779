"""Run a GIL-releasing numba kernel over work-item ranges on plain Python threads.

The CPU kernels of :mod:`.scan_kernels_numba` and :mod:`.depthwise_kernels_numba` are serial and
release the GIL; the caller splits its work items into ``torch.get_num_threads()`` contiguous
ranges and runs them here in parallel (numba's own OpenMP layer spin-waits and collapsed 5x on a
loaded 2-core machine in our measurements; plain threads do not).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch

_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()


def _pool(n_threads: int) -> ThreadPoolExecutor:
    """A shared thread pool with at least ``n_threads`` workers (grown, never shrunk)."""
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE < n_threads:
            _POOL = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="pifnet-cpu")
            _POOL_SIZE = n_threads
        return _POOL


def run_items(kernel: Callable[[int, int], None], n_items: int) -> None:
    """Run ``kernel(lo, hi)`` over [0, n_items) split into torch.get_num_threads() contiguous ranges.

    One range runs on the calling thread, the others on the shared pool.
    """
    n_threads = max(1, min(torch.get_num_threads(), n_items))
    if n_threads == 1:
        kernel(0, n_items)
        return
    pool = _pool(n_threads - 1)
    bounds = [(i * n_items) // n_threads for i in range(n_threads + 1)]
    futures = [pool.submit(kernel, lo, hi) for lo, hi in zip(bounds[1:-1], bounds[2:], strict=True)]
    kernel(bounds[0], bounds[1])
    for f in futures:
        f.result()
