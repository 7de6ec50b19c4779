"""Spectral response functions (SRF) of multispectral sensors, and the HSI -> MSI response matrix.

An MSI band j sees the scene's spectrum L(lambda) through its relative response s_j(lambda):
``MSI_j = integral s_j L dlambda / integral s_j dlambda``. For a hyperspectral image with bands
k (centre lambda_k, FWHM w_k) this becomes the linear map ``MSI = R @ HSI`` with a row-normalised
(c, C) matrix R, built by :func:`response_matrix`.

Sensors (names for :func:`load_srf`; band names in brackets, matched case-insensitively):

- ``sentinel2a`` / ``sentinel2b``: Sentinel-2A/2B MSI, ESA SRF v4.0 (2024), 1 nm
  [B1 B2 B3 B4 B5 B6 B7 B8 B8A B9 B10 B11 B12];
- ``nikon_d700``: Nikon D700 camera at 400..700 nm, 10 nm, as used for CAVE [blue green red];
- ``ikonos``: IKONOS-2, Maxar, 5 nm [PAN B1 B2 B3 B4] (blue, green, red, NIR);
- ``quickbird``: QuickBird-2, Maxar, 5 nm [PAN B1 B2 B3 B4];
- ``landsat8_oli``: Landsat 8 OLI band averages, NASA, 1 nm [B1 .. B9];
- ``worldview2`` [COASTAL BLUE GREEN YELLOW RED REDEDGE NIR1 NIR2 PAN],
  ``worldview3`` [those + SWIR1 .. SWIR8], ``eo1_ali`` [PAN MS-1p MS-1 MS-2 MS-3 MS-4 MS-4p
  MS-5p MS-5 MS-7], ``landsat7_etm`` / ``landsat5_tm`` [B1 B2 B3 B4 B5 B7].

The first six are bundled with the package (``spectral/data/*.csv``, see ATTRIBUTION.md there);
the others are read from a copy of the project's SRF collection (``source_dir``, the folder
``srf/`` of the shared data, laid out as in its SOURCE.txt).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from pifnet_engine.errors import InputDataError
from pifnet_engine.spectral import formats

PACKAGE_DATA = Path(__file__).resolve().parent / "data"

# numpy >= 2 renamed trapz to trapezoid; the project supports numpy >= 1.24.
_trapz = getattr(np, "trapezoid", None) or getattr(np, "trapz")

#: Fraction of FWHM -> standard deviation of a Gaussian: sigma = fwhm / (2 sqrt(2 ln 2)).
FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


@dataclass(frozen=True)
class SensorSpec:
    """Where a sensor's SRF lives: bundled table and/or original file, and its band names."""

    name: str
    title: str
    band_names: tuple[str, ...]
    source_file: str  # relative to the SRF collection folder (shared data ``srf/``)
    reader: Callable[[str | Path], list[formats.BandCurve]]
    bundled: bool
    source_band_order: tuple[int, ...] | None = None  # source band index for each band name


_S2 = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12")
_WV2 = ("COASTAL", "BLUE", "GREEN", "YELLOW", "RED", "REDEDGE", "NIR1", "NIR2", "PAN")
_WV3 = _WV2[:-1] + tuple(f"SWIR{i}" for i in range(1, 9)) + ("PAN",)
_LANDSAT_TM = ("B1", "B2", "B3", "B4", "B5", "B7")

SENSORS: dict[str, SensorSpec] = {
    s.name: s
    for s in (
        SensorSpec("sentinel2a", "Sentinel-2A MSI (ESA SRF v4.0, 2024)", _S2,
                   "acolite/S2A_MSI_V4.txt", formats.read_acolite_rsr, True),
        SensorSpec("sentinel2b", "Sentinel-2B MSI (ESA SRF v4.0, 2024)", _S2,
                   "acolite/S2B_MSI_V4.txt", formats.read_acolite_rsr, True),
        SensorSpec("nikon_d700", "Nikon D700 RGB camera (CAVE protocol)", ("blue", "green", "red"),
                   "nikon_d700/nikon_d700.csv", formats.read_camera_csv, True),
        SensorSpec("ikonos", "IKONOS-2 (Maxar)", ("PAN", "B1", "B2", "B3", "B4"),
                   "acolite/IKONOS2.txt", formats.read_acolite_rsr, True),
        SensorSpec("quickbird", "QuickBird-2 (Maxar)", ("PAN", "B1", "B2", "B3", "B4"),
                   "acolite/QuickBird2.txt", formats.read_acolite_rsr, True),
        SensorSpec("landsat8_oli", "Landsat 8 OLI (NASA band averages)",
                   tuple(f"B{i}" for i in range(1, 10)),
                   "acolite/L8_OLI.txt", formats.read_acolite_rsr, True),
        SensorSpec("worldview2", "WorldView-2 (Maxar)", _WV2,
                   "acolite/WorldView2.txt", formats.read_acolite_rsr, False),
        SensorSpec("worldview3", "WorldView-3 (Maxar)", _WV3,
                   "acolite/WorldView3.txt", formats.read_acolite_rsr, False),
        SensorSpec("eo1_ali", "EO-1 ALI (CSIRO)",
                   ("PAN", "MS-1p", "MS-1", "MS-2", "MS-3", "MS-4", "MS-4p", "MS-5p", "MS-5", "MS-7"),
                   "acolite/EO1_ALI.txt", formats.read_acolite_rsr, False),
        SensorSpec("landsat7_etm", "Landsat 7 ETM+ (EnMAP-Box)", _LANDSAT_TM,
                   "enmapbox/landsat_etm.geojson", formats.read_enmapbox_geojson, False),
        SensorSpec("landsat5_tm", "Landsat 4-5 TM (EnMAP-Box)", _LANDSAT_TM,
                   "enmapbox/landsat_tm.geojson", formats.read_enmapbox_geojson, False),
    )
}


@dataclass(frozen=True, eq=False)
class SpectralResponse:
    """Relative spectral responses of one sensor's bands on a common wavelength grid.

    - ``sensor``: registry name (e.g. ``"sentinel2a"``);
    - ``band_names``: (c,) band names, e.g. ``("B2", "B3", "B4", "B8")``;
    - ``wavelengths_nm``: (n,) float64, strictly increasing, nanometres;
    - ``responses``: (c, n) float64 relative response (unitless, >= 0, as published: not
      normalised), 0 outside each band's measured range.
    """

    sensor: str
    band_names: tuple[str, ...]
    wavelengths_nm: np.ndarray
    responses: np.ndarray

    @property
    def n_bands(self) -> int:
        return len(self.band_names)

    def centres_nm(self) -> np.ndarray:
        """(c,) response-weighted mean wavelength of each band, nm."""
        wl = self.wavelengths_nm
        area = _trapz(self.responses, wl, axis=1)
        return _trapz(self.responses * wl, wl, axis=1) / area

    def half_max_ranges_nm(self) -> np.ndarray:
        """(c, 2) first and last wavelength where each band's response is >= half its peak, nm."""
        out = np.empty((self.n_bands, 2))
        for j, resp in enumerate(self.responses):
            above = np.flatnonzero(resp >= 0.5 * resp.max())
            out[j] = self.wavelengths_nm[above[0]], self.wavelengths_nm[above[-1]]
        return out

    def band_index(self, band: str) -> int:
        """Index of a band by name (case-insensitive)."""
        lowered = [b.lower() for b in self.band_names]
        try:
            return lowered.index(band.lower())
        except ValueError:
            raise InputDataError(
                f"sensor {self.sensor!r} has no band {band!r}; expected one of "
                f"{', '.join(self.band_names)}"
            ) from None

    def select(self, bands: Sequence[str]) -> "SpectralResponse":
        """The same sensor restricted to ``bands`` (in the order given)."""
        if isinstance(bands, str):
            bands = (bands,)
        idx = [self.band_index(b) for b in bands]
        if not idx:
            raise InputDataError(f"no bands selected from sensor {self.sensor!r}; pass at least one")
        return _make(self.sensor, tuple(self.band_names[i] for i in idx),
                     self.wavelengths_nm, self.responses[idx])


def _make(sensor: str, names: tuple[str, ...], wl: np.ndarray, resp: np.ndarray) -> SpectralResponse:
    wl = np.array(wl, dtype=np.float64)
    resp = np.array(resp, dtype=np.float64)
    wl.flags.writeable = False
    resp.flags.writeable = False
    return SpectralResponse(sensor, names, wl, resp)


def from_curves(sensor: str, curves: Sequence[formats.BandCurve],
                band_names: Sequence[str] | None = None) -> SpectralResponse:
    """Put per-band curves (each on its own samples) on the union of all sample wavelengths.

    Inside a band's measured range its response is linearly interpolated (exact at its own
    samples); outside it is 0.
    """
    names = tuple(band_names) if band_names is not None else tuple(c[0] for c in curves)
    if len(names) != len(curves):
        raise InputDataError(
            f"sensor {sensor!r}: {len(curves)} bands in the file but {len(names)} band names; "
            "expected one name per band"
        )
    grid = np.unique(np.concatenate([c[1] for c in curves]))
    resp = np.stack([np.interp(grid, wl, r, left=0.0, right=0.0) for _, wl, r in curves])
    return _make(sensor, names, grid, resp)


def available_sensors() -> dict[str, str]:
    """Registry name -> title of every known sensor."""
    return {name: spec.title for name, spec in SENSORS.items()}


def load_srf(sensor: str, bands: Sequence[str] | None = None,
             source_dir: str | Path | None = None) -> SpectralResponse:
    """Load a sensor's SRF by registry name, optionally restricted to ``bands`` (in that order).

    Bundled sensors are read from the package; the others need ``source_dir`` (the shared
    data's ``srf/`` folder). Passing ``source_dir`` for a bundled sensor reads the original file
    instead of the bundled table (the two agree to 8 significant digits).

    Example: ``load_srf("sentinel2a", bands=("B2", "B3", "B4", "B8"))``.
    """
    key = sensor.lower().replace("-", "").replace(" ", "")
    aliases = {"sentinel2": "sentinel2a", "s2a": "sentinel2a", "s2b": "sentinel2b",
               "ikonos2": "ikonos", "quickbird2": "quickbird", "nikon": "nikon_d700",
               "oli": "landsat8_oli", "landsat8": "landsat8_oli", "ali": "eo1_ali"}
    key = aliases.get(key, key)
    spec = SENSORS.get(key)
    if spec is None:
        raise InputDataError(
            f"unknown sensor {sensor!r}; expected one of {', '.join(SENSORS)}"
        )
    if source_dir is not None:
        path = Path(source_dir) / spec.source_file
        if not path.is_file():
            raise InputDataError(
                f"SRF file for {spec.name!r} not found at {path}; expected source_dir to be the "
                "shared data's srf/ folder (holding acolite/, enmapbox/, nikon_d700/)"
            )
        curves = spec.reader(path)
    elif spec.bundled:
        curves = formats.read_long_csv(PACKAGE_DATA / f"{spec.name}.csv")
    else:
        raise InputDataError(
            f"the SRF of {spec.name!r} is not bundled with the package; pass "
            "source_dir=<path to the shared data's srf/ folder>, or use a bundled sensor: "
            f"{', '.join(n for n, s in SENSORS.items() if s.bundled)}"
        )
    srf = from_curves(spec.name, curves, spec.band_names)
    return srf.select(bands) if bands is not None else srf


def load_srf_file(path: str | Path, sensor: str | None = None,
                  band_names: Sequence[str] | None = None) -> SpectralResponse:
    """Load an SRF from any supported file (ACOLITE ``.txt``, EnMAP-Box ``.geojson``, ``.csv``).

    ``.csv`` files are read as the package's long format if their header is
    ``band,wavelength_nm,response``, else as a wide camera table.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".geojson" or suffix == ".json":
        curves = formats.read_enmapbox_geojson(path)
    elif suffix == ".csv":
        with path.open(encoding="utf-8") as fh:
            first = next((ln for ln in fh if ln.strip() and not ln.startswith("#")), "")
        long = first.replace(" ", "").strip() == "band,wavelength_nm,response"
        curves = formats.read_long_csv(path) if long else formats.read_camera_csv(path)
    elif suffix == ".txt":
        curves = formats.read_acolite_rsr(path)
    else:
        raise InputDataError(
            f"cannot read SRF file {path}: unknown extension {suffix!r}; expected .txt (ACOLITE), "
            ".geojson (EnMAP-Box) or .csv"
        )
    return from_curves(sensor or path.stem, curves, band_names)


def _band_widths_nm(centres: np.ndarray) -> np.ndarray:
    """(C,) spacing between neighbouring band centres (in sorted order), nm; 1 for one band."""
    if centres.size < 2:
        return np.ones_like(centres)
    order = np.argsort(centres)
    widths = np.empty_like(centres)
    widths[order] = np.abs(np.gradient(centres[order]))
    return widths


def response_matrix(
    srf: SpectralResponse,
    hsi_wavelengths_nm: Sequence[float] | np.ndarray,
    hsi_fwhm_nm: Sequence[float] | np.ndarray | None = None,
    bands: Sequence[str] | None = None,
    valid_bands: Sequence[bool] | np.ndarray | None = None,
    min_coverage: float = 0.5,
) -> np.ndarray:
    """Row-normalised (c, C) matrix R with ``MSI = R @ HSI`` (per pixel).

    - ``hsi_wavelengths_nm``: (C,) HSI band centres, nm;
    - ``hsi_fwhm_nm``: (C,) HSI band FWHM, nm, or None;
    - ``bands``: MSI band names to use (default: all of ``srf``);
    - ``valid_bands``: (C,) bool, False for bad bands: their columns are 0;
    - ``min_coverage``: refuse when less than this fraction of an MSI band's response
      integral falls within the valid HSI bands' spectral support.

    With FWHM, each HSI band k is a Gaussian g_k (centre lambda_k, sigma = FWHM_k / 2.3548) and
    ``R[j, k] = integral s_j g_k dlambda`` (trapezoid rule on a grid of step
    min(1 nm, min FWHM / 5)). Without FWHM, bands are taken as contiguous boxes:
    ``R[j, k] = s_j(lambda_k) * dlambda_k`` (dlambda_k = local band spacing; for the Nikon D700
    table at the CAVE wavelengths this is exactly the published table). Each row is then divided
    by its sum. Returns float64.
    """
    if bands is not None:
        srf = srf.select(bands)
    centres = np.asarray(hsi_wavelengths_nm, dtype=np.float64).reshape(-1)
    n_hsi = centres.size
    if n_hsi == 0 or not np.all(np.isfinite(centres)):
        raise InputDataError(
            f"HSI wavelengths must be {n_hsi} finite values in nm; got {centres[:5]}...; "
            "check the raster's wavelength metadata"
        )
    valid = np.ones(n_hsi, bool) if valid_bands is None else np.asarray(valid_bands, bool).reshape(-1)
    if valid.size != n_hsi:
        raise InputDataError(
            f"valid_bands has {valid.size} entries but the HSI has {n_hsi} bands; "
            "pass one flag per band"
        )
    spacing = _band_widths_nm(centres)
    if hsi_fwhm_nm is not None:
        fwhm = np.asarray(hsi_fwhm_nm, dtype=np.float64).reshape(-1)
        if fwhm.size != n_hsi or not np.all(np.isfinite(fwhm)) or np.any(fwhm <= 0):
            raise InputDataError(
                f"hsi_fwhm_nm must be {n_hsi} positive values in nm; got {fwhm.size} values "
                f"(min {np.nanmin(fwhm) if fwhm.size else 'n/a'}); pass the HSI's FWHM or None"
            )
        half_support = np.maximum(fwhm, spacing) / 2.0
    else:
        fwhm = None
        half_support = spacing / 2.0

    wl_srf, resp_srf = srf.wavelengths_nm, srf.responses
    step = 1.0 if fwhm is None else min(1.0, float(fwhm[valid].min() if valid.any() else 1.0) / 5.0)
    out = np.zeros((srf.n_bands, n_hsi))
    for j in range(srf.n_bands):
        nz = np.flatnonzero(resp_srf[j] > 0)
        if nz.size == 0:
            raise InputDataError(f"band {srf.band_names[j]!r} of {srf.sensor!r} has no response")
        lo, hi = wl_srf[nz[0]], wl_srf[nz[-1]]
        grid = np.linspace(lo, hi, int(np.ceil((hi - lo) / step)) + 1)
        s = np.interp(grid, wl_srf, resp_srf[j], left=0.0, right=0.0)
        total = _trapz(s, grid)
        supported = np.zeros(grid.shape, bool)
        for k in np.flatnonzero(valid):
            supported |= np.abs(grid - centres[k]) <= half_support[k]
        coverage = _trapz(s * supported, grid) / total
        if coverage < min_coverage:
            vc = centres[valid]
            span = f"{vc.min():.0f}-{vc.max():.0f} nm" if vc.size else "none"
            raise InputDataError(
                f"MSI band {srf.band_names[j]!r} of {srf.sensor!r} ({lo:.0f}-{hi:.0f} nm) is only "
                f"{100 * coverage:.0f}% covered by the HSI's valid bands (span {span}, "
                f"{int((~valid).sum())} bad bands excluded); expected at least "
                f"{100 * min_coverage:.0f}%; choose MSI bands inside the HSI's spectral range"
            )
        if fwhm is None:
            out[j] = np.interp(centres, wl_srf, resp_srf[j], left=0.0, right=0.0) * spacing
        else:
            sigma = fwhm * FWHM_TO_SIGMA
            gauss = np.exp(-0.5 * ((grid[None, :] - centres[:, None]) / sigma[:, None]) ** 2)
            out[j] = _trapz(s[None, :] * gauss, grid, axis=1)
        out[j, ~valid] = 0.0
        row_sum = out[j].sum()
        if row_sum <= 0:
            raise InputDataError(
                f"MSI band {srf.band_names[j]!r} of {srf.sensor!r} falls between the HSI's valid "
                "band centres (all weights 0); pass hsi_fwhm_nm so bands are integrated, not sampled"
            )
        out[j] /= row_sum
    return out


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """(c, C) float64 matrix with each row divided by its sum (rows must sum to > 0)."""
    m = np.asarray(matrix, dtype=np.float64)
    sums = m.sum(axis=1, keepdims=True)
    if np.any(sums <= 0):
        raise InputDataError(
            f"response matrix rows {np.flatnonzero(sums[:, 0] <= 0).tolist()} sum to <= 0; "
            "expected non-negative weights with a positive sum per MSI band"
        )
    return m / sums


def load_matrix_mat(path: str | Path, key: str = "R", normalise: bool = True) -> np.ndarray:
    """Load a ready-made (c, C) spectral response matrix from a MATLAB ``.mat`` file (v5)."""
    from scipy.io import loadmat

    path = Path(path)
    try:
        mat = loadmat(path)
    except (OSError, ValueError, NotImplementedError) as exc:
        raise InputDataError(
            f"cannot read response matrix {path}: {exc}; expected a MATLAB v5 .mat"
        ) from exc
    if key not in mat:
        keys = [k for k in mat if not k.startswith("__")]
        raise InputDataError(f"{path} has no variable {key!r}; found {keys}; pass key=")
    m = np.asarray(mat[key], dtype=np.float64)
    if m.ndim != 2:
        raise InputDataError(f"{path}:{key} has shape {m.shape}; expected a 2-D (c, C) matrix")
    return normalise_rows(m) if normalise else m


def load_rosis_ikonos_matrix(normalise: bool = True,
                             source_dir: str | Path | None = None) -> np.ndarray:
    """(4, 103) ROSIS (Pavia University, 103 bands) -> IKONOS-like 4-band matrix (CSTF / MHF-net).

    Rows: blue, green, red, NIR (peaks at band 16, 29, 59, 84, 0-based). The published rows
    sum to 16.95 / 21.40 / 16.92 / 21.03; ``normalise=True`` (default) divides each row by its
    sum. Bundled as ``spectral/data/rosis_ikonos_4x103.csv``; ``source_dir`` (the shared data's
    ``srf/`` folder) reads the original ``pavia_rosis_R_4x103/R.mat`` instead.
    """
    if source_dir is not None:
        return load_matrix_mat(Path(source_dir) / "pavia_rosis_R_4x103" / "R.mat", "R", normalise)
    m = np.loadtxt(PACKAGE_DATA / "rosis_ikonos_4x103.csv", delimiter=",", comments="#")
    return normalise_rows(m) if normalise else m
