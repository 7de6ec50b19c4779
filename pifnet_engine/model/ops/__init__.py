"""Selective-scan kernels for the SS2D / SSMM layers: reference, fast CPU path, mamba-ssm on CUDA.

``selective_scan_fn`` is the one entry point the model uses; it picks the implementation (see
:mod:`.selective_scan`). ``selective_scan_ref`` is the sequential PyTorch ground truth.
"""

from pifnet_engine.model.ops.selective_scan import mamba_available, resolve_impl, selective_scan_fn
from pifnet_engine.model.ops.selective_scan_cpu import NUMBA_AVAILABLE, selective_scan_cpu
from pifnet_engine.model.ops.selective_scan_ref import selective_scan_ref

__all__ = [
    "NUMBA_AVAILABLE",
    "mamba_available",
    "resolve_impl",
    "selective_scan_cpu",
    "selective_scan_fn",
    "selective_scan_ref",
]
