"""imperviousness:rmsd: RMSD_A_B between two years' fitted NDVI curves (ATBD 4.2.2)."""

from ..core.features.rmsd import run_rmsd
from ..steps import catalogue
from .base import Group, ImperviousnessAlgorithm


class RmsdAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.RMSD
    DISPLAY_NAME = "RMSD between two years' NDVI models (RMSD_A_B)"
    GROUP = Group.FEATURES
    ATBD = "4.2.2"
    SUMMARY = ("RMSD between two years' NDVI models: exact curve RMS through the basis' Gram matrix "
               "(default) or the Euclidean distance of the coefficients")
    DESCRIPTION = (
        "Per pixel, the difference between the NDVI time-series models of two years (ATBD 4.2.2), "
        "the input of the change mask.\n\n"
        "Inputs: two PP stacks written by imperviousness:preprocess (year A and year B) on "
        "the same grid and with the same NDVI model order. The coefficient bands are found by "
        "their descriptions (NDVI_P0 .. NDVI_PN, NDVI_A1, NDVI_PHI1 .. NDVI_AN, NDVI_PHIN).\n\n"
        "Method: 'curve' (default) is the exact root mean square of the difference "
        "of the two fitted curves over the whole year, sqrt(integral of (f_B - f_A)^2 over the "
        "year), computed from the coefficients through the Gram matrix of the model's basis "
        "(Legendre polynomials and harmonics are not orthogonal to each other, so all cross terms "
        "are included). 'euclidean' is the ATBD's simplified Euclidean distance of the "
        "coefficients, taken on the linear coefficients p_k, c_k = a_k sin(phi_k), "
        "s_k = a_k cos(phi_k): on amplitude and phase it would be distorted by the phase "
        "wrapping around at +-pi and by meaningless phases of near-zero amplitudes. It ignores "
        "that the basis functions overlap (P_2 and cos(2 pi tau) correlate at 0.96 over the "
        "year), so two fits of nearly the same curve can differ a lot in coefficients; "
        "'curve' is recommended (on the project's synthetic sample only 'curve' finds "
        "the changes).\n\n"
        "Output: Float32 RMSD >= 0 in NDVI units, NaN (no data) where a coefficient of "
        "either year is missing.")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        input_a = self.raster_path(parameters, self.INPUT_A, context)
        input_b = self.raster_path(parameters, self.INPUT_B, context)
        method = self.O_METHOD[self.parameterAsEnum(parameters, self.METHOD, context)]
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        self.run_core(run_rmsd, input_a, input_b, output, method, feedback)
        return {self.OUTPUT: output}
