"""imperviousness:rmsd: RMSD_A_B between two years' fitted NDVI curves (ATBD 4.2.2)."""

from qgis.core import (QgsProcessingParameterEnum, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer)

from ..core.features.rmsd import DEFAULT_METHOD, METHODS, run_rmsd
from .base import ImperviousnessAlgorithm


class RmsdAlgorithm(ImperviousnessAlgorithm):
    NAME = "rmsd"
    DISPLAY_NAME = "RMSD between two years' NDVI models (RMSD_A_B)"
    GROUP_ID = "features"
    GROUP = "1 Features and change mask"
    HELP = (
        "Per pixel, the difference between the NDVI time-series models of two years (ATBD 4.2.2), "
        "the input of the change mask.\n\n"
        "<b>Inputs</b>: two PP stacks written by imperviousness:preprocess (year A and year B) on "
        "the same grid and with the same NDVI model order. The coefficient bands are found by "
        "their descriptions (NDVI_P0 .. NDVI_PN, NDVI_A1, NDVI_PHI1 .. NDVI_AN, NDVI_PHIN).\n\n"
        "<b>Method</b>: <i>curve</i> (default) is the exact root mean square of the difference "
        "of the two fitted curves over the whole year, sqrt(integral of (f_B - f_A)^2 over the "
        "year), computed from the coefficients through the Gram matrix of the model's basis "
        "(Legendre polynomials and harmonics are not orthogonal to each other, so all cross terms "
        "are included). <i>euclidean</i> is the ATBD's simplified Euclidean distance of the "
        "coefficients, taken on the linear coefficients p_k, c_k = a_k sin(phi_k), "
        "s_k = a_k cos(phi_k): on amplitude and phase it would be distorted by the phase "
        "wrapping around at +-pi and by meaningless phases of near-zero amplitudes. It ignores "
        "that the basis functions overlap (P_2 and cos(2 pi tau) correlate at 0.96 over the "
        "year), so two fits of nearly the same curve can differ a lot in coefficients; "
        "<i>curve</i> is recommended (on the project's synthetic sample only <i>curve</i> finds "
        "the changes).\n\n"
        "<b>Output</b>: Float32 RMSD >= 0 in NDVI units, NaN (no data) where a coefficient of "
        "either year is missing.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT_A", self.tr("PP stack of year A")))
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT_B", self.tr("PP stack of year B")))
        self.addParameter(QgsProcessingParameterEnum(
            "METHOD", self.tr("Method"), options=list(METHODS), defaultValue=DEFAULT_METHOD,
            usesStaticStrings=True))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", self.tr("RMSD")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        input_a = self.raster_path(parameters, "INPUT_A", context)
        input_b = self.raster_path(parameters, "INPUT_B", context)
        method = self.parameterAsEnumString(parameters, "METHOD", context)
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        self.run_core(run_rmsd, input_a, input_b, output, method, feedback)
        return {"OUTPUT": output}
