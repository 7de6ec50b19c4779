"""Spectral response functions of multispectral sensors and HSI -> MSI response matrices."""

from pifnet_engine.spectral.srf import (
    SENSORS,
    SpectralResponse,
    available_sensors,
    load_matrix_mat,
    load_rosis_ikonos_matrix,
    load_srf,
    load_srf_file,
    response_matrix,
)

__all__ = [
    "SENSORS",
    "SpectralResponse",
    "available_sensors",
    "load_matrix_mat",
    "load_rosis_ikonos_matrix",
    "load_srf",
    "load_srf_file",
    "response_matrix",
]
