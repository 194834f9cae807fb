"""imperviousness:trainmodel: train a U-Net on a PP stack against a reference (ATBD 4.3.1, 4.4.1)."""

from qgis.core import QgsApplication

from ..core.unet.training import TrainOptions, run_train_model
from ..steps import catalogue
from .base import Group, ImperviousnessAlgorithm


class TrainModelAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.TRAINMODEL
    REQUIRES = ("torch", "onnx")
    DISPLAY_NAME = "Train a U-Net model (.onnx)"
    GROUP = Group.STATUS
    ATBD = "4.3, 4.4.1"
    SUMMARY = ("train an ensemble of U-Nets on a PP stack of year A (PyTorch, optional; CPU or CUDA), "
               "held-out metrics against a per-pixel baseline, export .onnx with its contract")
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
        "Training windows (PATCH_SIZE, shrunk on small areas so that about six fit across) are "
        "described from the reference alone, then split into spatial blocks: 15 % of the blocks "
        "are held out (the same for every member) and 15 % validate (per member); training "
        "windows keep a buffer of one patch from both. At most MAX_PATCHES training windows "
        "with at least 25 % valid pixels are drawn, stratified by density class (0, 1-30, 31-80, "
        "81-100 %) and valid share, and only those are read from the PP stack, so memory does "
        "not grow with the area. Loss: binary cross-entropy between the sigmoid output and the "
        "reference density, 10 % dropout, Adam with a cosine learning rate, random flips and "
        "rotations; the weights of the best validation loss are kept.\n"
        "MEMBERS networks (seeds SEED, SEED + 1, ...; their own validation blocks and training "
        "draws) are written as an ensemble <OUTPUT>_m1.onnx .. <OUTPUT>_mN.onnx (OUTPUT itself "
        "for one member), listed in the OUTPUT_MEMBERS output, which the predictors take as MODELS, so "
        "that SD and confidence come from the members. The held-out metrics of the ensemble "
        "(MAE / RMSE / bias in percentage points overall and by density class; precision, "
        "recall and F1 at 10 %) are compared with a per-pixel baseline fitted on the same "
        "training pixels (least squares for IMD, logistic for IBU), logged, and stored in every "
        "member's contract; a warning says what to try when the U-Net does not beat it.\n"
        "DEVICE: auto uses a CUDA GPU when PyTorch sees one (bf16 autocast where supported, "
        "deterministic cuDNN), cpu forces the CPU (float32, as many PyTorch threads as the "
        "Processing / QGIS thread setting allows), cuda refuses to run without a GPU.\n"
        "INIT_MODEL (transfer learning, as the ATBD does from neighbouring tiles): an .onnx "
        "model of this plugin whose weights, features, normalisation and architecture are the "
        "starting point; without it the network starts from random weights and the "
        "normalisation is computed from the training patches.")

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
            seed=self.parameterAsInt(parameters, self.SEED, context),
            members=self.parameterAsInt(parameters, self.MEMBERS, context),
            max_patches=self.parameterAsInt(parameters, self.MAX_PATCHES, context),
            device=self.O_DEVICE[self.parameterAsEnum(parameters, self.DEVICE, context)],
            threads=processing_threads(context))
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        # A vector layer's source may read "path|layername=name"; the core understands it.
        source = reference.source() if reference is not None else parameters.get(self.REFERENCE)
        result = self.run_core(
            run_train_model, self.raster_path(parameters, self.INPUT, context), source,
            self.O_TARGET[self.parameterAsEnum(parameters, self.TARGET, context)], output,
            init_model=init_model, clcplus=clcplus, options=options, feedback=feedback)
        held_out, baseline = result["held_out"]["unet_ensemble"], result["held_out"]["baseline"]
        return {self.OUTPUT: result["output"], self.OUTPUT_MEMBERS: result["members"],
                self.VALIDATION_MAE_PP: result["metrics"].get("mae_pp"),
                self.VALIDATION_F1_AT_10: result["metrics"].get("f1_at_10"),
                self.HELD_OUT_MAE_PP: held_out.get("mae_pp"), self.HELD_OUT_F1_AT_10: held_out.get("f1_at_10"),
                self.BASELINE_MAE_PP: baseline.get("mae_pp"), self.BASELINE_F1_AT_10: baseline.get("f1_at_10")}


def processing_threads(context):
    """PyTorch's CPU threads: the context's thread limit (QGIS >= 3.28), else QGIS's global
    "max threads" setting (QgsApplication.maxThreads, -1 = all cores); None = all cores. (QGIS
    >= 3.34 keeps that setting at 2 or more, so there one thread is set per run, not globally.)"""
    limit = getattr(context, "maximumThreads", None)
    threads = limit() if callable(limit) else QgsApplication.maxThreads()
    return threads if threads and threads > 0 else None
