"""The fuse job as plain values, and the engine argv built from it.

Pure Python (no ``qgis`` import): the unit tests build argv for every parameter combination
without QGIS. The argv follows the CLI contract in ``docs/cli.md``; it is always a list handed to
``subprocess`` (never a shell string), so paths with spaces or quotes need no escaping.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import OptionsError

#: ``--method`` values, in the order the QGIS enum shows them.
METHODS: tuple[str, ...] = ("pifnet", "gsa", "bicubic")
#: ``--device`` values, in the order the QGIS enum shows them.
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
#: ``--dtype`` values, in the order the QGIS enum shows them.
DTYPES: tuple[str, ...] = ("float32", "keep")
#: The label of the report switch in the dialogs (``--report`` / ``--no-report``).
REPORT_LABEL = "Write a quality report and quicklook"


@dataclass(frozen=True)
class FuseOptions:
    """One ``pifnet-engine fuse`` job.

    Paths are file-system paths (absolute ones from QGIS). ``None`` for ``weights_path``,
    ``tile_size_px`` and ``overlap_px`` means "the engine's default". ``tile_size_px`` and
    ``overlap_px`` are in MSI pixels (output pixels). ``report``: write the quality report and
    quicklook beside the output (the engine's default; False passes ``--no-report``).
    """

    hsi_path: str
    msi_path: str
    output_path: str
    method: str = "gsa"
    weights_path: str | None = None
    device: str = "auto"
    tile_size_px: int | None = None
    overlap_px: int | None = None
    dtype: str = "float32"
    cog: bool = False
    allow_resample: bool = False
    overwrite: bool = True
    report: bool = True

    def __post_init__(self) -> None:
        check_choice("method", self.method, METHODS)
        check_choice("device", self.device, DEVICES)
        check_choice("output data type", self.dtype, DTYPES)
        for label, path in (("HSI", self.hsi_path), ("MSI", self.msi_path), ("output", self.output_path)):
            if not path:
                raise OptionsError(f"{label} path is empty; expected a raster file path; choose a file")
        if self.tile_size_px is not None and (isinstance(self.tile_size_px, bool) or self.tile_size_px < 1):
            raise OptionsError(
                f"tile size is {self.tile_size_px!r} MSI pixels; expected an integer >= 1; "
                "leave it at 256 unless memory is short"
            )
        if self.overlap_px is not None and (isinstance(self.overlap_px, bool) or self.overlap_px < 0):
            raise OptionsError(
                f"overlap is {self.overlap_px!r} MSI pixels; expected an integer >= 0; "
                "leave it empty for the method's default"
            )
        if self.overlap_px is not None and self.tile_size_px is not None and 2 * self.overlap_px > self.tile_size_px:
            raise OptionsError(
                f"overlap is {self.overlap_px} MSI pixels, more than half the tile size of {self.tile_size_px}: "
                f"the engine would grow every tile to {2 * self.overlap_px} pixels (twice the overlap); "
                f"expected an overlap of at most {self.tile_size_px // 2}; lower the overlap (empty: the "
                f"method's default) or raise the tile size to at least {2 * self.overlap_px}"
            )

    @property
    def uses_weights(self) -> bool:
        """True when the weights file is passed to the engine (only PIF-Net reads weights)."""
        return self.method == "pifnet" and bool(self.weights_path)


def check_choice(label: str, value: str, allowed: tuple[str, ...]) -> None:
    """Raise :class:`OptionsError` when ``value`` is not one of ``allowed`` (shared with :mod:`.fit_options`)."""
    if value not in allowed:
        raise OptionsError(f"{label} is {value!r}; expected one of {', '.join(allowed)}")


def int_arg(option: str, value: int | None) -> list[str]:
    """``[option, value]`` for an integer option, or nothing when ``value`` is None (the program's default)."""
    return [] if value is None else [option, str(int(value))]


def progress_output_inputs(output_path: str, hsi_path: str, msi_path: str) -> list[str]:
    """The argv tail of both programs: JSON progress, the output, then the two inputs after ``--``."""
    return ["--progress", "json", "-o", output_path, "--", hsi_path, msi_path]


def build_fuse_argv(engine_path: str, options: FuseOptions) -> list[str]:
    """The argv that runs ``options`` with the engine at ``engine_path``, progress as JSON lines.

    Options come first and the two inputs last, after ``--``, so an input whose name starts
    with ``-`` is never read as an option. The weights file is passed only for PIF-Net (see
    :func:`refuse_unused_weights`).
    """
    argv = [engine_path, "fuse", "--method", options.method, "--device", options.device]
    if options.uses_weights:
        argv += ["--weights", str(options.weights_path)]
    argv += int_arg("--tile-size", options.tile_size_px)
    argv += int_arg("--overlap", options.overlap_px)
    argv += ["--dtype", options.dtype]
    if options.cog:
        argv.append("--cog")
    if options.allow_resample:
        argv.append("--allow-resample")
    if options.overwrite:
        argv.append("--overwrite")
    if not options.report:
        argv.append("--no-report")
    argv += progress_output_inputs(options.output_path, options.hsi_path, options.msi_path)
    return argv


def refuse_unused_weights(options: FuseOptions) -> None:
    """Raise :class:`OptionsError` when a weights file is given with a method that reads none.

    The argv leaves such a file out (:func:`build_fuse_argv`); the algorithm refuses the
    combination before anything starts, so nobody believes the weights were used.
    """
    if options.weights_path and options.method != "pifnet":
        raise OptionsError(
            f"a weights file '{options.weights_path}' is given with method {options.method!r}, which reads "
            "no weights; expected weights only with method PIF-Net; choose method PIF-Net, or clear the "
            "weights file"
        )
