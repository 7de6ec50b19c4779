"""What a training run reports while it runs: CSV metrics logs, TensorBoard (when installed) and
a progress line on stderr. Only rank 0 creates these.

- ``train_log.csv``: one row per optimisation step (global batch): ``step, epoch, lr, loss, l1,
  inv, cos, seconds`` (loss terms of eq. 4 averaged over ranks; ``seconds`` = training time of
  the whole run so far, resumptions included).
- ``val_log.csv``: one row per validation: ``step, epoch, psnr, ssim, sam, ergas, seconds``
  (PIF-Net on the validation scenes; PSNR/SSIM with data range 1.0 on [0, 1] data).

On resume the logs are cut back to the checkpoint's step, so rows of steps that are trained
again after a kill are not duplicated.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path
from typing import IO, Any

TRAIN_FIELDS = ("step", "epoch", "lr", "loss", "l1", "inv", "cos", "cons", "seconds")
VAL_FIELDS = ("step", "epoch", "psnr", "ssim", "sam", "ergas", "seconds")
PROGRESS_MODES = ("bar", "log", "none")
#: Progress modes of `pifnet-train fit` (json: the engine's JSON lines, for the QGIS plugin).
FIT_PROGRESS_MODES = ("bar", "log", "json", "none")


class CsvLog:
    """Append-only CSV with a fixed header, flushed after every row."""

    def __init__(self, path: Path, fields: tuple[str, ...]) -> None:
        self.path, self.fields = path, fields
        new = not path.is_file() or path.stat().st_size == 0
        if not new:  # a resumed run keeps the columns its log was started with
            with open(path, newline="", encoding="utf-8") as f:
                header = next(csv.reader(f), None)
            if header:
                self.fields = tuple(header)
        self._file = open(path, "a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._file, fieldnames=list(self.fields))
        if new:
            self._writer.writeheader()
            self._file.flush()

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow({k: row.get(k, "") for k in self.fields})
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def truncate_log(path: Path, last_step: int) -> None:
    """Drop the rows of ``path`` whose ``step`` is greater than ``last_step``."""
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
        fields = list(rows[0].keys()) if rows else None
    if fields is None:
        return
    kept = [r for r in rows if int(r["step"]) <= last_step]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)


def read_log(path: Path) -> list[dict[str, str]]:
    """All rows of a CSV log."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


class TensorBoard:
    """``torch.utils.tensorboard.SummaryWriter`` when the ``tensorboard`` package is installed
    (and ``enabled``), else a no-op (``available`` False)."""

    def __init__(self, folder: Path, enabled: bool = True) -> None:
        self._writer = None
        if not enabled:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self._writer = None
        else:
            self._writer = SummaryWriter(log_dir=str(folder))

    @property
    def available(self) -> bool:
        return self._writer is not None

    def scalars(self, prefix: str, values: dict[str, float], step: int) -> None:
        if self._writer is not None:
            for k, v in values.items():
                self._writer.add_scalar(f"{prefix}/{k}", v, step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class Progress:
    """Progress on stderr: ``bar`` rewrites one line (for terminals), ``log`` prints a line every
    ``every_s`` seconds (for log files of background runs), ``json`` writes one JSON object per
    line in the engine's ``--progress json`` format (``progress`` events with stage ``fit``, the
    fraction of the steps or of ``budget_s``, whichever is further; messages as ``progress``
    events with a ``message``), ``none`` is silent."""

    def __init__(self, mode: str, total_steps: int, stream: IO[str] | None = None, every_s: float = 60.0,
                 budget_s: float | None = None) -> None:
        self.mode, self.total = mode, total_steps
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.budget_s = budget_s
        self._last = 0.0
        self._fraction = 0.0
        self._step = 0

    def _json(self, **obj: object) -> None:
        self.stream.write(json.dumps(obj) + "\n")
        self.stream.flush()

    def update(self, step: int, epoch: int, loss: float, lr: float, seconds: float) -> None:
        if self.mode == "none":
            return
        frac = step / self.total if self.total else 0.0
        if self.budget_s:
            frac = max(frac, seconds / self.budget_s)
        self._fraction, self._step = max(self._fraction, min(frac, 1.0)), step
        now = time.monotonic()
        if self.mode in ("log", "json") and now - self._last < self.every_s:
            return
        self._last = now
        text = (f"step {step}/{self.total} ({100 * frac:5.1f}%) epoch {epoch} loss {loss:.5f} "
                f"lr {lr:.2e} {seconds / 60:.1f} min")
        if self.mode == "json":
            self._json(event="progress", stage="fit", fraction=round(self._fraction, 6), windows_done=step,
                       windows_total=self.total, message=f"step {step}, loss {loss:.5f}, {seconds / 60:.1f} min")
        elif self.mode == "bar":
            filled = int(30 * min(frac, 1.0))
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {text}")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        if self.mode == "none":
            return
        if self.mode == "json":
            self._json(event="progress", stage="fit", fraction=round(self._fraction, 6), windows_done=self._step,
                       windows_total=self.total, message=text)
            return
        if self.mode == "bar":
            self.stream.write("\n")
        self.stream.write(text + "\n")
        self.stream.flush()
