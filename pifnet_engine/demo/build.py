"""Build the bundled demo pair from four real EnMAP tiles (Wald protocol).

Usage (from the repository root)::

    python -m pifnet_engine.demo.build --data ../shared/data [--out DIR]

Steps:

1. Mosaic the EnMAP L2A tiles ``enmap_potsdam_tile_{64_0,64_32,96_0,96_32}.tif`` (a 64 x 64 px
   block at 30 m, EPSG:32633; the other 14 tiles are reserved for training) and crop it to
   63 x 63 px at the same upper-left corner: the REFERENCE (int16 DN = reflectance x 10000).
2. HSI: the reference through :func:`pifnet_engine.simulate.degrade_centred` with ratio 3 and
   no extra blur (each 90 m pixel = mean of the 3 x 3 reference pixels it covers), rounded to
   int16, on the grid ``Affine(90, 0, x0, 0, -90, y0)``; bad bands (bbl = 0) stay nodata.
3. MSI: the reference through the Sentinel-2A SRF (ESA v4.0) of B2, B3, B4, B8
   (:func:`pifnet_engine.spectral.response_matrix`, EnMAP bands as Gaussians of their FWHM, bad
   bands excluded), rounded to uint16 DN = reflectance x 10000, 63 x 63 px at 30 m (the real
   10 m bands simulated at the EnMAP reference's 30 m).

The output is deterministic: same inputs and GDAL version give byte-identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import Affine
from rasterio.windows import from_bounds

from pifnet_engine.demo import DEMO_DIR, DEMO_RATIO, FILE_NAMES
from pifnet_engine.errors import InputDataError
from pifnet_engine.simulate import degrade_centred, spectral_degrade
from pifnet_engine.spectral import load_srf, response_matrix

#: The four tiles used (sha256 from ../shared/data/enmap_potsdam_tiles/SOURCE.txt).
TILES: dict[str, str] = {
    "enmap_potsdam_tile_64_0.tif": "74e475a6abd6529919c84272f2d1f24480a96aa8b817de750723c5a1b3332578",
    "enmap_potsdam_tile_64_32.tif": "ca8766e3f118fa39eb2322bb7e9a5ae4b762d3712424bfb689aeb31f639a867f",
    "enmap_potsdam_tile_96_0.tif": "4ea4617a16eb9d84dfb80b70adbd5b36b59217d9f3b72ad3993ac9b0337e38ac",
    "enmap_potsdam_tile_96_32.tif": "b490a51ff87ab4bda7e5757c78c2919140edb142c0c184b247b51c964577b229",
}
MOSAIC_PX = 64
REFERENCE_PX = 63  # largest multiple of DEMO_RATIO that fits
MSI_BANDS = ("B2", "B3", "B4", "B8")
#: ESA nominal central wavelengths, for band descriptions only (metadata holds the SRF centroid).
S2_NOMINAL_NM = {"B2": 490, "B3": 560, "B4": 665, "B8": 842}
NODATA_INT16 = -32768
NODATA_UINT16 = 0
SCALE = 0.0001

_CREATION = {"compress": "deflate", "predictor": 2, "zlevel": 9, "interleave": "band"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_mosaic(
    tile_dir: Path, tiles: Mapping[str, str | None] | None = None,
) -> tuple[np.ndarray, dict, list[dict[str, str]], list[str], dict[str, str]]:
    """Mosaic the four tiles (``tiles``: name -> sha256 to verify, or None not to, default
    :data:`TILES`): (DN (224, 64, 64)
    float64 with NaN nodata, profile, band tags, band descriptions, dataset tags). The profile's
    transform is the mosaic's (the first tile's upper-left corner)."""
    chosen: Mapping[str, str | None] = TILES if tiles is None else tiles
    first = tile_dir / next(iter(chosen))
    if not first.is_file():
        raise InputDataError(
            f"EnMAP tile {first} not found; expected --data to be the shared data folder holding "
            "enmap_potsdam_tiles/images/"
        )
    with rasterio.open(first) as src:
        x0, y0 = src.transform.c, src.transform.f
        transform = src.transform
        profile = {"crs": src.crs, "count": src.count}
        band_tags = [src.tags(b) for b in range(1, src.count + 1)]
        descriptions = list(src.descriptions)
        tags = src.tags()
    mosaic_transform = Affine(transform.a, 0.0, x0, 0.0, transform.e, y0)
    mosaic = np.full((profile["count"], MOSAIC_PX, MOSAIC_PX), np.nan)
    for name, sha in chosen.items():
        path = tile_dir / name
        if sha is not None and _sha256(path) != sha:
            raise InputDataError(
                f"{path} has sha256 {_sha256(path)}; expected {sha} (SOURCE.txt); the demo must "
                "be built from the documented tiles"
            )
        with rasterio.open(path) as src:
            same = (src.crs == profile["crs"] and src.transform.a == transform.a
                    and src.count == profile["count"])
            if not same:
                raise InputDataError(
                    f"{path} does not share the first tile's CRS, pixel size and band count"
                )
            if [src.tags(b) for b in range(1, src.count + 1)] != band_tags:
                raise InputDataError(f"{path} has different band metadata from the first tile")
            win = from_bounds(*src.bounds, transform=mosaic_transform)
            r0, c0 = round(win.row_off), round(win.col_off)
            if abs(win.row_off - r0) > 1e-6 or abs(win.col_off - c0) > 1e-6:
                raise InputDataError(f"{path} is not aligned to the mosaic grid (window {win})")
            data = src.read().astype(np.float64)
            data[data == src.nodata] = np.nan
            mosaic[:, r0:r0 + src.height, c0:c0 + src.width] = data
    if np.isnan(mosaic).all(axis=0).any():
        raise InputDataError("the four tiles do not cover the 64 x 64 px block; check the tile set")
    profile["transform"] = mosaic_transform
    return mosaic, profile, band_tags, descriptions, tags


def _to_int(values: np.ndarray, dtype: str, nodata: int) -> np.ndarray:
    """Round to ``dtype``; NaN becomes ``nodata``; refuse values that collide with it or overflow."""
    info = np.iinfo(dtype)
    lo = info.min + 1 if nodata == info.min else info.min
    out = np.rint(values)
    if np.nanmin(out) < lo or np.nanmax(out) > info.max:
        raise InputDataError(
            f"values {np.nanmin(out)}..{np.nanmax(out)} do not fit {dtype} beside nodata {nodata} "
            f"(expected {lo}..{info.max})"
        )
    return np.where(np.isnan(out), nodata, out).astype(dtype)


def _write(path: Path, data: np.ndarray, transform: Affine, crs: object, nodata: int,
           band_tags: list[dict[str, str]], descriptions: list[str], tags: dict[str, str],
           tiled: bool) -> None:
    count, height, width = data.shape
    profile = {"driver": "GTiff", "dtype": data.dtype.name, "count": count, "height": height,
               "width": width, "crs": crs, "transform": transform, "nodata": nodata, **_CREATION}
    if tiled:
        profile.update(tiled=True, blockxsize=32, blockysize=32)
    tmp = path.with_name(path.name + ".part")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data)
        dst.scales = (SCALE,) * count
        dst.offsets = (0.0,) * count
        dst.update_tags(**tags)
        for b in range(count):
            dst.update_tags(b + 1, **band_tags[b])
            dst.set_band_description(b + 1, descriptions[b])
    os.replace(tmp, path)


def build(data_dir: Path, out_dir: Path = DEMO_DIR, tiles: Mapping[str, str | None] | None = None,
          msi_nodata: int = NODATA_UINT16) -> dict[str, Path]:
    """Write the three demo rasters into ``out_dir``; return their paths (keys as demo_paths).

    ``tiles`` and ``msi_nodata`` build the same kind of pair from four other tiles (benchmarks'
    development pairs; tiles with dark water need an MSI nodata other than 0); the defaults build
    the bundled demo."""
    chosen: Mapping[str, str | None] = TILES if tiles is None else tiles
    mosaic, profile, band_tags, descriptions, src_tags = read_mosaic(
        Path(data_dir) / "enmap_potsdam_tiles" / "images", chosen)
    reference = mosaic[:, :REFERENCE_PX, :REFERENCE_PX]
    wavelengths = np.array([float(t["wavelength"]) for t in band_tags])
    fwhm = np.array([float(t["fwhm"]) for t in band_tags])
    good = np.array([t["bbl"] == "1" for t in band_tags])

    ref_dn = _to_int(reference, "int16", NODATA_INT16)
    hsi_dn = _to_int(degrade_centred(reference, DEMO_RATIO), "int16", NODATA_INT16)

    srf = load_srf("sentinel2a", bands=MSI_BANDS)
    r = response_matrix(srf, wavelengths, fwhm, valid_bands=good)
    msi_dn = _to_int(spectral_degrade(reference, r), "uint16", msi_nodata)

    crs, transform = profile["crs"], profile["transform"]
    base = {"AREA_OR_POINT": "Area", "start_time": src_tags.get("start_time", "")}
    tile_names = ", ".join(chosen)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {key: out_dir / name for key, name in FILE_NAMES.items()}
    _write(paths["reference"], ref_dn, transform, crs, NODATA_INT16, band_tags, descriptions,
           {**base, "PIFNET_DEMO": f"reference: real EnMAP L2A (c) DLR, 30 m, cropped from {tile_names}"},
           tiled=True)
    _write(paths["hsi"], hsi_dn, transform @ Affine.scale(DEMO_RATIO), crs, NODATA_INT16,
           band_tags, descriptions,
           {**base, "PIFNET_DEMO": "HSI: reference averaged over each 3 x 3 footprint "
                                  "(centred protocol, ratio 3), 90 m"},
           tiled=False)
    centres = srf.centres_nm()
    half_max = srf.half_max_ranges_nm()
    msi_tags = [{"wavelength": f"{c:.1f}", "wavelength_units": "Nanometers",
                 "fwhm": f"{hm[1] - hm[0]:.0f}"} for c, hm in zip(centres, half_max, strict=True)]
    msi_desc = [f"{b} ({S2_NOMINAL_NM[b]} nm)" for b in MSI_BANDS]
    _write(paths["msi"], msi_dn, transform, crs, msi_nodata, msi_tags, msi_desc,
           {**base, "PIFNET_DEMO": "MSI: reference through the Sentinel-2A MSI SRF (ESA v4.0) of "
                                  "B2 B3 B4 B8, simulated at 30 m"},
           tiled=True)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the bundled EnMAP / Sentinel-2 demo pair.")
    parser.add_argument("--data", type=Path, required=True,
                        help="the shared data folder (holding enmap_potsdam_tiles/)")
    parser.add_argument("--out", type=Path, default=DEMO_DIR,
                        help=f"output folder (default {DEMO_DIR})")
    args = parser.parse_args(argv)
    for key, path in build(args.data, args.out).items():
        print(f"{key}: {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
