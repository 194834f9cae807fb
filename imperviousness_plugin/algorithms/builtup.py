"""imperviousness:builtup: IBU = RIBUD >= THRESHOLD (ATBD 4.4.2, SPEC 8)."""

from qgis.core import (QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer)

from ..core.change.layers import DEFAULT_BUILTUP_THRESHOLD, run_builtup
from .base import ImperviousnessAlgorithm


class BuiltupAlgorithm(ImperviousnessAlgorithm):
    NAME = "builtup"
    DISPLAY_NAME = "Built-up (IBU) from RIBUD"
    GROUP_ID = "status"
    GROUP = "2 Status layers"
    HELP = (
        "The built-up layer IBU from the raw built-up density RIBUD (ATBD 4.4.2): a pixel is "
        "built-up when its density is at least THRESHOLD percent (default 10).\n\n"
        "<b>Input</b>: RIBUD, Byte density 0..100 (percent), 255 (or the declared nodata) = "
        "nodata. Other values are refused.\n"
        "<b>Output</b>: IBU, Byte 1 = built-up (RIBUD >= THRESHOLD), 0 = not built-up, 255 = "
        "nodata, on the input grid, with the IBU colour table and QML style.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", self.tr("RIBUD (density 0..100)")))
        self.addParameter(QgsProcessingParameterNumber(
            "THRESHOLD", self.tr("Threshold (percent; built-up when RIBUD >= threshold)"),
            QgsProcessingParameterNumber.Double, DEFAULT_BUILTUP_THRESHOLD, minValue=0.0, maxValue=100.0))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", self.tr("IBU")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        self.run_core(run_builtup, self.raster_path(parameters, "INPUT", context), output,
                      threshold=self.parameterAsDouble(parameters, "THRESHOLD", context),
                      feedback=feedback)
        return {"OUTPUT": output}
