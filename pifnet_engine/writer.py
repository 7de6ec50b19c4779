"""Writing the fused raster atomically, with overviews and a default QGIS style.

A GeoTIFF is written directly into its DEFLATE-compressed tiled temporary file beside the target,
each 256 x 256 tile exactly once and whole (:mod:`pifnet_engine.raster.block_assembly` collects
the blended pieces of a tile until it is complete; GDAL compresses in all CPU threads);
:meth:`OutputTarget.commit` adds internal overviews (:mod:`pifnet_engine.raster.overviews`) and
renames it onto the target. A COG needs GDAL's CreateCopy: its blocks go into an uncompressed
tiled temporary GeoTIFF first, which ``commit`` copies into the COG (overviews included). Any
failure, Ctrl-C or SIGTERM before the rename removes every temporary file, so a partial output
never exists.

Display: the output names its red/green/blue bands (:mod:`pifnet_engine.raster.rgb`) in the
dataset tags ``PIFNET_RGB_BANDS``/``PIFNET_RGB_KIND``, and ``commit`` writes the QGIS style
``out.qml`` beside ``out.tif`` (:mod:`pifnet_engine.raster.qgis_style`, stretch from the data),
atomically, just before the raster's rename. A ``out.qml`` that is already there is replaced (or,
when the output gets no style, removed) only with ``overwrite``.
"""

from __future__ import annotations

import math
import os
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from pifnet_engine.activity import doing
from pifnet_engine.atomic_file import write_atomic
from pifnet_engine.errors import OutputExistsError, UsageError
from pifnet_engine.grid import GridPlan
from pifnet_engine.raster.bands import BandInfo, band_tags_for_output
from pifnet_engine.raster.block_assembly import BlockAssembler
from pifnet_engine.raster.gdal_failures import gdal_failures_dropped, gdal_writes_checked
from pifnet_engine.raster.overviews import build_overviews, check_overviews, cog_overview_options, overview_levels
from pifnet_engine.raster.qgis_style import multiband_qml, style_path
from pifnet_engine.raster.rgb import RgbBands, choose_rgb_bands
from pifnet_engine.raster.source import RasterSource
from pifnet_engine.raster.stretch import band_stretches


@dataclass(frozen=True)
class OutputSpec:
    """What the output raster looks like.

    ``dtype``: numpy dtype name written; ``scales``/``offsets``: per band, physical = raw * scale
    + offset (1/0 for float32 output); ``nodata``: value written where the output is invalid.
    """

    crs: CRS
    transform: Affine
    height: int
    width: int
    count: int
    dtype: str
    nodata: float
    band_info: BandInfo
    scales: tuple[float, ...]
    offsets: tuple[float, ...]
    tags: dict[str, str] = field(default_factory=dict)
    cog: bool = False
    #: Internal overviews (QGIS opens a large output quickly); ``fuse --no-overviews`` turns them off.
    overviews: bool = True

    @cached_property
    def identity_scaling(self) -> bool:
        """True when raw = physical (scale 1, offset 0 for every band)."""
        return all(v == 1.0 for v in self.scales) and all(v == 0.0 for v in self.offsets)

    @cached_property
    def rgb(self) -> RgbBands | None:
        """The bands the output is displayed with, or None (fewer than three good bands)."""
        return choose_rgb_bands(self.band_info)

    @cached_property
    def overview_levels(self) -> list[int]:
        """Decimation factors of the internal overviews (empty for a small output or without overviews)."""
        return overview_levels(self.height, self.width) if self.overviews else []

    @cached_property
    def bad_bands(self) -> np.ndarray:
        """(C,) bool, True for bad bands (written as nodata)."""
        return np.array([not g for g in self.band_info.good])


def output_values(option: str, hsi_dtype: np.dtype, hsi_nodata: float | None, hsi_scales: tuple[float, ...],
                  hsi_offsets: tuple[float, ...]) -> tuple[str, float, tuple[float, ...], tuple[float, ...]]:
    """The output's (data type, nodata, per-band scales, offsets) for ``--dtype option``.

    ``"float32"``: physical values; the HSI's nodata is kept when no fused value can take it
    (negative, e.g. -9999 or EnMAP's -32768, or NaN), else NaN (a nodata of 0 or above, uint16's 0,
    could collide with data). ``"keep"``: the HSI's data type, scales and offsets; its nodata, else
    NaN (float), the type's minimum (signed) or maximum (unsigned).
    """
    count = len(hsi_scales)
    if option == "float32":
        keep = hsi_nodata is not None and (math.isnan(hsi_nodata) or hsi_nodata < 0)
        nodata = float(hsi_nodata) if hsi_nodata is not None and keep else float("nan")
        return "float32", nodata, (1.0,) * count, (0.0,) * count
    if option == "keep":
        if hsi_nodata is not None:
            nodata = float(hsi_nodata)
        elif hsi_dtype.kind == "f":
            nodata = float("nan")
        elif hsi_dtype.kind == "i":
            nodata = float(np.iinfo(hsi_dtype).min)
        else:
            nodata = float(np.iinfo(hsi_dtype).max)
        return hsi_dtype.name, nodata, tuple(float(v) for v in hsi_scales), tuple(float(v) for v in hsi_offsets)
    raise UsageError(f"unknown --dtype '{option}'; choose float32 or keep")


def spec_for(plan: GridPlan, hsi: RasterSource, dtype_option: str, tags: dict[str, str], *, cog: bool = False,
             overviews: bool = True) -> OutputSpec:
    """The output of a fusion of ``plan`` with ``hsi``'s bands: the output region of the MSI grid,
    the data type, nodata, scales and offsets of ``--dtype dtype_option`` (:func:`output_values`),
    the HSI's band metadata and ``tags``."""
    dtype, nodata, scales, offsets = output_values(dtype_option, hsi.dtype, hsi.original.nodata,
                                                   tuple(hsi.scales.tolist()), tuple(hsi.offsets.tolist()))
    h, w = plan.out_shape
    return OutputSpec(crs=plan.crs, transform=plan.out_transform, height=h, width=w,
                      count=hsi.count, dtype=dtype, nodata=nodata, band_info=hsi.band_info,
                      scales=scales, offsets=offsets, tags=tags, cog=cog, overviews=overviews)


def check_output_path(out: Path, inputs: list[Path], overwrite: bool) -> None:
    """Refuse an output that equals an input, exists without ``overwrite``, or cannot be written.

    Its QGIS style file (``out.qml`` beside ``out.tif``), which the output would replace, counts as
    part of it: an existing one is refused without ``overwrite`` too.
    """
    out_abs = Path(os.path.abspath(out))
    for inp in inputs:
        if out_abs == Path(os.path.abspath(inp)) or (out.exists() and inp.exists() and
                                                     os.path.samefile(out, inp)):
            raise OutputExistsError(
                f"the output path '{out}' is one of the inputs; choose another output file name")
    if out.is_dir():
        raise UsageError(f"the output path '{out}' is a directory; give a file name such as '{out}/fused.tif'")
    if out.exists() and not overwrite:
        raise OutputExistsError(
            f"the output '{out}' already exists; choose another name or pass --overwrite to replace it")
    style = style_path(out)
    if style.exists() and not overwrite:
        raise OutputExistsError(
            f"the QGIS style '{style}' beside the output already exists (QGIS would draw the new raster "
            f"with it, and the engine writes its own there); remove it, choose another output name or pass "
            f"--overwrite to replace it")
    parent = out_abs.parent
    if not parent.is_dir():
        raise UsageError(f"the output folder '{parent}' does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"the output folder '{parent}' is not writable; choose another output path")


def to_output_dtype(values: np.ndarray, valid: np.ndarray, spec: OutputSpec) -> np.ndarray:
    """(C, h, w) float32 physical values -> (C, h, w) ``spec.dtype`` raw values with nodata.

    Integer outputs are rounded and clipped to the type's range; a valid value that would equal
    the nodata value is moved one step away from it.
    """
    dtype = np.dtype(spec.dtype)
    if spec.identity_scaling:
        raw = values.astype(np.float64) if dtype.kind in "iu" else values
    else:
        scales = np.asarray(spec.scales, np.float64)[:, None, None]
        offsets = np.asarray(spec.offsets, np.float64)[:, None, None]
        raw = (values.astype(np.float64) - offsets) / scales
    bad = spec.bad_bands
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        raw = np.clip(np.rint(raw), info.min, info.max)
        if np.isfinite(spec.nodata):
            step = 1 if spec.nodata <= info.min else -1
            raw[(raw == spec.nodata) & valid[None]] += step
    out = raw.astype(dtype)
    out[:, ~valid] = spec.nodata
    if bad.any():
        out[bad] = spec.nodata
    return out


def holds_value(raw: np.ndarray, value: float) -> bool:
    """True when any element of ``raw`` equals ``value`` (NaN: is NaN)."""
    if math.isnan(value):
        return bool(raw.dtype.kind == "f" and np.isnan(raw).any())
    return bool((raw == value).any())


class ArrayTarget:
    """The output as an in-memory array (``array``: (C, H, W) of ``spec.dtype``, nodata where
    invalid and on bad bands), written exactly as :class:`OutputTarget` writes its file's pixels."""

    def __init__(self, spec: OutputSpec) -> None:
        self.spec = spec
        self.array = np.full((spec.count, spec.height, spec.width), spec.nodata, np.dtype(spec.dtype))

    @property
    def work_dir(self) -> None:
        return None  # seams are blended in memory

    @property
    def spill_prefix(self) -> str:
        return ""  # no spill folder

    def write(self, window: Window, values: np.ndarray, valid: np.ndarray) -> None:
        """Write (C, h, w) float32 physical ``values`` at ``window`` (output pixel indices)."""
        self.array[(slice(None), *window.toslices())] = to_output_dtype(values, valid, self.spec)


#: Tile side of the output GeoTIFF (pixels).
BLOCK = 256


class OutputTarget:
    """Temporary files beside ``path`` that become ``path`` only on :meth:`commit`."""

    def __init__(self, path: Path, spec: OutputSpec, overwrite: bool) -> None:
        self.path = Path(os.path.abspath(path))
        self.spec = spec
        self.overwrite = overwrite
        self._prefix = f".{self.path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.raw_path = self.path.with_name(f"{self._prefix}.pifnet-tmp-raw.tif")  # COG only
        self.final_tmp = self.path.with_name(f"{self._prefix}.pifnet-tmp.tif")
        self._ds: rasterio.io.DatasetWriter | None = None
        self._blocks: BlockAssembler | None = None
        #: True once a tile with a nodata pixel was written (the overviews then average around them).
        self._nodata_written = False

    @property
    def work_dir(self) -> Path:
        return self.path.parent

    @property
    def spill_prefix(self) -> str:
        """The seam spill folder's name prefix: the output's temporary prefix, so that what a killed
        engine leaves is recognised as this output's (the QGIS plugin removes it)."""
        return f"{self._prefix}.pifnet-tmp-blend-"

    def _compression(self) -> dict[str, str]:
        kind = np.dtype(self.spec.dtype).kind
        return {"COMPRESS": "DEFLATE", "PREDICTOR": "3" if kind == "f" else "2", "BIGTIFF": "IF_SAFER",
                "NUM_THREADS": "ALL_CPUS"}

    def __enter__(self) -> "OutputTarget":
        s = self.spec
        common = dict(driver="GTiff", width=s.width, height=s.height, count=s.count, dtype=s.dtype, crs=s.crs,
                      transform=s.transform, nodata=s.nodata, tiled=True, blockxsize=BLOCK, blockysize=BLOCK,
                      interleave="band")
        if s.cog:
            self._ds = rasterio.open(self.raw_path, "w", BIGTIFF="IF_NEEDED", SPARSE_OK="TRUE", **common)
        else:
            self._ds = rasterio.open(self.final_tmp, "w", **common, **self._compression())
            self._blocks = BlockAssembler(s.height, s.width, s.count, s.dtype, BLOCK, self._write_block,
                                          self.work_dir, s.nodata, spill_prefix=f"{self._prefix}.pifnet-tmp-blocks-")
        self._write_metadata(self._ds)
        return self

    def _write_metadata(self, ds: rasterio.io.DatasetWriter) -> None:
        s = self.spec
        ds.update_tags(AREA_OR_POINT="Area", **(s.rgb.tags() if s.rgb else {}), **s.tags)
        for b in range(s.count):
            ds.update_tags(b + 1, **band_tags_for_output(s.band_info, b))
            desc = s.band_info.descriptions[b]
            if desc:
                ds.set_band_description(b + 1, desc)
        if any(v != 1.0 for v in s.scales) or any(v != 0.0 for v in s.offsets):
            ds.scales = s.scales
            ds.offsets = s.offsets

    def write(self, window: Window, values: np.ndarray, valid: np.ndarray) -> None:
        """Write (C, h, w) float32 physical ``values`` at ``window`` (output pixel indices)."""
        assert self._ds is not None, "OutputTarget used outside its context"
        raw = to_output_dtype(values, valid, self.spec)
        if self._blocks is None:
            with gdal_writes_checked("writing a window"):
                self._ds.write(raw, window=window)
        else:
            self._blocks.add(window, raw)

    def _write_block(self, window: Window, raw: np.ndarray) -> None:
        """One whole tile of the compressed file (:class:`BlockAssembler`'s ``emit``)."""
        assert self._ds is not None
        if not self._nodata_written:
            self._nodata_written = holds_value(raw, self.spec.nodata)
        with gdal_writes_checked("writing a window"):
            self._ds.write(raw, window=window)

    def commit(self) -> Path:
        """Finish the compressed temporary raster (for a COG: copy the uncompressed one into it), add
        overviews and the QGIS style, rename it onto the target."""
        assert self._ds is not None, "OutputTarget used outside its context"
        spec = self.spec
        with doing(f"writing the last windows into the temporary output beside '{self.path}'"), \
                gdal_writes_checked("flushing the temporary output"):
            if self._blocks is not None:
                self._blocks.finish()  # tiles no window completed (none in a normal run), nodata filled
            self._ds.close()  # writes (and compresses) the blocks still in GDAL's cache
        self._ds = None
        if spec.cog:
            with doing(f"compressing the output into a temporary file beside '{self.path}'"), \
                    gdal_writes_checked("compressing the output"):
                rasterio.shutil.copy(self.raw_path, self.final_tmp, driver="COG", BLOCKSIZE=str(BLOCK),
                                     **cog_overview_options(spec.overview_levels), **self._compression())
        with doing(f"adding overviews to the compressed temporary file beside '{self.path}'"), \
                gdal_writes_checked("adding overviews"):
            if not spec.cog:
                build_overviews(self.final_tmp, spec.overview_levels, nodata_written=self._nodata_written)
        with doing(f"checking the compressed temporary file beside '{self.path}'"):
            check_overviews(self.final_tmp, spec.overview_levels)
        style_text = self._style_text()
        style = style_path(self.path)
        for existing in (self.path, style):
            if existing.exists() and not self.overwrite:
                raise OutputExistsError(
                    f"the output '{existing}' appeared while fusing; pass --overwrite to replace it")
        for stale in (self.path.with_name(self.path.name + ".aux.xml"),
                      self.path.with_name(self.path.name + ".ovr")):
            if self.overwrite and stale.exists():
                stale.unlink()
        with doing(f"writing the QGIS style '{style}'"):
            if style_text is None:
                style.unlink(missing_ok=True)  # a style of an earlier output (overwrite was checked above)
            else:
                write_atomic(style, style_text)
        try:
            with doing(f"renaming the finished temporary file onto '{self.path}'"):
                os.replace(self.final_tmp, self.path)
        except BaseException:
            if style_text is not None:
                style.unlink(missing_ok=True)  # no style without its raster
            raise
        self._cleanup()
        return self.path

    def _style_text(self) -> str | None:
        """The QGIS style for the compressed temporary raster, None without display bands."""
        rgb = self.spec.rgb
        if rgb is None or style_path(self.path) == self.path:  # no style for an output named *.qml
            return None
        with rasterio.open(self.final_tmp) as ds:
            red, green, blue = band_stretches(ds, rgb.bands)
        return multiband_qml(rgb, (red, green, blue))

    def _cleanup(self) -> None:
        if self._blocks is not None:
            self._blocks.close()
        if self._ds is not None:  # after a failure: the file is deleted below
            with gdal_failures_dropped():
                self._ds.close()
            self._ds = None
        for p in (self.raw_path, self.final_tmp):
            for q in (p, p.with_name(p.name + ".aux.xml"), p.with_name(p.name + ".msk")):
                q.unlink(missing_ok=True)

    def __exit__(self, exc_type, exc, tb) -> None:
        self._cleanup()
