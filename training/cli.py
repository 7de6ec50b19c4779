"""``pifnet-train``: train PIF-Net on benchmark or georeferenced scenes, evaluate it, export weights.

::

    pifnet-train train --scene cave --data ../shared/data/cave --ratio 4 --protocol paper \\
        --msi-srf nikon_d700 --out runs/cave_x4 [--epochs 500 --batch-size 4 --lr 4e-4 \\
        --time-budget 50m --device auto --hidden 64 --blocks 4 --d-state 4]
    pifnet-train train --out runs/cave_x4 --resume [--time-budget 2h --epochs N --device cuda]
    pifnet-train evaluate runs/cave_x4 --split validation          # or a weights file NAME.safetensors
    pifnet-train export runs/cave_x4 -o pifnet_engine/weights/cave_x4
    pifnet-train fit hsi.tif msi.tif -o fitted.safetensors [--time-budget 10m --init auto|none|NAME|FILE]

Errors are one ``Error:`` line on stderr with the error class's exit code (1 bad data, 2 bad
usage); a run stopped by SIGINT / SIGTERM checkpoints first and exits 130 / 143. See
``docs/training.md``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from pifnet_engine import __version__
from pifnet_engine.cli.boundary import guarded
from pifnet_engine.errors import PifnetError, UsageError
from training.datasets import SCENE_KINDS
from training.pairs import MSI_PRESETS
from pifnet_engine.model.config import PIFNetConfig
from training.run_log import FIT_PROGRESS_MODES, PROGRESS_MODES
from training.trainer_config import TrainConfig

#: train options fixed by a run (refused together with --resume).
RUN_FIXED = ("scene", "ratio", "protocol", "msi_srf", "key", "batch_size", "lr", "lr_step_epochs",
             "schedule", "warmup_steps", "schedule_steps", "inv_penalty", "residual", "paper_settings",
             "patch_size", "stride", "seed", "hidden", "blocks", "d_state")
#: Option defaults: the optimisation ones are TrainConfig's, the model's output form PIFNetConfig's.
_TRAIN_DEFAULTS = TrainConfig()
DEFAULTS: dict[str, Any] = {
    "ratio": 4, "protocol": "paper", "device": "auto", "val_tile_size": _TRAIN_DEFAULTS.val_tile_px,
    "residual": PIFNetConfig.residual,
    **{k: getattr(_TRAIN_DEFAULTS, k) for k in (
        "epochs", "batch_size", "lr", "schedule", "warmup_steps", "schedule_steps", "inv_penalty",
        "lr_step_epochs", "patch_size", "seed", "val_every", "checkpoint_minutes", "checkpoint_every",
        "workers", "precision")},
}


def parse_duration(text: str) -> float:
    """Seconds in ``text``: ``3600``, ``90s``, ``50m``, ``1.5h``, ``1h30m``."""
    s = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return float(s)
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", s)
    if not parts or "".join(a + b for a, b in parts) != s:
        raise UsageError(f"--time-budget {text!r} is not a duration; expected e.g. 3600, 90s, 50m, 1.5h or 1h30m")
    return sum(float(v) * {"h": 3600, "m": 60, "s": 1}[u] for v, u in parts)


def _command_line(name: str, params: dict[str, Any]) -> str:
    """The command as it would be typed (options with a value), for manifests and run.json."""
    out = ["pifnet-train", name]
    for key, value in params.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        out += [flag] if value is True else [flag, str(value)]
    return " ".join(out)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pifnet-train")
@click.option("--debug", is_flag=True, envvar="PIFNET_DEBUG",
              help="Show the Python traceback of an unexpected failure (also PIFNET_DEBUG=1).")
def cli(debug: bool) -> None:
    """Train PIF-Net weights, evaluate them against GSA and bicubic, export them for the engine."""


@cli.command()
@click.option("--scene", type=click.Choice(SCENE_KINDS), default=None, help="Scene kind (see docs/training.md).")
@click.option("--data", type=click.Path(path_type=Path), default=None, help="Scene file or folder.")
@click.option("--ratio", type=click.IntRange(min=2), default=None, help="Resolution ratio s [4].")
@click.option("--protocol", type=click.Choice(["paper", "centred"]), default=None, help="Simulation protocol [paper].")
@click.option("--msi-srf", type=click.Choice(sorted(MSI_PRESETS)), default=None,
              help="MSI to simulate [the scene family's default].")
@click.option("--key", default=None, help="MATLAB variable of a .mat scene [the only 3-D one].")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Run folder.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Epochs [500].")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Global batch [4].")
@click.option("--lr", type=float, default=None, help="AdamW peak learning rate [4e-4].")
@click.option("--lr-step-epochs", type=click.IntRange(min=1), default=None,
              help="--schedule step: halve the lr every N epochs [200].")
@click.option("--schedule", type=click.Choice(["cosine", "step"]), default=None,
              help="Learning-rate schedule: warm-up + cosine per step, or the paper's StepLR [cosine].")
@click.option("--warmup-steps", type=click.IntRange(min=0), default=None, help="Cosine warm-up steps [50].")
@click.option("--schedule-steps", type=click.IntRange(min=1), default=None,
              help="Steps of the cosine decay (set it to what --time-budget allows) [the whole run].")
@click.option("--inv-penalty", type=click.Choice(["square", "paper"]), default=None,
              help="L_inv reading: mean squared log-scale, or the paper's log-det [square].")
@click.option("--residual", type=click.Choice(["bicubic", "none"]), default=None,
              help="Model output: bicubic HSI + Tail, or the paper's Tail alone [bicubic].")
@click.option("--paper-settings", is_flag=True,
              help="The paper's setting: batch 8, lr 1e-4 StepLR, log-det L_inv, residual none "
                   "(explicit options still win).")
@click.option("--patch-size", type=click.IntRange(min=2), default=None, help="Ground-truth patch side, px [64].")
@click.option("--stride", type=click.IntRange(min=1), default=None, help="Patch grid step, px [half a patch].")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed [0].")
@click.option("--hidden", type=click.IntRange(min=1), default=None, help="Model width D [64].")
@click.option("--blocks", type=click.IntRange(min=1), default=None, help="Model blocks L [4].")
@click.option("--d-state", type=click.IntRange(min=1), default=None, help="Selective-scan state size N [4].")
@click.option("--val-every", type=click.IntRange(min=1), default=None, help="Validate every N epochs [1].")
@click.option("--val-tile-size", type=click.IntRange(min=8), default=None, help="Validation tile, MSI px [256].")
@click.option("--checkpoint-minutes", type=click.FloatRange(min=0), default=None, help="Checkpoint every N min [10].")
@click.option("--checkpoint-every", type=click.IntRange(min=0), default=None, help="Checkpoint every N steps [0=off].")
@click.option("--time-budget", default=None, help="Stop cleanly (checkpoint + validation) after e.g. 50m, 2h.")
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Stop after this global step.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None, help="[auto]")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads [torch default].")
@click.option("--workers", type=click.IntRange(min=0), default=None, help="DataLoader worker processes [0].")
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp32"]), default=None,
              help="Training forward pass: bfloat16 autocast where the hardware has it, or always / never [auto].")
@click.option("--progress", type=click.Choice(PROGRESS_MODES), default=None,
              help="bar, log (a line a minute) or none [bar on a terminal, else log].")
@guarded
def train(**params: Any) -> None:
    """Train (or with --resume continue) a run in --out."""
    from training.train_run import TrainRequest, run_training

    ctx = click.get_current_context()
    if params["resume"]:
        fixed = [k for k in RUN_FIXED if params[k] not in (None, False)]
        if fixed:
            raise UsageError(
                f"--resume continues the run in {params['out']} with its own settings; drop "
                f"{', '.join('--' + k.replace('_', '-') for k in fixed)} (only --epochs, --time-budget, "
                "--max-steps, --device, --threads, --workers, --precision, --progress, --val-every, checkpoint options and "
                "--data, for the same data at a new place, may change)"
            )
    elif params["scene"] is None or params["data"] is None:
        raise UsageError("train needs --scene and --data for a new run (or --resume to continue one)")
    defaults = dict(DEFAULTS)
    if params["paper_settings"]:
        from training.trainer_config import PAPER_SETTINGS

        defaults.update(PAPER_SETTINGS, residual="none")
    values = {k: (defaults.get(k) if v is None else v) for k, v in params.items()}
    budget = parse_duration(params["time_budget"]) if params["time_budget"] is not None else None
    progress = params["progress"] or ("bar" if sys.stderr.isatty() else "log")
    request = TrainRequest(values=values, explicit={k for k, v in params.items() if v is not None},
                           time_budget_s=budget, progress=progress,
                           command=_command_line(ctx.info_name or "train", params))
    result = run_training(request)
    if result.exit_code:
        sys.exit(result.exit_code)


@cli.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--split", type=click.Choice(["test", "validation"]), default="test", show_default=True)
@click.option("--scene", type=click.Choice(SCENE_KINDS), default=None, help="[the run's / the weights' scene]")
@click.option("--data", type=click.Path(path_type=Path), default=None, help="[the run's / the weights' data]")
@click.option("--ratio", type=click.IntRange(min=2), default=None)
@click.option("--protocol", type=click.Choice(["paper", "centred"]), default=None)
@click.option("--msi-srf", type=click.Choice(sorted(MSI_PRESETS)), default=None)
@click.option("--key", default=None)
@click.option("-o", "--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for eval_<split>.json/.md [the run folder / the weights' folder].")
@click.option("--tile-size", type=click.IntRange(min=8), default=256, show_default=True, help="Engine tile, MSI px.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None)
@guarded
def evaluate(source: Path, split: str, scene: str | None, data: Path | None, ratio: int | None,
             protocol: str | None, msi_srf: str | None, key: str | None, out: Path | None, tile_size: int,
             device: str, threads: int | None) -> None:
    """Score SOURCE (a run folder or a weights file) against GSA and bicubic on whole scenes."""
    from training.evaluate_run import evaluate_source

    overrides = {"scene": scene, "data": data, "ratio": ratio, "protocol": protocol, "msi_srf": msi_srf, "key": key}
    json_path, md_path, text = evaluate_source(source, split, overrides, out, tile_size, device, threads)
    click.echo(text)
    click.echo(f"wrote {json_path} and {md_path}")


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="NAME (writes NAME.safetensors + NAME.json).")
@click.option("--name", default=None, help="Name in the manifest [NAME's file name].")
@click.option("--notes", default=None, help="Free text stored in the manifest.")
@click.option("--overwrite", is_flag=True, help="Replace existing files.")
@guarded
def export(run_dir: Path, output: Path, name: str | None, notes: str | None, overwrite: bool) -> None:
    """Write the best validated weights of RUN_DIR as an engine weights file."""
    from training.export import export_run

    manifest = export_run(run_dir, output, name=name, overwrite=overwrite, notes=notes)
    val = manifest.get("validation", {}).get("pifnet", {})
    click.echo(f"exported {manifest['name']} ({manifest['model']['parameters']} parameters, step "
               f"{manifest['training'].get('step')}) to {output}; validation PSNR {val.get('psnr')}")


@cli.command()
@click.argument("hsi", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("msi", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Weights to write: NAME.safetensors (+ NAME.json; the run folder NAME.fit beside them).")
@click.option("--time-budget", default="10m", show_default=True, help="Wall time of the whole fit: 600, 90s, 10m, 1h.")
@click.option("--init", default="auto", show_default=True,
              help="Start: auto (bundled weights that fit the pair, else fresh), none (fresh), a bundled name or a file.")
@click.option("--resume", is_flag=True, help="Continue the fit whose run folder is NAME.fit.")
@click.option("--overwrite", is_flag=True, help="Replace NAME.safetensors / NAME.json and an earlier fit's NAME.fit.")
@click.option("--allow-resample", is_flag=True, help="Warp an HSI whose pixel size is not an integer multiple (as fuse).")
@click.option("--allow-small-pair", "allow_small", is_flag=True,
              help="Fine-tune weights even on a pair too small to judge the fine-tune (refused otherwise).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads [torch default].")
@click.option("--lr", type=float, default=None, help="Peak learning rate [4e-4 fresh, 1e-4 from weights].")
@click.option("--batch-size", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp32"]), default="auto", show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--residual", type=click.Choice(["gsa", "bicubic"]), default=None,
              help="Output form of a fresh model: bicubic + learned detail, or the GSA image + detail [bicubic].")
@click.option("--consistency", type=click.FloatRange(min=0.0), default=None,
              help="Weight of the full-resolution consistency term (the fused image averaged over each HSI pixel "
                   "is the HSI, its estimated MSI bands are the MSI); 0 = Wald's protocol alone [1 for a fine-tune "
                   "or a small pair, else 0].")
@click.option("--mix", type=click.FloatRange(0.0, 1.0), default=None,
              help="A fine-tune writes the start + MIX x its change to the start (1 = the fine-tune itself) "
                   "[0.25 on a pair under 12 x 12 HSI pixels after degradation, else 1].")
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Stop after this step (tests, scripts).")
@click.option("--progress", type=click.Choice(FIT_PROGRESS_MODES), default=None,
              help="bar, log, json (the engine's JSON lines) or none [bar on a terminal, else log].")
@guarded
def fit(hsi: Path, msi: Path, output: Path, time_budget: str, init: str, resume: bool, overwrite: bool,
        allow_resample: bool, allow_small: bool, device: str, threads: int | None, lr: float | None,
        batch_size: int, precision: str, seed: int, residual: str | None, consistency: float | None,
        mix: float | None, max_steps: int | None,
        progress: str | None) -> None:
    """Fit PIF-Net to the pair HSI + MSI itself (Wald's protocol at reduced resolution plus consistency at full
    resolution) and write weights
    for `pifnet-engine fuse HSI MSI -o OUT.tif --method pifnet --weights OUTPUT`."""
    from training.fit.run import FitRequest, run_fit

    mode = progress or ("bar" if sys.stderr.isatty() else "log")
    ctx = click.get_current_context()
    try:
        budget = parse_duration(time_budget)
        command = " ".join(["pifnet-train", "fit", str(hsi), str(msi)] + _command_line(
            "x", {k: v for k, v in ctx.params.items() if k not in ("hsi", "msi")}).split()[2:])
        code = run_fit(FitRequest(hsi=hsi, msi=msi, output=output, time_budget_s=budget, init=init, resume=resume,
                                  overwrite=overwrite, allow_resample=allow_resample, allow_small=allow_small,
                                  device=device,
                                  threads=threads, seed=seed, lr=lr, batch_size=batch_size, precision=precision,
                                  consistency=consistency, mix=mix, max_steps=max_steps, progress=mode, command=command,
                                  **({"residual": residual} if residual else {})))
    except PifnetError as exc:
        if mode != "json":
            raise
        sys.stderr.write(json.dumps({"event": "error", "message": str(exc), "exit_code": exc.exit_code}) + "\n")
        sys.exit(exc.exit_code)
    if code:
        sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: errors become one ``Error:`` line and their exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # Not standalone, click returns the code of the click.exceptions.Exit a guarded command ends with.
        code = cli.main(args=args, prog_name="pifnet-train", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"Error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("Error: interrupted", err=True)
        sys.exit(130)
    except PifnetError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)

if __name__ == "__main__":  # torchrun -m training.cli ...
    main()
