"""imperviousness:trainmodel: train a U-Net on a PP stack against a reference (ATBD 4.3.1, 4.4.1)."""

from qgis.core import (QgsProcessingOutputNumber, QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterMapLayer,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer)

from ..core.unet.training import TARGETS, TrainOptions, run_train_model
from .base import ImperviousnessAlgorithm


class TrainModelAlgorithm(ImperviousnessAlgorithm):
    NAME = "trainmodel"
    DISPLAY_NAME = "Train a U-Net model (.onnx)"
    GROUP_ID = "status"
    GROUP = "2 Status layers"
    HELP = (
        "Trains the U-Net of the HRL workflow on the PP stack of year A against a reference and "
        "writes an .onnx model carrying its contract (ATBD 4.3.1 for IMD, 4.4.1 for IBU). Needs "
        "PyTorch (CPU) in QGIS's Python (see requirements-train.txt); without it the algorithm "
        "stops with a message saying how to install it. Prediction never needs PyTorch.\n\n"
        "<b>TARGET IMD</b>: REFERENCE is the IMD of year A (percent 0..100, other values and "
        "nodata left out), averaged onto the PP grid when on another grid; the optional CLCPLUS "
        "(CLCplus Backbone) removes pixels where the two disagree (IMD >= 30 but CLCplus "
        "vegetation or water; IMD = 0 but CLCplus sealed).\n"
        "<b>TARGET IBU</b>: REFERENCE is a building-footprint raster (0/1, percent, or float "
        "shares), averaged onto the PP grid when finer, or a polygon vector layer rasterised onto "
        "the PP grid with 5 x 5 sub-pixels per pixel; the target is the built-up share of the "
        "pixel.\n\n"
        "<b>Training</b>: non-overlapping patches (PATCH_SIZE) with at least 25 % valid pixels, "
        "split 80/20 into training and validation; binary cross-entropy between the sigmoid "
        "output and the reference density, 10 % dropout, Adam with a cosine learning rate, random "
        "flips and rotations; the weights of the best validation loss are kept. Validation "
        "metrics (MAE in percentage points, F1 at 10 %) are reported in the log and stored in "
        "the model.\n"
        "<b>INIT_MODEL</b> (transfer learning, as the ATBD does from neighbouring tiles): an .onnx "
        "model of this plugin whose weights, features, normalisation and architecture are the "
        "starting point; without it the network starts from random weights and the "
        "normalisation is computed from the training patches.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", self.tr("PP stack of year A")))
        self.addParameter(QgsProcessingParameterMapLayer(
            "REFERENCE", self.tr("Reference (IMD of year A, or building footprints raster / polygons)")))
        self.addParameter(QgsProcessingParameterEnum("TARGET", self.tr("Target"), options=list(TARGETS),
                                                     defaultValue=0))
        self.addParameter(QgsProcessingParameterRasterLayer(
            "CLCPLUS", self.tr("CLCplus Backbone of year A (IMD only, optional)"), optional=True))
        self.addParameter(QgsProcessingParameterFile(
            "INIT_MODEL", self.tr("Initial model (.onnx, transfer learning)"), extension="onnx",
            optional=True))
        defaults = TrainOptions()
        self.addParameter(QgsProcessingParameterNumber(
            "STEPS", self.tr("Training steps"), QgsProcessingParameterNumber.Integer, defaults.steps,
            minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            "PATCH_SIZE", self.tr("Patch size (px, multiple of 8)"), QgsProcessingParameterNumber.Integer,
            defaults.patch_size, minValue=16, maxValue=512))
        self.addParameter(QgsProcessingParameterNumber(
            "BATCH_SIZE", self.tr("Patches per step"), QgsProcessingParameterNumber.Integer,
            defaults.batch_size, minValue=1, maxValue=256))
        self.addParameter(QgsProcessingParameterNumber(
            "LEARNING_RATE", self.tr("Learning rate"), QgsProcessingParameterNumber.Double,
            defaults.learning_rate, minValue=1e-6, maxValue=1.0))
        self.addParameter(QgsProcessingParameterNumber(
            "SEED", self.tr("Random seed"), QgsProcessingParameterNumber.Integer, defaults.seed))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT", self.tr("Model"), self.tr("ONNX model (*.onnx)")))
        self.addOutput(QgsProcessingOutputNumber("VALIDATION_MAE_PP", self.tr("Validation MAE (pp)")))
        self.addOutput(QgsProcessingOutputNumber("VALIDATION_F1_AT_10", self.tr("Validation F1 at 10 %")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        reference = self.parameterAsLayer(parameters, "REFERENCE", context)
        init_model = self.parameterAsFile(parameters, "INIT_MODEL", context) or None
        clcplus = self.raster_path(parameters, "CLCPLUS", context) if parameters.get("CLCPLUS") else None
        options = TrainOptions(
            steps=self.parameterAsInt(parameters, "STEPS", context),
            patch_size=self.parameterAsInt(parameters, "PATCH_SIZE", context),
            batch_size=self.parameterAsInt(parameters, "BATCH_SIZE", context),
            learning_rate=self.parameterAsDouble(parameters, "LEARNING_RATE", context),
            seed=self.parameterAsInt(parameters, "SEED", context))
        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        # A vector layer's source may read "path|layername=name"; the core understands it.
        source = reference.source() if reference is not None else parameters.get("REFERENCE")
        result = self.run_core(
            run_train_model, self.raster_path(parameters, "INPUT", context), source,
            TARGETS[self.parameterAsEnum(parameters, "TARGET", context)], output,
            init_model=init_model, clcplus=clcplus, options=options, feedback=feedback)
        return {"OUTPUT": output, "VALIDATION_MAE_PP": result["metrics"].get("mae_pp"),
                "VALIDATION_F1_AT_10": result["metrics"].get("f1_at_10")}
