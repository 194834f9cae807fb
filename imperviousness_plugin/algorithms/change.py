"""imperviousness:changecontinuous and imperviousness:classifychange (ATBD 4.5.1, 4.5.2, SPEC 7)."""

from qgis.core import (QgsProcessingParameterBoolean, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer)

from ..core.change.aggregate import DEFAULT_MIN_VALID_FRACTION
from ..core.change.layers import (DEFAULT_CHANGE_RESOLUTION, DEFAULT_LOSS_FACTOR, run_change_continuous,
                           run_classify_change)
from .base import ImperviousnessAlgorithm

ENCODING_HELP = (
    "<b>Encoding</b> of every change layer: change in percentage points + 100 (0 = -100, "
    "100 = no change, 200 = +100), 201 = zero in both years, 255 = nodata.")


class ChangeContinuousAlgorithm(ImperviousnessAlgorithm):
    NAME = "changecontinuous"
    DISPLAY_NAME = "Continuous change layers (real and support change)"
    GROUP_ID = "aggregation"
    GROUP = "3 Aggregation and change"
    HELP = (
        "Change between two status layers at 10 m, aggregated to RESOLUTION (the ATBD's "
        "change_continuous, 4.5.1): IMDC/IMDCS at 20 m and 100 m from IMD, IBUDC at 20 m and SBUC "
        "at 100 m from IBU (BINARY_STATUS).\n\n" + ENCODING_HELP + "\n\n"
        "<b>Per 10 m pixel</b>: status in percent (IMD 0..100; with BINARY_STATUS a 0/1 layer "
        "counts as 0/100); d = B - A, encoded d + 100; 201 where A = B = 0; nodata where A, B or "
        "the change mask is nodata.\n"
        "<b>Total change</b> (OUTPUT_TOTAL, optional): the mean_change aggregate of that layer "
        "(201 counts as 100; a cell of only 201 is 201; nodata unless MIN_VALID_FRACTION of the "
        "cell is valid; rounded half to even).\n"
        "<b>Real change</b> (OUTPUT): per pixel d where CHANGE_MASK = 1, but a decrease counts only "
        "when it is at least LOSS_FACTOR (default 10) percentage points, the ATBD's sensitivity "
        "for losses reduced by a factor of 10; otherwise 0. Then the mean over the same valid "
        "pixels, rounded half to even.\n"
        "<b>Support change</b> (OUTPUT_SUPPORT): total - real, so real + support = total on every "
        "cell; 201 and nodata where the total is.\n\n"
        "<b>Grids</b>: the three inputs must share CRS and pixel size and be aligned to whole "
        "multiples of the pixel size; their extents may differ, and the output covers their "
        "overlap on cells aligned to multiples of RESOLUTION.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterRasterLayer("STATUS_A", self.tr("Status of year A (10 m)")))
        self.addParameter(QgsProcessingParameterRasterLayer("STATUS_B", self.tr("Status of year B (10 m)")))
        self.addParameter(QgsProcessingParameterRasterLayer(
            "CHANGE_MASK", self.tr("Change mask CHM (10 m, 0/1)")))
        self.addParameter(QgsProcessingParameterNumber(
            "RESOLUTION", self.tr("Output resolution R"), QgsProcessingParameterNumber.Double,
            float(DEFAULT_CHANGE_RESOLUTION), minValue=0.001))
        self.addParameter(QgsProcessingParameterBoolean(
            "BINARY_STATUS", self.tr("Status layers are binary 0/1 (IBU): count as 0/100 %"), False))
        self.addParameter(QgsProcessingParameterNumber(
            "LOSS_FACTOR", self.tr("Loss factor (smallest real decrease, percentage points)"),
            QgsProcessingParameterNumber.Double, DEFAULT_LOSS_FACTOR, minValue=0.0))
        self.addParameter(QgsProcessingParameterNumber(
            "MIN_VALID_FRACTION", self.tr("Minimum fraction of valid pixels per cell"),
            QgsProcessingParameterNumber.Double, DEFAULT_MIN_VALID_FRACTION, minValue=0.0, maxValue=1.0))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", self.tr("Real change")))
        self.addParameter(QgsProcessingParameterRasterDestination(
            "OUTPUT_SUPPORT", self.tr("Support change")))
        self.addParameter(QgsProcessingParameterRasterDestination(
            "OUTPUT_TOTAL", self.tr("Total change"), optional=True, createByDefault=False))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        outputs = {"OUTPUT": self.parameterAsOutputLayer(parameters, "OUTPUT", context),
                   "OUTPUT_SUPPORT": self.parameterAsOutputLayer(parameters, "OUTPUT_SUPPORT", context)}
        total = self.parameterAsOutputLayer(parameters, "OUTPUT_TOTAL", context) \
            if parameters.get("OUTPUT_TOTAL") else None
        self.run_core(
            run_change_continuous,
            self.raster_path(parameters, "STATUS_A", context),
            self.raster_path(parameters, "STATUS_B", context),
            self.raster_path(parameters, "CHANGE_MASK", context),
            outputs["OUTPUT"], outputs["OUTPUT_SUPPORT"],
            resolution=self.parameterAsDouble(parameters, "RESOLUTION", context),
            binary_status=self.parameterAsBoolean(parameters, "BINARY_STATUS", context),
            loss_factor=self.parameterAsDouble(parameters, "LOSS_FACTOR", context),
            min_valid_fraction=self.parameterAsDouble(parameters, "MIN_VALID_FRACTION", context),
            output_total=total or None, feedback=feedback)
        if total:
            outputs["OUTPUT_TOTAL"] = total
        return outputs


class ClassifyChangeAlgorithm(ImperviousnessAlgorithm):
    NAME = "classifychange"
    DISPLAY_NAME = "Classify change (ATBD Table 5)"
    GROUP_ID = "aggregation"
    GROUP = "3 Aggregation and change"
    HELP = (
        "Classifies a change layer at R (the ATBD's Classify_change, 4.5.2, Table 5): IMCC and "
        "IMCCS from IMDC/IMDCS, IBUC(S) from IBUDC(S), SBCC(S) from SBUC(S).\n\n"
        "<b>Inputs</b>: STATUS_A, the year-A status at 10 m (aggregated to R with the mean rule and "
        "MIN_VALID_FRACTION, rounded half to even) or already at R; CHANGE, a change layer at R "
        "encoded change + 100, 201 = zero in both years, 255 = nodata. With BINARY_STATUS a 0/1 "
        "status counts as 0/100 %. The output is on the grid of CHANGE.\n\n"
        "<b>Classes</b>, with A the status at R and after = A + change clamped to 0..100 (rounding "
        "can push the sum a little outside the percentage range):\n"
        "0 unchanged, no imperviousness (A = 0, after = 0; also every 201 change cell)\n"
        "1 new cover (A = 0, after > 0)\n"
        "2 loss of cover (A > 0, after = 0)\n"
        "10 unchanged imperviousness (A > 0, after = A)\n"
        "11 increased imperviousness (A > 0, after > A)\n"
        "12 decreased imperviousness (A > 0, 0 < after < A)\n"
        "255 nodata (change or status nodata).")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterRasterLayer(
            "STATUS_A", self.tr("Status of year A (10 m or at R)")))
        self.addParameter(QgsProcessingParameterRasterLayer(
            "CHANGE", self.tr("Change layer at R (change + 100, 201 = zero in both years)")))
        self.addParameter(QgsProcessingParameterBoolean(
            "BINARY_STATUS", self.tr("Status is binary 0/1 (IBU): count as 0/100 %"), False))
        self.addParameter(QgsProcessingParameterNumber(
            "MIN_VALID_FRACTION", self.tr("Minimum fraction of valid status pixels per cell"),
            QgsProcessingParameterNumber.Double, DEFAULT_MIN_VALID_FRACTION, minValue=0.0, maxValue=1.0))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", self.tr("Change classes")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        self.run_core(
            run_classify_change,
            self.raster_path(parameters, "STATUS_A", context),
            self.raster_path(parameters, "CHANGE", context), output,
            binary_status=self.parameterAsBoolean(parameters, "BINARY_STATUS", context),
            min_valid_fraction=self.parameterAsDouble(parameters, "MIN_VALID_FRACTION", context),
            feedback=feedback)
        return {"OUTPUT": output}
