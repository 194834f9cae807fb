#!/usr/bin/env python3
"""Build the shipped Graphical Modeler models (models/*.model3) with the PyQGIS model API.

The models are generated, not hand-edited, so that they are valid by construction: the graphs
(steps and wiring) come from imperviousness_plugin/graph.py, the one definition the tile runner
executes too; every parameter name and enum option is checked against the algorithm classes here. Every layer is computed into a temporary file and handed to `imperviousness:publish`,
which writes the HRL-named product set, the QML styles and the report into OUTPUT_FOLDER
(QGIS 3.22 models cannot name intermediate outputs by expression).

Usage: .venv/bin/python tools/build_models.py [output folder, default models/]
"""

import os
import pathlib
import sys

# A fixed Qt hash seed keeps the XML attribute order, so re-running gives identical files.
os.environ.setdefault("QT_HASH_SEED", "0")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (QgsApplication, QgsProcessingModelAlgorithm,
                       QgsProcessingModelChildAlgorithm, QgsProcessingModelChildParameterSource,
                       QgsProcessingModelParameter, QgsProcessingParameterFile,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterLayer)
from qgis.PyQt.QtCore import QPointF

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from imperviousness_plugin import compat  # noqa: E402 (after the environment is set)
from imperviousness_plugin import graph as graphs  # noqa: E402
from imperviousness_plugin.algorithms.base import option_name  # noqa: E402

GROUP = "HRL Imperviousness models"


def _source(value):
    if isinstance(value, tuple) and value and value[0] == "param":
        return QgsProcessingModelChildParameterSource.fromModelParameter(value[1])
    if isinstance(value, tuple) and value and value[0] == "child":
        return QgsProcessingModelChildParameterSource.fromChildOutput(value[1], value[2])
    if isinstance(value, tuple) and value and value[0] == "expr":
        return QgsProcessingModelChildParameterSource.fromExpression(value[1])
    return QgsProcessingModelChildParameterSource.fromStaticValue(value)


def _static(definition, value):
    """An enum given by option name in the graph becomes the index the .model3 stores."""
    if definition is not None and definition.type() == "enum" and isinstance(value, str):
        return [option_name(option) for option in definition.options()].index(value)
    return value


class ModelBuilder:
    """A QgsProcessingModelAlgorithm filled parameter by parameter and child by child."""

    def __init__(self, graph):
        self.graph = graph
        self.model = QgsProcessingModelAlgorithm(graph.name, GROUP, "models")
        self.model.setHelpContent({"ALG_DESC": graph.help_text, "ALG_CREATOR": "HRL Imperviousness plugin"})
        self.model.setName(graph.name)
        self.description = graph.description
        self.parameter_count = 0
        self.child_count = 0
        self.parameter_order = []  # workflow order: the order the builders add parameters in

    def parameter(self, definition):
        component = QgsProcessingModelParameter(definition.name())
        component.setPosition(QPointF(120 + 220 * (self.parameter_count % 6),
                                      60 + 90 * (self.parameter_count // 6)))
        self.parameter_count += 1
        self.model.addModelParameter(definition, component)
        self.parameter_order.append(definition.name())

    def add_steps(self):
        """One child per step of the graph, in the graph's order."""
        for step in self.graph.steps:
            self.child(step)
        return self

    def child(self, step):
        """A child running the step's algorithm with its parameters (static value, param(),
        child() or expr(); an enum by option name)."""
        algorithm_id = f"imperviousness:{step.algorithm}"
        algorithm = QgsApplication.processingRegistry().algorithmById(algorithm_id)
        if algorithm is None:
            raise ValueError(f"step {step.child_id}: no algorithm {algorithm_id}")
        component = QgsProcessingModelChildAlgorithm(algorithm_id)
        component.setChildId(step.child_id)
        component.setDescription(step.description)
        component.setPosition(QPointF(150 + 280 * step.column, 260 + 70 * step.row))
        for name, value in step.parameters.items():
            definition = algorithm.parameterDefinition(name)
            if definition is None:
                raise ValueError(f"step {step.child_id}: {algorithm_id} has no parameter {name}")
            component.addParameterSources(name, [_source(_static(definition, value))])
        # Every other input gets its default explicitly, so the model validates in the Modeler.
        for definition in algorithm.parameterDefinitions():
            if (definition.name() not in step.parameters and not definition.isDestination()
                    and definition.defaultValue() is not None):
                component.addParameterSources(definition.name(), [_source(definition.defaultValue())])
        self.model.addChildAlgorithm(component)
        self.child_count += 1
        return step.child_id

    def save(self, folder):
        path = pathlib.Path(folder) / f"{self.model.name()}.model3"
        # Saved as the model's parameterOrder, which QGIS (3.14+) applies when it loads the file:
        # without it the dialogs list the inputs alphabetically (parameters are stored in a map).
        self.model.setParameterOrder(self.parameter_order)
        if not self.model.toFile(str(path)):
            raise RuntimeError(f"could not write {path}")
        return path


# -- model parameters ---------------------------------------------------------------------------

def add_years(builder):
    builder.parameter(QgsProcessingParameterNumber(
        "YEAR_A", "Year A (reference year of IMD_A, IBU_A)", compat.ProcessingNumberParameterType.Integer, 2018))
    builder.parameter(QgsProcessingParameterNumber(
        "YEAR_B", "Year B (new status year)", compat.ProcessingNumberParameterType.Integer, 2021))


def add_s2(builder, years):
    for year in years:
        builder.parameter(QgsProcessingParameterFile(
            f"S2_{year}", f"Sentinel-2 L2A of year {year}: folder, or STAC collection URL",
            behavior=compat.ProcessingFileParameterBehavior.Folder))


def add_layer(builder, name, description, optional=False):
    builder.parameter(QgsProcessingParameterRasterLayer(name, description, optional=optional))


def add_models(builder, target):
    builder.parameter(QgsProcessingParameterMultipleLayers(
        f"MODELS_{target}", f"{target} U-Net models (.onnx; empty: the shipped ensemble)",
        compat.ProcessingSourceType.File, optional=True))


def add_output_folder(builder):
    builder.parameter(QgsProcessingParameterFile(
        "OUTPUT_FOLDER", "Output folder (HRL products, styles and report)",
        behavior=compat.ProcessingFileParameterBehavior.Folder))


# -- the models (graphs from imperviousness_plugin/graph.py, parameters here) ----------------------------------------------------------------------------

def build_full(train_first=False, from_pp=False):
    """graph.full_graph with its model parameters."""
    builder = ModelBuilder(graphs.full_graph(train_first=train_first, from_pp=from_pp))
    if not from_pp:
        add_s2(builder, ("A", "B"))
    add_years(builder)
    layers = [("PP_A", "PP stack of year A"), ("PP_B", "PP stack of year B")] if from_pp else []
    for layer, description in layers + [("IMD_A", "IMD of year A (10 m, 0..100)"),
                                        ("IBU_A", "IBU of year A (10 m, 0/1)"),
                                        ("CLCPLUS_A", "CLCplus Backbone of year A"),
                                        ("CLCPLUS_B", "CLCplus Backbone of year B")]:
        add_layer(builder, layer, description)
    if train_first:
        add_training_parameters(builder)
    else:
        add_models(builder, "IMD")
        add_models(builder, "IBU")
    add_output_folder(builder)
    return builder.add_steps()


def add_training_parameters(builder):
    builder.parameter(QgsProcessingParameterNumber(
        "TRAIN_STEPS", "Training steps per model", compat.ProcessingNumberParameterType.Integer, 600,
        minValue=1))
    builder.parameter(QgsProcessingParameterNumber(
        "TRAIN_PATCH_SIZE", "Training patch size (px, multiple of 8)",
        compat.ProcessingNumberParameterType.Integer, 128, minValue=16))
    for target in ("IMD", "IBU"):
        builder.parameter(QgsProcessingParameterFile(
            f"INIT_MODEL_{target}", f"Start the {target} model from this .onnx (transfer learning)",
            extension="onnx", optional=True))


def build_full_train_first():
    return build_full(train_first=True)


def build_full_from_pp():
    return build_full(from_pp=True)


def build_imd():
    builder = ModelBuilder(graphs.imd_graph())
    add_s2(builder, ("A", "B"))
    add_years(builder)
    for name, description in (("IMD_A", "IMD of year A (10 m, 0..100)"),
                              ("IBU_A", "IBU of year A (10 m, 0/1)"),
                              ("CLCPLUS_A", "CLCplus Backbone of year A"),
                              ("CLCPLUS_B", "CLCplus Backbone of year B")):
        add_layer(builder, name, description)
    add_models(builder, "IMD")
    add_output_folder(builder)
    return builder.add_steps()


def build_ibu():
    builder = ModelBuilder(graphs.ibu_graph())
    add_s2(builder, ("B",))
    add_years(builder)
    add_layer(builder, "IBU_A", "IBU of year A (10 m, 0/1; sets the extent)")
    add_models(builder, "IBU")
    add_output_folder(builder)
    return builder.add_steps()


def build_change():
    builder = ModelBuilder(graphs.change_graph())
    add_years(builder)
    for name, description in (("PP_A", "PP stack of year A"), ("PP_B", "PP stack of year B"),
                              ("IMD_A", "IMD of year A (10 m)"), ("IMD_B", "IMD of year B (10 m)"),
                              ("IBU_A", "IBU of year A (10 m)"), ("IBU_B", "IBU of year B (10 m)")):
        add_layer(builder, name, description)
    add_output_folder(builder)
    return builder.add_steps()


BUILDERS = (build_full, build_full_train_first, build_full_from_pp, build_imd, build_ibu, build_change)


def main():
    folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "models")
    folder.mkdir(parents=True, exist_ok=True)
    application = QgsApplication([], False)
    application.initQgis()
    from imperviousness_plugin.provider import ImperviousnessProvider
    provider = ImperviousnessProvider()  # keep a reference: the registry does not own it in Python
    QgsApplication.processingRegistry().addProvider(provider)
    for build in BUILDERS:
        print(build().save(folder))
    application.exitQgis()


if __name__ == "__main__":
    main()
