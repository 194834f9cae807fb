"""imperviousness:sealingmask, :calibrate and :applycalibration: the IMD calibration (ATBD 4.3.2, SPEC 9)."""

from qgis.core import (QgsProcessingException, QgsProcessingUtils, QgsProviderRegistry,
                       QgsVectorFileWriter)

from .. import compat
from ..core.status.calibration import run_apply_calibration, run_calibrate
from ..core.status.sealing_mask import SealedSource, run_sealing_mask
from ..steps import catalogue
from .base import Group, ImperviousnessAlgorithm

CALIBRATION_METHOD_HELP = (
    "Calibration (ATBD 4.3.2, Figures 14 to 18; interpretations documented in "
    "docs/calibration.md):\n"
    "1. Regression f(n) = a + b n of IMD_A on NDVI_P0_A (ordinary least squares) over the pixels of "
    "the year-A sealing mask, sampled on the SAMPLE_SPACING grid (default 60 m): cells aligned to "
    "whole multiples of the spacing, one pixel per cell, the pixel at row and column offset k // 2 "
    "(k = spacing / pixel size; offset 3 for 60 m cells of 10 m pixels). Single pixels, not cell "
    "means, so the line describes pixels as it is applied to pixels; the spacing thins out spatial "
    "autocorrelation. The slope must be negative.\n"
    "2. High-density maximum M = the HIGH_DENSITY_PERCENTILE (default 99) percentile of IMD_A over "
    "the built-up pixels (IBU_A = 1 inside the mask), and its rank-matched NDVI n_hd = the (100 - P) "
    "percentile of NDVI_P0_A there; f_hd = f(n_hd) is the regression's density for high-density "
    "pixels. A regression never reaches the extremes of its data, so its high-density end is "
    "re-anchored on what the year-A product shows there.\n"
    "3. Re-scaling of min and max: u = clip(f(n) / f_hd, 0, 1) (0 = the regression sees no "
    "imperviousness, 1 = high-density level); IMD = clip(m + (M - m) u, 0, 100), rounded half to "
    "even. The maximum goes to M, the minimum to a new minimum m found by Brent's method so that "
    "the mean density of the impervious pixels of year A (mask and IMD_A >= 1), as written in whole "
    "percent, equals their mean in IMD_A. m is searched in [-100, M] (negative: the least "
    "impervious end is cut at 0 %); without a solution the run stops with both end values.\n")


def _layer_source(algorithm, parameters, name, context, feedback):
    """(path, kind, layer name, subset) of a raster or vector map-layer parameter."""
    layer = algorithm.parameterAsLayer(parameters, name, context)
    if layer is None or not layer.isValid():
        raise QgsProcessingException(algorithm.tr(f"{name}: cannot open the layer {parameters.get(name)!r}."))
    if layer.type() == compat.LayerType.Raster:
        return SealedSource(layer.source(), "raster")
    if layer.type() != compat.LayerType.Vector:
        raise QgsProcessingException(algorithm.tr(f"{name} must be a raster or a polygon layer."))
    if layer.providerType() == "ogr":
        parts = QgsProviderRegistry.instance().decodeUri("ogr", layer.source())
        subset = layer.subsetString() or parts.get("subset") or None
        return SealedSource(parts["path"], "vector", parts.get("layerName") or None, subset)
    # Layers of other providers (memory, PostGIS, ...) are copied once to a GeoPackage the core reads.
    path = QgsProcessingUtils.generateTempFilename("sealed_class.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    result = QgsVectorFileWriter.writeAsVectorFormatV3(layer, path, context.transformContext(), options)
    if result[0] != QgsVectorFileWriter.WriterError.NoError:
        raise QgsProcessingException(algorithm.tr(f"{name}: cannot copy the layer for reading: {result[1]}"))
    feedback.pushInfo(f"{name}: copied the {layer.providerType()} layer to {path}.")
    return SealedSource(path, "vector")


class SealingMaskAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.SEALINGMASK
    DISPLAY_NAME = "Sealing mask (IMD_MSK) for the IMD calibration"
    GROUP = Group.STATUS
    ATBD = "4.3.2"
    SUMMARY = ("IMD_MSK from the sealed class (CLCplus raster or any raster/polygon layer) and the "
               "IMD / RIMD outline")
    DESCRIPTION = (
        "The sealing mask IMD_MSK of the IMD calibration (ATBD 4.3.2). Year A: IMPERVIOUSNESS = IMD_A "
        "and CLCPLUS = CLCplus Backbone of year A; year B: IMPERVIOUSNESS = the raw prediction RIMD_B "
        "and CLCPLUS = CLCplus Backbone of year B. The calibration is fitted inside the year-A mask "
        "and applied inside the year-B mask; IMD is 0 outside.\n\n"
        "Sealed class: CLCPLUS is a raster of class codes on the same grid as IMPERVIOUSNESS "
        "(CLCplus class 1 = sealed) or, for users without CLCplus, a polygon layer (e.g. CORINE Land "
        "Cover: SEALED_FIELD = code_18, SEALED_VALUES = 1* for the artificial surfaces). SEALED_VALUES: "
        "comma-separated codes (1), ranges (111-142) and shell patterns (1*, matched on the code as "
        "text). With a polygon layer and no SEALED_FIELD every polygon is sealed. Polygons in another "
        "CRS are reprojected.\n\n"
        "COMBINE (ATBD 4.3.2 as SPEC 9 reads it; reasons and numbers in docs/calibration.md):\n"
        "- union (default): sealed class OR density >= THRESHOLD (default 90 %, applied to "
        "IMPERVIOUSNESS as the ATBD applies it to \"the inputs of the IMD layer\"). Low-density pixels "
        "(below THRESHOLD) are in the mask only inside the sealed class; outside it they become 0 in "
        "IMD. The sealed class adds every pixel it holds, also where the density is low or 0.\n"
        "- intersection (the default of earlier versions): sealed class AND density "
        ">= OUTLINE_MIN (default 1 %). Low-density pixels count inside the sealed class only, and so "
        "does every dense pixel: outside the class even a 100 % pixel becomes 0.\n"
        "- outline: density >= OUTLINE_MIN alone, the sealed class ignored: every low-density pixel "
        "(false positives of the raw prediction in vegetation included) receives a calibrated value.\n"
        "SEALED_SHARE: a pixel is in the sealed class when at least this share of it lies in "
        "the class (default 50 %; polygon shares on 10 x 10 sub-pixels; a raster of codes on the grid "
        "gives 0 or 100 %). COMBINE = intersection with SEALED_SHARE = 90 reproduces the old masks.\n\n"
        "Output: Byte 1 = in the mask, 0 = not, 255 = nodata (where IMPERVIOUSNESS or a "
        "sealed-class raster is nodata), on the grid of IMPERVIOUSNESS.")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        source = _layer_source(self, parameters, self.CLCPLUS, context, feedback)
        summary = self.run_core(
            run_sealing_mask, self.raster_path(parameters, self.IMPERVIOUSNESS, context), source, output,
            sealed_values=self.parameterAsString(parameters, self.SEALED_VALUES, context),
            sealed_field=self.parameterAsString(parameters, self.SEALED_FIELD, context).strip() or None,
            threshold=self.parameterAsDouble(parameters, self.THRESHOLD, context),
            outline_min=self.parameterAsDouble(parameters, self.OUTLINE_MIN, context),
            combine=self.O_COMBINE[self.parameterAsEnum(parameters, self.COMBINE, context)],
            sealed_share=self.parameterAsDouble(parameters, self.SEALED_SHARE, context),
            feedback=feedback)
        return {self.OUTPUT: output, self.MASK_PIXELS: summary["mask"]}


class CalibrateAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.CALIBRATE
    REQUIRES = ("scipy",)
    DISPLAY_NAME = "IMD calibration (fit on year A)"
    GROUP = Group.STATUS
    ATBD = "4.3.2"
    SUMMARY = ("regression of IMD_A on NDVI_P0_A on a 60 m grid, high-density maximum, new minimum "
               "(Brent); JSON")
    DESCRIPTION = (
        "Fits the IMD calibration on year A (ATBD 4.3.2, IMD_calibration) and writes it as a JSON "
        "file that imperviousness:applycalibration applies to year B.\n\n"
        "Inputs, all on one grid: IMD_A (Byte 0..100, 255 nodata), SEALING_MASK_A (from "
        "imperviousness:sealingmask with IMD_A), PP_A (the PP stack of year A; its band described "
        "NDVI_P0 is used) and IBU_A (Byte 0/1, 255 nodata).\n\n"
        + CALIBRATION_METHOD_HELP +
        "\nRefused with a clear message: inputs on different grids, an empty mask, fewer than "
        "MIN_SAMPLES samples, a constant NDVI, a slope that is not negative, no built-up pixel in the "
        "mask, no new minimum that keeps the mean.\n\n"
        "Output: the JSON file with every coefficient (a, b, their standard errors, R squared, "
        "residual SD, sample counts, M, n_hd, f_hd, m, the optimiser's iterations and residual, the "
        "composed law); the main numbers are also reported in the log and as outputs.")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        calibration = self.run_core(
            run_calibrate, *(self.raster_path(parameters, name, context)
                             for name in (self.IMD_A, self.SEALING_MASK_A, self.PP_A, self.IBU_A)), output,
            sample_spacing=self.parameterAsDouble(parameters, self.SAMPLE_SPACING, context),
            high_density_percentile=self.parameterAsDouble(parameters, self.HIGH_DENSITY_PERCENTILE, context),
            min_samples=self.parameterAsInt(parameters, self.MIN_SAMPLES, context),
            feedback=feedback)
        regression = calibration.regression
        return {self.OUTPUT: output, self.INTERCEPT: calibration.intercept, self.SLOPE: calibration.slope,
                self.R_SQUARED: regression["r_squared"], self.RESIDUAL_SD: regression["residual_sd"],
                self.SAMPLES: regression["samples"], self.HIGH_DENSITY_MAX: calibration.high_density_max,
                self.NEW_MINIMUM: calibration.new_minimum}


class ApplyCalibrationAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.APPLYCALIBRATION
    DISPLAY_NAME = "Apply the IMD calibration (IMD of year B)"
    GROUP = Group.STATUS
    ATBD = "4.3.2"
    SUMMARY = "IMD_B from NDVI_P0_B inside the year-B mask"
    DESCRIPTION = (
        "Applies a calibration file from imperviousness:calibrate to NDVI_P0 of year B inside the "
        "year-B sealing mask (ATBD 4.3.2, IMD_B).\n\n"
        "Inputs, all on one grid: RAW_IMD (the raw prediction RIMD_B, Byte 0..100, 255 "
        "nodata; it defines where the product has data, and its outline entered the year-B mask), "
        "SEALING_MASK_B (imperviousness:sealingmask with RIMD_B and CLCplus of year B), PP_B (the PP "
        "stack of year B; band NDVI_P0) and CALIBRATION (the JSON file).\n\n"
        "Output IMD_B, Byte: inside the mask IMD = clip(m + (M - m) clip((a + b NDVI_P0) / f_hd, "
        "0, 1), 0, 100) rounded half to even (the calibration's coefficients); 0 outside the mask; "
        "255 where RAW_IMD or the mask is nodata or NDVI_P0 is NaN (no observation that year), also "
        "outside the mask. Official IMD colour table and QML style.\n\n" + CALIBRATION_METHOD_HELP)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        self.run_core(
            run_apply_calibration, *(self.raster_path(parameters, name, context)
                                     for name in (self.RAW_IMD, self.SEALING_MASK_B, self.PP_B)),
            self.parameterAsFile(parameters, self.CALIBRATION, context), output, feedback=feedback)
        return {self.OUTPUT: output}
