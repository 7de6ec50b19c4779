"""The algorithm's help, shown beside its dialog (simple HTML, as QGIS renders it). Pure Python."""

from __future__ import annotations

FUSE_HELP_HTML = """
<p>Fuses a low-resolution <b>hyperspectral</b> raster (HSI: many narrow bands, e.g. EnMAP,
PRISMA, AVIRIS at 30 m) with a high-resolution <b>multispectral</b> raster (MSI: a few broad
bands, e.g. Sentinel-2 at 10 m) of the same place into a hyperspectral raster at the MSI's
resolution. The work is done by the external program <code>pifnet-engine</code>, window by
window, so rasters larger than memory are fine.</p>

<h3>Inputs</h3>
<ul>
<li><b>HSI</b> and <b>MSI</b>: file-based raster layers GDAL can read (GeoTIFF, ENVI, ...),
both with a CRS. Band wavelengths in the metadata (ENVI <i>wavelength</i>, GDAL
<i>WAVELENGTH</i>) let the methods match bands; nodata values are respected.</li>
<li>Layers that are not plain files (WMS, database rasters, virtual layers) must first be
exported to GeoTIFF (Raster &gt; Conversion &gt; Translate).</li>
</ul>

<h3>Grid rules</h3>
<ul>
<li>The result lies on the <b>MSI's grid</b> (its CRS, pixel size and pixel alignment)
over the area both rasters cover, i.e. the MSI's whole extent when the HSI covers it, with as
many bands as the HSI.</li>
<li>The HSI's pixel size must be a whole multiple of the MSI's (30 m / 10 m = 3). Otherwise
tick <i>Allow resampling</i>, and the HSI is warped onto a compatible grid first.</li>
<li>If the CRSs differ, the HSI is warped onto the MSI's CRS (a warning says so). Rotated
grids are refused. The two rasters must overlap.</li>
</ul>

<h3>Methods</h3>
<ul>
<li><b>PIF-Net</b>: the neural network of Li, Wang &amp; Xu (invertible Mamba with
fusion-aware LoRA). Its quality depends on the weights: they must be trained for this HSI
sensor, MSI band set and ratio (the <i>Weights file</i>; when empty the engine picks the bundled
weights that fit, e.g. EnMAP to Sentinel-2 at 3x, and refuses otherwise). A GPU
(<i>Device</i> cuda or auto) makes it much faster.</li>
<li><b>GSA</b>: Gram-Schmidt adaptive component substitution. Fast, no weights, good
general default.</li>
<li><b>Bicubic</b>: the HSI upsampled onto the MSI grid, the MSI unused. A baseline for
comparison.</li>
</ul>

<h3>Advanced</h3>
<ul>
<li><b>Tile size</b> (MSI pixels): side of each window; lower it if memory runs out.</li>
<li><b>Overlap</b> (MSI pixels): blending margin between windows; empty = the method's
default.</li>
<li><b>Output data type</b>: Float32, or the HSI's own type with its scale/offset.</li>
<li><b>Cloud Optimized GeoTIFF</b>: write the result as a COG.</li>
</ul>

<p>The engine is found at the path in Settings &gt; Options &gt; Processing &gt; Providers &gt;
PIF-Net, else in the environment variable <code>PIFNET_ENGINE</code>, else on PATH.
Enum parameters in <code>qgis_process</code> take the option's index: METHOD 0 = PIF-Net,
1 = GSA, 2 = Bicubic; DEVICE 0 = auto, 1 = cpu, 2 = cuda; DATA_TYPE 0 = Float32, 1 = same as
HSI.</p>
"""
