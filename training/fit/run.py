"""``pifnet-train fit``: fit PIF-Net to the analyst's own pair and write engine weights.

Steps: read the pair as ``fuse`` would (:mod:`.pair`), degrade it by the ratio (Wald's
protocol) and hold out a block, choose the start (:mod:`.start`), measure a few steps and plan
the optimisation for the time budget (:mod:`.plan`), train with the ordinary
:class:`~training.trainer.Trainer` (checkpoints, SIGINT / SIGTERM, best-so-far on the held-out
block), then score the best weights, the start, GSA and bicubic on the held-out block
(:mod:`.report`) and write ``OUT.safetensors`` + ``OUT.json`` (atomically, each). A
fine-tune on a small pair writes a mix of the best weights with the start (:mod:`.mix`).

The run folder ``OUT.fit/`` beside the output holds ``run.json``, checkpoints, logs and the
best weights so far; ``--resume`` continues it. Whatever stops the fit (budget, ``--max-steps``,
Ctrl-C, SIGTERM), the output is the best validated weights so far, complete; the start itself is
validated at step 0, so there always is one.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import torch

from pifnet_engine.errors import InputDataError, OutputExistsError, UsageError
from pifnet_engine.model import PIFNet, PIFNetConfig
from pifnet_engine.model.normalisation import pair_mean_section
from pifnet_engine.model.weights import load_weights, save_weights, sha256_file, weights_paths
from training.distributed import init_distributed, shutdown
from training.fit.consistency import ConsistencyTerm, full_resolution
from training.fit.mix import SMALL_PAIR_MIX, mix_weights
from training.fit.pair import PairData, ReducedPair, read_pair, reduced_pair, with_gsa_base
from training.fit.plan import fit_config, needs_probe, patch_side, seconds_per_step
from training.fit.report import table_text, validation_section, verdict
from training.fit.start import FRESH_RESIDUAL, Start, choose_start
from training.pairs import PatchDataset, seen_maxima
from training.run_log import read_log
from training.trainer import BEST, StepHook, TrainResult, Trainer
from training.trainer_config import TrainConfig, read_run_file, write_run_file

RUN_SUFFIX = ".fit"
#: The start's weights in the run folder of a fine-tune (the mix needs them, also after --resume).
START = "start"
#: Below these reduced-resolution HSI sides (coarse pixels) a fit from scratch warns and a fit from
#: weights is refused (unless --allow-small-pair). Measured on the README demo (7 x 7 after
#: degradation, 4 x 4 held out): a 40-second fine-tune of enmap_s2_x3 looked better on its block
#: (43.83 vs 43.48 dB) and was 0.5 dB worse at 30 m against the real reference (35.47 vs 35.97).
SMALL_FRESH, SMALL_FINE_TUNE = 24, 12
#: Weight of the full-resolution consistency term where it is on by default (see consistency_weight).
CONSISTENCY = 1.0


@dataclass
class FitRequest:
    """What ``pifnet-train fit`` was asked."""

    hsi: Path
    msi: Path
    output: Path
    time_budget_s: float = 600.0
    init: str = "auto"
    resume: bool = False
    overwrite: bool = False
    allow_resample: bool = False
    allow_small: bool = False
    device: str = "auto"
    threads: int | None = None
    seed: int = 0
    lr: float | None = None
    batch_size: int = 4
    precision: str = "auto"
    residual: str = FRESH_RESIDUAL
    consistency: float | None = None  # None: auto (see consistency_weight)
    mix: float | None = None  # None: auto (see mix_fraction)
    max_steps: int | None = None
    progress: str = "bar"
    command: str = "pifnet-train fit"
    on_step: StepHook | None = None
    stream: TextIO | None = None


def run_dir_of(output: Path) -> Path:
    """``OUT.fit`` beside ``OUT.safetensors``."""
    st, _ = weights_paths(output)
    return st.with_name(st.name[: -len(".safetensors")] + RUN_SUFFIX)


def _check_paths(req: FitRequest) -> tuple[Path, Path, Path]:
    st, js = weights_paths(req.output)
    run_dir = run_dir_of(req.output)
    for p in (st, js):
        if p.resolve() in (req.hsi.resolve(), req.msi.resolve()):
            raise OutputExistsError(f"the output path '{p}' is one of the inputs; choose another name")
    if not st.parent.is_dir():
        raise UsageError(f"the output folder '{st.parent}' does not exist; create it first")
    if run_dir.exists() and not (run_dir / "run.json").is_file() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise OutputExistsError(f"'{run_dir}' exists and is not a fit's run folder (no run.json); the fit keeps its "
                                "checkpoints there: move it away or choose another output name")
    started = (run_dir / "checkpoints" / "last.json").is_file()  # a fit that stopped before it is not resumable
    if req.resume:
        if not started:
            raise InputDataError(f"--resume: no fit to continue in {run_dir} (none was started, or it stopped "
                                 "before its first checkpoint); start it again without --resume")
        return st, js, run_dir
    if started and not req.overwrite:
        raise OutputExistsError(f"a fit for '{st.name}' exists in {run_dir}; continue it with --resume, or pass "
                                "--overwrite to start over")
    for p in (st, js):
        if p.exists() and not req.overwrite:
            raise OutputExistsError(f"the output '{p}' already exists; choose another name or pass --overwrite")
    return st, js, run_dir


def _inputs(req: FitRequest) -> dict[str, Any]:
    return {role: {"name": p.name, "path": str(p.resolve()), "sha256": sha256_file(p)}
            for role, p in (("hsi", req.hsi), ("msi", req.msi))}


def _sensor(pair: PairData) -> tuple[dict[str, Any], dict[str, Any]]:
    hi, mi = pair.hsi_info, pair.msi_info
    hsi = {"sensor": None, "wavelengths_nm": list(hi.wavelengths_nm) if hi.wavelengths_nm else None,
           "fwhm_nm": list(hi.fwhm_nm) if hi.fwhm_nm else None, "wavelengths_nominal": False}
    msi = {"sensor": None, "band_names": list(pair.spec.msi_band_names or ()) or None,
           "wavelengths_nm": list(mi.wavelengths_nm) if mi.wavelengths_nm else None,
           "spectral_responses": None}
    return hsi, msi


def _manifest_extra(req: FitRequest, run: dict[str, Any], pair: PairData) -> dict[str, Any]:
    hsi, msi = _sensor(pair)
    seen = run["normalisation"]["seen"]
    return {"hsi": hsi, "msi": msi, "normalisation": pair_mean_section(seen["hsi_max"], seen["msi_max"]),
            "training": {"kind": "fit", "data": {"inputs": run["inputs"], "reduced": run["reduced"]},
                         "protocol": "centred (Wald: the pair degraded by its ratio)",
                         "consistency": run.get("consistency"), "init": run["init"],
                         "command": run["command"], "settings": run["train"], "device": run["device"]}}


def _check_small(reduced: ReducedPair, start: Start, ratio: int, allow_small: bool, consistent: bool,
                 say: Any) -> None:
    """Warn about a pair small for a fit from scratch; on a pair too small to judge a fine-tune
    (see :data:`SMALL_FINE_TUNE`) warn when the full-resolution consistency term is on
    (``consistent``) and refuse (unless ``allow_small``) a fine-tune with Wald's protocol alone."""
    side = min(reduced.reduced_shape)
    hc, wc = reduced.reduced_shape
    bh, bw = reduced.held_out_px
    if start.source is None and side < SMALL_FRESH:
        expect = ("the full-resolution consistency term carries most of such a fit" if consistent else
                  "with Wald's protocol alone expect it to stay close to bicubic")
        say(f"Warning: the pair is small for a fit from scratch: {hc} x {wc} HSI pixels after degradation "
            f"(Wald's protocol wants at least {SMALL_FRESH} x {SMALL_FRESH}); {expect}; start from weights that "
            "fit (--init NAME) where there are any, or use GSA if the table below says so")
    elif start.source is not None and side < SMALL_FINE_TUNE:
        name = start.manifest["name"] if start.manifest else start.source.stem
        text = (f"the pair is too small to fit weights '{name}' to it: {hc} x {wc} HSI pixels after degradation, "
                f"a held-out block of {bh} x {bw}, where a fine-tune needs {SMALL_FINE_TUNE} x {SMALL_FINE_TUNE} "
                f"({SMALL_FINE_TUNE * ratio} x {SMALL_FINE_TUNE * ratio} HSI pixels at ratio {ratio}): its held-out "
                "scores would be noise")
        if consistent:
            say(f"Warning: {text}; the full-resolution consistency term guides this fine-tune, but which step is "
                "kept is still chosen on that block")
            return
        if not allow_small:
            raise InputDataError(f"{text}; with Wald's protocol alone (--consistency 0) such a fine-tune is refused: "
                                 f"fuse with the weights as they are (--method pifnet --weights {name}), keep the "
                                 "consistency term, or pass --allow-small-pair to fit anyway")
        say(f"Warning: {text} (--allow-small-pair)")


def consistency_weight(asked: float | None, from_weights: bool, reduced_side: int) -> tuple[float, str]:
    """The weight of the full-resolution consistency term and why: ``asked`` when given, else
    :data:`CONSISTENCY` for a fine-tune or a fresh model on a pair under :data:`SMALL_FRESH` reduced
    pixels a side, 0 for a fresh model on a larger pair (the term doubles a step's cost, and a fresh
    model there gains more from the steps: docs/fit.md, "The consistency term")."""
    if asked is not None:
        return asked, "--consistency"
    if from_weights:
        return CONSISTENCY, "auto: a fine-tune"
    if reduced_side < SMALL_FRESH:
        return CONSISTENCY, "auto: a fresh model on a small pair"
    return 0.0, "auto: a fresh model on a pair large enough for Wald's protocol"


def mix_fraction(asked: float | None, from_weights: bool, reduced_side: int) -> tuple[float, str]:
    """The fraction of a fine-tune's change to its start that is written, and why: 1 for a fresh
    model (there is no start to mix with), ``asked`` (``--mix``) when given, else
    :data:`~training.fit.mix.SMALL_PAIR_MIX` on a pair under :data:`SMALL_FINE_TUNE` reduced pixels a
    side (its held-out block is too small to choose the fine-tune's step well) and 1 on a larger one."""
    if not from_weights:
        return 1.0, "a fresh model"
    if asked is not None:
        return asked, "--mix"
    if reduced_side < SMALL_FINE_TUNE:
        return SMALL_PAIR_MIX, f"auto: a fine-tune on a pair under {SMALL_FINE_TUNE} reduced pixels a side"
    return 1.0, "auto: a fine-tune on a pair large enough to choose its step"


def _mixed(best: PIFNet, best_step: int, run: dict[str, Any], run_dir: Path,
           trainer: Trainer) -> tuple[PIFNet, dict[str, float] | None, dict[str, Any]]:
    """The model to write: ``best``, or for a fine-tune with a mix fraction under 1 whose best step
    is not its start, the mix (:func:`~training.fit.mix.mix_weights`) with its held-out scores.
    Returns (model, the mix's held-out metrics or None, the manifest's ``training.mix``)."""
    mix = run.get("mix") or {"fraction": 1.0, "why": "a fresh model"}
    fraction = float(mix["fraction"])
    record = {"fraction": fraction, "why": mix["why"], "applied": False}
    if fraction >= 1.0 or best_step == 0 or not (run_dir / f"{START}.safetensors").is_file():
        return best, None, record
    start, _ = load_weights(run_dir / f"{START}.safetensors")
    model = mix_weights(start, best, fraction)
    with torch.no_grad():
        report = trainer.score(model)
    record["applied"] = True
    return model, {m: float(v) for m, v in report["mean"]["pifnet"].items()}, record


def _consistency(weight: float, why: str, pair: PairData, reduced: ReducedPair, residual: str, batch: int,
                 seed: int, device: torch.device, say: Any) -> tuple[ConsistencyTerm | None, dict[str, Any] | None]:
    """The full-resolution consistency term of weight ``weight`` (None for 0, with a warning when the
    pair or the model's output form cannot have it) and its record for the run file."""
    if weight <= 0:
        return None, None
    if residual == "gsa":
        say("Warning: the full-resolution consistency term is not available to a GSA-residual model (its output "
            "needs the GSA image of every patch); fitting with Wald's protocol alone")
        return None, None
    try:
        data = full_resolution(pair, reduced)
    except InputDataError as exc:
        say(f"Warning: no full-resolution consistency term: {exc}; fitting with Wald's protocol alone")
        return None, None
    summary = {**data.summary(weight), "why": why}
    r2 = ", ".join("n/a" if v is None else f"{v:.3f}" for v in summary["msi_responses_r2"])
    say(f"consistency at full resolution: weight {weight:g} ({why}), {summary['patches']} patches of "
        f"{summary['patch_px']} px "
        f"outside the held-out block; MSI bands as a mix of HSI bands estimated from the pair (R² {r2})")
    return ConsistencyTerm(data, weight, batch, seed, device), summary


def _table(best_manifest: dict[str, Any], run_dir: Path, from_weights: bool) -> dict[str, dict[str, float]]:
    """Held-out scores of the best weights, GSA and bicubic (the validation the trainer stored with
    them, no second fusion) and, from weights, of the start (step 0 of val_log.csv)."""
    val = best_manifest["validation"]
    table = {k: {m: math.nan if v is None else float(v) for m, v in val[k].items()} for k in ("pifnet", "gsa", "bicubic")}
    if from_weights:
        first = next((row for row in read_log(run_dir / "val_log.csv") if int(row["step"]) == 0), None)
        if first is not None:
            table["start"] = {m: float(first[m]) for m in ("psnr", "ssim", "sam", "ergas")}
    return {k: table[k] for k in ("pifnet", "start", "gsa", "bicubic") if k in table}


def run_fit(req: FitRequest) -> int:
    """Run the fit; returns the exit code (0, or 130 / 143 after SIGINT / SIGTERM)."""
    started = time.monotonic()
    out = req.stream or sys.stderr

    def say(text: str) -> None:
        if req.progress == "json":
            kind = "warning" if text.startswith("Warning: ") else "progress"
            body = text[len("Warning: "):] if kind == "warning" else text
            obj = {"event": kind, "message": body}
            if kind == "progress":
                obj.update(stage="prepare", fraction=0.0, windows_done=0, windows_total=0)
            out.write(json.dumps(obj) + "\n")
        elif req.progress != "none" or text.startswith("Warning: "):
            out.write(text + "\n")
        out.flush()

    if req.time_budget_s <= 0:
        raise UsageError(f"--time-budget must be positive; got {req.time_budget_s:g} s")
    st_path, _, run_dir = _check_paths(req)
    if req.threads:
        torch.set_num_threads(req.threads)
    pair = read_pair(req.hsi, req.msi, req.allow_resample)
    for w in pair.warnings:
        say(f"Warning: {w}")
    if pair.note:
        say(f"Warning: {pair.note}")
    inputs = _inputs(req)
    reduced = reduced_pair(pair)
    dist = init_distributed(req.device)
    try:
        if req.resume:
            run = read_run_file(run_dir)
            for role in ("hsi", "msi"):
                if run["inputs"][role]["sha256"] != inputs[role]["sha256"]:
                    raise InputDataError(
                        f"--resume: the {role.upper()} '{req.hsi if role == 'hsi' else req.msi}' differs from the one "
                        f"this fit started with ({run['inputs'][role]['path']}, checksum changed); start a new fit")
            if req.mix is not None and run["init"]["how"] != "fresh":
                run["mix"] = {"fraction": req.mix, "why": "--mix"}  # applied after the fit: it may change
            cfg = TrainConfig.from_dict(run["train"])
            model_cfg = PIFNetConfig.from_dict(run["model"])
            if model_cfg.residual == "gsa":
                reduced = with_gsa_base(reduced)
            start = None
            say(f"resuming the fit in {run_dir}")
            record = run.get("consistency") or {}
            term, _ = _consistency(float(record.get("weight", 0.0)), str(record.get("why", "as started")), pair,
                                   reduced, model_cfg.residual, cfg.batch_size, cfg.seed, dist.device, say)
        else:
            start, reasons = choose_start(req.init, pair.spec, req.residual, req.seed)
            say(f"start: {start.description}")
            if req.init == "auto" and start.source is None and reasons:
                say("  (no bundled weights fit this pair: " + "; ".join(reasons) + ")")
            if start.model.cfg.residual == "gsa":
                reduced = with_gsa_base(reduced)
            patch = patch_side(reduced.train)
            probe_ds = PatchDataset([reduced.train], patch_size=patch, stride=reduced.train.ratio, seed=req.seed)
            batch = min(req.batch_size, len(probe_ds))
            weight, why = consistency_weight(req.consistency, start.source is not None, min(reduced.reduced_shape))
            if weight <= 0:
                say(f"no full-resolution consistency term ({why}; --consistency 1 adds it)")
            term, term_record = _consistency(weight, why, pair, reduced, start.model.cfg.residual, batch, req.seed,
                                             dist.device, say)
            _check_small(reduced, start, pair.ratio, req.allow_small, term is not None, say)
            step_s = (seconds_per_step(start.model, probe_ds, batch, dist.device, req.precision, term)
                      if needs_probe(req.max_steps) else None)
            budget_left = req.time_budget_s - (time.monotonic() - started)
            cfg = fit_config(reduced.train, start.source is not None, budget_left, step_s, len(probe_ds),
                             seed=req.seed, lr=req.lr, batch=req.batch_size, precision=req.precision,
                             max_steps=req.max_steps)
            model_cfg = start.model.cfg
            seen = seen_maxima([reduced.train])
            if start.manifest is not None:
                old = start.manifest["normalisation"].get("seen") or {}
                seen = (max(seen[0], old.get("hsi_max", 0.0)), max(seen[1], old.get("msi_max", 0.0)))
            if run_dir.exists():
                shutil.rmtree(run_dir)  # --overwrite, or a fit stopped before its first checkpoint
            run_dir.mkdir(parents=True)
            hc, wc = reduced.reduced_shape
            run = {"kind": "fit", "command": req.command, "inputs": inputs, "init": start.summary(),
                   "reduced": {"hsi_shape": [hc, wc], "ratio": pair.ratio, "peak": reduced.peak,
                               "held_out_block_hsi_px": list(reduced.held_out_px),
                               "valid_fraction": round(reduced.valid_fraction, 4), "seconds_per_step": step_s},
                   "train": cfg.to_dict(), "model": model_cfg.to_dict(),
                   "normalisation": {"inputs": "pair_mean", "seen": {"hsi_max": seen[0], "msi_max": seen[1]}},
                   "consistency": term_record, "device": dist.device.type, "resumed": []}
            fraction, mix_why = mix_fraction(req.mix, start.source is not None, min(reduced.reduced_shape))
            run["mix"] = {"fraction": fraction, "why": mix_why}
            write_run_file(run_dir, run)
            if start.source is not None:
                save_weights(run_dir / START, start.model, start.manifest and {
                    k: start.manifest[k] for k in ("hsi", "msi", "normalisation", "name") if k in start.manifest})
            if fraction < 1.0:
                say(f"mix: the written weights will be the start + {fraction:g} x the fine-tune's change "
                    f"({mix_why}; --mix 1 writes the fine-tune itself)")
            say(f"fit: {hc} x {wc} HSI pixels at reduced resolution (ratio {pair.ratio}), held out "
                f"the bottom-right {reduced.held_out_px[0]} x {reduced.held_out_px[1]}; "
                f"patches {cfg.patch_size} px, batch {cfg.batch_size}, lr {cfg.lr:g}, "
                + (f"about {cfg.schedule_steps} steps of {step_s:.2f} s" if step_s is not None
                   else f"{cfg.schedule_steps} steps (--max-steps)")
                + f" in {req.time_budget_s / 60:.1f} min")
        extra = _manifest_extra(req, run, pair)
        wavelengths = pair.hsi_info.wavelengths_nm
        trainer = Trainer(run_dir, model_cfg, cfg, [reduced.train], [reduced.held_out], dist, extra,
                          scale=reduced.peak, wavelengths_nm=wavelengths, progress=req.progress,
                          on_step=req.on_step, extra_loss=term)
        if req.resume:
            trainer.resume()
        else:
            assert start is not None
            trainer.model.load_state_dict(start.model.state_dict())
        result: TrainResult = trainer.fit(req.time_budget_s, req.max_steps, started=started,
                                          validate_first=not req.resume)
        best_model, best_manifest = load_weights(run_dir / f"{BEST}.safetensors")
        table = _table(best_manifest, run_dir, run["init"]["how"] != "fresh")
        step = int(best_manifest["training"].get("step", 0))
        written, mixed_scores, mix_record = _mixed(best_model, step, run, run_dir, trainer)
        if mixed_scores is not None:
            table = {"pifnet": mixed_scores, "fine_tuned": table["pifnet"],
                     **{k: v for k, v in table.items() if k != "pifnet"}}
            say(f"written weights: the start + {mix_record['fraction']:g} x the fine-tune's change "
                f"({mix_record['why']}; the unmixed fine-tune is in the table below)")
        final = dict(extra)
        final["name"] = st_path.name[: -len(".safetensors")]
        final["validation"] = validation_section(table, run["reduced"], step)
        final["training"] = {**extra["training"], "step": step, "stopped": result.reason,
                             "run": str(run_dir.resolve()), "mix": mix_record}
        save_weights(st_path, written, final)
        ahead, text = verdict(table)
        sys.stdout.write("held-out block at reduced resolution (the fit's own check; PSNR with data range = the "
                         "HSI's 99.9th percentile):\n" + table_text(table) + "\n")
        sys.stdout.write(("" if ahead else "Warning: ") + text + "\n")
        sys.stdout.write(f"wrote {st_path} (best step {step}; stopped: {result.reason}"
                         f"{', continue with --resume' if result.reason == 'signal' else ''})\n")
        sys.stdout.flush()
        if req.progress == "json":
            out.write(json.dumps({"event": "done", "output": str(st_path.resolve()),
                                  "seconds": round(time.monotonic() - started, 3),
                                  "ahead_of_gsa": ahead}) + "\n")
            out.flush()
        return result.exit_code
    finally:
        shutdown(dist)
