"""The files ``pifnet-train fit -o NAME.safetensors`` writes, and the fit's verdict read from them.

Pure Python (no ``qgis`` import). A fit writes ``NAME.safetensors`` (the weights), ``NAME.json``
(their manifest, whose ``validation.ahead_of_gsa`` is the verdict of the fit's held-out check)
and the run folder ``NAME.fit/`` (``run.json``, checkpoints, logs) that ``--resume`` continues.
"""

from __future__ import annotations

import json
import os

#: The weights file's extension (the only one the plugin asks the trainer to write).
WEIGHTS_SUFFIX = ".safetensors"
#: The run folder's suffix, in place of :data:`WEIGHTS_SUFFIX`.
RUN_SUFFIX = ".fit"


def _base(weights_path: str) -> str:
    return weights_path[: -len(WEIGHTS_SUFFIX)] if weights_path.endswith(WEIGHTS_SUFFIX) else weights_path


def manifest_path(weights_path: str) -> str:
    """``NAME.json`` beside ``NAME.safetensors``."""
    return _base(weights_path) + ".json"


def run_folder(weights_path: str) -> str:
    """``NAME.fit`` beside ``NAME.safetensors``: the fit's checkpoints and logs."""
    return _base(weights_path) + RUN_SUFFIX


def can_resume(weights_path: str) -> bool:
    """True when an earlier fit for ``weights_path`` left a run folder to continue."""
    return os.path.isfile(os.path.join(run_folder(weights_path), "run.json"))


def manifest_verdict(weights_path: str) -> bool | None:
    """``validation.ahead_of_gsa`` of the manifest beside ``weights_path``; None when unreadable."""
    try:
        with open(manifest_path(weights_path), encoding="utf-8") as stream:
            manifest = json.load(stream)
    except (OSError, ValueError):
        return None
    validation = manifest.get("validation") if isinstance(manifest, dict) else None
    ahead = validation.get("ahead_of_gsa") if isinstance(validation, dict) else None
    return ahead if isinstance(ahead, bool) else None
