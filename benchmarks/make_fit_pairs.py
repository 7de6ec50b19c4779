"""Write the georeferenced pairs that ``benchmarks/bench_fit.py`` and the fit's closing checks use.

From ``../shared/data`` (nothing is downloaded):

- ``cave_<scene>_x4``: a CAVE scene (31 bands, 16-bit counts) under the centred protocol at
  ratio 4: HSI 128^2 (each pixel the mean of its 4 x 4 footprint), MSI 512^2 through the Nikon D700
  response, the 512^2 ground truth as ``reference.tif``;
- ``cave_<scene>_<crop>_x4`` (``--crop``): the same from the centred crop x crop part (small pairs);
- ``enmap_<corner>_x3`` (``--enmap``): the README demo's recipe (EnMAP 90 m + simulated Sentinel-2
  B2 B3 B4 B8 at 30 m, the 30 m reference) on four other EnMAP tiles (``hsi.tif``, ``msi.tif``,
  ``reference.tif``); those tiles trained ``enmap_s2_x3``, so its unfitted scores there are optimistic;
- ``paris_x3``: the real Hyperion + ALI pair (72^2, same 30 m grid): Hyperion degraded by 3
  (centred) to 24^2 at 90 m, ALI as it is at 30 m, the original Hyperion as ``reference.tif``.

All on a synthetic UTM grid (EPSG:32633), float32, HSI band centres tagged where known::

    .venv/bin/python benchmarks/make_fit_pairs.py --out /tmp/fitpairs --cave fake_and_real_food
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

from pifnet_engine.demo import build as demo_build
from pifnet_engine.simulate import degrade_centred
from training.pairs import msi_response
from training.scenes.cave import load_cave_scene
from training.scenes.matfile import read_mat_cube

CRS = "EPSG:32633"


def write(path: Path, data: np.ndarray, res: float, wavelengths: tuple[float, ...] | None = None) -> None:
    c, h, w = data.shape
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=c, dtype="float32", crs=CRS,
                       transform=Affine(res, 0, 500000.0, 0, -res, 5000000.0), nodata=float("nan")) as ds:
        ds.write(data.astype(np.float32))
        if wavelengths is not None:
            for b, wl in enumerate(wavelengths, start=1):
                ds.update_tags(b, wavelength=f"{wl:.2f}", wavelength_units="Nanometers")


def cave_pair(data: Path, scene: str, out: Path, crop: int | None = None) -> Path:
    sc = load_cave_scene(data / "cave" / "complete_ms_data", scene)
    folder = out / (f"cave_{scene}_x4" if crop is None else f"cave_{scene}_{crop}_x4")
    folder.mkdir(parents=True, exist_ok=True)
    cube = sc.cube.astype(np.float32)
    if crop is not None:  # the centred crop x crop part
        y0, x0 = (cube.shape[1] - crop) // 2, (cube.shape[2] - crop) // 2
        cube = cube[:, y0:y0 + crop, x0:x0 + crop]
    resp = msi_response(sc, "nikon_d700")
    msi = np.tensordot(resp, cube, axes=(1, 0)).astype(np.float32)
    write(folder / "hsi.tif", degrade_centred(cube, 4), 4.0, sc.wavelengths_nm)
    write(folder / "msi.tif", msi, 1.0)
    write(folder / "reference.tif", cube, 1.0, sc.wavelengths_nm)
    return folder


def paris_pair(data: Path, out: Path) -> Path:
    mat = data / "paris_hyperion_ali" / "paris_data_hs_ms.mat"
    hs = read_mat_cube(mat, "HSim").astype(np.float32)
    ms = read_mat_cube(mat, "MSim").astype(np.float32)
    folder = out / "paris_x3"
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "hsi.tif", degrade_centred(hs, 3), 90.0)
    write(folder / "msi.tif", ms, 30.0)
    write(folder / "reference.tif", hs, 30.0)
    return folder


def enmap_pair(data: Path, corner: str, out: Path) -> Path:
    """The demo's recipe (:func:`pifnet_engine.demo.build.build`) on the 64 x 64 px block of the four
    EnMAP tiles whose upper-left tile is ``enmap_potsdam_tile_<corner>.tif`` (e.g. ``160_128``)."""
    r, c = (int(v) for v in corner.split("_"))
    images = data / "enmap_potsdam_tiles" / "images"
    names = [f"enmap_potsdam_tile_{r + dr}_{c + dc}.tif" for dr in (0, 32) for dc in (0, 32)]
    if set(names) == set(demo_build.TILES):
        raise SystemExit(f"--enmap {corner} is the demo's own block; choose another")
    if not all((images / n).is_file() for n in names):
        raise SystemExit(f"--enmap {corner}: not all of {names} are in {images}")
    folder = out / f"enmap_{corner}_x3"
    tiles: dict[str, str | None] = dict.fromkeys(names)  # development pairs: no checksums to verify
    paths = demo_build.build(data, folder, tiles=tiles, msi_nodata=65535)  # dark water reaches 0 DN
    for key, path in paths.items():
        path.rename(folder / f"{key}.tif")
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cave", default="fake_and_real_food", help="CAVE scene(s), comma-separated")
    ap.add_argument("--crop", type=int, default=None,
                    help="CAVE pairs from the centred CROP x CROP part (a multiple of 4; e.g. 96: a 24^2 HSI)")
    ap.add_argument("--enmap", default="", help="EnMAP blocks by upper-left tile, comma-separated (e.g. 160_128)")
    args = ap.parse_args()
    for scene in filter(None, args.cave.split(",")):
        print(cave_pair(args.data, scene, args.out, args.crop))
    for corner in filter(None, args.enmap.split(",")):
        print(enmap_pair(args.data, corner, args.out))
    print(paris_pair(args.data, args.out))


if __name__ == "__main__":
    main()
