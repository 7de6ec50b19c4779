"""The mix of a fine-tune with its start (``--mix``, :mod:`training.fit.mix`): the arithmetic,
when it is on, and a small-pair fine-tune through the CLI that writes the mix, scores it and says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from pifnet_engine.model import PIFNet, PIFNetConfig
from pifnet_engine.model.weights import load_weights, save_weights
from ..engine.scenes import make_pair
from training.cli import main
from training.fit.mix import SMALL_PAIR_MIX, mix_weights
from training.fit.run import SMALL_FINE_TUNE, START, mix_fraction, run_dir_of

CPU = ["--threads", "1", "--device", "cpu", "--progress", "log"]


def _model(seed: int, **cfg: int) -> PIFNet:
    torch.manual_seed(seed)
    model = PIFNet(PIFNetConfig(hsi_bands=6, msi_bands=3, ratio=2, hidden=8, blocks=1, **cfg))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))  # distinct tensors everywhere (some initialise to zeros)
    return model


def test_mix_weights_is_the_linear_path_from_the_start_to_the_fine_tune() -> None:
    start, tuned = _model(0), _model(1)
    s, t = start.state_dict(), tuned.state_dict()
    for fraction in (0.0, 0.25, 1.0):
        mixed = mix_weights(start, tuned, fraction).state_dict()
        for k, v in mixed.items():
            torch.testing.assert_close(v, s[k] + fraction * (t[k] - s[k]), rtol=1e-6, atol=1e-6)
    assert all(torch.equal(tuned.state_dict()[k], t[k]) for k in t)  # the inputs are left as they were
    with pytest.raises(ValueError, match="different model configs"):
        mix_weights(start, _model(1, d_state=2), 0.5)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        mix_weights(start, tuned, 1.5)


def test_the_mix_is_on_for_fine_tunes_on_small_pairs_only() -> None:
    small, large = SMALL_FINE_TUNE - 1, SMALL_FINE_TUNE
    assert mix_fraction(None, True, small)[0] == SMALL_PAIR_MIX
    assert mix_fraction(None, True, large)[0] == 1.0
    assert mix_fraction(0.5, True, large) == (0.5, "--mix")
    assert mix_fraction(0.5, False, small)[0] == 1.0  # a fresh model has no start to mix with


def test_a_small_pair_fine_tune_writes_the_mix_and_says_so(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    pair = make_pair(tmp_path, bands=12, fine=(72, 78), ratio=3)  # 8 x 8 HSI pixels after degradation
    # A start that a few steps clearly improve: a short fit from scratch, its weights disturbed.
    base = tmp_path / "base.safetensors"
    with pytest.raises(SystemExit) as done:
        main(["fit", str(pair.hsi), str(pair.msi), "-o", str(base), "--init", "none", "--max-steps", "2",
              "--progress", "none", "--threads", "1", "--device", "cpu"])
    assert done.value.code in (0, None)
    model, manifest = load_weights(base)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("tail_fused"):
                p.add_(0.05 * torch.randn_like(p))
    disturbed = tmp_path / "disturbed.safetensors"
    save_weights(disturbed, model, {k: manifest[k] for k in ("hsi", "msi", "normalisation")})
    capsys.readouterr()

    out = tmp_path / "fitted.safetensors"
    with pytest.raises(SystemExit) as done:
        main(["fit", str(pair.hsi), str(pair.msi), "-o", str(out), "--init", str(disturbed), "--max-steps", "6",
              "--lr", "2e-3", *CPU])
    stdout, err = capsys.readouterr()
    assert done.value.code in (0, None), err
    run_dir = run_dir_of(out)
    run = json.loads((run_dir / "run.json").read_text())
    assert run["mix"]["fraction"] == SMALL_PAIR_MIX and "auto" in run["mix"]["why"]
    written, final = load_weights(out)
    record = final["training"]["mix"]
    assert final["training"]["step"] > 0, "the disturbed start was not improved on: the test proves nothing"
    assert record == {"fraction": SMALL_PAIR_MIX, "why": run["mix"]["why"], "applied": True}
    assert "written weights: the start + 0.25 x the fine-tune's change" in err
    assert "PIF-Net (unmixed fine-tune)" in stdout and "PIF-Net (fitted)" in stdout
    # The written tensors are the start + 0.25 x (the best fine-tune - the start).
    start, _ = load_weights(run_dir / f"{START}.safetensors")
    best, best_manifest = load_weights(run_dir / "best.safetensors")
    expected = mix_weights(start, best, SMALL_PAIR_MIX).state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in written.state_dict().items())
    assert not all(torch.equal(v, best.state_dict()[k]) for k, v in written.state_dict().items())
    # The table scores what was written (not the unmixed fine-tune) and keeps the fine-tune's row.
    val = final["validation"]
    assert val["fine_tuned"]["psnr"] == pytest.approx(best_manifest["validation"]["pifnet"]["psnr"])
    assert val["pifnet"]["psnr"] != pytest.approx(val["fine_tuned"]["psnr"], abs=1e-6)
