"""imperviousness:changecontinuous: the continuous change layers and their support (ATBD 4.5.1, SPEC 7)."""

from ..core.change.layers import run_change_continuous
from ..steps import catalogue
from .base import Group, ImperviousnessAlgorithm

ENCODING_HELP = (
    "Encoding of every change layer: change in percentage points + 100 (0 = -100, "
    "100 = no change, 200 = +100), 201 = zero in both years, 255 = nodata.")


class ChangeContinuousAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.CHANGECONTINUOUS
    DISPLAY_NAME = "Continuous change layers (real and support change)"
    GROUP = Group.AGGREGATION
    ATBD = "4.5.1"
    SUMMARY = "real and support (technical) change at R, real + support = total exactly"
    DESCRIPTION = (
        "Change between two status layers at 10 m, aggregated to RESOLUTION (the ATBD's "
        "change_continuous, 4.5.1): IMDC/IMDCS at 20 m and 100 m from IMD, IBUDC at 20 m and SBUC "
        "at 100 m from IBU (BINARY_STATUS).\n\n" + ENCODING_HELP + "\n\n"
        "Per 10 m pixel: status in percent (IMD 0..100; with BINARY_STATUS a 0/1 layer "
        "counts as 0/100); d = B - A, encoded d + 100; 201 where A = B = 0; nodata where A, B or "
        "the change mask is nodata.\n"
        "Total change (OUTPUT_TOTAL, optional): the mean_change aggregate of that layer "
        "(201 counts as 100; a cell of only 201 is 201; nodata unless MIN_VALID_FRACTION of the "
        "cell is valid; rounded half to even).\n"
        "Real change (OUTPUT): per pixel d where CHANGE_MASK = 1, but a decrease counts only "
        "when it is at least LOSS_FACTOR (default 10) percentage points, the ATBD's sensitivity "
        "for losses reduced by a factor of 10; otherwise 0. Then the mean over the same valid "
        "pixels, rounded half to even.\n"
        "Support change (OUTPUT_SUPPORT): total - real, so real + support = total on every "
        "cell; 201 and nodata where the total is.\n\n"
        "Grids: the three inputs must share CRS and pixel size and be aligned to whole "
        "multiples of the pixel size; their extents may differ, and the output covers their "
        "overlap on cells aligned to multiples of RESOLUTION.")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        outputs = {name: self.parameterAsOutputLayer(parameters, name, context)
                   for name in (self.OUTPUT, self.OUTPUT_SUPPORT)}
        total = self.parameterAsOutputLayer(parameters, self.OUTPUT_TOTAL, context) \
            if parameters.get(self.OUTPUT_TOTAL) else None
        self.run_core(
            run_change_continuous,
            self.raster_path(parameters, self.STATUS_A, context),
            self.raster_path(parameters, self.STATUS_B, context),
            self.raster_path(parameters, self.CHANGE_MASK, context),
            outputs[self.OUTPUT], outputs[self.OUTPUT_SUPPORT],
            resolution=self.parameterAsDouble(parameters, self.RESOLUTION, context),
            binary_status=self.parameterAsBoolean(parameters, self.BINARY_STATUS, context),
            loss_factor=self.parameterAsDouble(parameters, self.LOSS_FACTOR, context),
            min_valid_fraction=self.parameterAsDouble(parameters, self.MIN_VALID_FRACTION, context),
            output_total=total or None, feedback=feedback)
        if total:
            outputs[self.OUTPUT_TOTAL] = total
        return outputs
