"""training.run_log.CsvLog: a resumed run appends under the header its log was started with."""

from __future__ import annotations

import csv
from pathlib import Path

from training.run_log import TRAIN_FIELDS, CsvLog


def test_a_resumed_log_keeps_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "train_log.csv"
    old = ("step", "epoch", "lr", "loss", "l1", "inv", "cos", "seconds")  # a log from before the "cons" column
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([old, [1, 0, 1e-4, 0.5, 0.4, 0.1, 0.2, 1.0]])
    log = CsvLog(path, TRAIN_FIELDS)
    log.write({"step": 2, "epoch": 0, "lr": 1e-4, "loss": 0.4, "l1": 0.3, "inv": 0.1, "cos": 0.2, "cons": 0.05,
               "seconds": 2.0})
    log.close()
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    assert tuple(rows[0]) == old and [r["step"] for r in rows] == ["1", "2"] and rows[1]["seconds"] == "2.0"
    fresh = CsvLog(tmp_path / "new.csv", TRAIN_FIELDS)
    fresh.write({"step": 1, "cons": 0.05})
    fresh.close()
    header = (tmp_path / "new.csv").read_text().splitlines()[0].split(",")
    assert tuple(header) == TRAIN_FIELDS and "cons" in header
