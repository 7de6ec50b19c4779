"""The ``pifnet:fuse`` algorithm: QGIS parameters in, one ``pifnet-engine fuse`` run, a GeoTIFF out.

This module only adapts QGIS to the pure-Python pieces: :mod:`.options` builds the argv,
:mod:`.runner` runs it, :mod:`.outcome` says how it ended, :mod:`.report_files` finds the quality
report the engine wrote beside the raster (the ``OUTPUT_REPORT`` output, an HTML file that the
dialog lists in the Processing Results Viewer).
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
    QgsProcessingOutputHtml,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtCore import QCoreApplication

from .engine_check import checked_engine
from .engine_env import engine_environment
from .engine_locator import EngineLocation
from .errors import PluginError
from .feedback_sink import EventSink
from .file_identity import file_state
from .help_text import FUSE_HELP_HTML, FUSE_HELP_URL, one_line
from .icons import PluginIcon
from .layers import layer_file_path, refuse_input_as_output, refuse_same_inputs
from .options import DEVICES, DTYPES, METHODS, REPORT_LABEL, FuseOptions, build_fuse_argv, refuse_unused_weights
from .outcome import classify_outcome
from .parameters import add_advanced_parameters, geotiff_output, optional_int, parameter_problem
from .progress import ProgressTracker
from .report_files import changed_report_files, report_states, report_temp_files, written_report
from .result_layer import present_result
from .runner import engine_temp_files, remove_files, run_engine
from .settings import engine_setting_value

#: Labels of the enum options, index-aligned with METHODS / DEVICES / DTYPES.
METHOD_LABELS = ("PIF-Net", "GSA", "Bicubic")
DEVICE_LABELS = ("auto (CUDA when available)", "cpu", "cuda")
DTYPE_LABELS = ("Float32", "Same as HSI (keep its type and scale/offset)")


def _tr(text: str) -> str:
    return QCoreApplication.translate("PifnetFuse", text)


class FuseAlgorithm(PluginIcon, QgsProcessingAlgorithm):
    """Fuse HSI+MSI by running ``pifnet-engine fuse`` as an external program."""

    HSI = "HSI"
    MSI = "MSI"
    METHOD = "METHOD"
    WEIGHTS = "WEIGHTS"
    DEVICE = "DEVICE"
    TILE_SIZE = "TILE_SIZE"
    OVERLAP = "OVERLAP"
    DATA_TYPE = "DATA_TYPE"
    COG = "COG"
    ALLOW_RESAMPLE = "ALLOW_RESAMPLE"
    REPORT = "REPORT"
    OUTPUT = "OUTPUT"
    OUTPUT_REPORT = "OUTPUT_REPORT"

    def name(self) -> str:
        return "fuse"

    def displayName(self) -> str:
        return _tr("Fuse HSI+MSI")

    def group(self) -> str:
        return _tr("Image fusion")

    def groupId(self) -> str:
        return "imagefusion"

    def shortDescription(self) -> str:
        return _tr("Hyperspectral + multispectral fusion onto the multispectral grid")

    def shortHelpString(self) -> str:
        return _tr(one_line(FUSE_HELP_HTML))

    def helpUrl(self) -> str:
        return FUSE_HELP_URL

    def tags(self) -> list[str]:
        return ["hyperspectral", "multispectral", "fusion", "data fusion", "sharpening", "pansharpening",
                "hypersharpening", "super-resolution", "pifnet", "gsa", "EnMAP", "PRISMA", "AVIRIS",
                "Sentinel-2", "HSI", "MSI"]

    def createInstance(self) -> "FuseAlgorithm":
        return FuseAlgorithm()

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        self.addParameter(QgsProcessingParameterRasterLayer(self.HSI, _tr("Hyperspectral raster (HSI, low resolution)")))
        self.addParameter(QgsProcessingParameterRasterLayer(self.MSI, _tr("Multispectral raster (MSI, high resolution)")))
        self.addParameter(
            QgsProcessingParameterEnum(self.METHOD, _tr("Method"), options=list(METHOD_LABELS), defaultValue=METHODS.index("gsa"))
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.WEIGHTS,
                _tr("PIF-Net weights file (empty: the engine's bundled weights)"),
                behavior=QgsProcessingParameterFile.File,
                optional=True,
                fileFilter="PIF-Net weights (*.safetensors);;All files (*.*)",
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(self.DEVICE, _tr("Device"), options=list(DEVICE_LABELS), defaultValue=0)
        )
        add_advanced_parameters(self, [
            QgsProcessingParameterNumber(
                self.TILE_SIZE, _tr("Tile size (MSI pixels)"), QgsProcessingParameterNumber.Integer, 256, minValue=1
            ),
            QgsProcessingParameterNumber(
                self.OVERLAP,
                _tr("Overlap between tiles (MSI pixels; empty: the method's default)"),
                QgsProcessingParameterNumber.Integer,
                None,
                optional=True,
                minValue=0,
            ),
            QgsProcessingParameterEnum(self.DATA_TYPE, _tr("Output data type"), options=list(DTYPE_LABELS), defaultValue=0),
            QgsProcessingParameterBoolean(self.COG, _tr("Write a Cloud Optimized GeoTIFF"), defaultValue=False),
            QgsProcessingParameterBoolean(
                self.ALLOW_RESAMPLE,
                _tr("Allow resampling when the pixel sizes are not whole multiples"),
                defaultValue=False,
            ),
        ])
        self.addParameter(QgsProcessingParameterBoolean(self.REPORT, _tr(REPORT_LABEL), defaultValue=True))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, _tr("Fused HSI")))
        self.addOutput(QgsProcessingOutputHtml(self.OUTPUT_REPORT, _tr("Quality report of the fused HSI")))

    def canExecute(self) -> tuple[bool, str]:
        """False with the reason when the engine is missing (or known to be incompatible).

        Runs on the GUI thread, so it does not start the engine; the version is checked when
        the algorithm runs (and then remembered for this executable).
        """
        try:
            checked_engine(engine_setting_value(), os.environ, ask=False)
        except (PluginError, OSError) as err:
            return False, str(err)
        return True, ""

    # -- running ---------------------------------------------------------------------------

    def checkParameterValues(self, parameters: dict[str, Any], context: QgsProcessingContext) -> tuple[bool, str]:
        """Refuse an impossible combination before the engine starts (the dialog shows the message;
        ``processing.run`` and ``qgis_process`` raise it)."""
        ok, message = super().checkParameterValues(parameters, context)
        if not ok:
            return ok, message
        problem = parameter_problem(lambda: self._options(parameters, context))
        return problem is None, problem or ""

    def _options(self, parameters: dict[str, Any], context: QgsProcessingContext) -> FuseOptions:
        """The fuse job of ``parameters``; raises :class:`QgsProcessingException` with the first
        problem: a layer that is not a file, HSI = MSI, an output that is no GeoTIFF, lies in a
        missing folder or is an input, a weights file that is missing or given with a method that
        reads none, tile and overlap that do not fit."""
        hsi = layer_file_path(self, parameters, self.HSI, "HSI", context)
        msi = layer_file_path(self, parameters, self.MSI, "MSI", context)
        refuse_same_inputs(hsi, msi)
        output = geotiff_output(self, parameters, self.OUTPUT, context)
        refuse_input_as_output(output, {"HSI": hsi, "MSI": msi})
        weights = self.parameterAsFile(parameters, self.WEIGHTS, context)
        if weights and not os.path.isfile(weights):
            raise QgsProcessingException(
                f"The weights file '{weights}' does not exist; expected a .safetensors file (with its .json "
                "manifest beside it); choose an existing file, or clear it for the engine's bundled weights"
            )
        try:
            options = FuseOptions(
                hsi_path=hsi,
                msi_path=msi,
                output_path=output,
                method=METHODS[self.parameterAsEnum(parameters, self.METHOD, context)],
                weights_path=weights or None,
                device=DEVICES[self.parameterAsEnum(parameters, self.DEVICE, context)],
                tile_size_px=self.parameterAsInt(parameters, self.TILE_SIZE, context),
                overlap_px=optional_int(self, parameters, self.OVERLAP, context),
                dtype=DTYPES[self.parameterAsEnum(parameters, self.DATA_TYPE, context)],
                cog=self.parameterAsBoolean(parameters, self.COG, context),
                allow_resample=self.parameterAsBoolean(parameters, self.ALLOW_RESAMPLE, context),
                overwrite=True,  # QGIS already asked before choosing an existing file
                report=self.parameterAsBoolean(parameters, self.REPORT, context),
            )
            refuse_unused_weights(options)
        except PluginError as err:
            raise QgsProcessingException(str(err)) from err
        return options

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback | None
    ) -> dict[str, Any]:
        feedback = feedback or QgsProcessingFeedback()
        options = self._options(parameters, context)
        try:
            engine = checked_engine(engine_setting_value(), os.environ)
        except (PluginError, OSError) as err:
            raise QgsProcessingException(str(err)) from err
        fused = run_fuse(options, engine, feedback, ProgressTracker())
        feedback.setProgress(100.0)
        present_result(context, options.output_path, METHOD_LABELS[METHODS.index(options.method)])
        return {self.OUTPUT: options.output_path, self.OUTPUT_REPORT: fused.report_path}


@dataclass(frozen=True)
class FuseResult:
    """A finished fuse: the raster, and the HTML quality report beside it (None when none was written)."""

    output_path: str
    report_path: str | None


def leftover_files(output_path: str) -> set[str]:
    """What an interrupted engine may leave beside ``output_path``: its temporary files and the
    report's (the rest is found by comparing file states)."""
    return engine_temp_files(output_path) | report_temp_files(output_path)


def run_fuse(
    options: FuseOptions, engine: EngineLocation, feedback: QgsProcessingFeedback, tracker: ProgressTracker
) -> FuseResult:
    """Run one ``pifnet-engine fuse`` job with its progress on ``tracker``'s part of the bar.

    Raises :class:`QgsProcessingException` with the outcome's message when it did not produce
    ``options.output_path``; after a cancel or a kill, removes what the engine left behind (also
    a raster and report it completed before it stopped). Logs the report's path.
    """
    argv = build_fuse_argv(engine.path, options)
    feedback.pushInfo(f"PIF-Net engine: {engine.path} (from {engine.source})")
    feedback.pushCommandInfo(" ".join(shlex.quote(arg) for arg in argv))
    beside = (options.output_path, options.output_path + ".aux.xml", os.path.splitext(options.output_path)[0] + ".qml")
    before = {path: file_state(path) for path in beside}
    reports_before = report_states(options.output_path)
    temp_before = leftover_files(options.output_path)
    try:
        outcome = run_engine(
            argv,
            engine_environment(os.environ),
            on_event=EventSink(feedback, tracker),
            is_cancelled=feedback.isCanceled,
            on_stdout=feedback.pushConsoleInfo,
            cwd=os.path.dirname(options.output_path) or None,
        )
    except PluginError as err:
        raise QgsProcessingException(str(err)) from err

    raster_written = file_state(options.output_path) not in (None, before[options.output_path])
    error = classify_outcome(outcome, options.output_path, raster_written)
    if error is None:
        report = written_report(options.output_path, outcome.done, reports_before) if options.report else None
        if report is not None:
            feedback.pushInfo(f"Quality report file: {report}")
        elif options.report:
            feedback.pushInfo(f"No quality report was written for '{options.output_path}'")
        return FuseResult(options.output_path, report)
    if outcome.cancelled or outcome.returncode < 0:  # a killed engine cannot clean up
        leftovers = leftover_files(options.output_path) - temp_before
        leftovers |= changed_report_files(options.output_path, reports_before)
        # the raster and its side files when they changed: Cancel while the report was being made
        # comes after the raster was complete
        leftovers |= {path for path in beside if file_state(path) != before[path]}
        for path in remove_files(leftovers):
            feedback.pushInfo(f"Removed the partial file {path}")
    raise QgsProcessingException(str(error))
