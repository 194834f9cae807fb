"""Ready for QGIS 4 (Qt6): what QGIS's migration script would change, and the plain-Qt widgets
under PyQt6.

The migration script (QGIS repository, scripts/pyqt5_to_pyqt6/pyqt5_to_pyqt6.py) is GPL code
that is not part of this repository, and its enum table (enums.json) comes from a Qt6 build of
QGIS. `_migration_findings` applies its rules here with our own code: imports from PyQt5, from
qgis.PyQt.Qt, of QRegExp or of compiled resources (resources_rc); `QVariant.<Type>`; `exec_`;
`qApp`; the deprecated enum names it renames; and `<Class>.<Member>` where Member is a value of
an enum of Class (the unscoped use it rewrites to `<Class>.<Enum>.<Member>`), found by
introspecting PyQt5 and QGIS 3.22 instead of its table.

The real script runs too when $PYQT5_TO_PYQT6 names it (with its enums.json beside it, and
tokenize-rt importable): neither is in this repository nor downloaded by scripts/setup.sh.
"""

import ast
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "imperviousness_plugin"
RENAMED = {("Qt", "MidButton"), ("Qt", "TextColorRole"), ("Qt", "BackgroundColorRole"),
           ("QPainter", "HighQualityAntialiasing")}


def _classes():
    """{name: class} of the Qt and QGIS modules the script introspects (those we have)."""
    import qgis.analysis
    import qgis.core
    import qgis.gui
    from qgis.PyQt import QtCore, QtGui, QtNetwork, QtWidgets, QtXml
    names = {}
    for module in (QtCore, QtGui, QtWidgets, QtXml, QtNetwork, qgis.core, qgis.gui, qgis.analysis):
        names.update({name: value for name, value in vars(module).items() if isinstance(value, type)})
    return names


def _is_unscoped_enum_value(owner, member):
    """Whether `owner.member` is a value of an enum nested in owner or a base class (sip or Python
    enum), used without the enum's name: in Qt6 builds that name is required."""
    import enum

    from qgis.core import Qgis
    value = getattr(owner, member, None)
    if value is None or isinstance(value, type):
        return False
    kind = type(value)
    is_enum = type(kind).__name__ == "enumtype" or issubclass(kind, enum.Enum)
    # QGIS >= 3.36 keeps the legacy names as aliases of the scoped enums in Qgis
    # (QgsProcessingParameterNumber.Double is a Qgis.ProcessingNumberParameterType).
    nested = getattr(owner, kind.__name__, None) is kind or getattr(Qgis, kind.__name__, None) is kind
    return is_enum and kind is not owner and nested


def _migration_findings(path, classes, root=PLUGIN.parent):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    findings = []

    def add(node, text):
        findings.append(f"{path.relative_to(root)}:{node.lineno}: {text}")

    for parent in ast.walk(tree):
        for node in ast.iter_child_nodes(parent):
            if isinstance(node, ast.ImportFrom):
                imported = {alias.name for alias in node.names}
                if (node.module or "").startswith("PyQt5") or node.module == "qgis.PyQt.Qt":
                    add(node, f"import from {node.module}")
                if imported & {"QRegExp", "resources_rc", "resources", "qApp"}:
                    add(node, f"import of {imported & {'QRegExp', 'resources_rc', 'resources', 'qApp'}}")
            elif isinstance(node, ast.Import) and any(a.name.startswith("PyQt5") for a in node.names):
                add(node, "import of PyQt5")
            elif isinstance(node, ast.FunctionDef) and node.name == "exec_":
                add(node, "def exec_")
            elif isinstance(node, ast.Attribute):
                if node.attr == "exec_":
                    add(node, ".exec_")
                if isinstance(node.value, ast.Name):
                    owner = node.value.id
                    if owner in ("QVariant", "qApp"):
                        add(node, f"{owner}.{node.attr}")
                    elif (owner, node.attr) in RENAMED:
                        add(node, f"deprecated {owner}.{node.attr}")
                    elif (not isinstance(parent, ast.Attribute) and owner in classes
                          and _is_unscoped_enum_value(classes[owner], node.attr)):
                        add(node, f"unscoped enum {owner}.{node.attr}")
    return findings


def _plugin_sources():
    return sorted(path for path in PLUGIN.rglob("*.py") if "__pycache__" not in path.parts)


def test_the_migration_rules_find_what_the_script_rewrites(tmp_path):
    """The rules catch the kinds of places the script rewrote in the plugin before (issue 19)."""
    sample = tmp_path / "imperviousness_plugin" / "sample.py"
    sample.parent.mkdir()
    sample.write_text(textwrap.dedent("""
        from PyQt5.QtCore import QVariant
        from qgis.core import Qgis, QgsProcessing, QgsProcessingParameterNumber
        from qgis.PyQt.QtCore import Qt
        a = QgsProcessingParameterNumber.Double
        b = QgsProcessing.TypeRaster
        c = Qgis.Warning
        d = Qt.WaitCursor
        e = QVariant.Int
        dialog.exec_()
        f = QgsProcessingParameterNumber.Type.Double  # scoped: fine
        g = Qt.CursorShape.WaitCursor                 # scoped: fine
    """))
    findings = _migration_findings(sample, _classes(), tmp_path)
    texts = [finding.split(": ", 1)[1] for finding in findings]
    assert texts == ["import from PyQt5.QtCore", "unscoped enum QgsProcessingParameterNumber.Double",
                     "unscoped enum QgsProcessing.TypeRaster", "unscoped enum Qgis.Warning",
                     "unscoped enum Qt.WaitCursor", "QVariant.Int", ".exec_"]


def test_the_plugin_has_nothing_for_the_qt6_migration_script_to_change():
    classes = _classes()
    findings = [finding for path in _plugin_sources() for finding in _migration_findings(path, classes)]
    assert findings == []


@pytest.mark.skipif(not os.environ.get("PYQT5_TO_PYQT6"),
                    reason="QGIS's pyqt5_to_pyqt6.py is not shipped here: set PYQT5_TO_PYQT6 to run it")
def test_the_real_migration_script_reports_nothing(tmp_path):
    import shutil
    copy = tmp_path / "imperviousness_plugin"
    shutil.copytree(PLUGIN, copy, ignore=shutil.ignore_patterns("__pycache__", "models"))
    result = subprocess.run([sys.executable, os.environ["PYQT5_TO_PYQT6"], str(copy)],
                            capture_output=True, text=True, timeout=600)
    report = [line for line in result.stdout.splitlines()
              if not line.startswith(("Processing ", "PyQt or QGIS classes not available"))]
    assert (result.returncode, report, result.stderr) == (0, [], "")
    assert sum(line.startswith("Processing ") for line in result.stdout.splitlines()) == len(_plugin_sources())


def test_no_compiled_qt_resources():
    assert not (PLUGIN / "resources.py").exists()
    assert not list(ROOT.glob("*.qrc"))
    from imperviousness_plugin.algorithms.base import ICON_PATH
    assert os.path.isfile(ICON_PATH)


def test_compat_gives_the_scoped_names_with_the_values_of_this_qgis():
    from qgis.core import (QgsMapLayerType, QgsProcessing, QgsProcessingParameterDefinition,
                           QgsProcessingParameterFile, QgsProcessingParameterNumber, QgsProperty)

    from imperviousness_plugin import compat
    # Old names by string: the values they had on QGIS 3.22 (on >= 3.36 they are aliases).
    assert compat.ProcessingSourceType.Raster == getattr(QgsProcessing, "TypeRaster")
    assert compat.ProcessingSourceType.File == getattr(QgsProcessing, "TypeFile")
    assert compat.ProcessingNumberParameterType.Double == getattr(QgsProcessingParameterNumber, "Double")
    assert compat.ProcessingFileParameterBehavior.Folder == getattr(QgsProcessingParameterFile, "Folder")
    assert compat.ProcessingParameterFlag.Advanced == getattr(QgsProcessingParameterDefinition, "FlagAdvanced")
    assert compat.PropertyType.Static == getattr(QgsProperty, "StaticProperty")
    assert compat.LayerType.Raster == getattr(QgsMapLayerType, "RasterLayer")


def test_metadata_lets_qgis_4_list_the_plugin():
    text = (PLUGIN / "metadata.txt").read_text()
    assert "\nqgisMaximumVersion=4.99\n" in text
    assert "supportsQt6" not in text  # deprecated by the plugin repository


# -- the plain-Qt widgets under PyQt6 -----------------------------------------------------------

SHIM = {  # qgis.PyQt resolving to PyQt6, as in QGIS 4; no qgis.core: the widgets must not need it
    "qgis/__init__.py": "",
    "qgis/PyQt/__init__.py": "",
    "qgis/PyQt/QtCore.py": "from PyQt6.QtCore import *  # noqa: F401,F403\n",
    "qgis/PyQt/QtGui.py": "from PyQt6.QtGui import *  # noqa: F401,F403\n",
    "qgis/PyQt/QtWidgets.py": "from PyQt6.QtWidgets import *  # noqa: F401,F403\n",
}

SESSION = """
import json, sys
from PyQt6.QtWidgets import QApplication, QDialog, QPlainTextEdit
app = QApplication(sys.argv)
from imperviousness_plugin import dependencies, widgets
message = dependencies.missing_message([dependencies.dependency_of("onnxruntime")])
button = widgets.install_help_button(message)
button.click()
dialog = button.dialog
app.processEvents()
report = widgets.open_report_button("/nonexistent/report.html")
print(json.dumps({
    "qt": __import__("PyQt6.QtCore", fromlist=["QT_VERSION_STR"]).QT_VERSION_STR,
    "button": button.text(), "dialog_visible": dialog.isVisible(),
    "dialog_title": dialog.windowTitle(), "dialog_is_qdialog": isinstance(dialog, QDialog),
    "text": dialog.findChild(QPlainTextEdit).toPlainText(), "message": message,
    "report_button": report.text(), "qgis_core_importable": _can_import("qgis.core"),
}))
"""


def _has_pyqt6():
    return subprocess.run([sys.executable, "-c", "import PyQt6.QtWidgets"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _has_pyqt6(), reason="python3-pyqt6 is installed by scripts/setup.sh")
def test_plain_qt_widgets_run_under_pyqt6(tmp_path):
    import json
    for name, text in SHIM.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    code = ("def _can_import(name):\n"
            "    try:\n        __import__(name)\n        return True\n"
            "    except ImportError:\n        return False\n" + SESSION)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    observed = json.loads(result.stdout.strip().splitlines()[-1])
    assert observed["qt"].startswith("6.")
    assert observed["qgis_core_importable"] is False  # only the shim: no QGIS class was needed
    assert observed["button"] == "How to install" and observed["report_button"] == "Open report"
    assert observed["dialog_is_qdialog"] and observed["dialog_visible"]
    assert observed["dialog_title"] == "HRL Imperviousness: missing Python packages"
    assert observed["text"] == observed["message"]
    assert "onnxruntime" in observed["text"] and "qpip" in observed["text"]
