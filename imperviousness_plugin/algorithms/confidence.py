"""imperviousness:confidence: IMDCL / IBUCL from ensemble predictions or their SD (ATBD 4.7, SPEC 8)."""

from qgis.core import QgsProcessingException

from ..core.unet.confidence import run_confidence
from ..steps import catalogue
from .base import Group, ImperviousnessAlgorithm


class ConfidenceAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.CONFIDENCE
    DISPLAY_NAME = "Confidence layer (IMDCL / IBUCL)"
    GROUP = Group.STATUS
    ATBD = "4.7"
    SUMMARY = "IMDCL / IBUCL from ensemble members (or SD)"
    DESCRIPTION = (
        "The confidence layer of ATBD 4.7 (SPEC 8): each ensemble member's prediction is "
        "binarised (density >= THRESHOLD, default 50 %), the population standard deviation SD "
        "of these binary predictions is taken, and CL = round(100 - 100 x SD), rounded half to "
        "even. All members agree: 100; half and half: 50. Byte 50..100, 255 = nodata.\n\n"
        "Give either PREDICTIONS, one raster per ensemble member on one grid (Byte / "
        "integer: percent 0..100; float: density 0..1; nodata where any member is nodata), "
        "or INPUT_SD, a raster that already holds the population SD of the members' "
        "binarised predictions in density units 0..0.5. Predict's OUTPUT_SD is the SD of the "
        "continuous densities, not of binarised ones: it is accepted (same range) but gives a "
        "smoother variant, not the SPEC's layer. The simplest way to the SPEC's layer is predict's "
        "OUTPUT_CONFIDENCE, computed from the unrounded member densities.\n\n"
        "With a single model there is no ensemble: run predict with TTA (test-time augmentation, "
        "flips or dihedral) so that the tile's flipped and rotated predictions stand in for the "
        "members.")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        predictions = []
        if parameters.get(self.PREDICTIONS):
            layers = self.parameterAsLayerList(parameters, self.PREDICTIONS, context)
            predictions = [layer.source() for layer in layers]
        input_sd = (self.raster_path(parameters, self.INPUT_SD, context)
                    if parameters.get(self.INPUT_SD) else None)
        if not predictions and not input_sd:
            raise QgsProcessingException(self.tr(
                "Give PREDICTIONS (the ensemble members' rasters) or INPUT_SD."))
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        self.run_core(run_confidence, output, predictions=predictions, input_sd=input_sd,
                      threshold=self.parameterAsDouble(parameters, self.THRESHOLD, context),
                      feedback=feedback)
        return {self.OUTPUT: output}
