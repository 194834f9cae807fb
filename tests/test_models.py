"""The shipped .model3 files: they load, every child algorithm resolves, dialogs build; screenshots.

Screenshots (not committed) go to build/screenshots/: the provider's Toolbox group and the full
model in the Graphical Modeler scene.
"""

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODELS = sorted((ROOT / "models").glob("*.model3"))
SCREENSHOTS = ROOT / "build" / "screenshots"
EXPECTED = {"hrl_imperviousness", "hrl_imperviousness_train", "hrl_imperviousness_pp", "hrl_imd", "hrl_ibu", "hrl_change"}


def test_all_models_are_shipped():
    assert {path.stem for path in MODELS} == EXPECTED


@pytest.mark.parametrize("path", MODELS, ids=lambda path: path.stem)
def test_model_loads_and_children_resolve(provider, path):
    from qgis.core import QgsApplication, QgsProcessingModelAlgorithm

    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(str(path))
    assert model.childAlgorithms()
    for child_id, child in model.childAlgorithms().items():
        assert child.algorithm() is not None, (child_id, child.algorithmId())
        assert QgsApplication.processingRegistry().algorithmById(child.algorithmId()) is not None
    valid, errors = model.validate() if hasattr(model, "validate") else (True, [])
    assert valid, errors
    registered = QgsApplication.processingRegistry().algorithmById(f"imperviousness:{path.stem}")
    assert registered is not None
    assert "OUTPUT_FOLDER" in [p.name() for p in registered.parameterDefinitions()]


def test_full_model_parameters(provider):
    from qgis.core import QgsApplication

    model = QgsApplication.processingRegistry().algorithmById("imperviousness:hrl_imperviousness")
    names = {p.name() for p in model.parameterDefinitions()}
    assert {"S2_A", "S2_B", "YEAR_A", "YEAR_B", "IMD_A", "IBU_A", "CLCPLUS_A", "CLCPLUS_B",
            "MODELS_IMD", "MODELS_IBU", "OUTPUT_FOLDER"} <= names
    assert model.parameterDefinition("YEAR_A").defaultValue() == 2018
    assert model.parameterDefinition("YEAR_B").defaultValue() == 2021
    children = {child.algorithmId() for child in model.childAlgorithms().values()}
    assert "imperviousness:publish" in children and len(model.childAlgorithms()) == 32


def test_every_algorithm_dialog_builds(provider, qgis_iface):
    import processing

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    qgis_iface.browserModel = lambda: None   # the pytest-qgis iface mock has no browser model
    for algorithm in provider.algorithms():
        dialog = processing.createAlgorithmDialog(algorithm.id())
        assert dialog is not None, algorithm.id()
        if algorithm.id() in ("imperviousness:hrl_imperviousness", "imperviousness:runtiles",
                              "imperviousness:aligngrid"):
            dialog.resize(900, 1000)
            dialog.show()
            assert dialog.grab().save(str(SCREENSHOTS / f"{algorithm.name()}_dialog.png"))
        dialog.close()


def test_screenshots_of_toolbox_and_modeler(provider, qgis_app, qgis_iface):
    from processing.modeler.ModelerDialog import ModelerDialog
    from qgis.core import QgsApplication, QgsProcessingModelAlgorithm
    from qgis.gui import QgsProcessingToolboxProxyModel, QgsProcessingToolboxTreeView

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # The Processing Toolbox's own tree view (the widget of the Toolbox dock), filtered on the
    # provider, as a user sees it after installing the plugin.
    registry = QgsApplication.processingRegistry()
    toolbox = QgsProcessingToolboxTreeView(None, registry)
    toolbox.setFilters(QgsProcessingToolboxProxyModel.Filters(QgsProcessingToolboxProxyModel.FilterToolbox))
    toolbox.setHeaderHidden(True)
    toolbox.setFilterString("imperviousness")
    toolbox.expandAll()
    toolbox.resize(520, 760)
    toolbox.show()
    qgis_app.processEvents()
    shown = toolbox.model()
    names = []
    stack = [shown.index(row, 0) for row in range(shown.rowCount())]
    while stack:
        index = stack.pop()
        names.append(index.data())
        stack.extend(shown.index(row, 0, index) for row in range(shown.rowCount(index)))
    assert provider.name() in names
    assert {"1 Features and change mask", "2 Status layers", "HRL Imperviousness models"} <= set(names)
    assert "hrl_imperviousness" in names
    assert toolbox.grab().save(str(SCREENSHOTS / "toolbox_group.png"))

    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(str(ROOT / "models" / "hrl_imperviousness.model3"))
    from qgis.PyQt.QtCore import QSize
    qgis_iface.iconSize = lambda dockedToolbar=False: QSize(24, 24)  # mock lacks it
    qgis_iface.browserModel = lambda: None
    modeler = ModelerDialog(model=model)
    modeler.resize(1600, 1000)
    modeler.show()
    qgis_app.processEvents()
    assert modeler.grab().save(str(SCREENSHOTS / "modeler_hrl_imperviousness.png"))
    modeler.close()
