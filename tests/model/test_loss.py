import math

import pytest
import torch

from pifnet_engine.model import PIFNetOutput
from pifnet_engine.model.loss import pifnet_loss

from tests.model.helpers import tiny_model


def _output(fused: torch.Tensor, ref: torch.Tensor, logdet: list[float], dims: int) -> PIFNetOutput:
    return PIFNetOutput(fused=fused, spectral_ref=ref, logdet=torch.tensor(logdet), logdet_dims=dims)


def test_each_term_by_hand() -> None:
    # Two pixels, two bands, one sample: fused spectra (1, 0) and (1, 1).
    fused = torch.tensor([[[[1.0, 1.0]], [[0.0, 1.0]]]])  # (1, 2, 1, 2)
    target = torch.tensor([[[[0.5, 1.0]], [[0.0, 3.0]]]])
    # Reference spectra: (0, 2) orthogonal to (1, 0) -> cos 0; (3, 3) parallel to (1, 1) -> cos 1.
    ref = torch.tensor([[[[0.0, 3.0]], [[2.0, 3.0]]]])
    out = _output(fused, ref, [-8.0], dims=4)
    total, terms = pifnet_loss(out, target, lambda_inv=0.01, lambda_cos=0.1)
    l1 = (0.5 + 0.0 + 0.0 + 2.0) / 4  # mean |fused - target|
    inv = -8.0 / 4  # log-det per coupled dimension
    cos = 1.0 - (0.0 + 1.0) / 2  # 1 - mean per-pixel spectral cosine
    assert terms["l1"].item() == pytest.approx(l1)
    assert terms["inv"].item() == pytest.approx(inv)
    assert terms["cos"].item() == pytest.approx(cos)
    assert total.item() == pytest.approx(l1 + 0.01 * inv + 0.1 * cos)


def test_inv_term_is_batch_mean_of_normalised_logdet() -> None:
    z = torch.ones(2, 3, 2, 2)
    out = _output(z, z, [3.0, 5.0], dims=2)
    total, terms = pifnet_loss(out, z, lambda_inv=1.0, lambda_cos=1.0)
    assert terms["inv"].item() == pytest.approx((1.5 + 2.5) / 2)
    assert terms["l1"].item() == 0.0 and terms["cos"].item() == pytest.approx(0.0, abs=1e-7)
    assert total.item() == pytest.approx(2.0)


def test_loss_on_the_model_backpropagates_into_both_tails_and_couplings() -> None:
    model = tiny_model()
    x, y = torch.rand(1, 6, 4, 4), torch.rand(1, 3, 8, 8)
    out = model(x, y)
    total, terms = pifnet_loss(out, torch.rand(1, 6, 8, 8))
    assert set(terms) == {"l1", "inv", "cos"} and all(not t.requires_grad for t in terms.values())
    total.backward()
    assert model.tail_spectral[0].weight.grad.abs().sum() > 0  # via L_cos
    assert model.couplings.blocks[0].i2.out_proj.weight.grad.abs().sum() > 0  # via L_inv + paths
    assert math.isfinite(total.item())


def test_loss_needs_the_reference() -> None:
    z = torch.ones(1, 2, 2, 2)
    with pytest.raises(ValueError, match="with_reference"):
        pifnet_loss(PIFNetOutput(z, None, torch.zeros(1), 1), z)
