"""CPU runtime setting that must be made before PyTorch loads: how long OpenMP threads spin.

PIF-Net on the CPU mixes PyTorch operations (GNU OpenMP threads) with numba kernels that run on
plain Python threads (:mod:`pifnet_engine.model.ops.cpu_threads`). After every parallel region
libgomp's worker threads busy-wait for ``GOMP_SPINCOUNT`` iterations (libgomp's default:
300,000) before they sleep; on a machine with as many cores as threads they then compete with
the numba threads for the cores. Measured on the 2-core machine (one training step of batch
4 x 64^2, CAVE configuration, three runs with the default and two with 10000): the selective
scan's forward took 0.092-0.107 s per step with the default and 0.061-0.066 s with
``GOMP_SPINCOUNT=10000``, its backward 0.117-0.136 s and 0.068-0.069 s; 0 (no spinning) made the
whole step 31-43 % slower in two runs, as every PyTorch operation then wakes sleeping threads.

libgomp reads the variable once, when it is loaded (with ``import torch``), so
:func:`configure_openmp` runs when :mod:`pifnet_engine` is imported and does nothing when torch
is already loaded or when the user has set the variable.
"""

from __future__ import annotations

import os
import sys

#: Spin iterations of an idle OpenMP thread before it sleeps (libgomp's default: 300,000).
SPIN_COUNT = "10000"


def configure_openmp() -> bool:
    """Set ``GOMP_SPINCOUNT`` unless torch is loaded already or the user set it; True if set now."""
    if "torch" in sys.modules or "GOMP_SPINCOUNT" in os.environ:
        return False
    os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    return True
