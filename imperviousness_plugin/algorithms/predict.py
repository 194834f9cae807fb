"""imperviousness:predict: U-Net raw prediction RIMD / RIBUD with ONNX Runtime (ATBD 4.2.3, SPEC 8)."""

from ..core.unet.predict import run_predict
from ..steps import catalogue
from ..steps.calls import models_or_shipped
from .base import Group, ImperviousnessAlgorithm


class PredictAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.PREDICT
    REQUIRES = ("onnxruntime",)
    DISPLAY_NAME = "U-Net prediction (RIMD / RIBUD)"
    GROUP = Group.STATUS
    ATBD = "4.2.3"
    SUMMARY = "U-Net ensemble through ONNX Runtime: RIMD / RIBUD, SD, confidence"
    DESCRIPTION = (
        "Runs one or more U-Net models (.onnx, an ensemble) over a PP stack and writes the raw "
        "density: RIMD for imperviousness models, RIBUD for built-up models (ATBD 4.2.3).\n\n"
        "Models: each .onnx file carries its contract in its metadata (target, the PP bands "
        "it reads and how they are transformed and normalised, tile size, overlap, output meaning). "
        "A model whose bands are missing from the PP stack, whose shapes disagree with its "
        "contract, or an ensemble mixing IMD and IBU models is refused with a message naming the "
        "problem. Leave MODELS empty to use the ensemble shipped with the plugin for "
        "SHIPPED_TARGET (trained on simulated data, see the models' README).\n\n"
        "Tiling: tiles of 256 x 256 px with the contract's overlap (64), origins on "
        "multiples of the stride, the last tile moved back onto the raster edge; tile outputs "
        "are blended with weights that fall to 0 towards the tile edges, so no seam is visible. "
        "Any raster size, processed tile row by tile row with bounded memory. ONNX Runtime uses "
        "all graph optimisations and one thread per core (THREADS), CUDA when available; tiles go "
        "to it BATCH_SIZE at a time (automatic: 1 on CPU, where larger batches are no faster, 8 on GPU).\n\n"
        "Ensemble: the output is the mean of the members' densities, the optional "
        "OUTPUT_SD their population standard deviation (density units 0..1). TTA (test-time "
        "augmentation): 'flips' adds the tile flipped left-right, up-down and both, 'dihedral' "
        "also the transposed versions; each variant counts as one more prediction. 'auto' uses "
        "flips for a single model (so it still gets an SD and a confidence) and none for an "
        "ensemble.\n\n"
        "Outputs: OUTPUT Byte 0..100 = round_half_even(100 x mean density), 255 nodata "
        "(a pixel is nodata when a PP band a model needs is NaN); OUTPUT_SD Float32, NaN nodata; "
        "OUTPUT_CONFIDENCE (IMDCL / IBUCL, SPEC 8) Byte 50..100: each prediction binarised at "
        "density >= 0.5, CL = round(100 - 100 x population SD of the binary predictions).")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        models = self.run_core(
            models_or_shipped,
            self.parameterAsFileList(parameters, self.MODELS, context) if parameters.get(self.MODELS) else [],
            self.O_SHIPPED_TARGET[self.parameterAsEnum(parameters, self.SHIPPED_TARGET, context)])
        outputs = {self.OUTPUT: self.parameterAsOutputLayer(parameters, self.OUTPUT, context)}
        for name in (self.OUTPUT_SD, self.OUTPUT_CONFIDENCE):
            if parameters.get(name):
                outputs[name] = self.parameterAsOutputLayer(parameters, name, context)
        self.run_core(
            run_predict, self.raster_path(parameters, self.INPUT, context), models, outputs[self.OUTPUT],
            output_sd_path=outputs.get(self.OUTPUT_SD),
            output_confidence_path=outputs.get(self.OUTPUT_CONFIDENCE),
            tta=self.O_TTA[self.parameterAsEnum(parameters, self.TTA, context)],
            batch_size=self.parameterAsInt(parameters, self.BATCH_SIZE, context) or None,
            threads=self.parameterAsInt(parameters, self.THREADS, context) or None,
            feedback=feedback)
        return outputs
