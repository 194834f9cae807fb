"""Plugin entry: registers the Processing provider, in QGIS desktop and in qgis_process alike.

The provider is registered even when packages are missing (dependencies.py): the algorithms
that need one refuse to run with a message naming it and how to install it. The plugin installs
nothing itself: its requirements.txt is installed by the qpip plugin or by the user. QGIS desktop
shows one message bar item naming the missing packages; qgis_process prints the message.
"""

import sys

from qgis.core import Qgis, QgsApplication

from . import dependencies
from .algorithms import lifecycle
from .provider import ImperviousnessProvider


class ImperviousnessPlugin:
    def __init__(self, iface):
        self.iface = iface  # None under qgis_process
        self.provider = None
        self.message = None

    def initProcessing(self):  # noqa: N802 (QGIS API)
        """Called by QGIS desktop and by qgis_process (where initGui is never called)."""
        if self.provider is None:
            lifecycle.install()  # qgis_process only: signal cleanup, no .aux.xml beside inputs
            self.provider = ImperviousnessProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)
            if self.iface is None and dependencies.missing():
                print(dependencies.missing_message(dependencies.missing()), file=sys.stderr)

    def initGui(self):  # noqa: N802 (QGIS API)
        self.initProcessing()
        from . import layers
        layers.set_desktop(self.iface)
        absent = dependencies.missing()
        if absent:
            self.show_missing(absent)

    def show_missing(self, absent):
        """One message bar item: what is missing, and a button showing how to install it."""
        from .widgets import install_help_button
        bar = self.iface.messageBar()
        self.message = bar.createMessage(
            "HRL Imperviousness",
            QgsApplication.translate(
                "ImperviousnessPlugin",
                "missing Python packages: {0}; install them with qpip or by hand.").format(
                    dependencies.names(absent)))
        self.message.layout().addWidget(
            install_help_button(dependencies.missing_message(absent), self.iface.mainWindow()))
        bar.pushWidget(self.message, Qgis.MessageLevel.Warning)

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.message is not None and self.iface is not None:
            self.iface.messageBar().popWidget(self.message)
            self.message = None
