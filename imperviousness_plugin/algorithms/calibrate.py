"""imperviousness:calibrate: the IMD calibration fitted on year A (ATBD 4.3.2, SPEC 9)."""

from ..core.status.calibration import run_calibrate
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
