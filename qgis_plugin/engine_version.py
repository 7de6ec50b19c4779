"""Ask the engine (or the trainer) its version and decide whether this plugin can drive it.

Pure Python (no ``qgis`` import). ``pifnet-train`` is a console script of the engine's own
installation, so it carries the engine's version and follows the same rule.

Compatibility rule: the engine's MAJOR.MINOR must equal the plugin's; the PATCH numbers may
differ. The CLI contract (``docs/cli.md``) only changes together with a MAJOR or MINOR release
of both, and both are released with the same version, so a patch release of either side never
breaks the other. An older engine is "too old" (upgrade the engine), a newer one "too new"
(upgrade the plugin).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping

from .errors import EngineIncompatibleError, EngineNotFoundError
from .programs import ENGINE, Program

_VERSION_RE = re.compile(r"\bversion\s+(\d+)\.(\d+)\.(\d+)")

#: Seconds ``--version`` may take (a cold start imports numpy and rasterio; the trainer, PyTorch).
VERSION_TIMEOUT_S = 60.0

Version = tuple[int, int, int]


def parse_version(text: str, engine_path: str = "pifnet-engine", program: Program = ENGINE) -> Version:
    """``(major, minor, patch)`` from ``--version`` output such as ``pifnet-engine, version 0.1.0``."""
    match = _VERSION_RE.search(text)
    if match is None or program.name not in text:
        shown = text.strip().splitlines()[0][:200] if text.strip() else "nothing"
        raise EngineIncompatibleError(
            f"'{engine_path}' is not a {program.title}: '--version' printed {shown!r}; expected "
            f"'{program.name}, version X.Y.Z'; point the {program.title} setting at the {program.name} "
            "program"
        )
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def check_compatible(engine: Version, plugin: Version, engine_path: str = "pifnet-engine", program: Program = ENGINE) -> None:
    """Raise :class:`EngineIncompatibleError` unless ``engine`` and ``plugin`` share MAJOR.MINOR.

    ``program`` is the one whose version ``engine`` is (the engine or the trainer: both are
    released with the engine's version).
    """
    if engine[:2] == plugin[:2]:
        return
    have = ".".join(map(str, engine))
    want = f"{plugin[0]}.{plugin[1]}.x"
    if engine[:2] < plugin[:2]:
        raise EngineIncompatibleError(
            f"{program.title} too old: '{engine_path}' is version {have}; this plugin needs {want}; "
            f"install engine {want} into the engine's environment (see 'Use from QGIS' in the README)"
        )
    raise EngineIncompatibleError(
        f"{program.title} too new: '{engine_path}' is version {have}; this plugin needs {want}; "
        "upgrade the plugin (Plugins > Manage and Install Plugins) to the engine's version, or "
        f"install engine {want}"
    )


def query_version(
    engine_path: str, env: Mapping[str, str], timeout_s: float = VERSION_TIMEOUT_S, program: Program = ENGINE
) -> Version:
    """Run ``engine_path --version`` (the ``program``) in ``env`` and parse its answer."""
    try:
        done = subprocess.run(
            [engine_path, "--version"],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout_s,
        )
    except FileNotFoundError as err:
        raise EngineNotFoundError(
            f"{program.title} not found: '{engine_path}' could not be started ({err.strerror}); "
            f"expected the {program.name} program; check the {program.title} setting"
        ) from err
    except PermissionError as err:
        raise EngineNotFoundError(
            f"{program.title} cannot be run: '{engine_path}' ({err.strerror}); expected an "
            f"executable program; check the {program.title} setting"
        ) from err
    except OSError as err:
        raise EngineIncompatibleError(
            f"{program.title} cannot be run: '{engine_path}' failed to start ({err}); expected a "
            "program for this system; reinstall the engine for this platform"
        ) from err
    except subprocess.TimeoutExpired as err:
        raise EngineIncompatibleError(
            f"{program.title} did not answer: '{engine_path} --version' took more than {timeout_s:.0f} s; "
            "expected an answer within seconds; run it in a terminal to see what it waits for"
        ) from err
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1][:300]
        raise EngineIncompatibleError(
            f"{program.title} is broken: '{engine_path} --version' exited with code {done.returncode} "
            f"({last}); expected '{program.name}, version X.Y.Z'; run it in a terminal and reinstall "
            "the engine if it fails there too"
        )
    return parse_version(done.stdout + done.stderr, engine_path, program)
