"""PIF-Net engine: georeferenced fusion of a low-resolution hyperspectral raster (HSI) with a
high-resolution multispectral raster (MSI), window by window, into a high-resolution HSI on the
MSI's grid."""

__version__ = "0.1.0"
