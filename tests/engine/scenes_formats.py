"""Writers for the other raster formats the engine reads: ENVI .hdr/.img pairs and VRTs (test fixtures).

Both are written by hand (not through GDAL) so that the tests read what real files from other
software look like: an ENVI header with ``map info`` / ``coordinate system string`` and
dataset-level ``wavelength``/``fwhm``/``bbl`` lists, and a VRT whose bands point into a GeoTIFF.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import WktVersion

_ENVI_TYPES = {"uint8": 1, "int16": 2, "int32": 3, "float32": 4, "float64": 5, "uint16": 12, "uint32": 13}
_VRT_TYPES = {"uint8": "Byte", "int16": "Int16", "uint16": "UInt16", "int32": "Int32",
              "uint32": "UInt32", "float32": "Float32", "float64": "Float64"}


def _envi_list(values: list[object]) -> str:
    return "{" + ", ".join(str(v) for v in values) + "}"


def write_envi(img: Path, data: np.ndarray, transform: Affine, crs: str = "EPSG:32633", *,
               wavelengths: list[float] | None = None, fwhm: list[float] | None = None,
               units: str | None = "Nanometers", bbl: list[int] | None = None,
               band_names: list[str] | None = None, nodata: float | None = None) -> Path:
    """Write (C, H, W) ``data`` as a raw BSQ little-endian ``img`` plus ``img.with_suffix('.hdr')``.

    ``transform`` must be north-up; the UTM zone in ``map info`` is taken from ``crs`` (an EPSG
    UTM code), and the full CRS goes into ``coordinate system string`` as ESRI WKT, like ENVI
    writes it. ``units=None`` leaves out ``wavelength units`` (readers must guess).
    """
    c, h, w = data.shape
    dtype = data.dtype.name
    if dtype not in _ENVI_TYPES:
        raise ValueError(f"ENVI writer: unsupported dtype {dtype}")
    if transform.b != 0 or transform.d != 0:
        raise ValueError("ENVI writer: only north-up transforms")
    np.ascontiguousarray(data).astype(data.dtype.newbyteorder("<"), copy=False).tofile(img)
    crs_obj = CRS.from_user_input(crs)
    epsg = crs_obj.to_epsg() or 0
    zone, hemi = (epsg - 32600, "North") if 32601 <= epsg <= 32660 else (epsg - 32700, "South")
    lines = [
        "ENVI",
        "description = {pifnet-engine test fixture}",
        f"samples = {w}", f"lines = {h}", f"bands = {c}",
        "header offset = 0", "file type = ENVI Standard",
        f"data type = {_ENVI_TYPES[dtype]}", "interleave = bsq", "byte order = 0",
        f"map info = {{UTM, 1, 1, {transform.c!r}, {transform.f!r}, {transform.a!r}, {-transform.e!r}, "
        f"{zone}, {hemi}, WGS-84, units=Meters}}",
        f"coordinate system string = {{{crs_obj.to_wkt(version=WktVersion.WKT1_ESRI)}}}",
    ]
    if units is not None:
        lines.append(f"wavelength units = {units}")
    if wavelengths is not None:
        lines.append(f"wavelength = {_envi_list(wavelengths)}")
    if fwhm is not None:
        lines.append(f"fwhm = {_envi_list(fwhm)}")
    if bbl is not None:
        lines.append(f"bbl = {_envi_list(bbl)}")
    if band_names is not None:
        lines.append(f"band names = {_envi_list(band_names)}")
    if nodata is not None:
        lines.append(f"data ignore value = {nodata}")
    img.with_suffix(".hdr").write_text("\n".join(lines) + "\n")
    return img


def write_vrt(path: Path, source: Path, *, count: int, width: int, height: int, transform: Affine,
              dtype: str = "float32", crs: str = "EPSG:32633", nodata: float | None = None,
              band_metadata: list[dict[str, str]] | None = None,
              dataset_metadata: dict[str, dict[str, str]] | None = None,
              descriptions: list[str] | None = None) -> Path:
    """Write a VRT whose band ``b`` is band ``b`` of ``source`` (same size), with chosen metadata.

    ``band_metadata[b]`` goes to band ``b + 1``'s default domain; ``dataset_metadata`` maps a
    domain name (``""`` for the default one, e.g. ``"ENVI"``) to dataset-level items.
    """
    gt = ", ".join(repr(v) for v in transform.to_gdal())
    out = [f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">',
           f"  <SRS>{escape(CRS.from_user_input(crs).to_wkt())}</SRS>",
           f"  <GeoTransform>{gt}</GeoTransform>"]
    for domain, items in (dataset_metadata or {}).items():
        attr = f" domain={quoteattr(domain)}" if domain else ""
        out.append(f"  <Metadata{attr}>")
        out += [f"    <MDI key={quoteattr(k)}>{escape(v)}</MDI>" for k, v in items.items()]
        out.append("  </Metadata>")
    for b in range(count):
        out.append(f'  <VRTRasterBand dataType="{_VRT_TYPES[dtype]}" band="{b + 1}">')
        if descriptions is not None:
            out.append(f"    <Description>{escape(descriptions[b])}</Description>")
        if nodata is not None:
            out.append(f"    <NoDataValue>{nodata!r}</NoDataValue>")
        if band_metadata is not None and band_metadata[b]:
            out.append("    <Metadata>")
            out += [f"      <MDI key={quoteattr(k)}>{escape(v)}</MDI>" for k, v in band_metadata[b].items()]
            out.append("    </Metadata>")
        out += ["    <SimpleSource>",
                f'      <SourceFilename relativeToVRT="0">{escape(str(source))}</SourceFilename>',
                f"      <SourceBand>{b + 1}</SourceBand>",
                f'      <SrcRect xOff="0" yOff="0" xSize="{width}" ySize="{height}"/>',
                f'      <DstRect xOff="0" yOff="0" xSize="{width}" ySize="{height}"/>',
                "    </SimpleSource>",
                "  </VRTRasterBand>"]
    out.append("</VRTDataset>")
    path.write_text("\n".join(out) + "\n")
    return path
