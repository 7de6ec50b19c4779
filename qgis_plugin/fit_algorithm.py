"""The ``pifnet:fit`` algorithm: an HSI+MSI pair in, one ``pifnet-train fit`` run, a weights file out.

This module only adapts QGIS to the pure-Python pieces: :mod:`.fit_options` builds the argv,
:mod:`.runner` runs it, :mod:`.fit_outcome` says how it ended. :func:`run_fit` is shared with
``pifnet:fitfuse`` (:mod:`.fitfuse_algorithm`).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from typing import Any

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputBoolean,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtCore import QCoreApplication

from .algorithm import DEVICE_LABELS
from .engine_check import checked_trainer
from .engine_env import engine_environment
from .engine_locator import EngineLocation
from .errors import PluginError
from .feedback_sink import EventSink, StdoutSink
from .file_identity import file_state
from .fit_files import manifest_verdict
from .fit_options import STARTS, FitOptions, build_fit_argv, check_resumable, fit_warnings
from .fit_outcome import classify_fit_outcome
from .help_text import FIT_HELP_HTML, FIT_HELP_URL, one_line
from .icons import PluginIcon
from .layers import layer_file_path, refuse_input_as_output, refuse_same_inputs
from .options import DEVICES
from .parameters import add_advanced_parameters, optional_int, parameter_problem, refuse_missing_folder
from .programs import TRAINER
from .progress import ProgressTracker
from .runner import run_engine
from .settings import engine_setting_value, trainer_setting_value

#: Labels of the start enum, index-aligned with STARTS.
START_LABELS = (
    "auto: bundled weights that fit the pair, else from scratch",
    "from scratch (a fresh PIF-Net)",
    "from the start weights file below",
)
#: Seconds between SIGTERM and SIGKILL after Cancel: the trainer then scores and writes the
#: best weights so far (a held-out evaluation), which takes longer than a fuse's clean-up.
FIT_STOP_GRACE_S = 120.0
#: Most seconds between two logged training-step lines (other messages are all logged).
FIT_LOG_EVERY_S = 30.0
WEIGHTS_FILTER = "PIF-Net weights (*.safetensors)"


def _tr(text: str) -> str:
    return QCoreApplication.translate("PifnetFit", text)


@dataclass(frozen=True)
class FitResult:
    """A finished fit: the weights written and whether the fit's held-out check put them ahead of
    GSA (None when the trainer did not say)."""

    weights_path: str
    ahead_of_gsa: bool | None


class FitAlgorithm(PluginIcon, QgsProcessingAlgorithm):
    """Fit PIF-Net to one HSI+MSI pair by running ``pifnet-train fit`` as an external program."""

    HSI = "HSI"
    MSI = "MSI"
    TIME_BUDGET = "TIME_BUDGET"
    START = "START"
    START_WEIGHTS = "START_WEIGHTS"
    RESUME = "RESUME"
    DEVICE = "DEVICE"
    THREADS = "THREADS"
    MAX_STEPS = "MAX_STEPS"
    ALLOW_RESAMPLE = "ALLOW_RESAMPLE"
    OUTPUT = "OUTPUT"
    AHEAD_OF_GSA = "AHEAD_OF_GSA"

    def name(self) -> str:
        return "fit"

    def displayName(self) -> str:
        return _tr("Fit PIF-Net to a pair")

    def group(self) -> str:
        return _tr("Image fusion")

    def groupId(self) -> str:
        return "imagefusion"

    def shortDescription(self) -> str:
        return _tr("Train PIF-Net weights on this HSI+MSI pair itself (self-supervised, reduced resolution)")

    def shortHelpString(self) -> str:
        return _tr(one_line(FIT_HELP_HTML))

    def helpUrl(self) -> str:
        return FIT_HELP_URL

    def tags(self) -> list[str]:
        return ["hyperspectral", "multispectral", "fusion", "training", "fit", "fine-tune", "pifnet", "weights",
                "pansharpening", "EnMAP", "PRISMA", "Sentinel-2", "HSI", "MSI"]

    def createInstance(self) -> "FitAlgorithm":
        return FitAlgorithm()

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        self.add_fit_parameters()
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT, _tr("Fitted weights"), WEIGHTS_FILTER))
        self.addOutput(QgsProcessingOutputBoolean(self.AHEAD_OF_GSA, _tr("Fitted PIF-Net ahead of GSA")))

    def add_fit_parameters(self) -> None:
        """The inputs and fit settings (shared with ``pifnet:fitfuse``); outputs are added by each algorithm."""
        self.addParameter(QgsProcessingParameterRasterLayer(self.HSI, _tr("Hyperspectral raster (HSI, low resolution)")))
        self.addParameter(QgsProcessingParameterRasterLayer(self.MSI, _tr("Multispectral raster (MSI, high resolution)")))
        self.addParameter(
            QgsProcessingParameterNumber(
                self.TIME_BUDGET, _tr("Time budget (minutes, the whole fit)"), QgsProcessingParameterNumber.Double,
                10.0, minValue=0.01,
            )
        )
        self.addParameter(QgsProcessingParameterEnum(self.START, _tr("Start"), options=list(START_LABELS), defaultValue=0))
        self.addParameter(
            QgsProcessingParameterFile(
                self.START_WEIGHTS,
                _tr("Start weights file (for start 'from the start weights file')"),
                behavior=QgsProcessingParameterFile.File,
                optional=True,
                fileFilter=f"{WEIGHTS_FILTER};;All files (*.*)",
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.RESUME, _tr("Resume the earlier fit of this weights file (continue a cancelled fit)"), defaultValue=False
            )
        )
        self.addParameter(QgsProcessingParameterEnum(self.DEVICE, _tr("Device"), options=list(DEVICE_LABELS), defaultValue=0))
        add_advanced_parameters(self, [
            QgsProcessingParameterNumber(
                self.THREADS, _tr("CPU threads (empty: PyTorch's default)"), QgsProcessingParameterNumber.Integer,
                None, optional=True, minValue=1,
            ),
            QgsProcessingParameterNumber(
                self.MAX_STEPS, _tr("Stop after this many training steps (0: no limit, the time budget decides)"),
                QgsProcessingParameterNumber.Integer, 0, minValue=0,
            ),
            QgsProcessingParameterBoolean(
                self.ALLOW_RESAMPLE, _tr("Allow resampling when the pixel sizes are not whole multiples"), defaultValue=False
            ),
        ])

    def canExecute(self) -> tuple[bool, str]:
        """False with the reason when ``pifnet-train`` is missing (or known to be incompatible).

        Runs on the GUI thread, so it does not start the trainer (see :meth:`FuseAlgorithm.canExecute`).
        """
        try:
            checked_trainer(trainer_setting_value(), engine_setting_value(), os.environ, ask=False)
        except (PluginError, OSError) as err:
            return False, str(err)
        return True, ""

    def checkParameterValues(self, parameters: dict[str, Any], context: QgsProcessingContext) -> tuple[bool, str]:
        """Refuse an impossible combination before ``pifnet-train`` starts (see :meth:`fit_options`)."""
        ok, message = super().checkParameterValues(parameters, context)
        if not ok:
            return ok, message
        problem = parameter_problem(lambda: self.check_jobs(parameters, context))
        return problem is None, problem or ""

    def check_jobs(self, parameters: dict[str, Any], context: QgsProcessingContext) -> None:
        """Raise :class:`QgsProcessingException` with the first problem of ``parameters``."""
        refuse_unusable_fit(self.fit_options(parameters, context, self.parameterAsFileOutput(parameters, self.OUTPUT, context)))

    # -- running ---------------------------------------------------------------------------

    def fit_options(self, parameters: dict[str, Any], context: QgsProcessingContext, weights_path: str) -> FitOptions:
        """The fit job of ``parameters``, writing ``weights_path``; raises
        :class:`QgsProcessingException` with the first problem (a missing output folder, HSI = MSI,
        the weights file is an input, a value :class:`FitOptions` refuses)."""
        refuse_missing_folder(weights_path)
        hsi = layer_file_path(self, parameters, self.HSI, "HSI", context)
        msi = layer_file_path(self, parameters, self.MSI, "MSI", context)
        refuse_same_inputs(hsi, msi)
        refuse_input_as_output(weights_path, {"HSI": hsi, "MSI": msi})
        max_steps = self.parameterAsInt(parameters, self.MAX_STEPS, context)
        try:
            return FitOptions(
                hsi_path=hsi,
                msi_path=msi,
                weights_path=weights_path,
                time_budget_min=self.parameterAsDouble(parameters, self.TIME_BUDGET, context),
                start=STARTS[self.parameterAsEnum(parameters, self.START, context)],
                start_weights_path=self.parameterAsFile(parameters, self.START_WEIGHTS, context) or None,
                resume=self.parameterAsBoolean(parameters, self.RESUME, context),
                device=DEVICES[self.parameterAsEnum(parameters, self.DEVICE, context)],
                threads=optional_int(self, parameters, self.THREADS, context),
                max_steps=max_steps or None,
                allow_resample=self.parameterAsBoolean(parameters, self.ALLOW_RESAMPLE, context),
                overwrite=True,  # QGIS already asked before choosing an existing file
            )
        except PluginError as err:
            raise QgsProcessingException(str(err)) from err

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback | None
    ) -> dict[str, Any]:
        feedback = feedback or QgsProcessingFeedback()
        options = self.fit_options(parameters, context, self.parameterAsFileOutput(parameters, self.OUTPUT, context))
        try:
            trainer = checked_trainer(trainer_setting_value(), engine_setting_value(), os.environ)
        except (PluginError, OSError) as err:
            raise QgsProcessingException(str(err)) from err
        result = run_fit(options, trainer, feedback, ProgressTracker())
        if result.ahead_of_gsa is False:
            feedback.pushWarning(
                "The fitted PIF-Net is NOT ahead of GSA on the fit's held-out check: for this pair we "
                "recommend GSA (Fuse HSI+MSI with method GSA). The weights were written all the same."
            )
        feedback.setProgress(100.0)
        return {self.OUTPUT: result.weights_path, self.AHEAD_OF_GSA: result.ahead_of_gsa}


def refuse_unusable_fit(options: FitOptions) -> None:
    """Raise :class:`QgsProcessingException` when the start weights file to fine-tune does not
    exist, or Resume is ticked with no earlier fit to continue."""
    start = options.start_weights_path
    if options.start == "file" and not options.resume and start and not os.path.isfile(start):
        raise QgsProcessingException(
            f"The start weights file '{start}' does not exist; expected a .safetensors file (with its .json "
            "manifest beside it); choose an existing file, or start 'auto' / 'from scratch'"
        )
    try:
        check_resumable(options)
    except PluginError as err:
        raise QgsProcessingException(str(err)) from err


def run_fit(options: FitOptions, trainer: EngineLocation, feedback: QgsProcessingFeedback, tracker: ProgressTracker) -> FitResult:
    """Run one ``pifnet-train fit`` job with its progress on ``tracker``'s part of the bar.

    Its stdout (the held-out table and the verdict) goes to the log, a ``Warning:`` verdict as a
    warning. Cancel sends SIGTERM; the trainer then writes the best weights so far, and the
    :class:`QgsProcessingException` raised says so and how to resume. Raises it too for every
    other outcome that is not a complete weights file.
    """
    try:
        check_resumable(options)
    except PluginError as err:
        raise QgsProcessingException(str(err)) from err
    for warning in fit_warnings(options):
        feedback.pushWarning(warning)
    argv = build_fit_argv(trainer.path, options)
    feedback.pushInfo(f"PIF-Net trainer: {trainer.path} (from {trainer.source})")
    feedback.pushCommandInfo(" ".join(shlex.quote(arg) for arg in argv))
    before = file_state(options.weights_path)
    told: list[bool] = []

    def cancelled() -> bool:
        if not feedback.isCanceled():
            return False
        if not told:
            told.append(True)
            feedback.pushInfo("Stopping the fit: pifnet-train scores and writes the best weights so far...")
        return True

    try:
        outcome = run_engine(
            argv,
            engine_environment(os.environ),
            on_event=EventSink(feedback, tracker, log_every_s=FIT_LOG_EVERY_S),
            is_cancelled=cancelled,
            on_stdout=StdoutSink(feedback),
            grace_s=FIT_STOP_GRACE_S,
            cwd=os.path.dirname(options.weights_path) or None,
            program=TRAINER,
        )
    except PluginError as err:
        raise QgsProcessingException(str(err)) from err
    after = file_state(options.weights_path)
    written = outcome.done is not None or (after is not None and after != before)
    error = classify_fit_outcome(outcome, options.weights_path, written)
    if error is not None:
        raise QgsProcessingException(str(error))
    ahead = outcome.done.ahead_of_gsa if outcome.done is not None else None
    if ahead is None:
        ahead = manifest_verdict(options.weights_path)
    return FitResult(options.weights_path, ahead)
