import math

import pytest
import torch

from pifnet_engine.model import PIFNetOutput
from pifnet_engine.model.loss import pifnet_loss

from .helpers import randomise_zero_inits, tiny_model


def _output(fused: torch.Tensor, ref: torch.Tensor, logdet: list[float], dims: int,
            sq: list[float] | None = None) -> PIFNetOutput:
    return PIFNetOutput(fused=fused, spectral_ref=ref, logdet=torch.tensor(logdet), logdet_dims=dims,
                        log_scale_sq=None if sq is None else torch.tensor(sq))


def test_each_term_by_hand() -> None:
    # Two pixels, two bands, one sample: fused spectra (1, 0) and (1, 1).
    fused = torch.tensor([[[[1.0, 1.0]], [[0.0, 1.0]]]])  # (1, 2, 1, 2)
    target = torch.tensor([[[[0.5, 1.0]], [[0.0, 3.0]]]])
    # Reference spectra: (0, 2) orthogonal to (1, 0) -> cos 0; (3, 3) parallel to (1, 1) -> cos 1.
    ref = torch.tensor([[[[0.0, 3.0]], [[2.0, 3.0]]]])
    out = _output(fused, ref, [-8.0], dims=4)
    total, terms = pifnet_loss(out, target, lambda_inv=0.01, lambda_cos=0.1, inv_penalty="paper")
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
    total, terms = pifnet_loss(out, z, lambda_inv=1.0, lambda_cos=1.0, inv_penalty="paper")
    assert terms["inv"].item() == pytest.approx((1.5 + 2.5) / 2)
    assert terms["l1"].item() == 0.0 and terms["cos"].item() == pytest.approx(0.0, abs=1e-7)
    assert total.item() == pytest.approx(2.0)


def test_square_penalty_is_mean_squared_log_scale_per_coupled_value() -> None:
    z = torch.ones(2, 3, 2, 2)
    # Sample 1: sum of s^2 = 8 over 2 couplings x 2 values; sample 2: 0. Log-dets are ignored.
    out = _output(z, z, [-100.0, -100.0], dims=2, sq=[8.0, 0.0])
    total, terms = pifnet_loss(out, z, lambda_inv=1.0, lambda_cos=1.0, inv_penalty="square", blocks=2)
    assert terms["inv"].item() == pytest.approx((8.0 / 4 + 0.0) / 2)
    assert total.item() == pytest.approx(1.0, abs=1e-6)


def test_square_penalty_does_not_reward_shrinking_on_the_model() -> None:
    """Gradient descent on the default L_inv alone pulls the log-scales towards 0 (mean s^2 falls);
    on the paper's reading it drives them towards the clamp floor (s^2 grows, log-det < 0)."""
    x, y = torch.rand(1, 6, 4, 4), torch.rand(1, 3, 8, 8)

    def descend(penalty: str, steps: int = 20) -> tuple[PIFNetOutput, PIFNetOutput]:
        model = tiny_model()
        block = model.couplings.blocks[0]
        torch.nn.init.normal_(block.i2.out_proj.weight, std=0.5, generator=torch.Generator().manual_seed(2))
        weight = block.i2.out_proj.weight
        before = model(x, y)
        for _ in range(steps):
            out = model(x, y)
            inv, _ = pifnet_loss(out, out.fused.detach(), lambda_inv=1.0, lambda_cos=0.0, inv_penalty=penalty,
                                 blocks=model.cfg.blocks)
            (grad,) = torch.autograd.grad(inv, [weight])
            with torch.no_grad():
                weight -= 20.0 * grad
        return before, model(x, y)

    before, after = descend("square")
    assert before.log_scale_sq is not None and after.log_scale_sq is not None
    assert before.log_scale_sq.item() > 0 and after.log_scale_sq.item() < 0.5 * before.log_scale_sq.item()
    before, after = descend("paper")
    assert after.log_scale_sq.item() > before.log_scale_sq.item()
    assert after.logdet.item() < min(before.logdet.item(), 0.0)
    with pytest.raises(ValueError, match="inv_penalty"):
        pifnet_loss(after, after.fused.detach(), inv_penalty="bogus")


def test_loss_on_the_model_backpropagates_into_both_tails_and_couplings() -> None:
    model = tiny_model()
    randomise_zero_inits(model)
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
