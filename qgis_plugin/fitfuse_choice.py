"""Which method fuses the raster after a fit, and the warning that says why (``pifnet:fitfuse``).

Pure Python (no ``qgis`` import). The rule: the fitted PIF-Net fuses unless its own held-out
check says it is not ahead of GSA *and* the user ticked "Use GSA when the fitted PIF-Net is not
ahead of GSA". When the fit is not ahead, there is always a warning recommending GSA, whichever
method fuses; the analyst asked for PIF-Net, so the default keeps it rather than silently
switching.
"""

from __future__ import annotations


def choose_fuse_method(ahead_of_gsa: bool | None, gsa_fallback: bool, weights_path: str) -> tuple[str, str | None]:
    """(``pifnet`` or ``gsa``, the warning to show or None) after a fit that wrote ``weights_path``.

    ``ahead_of_gsa`` is the fit's verdict (None when it did not say: then the fitted weights fuse).
    """
    if ahead_of_gsa is None:
        return "pifnet", "The fit did not report whether it is ahead of GSA; fusing with the fitted weights."
    if ahead_of_gsa:
        return "pifnet", None
    if gsa_fallback:
        return "gsa", (
            "The fitted PIF-Net is NOT ahead of GSA on the fit's held-out check, so the raster is fused "
            "with GSA instead, as 'Use GSA when the fitted PIF-Net is not ahead of GSA' asks. The fitted "
            f"weights are kept in '{weights_path}'."
        )
    return "pifnet", (
        "The fitted PIF-Net is NOT ahead of GSA on the fit's held-out check; the raster is fused with "
        "the fitted weights all the same. For this pair we recommend GSA: run Fuse HSI+MSI with method "
        "GSA, or tick 'Use GSA when the fitted PIF-Net is not ahead of GSA'."
    )
