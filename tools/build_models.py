#!/usr/bin/env python3
"""Build the shipped Graphical Modeler models (models/*.model3) with the PyQGIS model API.

The models are generated, not hand-edited, so that they are valid by construction: the graphs
(steps and wiring) come from imperviousness_plugin/graph.py, the one definition the tile runner
executes too; every parameter name and enum option is checked against the algorithm classes here. Every layer is computed into a temporary file and handed to `imperviousness:publish`,
which writes the HRL-named product set, the QML styles and the report into OUTPUT_FOLDER
(QGIS 3.22 models cannot name intermediate outputs by expression).

Usage: .venv/bin/python tools/build_models.py [output folder, default models/]
       .venv/bin/python tools/build_models.py --rewrite SOURCE_FOLDER OUTPUT_FOLDER
"""

import os
import pathlib
import sys

# A fixed Qt hash seed keeps the XML attribute order, so re-running gives identical files.
os.environ.setdefault("QT_HASH_SEED", "0")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses

from qgis.core import (QgsApplication, QgsProcessingModelAlgorithm, QgsProcessingModelChildAlgorithm,
                       QgsProcessingModelChildParameterSource, QgsProcessingModelParameter)
from qgis.PyQt.QtCore import QPointF

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from imperviousness_plugin import graph as graphs  # noqa: E402 (after the environment is set)
from imperviousness_plugin.algorithms.parameters import definition as qgis_definition  # noqa: E402
from imperviousness_plugin.steps.catalogue import MODEL, step as catalogue_step  # noqa: E402

GROUP = "HRL Imperviousness models"


def _source(value):
    if isinstance(value, tuple) and value and value[0] == "param":
        return QgsProcessingModelChildParameterSource.fromModelParameter(value[1])
    if isinstance(value, tuple) and value and value[0] == "child":
        return QgsProcessingModelChildParameterSource.fromChildOutput(value[1], value[2])
    if isinstance(value, tuple) and value and value[0] == "expr":
        return QgsProcessingModelChildParameterSource.fromExpression(value[1])
    return QgsProcessingModelChildParameterSource.fromStaticValue(value)


def _static(parameter, value):
    """An enum given by option name in the graph becomes the index the .model3 stores."""
    if parameter.kind == "enum" and isinstance(value, str):
        return parameter.index(value)
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

    def parameter(self, name, label=None):
        """The model input `name` of the catalogue's MODEL entry (optionally worded `label`)."""
        parameter = MODEL.parameter(name)
        definition = qgis_definition(dataclasses.replace(parameter, label=label or parameter.label), str)
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
        entry = catalogue_step(step.algorithm)
        for name, value in step.parameters.items():
            if algorithm.parameterDefinition(name) is None:
                raise ValueError(f"step {step.child_id}: {algorithm_id} has no parameter {name}")
            component.addParameterSources(name, [_source(_static(entry.parameter(name), value))])
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

REFERENCE_LAYERS = (MODEL.IMD_A, MODEL.IBU_A, MODEL.CLCPLUS_A, MODEL.CLCPLUS_B)


def add_years(builder):
    builder.parameter(MODEL.YEAR_A)
    builder.parameter(MODEL.YEAR_B)


def add_s2(builder, names):
    for name in names:
        builder.parameter(name)


def add_output_folder(builder):
    builder.parameter(MODEL.OUTPUT_FOLDER)


# -- the models (graphs from imperviousness_plugin/graph.py, parameters here) ----------------------------------------------------------------------------

def build_full(train_first=False, from_pp=False):
    """graph.full_graph with its model parameters."""
    builder = ModelBuilder(graphs.full_graph(train_first=train_first, from_pp=from_pp))
    if not from_pp:
        add_s2(builder, (MODEL.S2_A, MODEL.S2_B))
    add_years(builder)
    for name in ((MODEL.PP_A, MODEL.PP_B) if from_pp else ()) + REFERENCE_LAYERS:
        builder.parameter(name)
    if train_first:
        add_training_parameters(builder)
    else:
        builder.parameter(MODEL.MODELS_IMD)
        builder.parameter(MODEL.MODELS_IBU)
    add_output_folder(builder)
    return builder.add_steps()


def add_training_parameters(builder):
    for name in (MODEL.TRAIN_STEPS, MODEL.TRAIN_PATCH_SIZE, MODEL.INIT_MODEL_IMD, MODEL.INIT_MODEL_IBU):
        builder.parameter(name)


def build_full_train_first():
    return build_full(train_first=True)


def build_full_from_pp():
    return build_full(from_pp=True)


def build_imd():
    builder = ModelBuilder(graphs.imd_graph())
    add_s2(builder, (MODEL.S2_A, MODEL.S2_B))
    add_years(builder)
    for name in REFERENCE_LAYERS:
        builder.parameter(name)
    builder.parameter(MODEL.MODELS_IMD)
    add_output_folder(builder)
    return builder.add_steps()


def build_ibu():
    builder = ModelBuilder(graphs.ibu_graph())
    add_s2(builder, (MODEL.S2_B,))
    add_years(builder)
    builder.parameter(MODEL.IBU_A, "IBU of year A (10 m, 0/1; sets the extent)")
    builder.parameter(MODEL.MODELS_IBU)
    add_output_folder(builder)
    return builder.add_steps()


def build_change():
    builder = ModelBuilder(graphs.change_graph())
    add_years(builder)
    for name, label in ((MODEL.PP_A, None), (MODEL.PP_B, None), (MODEL.IMD_A, "IMD of year A (10 m)"),
                        (MODEL.IMD_B, None), (MODEL.IBU_A, "IBU of year A (10 m)"), (MODEL.IBU_B, None)):
        builder.parameter(name, label)
    add_output_folder(builder)
    return builder.add_steps()


BUILDERS = (build_full, build_full_train_first, build_full_from_pp, build_imd, build_ibu, build_change)


def rewrite(source, folder):
    """Load each .model3 of `source` and write it again as the running QGIS writes models.

    QGIS >= 3.40 writes keys that 3.22 does not know (internal_version, outputGroup,
    outputOrder), so the committed files (written by 3.22) are compared with a fresh build on
    another QGIS through this: both written by the same QGIS.
    """
    for path in sorted(pathlib.Path(source).glob("*.model3")):
        model = QgsProcessingModelAlgorithm()
        if not model.fromFile(str(path)) or not model.toFile(str(folder / path.name)):
            raise RuntimeError(f"could not load and write {path}")
        print(folder / path.name)


def main():
    arguments = sys.argv[1:]
    source = None
    if arguments[:1] == ["--rewrite"]:
        source, arguments = arguments[1], arguments[2:]
    folder = pathlib.Path(arguments[0] if arguments else ROOT / "models")
    folder.mkdir(parents=True, exist_ok=True)
    application = QgsApplication([], False)
    application.initQgis()
    from imperviousness_plugin.provider import ImperviousnessProvider
    provider = ImperviousnessProvider()  # keep a reference: the registry does not own it in Python
    QgsApplication.processingRegistry().addProvider(provider)
    if source:
        rewrite(source, folder)
    else:
        for build in BUILDERS:
            print(build().save(folder))
    application.exitQgis()


if __name__ == "__main__":
    main()
