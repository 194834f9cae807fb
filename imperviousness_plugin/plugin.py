"""Plugin entry: registers the Processing provider, in QGIS desktop and in qgis_process alike.

The provider is registered even when packages are missing (dependencies.py): the algorithms
that need one refuse to run with a message naming it. QGIS desktop offers to install them (a
message bar with an Install button); qgis_process prints the install command.
"""

import sys

from qgis.core import Qgis, QgsApplication, QgsSettings

from . import dependencies
from .algorithms import lifecycle
from .provider import ImperviousnessProvider

# An optional folder of wheels for installs without internet (pip --no-index --find-links).
WHEEL_FOLDER_SETTING = "imperviousness/dependency_wheel_folder"


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
        """One message bar: what is missing, what needs it, and an Install button."""
        from qgis.PyQt.QtWidgets import QPushButton
        bar = self.iface.messageBar()
        names = ", ".join(d.requirement.split("==")[0] for d in absent)
        self.message = bar.createMessage(
            "HRL Imperviousness",
            QgsApplication.translate("ImperviousnessPlugin",
                                     "missing Python packages: {0}. Algorithms that need them will "
                                     "not run until they are installed into your QGIS profile.").format(names))
        button = QPushButton(QgsApplication.translate("ImperviousnessPlugin", "Install"))
        button.setObjectName("imperviousnessInstallDependencies")
        button.clicked.connect(lambda: self.install_missing(absent))
        self.message.layout().addWidget(button)
        offline = QPushButton(QgsApplication.translate("ImperviousnessPlugin", "From wheel folder…"))
        offline.clicked.connect(lambda: self.install_from_folder(absent))
        self.message.layout().addWidget(offline)
        bar.pushWidget(self.message, Qgis.Warning)

    def install_from_folder(self, absent):
        """Offline install: ask for a folder of wheels, remember it, install from it."""
        from qgis.PyQt.QtWidgets import QFileDialog
        folder = QFileDialog.getExistingDirectory(
            self.iface.mainWindow(), QgsApplication.translate("ImperviousnessPlugin", "Folder of wheels"),
            QgsSettings().value(WHEEL_FOLDER_SETTING, ""))
        if folder:
            QgsSettings().setValue(WHEEL_FOLDER_SETTING, folder)
            self.install_missing(absent)

    def install_missing(self, absent):
        """pip --target into the profile (from the wheel folder setting when set), then the
        provider's algorithms are reloaded: no restart."""
        from qgis.PyQt.QtCore import Qt
        from qgis.PyQt.QtWidgets import QApplication
        wheel_folder = QgsSettings().value(WHEEL_FOLDER_SETTING, "") or None
        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            ok, output = dependencies.install(absent, wheel_folder=wheel_folder)
        finally:
            QApplication.restoreOverrideCursor()
        bar = self.iface.messageBar()
        if self.message is not None:
            bar.popWidget(self.message)
            self.message = None
        still = dependencies.missing()
        if ok and not still:
            self.provider.refreshAlgorithms()
            bar.pushSuccess("HRL Imperviousness", QgsApplication.translate(
                "ImperviousnessPlugin", "packages installed into {0}.").format(dependencies.target_folder()))
        else:
            bar.pushCritical("HRL Imperviousness", QgsApplication.translate(
                "ImperviousnessPlugin", "installing the packages failed:\n{0}").format(output[-2000:]))
            if still:
                self.show_missing(still)

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.message is not None and self.iface is not None:
            self.iface.messageBar().popWidget(self.message)
            self.message = None
