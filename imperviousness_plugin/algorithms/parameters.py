"""The one place where catalogue entries (steps/spec.py) become QgsProcessingParameter* objects.

Each kind of the catalogue maps to one QGIS parameter class; QGIS enums are taken by their
scoped names through compat.py (one code base for QGIS 3.22 to 4). Enum defaults are given by
option name in the catalogue and stored by index here, as QGIS wants them.
"""

from qgis.core import (QgsProcessingOutputFile, QgsProcessingOutputFolder, QgsProcessingOutputMultipleLayers,
                       QgsProcessingOutputNumber,
                       QgsProcessingParameterBoolean, QgsProcessingParameterCrs,
                       QgsProcessingParameterDateTime, QgsProcessingParameterEnum,
                       QgsProcessingParameterExtent, QgsProcessingParameterFile,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterFolderDestination,
                       QgsProcessingParameterMapLayer, QgsProcessingParameterMultipleLayers,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterString)

from ..compat import (ProcessingDateTimeParameterDataType, ProcessingFileParameterBehavior,
                      ProcessingNumberParameterType, ProcessingParameterFlag, ProcessingSourceType)

_LAYER_TYPES = {"raster": ProcessingSourceType.Raster, "polygon": ProcessingSourceType.VectorPolygon}
_OUTPUTS = {"number": QgsProcessingOutputNumber, "folder": QgsProcessingOutputFolder,
            "file": QgsProcessingOutputFile, "layers": QgsProcessingOutputMultipleLayers}


def _number(parameter, tr, number_type):
    limits = {}
    if parameter.minimum is not None:
        limits["minValue"] = parameter.minimum
    if parameter.maximum is not None:
        limits["maxValue"] = parameter.maximum
    return QgsProcessingParameterNumber(parameter.name, tr(parameter.label), number_type, parameter.default,
                                        optional=parameter.optional, **limits)


def _file(parameter, tr, behavior):
    return QgsProcessingParameterFile(parameter.name, tr(parameter.label), behavior=behavior,
                                      extension=parameter.extension, defaultValue=parameter.default,
                                      optional=parameter.optional,
                                      fileFilter=tr(parameter.file_filter) if parameter.file_filter else "")


def _destination(cls, parameter, tr, **kwargs):
    # An optional output is not written unless asked for.
    return cls(parameter.name, tr(parameter.label), optional=parameter.optional,
               createByDefault=not parameter.optional, **kwargs)


_BUILDERS = {
    "raster": lambda p, tr: QgsProcessingParameterRasterLayer(p.name, tr(p.label), optional=p.optional),
    "layer": lambda p, tr: QgsProcessingParameterMapLayer(
        p.name, tr(p.label), optional=p.optional, types=[_LAYER_TYPES[kind] for kind in p.layer_types]),
    "file": lambda p, tr: _file(p, tr, ProcessingFileParameterBehavior.File),
    "folder": lambda p, tr: _file(p, tr, ProcessingFileParameterBehavior.Folder),
    "files": lambda p, tr: QgsProcessingParameterMultipleLayers(
        p.name, tr(p.label), ProcessingSourceType.File, optional=p.optional),
    "rasters": lambda p, tr: QgsProcessingParameterMultipleLayers(
        p.name, tr(p.label), ProcessingSourceType.Raster, optional=p.optional),
    "number": lambda p, tr: _number(p, tr, ProcessingNumberParameterType.Double),
    "integer": lambda p, tr: _number(p, tr, ProcessingNumberParameterType.Integer),
    "enum": lambda p, tr: QgsProcessingParameterEnum(
        p.name, tr(p.label), options=list(p.options), optional=p.optional,
        defaultValue=None if p.default is None else p.index(p.default)),
    "boolean": lambda p, tr: QgsProcessingParameterBoolean(p.name, tr(p.label), p.default, optional=p.optional),
    "string": lambda p, tr: QgsProcessingParameterString(p.name, tr(p.label), p.default, optional=p.optional),
    "crs": lambda p, tr: QgsProcessingParameterCrs(p.name, tr(p.label), p.default, optional=p.optional),
    "extent": lambda p, tr: QgsProcessingParameterExtent(p.name, tr(p.label), p.default, optional=p.optional),
    "date": lambda p, tr: QgsProcessingParameterDateTime(
        p.name, tr(p.label), type=ProcessingDateTimeParameterDataType.Date, optional=p.optional),
    "raster_out": lambda p, tr: _destination(QgsProcessingParameterRasterDestination, p, tr),
    "file_out": lambda p, tr: _destination(QgsProcessingParameterFileDestination, p, tr,
                                           fileFilter=tr(p.file_filter)),
    "folder_out": lambda p, tr: _destination(QgsProcessingParameterFolderDestination, p, tr),
}


def definition(parameter, tr):
    """The QgsProcessingParameterDefinition of a catalogue parameter, with its help and flags."""
    built = _BUILDERS[parameter.kind](parameter, tr)
    built.setHelp(tr(parameter.help))
    if parameter.advanced:
        built.setFlags(built.flags() | ProcessingParameterFlag.Advanced)
    return built


def output(item, tr):
    """The QgsProcessingOutputDefinition of a catalogue output."""
    return _OUTPUTS[item.kind](item.name, tr(item.label))
