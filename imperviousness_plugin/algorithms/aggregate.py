"""imperviousness:aggregate: 10 m to R with the mean, max or mean_change rule (ATBD 4.2.4, SPEC 6)."""

from qgis.core import (QgsProcessingParameterEnum, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer)

from .. import compat
from ..core.change.aggregate import DEFAULT_MIN_VALID_FRACTION, METHODS, aggregate_raster
from .base import Group, ImperviousnessAlgorithm, option_name


class AggregateAlgorithm(ImperviousnessAlgorithm):
    NAME = "aggregate"
    DISPLAY_NAME = "Aggregate to a coarser grid (mean, max, mean_change)"
    GROUP = Group.AGGREGATION
    ATBD = "4.2.4"
    SUMMARY = ("mean / max / mean_change from 10 m to R on the R-aligned grid "
               "(IMD 100 m, SBU, CHM at R)")
    DESCRIPTION = (
        "Aggregates a 10 m layer to cells of RESOLUTION metres on the grid aligned to whole "
        "multiples of RESOLUTION that covers the input (the ATBD's aggregate_mean, aggregate_max "
        "and aggregate_mean_change, 4.2.4). RESOLUTION must be a whole multiple of the input pixel "
        "size and the input must be aligned to multiples of its pixel size. Overviews are never "
        "read.\n\n"
        "Only valid pixels count: not the nodata value, not NaN, and for Byte inputs never 255 "
        "(the HRL nodata). Pixels of an edge cell outside the input count as not valid.\n\n"
        "mean: mean of the valid pixels; the cell is nodata unless at least "
        "MIN_VALID_FRACTION of its pixels are valid (ceil(fraction x pixels), at least one). Byte "
        "output is rounded half to even (2.5 -> 2, 3.5 -> 4). This rule reproduces the official "
        "HRL IMD 2018 100 m product from the 10 m product exactly.\n"
        "max: the maximum of the valid pixels (touching rule); nodata only when no pixel "
        "is valid.\n"
        "mean_change: the input is a change layer encoded change + 100 with 201 = zero in "
        "both years; 201 counts as 100 (no change), then the mean as above; a cell whose valid "
        "pixels were all 201 is 201.\n\n"
        "Output: Byte input gives Byte (0..254, nodata 255), other inputs Float32 (nodata "
        "NaN).")

    INPUT = "INPUT"
    METHOD = "METHOD"
    RESOLUTION = "RESOLUTION"
    MIN_VALID_FRACTION = "MIN_VALID_FRACTION"
    SCALE = "SCALE"
    ADVANCED = (MIN_VALID_FRACTION, SCALE)
    STYLE = "STYLE"
    OUTPUT = "OUTPUT"

    O_METHOD = list(METHODS)
    MEAN, MAX, MEAN_CHANGE = range(len(O_METHOD))
    # STYLE options: "<core.styles product key> (explanation)"; "auto" and "none" are special.
    O_STYLE = ["auto (mean_change: change legend; otherwise the input's colour table)",
               "imd (IMD 0..100, official HRL palette)",
               "sbu (SBU 0..100, share of built-up)",
               "chm_percent (CHM at R 0..100, % of pixels flagged)",
               "change (change 0..201, change + 100)",
               "none"]
    STYLE_AUTO, STYLE_IMD, STYLE_SBU, STYLE_CHM, STYLE_CHANGE, STYLE_NONE = range(len(O_STYLE))

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.add_parameter(
            QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input layer (10 m)")),
            self.tr("The layer to aggregate, aligned to multiples of its pixel size."))
        self.add_parameter(
            QgsProcessingParameterEnum(self.METHOD, self.tr("Method"), options=self.O_METHOD,
                                       defaultValue=self.MEAN),
            self.tr("The aggregation rule, described above."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.RESOLUTION, self.tr("Output resolution R (metres, multiple of the input pixel size)"),
                compat.ProcessingNumberParameterType.Double, 100.0, minValue=0.001),
            self.tr("The output cell size in metres, a whole multiple of the input pixel size."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.MIN_VALID_FRACTION, self.tr("Minimum fraction of valid pixels per cell (0..1, mean rules)"),
                compat.ProcessingNumberParameterType.Double, DEFAULT_MIN_VALID_FRACTION, minValue=0.0, maxValue=1.0),
            self.tr("The share of valid pixels a cell needs under the mean rules, else it is nodata."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.SCALE, self.tr("Scale factor applied before aggregating"),
                compat.ProcessingNumberParameterType.Double, 1.0, minValue=1e-9),
            self.tr("Multiplies the values before aggregating (> 0; 1 for mean_change): 100 turns a "
                    "0/1 layer into a percentage, e.g. SBU = mean of IBU x 100 at 100 m, CHM at R."))
        self.add_parameter(
            QgsProcessingParameterEnum(self.STYLE, self.tr("Legend (colour table and QML style)"),
                                       options=self.O_STYLE, defaultValue=self.STYLE_AUTO),
            self.tr("The colour table and the QML style written beside the output."))
        self.add_parameter(
            QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Aggregated layer")),
            self.tr("The aggregated GeoTIFF."))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        layer = self.raster_path(parameters, self.INPUT, context)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        style = option_name(self.O_STYLE[self.parameterAsEnum(parameters, self.STYLE, context)])
        self.run_core(
            aggregate_raster, layer, output,
            self.parameterAsDouble(parameters, self.RESOLUTION, context),
            method=self.O_METHOD[self.parameterAsEnum(parameters, self.METHOD, context)],
            min_valid_fraction=self.parameterAsDouble(parameters, self.MIN_VALID_FRACTION, context),
            scale=self.parameterAsDouble(parameters, self.SCALE, context),
            product=None if style == "none" else style,
            feedback=feedback)
        return {self.OUTPUT: output}
