"""imperviousness:predict: U-Net raw prediction RIMD / RIBUD with ONNX Runtime (ATBD 4.2.3, SPEC 8)."""

from qgis.core import (QgsProcessing, QgsProcessingParameterEnum, QgsProcessingParameterMultipleLayers,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer)

from ..core.unet.predict import TTA_MODES, run_predict, shipped_models
from .base import ImperviousnessAlgorithm

SHIPPED_TARGETS = ("IMD", "IBU")


class PredictAlgorithm(ImperviousnessAlgorithm):
    NAME = "predict"
    DISPLAY_NAME = "U-Net prediction (RIMD / RIBUD)"
    GROUP_ID = "status"
    GROUP = "2 Status layers"
    HELP = (
        "Runs one or more U-Net models (.onnx, an ensemble) over a PP stack and writes the raw "
        "density: RIMD for imperviousness models, RIBUD for built-up models (ATBD 4.2.3).\n\n"
        "<b>Models</b>: each .onnx file carries its contract in its metadata (target, the PP bands "
        "it reads and how they are transformed and normalised, tile size, overlap, output meaning). "
        "A model whose bands are missing from the PP stack, whose shapes disagree with its "
        "contract, or an ensemble mixing IMD and IBU models is refused with a message naming the "
        "problem. Leave MODELS empty to use the ensemble shipped with the plugin for "
        "SHIPPED_TARGET (trained on simulated data, see the models' README).\n\n"
        "<b>Tiling</b>: tiles of 256 x 256 px with the contract's overlap (64), origins on "
        "multiples of the stride, the last tile moved back onto the raster edge; tile outputs "
        "are blended with weights that fall to 0 towards the tile edges, so no seam is visible. "
        "Any raster size, processed tile row by tile row with bounded memory. ONNX Runtime uses "
        "all graph optimisations and one thread per core (THREADS), CUDA when available; tiles go "
        "to it BATCH_SIZE at a time (automatic: 1 on CPU, where larger batches are no faster, 8 on GPU).\n\n"
        "<b>Ensemble</b>: the output is the mean of the members' densities, the optional "
        "OUTPUT_SD their population standard deviation (density units 0..1). TTA (test-time "
        "augmentation): 'flips' adds the tile flipped left-right, up-down and both, 'dihedral' "
        "also the transposed versions; each variant counts as one more prediction. 'auto' uses "
        "flips for a single model (so it still gets an SD and a confidence) and none for an "
        "ensemble.\n\n"
        "<b>Outputs</b>: OUTPUT Byte 0..100 = round_half_even(100 x mean density), 255 nodata "
        "(a pixel is nodata when a PP band a model needs is NaN); OUTPUT_SD Float32, NaN nodata; "
        "OUTPUT_CONFIDENCE (IMDCL / IBUCL, SPEC 8) Byte 50..100: each prediction binarised at "
        "density >= 0.5, CL = round(100 - 100 x population SD of the binary predictions).")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", self.tr("PP stack")))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            "MODELS", self.tr("Models (.onnx; empty: the shipped ensemble)"), QgsProcessing.TypeFile,
            optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            "SHIPPED_TARGET", self.tr("Shipped ensemble to use when MODELS is empty"),
            options=list(SHIPPED_TARGETS), defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            "TTA", self.tr("Test-time augmentation"), options=list(TTA_MODES), defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            "BATCH_SIZE", self.tr("Tiles per ONNX Runtime call (0: automatic, 1 on CPU, 8 on GPU)"),
            QgsProcessingParameterNumber.Integer, 0, minValue=0, maxValue=64))
        self.addParameter(QgsProcessingParameterNumber(
            "THREADS", self.tr("Threads (0: one per core)"), QgsProcessingParameterNumber.Integer,
            0, minValue=0, maxValue=256))
        self.addParameter(QgsProcessingParameterRasterDestination(
            "OUTPUT", self.tr("Raw density (RIMD / RIBUD)")))
        self.addParameter(QgsProcessingParameterRasterDestination(
            "OUTPUT_SD", self.tr("Ensemble standard deviation"), optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterRasterDestination(
            "OUTPUT_CONFIDENCE", self.tr("Confidence (IMDCL / IBUCL)"), optional=True,
            createByDefault=False))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        models = self.parameterAsFileList(parameters, "MODELS", context) if parameters.get("MODELS") else []
        if not models:
            target = SHIPPED_TARGETS[self.parameterAsEnum(parameters, "SHIPPED_TARGET", context)]
            models = self.run_core(shipped_models, target)
        outputs = {"OUTPUT": self.parameterAsOutputLayer(parameters, "OUTPUT", context)}
        for name in ("OUTPUT_SD", "OUTPUT_CONFIDENCE"):
            if parameters.get(name):
                outputs[name] = self.parameterAsOutputLayer(parameters, name, context)
        self.run_core(
            run_predict, self.raster_path(parameters, "INPUT", context), models, outputs["OUTPUT"],
            output_sd_path=outputs.get("OUTPUT_SD"),
            output_confidence_path=outputs.get("OUTPUT_CONFIDENCE"),
            tta=TTA_MODES[self.parameterAsEnum(parameters, "TTA", context)],
            batch_size=self.parameterAsInt(parameters, "BATCH_SIZE", context) or None,
            threads=self.parameterAsInt(parameters, "THREADS", context) or None,
            feedback=feedback)
        return outputs
