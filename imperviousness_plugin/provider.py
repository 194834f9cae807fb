"""The `imperviousness` Processing provider: every algorithm of SPEC section 3 and the models.

The Graphical Modeler models shipped in models/*.model3 (built by tools/build_models.py) are
added as algorithms too; their ids come from the model names, e.g.
`imperviousness:hrl_imperviousness`.
"""

import glob
import os

from qgis.core import QgsMessageLog, QgsProcessingModelAlgorithm, QgsProcessingProvider
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from . import layers
from .algorithms import all_algorithms
from .algorithms.base import ICON_PATH, RASTER_EXTENSIONS, plain_help

MODELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")


class ShippedModel(QgsProcessingModelAlgorithm):
    """A shipped model whose help is plain text like the algorithms' (QGIS renders a model's
    help as HTML, which `qgis_process help` would print raw), and which, run in QGIS desktop,
    loads its published products into the group "HRL A-B" (layers.py)."""

    def createInstance(self):  # noqa: N802 (QGIS API)
        # QgsProcessingModelAlgorithm's own createInstance makes a plain C++ model: the run
        # would lose this class.
        model = ShippedModel()
        model.loadVariant(self.toVariant())
        model.setSourceFilePath(self.sourceFilePath())
        return model

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        self._run = {name: parameters.get(name) for name in ("OUTPUT_FOLDER", "YEAR_A", "YEAR_B")}
        return super().processAlgorithm(parameters, context, feedback)

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 (QGIS API)
        run = getattr(self, "_run", {})
        if layers.in_desktop() and run.get("OUTPUT_FOLDER") and run.get("YEAR_A") is not None:
            group = layers.load_run(str(run["OUTPUT_FOLDER"]), run["YEAR_A"], run["YEAR_B"],
                                    context.project())
            feedback.pushInfo(f"Loaded {len(group.children())} products into the group {group.name()}.")
            layers.offer_report(str(run["OUTPUT_FOLDER"]))
        return super().postProcessAlgorithm(context, feedback)

    def store_plain_help(self):
        """Make the stored help the plain help: the .model3's description, then the parameters.

        qgis_process >= 3.40 prints a model's stored help (helpContent) and no longer asks
        shortHelpString, so the parameter list must be part of what is stored. Done once, on
        loading the file (createInstance copies the stored help as it is).
        """
        content = dict(self.helpContent())
        content["ALG_DESC"] = plain_help(content.get("ALG_DESC", ""), self.parameterDefinitions(),
                                         lambda text: QCoreApplication.translate("ShippedModel", text))
        self.setHelpContent(content)

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.helpContent().get("ALG_DESC", "")


def shipped_models(folder=MODELS_DIR):
    """The .model3 files shipped with the plugin, loaded as model algorithms (sorted by file)."""
    models = []
    for path in sorted(glob.glob(os.path.join(folder, "*.model3"))):
        model = ShippedModel()
        if model.fromFile(path):
            model.store_plain_help()
            models.append(model)
        else:
            QgsMessageLog.logMessage(f"Could not load the model {path}", "Processing")
    return models


class ImperviousnessProvider(QgsProcessingProvider):
    def id(self):
        return "imperviousness"

    def name(self):
        return QCoreApplication.translate("ImperviousnessProvider", "HRL Imperviousness")

    def longName(self):  # noqa: N802 (QGIS API)
        return QCoreApplication.translate(
            "ImperviousnessProvider", "Copernicus HRL Imperviousness (ATBD v1.4 workflow)")

    def icon(self):
        return QIcon(ICON_PATH)

    def supportedOutputRasterLayerExtensions(self):  # noqa: N802 (QGIS API)
        """Only GeoTIFF: the file dialogs offer it, and other extensions are refused (base.py)."""
        return list(RASTER_EXTENSIONS)

    def defaultRasterFileExtension(self):  # noqa: N802 (QGIS API)
        return RASTER_EXTENSIONS[0]

    def loadAlgorithms(self):  # noqa: N802 (QGIS API)
        for algorithm in all_algorithms():
            self.addAlgorithm(algorithm)
        for model in shipped_models():
            self.addAlgorithm(model)
