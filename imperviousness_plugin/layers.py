"""Outputs in the QGIS desktop project: product names, their QML styles, the run's layer group.

- Single algorithms: every layer Processing loads on completion gets a post-processor
  (QgsProcessingLayerPostProcessorInterface) that names it after its file (the HRL name, e.g.
  IMD_2021_010m, instead of the output's description "Aggregated layer") and applies the QML
  style written beside the file (Processing loads layers without their default style).
- Models: after a run in the GUI, every published product of the output folder is loaded into a
  layer group named after the run ("HRL 2018-2021"): status layers first, then change layers,
  confidence, then the intermediate layers (PP, RMSD, change mask, raw predictions, ...); the
  report is offered in the message bar.

Under qgis_process nothing is loaded (there is no project to load into).
"""

import os

from qgis.core import (QgsProcessingLayerPostProcessorInterface, QgsProcessingUtils, QgsProject,
                       QgsRasterLayer)

from .core.products.catalogue import PRODUCTS, hrl_name
from .core.products.styles import style_path_beside

_IFACE = None
# The group's order (top first): status layers, change layers (real change, then support),
# confidence; then the intermediate layers in the catalogue's (workflow) order: PP, RMSD, change
# mask, raw predictions and their spread, sealing masks.
GROUP_ORDER = (
    "IMD_B", "IMD_B_100", "IBU_B", "SBU_B",
    "IMDC_20", "IMCC_20", "IMDC_100", "IMCC_100", "IBUDC_20", "IBUC_20", "SBUC_100", "SBCC_100",
    "IMDCS_20", "IMCCS_20", "IMDCS_100", "IMCCS_100", "IBUDCS_20", "IBUCS_20", "SBUCS_100", "SBCCS_100",
    "IMDCL", "IBUCL",
)


def set_desktop(iface):
    """Called by the plugin's initGui: runs in the GUI load their outputs into the project."""
    global _IFACE
    _IFACE = iface


def in_desktop():
    return _IFACE is not None


def layer_name(path):
    """A layer's name: its file name without extension (the HRL name of a published product)."""
    return os.path.splitext(os.path.basename(str(path).split("|", 1)[0]))[0]


def apply_style_beside(layer):
    """Load the QML written beside the layer's file, if any; returns whether one was applied."""
    style = style_path_beside(layer.source())
    if not os.path.exists(style):
        return False
    _message, ok = layer.loadNamedStyle(style)
    if ok:
        layer.triggerRepaint()
    return ok


class ProductPostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Names a loaded output after its file (unless it is a temporary file) and styles it."""

    _instances = []  # Processing keeps a plain pointer: Python must keep the object alive

    @classmethod
    def create(cls):
        instance = cls()
        cls._instances.append(instance)
        return instance

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS API)
        if not isinstance(layer, QgsRasterLayer):
            return
        if not layer.source().startswith(QgsProcessingUtils.tempFolder()):
            layer.setName(layer_name(layer.source()))
        apply_style_beside(layer)


def attach_post_processors(context):
    """Give every layer that Processing will load after this run the product post-processor."""
    for key in context.layersToLoadOnCompletion():
        details = context.layerToLoadOnCompletionDetails(key)
        if details.postProcessor() is None:
            details.setPostProcessor(ProductPostProcessor.create())


def published_products(folder, year_a, year_b):
    """[(HRL name, path)] of the products published into `folder`, in the group's order."""
    order = list(GROUP_ORDER) + [product for product in PRODUCTS if product not in GROUP_ORDER]
    paths = [os.path.join(folder, hrl_name(product, year_a, year_b)) for product in order]
    return [(layer_name(path), path) for path in paths if os.path.exists(path)]


def group_name(year_a, year_b):
    return f"HRL {int(year_a)}-{int(year_b)}"


def load_run(folder, year_a, year_b, project=None):
    """Load a run's published products, styled, into the group "HRL A-B" (replacing a group of
    that name from an earlier run) at the top of the layer tree; returns the group."""
    project = project or QgsProject.instance()
    root = project.layerTreeRoot()
    name = group_name(year_a, year_b)
    old = root.findGroup(name)
    if old is not None:
        root.removeChildNode(old)
    group = root.insertGroup(0, name)
    for layer_title, path in published_products(folder, year_a, year_b):
        layer = QgsRasterLayer(path, layer_title)
        if not layer.isValid():
            continue
        apply_style_beside(layer)
        project.addMapLayer(layer, False)
        group.addLayer(layer).setExpanded(False)  # ~34 legends: the layer names stay in view
    return group


def offer_report(folder):
    """A message bar item with a button that opens the run's report.html."""
    report = os.path.join(folder, "report.html")
    if _IFACE is None or not os.path.exists(report):
        return None
    from qgis.core import Qgis

    from .widgets import open_report_button
    bar = _IFACE.messageBar()
    item = bar.createMessage("HRL Imperviousness", f"products loaded; report: {report}")
    item.layout().addWidget(open_report_button(report))
    bar.pushWidget(item, Qgis.MessageLevel.Success)
    return item
