"""PIF-Net training loss, paper eq. 4.

    L = L_1 + lambda_inv * L_inv + lambda_cos * L_cos

- L_1 = mean |Ẑ - Z| over all elements (the "l1" norm as a per-element mean, like
  ``nn.L1Loss``, so that its size does not depend on the patch size).
- L_inv = log|det(dZ̄/dX)| of the invertible part, computed analytically: the couplings' Jacobians
  are triangular, so it is the sum of all I2 log-scales (``PIFNetOutput.logdet``; the Haar
  transform contributes log 1 = 0). Decision: we divide it by the number of coupled scalars per
  sample (``logdet_dims`` = D * H/2 * W/2, the usual per-dimension normalisation of flows) and
  average over the batch. Unnormalised, the sum over ~10^5 scalars would outweigh L_1 by orders
  of magnitude at lambda_inv = 0.01 and the optimiser would simply drive every scale to 0.
  The sign follows the paper (the term is added, i.e. minimised).
- L_cos = 1 - cos(Z̄, Ẑ): the cosine between the two spectra of every pixel (along the band
  axis, eps = 1e-8), averaged over pixels and batch, the "angular consistency" of SAM. Both Z̄
  and Ẑ receive its gradient.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from pifnet_engine.model.pifnet import PIFNetOutput

#: Paper's loss weights (Sec. "Loss Function").
LAMBDA_INV = 0.01
LAMBDA_COS = 0.1


def pifnet_loss(
    out: PIFNetOutput,
    target: Tensor,
    lambda_inv: float = LAMBDA_INV,
    lambda_cos: float = LAMBDA_COS,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Eq. 4 for one batch.

    Args:
        out: the model's output; ``out.spectral_ref`` must be present (train with
            ``with_reference=True``, the default).
        target: Z (B, C, H, W), the reference HR-HSI in the same value units as the model's inputs.
        lambda_inv, lambda_cos: weights of L_inv and L_cos.

    Returns:
        (total loss, scalar tensor with grad; terms) where ``terms`` maps "l1", "inv", "cos" to
        detached 0-d float32 tensors (call ``float()`` to log them; no device sync happens here).
    """
    if out.spectral_ref is None:
        raise ValueError("pifnet_loss needs out.spectral_ref; call the model with with_reference=True")
    if target.shape != out.fused.shape:
        raise ValueError(
            f"pifnet_loss: target has shape {tuple(target.shape)}; expected {tuple(out.fused.shape)}"
        )
    fused = out.fused.float()
    l1 = (fused - target.float()).abs().mean()
    inv = (out.logdet.float() / out.logdet_dims).mean()
    cos = 1.0 - F.cosine_similarity(out.spectral_ref.float(), fused, dim=1, eps=1e-8).mean()
    total = l1 + lambda_inv * inv + lambda_cos * cos
    terms = {"l1": l1.detach(), "inv": inv.detach(), "cos": cos.detach()}
    return total, terms
