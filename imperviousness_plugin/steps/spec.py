"""What a step of the provider is, without QGIS: its parameters, outputs and core function.

Processing's own `QgsProcessingAlgorithm.parameterDefinitions()` moved below QGIS (STYLE.md 1),
so that the Processing adapters (algorithms/), the model graphs (graph.py), the model builder
(tools/build_models.py) and the tile runner's Dask workers (runner/) read one definition. A
parameter's id, default, unit and enum options are written here and nowhere else: the others
refer to them as attributes (`AGGREGATE.RESOLUTION` is "RESOLUTION"; a typo fails on import).

Enum options are (name, label) pairs with named indices (EnMAP-Box's O_FUNCTION, STYLE.md 2):
graphs and scripts give the option name ("mean"), the .model3 stores the index the catalogue
derives from the name, so reordering options cannot silently change a model.
"""

import importlib
from dataclasses import dataclass, field

# Parameter kinds (the factory in algorithms/parameters.py maps each to a QgsProcessingParameter*).
INPUT_KINDS = ("raster", "layer", "file", "folder", "files", "rasters", "number", "integer", "enum",
               "boolean", "string", "crs", "extent", "date")
DESTINATION_KINDS = ("raster_out", "file_out", "folder_out")
OUTPUT_KINDS = ("number", "folder", "file", "layers")   # results that are not destination parameters


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str
    label: str
    help: str
    default: object = None
    optional: bool = False
    advanced: bool = False
    unit: str = ""               # the unit of a number ("m", "%", "px"), for the docs
    minimum: float = None
    maximum: float = None
    options: tuple = ()          # enum: the option labels; option_name(label) names an option
    extension: str = ""          # file: the one extension accepted ("json")
    file_filter: str = ""        # file_out: "JSON files (*.json)"
    layer_types: tuple = ()      # layer: ("raster", "polygon"); empty: any layer

    def __post_init__(self):
        if self.kind not in INPUT_KINDS + DESTINATION_KINDS:
            raise ValueError(f"{self.name}: unknown parameter kind {self.kind!r}")
        if self.kind == "enum" and self.default is not None and self.default not in self.option_names:
            raise ValueError(f"{self.name}: default {self.default!r} is not one of {self.option_names}")

    @property
    def is_destination(self):
        return self.kind in DESTINATION_KINDS

    @property
    def option_names(self):
        return [option_name(label) for label in self.options]

    def index(self, name):
        """The index of the enum option `name` (what a .model3 or QGIS stores)."""
        try:
            return self.option_names.index(name)
        except ValueError:
            raise ValueError(f"{self.name}: {name!r} is not one of {self.option_names}") from None

    def option(self, value):
        """The option name of an enum value given by name or index (None: the default)."""
        if value in (None, ""):
            return self.default
        if isinstance(value, int) or str(value).strip().isdigit():
            return self.option_names[int(value)]
        return self.option_names[self.index(str(value).strip())]


@dataclass(frozen=True)
class Output:
    """A result that is not a destination parameter (a number, a folder, a file)."""
    name: str
    kind: str
    label: str

    def __post_init__(self):
        if self.kind not in OUTPUT_KINDS:
            raise ValueError(f"{self.name}: unknown output kind {self.kind!r}")


@dataclass(frozen=True)
class Step:
    """An algorithm of the provider: id, parameters in dialog order, outputs, and the core
    function it calls ("package.module:function" below imperviousness_plugin, imported lazily
    so that reading the catalogue imports no optional package)."""

    id: str
    parameters: tuple
    outputs: tuple = ()
    core: str = ""
    names: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        names = {}
        for item in self.parameters + self.outputs:
            if item.name in names and not (isinstance(item, Output) and item.kind == "folder"):
                raise ValueError(f"{self.id}: {item.name} is defined twice")
            names[item.name] = item
        object.__setattr__(self, "names", names)

    def __getattr__(self, name):
        # STEP.INPUT -> "INPUT": parameter and output ids as checked attributes.
        names = self.__dict__.get("names", {})
        if name.isupper() and name in names:
            return name
        raise AttributeError(f"imperviousness:{self.__dict__.get('id')} has no parameter or output {name}")

    def parameter(self, name):
        try:
            return next(parameter for parameter in self.parameters if parameter.name == name)
        except StopIteration:
            raise KeyError(f"imperviousness:{self.id} has no parameter {name}") from None

    def default(self, name):
        return self.parameter(name).default

    @property
    def destinations(self):
        return [parameter for parameter in self.parameters if parameter.is_destination]

    def core_function(self):
        module, function = self.core.split(":")
        return getattr(importlib.import_module(f"imperviousness_plugin.{module}"), function)

    def values(self, given):
        """Plain values of every input parameter: `given` (a dict of plain Python values, as the
        graph and the tile runner hold them) with the catalogue's default for what is missing or
        empty, numbers as float/int and enums by option name."""
        values = {}
        for parameter in self.parameters:
            if parameter.is_destination:
                continue
            value = given.get(parameter.name)
            if value in (None, ""):
                value = parameter.default
            elif parameter.kind == "number":
                value = float(value)
            elif parameter.kind == "integer":
                value = int(float(value))
            elif parameter.kind == "boolean":
                value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            elif parameter.kind == "enum":
                value = parameter.option(value)
            values[parameter.name] = value
        return values


def option_name(label):
    """The name of an enum option: its label up to a parenthesised explanation ("imd (...)" -> "imd")."""
    return label.split(" (", 1)[0].strip()


# -- constructors, one per kind (the catalogue reads like the dialogs) ---------------------------

def _kind(kind):
    def make(name, label, help_text, **kwargs):
        return Parameter(name, kind, label, help_text, **kwargs)
    make.__name__ = kind
    return make


raster, layer, file, folder, files, rasters = map(_kind, ("raster", "layer", "file", "folder", "files", "rasters"))
number, integer, enum, boolean, string = map(_kind, ("number", "integer", "enum", "boolean", "string"))
crs, extent, date = map(_kind, ("crs", "extent", "date"))
raster_out, file_out, folder_out = map(_kind, ("raster_out", "file_out", "folder_out"))
