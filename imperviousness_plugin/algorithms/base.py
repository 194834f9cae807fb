"""Shared base of the provider's algorithms: translation, icon, and core-error translation.

Algorithms are thin adapters: they read parameters, call one function of the numeric core and
pass it the feedback object (progress, cancellation, messages). Core errors become
QgsProcessingException so the user sees the core's message unchanged.
"""

import time

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from ..core.errors import Cancelled, ImperviousnessError
from . import lifecycle

ICON_PATH = ":/plugins/imperviousness_plugin/icon.svg"
TIMING_PREFIX = "[step time]"


class ImperviousnessAlgorithm(QgsProcessingAlgorithm):
    """Subclasses set NAME, DISPLAY_NAME, GROUP_ID, GROUP and HELP, and implement the rest."""

    NAME = ""
    DISPLAY_NAME = ""
    GROUP_ID = ""
    GROUP = ""
    HELP = ""

    def tr(self, text):
        return QCoreApplication.translate(type(self).__name__, text)

    def name(self):
        return self.NAME

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr(self.DISPLAY_NAME)

    def group(self):
        return self.tr(self.GROUP)

    def groupId(self):  # noqa: N802 (QGIS API)
        return self.GROUP_ID

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(self.HELP)

    def icon(self):
        return QIcon(ICON_PATH)

    def createInstance(self):  # noqa: N802 (QGIS API)
        return type(self)()

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        self._started = time.perf_counter()
        lifecycle.install()  # qgis_process: signals remove this run's files (after its own SIGINT handler)
        return True

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 (QGIS API)
        """Reports the step's wall time (the demo and users of models read it from the log)."""
        seconds = time.perf_counter() - getattr(self, "_started", time.perf_counter())
        feedback.pushInfo(f"{TIMING_PREFIX} {self.id()} {seconds:.2f} s")
        return {}

    def raster_path(self, parameters, name, context):
        """The file behind a raster-layer parameter (the core opens it itself, without overviews)."""
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None or not layer.isValid():
            raise QgsProcessingException(
                self.tr(f"{name}: cannot open the raster layer {parameters.get(name)!r}."))
        return layer.source()

    def run_core(self, function, *args, **kwargs):
        """Call a core function, turning its errors into QgsProcessingException."""
        try:
            return function(*args, **kwargs)
        except ImperviousnessError as error:
            raise QgsProcessingException(str(error)) from None
        except Cancelled:
            raise QgsProcessingException(self.tr("Cancelled by the user; no output was written.")) from None
