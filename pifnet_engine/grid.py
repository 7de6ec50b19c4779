"""Putting the HSI and the MSI on one grid.

The output grid is the MSI's grid restricted to the intersection of both footprints; the MSI is
never resampled. The HSI is read on a *coarse grid* whose pixel corners fall on MSI pixel
corners every ``ratio`` pixels: its own grid when it is already aligned, else a virtual warp
(``WarpedVRT``) of it onto such a grid, with a warning.

Pixel coordinates in this module are MSI pixel (row, col) indices; the coarse grid's origin is
given as the MSI pixel index of its top-left corner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from affine import Affine
from rasterio.crs import CRS
from rasterio.io import DatasetReader
from rasterio.warp import calculate_default_transform, transform_bounds
from rasterio.windows import Window

from pifnet_engine.errors import GridError
from pifnet_engine.geometry import Frames

#: A pixel-size ratio within this relative distance of an integer counts as that integer.
RATIO_TOLERANCE = 0.01
#: Sub-pixel offsets below this (in MSI pixels) count as aligned.
ALIGN_TOLERANCE_PX = 1e-3


@dataclass(frozen=True)
class GridPlan:
    """How the pair is put on one grid.

    - ``ratio``: integer MSI pixels per HSI pixel along each axis;
    - ``out_window``: the output region, in MSI pixel indices (``Window``);
    - ``out_transform``/``out_shape``: the output raster's georeferencing (MSI CRS);
    - ``coarse_transform``/``coarse_shape``: the grid the HSI is read on (MSI CRS);
    - ``coarse_origin_px``: MSI (row, col) of the coarse grid's top-left corner (integers);
    - ``warp_reason``: why the HSI is warped, ``None`` when read as it is.
    """

    crs: CRS
    ratio: int
    ratio_measured: tuple[float, float]
    msi_res: tuple[float, float]
    hsi_res: tuple[float, float]
    out_window: Window
    out_transform: Affine
    coarse_transform: Affine
    coarse_shape: tuple[int, int]
    coarse_origin_px: tuple[int, int]
    warp_reason: str | None
    warnings: tuple[str, ...] = field(default=())

    @property
    def frames(self) -> Frames:
        """The job's pixel frames (MSI, coarse, output) and their conversions."""
        return Frames(self.ratio, self.coarse_origin_px, self.out_window)

    @property
    def out_shape(self) -> tuple[int, int]:
        return int(self.out_window.height), int(self.out_window.width)

    @property
    def out_bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) of the output in the MSI CRS units."""
        h, w = self.out_shape
        left, top = self.out_transform @ (0, 0)
        right, bottom = self.out_transform @ (w, h)
        return left, bottom, right, top


def _check_georef(src: DatasetReader, role: str) -> None:
    if src.crs is None:
        raise GridError(
            f"the {role} '{src.name}' has no coordinate reference system; assign one, e.g. "
            f"`gdal_edit.py -a_srs EPSG:32633 {src.name}`")
    t = src.transform
    if t.b != 0.0 or t.d != 0.0:
        raise GridError(
            f"the {role} '{src.name}' has a rotated or sheared geotransform ({tuple(t)[:6]}); "
            f"make it north-up first, e.g. `gdalwarp {src.name} north_up.tif`")
    if t.a <= 0.0 or t.e >= 0.0:
        raise GridError(
            f"the {role} '{src.name}' is not north-up (pixel size {t.a}, {t.e}); expected a positive "
            f"x and negative y pixel size; fix it with `gdalwarp {src.name} north_up.tif`")


def _near_int(value: float, tol: float) -> bool:
    return abs(value - round(value)) <= tol


def plan_grid(hsi: DatasetReader, msi: DatasetReader, allow_resample: bool = False) -> GridPlan:
    """Plan the common grid of ``hsi`` and ``msi`` or refuse with a :class:`GridError`."""
    _check_georef(hsi, "HSI")
    _check_georef(msi, "MSI")
    warnings: list[str] = []
    crs = msi.crs
    same_crs = hsi.crs == msi.crs
    msi_res = (msi.transform.a, -msi.transform.e)
    if same_crs:
        hsi_res = (hsi.transform.a, -hsi.transform.e)
        hsi_bounds = tuple(hsi.bounds)
    else:
        dst_t, _, _ = calculate_default_transform(hsi.crs, crs, hsi.width, hsi.height, *hsi.bounds)
        hsi_res = (dst_t.a, -dst_t.e)
        hsi_bounds = transform_bounds(hsi.crs, crs, *hsi.bounds, densify_pts=21)

    ratio_xy = (hsi_res[0] / msi_res[0], hsi_res[1] / msi_res[1])
    if max(ratio_xy) < 1.0 - RATIO_TOLERANCE:
        raise GridError(
            f"the MSI pixels ({msi_res[0]:g} x {msi_res[1]:g}) are coarser than the HSI pixels "
            f"({hsi_res[0]:g} x {hsi_res[1]:g}): the arguments are probably swapped; give the "
            f"hyperspectral raster first: `pifnet-engine fuse HSI MSI -o OUT`")
    mean_ratio = (ratio_xy[0] + ratio_xy[1]) / 2.0
    ratio = int(round(mean_ratio))
    integral = all(abs(r - ratio) <= RATIO_TOLERANCE * r for r in ratio_xy)
    if not integral:
        if not allow_resample:
            raise GridError(
                f"the HSI/MSI pixel-size ratio is {ratio_xy[0]:.4g} x {ratio_xy[1]:.4g}, not close to "
                f"an integer (tolerance {RATIO_TOLERANCE:.0%}); resample the HSI to an integer multiple "
                f"of the MSI pixel size, or pass --allow-resample to warp it to ratio {max(ratio, 2)}")
        ratio = max(ratio, 2)
        warnings.append(
            f"pixel-size ratio {ratio_xy[0]:.4g} x {ratio_xy[1]:.4g} is not an integer: the HSI is "
            f"resampled to ratio {ratio} (--allow-resample)")
    if ratio < 2:
        raise GridError(
            f"the HSI/MSI pixel-size ratio is {mean_ratio:.4g}; fusion needs the HSI pixels to be at "
            f"least 2 times larger than the MSI pixels (HSI {hsi_res[0]:g}, MSI {msi_res[0]:g} "
            f"{crs.linear_units if crs.is_projected else 'degrees'})")

    # Output region: MSI pixels inside both footprints.
    left = max(hsi_bounds[0], msi.bounds.left)
    bottom = max(hsi_bounds[1], msi.bounds.bottom)
    right = min(hsi_bounds[2], msi.bounds.right)
    top = min(hsi_bounds[3], msi.bounds.top)
    inv = ~msi.transform
    c0f, r0f = inv @ (left, top)
    c1f, r1f = inv @ (right, bottom)
    eps = ALIGN_TOLERANCE_PX
    c0, r0 = math.ceil(c0f - eps), math.ceil(r0f - eps)
    c1, r1 = math.floor(c1f + eps), math.floor(r1f + eps)
    if right <= left or top <= bottom or c1 <= c0 or r1 <= r0:
        raise GridError(
            f"the HSI '{hsi.name}' and the MSI '{msi.name}' do not overlap (HSI bounds "
            f"{tuple(round(v, 3) for v in hsi_bounds)}, MSI bounds "
            f"{tuple(round(v, 3) for v in msi.bounds)} in {crs.to_string()}); give two rasters of the "
            f"same place")
    out_window = Window(c0, r0, c1 - c0, r1 - r0)
    out_transform = msi.transform @ Affine.translation(c0, r0)

    warp_reason: str | None = None
    exact_ratio = all(abs(r - ratio) <= 1e-6 * ratio for r in ratio_xy)
    if not same_crs:
        warp_reason = f"the CRS differs (HSI {hsi.crs.to_string()}, MSI {crs.to_string()})"
    elif not exact_ratio:
        warp_reason = f"the pixel-size ratio {ratio_xy[0]:.6g} x {ratio_xy[1]:.6g} is not exactly {ratio}"
    else:
        col_h, row_h = inv @ (hsi.transform.c, hsi.transform.f)
        if not (_near_int(col_h, eps) and _near_int(row_h, eps)):
            warp_reason = (f"the HSI pixel corners are offset by ({row_h % 1:.3f}, {col_h % 1:.3f}) "
                           f"MSI pixels from the MSI grid")

    if warp_reason is None:
        col_h, row_h = inv @ (hsi.transform.c, hsi.transform.f)
        coarse_origin = (int(round(row_h)), int(round(col_h)))
        coarse_transform = msi.transform @ Affine.translation(coarse_origin[1], coarse_origin[0]) @ \
            Affine.scale(ratio)
        coarse_shape = (hsi.height, hsi.width)
    else:
        coarse_origin = (r0, c0)
        coarse_transform = out_transform @ Affine.scale(ratio)
        coarse_shape = (math.ceil((r1 - r0) / ratio), math.ceil((c1 - c0) / ratio))
        warnings.append(f"the HSI is warped (bilinear) onto a grid aligned with the MSI at ratio "
                        f"{ratio}: {warp_reason}")

    return GridPlan(
        crs=crs, ratio=ratio, ratio_measured=ratio_xy, msi_res=msi_res, hsi_res=hsi_res,
        out_window=out_window, out_transform=out_transform, coarse_transform=coarse_transform,
        coarse_shape=coarse_shape, coarse_origin_px=coarse_origin, warp_reason=warp_reason,
        warnings=tuple(warnings))
