"""The quality report in a real QGIS: the ``OUTPUT_REPORT`` HTML output, the switch that turns it
off, Cancel while it is made; and the icon and help link QGIS shows."""

from __future__ import annotations

import shlex

import pytest
from .qgis_helpers import make_feedback, output_path, processes_mentioning

pytestmark = pytest.mark.qgis


def fuse_params(pair, target, **changes) -> dict:
    return {"HSI": str(pair.hsi), "MSI": str(pair.msi), "METHOD": 1, "TILE_SIZE": 24, "OUTPUT": str(target), **changes}


def test_the_report_is_on_by_default_and_is_the_html_output(qgis_app, engine, engine_setting, small_pair, tmp_path) -> None:
    import processing
    from qgis.core import QgsApplication, QgsProcessingOutputHtml

    engine_setting(str(engine))
    alg = QgsApplication.processingRegistry().algorithmById("pifnet:fuse")
    assert alg.parameterDefinition("REPORT").defaultValue() is True
    assert isinstance(alg.outputDefinition("OUTPUT_REPORT"), QgsProcessingOutputHtml)
    assert alg.hasHtmlOutputs()  # what makes the dialog list it in the Results Viewer

    feedback = make_feedback()
    target = tmp_path / "scene.tif"
    results = processing.run("pifnet:fuse", fuse_params(small_pair, target), feedback=feedback)

    report = tmp_path / "scene.report.html"
    assert output_path(results["OUTPUT"]) == str(target)
    assert results["OUTPUT_REPORT"] == str(report)
    html = report.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") and "</html>" in html
    assert "data:image/png;base64," in html  # self-contained: the quicklook is inside
    assert (tmp_path / "scene.report.json").is_file() and (tmp_path / "scene.quicklook.png").is_file()
    # the log: the report stage, the summary line, the file
    assert any(info.startswith("Stage report: ") for info in feedback.infos), feedback.infos
    [summary] = [info for info in feedback.infos if info.startswith("Quality report: ")]
    assert "spatial consistency" in summary and "QNR" in summary
    assert f"Quality report file: {report}" in feedback.infos
    assert feedback.progress_values == sorted(feedback.progress_values) and feedback.progress_values[-1] == 100.0
    assert feedback.errors == [] and feedback.warnings == []


def test_switched_off_there_is_no_report_and_an_older_one_goes(qgis_app, engine, engine_setting, small_pair, tmp_path) -> None:
    import processing

    engine_setting(str(engine))
    target = tmp_path / "scene.tif"
    stale = [tmp_path / name for name in ("scene.report.html", "scene.report.json", "scene.quicklook.png")]
    for path in stale:  # an earlier run's report: it would describe another raster
        path.write_text("older run")
    feedback = make_feedback()
    results = processing.run("pifnet:fuse", fuse_params(small_pair, target, REPORT=False), feedback=feedback)

    assert output_path(results["OUTPUT"]) == str(target) and target.is_file()
    assert results["OUTPUT_REPORT"] is None
    assert not any(path.exists() for path in stale)
    assert not any(info.startswith(("Stage report", "Quality report")) for info in feedback.infos)
    [command] = feedback.commands
    assert "--no-report" in shlex.split(command)  # the engine was told, in the logged command
    assert feedback.errors == []


def test_cancel_while_the_report_is_made_leaves_nothing(qgis_app, engine, engine_setting, small_pair, tmp_path) -> None:
    """The raster is complete when the report starts (85 % of the bar); Cancel then removes it too."""
    import processing
    from qgis.core import QgsProcessingException

    engine_setting(str(engine))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "scene.tif"
    feedback = make_feedback()
    stages: list[str] = []

    def cancel_in_report(value: float) -> None:
        if value > 85.5 and not stages:  # the first report event (finalize ends at 85 %)
            stages.append(f"{value:.1f}")
            feedback.cancel()

    feedback.progressChanged.connect(cancel_in_report)
    with pytest.raises(QgsProcessingException, match="Cancelled: the PIF-Net engine was stopped and no output"):
        processing.run("pifnet:fuse", fuse_params(small_pair, target), feedback=feedback)
    assert stages, "the run never reached its report"
    assert processes_mentioning(target) == []
    assert sorted(p.name for p in out_dir.iterdir()) == [], "the raster, its report or temporary files were left"
    assert any(info == f"Removed the partial file {target}" for info in feedback.infos), feedback.infos


def test_provider_and_algorithms_have_the_plugins_icon_and_help_link(qgis_app) -> None:
    from qgis.core import QgsApplication

    from qgis_plugin.help_text import FIT_HELP_URL, FUSE_HELP_URL
    from qgis_plugin.icons import plugin_icon_path

    registry = QgsApplication.processingRegistry()
    provider = registry.providerById("pifnet")
    assert provider.svgIconPath() == plugin_icon_path()
    for icon in [provider.icon(), *(alg.icon() for alg in provider.algorithms())]:
        image = icon.pixmap(24, 24).toImage()
        assert not image.isNull() and image.width() == 24
        colours = {image.pixel(x, y) for x in range(24) for y in range(24)}
        assert len(colours) > 8, "the SVG did not render (an empty or one-colour icon)"
    urls = {alg.id(): alg.helpUrl() for alg in provider.algorithms()}
    assert urls == {"pifnet:fuse": FUSE_HELP_URL, "pifnet:fit": FIT_HELP_URL, "pifnet:fitfuse": FIT_HELP_URL}
    assert all(alg.svgIconPath() == plugin_icon_path() for alg in provider.algorithms())
