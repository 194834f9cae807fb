"""imperviousness:sealingmask, :calibrate and :applycalibration: the IMD calibration (ATBD 4.3.2, SPEC 9)."""

from qgis.core import (QgsProcessingException,
                       QgsProcessingOutputNumber, QgsProcessingParameterEnum,
                       QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterMapLayer, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterString, QgsProcessingUtils, QgsProviderRegistry,
                       QgsVectorFileWriter)

from .. import compat
from ..core.status.calibration import (DEFAULT_HIGH_DENSITY_PERCENTILE, DEFAULT_MIN_SAMPLES,
                                       DEFAULT_SAMPLE_SPACING, run_apply_calibration, run_calibrate)
from ..core.status.sealing_mask import (COMBINE_MODES, DEFAULT_COMBINE, DEFAULT_OUTLINE_MIN,
                                        DEFAULT_SEALED_SHARE, DEFAULT_SEALED_VALUES, DEFAULT_THRESHOLD,
                                        SealedSource, run_sealing_mask)
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
    NAME = "sealingmask"
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

    IMPERVIOUSNESS = "IMPERVIOUSNESS"
    CLCPLUS = "CLCPLUS"
    SEALED_VALUES = "SEALED_VALUES"
    SEALED_FIELD = "SEALED_FIELD"
    THRESHOLD = "THRESHOLD"
    OUTLINE_MIN = "OUTLINE_MIN"
    COMBINE = "COMBINE"
    SEALED_SHARE = "SEALED_SHARE"
    ADVANCED = (THRESHOLD, OUTLINE_MIN, SEALED_SHARE)
    OUTPUT = "OUTPUT"
    MASK_PIXELS = "MASK_PIXELS"

    O_COMBINE = list(COMBINE_MODES)
    INTERSECTION, UNION, OUTLINE = range(len(O_COMBINE))

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.add_parameter(
            QgsProcessingParameterRasterLayer(
                self.IMPERVIOUSNESS, self.tr("Imperviousness (IMD_A or raw prediction RIMD_B, 0..100)")),
            self.tr("The imperviousness layer whose density enters the mask."))
        self.add_parameter(
            QgsProcessingParameterMapLayer(
                self.CLCPLUS, self.tr("CLCplus Backbone or other sealed-class layer (raster or polygons)"),
                types=[compat.ProcessingSourceType.Raster, compat.ProcessingSourceType.VectorPolygon]),
            self.tr("The sealed-class layer: a raster of class codes or a polygon layer."))
        self.add_parameter(
            QgsProcessingParameterString(
                self.SEALED_VALUES, self.tr("Sealed class code(s): codes, ranges a-b, patterns like 1*"),
                DEFAULT_SEALED_VALUES),
            self.tr("The class codes of the sealed class: codes, ranges and patterns."))
        self.add_parameter(
            QgsProcessingParameterString(
                self.SEALED_FIELD,
                self.tr("Field holding the class code (polygon layers; empty: every polygon is sealed)"),
                "", optional=True),
            self.tr("The attribute holding the class code of a polygon layer."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.THRESHOLD, self.tr("Density joining the mask under union (percent of IMPERVIOUSNESS)"),
                compat.ProcessingNumberParameterType.Double, DEFAULT_THRESHOLD, minValue=0.001, maxValue=100.0),
            self.tr("Under union, pixels of at least this density join the sealed class in the mask."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.OUTLINE_MIN, self.tr("Minimum density of the imperviousness outline (percent)"),
                compat.ProcessingNumberParameterType.Double, DEFAULT_OUTLINE_MIN, minValue=0.0, maxValue=100.0),
            self.tr("Under intersection and outline, the density from which a pixel is inside the outline."))
        self.add_parameter(
            QgsProcessingParameterEnum(
                self.COMBINE, self.tr("Combination of density and sealed class"), options=self.O_COMBINE,
                defaultValue=self.O_COMBINE.index(DEFAULT_COMBINE)),
            self.tr("How density and sealed class combine into the mask (union, intersection, outline)."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.SEALED_SHARE, self.tr("Minimum share of a pixel in the sealed class (percent)"),
                compat.ProcessingNumberParameterType.Double, DEFAULT_SEALED_SHARE, minValue=0.001, maxValue=100.0),
            self.tr("The share of a pixel's area in the sealed class from which it counts as sealed."))
        self.add_parameter(
            QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Sealing mask")),
            self.tr("The sealing mask GeoTIFF."))
        self.addOutput(QgsProcessingOutputNumber(self.MASK_PIXELS, self.tr("Pixels in the mask")))

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
    NAME = "calibrate"
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

    IMD_A = "IMD_A"
    SEALING_MASK_A = "SEALING_MASK_A"
    PP_A = "PP_A"
    IBU_A = "IBU_A"
    SAMPLE_SPACING = "SAMPLE_SPACING"
    HIGH_DENSITY_PERCENTILE = "HIGH_DENSITY_PERCENTILE"
    MIN_SAMPLES = "MIN_SAMPLES"
    ADVANCED = (SAMPLE_SPACING, HIGH_DENSITY_PERCENTILE, MIN_SAMPLES)
    OUTPUT = "OUTPUT"
    NUMBERS = (("INTERCEPT", "Regression intercept a"), ("SLOPE", "Regression slope b"),
               ("R_SQUARED", "R squared of the regression"), ("RESIDUAL_SD", "Residual SD (percent)"),
               ("SAMPLES", "Samples on the sampling grid"), ("HIGH_DENSITY_MAX", "High-density maximum M"),
               ("NEW_MINIMUM", "New minimum m"))

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.add_parameter(
            QgsProcessingParameterRasterLayer(self.IMD_A, self.tr("IMD of year A (0..100)")),
            self.tr("The IMD product of year A."))
        self.add_parameter(
            QgsProcessingParameterRasterLayer(self.SEALING_MASK_A, self.tr("Sealing mask of year A")),
            self.tr("The sealing mask of year A, from imperviousness:sealingmask with IMD_A."))
        self.add_parameter(
            QgsProcessingParameterRasterLayer(self.PP_A, self.tr("PP stack of year A (with NDVI_P0)")),
            self.tr("The PP stack of year A, whose band NDVI_P0 is used."))
        self.add_parameter(
            QgsProcessingParameterRasterLayer(self.IBU_A, self.tr("IBU of year A (0/1)")),
            self.tr("The IBU product of year A, selecting the high-density pixels."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.SAMPLE_SPACING, self.tr("Sampling grid spacing (metres, multiple of the pixel size)"),
                compat.ProcessingNumberParameterType.Double, DEFAULT_SAMPLE_SPACING, minValue=0.001),
            self.tr("The spacing of the regression's sampling grid in metres."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.HIGH_DENSITY_PERCENTILE,
                self.tr("Percentile of IMD_A in IBU_A giving the high-density maximum (%)"),
                compat.ProcessingNumberParameterType.Double, DEFAULT_HIGH_DENSITY_PERCENTILE, minValue=0.001,
                maxValue=100.0),
            self.tr("The percentile P of IMD_A over the built-up pixels giving the maximum M."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.MIN_SAMPLES, self.tr("Minimum number of samples for the regression"),
                compat.ProcessingNumberParameterType.Integer, DEFAULT_MIN_SAMPLES, minValue=3),
            self.tr("The fewest samples the regression accepts."))
        self.add_parameter(
            QgsProcessingParameterFileDestination(
                self.OUTPUT, self.tr("Calibration file"), fileFilter=self.tr("JSON files (*.json)")),
            self.tr("The calibration JSON file."))
        for name, label in self.NUMBERS:
            self.addOutput(QgsProcessingOutputNumber(name, self.tr(label)))

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
        return {self.OUTPUT: output, "INTERCEPT": calibration.intercept, "SLOPE": calibration.slope,
                "R_SQUARED": regression["r_squared"], "RESIDUAL_SD": regression["residual_sd"],
                "SAMPLES": regression["samples"], "HIGH_DENSITY_MAX": calibration.high_density_max,
                "NEW_MINIMUM": calibration.new_minimum}


class ApplyCalibrationAlgorithm(ImperviousnessAlgorithm):
    NAME = "applycalibration"
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

    RAW_IMD = "RAW_IMD"
    SEALING_MASK_B = "SEALING_MASK_B"
    PP_B = "PP_B"
    CALIBRATION = "CALIBRATION"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.add_parameter(
            QgsProcessingParameterRasterLayer(self.RAW_IMD, self.tr("Raw IMD prediction of year B (RIMD)")),
            self.tr("The raw prediction RIMD of year B."))
        self.add_parameter(
            QgsProcessingParameterRasterLayer(self.SEALING_MASK_B, self.tr("Sealing mask of year B")),
            self.tr("The sealing mask of year B, from imperviousness:sealingmask with RAW_IMD."))
        self.add_parameter(
            QgsProcessingParameterRasterLayer(self.PP_B, self.tr("PP stack of year B (with NDVI_P0)")),
            self.tr("The PP stack of year B, whose band NDVI_P0 is used."))
        self.add_parameter(
            QgsProcessingParameterFile(self.CALIBRATION, self.tr("Calibration file (JSON)"), extension="json"),
            self.tr("The calibration JSON file written by imperviousness:calibrate."))
        self.add_parameter(
            QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("IMD of year B")),
            self.tr("The IMD GeoTIFF of year B."))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        self.run_core(
            run_apply_calibration, *(self.raster_path(parameters, name, context)
                                     for name in (self.RAW_IMD, self.SEALING_MASK_B, self.PP_B)),
            self.parameterAsFile(parameters, self.CALIBRATION, context), output, feedback=feedback)
        return {self.OUTPUT: output}
