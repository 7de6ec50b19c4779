"""Display bands, layer names and help formatting of the plugin (pure Python)."""

from __future__ import annotations

import pytest

from qgis_plugin.help_text import FIT_HELP_HTML, FITFUSE_HELP_HTML, FUSE_HELP_HTML, one_line
from qgis_plugin.true_colour import band_centre_nm, result_layer_name, true_colour_bands

ENMAP_LIKE = [418.24 + 6.5 * k for k in range(60)]  # 418-802 nm, as the demo's first bands


@pytest.mark.parametrize("metadata,description,expected", [
    ({"wavelength": "551.3", "wavelength_units": "Nanometers"}, "", 551.3),
    ({"wavelength": "0.5513", "wavelength_units": "Micrometers"}, "", 551.3),
    ({"wavelength": "0.5513"}, "", 551.3),  # no units: below 100 means micrometres
    ({"wavelength": "551.3"}, "", 551.3),
    ({}, "band 12 (551.3 Nanometers)", 551.3),
    ({}, "band 12", None),
    ({"wavelength": "n/a"}, "", None),
])
def test_band_centre_from_metadata_or_description(metadata: dict[str, str], description: str,
                                                  expected: float | None) -> None:
    got = band_centre_nm(metadata, description)
    assert got == pytest.approx(expected) if expected is not None else got is None


def test_true_colour_picks_the_bands_nearest_640_550_470() -> None:
    red, green, blue = true_colour_bands(ENMAP_LIKE)
    for band, target in ((red, 640.0), (green, 550.0), (blue, 470.0)):
        assert min(abs(w - target) for w in ENMAP_LIKE) == pytest.approx(abs(ENMAP_LIKE[band - 1] - target))
    assert (red, green, blue) != (1, 2, 3)


@pytest.mark.parametrize("centres", [
    [],
    [None, None, None],
    [1200.0 + 10 * k for k in range(50)],  # SWIR only
    [640.0, 550.0],  # no blue band
])
def test_no_true_colour_without_visible_bands(centres: list[float | None]) -> None:
    assert true_colour_bands(centres) is None


def test_result_layer_name_is_file_and_method() -> None:
    assert result_layer_name("/data/out/fused_potsdam.tif", "GSA") == "fused_potsdam (GSA)"


@pytest.mark.parametrize("html", [FUSE_HELP_HTML, FIT_HELP_HTML, FITFUSE_HELP_HTML])
def test_help_has_no_hard_line_breaks(html: str) -> None:
    text = one_line(html)
    assert "\n" not in text
    assert text.split() == html.split()  # same words, only the line breaks joined


def test_fuse_help_explains_allow_resampling() -> None:
    assert "<b>Allow resampling</b>" in FUSE_HELP_HTML
