"""``pifnet-train fit`` end to end on small generated pairs: weights, manifest, fuse, refusals,
interrupt and resume (seconds each: a few steps, no quality claims)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import rasterio

from pifnet_engine.model.weights import load_weights, read_manifest
from ..engine import cli_runner
from ..engine.scenes import make_pair
from training.cli import main
from training.fit.pair import held_out_block, min_reduced_side, read_pair, reduced_pair
from training.fit.plan import MIN_STEPS, largest_clean_square, needs_probe, schedule_steps
from training.fit.run import FitRequest, run_dir_of, run_fit

BASE = ["--max-steps", "3", "--threads", "1", "--device", "cpu", "--init", "none"]
FAST = [*BASE, "--progress", "none"]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return make_pair(tmp_path_factory.mktemp("pair"), bands=12, fine=(72, 78), ratio=3)


def test_fit_writes_weights_that_fuse_and_refuse_other_bands(pair, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fitted.safetensors"
    code, stdout, err = _run(["fit", str(pair.hsi), str(pair.msi), "-o", str(out), *FAST], capsys)
    assert code == 0, err
    assert "PIF-Net (fitted)" in stdout and "GSA" in stdout and "bicubic" in stdout
    model, manifest = load_weights(out)
    assert manifest["training"]["kind"] == "fit"
    assert manifest["training"]["init"]["how"] == "fresh"
    inputs = manifest["training"]["data"]["inputs"]
    assert inputs["hsi"]["name"] == "hsi.tif" and len(inputs["hsi"]["sha256"]) == 64
    val = manifest["validation"]
    for key in ("pifnet", "gsa", "bicubic"):
        assert np.isfinite(val[key]["psnr"]) and np.isfinite(val[key]["sam"])
    assert isinstance(val["ahead_of_gsa"], bool) and val["verdict"]
    assert model.cfg.hsi_bands == 12 and model.cfg.ratio == 3
    assert (model.cfg.hidden, model.cfg.blocks) == (64, 2)  # a fresh fit's size: half the paper's 4 blocks
    # The full-resolution consistency term is on by default, its MSI responses fitted from the pair.
    cons = manifest["training"]["consistency"]
    assert cons["weight"] == 1.0 and min(cons["msi_responses_r2"]) > 0.999 and cons["patches"] > 0
    assert cons["why"] == "auto: a fresh model on a small pair"
    logged = [float(r.split(",")[7]) for r in (run_dir_of(out) / "train_log.csv").read_text().splitlines()[1:]]
    assert len(logged) == 3 and all(v > 0 for v in logged)
    # --max-steps 3: the schedule is those 3 steps, no step was timed before the fit
    run = json.loads((run_dir_of(out) / "run.json").read_text())
    assert run["train"]["schedule_steps"] == 3 and run["reduced"]["seconds_per_step"] is None
    # The written weights fuse the pair...
    fused = cli_runner.fuse(pair.hsi, pair.msi, tmp_path / "out.tif", "--method", "pifnet", "--weights", str(out))
    with rasterio.open(fused) as ds:
        z = ds.read()
        assert ds.count == 12 and np.isfinite(z).all()
    # ... and are refused for a pair with other bands (one line, exit 1, no output).
    (tmp_path / "other").mkdir()
    other = make_pair(tmp_path / "other", bands=10, fine=(72, 78), ratio=3)
    code, err = cli_runner.run(["fuse", str(other.hsi), str(other.msi), "-o", str(tmp_path / "x.tif"),
                                "--method", "pifnet", "--weights", str(out), "--progress", "none"])
    assert code == 1 and "has 10 bands but weights 'fitted' expect 12" in err
    assert not (tmp_path / "x.tif").exists()


def test_fit_refuses_existing_output_and_bad_budget(pair, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w.safetensors"
    out.write_bytes(b"the user's file")
    code, _, err = _run(["fit", str(pair.hsi), str(pair.msi), "-o", str(out), *FAST], capsys)
    assert code == 2 and "already exists" in err and "--overwrite" in err
    assert out.read_bytes() == b"the user's file"
    code, _, err = _run(["fit", str(pair.hsi), str(pair.msi), "-o", str(tmp_path / "v.safetensors"),
                         "--time-budget", "ten minutes", *FAST], capsys)
    assert code == 2 and "is not a duration" in err and err.count("\n") == 1
    assert not (tmp_path / "v.safetensors").exists() and not run_dir_of(tmp_path / "v.safetensors").exists()


def test_fit_refuses_a_pair_too_small(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = make_pair(tmp_path, bands=6, fine=(45, 45), ratio=3)  # HSI 15 x 15 -> 5 x 5 reduced
    out = tmp_path / "w.safetensors"
    code, _, err = _run(["fit", str(small.hsi), str(small.msi), "-o", str(out), *FAST], capsys)
    need = min_reduced_side(3) * 3
    assert code == 1 and "too small for a reduced-resolution fit" in err and f"{need} x {need} HSI pixels" in err
    assert not out.exists() and not run_dir_of(out).exists()


def test_fit_refuses_an_hsi_with_almost_no_valid_pixels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = make_pair(tmp_path, bands=6, fine=(72, 78), ratio=3)
    with rasterio.open(p.hsi, "r+") as ds:
        data = ds.read()
        data[:, :, :] = -32768.0  # nodata everywhere but one pixel
        data[:, 0, 0] = 0.3
        ds.write(data)
    out = tmp_path / "w.safetensors"
    code, _, err = _run(["fit", str(p.hsi), str(p.msi), "-o", str(out), *FAST], capsys)
    assert code == 1 and ("valid" in err) and err.startswith("Error: ")
    assert not out.exists()


def test_interrupt_keeps_best_weights_and_resume_continues(pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "w.safetensors"

    def interrupt(step: int, terms: dict[str, float]) -> None:
        if step == 2:
            os.kill(os.getpid(), signal.SIGINT)

    req = FitRequest(hsi=pair.hsi, msi=pair.msi, output=out, init="none", threads=1, device="cpu",
                     progress="none", max_steps=MIN_STEPS, on_step=interrupt)
    assert run_fit(req) == 130
    _, manifest = load_weights(out)  # complete, loadable weights
    assert manifest["training"]["stopped"] == "signal"
    rows = (run_dir_of(out) / "train_log.csv").read_text().splitlines()
    assert len(rows) == 1 + 2  # header + steps 1, 2
    # A second fit into the same name is refused; --resume continues from step 2 to 4.
    with pytest.raises(Exception, match="continue it with --resume"):
        run_fit(FitRequest(hsi=pair.hsi, msi=pair.msi, output=out, init="none", progress="none", max_steps=4))
    assert run_fit(FitRequest(hsi=pair.hsi, msi=pair.msi, output=out, resume=True, threads=1, device="cpu",
                              progress="none", max_steps=4)) == 0
    steps = [int(r.split(",")[0]) for r in (run_dir_of(out) / "train_log.csv").read_text().splitlines()[1:]]
    assert steps == [1, 2, 3, 4]
    assert read_manifest(out)["training"]["stopped"] == "max_steps"


def test_resume_refuses_changed_inputs(pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "w.safetensors"
    assert run_fit(FitRequest(hsi=pair.hsi, msi=pair.msi, output=out, init="none", threads=1, device="cpu",
                              progress="none", max_steps=1)) == 0
    (tmp_path / "other").mkdir()
    other = make_pair(tmp_path / "other", bands=12, fine=(72, 78), ratio=3, seed=5)
    with pytest.raises(Exception, match="differs from the one this fit started with"):
        run_fit(FitRequest(hsi=other.hsi, msi=pair.msi, output=out, resume=True, progress="none", max_steps=2))


def test_json_progress_lines(pair, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "w.safetensors"
    code, _, err = _run(["fit", str(pair.hsi), str(pair.msi), "-o", str(out), *BASE, "--progress", "json"], capsys)
    assert code == 0, err
    events = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert all("event" in e for e in events)
    assert events[-1]["event"] == "done" and events[-1]["output"] == str(out.resolve())
    assert any(e["event"] == "progress" and e["stage"] == "fit" for e in events)
    code, _, err = _run(["fit", str(pair.hsi), str(pair.msi), "-o", str(out), *BASE, "--progress", "json"],
                        capsys)
    assert code == 2 and json.loads(err.strip())["event"] == "error"


def test_reduced_pair_holds_out_a_block_no_patch_touches(pair) -> None:  # type: ignore[no-untyped-def]
    data = read_pair(pair.hsi, pair.msi)
    red = reduced_pair(data)
    hc, wc = red.reduced_shape
    bh, bw = held_out_block(hc, wc, 3)
    assert red.held_out_px == (bh, bw) and bh % 2 == 0 and bw % 2 == 0 and 3 * bh >= 11
    assert not red.train.clean[hc - bh:, wc - bw:].any() and red.train.clean[: hc - bh].all()
    assert red.held_out.target.shape[1:] == (3 * bh, 3 * bw)
    # Wald: the reduced HSI is the original degraded by the ratio, in the pair's own units / peak.
    np.testing.assert_allclose(red.train.target * red.peak, np.nan_to_num(data.hsi[:, : 3 * hc, : 3 * wc]),
                               rtol=1e-6)
    assert largest_clean_square(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]], bool)) == 2


def test_the_schedule_is_the_budgets_steps_capped_by_max_steps() -> None:
    # 85 % of a 100 s budget at 0.5 s per step: 170 steps; never fewer than MIN_STEPS
    assert schedule_steps(100.0, 0.5, None) == 170 and schedule_steps(100.0, 0.5, 60) == 60
    assert schedule_steps(100.0, 0.5, 500) == 170 and schedule_steps(1.0, 0.5, None) == MIN_STEPS
    # up to MIN_STEPS the schedule is --max-steps whatever the step time, so it is not measured
    assert not needs_probe(MIN_STEPS) and needs_probe(MIN_STEPS + 1) and needs_probe(None)
    assert schedule_steps(1.0, None, 3) == 3
    with pytest.raises(ValueError):
        schedule_steps(1.0, None, None)


def test_a_pair_larger_than_the_fit_limit_is_fitted_on_its_centred_part(pair, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import training.fit.pair as fit_pair

    whole = read_pair(pair.hsi, pair.msi)  # 24 x 26 HSI pixels (72 x 78 MSI pixels, ratio 3)
    assert whole.note is None and whole.hsi.shape[1:] == (24, 26)
    monkeypatch.setattr(fit_pair, "MAX_FIT_MSI_PX", 30)  # at most 10 x 10 HSI pixels
    part = read_pair(pair.hsi, pair.msi)
    assert part.note is not None and "uses its centred 10 x 10" in part.note
    assert np.array_equal(part.hsi, whole.hsi[:, 7:17, 8:18], equal_nan=True)
    assert np.array_equal(part.msi, whole.msi[:, 21:51, 24:54], equal_nan=True)


def test_fit_never_deletes_a_folder_that_is_not_its_run_folder(pair, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w.safetensors"
    mine = run_dir_of(out)
    mine.mkdir()
    (mine / "notes.txt").write_text("the analyst's notes")
    code, _, err = _run(["fit", str(pair.hsi), str(pair.msi), "-o", str(out), *FAST, "--overwrite"], capsys)
    assert code == 2 and "is not a fit's run folder" in err
    assert (mine / "notes.txt").read_text() == "the analyst's notes" and not out.exists()


def test_fine_tuning_on_the_tiny_demo_pair_warns_and_wald_alone_is_refused_unless_asked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = Path(__file__).resolve().parents[2] / "pifnet_engine" / "demo"
    out = tmp_path / "w.safetensors"
    args = ["fit", str(demo / "hsi_enmap_90m.tif"), str(demo / "msi_s2_30m.tif"), "-o", str(out),
            "--max-steps", "1", "--threads", "1", "--device", "cpu", "--progress", "none"]
    # Wald's protocol alone: refused, one line, nothing written.
    code, _, err = _run([*args, "--consistency", "0"], capsys)
    assert code == 1 and "too small to fit weights 'enmap_s2_x3'" in err and "--allow-small-pair" in err
    assert err.count("\n") == 1 and not out.exists() and not run_dir_of(out).exists()
    code, stdout, err = _run([*args, "--consistency", "0", "--allow-small-pair"], capsys)
    assert code == 0, err
    assert "PIF-Net (start, unfitted)" in stdout and read_manifest(out)["training"]["consistency"] is None
    # With the consistency term (the default): a warning, and the fit runs.
    code, stdout, err = _run([*args, "--overwrite"], capsys)
    assert code == 0, err
    assert "Warning: the pair is too small to fit weights 'enmap_s2_x3'" in err and "consistency term guides" in err
    manifest = read_manifest(out)
    assert manifest["training"]["init"]["weights"] == "enmap_s2_x3" and manifest["training"]["consistency"]["weight"] == 1.0


def test_a_fresh_start_is_initialised_from_the_seed(pair) -> None:  # type: ignore[no-untyped-def]
    """--seed makes a fit from scratch reproducible: the fresh model depends on it alone, not on
    whatever drew random numbers before (and leaves the global random state as it was)."""
    import torch

    from training.fit.start import choose_start

    spec = read_pair(pair.hsi, pair.msi).spec
    torch.manual_seed(123)
    first = choose_start("none", spec, seed=0)[0].model.state_dict()
    after = torch.rand(1)
    torch.manual_seed(123)
    torch.rand(5)  # another history of the global generator
    second = choose_start("none", spec, seed=0)[0].model.state_dict()
    other = choose_start("none", spec, seed=1)[0].model.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)
    torch.manual_seed(123)
    choose_start("none", spec, seed=0)
    assert torch.equal(torch.rand(1), after)
