"""Plugin entry: registers the Processing provider, in QGIS desktop and in qgis_process alike."""

from qgis.core import QgsApplication

from .algorithms import lifecycle
from .provider import ImperviousnessProvider


class ImperviousnessPlugin:
    def __init__(self, iface):
        self.iface = iface  # None under qgis_process
        self.provider = None

    def initProcessing(self):  # noqa: N802 (QGIS API)
        """Called by QGIS desktop and by qgis_process (where initGui is never called)."""
        if self.provider is None:
            lifecycle.install()  # qgis_process only: signal cleanup, no .aux.xml beside inputs
            self.provider = ImperviousnessProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 (QGIS API)
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
