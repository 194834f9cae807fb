"""imperviousness:aggregate: 10 m to R with the mean, max or mean_change rule (ATBD 4.2.4, SPEC 6)."""

from ..core.change.aggregate import aggregate_raster
from ..steps import catalogue
from .base import Group, ImperviousnessAlgorithm, option_name


class AggregateAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.AGGREGATE
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
