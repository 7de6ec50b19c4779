import pytest
import torch

from pifnet_engine.errors import InputDataError, WeightsError
from pifnet_engine.model import PIFNet, PIFNetConfig, count_parameters, window_multiple_lr

from .helpers import randomise_zero_inits, tiny_model


@pytest.mark.parametrize("ratio,h,w", [(2, 3, 5), (3, 2, 4), (4, 2, 3), (8, 1, 2)])
def test_output_shapes_for_several_ratios(ratio: int, h: int, w: int) -> None:
    model = tiny_model(ratio=ratio).eval()
    x, y = torch.rand(2, 6, h, w), torch.rand(2, 3, h * ratio, w * ratio)
    with torch.no_grad():
        out = model(x, y)
    assert out.fused.shape == (2, 6, h * ratio, w * ratio)
    assert out.spectral_ref is not None and out.spectral_ref.shape == out.fused.shape
    assert out.logdet.shape == (2,) and out.logdet.dtype == torch.float32
    assert out.logdet_dims == 8 * (h * ratio // 2) * (w * ratio // 2)
    assert torch.isfinite(out.fused).all()


def test_window_multiple() -> None:
    assert [window_multiple_lr(s) for s in (1, 2, 3, 4, 5, 8)] == [2, 1, 2, 1, 2, 1]
    model = tiny_model(ratio=3)
    with pytest.raises(InputDataError, match="multiples of 2"):
        model(torch.rand(1, 6, 3, 4), torch.rand(1, 3, 9, 12))


def test_shape_errors_are_clear() -> None:
    model = tiny_model()
    with pytest.raises(InputDataError, match=r"LR-HSI has shape \(1, 5, 4, 4\)"):
        model(torch.rand(1, 5, 4, 4), torch.rand(1, 3, 8, 8))
    with pytest.raises(InputDataError, match=r"expected \(1, 3, 8, 8\)"):
        model(torch.rand(1, 6, 4, 4), torch.rand(1, 3, 8, 9))


def test_eval_is_deterministic_and_reference_optional() -> None:
    model = tiny_model().eval()
    randomise_zero_inits(model)
    x, y = torch.rand(1, 6, 4, 6), torch.rand(1, 3, 8, 12)
    with torch.no_grad():
        a = model(x, y)
        b = model(x, y, with_reference=False)
    assert torch.equal(a.fused, b.fused)
    assert b.spectral_ref is None


def test_batch_items_are_independent() -> None:
    model = tiny_model().eval()
    randomise_zero_inits(model)
    x, y = torch.rand(3, 6, 4, 4), torch.rand(3, 3, 8, 8)
    with torch.no_grad():
        whole = model(x, y).fused
        single = model(x[1:2], y[1:2]).fused
    torch.testing.assert_close(whole[1:2], single, rtol=1e-5, atol=1e-6)


def test_paper_configuration_parameter_count() -> None:
    model = PIFNet(PIFNetConfig(hsi_bands=103, msi_bands=4, ratio=4, hidden=64, blocks=4))
    n = count_parameters(model)
    print(f"PIF-Net parameters (C=103, c=4, D=64, L=4, N={model.cfg.d_state}): {n:,}")
    assert 0.5e6 < n < 1.73e6  # see pifnet.py / the report for the difference to the paper's 1.73 M


def test_config_validation_and_round_trip() -> None:
    cfg = PIFNetConfig(hsi_bands=103, msi_bands=4, ratio=4)
    assert PIFNetConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(WeightsError, match="lora_heads"):
        PIFNetConfig(hsi_bands=10, msi_bands=3, ratio=2, hidden=10, lora_heads=4, ssm_segments=2,
                     ssm_kernels=(3, 3))
    with pytest.raises(WeightsError, match="unknown keys"):
        PIFNetConfig.from_dict({**cfg.to_dict(), "dropout": 0.1})


def test_fresh_residual_model_returns_its_bicubic_base_exactly() -> None:
    """Untrained, the default (residual "bicubic") PIF-Net is exactly the bicubic-upsampled HSI,
    for Ẑ and for the spectral reference Z̄; the paper's form ("none") is not."""
    import torch.nn.functional as F

    from .helpers import tiny_model

    x, y = torch.rand(2, 6, 4, 6), torch.rand(2, 3, 8, 12)
    up = F.interpolate(x, size=(8, 12), mode="bicubic", align_corners=False)
    model = tiny_model()
    assert model.cfg.residual == "bicubic"
    out = model(x, y)
    assert torch.equal(out.fused, up) and torch.equal(out.spectral_ref, up)
    paper = tiny_model(residual="none")(x, y)
    assert not torch.allclose(paper.fused, up, atol=1e-2)


def test_manifests_without_residual_load_as_the_papers_form() -> None:
    from pifnet_engine.model import PIFNetConfig

    cfg = PIFNetConfig.from_dict({"hsi_bands": 6, "msi_bands": 3, "ratio": 2})
    assert cfg.residual == "none"
    assert PIFNetConfig(hsi_bands=6, msi_bands=3, ratio=2).residual == "bicubic"
    with pytest.raises(Exception, match="residual = 'gsm'"):
        PIFNetConfig(hsi_bands=6, msi_bands=3, ratio=2, residual="gsm")


def test_fresh_gsa_residual_model_returns_its_base_and_needs_it() -> None:
    """Residual "gsa": an untrained model returns exactly the base it is given (the GSA image),
    and refuses to run without one."""
    from .helpers import tiny_model

    x, y = torch.rand(2, 6, 4, 6), torch.rand(2, 3, 8, 12)
    base = torch.rand(2, 6, 8, 12)
    model = tiny_model(residual="gsa")
    out = model(x, y, base=base)
    assert torch.equal(out.fused, base) and torch.equal(out.spectral_ref, base)
    with pytest.raises(ValueError, match="needs base = the GSA image"):
        model(x, y)
