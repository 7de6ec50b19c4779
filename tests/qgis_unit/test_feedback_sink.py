"""What the log and the progress bar show for a fuse's and a fit's events and stdout."""

from __future__ import annotations

from pathlib import Path

from qgis_plugin.feedback_sink import EventSink, StdoutSink
from qgis_plugin.progress import DoneEvent, ProgressEvent, ProgressTracker, TextLine, WarningEvent, parse_progress_line

DATA = Path(__file__).resolve().parent / "data"


class Recorder:
    """Records what a sink reports, as QgsProcessingFeedback would show it."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.progress: list[float] = []

    def setProgress(self, progress: float) -> None:  # noqa: N802 (QGIS API)
        self.progress.append(progress)

    def pushInfo(self, info: str) -> None:  # noqa: N802
        self.log.append(("info", info))

    def pushWarning(self, warning: str) -> None:  # noqa: N802
        self.log.append(("warning", warning))

    def pushConsoleInfo(self, info: str) -> None:  # noqa: N802
        self.log.append(("console", info))

    def reportError(self, error: str, fatalError: bool = False) -> None:  # noqa: N802, N803
        self.log.append(("error", error))


def progress(stage: str, fraction: float, step: int | None, message: str) -> ProgressEvent:
    return ProgressEvent(stage, fraction, step, 100, message)


def test_a_fuse_logs_one_line_per_stage() -> None:
    fb = Recorder()
    sink = EventSink(fb)
    for k in range(1, 4):
        sink(progress("stats", k / 10, k, f"statistics {k}/3"))
    sink(progress("fuse", 0.5, 1, "window 1/3"))
    sink(progress("fuse", 0.6, 2, "window 2/3"))
    assert fb.log == [("info", "Stage stats: statistics 1/3"), ("info", "Stage fuse: window 1/3")]
    assert fb.progress == [10.0, 20.0, 30.0, 50.0, 60.0]


def test_a_fit_logs_its_messages_and_a_step_line_every_so_often() -> None:
    now = [0.0]
    fb = Recorder()
    sink = EventSink(fb, ProgressTracker(0.0, 80.0), log_every_s=30.0, clock=lambda: now[0])
    sink(progress("prepare", 0.0, 0, "start: a fresh residual PIF-Net"))
    sink(progress("prepare", 0.0, 0, "fit: 10 x 13 HSI pixels at reduced resolution"))
    sink(progress("fit", 0.0, 0, "training on cpu, forward pass in fp32"))
    for step in range(1, 6):
        now[0] = 10.0 * step
        sink(progress("fit", step / 10, step, f"step {step}, loss 0.1"))
    sink(progress("fit", 0.8, 8, "validation step 8: PSNR 48.00 dB (GSA PSNR 49.92) [1 s]"))  # steps 6-8 unreported
    sink(progress("fit", 0.8, 8, "stopped (max_steps) at step 8"))
    sink(WarningEvent("the pair is small for a fit from scratch"))
    sink(DoneEvent("/o/w.safetensors", 21.25, True))
    assert fb.log == [
        ("info", "start: a fresh residual PIF-Net"),
        ("info", "fit: 10 x 13 HSI pixels at reduced resolution"),
        ("info", "training on cpu, forward pass in fp32"),
        ("info", "step 1, loss 0.1"),  # t = 10
        ("info", "step 4, loss 0.1"),  # t = 40: 30 s later
        ("info", "validation step 8: PSNR 48.00 dB (GSA PSNR 49.92) [1 s]"),
        ("info", "stopped (max_steps) at step 8"),
        ("warning", "the pair is small for a fit from scratch"),
        ("info", "Done in 21.2 s: /o/w.safetensors"),
    ]
    assert fb.progress[-1] == 64.0 and fb.progress == sorted(fb.progress)  # 0.8 of the fit's 0..80 %


def test_text_lines_and_stdout() -> None:
    fb = Recorder()
    EventSink(fb)(TextLine("Traceback (most recent call last):"))
    out = StdoutSink(fb)
    for line in ["method   PSNR dB", "GSA        31.02", "Warning: the fitted PIF-Net is NOT ahead of GSA"]:
        out(line)
    assert fb.log == [
        ("console", "Traceback (most recent call last):"),
        ("console", "method   PSNR dB"),
        ("console", "GSA        31.02"),
        ("warning", "Warning: the fitted PIF-Net is NOT ahead of GSA"),
    ]
    assert out.lines[-1].startswith("Warning: ")


def test_error_events_are_left_to_the_exception() -> None:
    """The message reaches the user once, in the run's exception (outcome.program_said), not also in the log."""
    fb = Recorder()
    EventSink(fb)(parse_progress_line('{"event": "error", "message": "Error: bad", "exit_code": 1}'))
    assert fb.log == []


def test_a_fuse_logs_its_report_stage_and_summary() -> None:
    fb = Recorder()
    sink = EventSink(fb)
    for line in (DATA / "fuse_gsa_transcript.jsonl").read_text(encoding="utf-8").splitlines():
        sink(parse_progress_line(line))
    infos = [text for kind, text in fb.log if kind == "info"]
    assert "Stage report: spectral responses 1/1" in infos  # not "report: report: ..."
    done = [i for i, text in enumerate(infos) if text.startswith("Done in ")]
    assert done == [len(infos) - 2] and infos[-2] == "Done in 2.7 s: /tmp/pfx/fused.tif"
    assert infos[-1].startswith("Quality report: spatial consistency 63.49 dB / SAM 0.049 deg; ")
    assert fb.progress == sorted(fb.progress) and fb.progress[-1] == 100.0


def test_a_done_event_without_summary_logs_no_report_line() -> None:
    fb = Recorder()
    EventSink(fb)(DoneEvent("/o.tif", 1.0))
    assert fb.log == [("info", "Done in 1.0 s: /o.tif")]
