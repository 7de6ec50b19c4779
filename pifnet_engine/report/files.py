"""Where a fused raster's report and quicklook live, and how they are written.

Beside ``out.tif``: ``out.report.json``, ``out.report.html`` and ``out.quicklook.png``. Each is
written atomically (:func:`pifnet_engine.atomic_file.write_atomic`); an existing one is replaced
only with ``--overwrite``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pifnet_engine.atomic_file import write_atomic
from pifnet_engine.errors import OutputExistsError


@dataclass(frozen=True)
class ReportPaths:
    json: Path
    html: Path
    quicklook: Path

    @classmethod
    def beside(cls, raster: Path) -> "ReportPaths":
        stem = raster.name[:-len(raster.suffix)] if raster.suffix else raster.name
        return cls(raster.with_name(f"{stem}.report.json"), raster.with_name(f"{stem}.report.html"),
                   raster.with_name(f"{stem}.quicklook.png"))

    def all(self) -> tuple[Path, Path, Path]:
        return (self.json, self.html, self.quicklook)

    def check(self, overwrite: bool) -> None:
        """Refuse when any of them exists and ``overwrite`` is not set."""
        if overwrite:
            return
        for p in self.all():
            if p.exists():
                raise OutputExistsError(
                    f"the report file '{p}' already exists; choose another output name, pass --overwrite to "
                    "replace it, or --no-report to write no report")

    def remove(self) -> None:
        """Delete those that exist (an older run's report, where the new raster gets none)."""
        for p in self.all():
            p.unlink(missing_ok=True)

    def write(self, json_text: str, html_text: str, png: bytes) -> None:
        write_atomic(self.quicklook, png)
        write_atomic(self.json, json_text)
        write_atomic(self.html, html_text)
