"""imperviousness:aggregate: 10 m to R with the mean, max or mean_change rule (ATBD 4.2.4, SPEC 6)."""

from qgis.core import (QgsProcessingParameterEnum, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer)

from ..core.change.aggregate import DEFAULT_MIN_VALID_FRACTION, METHODS, aggregate_raster
from .base import ImperviousnessAlgorithm

# STYLE choices: (label, core.styles product key; "auto" and None are special).
STYLES = (("Automatic (mean_change: change legend; otherwise the input's colour table)", "auto"),
          ("IMD 0..100 (official HRL palette)", "imd"),
          ("SBU 0..100 (share of built-up)", "sbu"),
          ("CHM at R 0..100 (% of pixels flagged)", "chm_percent"),
          ("Change 0..201 (change + 100)", "change"),
          ("None", None))


class AggregateAlgorithm(ImperviousnessAlgorithm):
    NAME = "aggregate"
    DISPLAY_NAME = "Aggregate to a coarser grid (mean, max, mean_change)"
    GROUP_ID = "aggregation"
    GROUP = "3 Aggregation and change"
    HELP = (
        "Aggregates a 10 m layer to cells of RESOLUTION metres on the grid aligned to whole "
        "multiples of RESOLUTION that covers the input (the ATBD's aggregate_mean, aggregate_max "
        "and aggregate_mean_change, 4.2.4). RESOLUTION must be a whole multiple of the input pixel "
        "size and the input must be aligned to multiples of its pixel size. Overviews are never "
        "read.\n\n"
        "Only valid pixels count: not the nodata value, not NaN, and for Byte inputs never 255 "
        "(the HRL nodata). Pixels of an edge cell outside the input count as not valid.\n\n"
        "<b>mean</b>: mean of the valid pixels; the cell is nodata unless at least "
        "MIN_VALID_FRACTION of its pixels are valid (ceil(fraction x pixels), at least one). Byte "
        "output is rounded half to even (2.5 -> 2, 3.5 -> 4). This rule reproduces the official "
        "HRL IMD 2018 100 m product from the 10 m product exactly.\n"
        "<b>max</b>: the maximum of the valid pixels (touching rule); nodata only when no pixel "
        "is valid.\n"
        "<b>mean_change</b>: the input is a change layer encoded change + 100 with 201 = zero in "
        "both years; 201 counts as 100 (no change), then the mean as above; a cell whose valid "
        "pixels were all 201 is 201.\n\n"
        "<b>SCALE</b> multiplies the values before aggregating (> 0; 1 for mean_change): 100 turns "
        "a 0/1 layer into a percentage, e.g. SBU = mean of IBU x 100 at 100 m, CHM at R.\n\n"
        "<b>Output</b>: Byte input gives Byte (0..254, nodata 255), other inputs Float32 (nodata "
        "NaN). STYLE picks the colour table and the QML style written beside the output.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", self.tr("Input layer (10 m)")))
        self.addParameter(QgsProcessingParameterEnum(
            "METHOD", self.tr("Method"), options=list(METHODS), defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            "RESOLUTION", self.tr("Output resolution R (multiple of the input pixel size)"),
            QgsProcessingParameterNumber.Double, 100.0, minValue=0.001))
        self.addParameter(QgsProcessingParameterNumber(
            "MIN_VALID_FRACTION", self.tr("Minimum fraction of valid pixels per cell (mean rules)"),
            QgsProcessingParameterNumber.Double, DEFAULT_MIN_VALID_FRACTION, minValue=0.0, maxValue=1.0))
        self.addParameter(QgsProcessingParameterNumber(
            "SCALE", self.tr("Scale factor applied before aggregating"),
            QgsProcessingParameterNumber.Double, 1.0, minValue=1e-9))
        self.addParameter(QgsProcessingParameterEnum(
            "STYLE", self.tr("Legend (colour table and QML style)"),
            options=[label for label, _ in STYLES], defaultValue=0))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", self.tr("Aggregated layer")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        layer = self.raster_path(parameters, "INPUT", context)
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        self.run_core(
            aggregate_raster, layer, output,
            self.parameterAsDouble(parameters, "RESOLUTION", context),
            method=METHODS[self.parameterAsEnum(parameters, "METHOD", context)],
            min_valid_fraction=self.parameterAsDouble(parameters, "MIN_VALID_FRACTION", context),
            scale=self.parameterAsDouble(parameters, "SCALE", context),
            product=STYLES[self.parameterAsEnum(parameters, "STYLE", context)][1],
            feedback=feedback)
        return {"OUTPUT": output}
