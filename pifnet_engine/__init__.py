"""PIF-Net engine: georeferenced fusion of a low-resolution hyperspectral raster (HSI) with a
high-resolution multispectral raster (MSI), window by window, into a high-resolution HSI on the
MSI's grid."""

from pifnet_engine.cpu_runtime import configure_openmp

__version__ = "0.1.0"

configure_openmp()  # before anything imports torch; see pifnet_engine.cpu_runtime
