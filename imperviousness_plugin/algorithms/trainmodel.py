"""imperviousness:trainmodel: train a U-Net on a PP stack against a reference (ATBD 4.3.1, 4.4.1)."""

from qgis.core import (QgsProcessingOutputNumber, QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterMapLayer,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer)

from .. import compat
from ..core.unet.training import TARGETS, TrainOptions, run_train_model
from .base import Group, ImperviousnessAlgorithm


class TrainModelAlgorithm(ImperviousnessAlgorithm):
    NAME = "trainmodel"
    REQUIRES = ("torch", "onnx")
    DISPLAY_NAME = "Train a U-Net model (.onnx)"
    GROUP = Group.STATUS
    ATBD = "4.3, 4.4.1"
    SUMMARY = ("train a U-Net on a PP stack of year A (PyTorch CPU, optional), export .onnx with "
               "its contract")
    DESCRIPTION = (
        "Trains the U-Net of the HRL workflow on the PP stack of year A against a reference and "
        "writes an .onnx model carrying its contract (ATBD 4.3.1 for IMD, 4.4.1 for IBU). Needs "
        "PyTorch (CPU) in QGIS's Python (see requirements-train.txt); without it the algorithm "
        "stops with a message saying how to install it. Prediction never needs PyTorch.\n\n"
        "TARGET IMD: REFERENCE is the IMD of year A (percent 0..100, other values and "
        "nodata left out), averaged onto the PP grid when on another grid; the optional CLCPLUS "
        "(CLCplus Backbone) removes pixels where the two disagree (IMD >= 30 but CLCplus "
        "vegetation or water; IMD = 0 but CLCplus sealed).\n"
        "TARGET IBU: REFERENCE is a building-footprint raster (0/1, percent, or float "
        "shares), averaged onto the PP grid when finer, or a polygon vector layer rasterised onto "
        "the PP grid with 5 x 5 sub-pixels per pixel; the target is the built-up share of the "
        "pixel.\n\n"
        "Training: non-overlapping patches (PATCH_SIZE) with at least 25 % valid pixels, "
        "split 80/20 into training and validation; binary cross-entropy between the sigmoid "
        "output and the reference density, 10 % dropout, Adam with a cosine learning rate, random "
        "flips and rotations; the weights of the best validation loss are kept. Validation "
        "metrics (MAE in percentage points, F1 at 10 %) are reported in the log and stored in "
        "the model.\n"
        "INIT_MODEL (transfer learning, as the ATBD does from neighbouring tiles): an .onnx "
        "model of this plugin whose weights, features, normalisation and architecture are the "
        "starting point; without it the network starts from random weights and the "
        "normalisation is computed from the training patches.")

    INPUT = "INPUT"
    REFERENCE = "REFERENCE"
    TARGET = "TARGET"
    CLCPLUS = "CLCPLUS"
    INIT_MODEL = "INIT_MODEL"
    STEPS = "STEPS"
    PATCH_SIZE = "PATCH_SIZE"
    BATCH_SIZE = "BATCH_SIZE"
    LEARNING_RATE = "LEARNING_RATE"
    SEED = "SEED"
    ADVANCED = (BATCH_SIZE, LEARNING_RATE, SEED)
    OUTPUT = "OUTPUT"
    VALIDATION_MAE_PP = "VALIDATION_MAE_PP"
    VALIDATION_F1_AT_10 = "VALIDATION_F1_AT_10"

    O_TARGET = list(TARGETS)
    TARGET_IMD, TARGET_IBU = range(len(O_TARGET))

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        defaults = TrainOptions()
        self.add_parameter(
            QgsProcessingParameterRasterLayer(self.INPUT, self.tr("PP stack of year A")),
            self.tr("The PP stack of year A the model learns from."))
        self.add_parameter(
            QgsProcessingParameterMapLayer(
                self.REFERENCE, self.tr("Reference (IMD of year A, or building footprints raster / polygons)")),
            self.tr("The reference of year A for TARGET, described above."))
        self.add_parameter(
            QgsProcessingParameterEnum(self.TARGET, self.tr("Target"), options=self.O_TARGET,
                                       defaultValue=self.TARGET_IMD),
            self.tr("What the model predicts: imperviousness density or built-up share."))
        self.add_parameter(
            QgsProcessingParameterRasterLayer(
                self.CLCPLUS, self.tr("CLCplus Backbone of year A (IMD only, optional)"), optional=True),
            self.tr("The CLCplus Backbone of year A, removing reference pixels it contradicts (IMD only)."))
        self.add_parameter(
            QgsProcessingParameterFile(
                self.INIT_MODEL, self.tr("Initial model (.onnx, transfer learning)"), extension="onnx",
                optional=True),
            self.tr("An .onnx model of this plugin to start from (transfer learning)."))
        self.add_parameter(
            QgsProcessingParameterNumber(self.STEPS, self.tr("Training steps"),
                                         compat.ProcessingNumberParameterType.Integer, defaults.steps, minValue=0),
            self.tr("The number of optimiser steps."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.PATCH_SIZE, self.tr("Patch size (px, multiple of 8)"),
                compat.ProcessingNumberParameterType.Integer, defaults.patch_size, minValue=16, maxValue=512),
            self.tr("The side of the square training patches in pixels, a multiple of 8."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.BATCH_SIZE, self.tr("Patches per step"), compat.ProcessingNumberParameterType.Integer,
                defaults.batch_size, minValue=1, maxValue=256),
            self.tr("The number of patches per optimiser step."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.LEARNING_RATE, self.tr("Learning rate"), compat.ProcessingNumberParameterType.Double,
                defaults.learning_rate, minValue=1e-6, maxValue=1.0),
            self.tr("The initial learning rate of Adam."))
        self.add_parameter(
            QgsProcessingParameterNumber(self.SEED, self.tr("Random seed"),
                                         compat.ProcessingNumberParameterType.Integer, defaults.seed),
            self.tr("The seed of every random choice, so that a run can be repeated."))
        self.add_parameter(
            QgsProcessingParameterFileDestination(self.OUTPUT, self.tr("Model"), self.tr("ONNX model (*.onnx)")),
            self.tr("The trained .onnx model."))
        self.addOutput(QgsProcessingOutputNumber(self.VALIDATION_MAE_PP, self.tr("Validation MAE (pp)")))
        self.addOutput(QgsProcessingOutputNumber(self.VALIDATION_F1_AT_10, self.tr("Validation F1 at 10 %")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        reference = self.parameterAsLayer(parameters, self.REFERENCE, context)
        init_model = self.parameterAsFile(parameters, self.INIT_MODEL, context) or None
        clcplus = (self.raster_path(parameters, self.CLCPLUS, context)
                   if parameters.get(self.CLCPLUS) else None)
        options = TrainOptions(
            steps=self.parameterAsInt(parameters, self.STEPS, context),
            patch_size=self.parameterAsInt(parameters, self.PATCH_SIZE, context),
            batch_size=self.parameterAsInt(parameters, self.BATCH_SIZE, context),
            learning_rate=self.parameterAsDouble(parameters, self.LEARNING_RATE, context),
            seed=self.parameterAsInt(parameters, self.SEED, context))
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        # A vector layer's source may read "path|layername=name"; the core understands it.
        source = reference.source() if reference is not None else parameters.get(self.REFERENCE)
        result = self.run_core(
            run_train_model, self.raster_path(parameters, self.INPUT, context), source,
            self.O_TARGET[self.parameterAsEnum(parameters, self.TARGET, context)], output,
            init_model=init_model, clcplus=clcplus, options=options, feedback=feedback)
        return {self.OUTPUT: output, self.VALIDATION_MAE_PP: result["metrics"].get("mae_pp"),
                self.VALIDATION_F1_AT_10: result["metrics"].get("f1_at_10")}
