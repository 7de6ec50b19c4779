"""Option decorators shared by the commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from pifnet_engine.methods import METHOD_NAMES

F = TypeVar("F", bound=Callable[..., object])

existing_raster = click.Path(exists=True, dir_okay=False, path_type=Path)


def pair_arguments(f: F) -> F:
    f = click.argument("msi", type=existing_raster)(f)
    return click.argument("hsi", type=existing_raster)(f)


def layout_options(f: F) -> F:
    f = click.option("--allow-resample", is_flag=True,
                     help="Accept a non-integer pixel-size ratio by warping the HSI to the nearest one.")(f)
    f = click.option("--overlap", type=click.IntRange(min=0), default=None,
                     help="Blending overlap between windows, MSI pixels [method default].")(f)
    f = click.option("--tile-size", type=click.IntRange(min=1), default=256, show_default=True,
                     help="Output side of each window, MSI pixels (rounded to the ratio).")(f)
    f = click.option("--weights", type=str, metavar="FILE|NAME",
                     default=None, help="PIF-Net weights: a .safetensors file (with its .json manifest) "
                     "or a bundled name [the bundled weights that fit the pair]")(f)
    return click.option("--method", type=click.Choice(METHOD_NAMES), default="gsa", show_default=True,
                        help="Fusion method.")(f)


def report_options(f: F) -> F:
    """The report's options (``fuse`` and ``report``)."""
    from pifnet_engine.spectral.srf import SENSORS

    bundled = ", ".join(name for name, spec in SENSORS.items() if spec.bundled)
    f = click.option("--msi-srf", type=str, metavar="SENSOR", default=None,
                     help=f"The MSI's sensor, for the report's spectral consistency: {bundled} "
                          "[estimated from the pair].")(f)
    return click.option("--report-wald/--no-report-wald", default=True, show_default=True,
                        help="Include the reduced-resolution check (the pair's centre degraded by the "
                             "ratio and fused again, with GSA and bicubic for comparison).")(f)
