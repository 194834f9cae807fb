"""imperviousness:classifychange: the change classes (ATBD 4.5.2, SPEC 7)."""

from ..core.change.layers import run_classify_change
from ..steps import catalogue
from .base import Group, ImperviousnessAlgorithm


class ClassifyChangeAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.CLASSIFYCHANGE
    DISPLAY_NAME = "Classify change (ATBD Table 5)"
    GROUP = Group.AGGREGATION
    ATBD = "4.5.2"
    SUMMARY = "Table 5 classes (IMCC, IBUC, SBCC and their S layers)"
    DESCRIPTION = (
        "Classifies a change layer at R (the ATBD's Classify_change, 4.5.2, Table 5): IMCC and "
        "IMCCS from IMDC/IMDCS, IBUC(S) from IBUDC(S), SBCC(S) from SBUC(S).\n\n"
        "Inputs: STATUS_A, the year-A status at 10 m (aggregated to R with the mean rule and "
        "MIN_VALID_FRACTION, rounded half to even) or already at R; CHANGE, a change layer at R "
        "encoded change + 100, 201 = zero in both years, 255 = nodata. With BINARY_STATUS a 0/1 "
        "status counts as 0/100 %. The output is on the grid of CHANGE.\n\n"
        "Classes, with A the status at R and after = A + change clamped to 0..100 (rounding "
        "can push the sum a little outside the percentage range):\n"
        "0 unchanged, no imperviousness (A = 0, after = 0; also every 201 change cell)\n"
        "1 new cover (A = 0, after > 0)\n"
        "2 loss of cover (A > 0, after = 0)\n"
        "10 unchanged imperviousness (A > 0, after = A)\n"
        "11 increased imperviousness (A > 0, after > A)\n"
        "12 decreased imperviousness (A > 0, 0 < after < A)\n"
        "255 nodata (change or status nodata).")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        self.run_core(
            run_classify_change,
            self.raster_path(parameters, self.STATUS_A, context),
            self.raster_path(parameters, self.CHANGE, context), output,
            binary_status=self.parameterAsBoolean(parameters, self.BINARY_STATUS, context),
            min_valid_fraction=self.parameterAsDouble(parameters, self.MIN_VALID_FRACTION, context),
            feedback=feedback)
        return {self.OUTPUT: output}
