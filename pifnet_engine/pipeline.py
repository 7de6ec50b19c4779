"""The fusion job: reader -> fuser -> writer, window by window (orchestration only).

:func:`open_job` opens both rasters, plans the grid, builds the method and the tile layout
(everything ``pifnet-engine info`` shows); :func:`run_fusion` runs it: an optional streaming
statistics pass over the tiles' cores, then :func:`fuse_windows`: batches of halo windows through
the method, checked by :func:`~pifnet_engine.sanity.check_fused_batch` (a garbage window stops
the run, nothing is written) and blended block by block (:mod:`~pifnet_engine.blend`) into an
atomic :class:`~pifnet_engine.writer.OutputTarget`; :func:`fuse_to_array` does the same into an
in-memory :class:`~pifnet_engine.writer.ArrayTarget`. The windows come from
:mod:`~pifnet_engine.tiling` and :mod:`~pifnet_engine.geometry`; this module computes none.
Memory is bounded by the window and batch size, never by the scene.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from pifnet_engine import __version__
from pifnet_engine.activity import RASTER_COMPLETE, doing
from pifnet_engine.blend import BlendAccumulator, WindowSink, contribute
from pifnet_engine.errors import DeviceError, InputDataError, UsageError
from pifnet_engine.grid import GridPlan, plan_grid
from pifnet_engine.methods import FusionMethod, PairSpec, StatsBatch, create_method
from pifnet_engine.pairing import PairReader, PairWindow, block_all, block_mean
from pifnet_engine import preflight, stopping
from pifnet_engine.progress import Reporter
from pifnet_engine.read_ahead import read_ahead
from pifnet_engine.raster.source import FILL_RADIUS_PX, RasterSource, open_raster
from pifnet_engine.sanity import check_fused_batch
from pifnet_engine.tiling import Tile, TileLayout, plan_layout
from pifnet_engine.writer import ArrayTarget, OutputSpec, OutputTarget, check_output_path, spec_for

#: GDAL block cache for the job (bytes). Small and fixed, so that memory does not depend on the scene:
#: measured with benchmarks/bench_engine.py, a 256 MB cache let peak RSS grow 1.24x from a 1024^2 to a
#: 4096^2 scene (the cache filled up while window arrays were alive); 32 MB kept it within 1.03x.
GDAL_CACHE_BYTES = 32 * 1024 * 1024


@dataclass
class FuseRequest:
    """Everything ``pifnet-engine fuse`` was asked (sizes in MSI pixels)."""

    hsi: Path
    msi: Path
    output: Path | None = None
    method: str = "gsa"
    weights: str | Path | None = None
    tile_px: int = 256
    overlap_px: int | None = None
    batch_size: int | None = None
    device: str = "auto"
    dtype: str = "float32"
    cog: bool = False
    #: Add internal overviews to the output (``--no-overviews``: none, faster for a batch job).
    overviews: bool = True
    overwrite: bool = False
    allow_resample: bool = False
    method_options: dict[str, Any] = field(default_factory=dict)
    #: Write the quality report and quicklook beside the output (``pifnet-engine fuse`` default).
    report: bool = False
    #: ... with the reduced-resolution check (a sample of the pair fused again, per method).
    report_wald: bool = True
    #: A known sensor for the MSI's spectral responses in the report (else estimated from the pair).
    msi_srf: str | None = None


@dataclass
class FusionResult:
    """What :func:`run_fusion` wrote: the raster, and the report's files and summary line when asked."""

    path: Path
    seconds: float
    report_files: dict[str, str] = field(default_factory=dict)
    summary: str | None = None


@dataclass
class Job:
    """An opened, planned job."""

    request: FuseRequest
    plan: GridPlan
    hsi: RasterSource
    msi: RasterSource
    method: FusionMethod
    pair: PairSpec
    layout: TileLayout
    device: torch.device
    batch_size: int


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is a usage error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda was asked for but no CUDA GPU is available to PyTorch; "
                          "use --device cpu (or auto)")
    if name not in ("cpu", "cuda"):
        raise DeviceError(f"unknown device '{name}'; choose auto, cpu or cuda")
    return torch.device(name)


@dataclass
class OpenPair:
    """Both rasters of a pair, opened and put on one grid (the HSI warped when the plan says so)."""

    plan: GridPlan
    hsi: RasterSource
    msi: RasterSource


@contextlib.contextmanager
def open_pair(hsi_path: Path, msi_path: Path, allow_resample: bool = False) -> Iterator[OpenPair]:
    """Open and plan a pair the way ``fuse`` does; the rasters stay open inside the ``with`` block."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES))
        hsi_ds = stack.enter_context(open_raster(str(hsi_path), "HSI"))
        msi_ds = stack.enter_context(open_raster(str(msi_path), "MSI"))
        plan = plan_grid(hsi_ds, msi_ds, allow_resample=allow_resample)
        if plan.warp_reason is not None:
            vrt = stack.enter_context(WarpedVRT(
                hsi_ds, crs=plan.crs, transform=plan.coarse_transform, height=plan.coarse_shape[0],
                width=plan.coarse_shape[1], resampling=Resampling.bilinear, dtype="float32",
                src_nodata=hsi_ds.nodata, nodata=float("nan")))
            hsi = RasterSource(vrt, original=hsi_ds, role="HSI")
        else:
            hsi = RasterSource(hsi_ds, role="HSI")
        yield OpenPair(plan, hsi, RasterSource(msi_ds, role="MSI"))


@contextlib.contextmanager
def open_job(request: FuseRequest, method: FusionMethod | None = None) -> Iterator[Job]:
    """Open and plan ``request``; the rasters stay open inside the ``with`` block.

    ``method``: a ready method object (e.g. a model being trained) instead of building
    ``request.method`` with ``request.weights``."""
    with open_pair(Path(request.hsi), Path(request.msi), request.allow_resample) as opened:
        plan, hsi, msi = opened.plan, opened.hsi, opened.msi
        device = resolve_device(request.device)
        if method is None:
            method = create_method(request.method, device, request.weights, **request.method_options)
        pair = PairSpec(
            hsi_bands=hsi.count, msi_bands=msi.count, ratio=plan.ratio,
            hsi_wavelengths_nm=hsi.band_info.wavelengths_nm, hsi_fwhm_nm=hsi.band_info.fwhm_nm,
            msi_wavelengths_nm=msi.band_info.wavelengths_nm,
            msi_band_names=tuple(d or f"band {i + 1}" for i, d in enumerate(msi.band_info.descriptions)),
            good_bands=hsi.band_info.good, hsi_name=Path(request.hsi).name, msi_name=Path(request.msi).name)
        method.check_pair(pair)
        r = plan.ratio
        layout = plan_layout(plan, request.tile_px, request.overlap_px, halo_lr=method.halo_lr_px(r) + FILL_RADIUS_PX,
                             overlap_lr=method.default_overlap_lr_px(r), multiple_lr=method.window_multiple_lr(r))
        batch = request.batch_size if request.batch_size is not None else method.default_batch_size()
        if batch < 1:
            raise UsageError(f"--batch-size must be at least 1, got {batch}")
        yield Job(request, plan, hsi, msi, method, pair, layout, device, batch)


def _stats_pass(job: Job, tiles: list[Tile], reporter: Reporter, f0: float, f1: float) -> None:
    """Feed the core (no halo) of every tile to ``method.accumulate`` (after ``start_statistics``)."""
    layout, r = job.layout, job.plan.ratio
    reader = PairReader(job.plan, job.hsi, job.msi)
    total = len(tiles)
    job.method.start_statistics()

    def read(tile: Tile) -> PairWindow:
        with doing(f"reading {layout.describe(tile)} for the statistics pass"):
            return reader.read(tile.core, tile.hsi_core)

    windows = read_ahead(tiles, read)
    try:
        for n, (tile, pw) in enumerate(windows, start=1):
            stopping.check()
            _accumulate(job, pw, r)
            reporter.progress("stats", f0 + (f1 - f0) * n / total, n, total, f"statistics {n}/{total}")
    finally:
        windows.close()
    job.method.finish_statistics()


def _accumulate(job: Job, pw: PairWindow, r: int) -> None:
    """One tile core's statistics (a window without halo, ratio ``r``) into ``job.method``."""
    valid = pw.hsi_valid & block_all(pw.msi_valid, r)
    job.method.accumulate(StatsBatch(
        hsi=pw.hsi.astype(np.float64), msi_low=block_mean(pw.msi.astype(np.float64), r),
        valid=valid, msi=pw.msi.astype(np.float64), msi_valid=pw.msi_valid))


def _batches(tiles: list[Tile], size: int) -> Iterator[list[Tile]]:
    for i in range(0, len(tiles), size):
        yield tiles[i:i + size]


def fuse_windows(job: Job, tiles: list[Tile], spec: OutputSpec, target: WindowSink, reporter: Reporter,
                 f0: float, f1: float, target_name: str) -> None:
    """Read, fuse, check, blend and write every tile of ``job`` into ``target`` (progress ``f0`` to ``f1``).

    A garbage window (:func:`~pifnet_engine.sanity.check_fused_batch`) stops the run before any of
    it is blended; ``target_name`` names the target in messages of what failed."""
    layout, total = job.layout, len(tiles)
    reader = PairReader(job.plan, job.hsi, job.msi)
    acc = BlendAccumulator(target.work_dir, target.spill_prefix)

    def read(batch: list[Tile]) -> list[PairWindow]:
        with doing(f"reading {_windows_text(layout, batch)} of the inputs"):
            return [reader.read(t.read, t.hsi_read) for t in batch]

    batches = read_ahead(_batches(tiles, job.batch_size), read)  # the next batch is read while this one is fused
    try:
        done = 0
        for batch, pairs in batches:
            stopping.check()
            where = _windows_text(layout, batch)
            hsi = np.stack([p.hsi for p in pairs])
            msi = np.stack([p.msi for p in pairs])
            with doing(f"fusing {where} with {job.method.name}"):
                fused = _fuse_batch(job, hsi, msi)
            check_fused_batch(hsi, msi, fused, np.stack([p.valid for p in pairs]),
                              job.pair.good_bands, windows=[layout.describe(t) for t in batch],
                              method=job.method.name, weights=spec.tags.get("PIFNET_WEIGHTS"))
            with doing(f"writing {where} into {target_name}"):
                for tile, pw, z in zip(batch, pairs, fused, strict=True):
                    contribute(layout, tile, pw.valid, z, acc, target)
            done += len(batch)
            reporter.progress("fuse", f0 + (f1 - f0) * done / total, done, total, f"fusing window {done}/{total}")
    finally:
        batches.close()
        acc.close()


def output_spec(job: Job) -> OutputSpec:
    """The output raster of ``job``: the writer's policy (:func:`~pifnet_engine.writer.spec_for`)
    with the job's provenance tags."""
    req, plan = job.request, job.plan
    tags = {
        "PIFNET_ENGINE_VERSION": __version__,
        "PIFNET_RATIO": str(plan.ratio),
        "PIFNET_HSI": Path(req.hsi).name,
        "PIFNET_MSI": Path(req.msi).name,
        "PIFNET_TILE_PX": str(job.layout.tile_px),
        "PIFNET_OVERLAP_PX": str(job.layout.overlap_px),
        "PIFNET_HSI_WARPED": plan.warp_reason or "no",
        **job.method.provenance(),
    }
    return spec_for(plan, job.hsi, req.dtype, tags, cog=req.cog, overviews=req.overviews)


def fuse_to_array(request: FuseRequest, reporter: Reporter, method: FusionMethod | None = None) -> np.ndarray:
    """Fuse ``request.hsi`` and ``request.msi`` like :func:`run_fusion`, into an array instead of a
    file: (C, H, W) of the output's data type over the output region, nodata where invalid.
    ``request.output`` and the report options are not used; ``method`` as :func:`open_job`'s."""
    with open_job(request, method) as job:
        layout = job.layout
        preflight.check_memory(layout.window_px, layout.window_px - layout.tile_px, job.hsi.count, job.batch_size,
                               job.method.work_bytes_per_pixel_band, preflight.available_memory_bytes())
        for message in job.plan.warnings:
            reporter.warning(message)
        tiles = layout.tiles()
        f_stats = 0.25 if job.method.needs_statistics else 0.0
        if job.method.needs_statistics:
            _stats_pass(job, tiles, reporter, 0.0, f_stats)
        spec = output_spec(job)
        target = ArrayTarget(spec)
        fuse_windows(job, tiles, spec, target, reporter, f_stats, 1.0, "the in-memory output")
        return target.array


def run_fusion(request: FuseRequest, reporter: Reporter) -> FusionResult:
    """Fuse ``request.hsi`` and ``request.msi`` into ``request.output`` (and its report when
    ``request.report``); returns what was written."""
    # The report imports this module (open_pair), so it is imported here, not at the top, and its
    # builder only when a report is asked for.
    from pifnet_engine.report import ReportPaths

    if request.output is None:
        raise UsageError("no output path given; pass -o OUT.tif")
    out = Path(request.output)
    check_output_path(out, [Path(request.hsi), Path(request.msi)], request.overwrite)
    report_paths = ReportPaths.beside(out)
    if request.report:
        report_paths.check(request.overwrite)
    t0 = time.monotonic()
    end = 0.85 if request.report else 1.0
    with open_job(request) as job:
        if request.report and request.msi_srf is not None:  # refuse a bad --msi-srf before fusing
            from pifnet_engine.report.responses import preset_responses
            info = job.hsi.band_info
            preset_responses(request.msi_srf, job.msi.band_info.descriptions, info.wavelengths_nm,
                             info.fwhm_nm, info.good)
        layout = job.layout
        preflight.check_memory(layout.window_px, layout.window_px - layout.tile_px, job.hsi.count, job.batch_size,
                     job.method.work_bytes_per_pixel_band, preflight.available_memory_bytes())
        size = output_spec(job)  # sizes and data type only: the tags are complete after the statistics
        disk_warning = preflight.check_disk(out.resolve().parent, size.height, size.width, size.count, size.dtype,
                                            cog=size.cog)
        for message in (*job.plan.warnings, *([disk_warning] if disk_warning else [])):
            reporter.warning(message)
        tiles = layout.tiles()
        total = len(tiles)
        reporter.start(engine_version=__version__, method=job.method.name, output=str(out.resolve()),
                       windows_total=total)
        f_stats = 0.25 * end if job.method.needs_statistics else 0.0
        if job.method.needs_statistics:
            _stats_pass(job, tiles, reporter, 0.0, f_stats)
        spec = output_spec(job)  # after the statistics: the method's provenance tags need them
        with OutputTarget(out, spec, request.overwrite) as target:
            fuse_windows(job, tiles, spec, target, reporter, f_stats, 0.95 * end,
                         f"the temporary output beside '{out}'")
            reporter.progress("finalize", 0.95 * end, total, total, "compressing and writing the output")
            with doing(f"compressing the output into '{out}'"):
                path = target.commit()
        reporter.progress("finalize", end, total, total, "raster written")
        # The report re-runs PIF-Net at reduced resolution: with the weights as given (a file need not be
        # findable by the name in its manifest), else the bundled name the method chose.
        weights = str(request.weights) if request.weights is not None else spec.tags.get("PIFNET_WEIGHTS")
    seconds = time.monotonic() - t0
    result = FusionResult(path, seconds)
    if request.report:
        from pifnet_engine.report import write_report
        from pifnet_engine.report.build import ReportRequest

        report_request = ReportRequest(
            fused=path, hsi=Path(request.hsi), msi=Path(request.msi), allow_resample=request.allow_resample,
            msi_srf=request.msi_srf, wald=request.report_wald, device=request.device,
            method=job.method.name, weights=weights, precision=request.method_options.get("precision"),
            fusion={"seconds": round(seconds, 2), "warnings": list(job.plan.warnings), "windows": total,
                    "tile_px": layout.tile_px, "overlap_px": layout.overlap_px, "device": str(job.device)})
        try:
            with doing(f"making the quality report of '{path}' {RASTER_COMPLETE}"):
                result.report_files, result.summary = write_report(
                    report_request, report_paths,
                    lambda f, message: _report_progress(reporter, end + (1.0 - end) * f, total, message))
        except InputDataError as exc:  # the data do not allow a report (e.g. a sliver of overlap): say so
            reporter.warning(f"no quality report: {exc}")
            report_paths.remove()  # (only --overwrite lets an older report exist here)
    elif request.overwrite:
        report_paths.remove()  # never leave an older run's report beside a new raster
    reporter.progress("finalize", 1.0, total, total, "done")
    reporter.done(str(path), time.monotonic() - t0, result.report_files or None, result.summary)
    return result


def _report_progress(reporter: Reporter, fraction: float, total: int, message: str) -> None:
    stopping.check()  # the report's chunks are the windows of its passes
    reporter.progress("report", fraction, total, total, message)


def _windows_text(layout: TileLayout, batch: list[Tile]) -> str:
    """``window 3 of 16 (MSI rows ...)``, or ``4 windows (window 3 of 16 (...) and after)``."""
    first = layout.describe(batch[0])
    return first if len(batch) == 1 else f"{len(batch)} windows ({first} and after)"


def _fuse_batch(job: Job, hsi: np.ndarray, msi: np.ndarray) -> np.ndarray:
    """Run the method on a batch: (B, C, h, w) + (B, c, H, W) float32 -> (B, C, H, W) float32 numpy."""
    with torch.inference_mode():
        z = job.method.fuse(torch.from_numpy(hsi).to(job.device), torch.from_numpy(msi).to(job.device))
    return z.float().cpu().numpy()
