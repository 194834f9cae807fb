"""The `imperviousness` Processing provider: every algorithm of SPEC section 3."""

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from . import resources  # noqa: F401  (registers :/plugins/imperviousness_plugin/...)
from .algorithms import all_algorithms

ICON_PATH = ":/plugins/imperviousness_plugin/icon.svg"


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

    def loadAlgorithms(self):  # noqa: N802 (QGIS API)
        for algorithm in all_algorithms():
            self.addAlgorithm(algorithm)
