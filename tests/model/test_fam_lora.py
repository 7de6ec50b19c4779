import copy

import pytest
import torch

from pifnet_engine.model.attention import call_frozen
from pifnet_engine.model.fam_lora import FAMLoRA
from pifnet_engine.model.lora import MultiHeadLoRA


def _attention_params(block: FAMLoRA) -> list[tuple[str, torch.nn.Parameter]]:
    return [(f"lka.{n}", p) for n, p in block.lka.named_parameters()] + \
           [(f"se.{n}", p) for n, p in block.se.named_parameters()]


def test_second_attention_gives_no_gradient_to_lka_and_se() -> None:
    torch.manual_seed(0)
    block = FAMLoRA(8, heads=4, rank=2, se_reduction=2)
    t = torch.randn(2, 8, 5, 5, requires_grad=True)
    guidance = torch.randn(2, 8, 5, 5, requires_grad=True)
    block.second_attention(t, guidance).square().sum().backward()
    for name, p in _attention_params(block):
        assert p.grad is None, name
    assert t.grad is not None and t.grad.abs().sum() > 0  # gradient still flows to the input
    assert guidance.grad is not None and guidance.grad.abs().sum() > 0
    assert block.lora.lora_b.grad is not None and block.lora.lora_b.grad.abs().sum() > 0


def test_first_attention_trains_lka_and_se_and_only_it_does() -> None:
    """Full block: LKA/SE gradients equal those of a copy whose second attention uses *other*
    (independent) modules, i.e. the second application contributes nothing to them."""
    torch.manual_seed(0)
    block = FAMLoRA(8, heads=4, rank=2, se_reduction=2)
    y, g = torch.randn(2, 8, 6, 6), torch.randn(2, 8, 6, 6)
    block(y, g).square().sum().backward()

    ref = copy.deepcopy(block)
    ref.zero_grad(set_to_none=True)
    lka2, se2 = copy.deepcopy(ref.lka), copy.deepcopy(ref.se)  # stand-ins for the second use

    def second(t: torch.Tensor, guidance: torch.Tensor) -> torch.Tensor:
        gg = t + guidance
        return lka2(t) + se2(gg) + ref.lora(gg)

    ref.second_attention = second  # type: ignore[method-assign]
    ref(y, g).square().sum().backward()
    for (name, p), (_, q) in zip(_attention_params(block), _attention_params(ref), strict=True):
        assert p.grad is not None and p.grad.abs().sum() > 0, name
        torch.testing.assert_close(p.grad, q.grad, msg=name)
    # The stand-ins did receive gradient: without the freezing, block's grads would differ.
    assert sum(p.grad.abs().sum() for p in lka2.parameters()) > 0
    assert sum(p.grad.abs().sum() for p in se2.parameters()) > 0


def test_call_frozen_computes_the_same_values() -> None:
    torch.manual_seed(0)
    block = FAMLoRA(8, heads=4, rank=2, se_reduction=2)
    t = torch.randn(1, 8, 4, 4)
    torch.testing.assert_close(call_frozen(block.lka, t), block.lka(t))
    torch.testing.assert_close(call_frozen(block.se, t), block.se(t))


def test_lora_initialisation() -> None:
    torch.manual_seed(0)
    lora = MultiHeadLoRA(64, heads=4, rank=8)
    assert lora.lora_a.shape == (4, 8, 16) and lora.lora_b.shape == (4, 16, 8)
    assert torch.count_nonzero(lora.lora_b) == 0
    a = lora.lora_a.detach().flatten()
    assert abs(a.mean().item()) < 0.15 and abs(a.std().item() - 1.0) < 0.1  # N(0, 1), 512 draws
    assert not torch.equal(lora.lora_a[0], lora.lora_a[1])  # each head has its own pair
    assert lora(torch.randn(2, 64, 3, 3)).abs().max().item() == 0.0


def test_lora_heads_are_independent() -> None:
    torch.manual_seed(0)
    lora = MultiHeadLoRA(8, heads=4, rank=1, alpha=1.0)
    with torch.no_grad():
        lora.lora_b.normal_()
    x = torch.randn(1, 8, 2, 2)
    out = lora(x)
    x2 = x.clone()
    x2[:, 2:4] += 1.0  # channels of head 1 only
    changed = (lora(x2) - out).abs().sum(dim=(0, 2, 3)) > 0
    assert changed.tolist() == [False, False, True, True, False, False, False, False]
    # head j's update is (alpha / r) * B_j A_j x_j
    expected = torch.einsum("cr,rk,bkxy->bcxy", lora.lora_b[1], lora.lora_a[1], x[:, 2:4])
    torch.testing.assert_close(out[:, 2:4], expected)


def test_lora_rejects_uneven_split() -> None:
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadLoRA(10, heads=4)
