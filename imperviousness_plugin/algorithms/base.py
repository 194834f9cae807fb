"""Shared base of the provider's algorithms: groups, help, enum names, output guards, core errors.

Algorithms are thin adapters: they read parameters, call one function of the numeric core and
pass it the feedback object (progress, cancellation, messages). Core errors become
QgsProcessingException so the user sees the core's message unchanged.

What every algorithm gets from here (SPEC section 3 and 10):
- help rendered from DESCRIPTION plus one sentence per parameter (`add_parameter`), with the
  defaults read from the parameter definitions, as plain text (qgis_process prints it raw);
- enum parameters accept their option names as well as indices (`METHOD=mean` or `METHOD=0`);
- outputs are checked before anything is written: an output at the path of an input or of
  another output, or with an extension of another format, is refused naming both.
"""

import enum
import os
import re
import time

from qgis.core import (QgsMapLayer, QgsProcessing, QgsProcessingAlgorithm, QgsProcessingException,
                       QgsProcessingOutputLayerDefinition, QgsProcessingUtils, QgsProperty)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .. import compat, dependencies, layers
from ..core.errors import Cancelled, ImperviousnessError
from ..core.io import atomic
from ..steps.spec import option_name
from . import lifecycle, parameters

# By file path: Qt6 has no compiled resources (pyrcc5).
ICON_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "icon.svg")
TIMING_PREFIX = "[step time]"
# Every raster this provider writes is a GeoTIFF (core/io); the first extension is the default.
RASTER_EXTENSIONS = ("tif", "tiff")
# Parameter types whose values name files the algorithm reads.
INPUT_TYPES = ("raster", "layer", "vector", "source", "file", "multilayer")


class Group(enum.Enum):
    """The Toolbox groups, (id, display name), numbered in workflow order."""
    FEATURES = ("features", "1 Features and change mask")
    STATUS = ("status", "2 Status layers")
    AGGREGATION = ("aggregation", "3 Aggregation and change")
    TILES = ("tiles", "4 Many tiles (Dask)")

    @property
    def id(self):
        return self.value[0]

    @property
    def display_name(self):
        return self.value[1]


def real_path(path):
    """A path reduced to one spelling: no '|layername=' suffix, absolute, symlinks resolved."""
    return os.path.realpath(os.path.abspath(os.path.expanduser(str(path).split("|", 1)[0])))


class ImperviousnessAlgorithm(QgsProcessingAlgorithm):
    """Subclasses set STEP (their entry of steps/catalogue.py), DISPLAY_NAME, GROUP (a Group), ATBD,
    SUMMARY and DESCRIPTION. The parameters, their ids (as class constants: `self.INPUT`), enum
    options (`O_METHOD`), defaults and flags all come from STEP."""

    STEP = None
    NAME = ""
    DISPLAY_NAME = ""
    GROUP = None
    ATBD = ""          # the ATBD section(s) the algorithm implements
    SUMMARY = ""       # one line: the Toolbox tooltip and the README's algorithm table
    DESCRIPTION = ""   # the help text above the per-parameter help
    REQUIRES = ()      # import names of the optional packages it cannot run without (dependencies.py)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("STEP")
        if step is None:
            return
        cls.NAME = step.id
        for name in step.names:   # the ids as class constants, as QGIS's own algorithms have them
            setattr(cls, name, name)
        for parameter in step.parameters:   # enum options and their named indices: METHOD_MEAN = 0
            if parameter.kind == "enum":
                setattr(cls, f"O_{parameter.name}", list(parameter.options))
                for index, name in enumerate(parameter.option_names):
                    setattr(cls, f"{parameter.name}_{name.upper()}", index)

    def tr(self, text):
        return QCoreApplication.translate(type(self).__name__, text)

    def name(self):
        return self.NAME

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr(self.DISPLAY_NAME)

    def group(self):
        return self.tr(self.GROUP.display_name)

    def groupId(self):  # noqa: N802 (QGIS API)
        return self.GROUP.id

    def shortDescription(self):  # noqa: N802 (QGIS API)
        summary = self.tr(self.SUMMARY)
        return summary[:1].upper() + summary[1:]

    def icon(self):
        return QIcon(ICON_PATH)

    def createInstance(self):  # noqa: N802 (QGIS API)
        return type(self)()

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        """The parameters and outputs of STEP, in its order (parameters.py builds them)."""
        for parameter in self.STEP.parameters:
            self.addParameter(parameters.definition(parameter, self.tr))
        for item in self.STEP.outputs:
            self.addOutput(parameters.output(item, self.tr))

    # -- help -------------------------------------------------------------------------------------

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return plain_help(self.tr(self.DESCRIPTION), self.parameterDefinitions(), self.tr)

    # -- enum option names ------------------------------------------------------------------------

    def _enum_indices(self, parameters):
        """parameters with every enum value given by option name replaced by its index."""
        converted = dict(parameters)
        for definition in self.parameterDefinitions():
            value = parameters.get(definition.name())
            if definition.type() != "enum" or not isinstance(value, str) or value.strip().isdigit():
                continue
            for index, label in enumerate(definition.options()):
                if value.strip().lower() in (label.lower(), option_name(label).lower()):
                    converted[definition.name()] = index
        return converted

    def parameterAsEnum(self, parameters, name, context):  # noqa: N802 (QGIS API)
        return super().parameterAsEnum(self._enum_indices(parameters), name, context)

    def _enum_problem(self, parameters):
        """A message for an enum value that is neither an index nor an option name, or None."""
        converted = self._enum_indices(parameters)
        for definition in self.parameterDefinitions():
            value = converted.get(definition.name())
            if definition.type() == "enum" and isinstance(value, str) and not value.strip().isdigit():
                names = ", ".join(map(option_name, definition.options()))
                return self.tr("{0}: {1!r} is not an option; give one of {2} or its index 0..{3}.").format(
                    definition.name(), value, names, len(definition.options()) - 1)
        return None

    # -- checks before anything is written --------------------------------------------------------

    def checkParameterValues(self, parameters, context):  # noqa: N802 (QGIS API)
        problem = self._enum_problem(parameters)
        if problem:
            return False, problem
        ok, message = super().checkParameterValues(self._enum_indices(parameters), context)
        if not ok:
            return ok, message
        problem = self.output_problem(parameters, context)
        return (False, problem) if problem else (True, "")

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        self._started = time.perf_counter()
        lifecycle.install()  # qgis_process: signals remove this run's files (after its own SIGINT handler)
        try:
            dependencies.require(self.REQUIRES)
        except dependencies.MissingDependency as error:
            raise QgsProcessingException(str(error)) from None
        # Again here: model children and scripts may run without checkParameterValues.
        problem = self.output_problem(parameters, context)
        if problem:
            raise QgsProcessingException(problem)
        return True

    def output_problem(self, parameters, context):
        """Why the outputs cannot be written as given, or None.

        Refused: an output with an extension of another format (the extension decides the
        format), an output at the path of another output of the run, or of an input (it would
        replace the input). Paths are compared after resolving relative paths and symlinks.
        """
        outputs = {}
        for definition in self.destinationParameterDefinitions():
            path = _destination_path(parameters.get(definition.name()))
            if path is None:
                continue
            problem = self._extension_problem(definition, path)
            if problem:
                return problem
            for other, other_path in outputs.items():
                if real_path(other_path) == real_path(path):
                    return self.tr("{0} and {1} are the same file ({2}); give each output its own path.").format(
                        other, definition.name(), path)
            outputs[definition.name()] = path
        for definition in self.parameterDefinitions():
            if definition.isDestination() or definition.type() not in INPUT_TYPES:
                continue
            for source in self._input_paths(parameters, definition, context):
                for name, path in outputs.items():
                    if real_path(source) == real_path(path):
                        return self.tr("{0} would replace the input {1} ({2}); choose another output path.").format(
                            name, definition.name(), path)
        return None

    def _extension_problem(self, definition, path):
        extension = os.path.splitext(path)[1].lstrip(".").lower()
        if definition.type() == "rasterDestination":
            allowed = RASTER_EXTENSIONS
        elif definition.type() == "fileDestination":
            allowed = tuple(ext.lower() for ext in re.findall(r"\*\.(\w+)", definition.fileFilter()))
        else:
            return None
        if extension and allowed and extension not in allowed:
            return self.tr("{0}: {1} has the extension .{2}; this output is written as {3} only.").format(
                definition.name(), path, extension, ", ".join(f".{ext}" for ext in allowed))
        return None

    def _input_paths(self, parameters, definition, context):
        """The files an input parameter names (layers resolved to their sources)."""
        value = parameters.get(definition.name())
        if value in (None, "") or isinstance(value, QgsProperty):
            return []
        if definition.type() == "file":
            return [path for path in str(value).split(";") if path]
        values = value if isinstance(value, (list, tuple)) else [value]
        if definition.type() == "multilayer" and isinstance(value, str):
            values = value.split(";")
        return [_layer_source(item, context) for item in values if item not in (None, "")]

    # -- running ----------------------------------------------------------------------------------

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 (QGIS API)
        """Reports the step's wall time (the demo and users of models read it from the log)."""
        seconds = time.perf_counter() - getattr(self, "_started", time.perf_counter())
        feedback.pushInfo(f"{TIMING_PREFIX} {self.id()} {seconds:.2f} s")
        layers.attach_post_processors(context)  # in the GUI: HRL names and styles
        return {}

    def raster_path(self, parameters, name, context):
        """The file behind a raster-layer parameter (the core opens it itself, without overviews)."""
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None or not layer.isValid():
            raise QgsProcessingException(
                self.tr(f"{name}: cannot open the raster layer {parameters.get(name)!r}."))
        return layer.source()

    def run_core(self, function, *args, **kwargs):
        """Call a core function, turning its errors into QgsProcessingException; outputs it had
        completed before failing are removed (nothing is left under an output name)."""
        try:
            with atomic.removed_on_error():
                return function(*args, **kwargs)
        except ImperviousnessError as error:
            raise QgsProcessingException(str(error)) from None
        except Cancelled:
            raise QgsProcessingException(self.tr("Cancelled by the user; no output was written.")) from None
        except ModuleNotFoundError as error:  # an optional package a path of the core imports lazily
            if error.name is None or dependencies.is_available(error.name):
                raise
            raise QgsProcessingException(
                dependencies.missing_message([dependencies.dependency_of(error.name)])) from None


def plain_help(description, definitions, tr):
    """The help text: the description, then one line per parameter with its help sentence (or
    its label) and what its definition says about options and default. Plain text: qgis_process
    prints it as is, the dialogs turn each line into a paragraph."""
    lines = [description, "", tr("Parameters:")]
    for definition in definitions:
        sentence = definition.help() or definition.description()
        lines.append(f"- {definition.name()}: {sentence}{_definition_notes(definition, tr)}")
    return "\n".join(lines)


def _definition_notes(definition, tr):
    """' (one of ...; default ...)' or ' (optional)' from the definition itself."""
    notes = []
    if definition.type() == "enum":
        notes.append(tr("one of: ") + ", ".join(map(option_name, definition.options())))
    default = definition.defaultValue()
    if definition.type() == "enum" and default is not None:
        default = option_name(definition.options()[int(default)])
    elif definition.type() == "boolean" and default is not None:
        default = "yes" if default else "no"
    elif definition.type() == "number" and default is not None:
        default = f"{float(default):g}"
    if default not in (None, "") and not definition.isDestination():
        notes.append(tr("default: ") + str(default))
    elif definition.flags() & compat.ProcessingParameterFlag.Optional:
        notes.append(tr("optional"))
    return f" ({'; '.join(notes)})" if notes else ""


def _destination_path(value):
    """The file a destination parameter value names, or None (temporary or not given)."""
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        value = value.sink
    if isinstance(value, QgsProperty):
        value = value.staticValue() if value.propertyType() == compat.PropertyType.Static else None
    if not isinstance(value, str) or value in ("", QgsProcessing.TEMPORARY_OUTPUT):
        return None
    return value


def _layer_source(value, context):
    """The file of a layer value: a path as given, a layer object's or a project layer id's source."""
    if isinstance(value, QgsMapLayer):
        return value.source()
    text = str(value)
    if os.path.exists(text.split("|", 1)[0]):
        return text
    layer = QgsProcessingUtils.mapLayerFromString(text, context)
    return layer.source() if layer is not None else text
