"""Turn a finished engine run into ``None`` (success) or one error that says what to do.

Pure Python (no ``qgis`` import). The cases told apart: cancelled by the user; killed by a
signal nobody asked for (crash, out-of-memory killer, shutdown); the raster written but its
quality report failed (the one non-zero exit that leaves the output, ``docs/cli.md``); bad data
(exit 1); bad usage (exit 2); any other exit code; and "exit 0 but no output file".
"""

from __future__ import annotations

import os
import re
import signal

from .errors import (
    EngineCancelledError,
    EngineCrashedError,
    EngineFailedError,
    PluginError,
)
from .options import REPORT_LABEL
from .runner import RunOutcome

#: Exit codes the engine uses for "stopped by SIGINT / SIGTERM" (128 + signal number).
_SIGNAL_EXIT_CODES = {130: signal.SIGINT, 143: signal.SIGTERM}
#: Windows NTSTATUS codes (e.g. 0xC0000005 access violation) are reported as large exit codes.
_NTSTATUS_MIN = 0xC0000000
#: SIGKILL's number (the module has no SIGKILL attribute on Windows).
SIGKILL_NUMBER = int(getattr(signal, "SIGKILL", 9))


def signal_name(number: int) -> str:
    """``SIGKILL`` for 9, ...; ``signal N`` for a number this system does not name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def stop_signal(code: int) -> int | None:
    """The signal that ended a run with exit status ``code`` (negative: killed by it; 130 / 143:
    the program caught SIGINT / SIGTERM and exited), or None."""
    if code < 0:
        return -code
    if code in _SIGNAL_EXIT_CODES:
        return int(_SIGNAL_EXIT_CODES[code])
    return None


def is_windows_crash(code: int) -> bool:
    """True for a Windows NTSTATUS crash code (e.g. 0xC0000005 access violation)."""
    return code >= _NTSTATUS_MIN


#: The engine's command-line advice, and what it means to someone using the dialog.
_CLI_ADVICE = (
    (re.compile(r"the arguments are probably swapped; give the hyperspectral raster first: `[^`]*`"),
     "the HSI and MSI layers are probably swapped; choose the hyperspectral layer as HSI and the "
     "multispectral layer as MSI"),
    (re.compile(r"\bpass --no-report\b"), f"untick '{REPORT_LABEL}'"),
)


def in_dialog_words(message: str) -> str:
    """``message`` with the engine's command-line advice restated for the algorithm's dialog."""
    for pattern, replacement in _CLI_ADVICE:
        message = pattern.sub(replacement, message)
    return message


def program_said(outcome: RunOutcome) -> str:
    """The program's own explanation: its error events, else the end of its other output."""
    if outcome.errors:
        return " / ".join(in_dialog_words(e) for e in outcome.errors)
    if outcome.text_tail:
        return " | ".join(line.strip() for line in outcome.text_tail[-4:] if line.strip())
    return "it printed no message"


def classify_outcome(outcome: RunOutcome, output_path: str, raster_written: bool = False) -> PluginError | None:
    """``None`` when the run succeeded and ``output_path`` exists, else the error to report.

    ``raster_written``: this run changed ``output_path`` (it exists, but not as before the run).
    The engine leaves nothing there on a failure, except when only the quality report failed.
    """
    code = outcome.returncode
    if outcome.cancelled:
        how = " (it did not stop in time and was killed)" if outcome.killed else ""
        return EngineCancelledError(
            f"Cancelled: the PIF-Net engine was stopped{how} and no output was written to "
            f"'{output_path}'; run the algorithm again to produce it"
        )
    if code == 0:
        if os.path.isfile(output_path):
            return None
        return EngineFailedError(
            f"PIF-Net engine reported success but wrote no file at '{output_path}'; expected the "
            "fused GeoTIFF there; check that the folder is writable and not synchronised or "
            "cleaned by another program, then run again",
            code,
        )
    number = stop_signal(code)
    if number is not None:
        name = signal_name(number)
        if number == SIGKILL_NUMBER:
            hint = (
                "this is usually the system's out-of-memory killer; lower the tile size, choose "
                "device 'cpu' or close other programs, then run again"
            )
        elif number in (int(signal.SIGTERM), int(signal.SIGINT)):
            hint = "something other than Cancel stopped it (a shutdown or a kill command); run again"
        else:
            hint = (
                "the engine crashed; run the command shown in the log in a terminal, and report "
                "it with that output if it crashes there too"
            )
        return EngineCrashedError(
            f"PIF-Net engine was killed by {name} (exit status {code}); no output was written; {hint}"
        )
    if is_windows_crash(code):
        return EngineCrashedError(
            f"PIF-Net engine crashed with status 0x{code:08X}; no output was written; run the "
            "command shown in the log in a terminal, and report it with that output if it "
            "crashes there too"
        )
    said = program_said(outcome)
    if raster_written:
        return EngineFailedError(
            f"PIF-Net engine wrote the fused raster '{output_path}' (complete), but not its quality report "
            f"(exit code {code}): {said}; the raster can be used as it is; fix what the message names and run "
            f"again for the report, or untick '{REPORT_LABEL}'",
            code,
        )
    if code == 1:
        return EngineFailedError(
            f"PIF-Net engine cannot fuse these inputs (exit code 1): {said}; check the layers "
            "against the grid rules in the algorithm's help, or choose another method",
            code,
        )
    if code == 2:
        return EngineFailedError(
            f"PIF-Net engine refused the parameters (exit code 2): {said}; correct the parameter "
            "it names; if they look right, check that the plugin and engine versions match",
            code,
        )
    return EngineFailedError(
        f"PIF-Net engine failed (exit code {code}): {said}; run the command shown in the log in "
        "a terminal to see its full output",
        code,
    )
