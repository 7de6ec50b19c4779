"""The ``pifnet:fitfuse`` algorithm: fit PIF-Net to the pair, then fuse the pair with the fitted weights.

One dialog for an analyst who wants a fused raster: ``pifnet-train fit`` (0-80 % of the progress
bar), then ``pifnet-engine fuse --method pifnet --weights <fitted>`` (80-100 %). The weights go to
a temporary file unless a path is given.

When the fit's own held-out check says the fitted PIF-Net is not ahead of GSA, the raster is
still fused with the fitted weights (the analyst asked for PIF-Net) and a warning recommends
GSA; with *Use GSA when the fitted PIF-Net is not ahead of GSA* ticked it is fused with GSA
instead, also with a warning (:mod:`.fitfuse_choice`). Either way the result says which method
made the raster (``METHOD``).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputBoolean,
    QgsProcessingOutputHtml,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterRasterDestination,
)
from qgis.PyQt.QtCore import QCoreApplication

from .algorithm import run_fuse
from .engine_check import checked_engine, checked_trainer
from .errors import PluginError
from .file_identity import same_file
from .fit_algorithm import WEIGHTS_FILTER, FitAlgorithm, refuse_unusable_fit, run_fit
from .fit_options import FitOptions
from .fitfuse_choice import choose_fuse_method
from .help_text import FITFUSE_HELP_HTML, one_line
from .layers import refuse_input_as_output
from .options import REPORT_LABEL, FuseOptions
from .parameters import geotiff_output
from .progress import ProgressTracker
from .result_layer import present_result
from .settings import engine_setting_value, trainer_setting_value

#: The fit's share of the progress bar, in percent; the fuse has the rest.
FIT_SHARE_PERCENT = 80.0


def _tr(text: str) -> str:
    return QCoreApplication.translate("PifnetFitFuse", text)


class FitFuseAlgorithm(FitAlgorithm):
    """Fit PIF-Net to one pair with ``pifnet-train fit``, then fuse it with ``pifnet-engine fuse``."""

    GSA_FALLBACK = "GSA_FALLBACK"
    WEIGHTS = "WEIGHTS"
    REPORT = "REPORT"
    METHOD = "METHOD"
    OUTPUT_REPORT = "OUTPUT_REPORT"

    def name(self) -> str:
        return "fitfuse"

    def displayName(self) -> str:
        return _tr("Fit PIF-Net and fuse HSI+MSI")

    def shortDescription(self) -> str:
        return _tr("Fit PIF-Net to this pair, then fuse it with the fitted weights")

    def shortHelpString(self) -> str:
        return _tr(one_line(FITFUSE_HELP_HTML))

    def tags(self) -> list[str]:
        return [*super().tags(), "sharpening", "super-resolution", "gsa"]

    def createInstance(self) -> "FitFuseAlgorithm":
        return FitFuseAlgorithm()

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        self.add_fit_parameters()
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.GSA_FALLBACK,
                _tr("Use GSA when the fitted PIF-Net is not ahead of GSA (else: fuse with it anyway, and warn)"),
                defaultValue=False,
            )
        )
        # optional, so a script may leave it out; left out (or skipped) it is a temporary file
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.WEIGHTS, _tr("Fitted weights"), WEIGHTS_FILTER, defaultValue=QgsProcessing.TEMPORARY_OUTPUT,
                optional=True,
            )
        )
        self.addParameter(QgsProcessingParameterBoolean(self.REPORT, _tr(REPORT_LABEL), defaultValue=True))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, _tr("Fused HSI")))
        self.addOutput(QgsProcessingOutputHtml(self.OUTPUT_REPORT, _tr("Quality report of the fused HSI")))
        self.addOutput(QgsProcessingOutputBoolean(self.AHEAD_OF_GSA, _tr("Fitted PIF-Net ahead of GSA")))
        self.addOutput(QgsProcessingOutputString(self.METHOD, _tr("Method that made the fused raster (pifnet or gsa)")))

    def canExecute(self) -> tuple[bool, str]:
        """False with the reason when the engine or ``pifnet-train`` is missing (or incompatible)."""
        try:
            checked_engine(engine_setting_value(), os.environ, ask=False)
            checked_trainer(trainer_setting_value(), engine_setting_value(), os.environ, ask=False)
        except (PluginError, OSError) as err:
            return False, str(err)
        return True, ""

    def check_jobs(self, parameters: dict[str, Any], context: QgsProcessingContext) -> None:
        """Raise :class:`QgsProcessingException` with the first problem of ``parameters`` (the fit's
        and the fuse's)."""
        fit, _ = self._jobs(parameters, context)
        refuse_unusable_fit(fit)

    def _jobs(self, parameters: dict[str, Any], context: QgsProcessingContext) -> tuple[FitOptions, FuseOptions]:
        """The fit and the fuse of ``parameters``; raises :class:`QgsProcessingException` with the first problem."""
        weights = self.parameterAsFileOutput(parameters, self.WEIGHTS, context)
        if not weights:
            weights = self.parameterDefinition(self.WEIGHTS).generateTemporaryDestination()
        output = geotiff_output(self, parameters, self.OUTPUT, context)
        if same_file(output, weights):
            raise QgsProcessingException(
                f"Output '{output}' is the fitted weights file; expected two different files; choose another name"
            )
        fit = self.fit_options(parameters, context, weights)
        refuse_input_as_output(output, {"HSI": fit.hsi_path, "MSI": fit.msi_path})
        try:
            fuse = FuseOptions(
                hsi_path=fit.hsi_path,
                msi_path=fit.msi_path,
                output_path=output,
                method="pifnet",
                weights_path=weights,
                device=fit.device,
                allow_resample=fit.allow_resample,
                overwrite=True,  # QGIS already asked before choosing an existing file
                report=self.parameterAsBoolean(parameters, self.REPORT, context),
            )
        except PluginError as err:
            raise QgsProcessingException(str(err)) from err
        return fit, fuse

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback | None
    ) -> dict[str, Any]:
        feedback = feedback or QgsProcessingFeedback()
        fit, fuse = self._jobs(parameters, context)
        try:
            engine = checked_engine(engine_setting_value(), os.environ)  # before a long fit, not after it
            trainer = checked_trainer(trainer_setting_value(), engine_setting_value(), os.environ)
        except (PluginError, OSError) as err:
            raise QgsProcessingException(str(err)) from err

        result = run_fit(fit, trainer, feedback, ProgressTracker(0.0, FIT_SHARE_PERCENT))
        gsa_fallback = self.parameterAsBoolean(parameters, self.GSA_FALLBACK, context)
        method, warning = choose_fuse_method(result.ahead_of_gsa, gsa_fallback, result.weights_path)
        if warning:
            feedback.pushWarning(warning)
        if method == "gsa":
            fuse = dataclasses.replace(fuse, method="gsa", weights_path=None)
        feedback.pushInfo(f"Fusing with {'the fitted PIF-Net' if method == 'pifnet' else 'GSA'}")
        fused = run_fuse(fuse, engine, feedback, ProgressTracker(FIT_SHARE_PERCENT, 100.0))
        feedback.setProgress(100.0)
        present_result(context, fuse.output_path, "fitted PIF-Net" if method == "pifnet" else "GSA")
        return {
            self.OUTPUT: fuse.output_path,
            self.OUTPUT_REPORT: fused.report_path,
            self.WEIGHTS: result.weights_path,
            self.AHEAD_OF_GSA: result.ahead_of_gsa,
            self.METHOD: method,
        }
