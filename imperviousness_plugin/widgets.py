"""The plugin's plain-Qt widgets: the buttons its message bar items carry and the text dialog they
open. Only `qgis.PyQt` (no QGIS class), written for PyQt5 and PyQt6 alike (scoped enums, exec()):
tests/test_qt6.py runs them under Debian's PyQt6.
"""

from qgis.PyQt.QtCore import QCoreApplication, QUrl
from qgis.PyQt.QtGui import QDesktopServices
from qgis.PyQt.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QPushButton, QVBoxLayout


def tr(text):
    return QCoreApplication.translate("ImperviousnessPlugin", text)


def text_dialog(title, text, parent=None):
    """A dialog showing `text` read-only, selectable (commands to copy), with a Close button."""
    dialog = QDialog(parent)
    dialog.setObjectName("imperviousnessTextDialog")
    dialog.setWindowTitle(title)
    layout = QVBoxLayout(dialog)
    view = QPlainTextEdit(text, dialog)
    view.setReadOnly(True)
    view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    layout.addWidget(view)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    dialog.resize(1000, 300)
    return dialog


def install_help_button(message, parent=None):
    """"How to install": opens the missing-package message (what, qpip, the commands) in a dialog.
    The dialog is opened without blocking (open(), not exec()), kept on the button."""
    button = QPushButton(tr("How to install"), parent)
    button.setObjectName("imperviousnessInstallHelp")

    def show():
        button.dialog = text_dialog(tr("HRL Imperviousness: missing Python packages"), message,
                                    button.window())
        button.dialog.open()

    button.clicked.connect(show)
    return button


def open_report_button(report, parent=None):
    """"Open report": the run's report.html in the system's browser."""
    button = QPushButton(tr("Open report"), parent)
    button.setObjectName("imperviousnessOpenReport")
    button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(report)))
    return button
