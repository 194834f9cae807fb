"""imperviousness:builtup: IBU = RIBUD >= THRESHOLD (ATBD 4.4.2, SPEC 8)."""

from ..core.status.builtup import run_builtup
from ..steps import catalogue
from .base import Group, ImperviousnessAlgorithm


class BuiltupAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.BUILTUP
    DISPLAY_NAME = "Built-up (IBU) from RIBUD"
    GROUP = Group.STATUS
    ATBD = "4.4.2"
    SUMMARY = "IBU = RIBUD >= THRESHOLD (10 %)"
    DESCRIPTION = (
        "The built-up layer IBU from the raw built-up density RIBUD (ATBD 4.4.2): a pixel is "
        "built-up when its density is at least THRESHOLD percent (default 10).\n\n"
        "Input: RIBUD, Byte density 0..100 (percent), 255 (or the declared nodata) = "
        "nodata. Other values are refused.\n"
        "Output: IBU, Byte 1 = built-up (RIBUD >= THRESHOLD), 0 = not built-up, 255 = "
        "nodata, on the input grid, with the IBU colour table and QML style.")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        self.run_core(run_builtup, self.raster_path(parameters, self.INPUT, context), output,
                      threshold=self.parameterAsDouble(parameters, self.THRESHOLD, context),
                      feedback=feedback)
        return {self.OUTPUT: output}
