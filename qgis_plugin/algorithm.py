"""The ``pifnet:fuse`` algorithm: QGIS parameters in, one ``pifnet-engine fuse`` run, a GeoTIFF out.

This module only adapts QGIS to the pure-Python pieces: :mod:`.options` builds the argv,
:mod:`.runner` runs it, :mod:`.outcome` says how it ended.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
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
from .help_text import FUSE_HELP_HTML, one_line
from .layers import file_state, layer_file_path, refuse_input_as_output
from .options import DEVICES, DTYPES, METHODS, FuseOptions, build_fuse_argv, ignored_options
from .outcome import classify_outcome
from .parameters import add_advanced_parameters, geotiff_output, optional_int
from .progress import ProgressTracker
from .result_layer import present_result
from .runner import engine_temp_files, remove_files, run_engine
from .settings import engine_setting_value

#: Labels of the enum options, index-aligned with METHODS / DEVICES / DTYPES.
METHOD_LABELS = ("PIF-Net", "GSA", "Bicubic")
DEVICE_LABELS = ("auto (CUDA when available)", "cpu", "cuda")
DTYPE_LABELS = ("Float32", "Same as HSI (keep its type and scale/offset)")


def _tr(text: str) -> str:
    return QCoreApplication.translate("PifnetFuse", text)


class FuseAlgorithm(QgsProcessingAlgorithm):
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
    OUTPUT = "OUTPUT"

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
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, _tr("Fused HSI")))

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

    def _options(self, parameters: dict[str, Any], context: QgsProcessingContext) -> FuseOptions:
        hsi = layer_file_path(self, parameters, self.HSI, "HSI", context)
        msi = layer_file_path(self, parameters, self.MSI, "MSI", context)
        output = geotiff_output(self, parameters, self.OUTPUT, context)
        refuse_input_as_output(output, {"HSI": hsi, "MSI": msi})
        weights = self.parameterAsFile(parameters, self.WEIGHTS, context)
        try:
            return FuseOptions(
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
            )
        except PluginError as err:
            raise QgsProcessingException(str(err)) from err

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback | None
    ) -> dict[str, Any]:
        feedback = feedback or QgsProcessingFeedback()
        options = self._options(parameters, context)
        try:
            engine = checked_engine(engine_setting_value(), os.environ)
        except (PluginError, OSError) as err:
            raise QgsProcessingException(str(err)) from err
        for warning in ignored_options(options):
            feedback.pushWarning(warning)
        run_fuse(options, engine, feedback, ProgressTracker())
        feedback.setProgress(100.0)
        present_result(context, options.output_path, METHOD_LABELS[METHODS.index(options.method)])
        return {self.OUTPUT: options.output_path}


def run_fuse(options: FuseOptions, engine: EngineLocation, feedback: QgsProcessingFeedback, tracker: ProgressTracker) -> None:
    """Run one ``pifnet-engine fuse`` job with its progress on ``tracker``'s part of the bar.

    Raises :class:`QgsProcessingException` with the outcome's message when it did not produce
    ``options.output_path``; after a cancel or a kill, removes what the engine left behind.
    """
    argv = build_fuse_argv(engine.path, options)
    feedback.pushInfo(f"PIF-Net engine: {engine.path} (from {engine.source})")
    feedback.pushCommandInfo(" ".join(shlex.quote(arg) for arg in argv))
    before = file_state(options.output_path)
    temp_before = engine_temp_files(options.output_path)
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

    error = classify_outcome(outcome, options.output_path)
    if error is None:
        return
    if outcome.cancelled or outcome.returncode < 0:  # a killed engine cannot clean up
        leftovers = engine_temp_files(options.output_path) - temp_before
        if file_state(options.output_path) != before:
            leftovers |= {options.output_path, options.output_path + ".aux.xml"}
        for path in remove_files(leftovers):
            feedback.pushInfo(f"Removed the partial file {path}")
    raise QgsProcessingException(str(error))
