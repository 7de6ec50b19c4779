"""Spectral band metadata (centre wavelength, FWHM, bad-band flag, description) of a raster.

Read the way EnMAP-Box reads it, first source that has it wins:

1. GDAL ``IMAGERY`` domain, band level: ``CENTRAL_WAVELENGTH_UM`` / ``FWHM_UM`` (micrometres);
2. default domain, band level: ``wavelength``, ``wavelength_units``, ``fwhm`` (and ``bbl``);
3. ``ENVI`` domain, dataset level: ``wavelength = {...}``, ``fwhm = {...}``, ``bbl = {...}``,
   ``wavelength_units``.

Units come from ``wavelength_units`` when given, else are guessed: values below 100 are
micrometres, otherwise nanometres. Everything is returned in nanometres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rasterio.io import DatasetReader

from pifnet_engine.errors import InputDataError

_UNIT_TO_NM = {
    "nanometers": 1.0, "nanometer": 1.0, "nanometres": 1.0, "nm": 1.0,
    "micrometers": 1000.0, "micrometer": 1000.0, "micrometres": 1000.0, "microns": 1000.0,
    "micron": 1000.0, "um": 1000.0, "µm": 1000.0, "μm": 1000.0,
    "millimeters": 1e6, "mm": 1e6,
    "wavenumber": float("nan"), "index": float("nan"), "unknown": float("nan"),
}


@dataclass(frozen=True)
class BandInfo:
    """Per-band spectral metadata, one entry per band (tuples of length ``count``).

    ``wavelengths_nm``/``fwhm_nm`` are ``None`` when the raster does not say; ``good`` holds the
    bad-band list (``bbl``: False = bad band), all True when absent; ``source`` names where the
    wavelengths were found (``"IMAGERY"``, ``"band"``, ``"ENVI"`` or ``None``).
    """

    count: int
    wavelengths_nm: tuple[float, ...] | None
    fwhm_nm: tuple[float, ...] | None
    good: tuple[bool, ...]
    descriptions: tuple[str | None, ...]
    source: str | None

    @property
    def n_good(self) -> int:
        return sum(self.good)

    def subset(self, bands: list[int]) -> "BandInfo":
        """The metadata of the 0-based ``bands`` only (e.g. without an alpha band)."""
        def pick(values: tuple | None) -> tuple | None:
            return None if values is None else tuple(values[b] for b in bands)
        return BandInfo(count=len(bands), wavelengths_nm=pick(self.wavelengths_nm), fwhm_nm=pick(self.fwhm_nm),
                        good=tuple(self.good[b] for b in bands),
                        descriptions=tuple(self.descriptions[b] for b in bands), source=self.source)


def unit_factor_nm(units: str | None, values: list[float]) -> float:
    """Multiplier that turns ``values`` given in ``units`` into nanometres.

    Unknown or missing units are guessed from the values (< 100 means micrometres).
    """
    if units:
        factor = _UNIT_TO_NM.get(units.strip().lower())
        if factor is not None and not math.isnan(factor):
            return factor
    finite = [v for v in values if math.isfinite(v)]
    return 1000.0 if finite and max(finite) < 100.0 else 1.0


def parse_envi_list(text: str) -> list[str]:
    """Parse an ENVI header list such as ``"{ 0.45, 0.55 ,0.65}"`` into its items."""
    body = text.strip()
    if body.startswith("{"):
        body = body[1:]
    if body.endswith("}"):
        body = body[:-1]
    return [item.strip() for item in body.split(",") if item.strip()]


def _floats(items: list[str], what: str, path: str) -> list[float]:
    try:
        return [float(v) for v in items]
    except ValueError as exc:
        raise InputDataError(
            f"{path}: band {what} metadata is not a list of numbers ({exc}); fix the raster's "
            f"'{what}' metadata or remove it"
        ) from None


def read_band_info(src: DatasetReader) -> BandInfo:
    """Read :class:`BandInfo` from an open rasterio dataset (see module docstring for order)."""
    count = src.count
    path = str(src.name)
    descriptions = tuple(d if d else None for d in src.descriptions)
    wl: list[float] | None = None
    fwhm: list[float] | None = None
    good: list[bool] | None = None
    source: str | None = None

    imagery = [src.tags(b, ns="IMAGERY") for b in range(1, count + 1)]
    if all("CENTRAL_WAVELENGTH_UM" in t for t in imagery):
        wl = [v * 1000.0 for v in _floats([t["CENTRAL_WAVELENGTH_UM"] for t in imagery], "wavelength", path)]
        if all("FWHM_UM" in t for t in imagery):
            fwhm = [v * 1000.0 for v in _floats([t["FWHM_UM"] for t in imagery], "fwhm", path)]
        source = "IMAGERY"

    band_tags = [src.tags(b) for b in range(1, count + 1)]
    if wl is None and all("wavelength" in t for t in band_tags):
        raw = _floats([t["wavelength"] for t in band_tags], "wavelength", path)
        factor = unit_factor_nm(band_tags[0].get("wavelength_units"), raw)
        wl = [v * factor for v in raw]
        if all("fwhm" in t for t in band_tags):
            fwhm = [v * factor for v in _floats([t["fwhm"] for t in band_tags], "fwhm", path)]
        source = "band"
    if all("bbl" in t for t in band_tags):
        good = [float(t["bbl"]) != 0.0 for t in band_tags]

    envi = src.tags(ns="ENVI") if "ENVI" in src.tag_namespaces() else {}
    if wl is None and "wavelength" in envi:
        raw = _floats(parse_envi_list(envi["wavelength"]), "wavelength", path)
        if len(raw) == count:
            factor = unit_factor_nm(envi.get("wavelength_units"), raw)
            wl = [v * factor for v in raw]
            if "fwhm" in envi:
                raw_fwhm = _floats(parse_envi_list(envi["fwhm"]), "fwhm", path)
                if len(raw_fwhm) == count:
                    fwhm = [v * factor for v in raw_fwhm]
            source = "ENVI"
    if good is None and "bbl" in envi:
        flags = _floats(parse_envi_list(envi["bbl"]), "bbl", path)
        if len(flags) == count:
            good = [v != 0.0 for v in flags]

    return BandInfo(
        count=count,
        wavelengths_nm=tuple(wl) if wl is not None else None,
        fwhm_nm=tuple(fwhm) if fwhm is not None else None,
        good=tuple(good) if good is not None else (True,) * count,
        descriptions=descriptions,
        source=source,
    )


def band_tags_for_output(info: BandInfo, band: int) -> dict[str, str]:
    """Band-level metadata to write for 0-based ``band``: wavelength/fwhm in nm, bbl."""
    tags: dict[str, str] = {}
    if info.wavelengths_nm is not None:
        tags["wavelength"] = f"{info.wavelengths_nm[band]:.10g}"
        tags["wavelength_units"] = "Nanometers"
    if info.fwhm_nm is not None:
        tags["fwhm"] = f"{info.fwhm_nm[band]:.10g}"
    tags["bbl"] = "1" if info.good[band] else "0"
    return tags
