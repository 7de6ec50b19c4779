"""Screenshots of the plugin in the QGIS desktop, and what QGIS does with the report output.

Run by ``tests/qgis/make_screenshots.sh`` as ``qgis --code tests/qgis/screenshots.py`` in a
throw-away profile under Xvfb (not a pytest module). It opens *Fuse HSI+MSI* on the demo pair,
saves the dialog, presses *Run* and records what QGIS 3.22 does with the ``OUTPUT_REPORT``
(QgsProcessingOutputHtml) output: the Processing Results Viewer entry, the dock, what a
double-click opens. Then it saves the main window with the fused layer loaded, and quits.

Environment: ``SHOTS_OUT`` (folder for PNGs and ``measured.json``), ``SHOTS_WORK`` (folder for
the fused raster), ``SHOTS_DEMO`` (folder of the demo pair).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import processing
from processing.core.ProcessingResults import resultsList
from qgis.core import QgsProject, QgsRasterLayer
from qgis.PyQt.QtCore import QObject, Qt, QTimer, QUrl, pyqtSlot
from qgis.PyQt.QtGui import QDesktopServices
from qgis.PyQt.QtWidgets import QApplication, QDockWidget
from qgis.utils import iface, plugins

OUT = Path(os.environ["SHOTS_OUT"])
WORK = Path(os.environ["SHOTS_WORK"])
DEMO = Path(os.environ["SHOTS_DEMO"])
TARGET = WORK / "fused_demo.tif"
measured: dict[str, Any] = {}
DIALOG: Any = None  # the algorithm dialog, once open


class UrlRecorder(QObject):
    """Stands in for the desktop's browser: records the URLs QGIS asks it to open."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @pyqtSlot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


RECORDER = UrlRecorder()


def later(ms: int, fn: Any) -> None:
    QTimer.singleShot(ms, fn)


def finish(error: str | None = None) -> None:
    if error:
        measured["error"] = error
    (OUT / "measured.json").write_text(json.dumps(measured, indent=2), encoding="utf-8")
    QgsProject.instance().setDirty(False)
    os._exit(0 if error is None else 1)


def guarded(fn: Any) -> Any:
    def run() -> None:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 (a tool script: write what failed, then quit)
            finish(f"{fn.__name__}: {type(exc).__name__}: {exc}")
    return run


@guarded
def open_dialog() -> None:
    window = iface.mainWindow()
    window.resize(1500, 950)
    hsi = iface.addRasterLayer(str(DEMO / "hsi_enmap_90m.tif"), "hsi_enmap_90m")
    msi = iface.addRasterLayer(str(DEMO / "msi_s2_30m.tif"), "msi_s2_30m")
    params = {"HSI": hsi, "MSI": msi, "METHOD": 1, "OUTPUT": str(TARGET)}
    dialog = processing.createAlgorithmDialog("pifnet:fuse", params)
    dialog.resize(1150, 760)
    dialog.show()
    global DIALOG
    DIALOG = dialog
    later(2500, shoot_dialog)


@guarded
def shoot_dialog() -> None:
    DIALOG.raise_()
    DIALOG.grab().save(str(OUT / "qgis_fuse_dialog.png"))
    measured["results_before_run"] = len(resultsList.getResults())
    measured["run_started"] = time.time()
    DIALOG.runButton().click()
    later(1000, wait_for_run)


@guarded
def wait_for_run() -> None:
    results = DIALOG.results() if hasattr(DIALOG, "results") else {}
    if not results and time.time() - measured["run_started"] < 180:
        later(1000, wait_for_run)
        return
    measured["run_seconds"] = round(time.time() - measured["run_started"], 1)
    measured["dialog_results"] = {k: str(v) for k, v in (results or {}).items()}
    measured["dialog_still_open"] = DIALOG.isVisible()
    measured["results_viewer_entries"] = [
        {"name": r.name, "filename": r.filename} for r in resultsList.getResults()
    ]
    later(1500, shoot_log)


@guarded
def shoot_log() -> None:
    DIALOG.grab().save(str(OUT / "qgis_fuse_log.png"))
    dock = getattr(plugins.get("processing"), "resultsDock", None) or iface.mainWindow().findChild(QDockWidget, "ResultsDock")
    measured["results_viewer_dock_found"] = dock is not None
    if dock is not None:
        measured["results_viewer_visible"] = dock.isVisible()
        tree = dock.treeResults
        measured["results_viewer_items"] = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
        measured["results_viewer_description"] = dock.txtDescription.toPlainText()
        QDesktopServices.setUrlHandler("file", RECORDER, "open")
        item = tree.topLevelItem(0)
        if item is not None:
            tree.itemDoubleClicked.emit(item, 0)  # what a double-click on the entry does
        QDesktopServices.unsetUrlHandler("file")
        measured["double_click_opens"] = RECORDER.urls
    DIALOG.close()
    later(1000, shoot_map)


@guarded
def shoot_map() -> None:
    layers = [layer for layer in QgsProject.instance().mapLayers().values()
              if isinstance(layer, QgsRasterLayer) and layer.source() == str(TARGET)]
    measured["fused_layers"] = [layer.name() for layer in layers]
    root = QgsProject.instance().layerTreeRoot()
    for layer in QgsProject.instance().mapLayers().values():
        if layer not in layers:
            root.findLayer(layer.id()).setItemVisibilityChecked(False)
    if layers:
        renderer = layers[0].renderer()
        measured["fused_renderer"] = [renderer.type(), *(getattr(renderer, f"{c}Band")() for c in ("red", "green", "blue"))]
        iface.setActiveLayer(layers[0])
        iface.mapCanvas().setExtent(layers[0].extent().buffered(layers[0].extent().width() * 0.03))
    # the Processing Toolbox (with the plugin's icon) where the Browser was
    browser = iface.mainWindow().findChild(QDockWidget, "Browser")
    if browser is not None:
        browser.hide()
    toolbox = getattr(plugins.get("processing"), "toolbox", None)
    if toolbox is not None:
        iface.mainWindow().removeDockWidget(toolbox)
        iface.mainWindow().addDockWidget(Qt.LeftDockWidgetArea, toolbox)
        toolbox.setUserVisible(True)
        toolbox.searchBox.setText("HSI")
        toolbox.algorithmTree.expandAll()
    iface.mapCanvas().refreshAllLayers()
    later(4000, shoot_window)


@guarded
def shoot_window() -> None:
    QApplication.processEvents()
    iface.mainWindow().grab().save(str(OUT / "qgis_fused_map.png"))
    finish()


later(3000, open_dialog)
