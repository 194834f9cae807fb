"""Runs inside real QGIS desktop (`qgis --code tests/desktop_session.py`), driven by test_desktop.py.

Steps, each after the event loop has drawn the window. $DESKTOP_STEPS "missing" (QGIS's Python
without the packages): what the user sees at start (the plugin, the missing-package message, no
Python error dialog) and the "How to install" dialog. "installed" (the requirements installed):
the start without message, the Toolbox, the full model's dialog, a model run and the map with its
layer group.
Screenshots go to $DESKTOP_SCREENSHOTS, observations to the JSON file $DESKTOP_RESULT; QGIS
exits at the end (os._exit: no "save the project?" question).
"""

import json
import os
import sys
import traceback

from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QApplication, QDockWidget, QPlainTextEdit, QPushButton
from qgis.utils import iface, plugins

RESULT = os.environ["DESKTOP_RESULT"]
SCREENSHOTS = os.environ["DESKTOP_SCREENSHOTS"]
RUN = json.loads(os.environ.get("DESKTOP_RUN", "{}"))  # model parameters
observed = {"steps": []}


def save(widget, name):
    QApplication.processEvents()
    path = os.path.join(SCREENSHOTS, name)
    widget.grab().save(path)
    observed.setdefault("screenshots", []).append(path)


def message_bar_texts():
    texts = []
    for item in iface.messageBar().items():
        texts.append(f"{item.title()} {item.text()}")
    return texts


def visible_windows():
    return [(type(w).__name__, w.windowTitle()) for w in QApplication.topLevelWidgets() if w.isVisible()]


def at_start():
    observed["plugin_loaded"] = "imperviousness_plugin" in plugins
    observed["windows_at_start"] = visible_windows()
    observed["messages_at_start"] = message_bar_texts()
    observed["python_path_has_cv2"] = any(os.path.isdir(os.path.join(p, "cv2")) for p in sys.path)
    provider = QgsApplication.processingRegistry().providerById("imperviousness")
    observed["provider_algorithms"] = sorted(a.id() for a in provider.algorithms()) if provider else []
    observed["buttons"] = sorted(b.objectName() for b in iface.mainWindow().findChildren(QPushButton)
                                 if b.objectName().startswith("imperviousness"))
    iface.mainWindow().resize(1400, 820)
    if os.environ["DESKTOP_STEPS"] == "missing":
        dismiss_other_messages()
        save(iface.mainWindow(), "desktop_1_missing_dependencies.png")


def dismiss_other_messages():
    """QGIS >= 3.28 downloads missing fonts at start; offline (CI) its own "font installation
    failed" message lies on top of ours. The screenshot is of ours: the others are recorded in
    `observed` and dismissed."""
    bar = iface.messageBar()
    for item in list(bar.items()):
        if not item.title().startswith("HRL Imperviousness"):
            observed.setdefault("dismissed_messages", []).append(f"{item.title()} {item.text()}")
            bar.popWidget(item)


def how_to_install():
    button = iface.mainWindow().findChild(QPushButton, "imperviousnessInstallHelp")
    button.click()
    QApplication.processEvents()
    dialog = button.dialog
    observed["install_dialog_visible"] = dialog.isVisible()
    observed["install_dialog_text"] = dialog.findChild(QPlainTextEdit).toPlainText()
    save(dialog, "desktop_2_how_to_install.png")
    dialog.close()


def toolbox():
    dock = plugins["processing"].toolbox
    dock.show()
    dock.searchBox.setText("imperviousness")
    dock.algorithmTree.expandAll()
    QApplication.processEvents()
    observed["toolbox_visible"] = dock.isVisible()
    save(iface.mainWindow(), "desktop_3_toolbox.png")


def model_dialog():
    import processing
    dialog = processing.createAlgorithmDialog("imperviousness:hrl_imperviousness")
    dialog.resize(900, 820)
    dialog.show()
    QApplication.processEvents()
    observed["dialog_parameters"] = [p.name() for p in dialog.algorithm().parameterDefinitions()]
    save(dialog, "desktop_4_model_dialog.png")
    dialog.close()


def model_run():
    import processing
    processing.run("imperviousness:hrl_imperviousness", RUN)
    root = QgsProject.instance().layerTreeRoot()
    group = root.findGroup("HRL 2018-2021")
    observed["group"] = group is not None and group.name()
    observed["group_index"] = root.children().index(group) if group is not None else None
    observed["layers"] = [(node.name(), node.layer().renderer().type()) for node in group.findLayers()]
    observed["messages_after_run"] = message_bar_texts()
    imd = group.findLayers()[0].layer()
    iface.mapCanvas().setExtent(imd.extent())
    iface.mapCanvas().refreshAllLayers()


def map_shot():
    group = QgsProject.instance().layerTreeRoot().findGroup("HRL 2018-2021")
    for node in group.findLayers():  # the current layer's legend opened: keep the names in view
        node.setExpanded(False)
    browser = iface.mainWindow().findChild(QDockWidget, "Browser")
    if browser is not None:
        browser.hide()  # room for the layer group
    canvas = iface.mapCanvas()
    canvas.waitWhileRendering()
    save(iface.mainWindow(), "desktop_5_map_after_run.png")


STEPS = {"missing": [at_start, how_to_install],
         "installed": [at_start, toolbox, model_dialog, model_run, map_shot]}[os.environ["DESKTOP_STEPS"]]


def run_step(index=0):
    if index == len(STEPS):
        finish()
        return
    try:
        STEPS[index]()
        observed["steps"].append(STEPS[index].__name__)
    except Exception:  # noqa: BLE001 - reported to the test, which fails with it
        observed["error"] = traceback.format_exc()
        finish()
        return
    QTimer.singleShot(1500, lambda: run_step(index + 1))


def finish():
    with open(RESULT, "w", encoding="utf-8") as handle:
        json.dump(observed, handle, indent=1)
    sys.stdout.flush()
    os._exit(0)


QTimer.singleShot(2500, run_step)
