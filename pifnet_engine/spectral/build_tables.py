"""Regenerate the bundled SRF tables in ``spectral/data/`` from the shared SRF collection.

Usage (from the repository root)::

    python -m pifnet_engine.spectral.build_tables --data ../shared/data

Each bundled sensor becomes ``data/<sensor>.csv`` (long format ``band,wavelength_nm,response``,
wavelengths in nm, leading/trailing zero responses of each band dropped), and the ROSIS ->
IKONOS matrix becomes ``data/rosis_ikonos_4x103.csv`` (4 rows x 103 columns, as published, not
normalised). Provenance is in ``data/ATTRIBUTION.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pifnet_engine.spectral import formats
from pifnet_engine.spectral.srf import PACKAGE_DATA, SENSORS, load_matrix_mat


def _trim(curve: formats.BandCurve) -> formats.BandCurve:
    """Drop leading and trailing zero-response samples, keeping one zero at each end."""
    name, wl, resp = curve
    nz = np.flatnonzero(resp > 0)
    lo, hi = max(nz[0] - 1, 0), min(nz[-1] + 1, resp.size - 1)
    return name, wl[lo:hi + 1], resp[lo:hi + 1]


def build(srf_dir: Path, out_dir: Path = PACKAGE_DATA) -> list[Path]:
    """Write every bundled sensor's table and the ROSIS matrix into ``out_dir``; return paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in SENSORS.values():
        if not spec.bundled:
            continue
        curves = spec.reader(srf_dir / spec.source_file)
        named = [(_name, wl, r) for _name, (_, wl, r) in zip(spec.band_names, curves, strict=True)]
        path = out_dir / f"{spec.name}.csv"
        formats.write_long_csv(
            path, [_trim(c) for c in named],
            [f"{spec.title}: relative spectral response per band, wavelength in nm",
             f"converted from srf/{spec.source_file} by pifnet_engine.spectral.build_tables",
             "provenance and licence: see ATTRIBUTION.md in this folder"],
        )
        written.append(path)
    matrix = load_matrix_mat(srf_dir / "pavia_rosis_R_4x103" / "R.mat", "R", normalise=False)
    path = out_dir / "rosis_ikonos_4x103.csv"
    header = ("ROSIS 103-band -> IKONOS-like 4-band response matrix (rows blue, green, red, NIR), "
              "as published (rows not normalised); from srf/pavia_rosis_R_4x103/R.mat; "
              "see ATTRIBUTION.md")
    np.savetxt(path, matrix, delimiter=",", fmt="%.17g", header=header)
    written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True,
                        help="the shared data folder (holding srf/)")
    parser.add_argument("--out", type=Path, default=PACKAGE_DATA, help="output folder")
    args = parser.parse_args(argv)
    for path in build(args.data / "srf", args.out):
        print(f"{path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
