"""``pifnet-engine weights show FILE``: print a weights file's manifest.

Only the JSON manifest is read (and checked); the tensors are not loaded. Errors are
:class:`~pifnet_engine.errors.WeightsError` (exit code 1), reported by the main command group.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from pifnet_engine.model.normalisation import MODE_PAIR_MEAN, mode_of
from pifnet_engine.model.weights import read_manifest, weights_paths
from pifnet_engine.cli.boundary import guarded


@click.group("weights")
def weights() -> None:
    """Inspect PIF-Net weights files (NAME.safetensors + NAME.json)."""


def _fmt(value: Any, limit: int = 6) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        shown = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value[:limit])
        more = f", ... ({len(value)} values)" if len(value) > limit else ""
        return f"[{shown}{more}]"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _normalisation(norm: dict[str, Any]) -> str:
    if mode_of(norm) == MODE_PAIR_MEAN:
        seen = norm["seen"]
        return (f"unit-free (pair_mean): HSI / its mean, MSI / its mean; trained on values up to "
                f"{seen['hsi_max']:.3g} (HSI) and {seen['msi_max']:.3g} (MSI) times the mean")
    return (f"fixed: HSI (x - {_fmt(norm['hsi']['offset'])}) / {_fmt(norm['hsi']['scale'])}, "
            f"MSI (x - {_fmt(norm['msi']['offset'])}) / {_fmt(norm['msi']['scale'])}")


def _residual(cfg: dict[str, Any]) -> str:
    if cfg.get("residual", "none") == "bicubic":
        return "bicubic-upsampled HSI + learned detail (residual)"
    return "the Tail's output alone (the paper's form)"


def format_manifest(m: dict[str, Any]) -> str:
    """Human-readable multi-line summary of a manifest."""
    cfg = m["model"]["config"]
    lines = [
        f"name:            {m['name']}",
        f"architecture:    {m['model'].get('architecture', 'PIF-Net')}, "
        f"{m['model'].get('parameters', '?')} parameters",
        f"config:          D={cfg.get('hidden')} L={cfg.get('blocks')} d_state={cfg.get('d_state')} "
        f"lora_heads={cfg.get('lora_heads')} lora_rank={cfg.get('lora_rank')} beta={cfg.get('beta')}",
        f"ratio:           {m['ratio']}",
        f"HSI:             {m['hsi']['bands']} bands, sensor {_fmt(m['hsi'].get('sensor'))}",
        f"  wavelengths:   {_fmt(m['hsi'].get('wavelengths_nm'))} nm",
        f"  fwhm:          {_fmt(m['hsi'].get('fwhm_nm'))} nm",
        f"MSI:             {m['msi']['bands']} bands, sensor {_fmt(m['msi'].get('sensor'))}",
        f"  band names:    {_fmt(m['msi'].get('band_names'))}",
        f"  wavelengths:   {_fmt(m['msi'].get('wavelengths_nm'))} nm",
        f"  responses:     {'given' if m['msi'].get('spectral_responses') else '-'}",
        f"normalisation:   {_normalisation(m['normalisation'])}",
        f"output:          {_residual(cfg)}",
    ]
    training = m.get("training") or {}
    lines.append(f"training data:   {_fmt(training.get('data'))}")
    lines.append(f"training cmd:    {_fmt(training.get('command'))}")
    validation = m.get("validation") or {}
    metrics = ", ".join(f"{k}={_fmt(v)}" for k, v in validation.items()) or "-"
    lines.append(f"validation:      {metrics}")
    lines.append(f"engine version:  {m.get('engine_version', '?')}")
    lines.append(f"sha256:          {m['sha256']}")
    return "\n".join(lines)


@weights.command("show")
@click.argument("file", type=str, metavar="FILE|NAME")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@guarded
def show(file: str, as_json: bool) -> None:
    """Print the manifest of weights FILE (NAME, NAME.safetensors or NAME.json) or of a bundled
    weights NAME (see `pifnet-engine weights list`)."""
    from pifnet_engine.methods.pifnet import bundled_weights

    bundled = {p.stem: p for p in bundled_weights()}
    path = Path(file) if Path(file).exists() or file not in bundled else bundled[file]
    manifest = read_manifest(path)
    if as_json:
        click.echo(json.dumps(manifest, indent=2))
    else:
        click.echo(f"file:            {weights_paths(path)[0]}")
        click.echo(format_manifest(manifest))


@weights.command("list")
@guarded
def list_bundled() -> None:
    """List the weights bundled with this installation (usable as --weights NAME)."""
    from pifnet_engine.methods.pifnet import bundled_weights

    paths = bundled_weights()
    if not paths:
        click.echo("no bundled weights; train some with `pifnet-train` and pass --weights FILE")
    for p in paths:
        m = read_manifest(p)
        cfg = m["model"]["config"]
        protocol = (m.get("training") or {}).get("protocol", "?")
        click.echo(f"{m['name']:<16} HSI {cfg['hsi_bands']} bands -> MSI {cfg['msi_bands']} bands, ratio "
                   f"{cfg['ratio']}, protocol {protocol}  ({p.with_suffix('.safetensors')})")
