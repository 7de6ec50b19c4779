"""Simulate a low-resolution HSI and a high-resolution MSI from a ground-truth hyperspectral cube.

Two spatial protocols (every result must say which one it used):

- ``"paper"`` (:func:`degrade_paper`, Wei et al. 2015, used by PIF-Net's benchmarks): Gaussian
  blur (3 x 3, sigma 0.5) then keep every s-th pixel starting at pixel 0. Coarse pixel k is the
  blurred *fine pixel k*s*, whose centre lies (s - 1) / 2 fine pixels up-left of the centre of
  the footprint [k*s, (k+1)*s) it stands for: a corner-registered grid.
- ``"centred"`` (:func:`degrade_centred`, what georeferenced data look like): coarse pixel k is
  the average over its footprint [k*s, (k+1)*s) of the (optionally Gaussian-blurred) image,
  i.e. the image seen through a PSF centred on the footprint. A 30 m pixel of a 90 m grid with
  the same origin covers exactly 3 x 3 fine pixels.

Spectral: :func:`spectral_degrade` applies a (c, C) response matrix (see
:func:`pifnet_engine.spectral.srf.response_matrix`).

Arrays: ``gt`` is (C, H, W) (any leading dimensions allowed, e.g. (B, C, H, W)), float, any
unit (the output has the same unit). NaN marks nodata: blurs are normalised convolutions over
valid pixels, and an output pixel is NaN when less than ``min_valid`` of its PSF weight fell on
valid input. Integer input is computed in float64; float input keeps its dtype. Torch tensors
are accepted and returned as tensors of the same dtype and device (computed in numpy: no
autograd). H and W need not be multiples of s: the output is (H // s, W // s) and the last
H % s rows / W % s columns are ignored.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from scipy.ndimage import correlate1d

from pifnet_engine.errors import InputDataError, UsageError

PROTOCOLS = ("paper", "centred")
Protocol = Literal["paper", "centred"]

#: How borders are extended for the Gaussian blur (scipy.ndimage mode: d c b a | a b c d).
BORDER_MODE = "reflect"


def gaussian_kernel_1d(sigma: float, size: int) -> np.ndarray:
    """(size,) float64 normalised Gaussian taps exp(-x^2 / (2 sigma^2)) at x = -(size//2)..size//2.

    The 2-D kernel ``outer(g, g)`` equals MATLAB's ``fspecial('gaussian', size, sigma)``.
    """
    if not (isinstance(size, (int, np.integer)) and size >= 1 and size % 2 == 1):
        raise UsageError(f"Gaussian kernel size must be a positive odd integer; got {size!r}")
    if not (sigma > 0 and math.isfinite(sigma)):
        raise UsageError(f"Gaussian sigma must be > 0 (fine pixels); got {sigma!r}")
    x = np.arange(size, dtype=np.float64) - size // 2
    g = np.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def paper_offset_px(ratio: int) -> float:
    """Shift (fine pixels, down and right) from a paper-protocol sample to its footprint centre."""
    return (ratio - 1) / 2.0


def _check(gt: np.ndarray, ratio: int) -> None:
    if not isinstance(ratio, (int, np.integer)) or isinstance(ratio, bool) or ratio < 1:
        raise UsageError(
            f"ratio must be a positive integer (fine pixels per coarse pixel); got {ratio!r}"
        )
    if gt.ndim < 2:
        raise InputDataError(f"image must be (..., H, W); got shape {gt.shape}")
    if gt.shape[-2] < ratio or gt.shape[-1] < ratio:
        raise InputDataError(
            f"image of {gt.shape[-2]} x {gt.shape[-1]} px is smaller than one coarse pixel "
            f"({ratio} x {ratio}); pass a larger image or a smaller ratio"
        )


def _to_numpy(x: Any) -> tuple[np.ndarray, Any]:
    """(array as float ndarray, restore function to the caller's type)."""
    if type(x).__module__.startswith("torch"):
        import torch

        device = x.device
        dtype = x.dtype if x.dtype.is_floating_point else torch.float64
        arr = x.detach().cpu().numpy()
        if not np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float64)
        return arr, lambda a: torch.as_tensor(a, device=device).to(dtype)
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr, lambda a: a


def _blur(values: np.ndarray, weights: np.ndarray | None,
          taps: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Separable correlation of (values * weights) and of weights over the last two axes.

    ``weights=None`` means all valid: the second result is then None (it would be all ones).
    """
    num = values if weights is None else values * weights
    den = weights
    if taps is not None and taps.size > 1:
        for axis in (-2, -1):
            num = correlate1d(num, taps, axis=axis, mode=BORDER_MODE)
            if den is not None:
                den = correlate1d(den, taps, axis=axis, mode=BORDER_MODE)
    return num, den


def _split_nodata(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(values with NaN -> 0 as float64, weights 1/0 or None when everything is valid)."""
    finite = np.isfinite(arr)
    if finite.all():
        return arr.astype(np.float64, copy=False), None
    return np.where(finite, arr, 0.0).astype(np.float64), finite.astype(np.float64)


def _finish(num: np.ndarray, den: np.ndarray | None, min_valid: float,
            dtype: np.dtype) -> np.ndarray:
    """num / den where den >= min_valid, else NaN; contiguous, in ``dtype``."""
    if den is None:
        return np.ascontiguousarray(num, dtype=dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den >= min_valid - 1e-12, num / den, np.nan)
    return out.astype(dtype, copy=False)


def degrade_paper(gt: Any, ratio: int, sigma: float = 0.5, kernel: int = 3,
                  min_valid: float = 0.5) -> Any:
    """Paper protocol (Wei et al. 2015): Gaussian blur then keep every ``ratio``-th pixel.

    ``y[..., i, j] = sum_{a,b} g[a] g[b] x[..., i*s + a, j*s + b]`` with g the normalised
    ``kernel``-tap Gaussian of ``sigma`` fine pixels (a, b in -(kernel//2)..kernel//2), borders
    reflected. gt: (..., H, W) -> (..., H // s, W // s), same unit. Coarse pixel (i, j) is centred
    on fine pixel (i*s, j*s): see :func:`paper_offset_px`.
    """
    arr, restore = _to_numpy(gt)
    _check(arr, ratio)
    taps = gaussian_kernel_1d(sigma, kernel)
    h, w = arr.shape[-2] // ratio, arr.shape[-1] // ratio
    num, den = _blur(*_split_nodata(arr), taps)
    num = num[..., : h * ratio : ratio, : w * ratio : ratio]
    if den is not None:
        den = den[..., : h * ratio : ratio, : w * ratio : ratio]
    return restore(_finish(num, den, min_valid, arr.dtype))


def degrade_centred(gt: Any, ratio: int, sigma: float | None = None,
                    min_valid: float = 0.5) -> Any:
    """Centred protocol: PSF centred on each coarse footprint, then the footprint average.

    ``y[..., i, j] = mean_{p, q in [0, s)} (G_sigma * x)[..., i*s + p, j*s + q]``: the mean over
    the footprint [i*s, (i+1)*s) x [j*s, (j+1)*s) of the image blurred by a Gaussian of
    ``sigma`` fine pixels (radius ceil(3 sigma), borders reflected). ``sigma=None`` means no
    extra blur: the footprint average alone (an ideal box detector). Equivalently, a PSF
    (box * Gaussian) centred on the footprint's centre. gt: (..., H, W) -> (..., H // s, W // s),
    same unit; a constant image stays the same constant.
    """
    arr, restore = _to_numpy(gt)
    _check(arr, ratio)
    taps = None
    if sigma is not None:
        if not (sigma > 0 and math.isfinite(sigma)):
            raise UsageError(f"sigma must be > 0 fine pixels or None; got {sigma!r}")
        taps = gaussian_kernel_1d(sigma, 2 * max(1, math.ceil(3 * sigma)) + 1)
    h, w = arr.shape[-2] // ratio, arr.shape[-1] // ratio
    num, den = _blur(*_split_nodata(arr), taps)

    def footprint_mean(a: np.ndarray) -> np.ndarray:
        a = a[..., : h * ratio, : w * ratio]
        return a.reshape(*a.shape[:-2], h, ratio, w, ratio).mean(axis=(-3, -1))

    num = footprint_mean(num)
    den = footprint_mean(den) if den is not None else None
    return restore(_finish(num, den, min_valid, arr.dtype))


def spectral_degrade(gt: Any, response: Any) -> Any:
    """Apply a (c, C) spectral response matrix: ``msi[j] = sum_k R[j, k] * gt[k]``.

    gt: (..., C, H, W) -> (..., c, H, W), same unit when R's rows sum to 1. Columns of R that
    are all zero (e.g. bad bands) are skipped, so NaN in those bands does not spread; NaN in a
    band with nonzero weight makes that pixel NaN.
    """
    arr, restore = _to_numpy(gt)
    r, _ = _to_numpy(response)
    r = np.asarray(r, dtype=np.float64)
    if r.ndim != 2 or arr.ndim < 3 or r.shape[1] != arr.shape[-3]:
        raise InputDataError(
            f"response matrix of shape {r.shape} cannot apply to an image of shape {arr.shape}; "
            "expected R (c, C) and image (..., C, H, W) with the same C"
        )
    used = np.flatnonzero(np.any(r != 0, axis=0))
    bands = np.take(arr, used, axis=-3).astype(np.float64)
    out = np.moveaxis(np.tensordot(r[:, used], bands, axes=([1], [-3])), 0, -3)  # c was first
    return restore(np.ascontiguousarray(out, dtype=arr.dtype))


def simulate_pair(gt: Any, ratio: int, response: Any, protocol: Protocol = "paper",
                  sigma: float | None = None) -> tuple[Any, Any]:
    """(LR-HSI, HR-MSI) from a ground truth.

    gt (..., C, H, W) -> LR-HSI (..., C, H//s, W//s) and HR-MSI (..., c, H, W), same unit.

    ``protocol="paper"`` uses :func:`degrade_paper` (sigma default 0.5, 3 x 3 kernel);
    ``"centred"`` uses :func:`degrade_centred` (sigma default None: footprint average).
    """
    if protocol == "paper":
        lr = degrade_paper(gt, ratio, sigma=0.5 if sigma is None else sigma)
    elif protocol == "centred":
        lr = degrade_centred(gt, ratio, sigma=sigma)
    else:
        raise UsageError(f"unknown simulation protocol {protocol!r}; expected one of {PROTOCOLS}")
    return lr, spectral_degrade(gt, response)
