"""Readers for the on-disk formats spectral response functions come in.

Every reader returns a list of ``(band_label, wavelengths_nm, responses)`` tuples, one per band
in file order, each with its own wavelength samples (1-D float64 arrays of equal length,
wavelengths strictly increasing, in nanometres; responses relative, unitless, negative values
clipped to 0). Turning those into a :class:`~pifnet_engine.spectral.srf.SpectralResponse` (band
names, common grid) is :mod:`pifnet_engine.spectral.srf`'s job.

Formats:

- ACOLITE RSR text (``data/RSR/*.txt`` of acolite/acolite): comment lines start with ``#`` or
  ``;;``; a comment line containing the word "band" starts a new band; data lines are
  ``wavelength response [more columns]``; wavelengths < 100 are micrometres.
- EnMAP-Box spectral library GeoJSON (``spectralresampling/*.geojson``): one feature per band
  with ``properties.name`` and ``properties.response.x`` (nm) / ``.y``.
- Camera CSV (``wavelength_nm,<band>,<band>,...``, e.g. the Nikon D700 table).
- The package's own long CSV (``band,wavelength_nm,response``, ``#`` comments), see
  :mod:`pifnet_engine.spectral.build_tables`.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np

from pifnet_engine.errors import InputDataError

BandCurve = tuple[str, np.ndarray, np.ndarray]

_BAND_HEADER = re.compile(r"\bband\b", re.IGNORECASE)


def _finish_band(label: str, rows: list[tuple[float, float]], path: Path) -> BandCurve:
    """Sort one band's samples, convert micrometres to nanometres, clip negative responses."""
    if len(rows) < 2:
        raise InputDataError(
            f"SRF file {path}: band {label!r} has {len(rows)} sample(s); expected at least 2 "
            "wavelength/response rows; check the file is complete"
        )
    data = np.asarray(rows, dtype=np.float64)
    order = np.argsort(data[:, 0], kind="stable")
    wl, resp = data[order, 0], data[order, 1]
    if wl.max() < 100.0:  # micrometres (no sensor of interest has bands below 100 nm)
        wl = wl * 1000.0
    if np.any(np.diff(wl) <= 0):
        raise InputDataError(
            f"SRF file {path}: band {label!r} repeats a wavelength; expected strictly "
            "increasing wavelengths; remove the duplicate rows"
        )
    return label, wl, np.clip(resp, 0.0, None)


def read_acolite_rsr(path: str | Path) -> list[BandCurve]:
    """Read an ACOLITE RSR text file (e.g. ``S2A_MSI_V4.txt``, ``IKONOS2.txt``).

    Band labels are the text of the comment line that opened each band, e.g.
    ``"S2A_MSI Band 8A"`` or ``"BAND 3"``. Only the first two columns of data lines are used
    (wavelength, response); wavelengths in micrometres are converted to nanometres.
    """
    path = Path(path)
    bands: list[BandCurve] = []
    label: str | None = None
    rows: list[tuple[float, float]] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            line = raw.strip()
            if not line:
                continue
            if line.startswith("#") or line.startswith(";;"):
                text = line.lstrip("#;").strip()
                if _BAND_HEADER.search(text):
                    if label is not None:
                        bands.append(_finish_band(label, rows, path))
                    label, rows = text, []
                continue
            if label is None:
                raise InputDataError(
                    f"SRF file {path}: data line {line!r} before any band header; expected a "
                    "comment line naming the band (e.g. '# S2A_MSI Band 1') first; is this an "
                    "ACOLITE RSR file?"
                )
            parts = line.replace(",", " ").split()
            try:
                rows.append((float(parts[0]), float(parts[1])))
            except (IndexError, ValueError) as exc:
                raise InputDataError(
                    f"SRF file {path}: cannot parse data line {line!r}; expected "
                    "'wavelength response'"
                ) from exc
    if label is not None:
        bands.append(_finish_band(label, rows, path))
    if not bands:
        raise InputDataError(f"SRF file {path}: no bands found; expected ACOLITE RSR text")
    return bands


def read_enmapbox_geojson(path: str | Path) -> list[BandCurve]:
    """Read an EnMAP-Box spectral-library GeoJSON (``properties.response.x/y`` per band)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        features = doc["features"]
        bands = [
            _finish_band(
                str(f["properties"]["name"]),
                list(zip(f["properties"]["response"]["x"], f["properties"]["response"]["y"], strict=True)),
                path,
            )
            for f in features
        ]
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise InputDataError(
            f"SRF file {path}: not an EnMAP-Box spectral library ({exc!r}); expected a "
            "FeatureCollection whose features have properties.name and properties.response.x/y"
        ) from exc
    return bands


def read_camera_csv(path: str | Path) -> list[BandCurve]:
    """Read a wide CSV ``wavelength_nm,<band1>,<band2>,...`` (one column per band)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as fh:
        table = [row for row in csv.reader(fh) if row and not row[0].startswith("#")]
    header, body = table[0], table[1:]
    try:
        data = np.asarray([[float(v) for v in row] for row in body], dtype=np.float64)
    except ValueError as exc:
        raise InputDataError(
            f"SRF file {path}: non-numeric value ({exc}); expected a header row then numbers"
        ) from exc
    if data.ndim != 2 or data.shape[1] != len(header) or data.shape[1] < 2:
        raise InputDataError(
            f"SRF file {path}: expected columns wavelength_nm,<band>,... with one value per "
            f"column; got header {header} and rows of shape {data.shape}"
        )
    return [
        _finish_band(name.strip(), list(zip(data[:, 0], data[:, j], strict=True)), path)
        for j, name in enumerate(header[1:], start=1)
    ]


def read_long_csv(path: str | Path) -> list[BandCurve]:
    """Read the package's long CSV ``band,wavelength_nm,response`` (``#`` lines are comments)."""
    path = Path(path)
    per_band: dict[str, list[tuple[float, float]]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(line for line in fh if line.strip() and not line.startswith("#"))
        header = next(reader)
        if [h.strip() for h in header] != ["band", "wavelength_nm", "response"]:
            raise InputDataError(
                f"SRF table {path}: header {header}; expected band,wavelength_nm,response"
            )
        for row in reader:
            per_band.setdefault(row[0], []).append((float(row[1]), float(row[2])))
    return [_finish_band(name, rows, path) for name, rows in per_band.items()]


def write_long_csv(
    path: str | Path, bands: list[BandCurve], header_lines: list[str] | tuple[str, ...] = ()
) -> None:
    """Write bands as a long CSV ``band,wavelength_nm,response`` with ``#`` header comments.

    Values are written with ``repr``-exact precision for wavelengths and 8 significant digits
    for responses, so re-reading gives the source values to within 5e-9 relative.
    """
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        for line in header_lines:
            fh.write(f"# {line}\n")
        fh.write("band,wavelength_nm,response\n")
        for name, wl, resp in bands:
            for w, r in zip(wl, resp, strict=True):
                fh.write(f"{name},{float(w):.10g},{float(r):.8g}\n")
