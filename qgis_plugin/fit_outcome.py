"""Turn a finished ``pifnet-train fit`` run into ``None`` (success) or one error that says what to do.

Pure Python (no ``qgis`` import). The cases are those of a fuse (:mod:`.outcome`): cancelled,
killed by a signal nobody asked for, bad data (exit 1), bad usage (exit 2), another exit code,
"exit 0 but no weights". Unlike a fuse, a fit stopped by SIGTERM / SIGINT (Cancel) still writes
the best weights so far as a complete file, and its run folder can be resumed; the messages say so.
"""

from __future__ import annotations

import os
import signal

from .errors import EngineCancelledError, EngineCrashedError, EngineFailedError, PluginError
from .fit_files import run_folder
from .outcome import SIGKILL_NUMBER, is_windows_crash, program_said, signal_name, stop_signal
from .runner import RunOutcome

TITLE = "PIF-Net trainer"


def _kept(weights_path: str, written: bool) -> str:
    """What a stopped fit left behind, and how to go on."""
    if written:
        return (
            f"the best weights so far were written to '{weights_path}' (complete: pifnet:fuse can use "
            "them); to continue the fit, run it again with the same weights file and Resume ticked"
        )
    if os.path.isdir(run_folder(weights_path)):
        return (
            f"this run wrote no weights to '{weights_path}'; its run folder '{run_folder(weights_path)}' "
            "may hold a checkpoint: run again with Resume ticked to continue, or untick it to start over"
        )
    return f"this run wrote no weights to '{weights_path}'; run the algorithm again to fit"


def classify_fit_outcome(outcome: RunOutcome, weights_path: str, written: bool) -> PluginError | None:
    """``None`` when the fit succeeded and ``weights_path`` exists, else the error to report.

    ``written`` says whether this run wrote ``weights_path`` (its done event came, or the file
    changed); it decides what a stopped fit left behind.
    """
    code = outcome.returncode
    if outcome.cancelled:
        how = " (it did not stop in time and was killed)" if outcome.killed else ""
        return EngineCancelledError(f"Cancelled: the fit was stopped{how}; {_kept(weights_path, written)}")
    if code == 0:
        if os.path.isfile(weights_path):
            return None
        return EngineFailedError(
            f"{TITLE} reported success but wrote no file at '{weights_path}'; expected the fitted "
            "weights there; check that the folder is writable and not synchronised or cleaned by "
            "another program, then run again",
            code,
        )
    number = stop_signal(code)
    if number is not None:
        if number == SIGKILL_NUMBER:
            hint = (
                "this is usually the system's out-of-memory killer; choose device 'cpu', fewer threads "
                "or close other programs"
            )
        elif number in (int(signal.SIGTERM), int(signal.SIGINT)):
            hint = "something other than Cancel stopped it (a shutdown or a kill command)"
        else:
            hint = (
                "the trainer crashed; run the command shown in the log in a terminal, and report it "
                "with that output if it crashes there too"
            )
        return EngineCrashedError(
            f"{TITLE} was killed by {signal_name(number)} (exit status {code}); {hint}; "
            f"{_kept(weights_path, written)}"
        )
    if is_windows_crash(code):
        return EngineCrashedError(
            f"{TITLE} crashed with status 0x{code:08X}; {_kept(weights_path, written)}; run the "
            "command shown in the log in a terminal, and report it with that output if it crashes there too"
        )
    said = program_said(outcome)
    if code == 1:
        return EngineFailedError(
            f"{TITLE} cannot fit these inputs (exit code 1): {said}; check the layers against the grid "
            "rules in the algorithm's help, or fuse with GSA (pifnet:fuse), which needs no fit",
            code,
        )
    if code == 2:
        return EngineFailedError(
            f"{TITLE} refused the parameters (exit code 2): {said}; correct the parameter it names; "
            "if they look right, check that the plugin and engine versions match",
            code,
        )
    return EngineFailedError(
        f"{TITLE} failed (exit code {code}): {said}; run the command shown in the log in a terminal "
        "to see its full output",
        code,
    )
