"""The fit job as plain values, and the ``pifnet-train fit`` argv built from it.

Pure Python (no ``qgis`` import): the unit tests build argv for every parameter combination
without QGIS. The argv is always a list handed to ``subprocess`` (never a shell string).

``pifnet-train fit HSI MSI -o NAME.safetensors [--time-budget D] [--init auto|none|FILE]
[--resume] [--overwrite] [--allow-resample] [--device auto|cpu|cuda] [--threads N]
[--max-steps N] [--progress json]``; see ``docs/qgis.md``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from .errors import OptionsError
from .fit_files import WEIGHTS_SUFFIX, can_resume, run_folder
from .options import DEVICES, check_choice, int_arg, progress_output_inputs

#: Where a fit starts, in the order the QGIS enum shows them: ``--init auto``, ``--init none``,
#: ``--init FILE`` (the start weights file).
STARTS: tuple[str, ...] = ("auto", "none", "file")


@dataclass(frozen=True)
class FitOptions:
    """One ``pifnet-train fit`` job.

    ``weights_path`` is the weights file to write (``NAME.safetensors``); ``time_budget_min``
    the whole fit's wall time in minutes; ``start_weights_path`` the weights to start from
    when ``start`` is "file"; ``threads`` / ``max_steps`` None mean the trainer's default
    (all cores / no step limit).
    """

    hsi_path: str
    msi_path: str
    weights_path: str
    time_budget_min: float = 10.0
    start: str = "auto"
    start_weights_path: str | None = None
    resume: bool = False
    device: str = "auto"
    threads: int | None = None
    max_steps: int | None = None
    allow_resample: bool = False
    overwrite: bool = True

    def __post_init__(self) -> None:
        check_choice("start", self.start, STARTS)
        check_choice("device", self.device, DEVICES)
        for label, path in (("HSI", self.hsi_path), ("MSI", self.msi_path)):
            if not path:
                raise OptionsError(f"{label} path is empty; expected a raster file path; choose a file")
        if not self.weights_path.endswith(WEIGHTS_SUFFIX) or len(os.path.basename(self.weights_path)) <= len(WEIGHTS_SUFFIX):
            raise OptionsError(
                f"weights file '{self.weights_path}' is not a {WEIGHTS_SUFFIX} name; expected a file "
                f"ending in {WEIGHTS_SUFFIX} (its manifest NAME.json and run folder NAME.fit go beside it); "
                f"choose a {WEIGHTS_SUFFIX} output"
            )
        budget = self.time_budget_min
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not math.isfinite(budget) or budget <= 0:
            raise OptionsError(
                f"time budget is {budget!r} minutes; expected a number > 0; 10 minutes is a good first try"
            )
        if self.start == "file" and not self.resume and not self.start_weights_path:
            raise OptionsError(
                "start is 'a weights file' but no start weights file is given; expected a .safetensors "
                "file; choose one, or start 'auto' / 'from scratch'"
            )
        for label, value in (("threads", self.threads), ("max steps", self.max_steps)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise OptionsError(f"{label} is {value!r}; expected an integer >= 1, or empty / 0 for the default")

    @property
    def init(self) -> str:
        """The ``--init`` value: auto, none or the start weights file."""
        return str(self.start_weights_path) if self.start == "file" else self.start


def time_budget_arg(minutes: float) -> str:
    """``--time-budget`` for ``minutes``, in whole or decimal seconds: 10 -> ``600s``, 0.25 -> ``15s``."""
    seconds = f"{minutes * 60.0:.3f}".rstrip("0").rstrip(".")
    return f"{seconds}s"


def build_fit_argv(trainer_path: str, options: FitOptions) -> list[str]:
    """The argv that runs ``options`` with ``pifnet-train`` at ``trainer_path``, progress as JSON lines.

    Options come first and the two inputs last, after ``--``. A resumed fit continues its run
    folder with the start it had, so ``--init`` is left out then, and so is ``--overwrite``
    (which would start over).
    """
    argv = [trainer_path, "fit", "--time-budget", time_budget_arg(options.time_budget_min), "--device", options.device]
    if options.resume:
        argv.append("--resume")
    else:
        argv += ["--init", options.init]
    argv += int_arg("--threads", options.threads)
    argv += int_arg("--max-steps", options.max_steps)
    if options.allow_resample:
        argv.append("--allow-resample")
    if options.overwrite and not options.resume:
        argv.append("--overwrite")
    argv += progress_output_inputs(options.weights_path, options.hsi_path, options.msi_path)
    return argv


def fit_warnings(options: FitOptions) -> list[str]:
    """Warnings for values the fit does not use (shown to the user, not fatal)."""
    warnings = []
    if options.resume and options.start != "auto":
        warnings.append(
            "The start choice is ignored: a resumed fit continues from its last checkpoint "
            f"in '{run_folder(options.weights_path)}'."
        )
    if options.start_weights_path and options.start != "file" and not options.resume:
        warnings.append(
            f"The start weights file {options.start_weights_path!r} is ignored: the start is "
            f"{options.start!r}; choose 'a weights file' to start from it."
        )
    return warnings


def check_resumable(options: FitOptions) -> None:
    """Raise :class:`OptionsError` when Resume is ticked but no earlier fit for the weights file exists."""
    if options.resume and not can_resume(options.weights_path):
        raise OptionsError(
            f"Resume is ticked but there is no fit to continue for '{options.weights_path}' (no run "
            f"folder '{run_folder(options.weights_path)}'); expected the weights file of an earlier "
            "(cancelled or finished) fit; choose that file, or untick Resume to start a new fit"
        )
