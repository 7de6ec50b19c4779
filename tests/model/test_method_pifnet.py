from pathlib import Path

import numpy as np
import pytest
import torch

from pifnet_engine.errors import WeightsError
from pifnet_engine.methods import PairSpec
from pifnet_engine.methods.base import StatsBatch
from pifnet_engine.methods.pifnet import PIFNetMethod
from pifnet_engine.model.weights import save_weights

from .helpers import randomise_zero_inits, tiny_model

WAVES = [450.0, 500.0, 550.0, 600.0, 650.0, 700.0]


def _weights(tmp_path: Path, ratio: int = 2, scale: float = 100.0, name: str = "tiny_x2",
             stem: str = "w") -> tuple[Path, torch.nn.Module]:
    model = tiny_model(ratio=ratio)
    randomise_zero_inits(model)
    extra = {"name": name, "hsi": {"wavelengths_nm": WAVES, "fwhm_nm": [4.0] * 6},
             "normalisation": {"hsi": {"offset": 10.0, "scale": scale},
                               "msi": {"offset": 0.0, "scale": [1.0, 2.0, 4.0]}}}
    save_weights(tmp_path / stem, model, extra)
    return tmp_path / f"{stem}.safetensors", model.eval()


def _statistics(method: PIFNetMethod, x: torch.Tensor, y: torch.Tensor) -> None:
    """Run the statistics pass of ``method`` over windows ``x`` (B, C, h, w), ``y`` (B, c, H, W)."""
    s = y.shape[-1] // x.shape[-1]
    method.start_statistics()
    for xb, yb in zip(x.double().numpy(), y.double().numpy(), strict=True):
        c, h, w = xb.shape
        low = yb.reshape(yb.shape[0], h, s, w, s).mean(axis=(2, 4))
        method.accumulate(StatsBatch(hsi=xb, msi_low=low, valid=np.ones((h, w), bool), msi=yb,
                                     msi_valid=np.ones(yb.shape[1:], bool)))
    method.finish_statistics()


def _pair(**kw: object) -> PairSpec:
    base: dict[str, object] = dict(hsi_bands=6, msi_bands=3, ratio=2, hsi_name="hsi.tif", msi_name="msi.tif")
    base.update(kw)
    return PairSpec(**base)  # type: ignore[arg-type]


def test_check_pair_refuses_what_does_not_fit(tmp_path: Path) -> None:
    path, _ = _weights(tmp_path)
    method = PIFNetMethod(weights=path)
    method.check_pair(_pair(hsi_wavelengths_nm=tuple(w + 3.0 for w in WAVES)))  # within 5 nm
    method.check_pair(_pair())  # no wavelengths on the raster side: counts only
    with pytest.raises(WeightsError, match=r"HSI 'hsi.tif' has 31 bands but weights 'tiny_x2' expect 6; "
                                           r"train weights for this sensor with `pifnet-train`, or pass --method gsa"):
        method.check_pair(_pair(hsi_bands=31))
    with pytest.raises(WeightsError, match="MSI 'msi.tif' has 4 bands but weights 'tiny_x2' expect 3"):
        method.check_pair(_pair(msi_bands=4))
    with pytest.raises(WeightsError, match="ratio is 4 but weights 'tiny_x2' were trained for ratio 2"):
        method.check_pair(_pair(ratio=4))
    shifted = tuple(WAVES[:3]) + (612.0,) + tuple(WAVES[4:])
    with pytest.raises(WeightsError, match=r"band 4 is centred at 612.0 nm but weights 'tiny_x2' expect 600.0 nm"):
        method.check_pair(_pair(hsi_wavelengths_nm=shifted))


def test_fuse_normalises_pads_and_restores_units(tmp_path: Path) -> None:
    path, model = _weights(tmp_path)
    method = PIFNetMethod(weights=path)
    method.check_pair(_pair())
    torch.manual_seed(0)
    x, y = torch.rand(2, 6, 5, 3) * 100 + 10, torch.rand(2, 3, 10, 6) * torch.tensor([1.0, 2.0, 4.0]).view(1, 3, 1, 1)
    _statistics(method, x, y)
    with torch.inference_mode():
        z = method.fuse(x, y)
        direct = model((x - 10.0) / 100.0, y / torch.tensor([1.0, 2.0, 4.0]).view(1, 3, 1, 1)).fused * 100 + 10
    assert z.shape == (2, 6, 10, 6)
    torch.testing.assert_close(z, direct, rtol=1e-5, atol=1e-4)


def test_odd_ratio_windows_are_padded(tmp_path: Path) -> None:
    path, _ = _weights(tmp_path, ratio=3)
    method = PIFNetMethod(weights=path)
    method.check_pair(_pair(ratio=3))
    assert method.window_multiple_lr(3) == 2
    x, y = torch.rand(1, 6, 3, 5) * 100 + 10, torch.rand(1, 3, 9, 15)
    _statistics(method, x, y)
    with torch.inference_mode():
        z = method.fuse(x, y)
    assert z.shape == (1, 6, 9, 15) and torch.isfinite(z).all()


def test_bundled_weights_are_chosen_by_fit_and_by_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import pifnet_engine.methods.pifnet as mod
    monkeypatch.setattr(mod, "BUNDLED_DIR", tmp_path)
    # Nothing bundled: a clear refusal at check_pair, before any window is read.
    method = PIFNetMethod()
    with pytest.raises(WeightsError, match="no bundled PIF-Net weights fit .*none are installed"):
        method.check_pair(_pair())
    # One that does not fit (ratio 3) and one that does (ratio 2): the fitting one is loaded.
    _weights(tmp_path, ratio=3, name="tiny_x3", stem="tiny_x3")
    _weights(tmp_path, name="tiny_x2", stem="tiny_x2")
    method = PIFNetMethod()
    method.check_pair(_pair())
    assert method.weights_name == "tiny_x2"
    with pytest.raises(WeightsError, match="tiny_x3: the pair's pixel-size ratio is 5"):
        PIFNetMethod().check_pair(_pair(ratio=5))
    # By bundled name, and an unknown name.
    assert PIFNetMethod(weights="tiny_x2").weights_name == "tiny_x2"
    with pytest.raises(WeightsError, match="neither a file nor a bundled weights name .*tiny_x2"):
        PIFNetMethod(weights="nope")


def test_provenance_names_the_weights(tmp_path: Path) -> None:
    path, _ = _weights(tmp_path)
    tags = PIFNetMethod(weights=path).provenance()
    assert tags["PIFNET_METHOD"] == "pifnet" and tags["PIFNET_WEIGHTS"] == "tiny_x2"
    assert len(tags["PIFNET_WEIGHTS_SHA256"]) == 64


def test_context_is_set_in_msi_pixels(tmp_path: Path) -> None:
    path, _ = _weights(tmp_path)
    method = PIFNetMethod(weights=path)
    assert [method.halo_lr_px(r) for r in (2, 3, 4, 8)] == [16, 11, 8, 4]
    assert [method.default_overlap_lr_px(r) for r in (2, 3, 4, 8)] == [8, 6, 4, 2]
    assert method.default_batch_size() == 1


def test_a_method_from_an_in_memory_model_fuses_as_its_weights_file(tmp_path: Path) -> None:
    """PIFNetMethod.from_model (training's validation) against the file save_weights writes: same
    output to the bit, same provenance, the same refusals; the model is copied, so
    training it further does not change the method."""
    model = tiny_model(ratio=2)
    randomise_zero_inits(model)
    extra = {"name": "tiny_x2", "hsi": {"wavelengths_nm": WAVES, "fwhm_nm": [4.0] * 6},
             "normalisation": {"hsi": {"offset": 10.0, "scale": 100.0}, "msi": {"offset": 0.0, "scale": [1.0, 2.0, 4.0]}}}
    save_weights(tmp_path / "w", model, extra)
    from_file = PIFNetMethod(weights=tmp_path / "w.safetensors")
    in_memory = PIFNetMethod.from_model(model, extra, name="tiny_x2")
    torch.manual_seed(0)
    x, y = torch.rand(2, 6, 4, 4) * 100 + 10, torch.rand(2, 3, 8, 8)
    outputs = []
    for method in (from_file, in_memory):
        method.check_pair(_pair())
        _statistics(method, x, y)
        with torch.inference_mode():
            outputs.append(method.fuse(x, y))
    assert torch.equal(outputs[0], outputs[1])
    # Same tags but the digest: safetensors writes its metadata in a random order, so two
    # serialisations of the same weights can differ by a few header bytes.
    mem, disk = in_memory.provenance(), from_file.provenance()
    assert len(mem.pop("PIFNET_WEIGHTS_SHA256")) == 64 and len(disk.pop("PIFNET_WEIGHTS_SHA256")) == 64
    assert mem == disk
    with pytest.raises(WeightsError, match="HSI 'hsi.tif' has 31 bands but weights 'tiny_x2' expect 6"):
        in_memory.check_pair(_pair(hsi_bands=31))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    in_memory.check_pair(_pair())
    _statistics(in_memory, x, y)
    with torch.inference_mode():
        assert torch.equal(in_memory.fuse(x, y), outputs[0])


def test_the_channels_last_fast_path_matches_the_contiguous_reference() -> None:
    """The CPU's default layout (channels-last) against the contiguous fp32 reference path, with
    the bundled cave_x4 weights on one 128^2 output window: fp32 within 1e-5 x the output's range
    (rounding only: measured 1.6e-6); bf16 (both layouts) above 40 dB PSNR against the reference,
    the layouts within 1 dB of each other (bfloat16 rounds differently in each)."""
    def method(precision: str, channels_last: bool | None = None) -> PIFNetMethod:
        return PIFNetMethod("cpu", weights="cave_x4", precision=precision, channels_last=channels_last)

    reference = method("fp32", channels_last=False)
    fast, fast_bf16, ref_bf16 = method("fp32"), method("bf16"), method("bf16", channels_last=False)
    assert fast.channels_last and fast_bf16.channels_last and not reference.channels_last
    cfg = fast.model.cfg  # type: ignore[union-attr]
    g = torch.Generator().manual_seed(0)
    hr = torch.nn.functional.avg_pool2d(torch.rand(1, cfg.hsi_bands, 160, 160, generator=g), 33, stride=1)
    x = torch.nn.functional.avg_pool2d(hr, cfg.ratio)
    y = hr[:, : cfg.msi_bands] * 0.5 + hr[:, cfg.msi_bands: 2 * cfg.msi_bands] * 0.5
    out = {}
    for name, m in (("ref", reference), ("fast", fast), ("fast_bf16", fast_bf16), ("ref_bf16", ref_bf16)):
        m.check_pair(_pair(hsi_bands=cfg.hsi_bands, msi_bands=cfg.msi_bands, ratio=cfg.ratio))
        _statistics(m, x, y)
        with torch.inference_mode():
            out[name] = m.fuse(x, y)
    ref = out["ref"]
    assert out["fast"].is_contiguous() and ref.shape == (1, cfg.hsi_bands, 128, 128)
    span = float(ref.max() - ref.min())
    assert float((out["fast"] - ref).abs().max()) <= 1e-5 * span

    def psnr(z: torch.Tensor) -> float:
        return 10 * float(torch.log10(span ** 2 / (z - ref).pow(2).mean()))

    assert psnr(out["fast_bf16"]) > 40 and psnr(out["ref_bf16"]) > 40
    assert abs(psnr(out["fast_bf16"]) - psnr(out["ref_bf16"])) < 1.0
