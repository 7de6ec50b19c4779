"""The algorithms' help, shown beside their dialogs (simple HTML, as QGIS renders it). Pure Python.

QGIS 3.22's help panel turns every newline of the help string into a line break, so the texts
below are written hard-wrapped for reading here and joined into one line by :func:`one_line`.
"""

from __future__ import annotations

import re


#: The plugin's documentation on the project's repository (``repository=`` in metadata.txt);
#: each algorithm's *Help* button opens its section.
DOCS_URL = "https://github.com/pifnet-engine/pifnet-engine/blob/main/docs/qgis.md"
FUSE_HELP_URL = f"{DOCS_URL}#4-run-it"
FIT_HELP_URL = f"{DOCS_URL}#5-fit-pif-net-to-your-own-pair"


def one_line(html: str) -> str:
    """``html`` with every run of whitespace that holds a newline replaced by one space."""
    return re.sub(r"\s*\n\s*", " ", html).strip()

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
<li><b>Allow resampling</b>: accept an HSI whose pixel size is not a whole multiple of the MSI's
and warp it onto a compatible grid first (see <i>Grid rules</i>).</li>
</ul>

<h3>Result</h3>
<p>The result layer is named after its file and method, e.g. <i>fused (GSA)</i>, and drawn in
true colour from the bands nearest 640 / 550 / 470 nm when the HSI's band wavelengths are
known.</p>

<h3>Quality report</h3>
<p>With <i>Write a quality report and quicklook</i> ticked (the default) the engine also writes,
beside <code>fused.tif</code>, <code>fused.report.html</code> (one self-contained page),
<code>fused.report.json</code> and <code>fused.quicklook.png</code>: how well the result agrees
with the HSI (spatial consistency) and the MSI (spectral consistency), a QNR index, and a check at
reduced resolution against GSA and bicubic. Its one-line summary goes to the log; the HTML page
is the output <code>OUTPUT_REPORT</code> and appears in <i>Processing &gt; Results Viewer</i>
(double-click it to open it in the web browser). An older report beside the output is replaced,
or removed when the box is unticked. The report adds a few seconds for a small raster and reads
the whole result once more.</p>

<p>The engine is found at the path in Settings &gt; Options &gt; Processing &gt; Providers &gt;
PIF-Net, else in the environment variable <code>PIFNET_ENGINE</code>, else on PATH.
Enum parameters in <code>qgis_process</code> take the option's index: METHOD 0 = PIF-Net,
1 = GSA, 2 = Bicubic; DEVICE 0 = auto, 1 = cpu, 2 = cuda; DATA_TYPE 0 = Float32, 1 = same as
HSI.</p>
"""

_FIT_BODY = """
<p>Fits (trains) PIF-Net to <b>this</b> pair with the external program <code>pifnet-train
fit</code>, self-supervised: the pair is degraded by its resolution ratio (Wald's protocol), so
the HSI itself is the ground truth at reduced resolution. When it starts from weights, or the
pair is small, it also asks the fused image to agree with the pair at full resolution (averaged
over each HSI pixel it is the HSI; its MSI bands, estimated from the pair, are the MSI). A block
of the reduced pair is held out and, at the end, the fitted PIF-Net, GSA and bicubic are scored on it; the table and the
verdict appear in the log. When the fitted PIF-Net is <b>not ahead of GSA</b> there (PSNR and
SAM), a warning recommends GSA for this pair.</p>

<h3>Inputs and settings</h3>
<ul>
<li><b>HSI</b> and <b>MSI</b>: as for <i>Fuse HSI+MSI</i> (file-based rasters, same grid rules:
the HSI's pixel size a whole multiple of the MSI's unless <i>Allow resampling</i> is ticked).</li>
<li><b>Time budget</b> (minutes): the wall time of the whole fit, preparation and the final
scoring included. 10 minutes is a good first try; a GPU (<i>Device</i> cuda or auto) does many
more steps in the same time.</li>
<li><b>Start</b>: <i>auto</i> fine-tunes the bundled weights that fit the pair (same bands,
ratio and wavelengths), else starts from scratch; <i>from scratch</i> starts a fresh PIF-Net
(it begins as the bicubic image); <i>from the start weights file</i> fine-tunes the weights
file given below.</li>
<li><b>Resume</b>: continues the earlier fit of the same weights file (after a Cancel, or for
more time) from its last checkpoint; the start choice is then ignored. Without it, an earlier
fit of that file (its <code>.fit</code> folder) is replaced.</li>
<li>Advanced: <b>CPU threads</b> (empty: PyTorch's default), <b>Stop after this many training
steps</b> (0: the time budget decides; useful for quick trials), <b>Allow resampling</b>.</li>
</ul>

<h3>Files</h3>
<p>The fit writes <code>NAME.safetensors</code> (the weights), <code>NAME.json</code> (their
manifest: bands, ratio, the held-out scores) and the run folder <code>NAME.fit</code>
(checkpoints, logs) beside them. <b>Cancel</b> stops the fit: the trainer still writes the best
weights so far as a complete file (the run then reports <i>Cancelled</i> and says where), and
<i>Resume</i> continues from there.</p>
"""

_FIT_FOOTER = """
<p><code>pifnet-train</code> is found at the path in Settings &gt; Options &gt; Processing &gt;
Providers &gt; PIF-Net &gt; pifnet-train executable, else in the environment variable
<code>PIFNET_TRAIN</code>, else beside the <code>pifnet-engine</code> the provider uses (they are
installed together), else on PATH. Enum parameters in <code>qgis_process</code> take the option's
index: START 0 = auto, 1 = from scratch, 2 = from the start weights file; DEVICE 0 = auto,
1 = cpu, 2 = cuda. TIME_BUDGET is in minutes.</p>
"""

FIT_HELP_HTML = _FIT_BODY + """
<h3>Outputs</h3>
<ul>
<li><b>Fitted weights</b> (<code>OUTPUT</code>): the <code>.safetensors</code> file, for
<i>Fuse HSI+MSI</i> with method PIF-Net and this <i>Weights file</i>.</li>
<li><code>AHEAD_OF_GSA</code>: true when the fitted PIF-Net beat GSA on the held-out block.</li>
</ul>
""" + _FIT_FOOTER

FITFUSE_HELP_HTML = """
<p>Fits PIF-Net to the pair (as <i>Fit PIF-Net to a pair</i>, the first 80 % of the progress
bar), then fuses the pair with the fitted weights (as <i>Fuse HSI+MSI</i> with method PIF-Net,
the last 20 %): a fused raster from one dialog.</p>

<p><b>When the fit is not ahead of GSA</b> on its held-out block, the raster is still fused with
the fitted PIF-Net and a warning recommends GSA; tick <i>Use GSA when the fitted PIF-Net is not
ahead of GSA</i> to have such a pair fused with GSA instead (also with a warning). The <code>METHOD</code>
output says which method made the raster.</p>
""" + _FIT_BODY + """
<h3>Outputs</h3>
<ul>
<li><b>Fitted weights</b> (<code>WEIGHTS</code>): a temporary file unless a path is given;
give one to keep the weights (and to <i>Resume</i> the fit later).</li>
<li><b>Fused HSI</b> (<code>OUTPUT</code>): a GeoTIFF on the MSI's grid with the HSI's bands.</li>
<li><b>Quality report</b> (<code>OUTPUT_REPORT</code>): the fused raster's HTML report, as for
<i>Fuse HSI+MSI</i>, unless <i>Write a quality report and quicklook</i> is unticked.</li>
<li><code>AHEAD_OF_GSA</code> (true / false) and <code>METHOD</code> (<code>pifnet</code> or
<code>gsa</code>).</li>
</ul>
""" + _FIT_FOOTER
