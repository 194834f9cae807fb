"""IMD calibration (ATBD 4.3.2, Figures 14 to 18; SPEC 9): regression, high density, re-scaling.

The raw U-Net density is turned into an IMD consistent with the previous year's product by a
calibration of the annual mean NDVI (NDVI_P0 of the PP stack) learnt from year A:

1. Regression. f(n) = a + b n, the ordinary least-squares line of IMD_A on NDVI_P0_A over the
   pixels of the year-A sealing mask, sampled on the 60 m grid: cells of SAMPLE_SPACING metres
   aligned to whole multiples of it in the CRS (the EEA reference grid), one pixel per cell, the
   pixel at row and column offset k // 2 inside the cell (k = spacing / pixel size; for 60 m and
   10 m pixels offset 3, the pixel whose upper-left corner is the cell centre). One pixel per cell
   (not the cell mean) keeps the samples at the pixel scale the line is applied at, while the
   spacing thins out the spatial autocorrelation of neighbouring pixels. Pixels whose IMD_A,
   mask or NDVI is nodata are skipped. Fewer than MIN_SAMPLES samples, a constant NDVI or a slope
   that is not negative (imperviousness must fall as NDVI rises) are refused.
2. High-density maximum. M = the HIGH_DENSITY_PERCENTILE (default 99) percentile of IMD_A over
   the high-density pixels: IBU_A = 1 inside the year-A mask (all pixels, not sampled; inverted
   CDF as in SPEC 4). Its NDVI counterpart n_hd = the (100 - P) percentile of NDVI_P0_A over the
   same pixels (rank-matched: the densest pixels are the least green), and f_hd = f(n_hd), the
   regression's value for high-density pixels. A regression cannot reach the extremes of the
   data it is fitted to (its predictions regress to the mean), so its high-density end is
   re-anchored to the density the year-A product actually shows there.
3. Re-scaling of min and max. u(n) = clip(f(n) / f_hd, 0, 1) is the regression's value on a
   scale where 0 = "the regression sees no imperviousness" and 1 = "high-density level". The
   calibrated density is g(n) = clip(m + (M - m) u(n), 0, 100): the scale's maximum goes to the
   high-density maximum M, its minimum to a new minimum m. The new minimum is found by Brent's
   method (scipy.optimize.brentq) so that the mean density of the impervious pixels of year A
   (mask A and IMD_A >= 1, NDVI valid) in the calibrated product, rounded to whole percent as
   written, equals their mean in IMD_A. The objective is the mean of the written Byte values,
   a non-decreasing step function of m (clipping at 0 and rounding make it non-linear), searched
   in [-100, M]; a negative m means the least impervious end of the scale is cut at 0 %. When no
   m in that range reaches the year-A mean the calibration is refused with both end values.
   The mean is evaluated on a histogram of NDVI_P0 in 1e-4 bins (each bin at its pixels' mean
   NDVI), so memory stays bounded whatever the raster size; the effect on the mean is far below
   0.01 percentage point.
4. Application (year B). IMD_B = round-half-even(g(NDVI_P0_B)) inside the year-B mask, 0 outside,
   255 where RAW_IMD or the mask is nodata or NDVI_P0_B is NaN (a pixel without observations is
   nodata even outside the mask: nothing about it was seen that year).

The calibration file (JSON) records every coefficient (a, b, their standard errors, R squared,
residual standard deviation, sample counts, M, n_hd, f_hd, m, the optimiser's convergence) and
the composed linear law g = offset + gain x NDVI between its clip points.
"""

import json
import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..products import styles
from ..errors import ImperviousnessError
from ..progress import StepProgress
from ..io import atomic
from ..io.encoding import NODATA
from ..io.grid import whole_multiple
from ..products.catalogue import hrl_name
from ..io.raster import (DEFAULT_BLOCK_SIZE, RasterInput, RasterWriter, count_blocks, iter_blocks,
                         require_same_grid, source_name)
from .sealing_mask import DEFAULT_COMBINE, check_density, mask_reading, run_sealing_mask

FORMAT = "hrl-imperviousness-imd-calibration"
FORMAT_VERSION = 1
COEFFICIENT_KEYS = ("a", "b", "M", "n_hd", "m")
NDVI_BAND = "NDVI_P0"
DEFAULT_SAMPLE_SPACING = 60.0
DEFAULT_HIGH_DENSITY_PERCENTILE = 99.0
DEFAULT_MIN_SAMPLES = 30
MINIMUM_SEARCH_LOW = -100.0
NDVI_BIN_WIDTH = 1e-4
NDVI_LOW, NDVI_HIGH = -1.0, 1.0
NDVI_BINS = int(round((NDVI_HIGH - NDVI_LOW) / NDVI_BIN_WIDTH))
IMD_DESCRIPTION = "IMD imperviousness density (%), calibrated (ATBD 4.3.2)"


# ----------------------------------------------------------------------------- inputs

def check_binary(values, valid, name, path):
    present = np.unique(values[valid])
    if present.size and not np.isin(present, (0, 1)).all():
        raise ImperviousnessError(f"{name} ({path}) holds {present.tolist()[:10]}; expected 0, 1 and 255 (nodata).")


# ----------------------------------------------------------------------------- 60 m sampling

def sample_offsets(grid, spacing):
    """(k, col_phase, row_phase): pixels per cell edge and the phase of the grid in the cells.

    Column c is sampled when (col_phase + c) % k == k // 2, row r when (row_phase + r) % k ==
    k // 2. On a grid whose origin lies on whole multiples of the pixel size the cells are aligned
    to whole multiples of `spacing` in the CRS; otherwise to the raster's upper-left corner.
    """
    pixel = abs(grid.geotransform[1])
    if abs(abs(grid.geotransform[5]) - pixel) > 1e-9 * pixel:
        raise ImperviousnessError(f"The grid must have square pixels for the sampling: {grid.describe()}.")
    ratio = spacing / pixel
    k = int(round(ratio))
    if k < 1 or not whole_multiple(ratio):
        raise ImperviousnessError(
            f"SAMPLE_SPACING ({spacing:g} m) must be a whole multiple of the pixel size ({pixel:g} m).")
    x_units, y_units = grid.geotransform[0] / pixel, grid.geotransform[3] / pixel
    if whole_multiple(x_units) and whole_multiple(y_units):
        # x grows with columns; y falls with rows, so the row phase counts down from the top.
        return k, int(round(x_units)) % k, (-int(round(y_units))) % k
    return k, 0, 0


def sample_selector(window, sampling):
    """Boolean (h, w) array of the sampled pixels of a window."""
    k, col_phase, row_phase = sampling
    cols = (col_phase + window.col + np.arange(window.width)) % k == k // 2
    rows = (row_phase + window.row + np.arange(window.height)) % k == k // 2
    return rows[:, None] & cols[None, :]


# ----------------------------------------------------------------------------- accumulators

@dataclass
class Moments:
    """Count, means and centred co-moments of (x, y), merged block by block (Chan et al.)."""

    n: int = 0
    mean_x: float = 0.0
    mean_y: float = 0.0
    sxx: float = 0.0
    syy: float = 0.0
    sxy: float = 0.0
    min_x: float = math.inf
    max_x: float = -math.inf

    def add(self, x, y):
        n_b = x.size
        if n_b == 0:
            return
        mx, my = float(x.mean()), float(y.mean())
        dx, dy = x - mx, y - my
        # numpy's pairwise sums, not BLAS dot products: BLAS sums in an order that depends on its
        # thread count, which would make the coefficients differ in the last bits between machines.
        sxx, syy, sxy = float((dx * dx).sum()), float((dy * dy).sum()), float((dx * dy).sum())
        n = self.n + n_b
        delta_x, delta_y = mx - self.mean_x, my - self.mean_y
        weight = self.n * n_b / n
        self.sxx += sxx + delta_x * delta_x * weight
        self.syy += syy + delta_y * delta_y * weight
        self.sxy += sxy + delta_x * delta_y * weight
        self.mean_x += delta_x * n_b / n
        self.mean_y += delta_y * n_b / n
        self.n = n
        self.min_x, self.max_x = min(self.min_x, float(x.min())), max(self.max_x, float(x.max()))


class NdviHistogram:
    """Counts and NDVI sums in fixed 1e-4 bins over [-1, 1] (values beyond go to the end bins)."""

    def __init__(self):
        self.counts = np.zeros(NDVI_BINS, dtype=np.int64)
        self.sums = np.zeros(NDVI_BINS, dtype=np.float64)

    def add(self, ndvi):
        if ndvi.size == 0:
            return
        index = np.clip(np.floor((ndvi - NDVI_LOW) / NDVI_BIN_WIDTH), 0, NDVI_BINS - 1).astype(np.int64)
        self.counts += np.bincount(index, minlength=NDVI_BINS)
        self.sums += np.bincount(index, weights=ndvi, minlength=NDVI_BINS)

    @property
    def total(self):
        return int(self.counts.sum())

    def occupied(self):
        """(bin mean NDVI, count) of the non-empty bins."""
        used = self.counts > 0
        return self.sums[used] / self.counts[used], self.counts[used]

    def percentile(self, percent):
        """Inverted-CDF percentile (SPEC 4), as the mean NDVI of the bin that holds it."""
        return _histogram_percentile(self.counts, percent, self.sums)


def _histogram_percentile(counts, percent, sums=None):
    """Smallest bin whose cumulative count reaches percent % of the total (inverted CDF)."""
    total = int(counts.sum())
    needed = max(math.ceil(percent * total / 100.0 - 1e-9), 1)
    index = int(np.searchsorted(np.cumsum(counts), needed))
    if sums is None:
        return index
    return float(sums[index] / counts[index])


# ----------------------------------------------------------------------------- the calibration

@dataclass
class Calibration:
    """Every coefficient of the IMD calibration; `density()` applies it (module docstring)."""

    intercept: float
    slope: float
    high_density_max: float
    high_density_ndvi: float
    new_minimum: float
    regression: dict = field(default_factory=dict)
    high_density: dict = field(default_factory=dict)
    rescaling: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    sealing_mask: dict = field(default_factory=dict)   # the year-A mask's reading (mask_reading)

    @property
    def high_density_value(self):
        """f_hd: the regression's density at the high-density NDVI."""
        return self.intercept + self.slope * self.high_density_ndvi

    def scale(self, ndvi):
        """u(n) = clip(f(n) / f_hd, 0, 1)."""
        return np.clip((self.intercept + self.slope * np.asarray(ndvi, dtype=np.float64))
                       / self.high_density_value, 0.0, 1.0)

    def density(self, ndvi, new_minimum=None):
        """g(n) = clip(m + (M - m) u(n), 0, 100), unrounded (NaN stays NaN)."""
        m = self.new_minimum if new_minimum is None else new_minimum
        return np.clip(m + (self.high_density_max - m) * self.scale(ndvi), 0.0, 100.0)

    def to_byte(self, ndvi, new_minimum=None):
        """g rounded half to even to whole percent (uint8; callers mask NaN first)."""
        return np.rint(np.nan_to_num(self.density(ndvi, new_minimum), nan=0.0)).astype(np.uint8)

    def law(self):
        """The composed linear law offset + gain x NDVI between the NDVI values of its clips."""
        factor = (self.high_density_max - self.new_minimum) / self.high_density_value
        return {"offset": self.new_minimum + factor * self.intercept, "gain": factor * self.slope,
                "ndvi_at_new_minimum": -self.intercept / self.slope,
                "ndvi_at_high_density_max": (self.high_density_value - self.intercept) / self.slope,
                "valid_between": "clip(offset + gain * NDVI_P0, 0, 100) for NDVI between the two "
                                 "values above; m below (greener), M above (less green)"}

    def to_json(self):
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "method": "ATBD 4.3.2 IMD calibration (SPEC 9); see docs/calibration.md",
            "formula": "IMD = clip(round_half_even(m + (M - m) * clip((a + b * NDVI_P0) / f_hd, 0, 1)), "
                       "0, 100) inside the sealing mask, 0 outside, 255 nodata; f_hd = a + b * n_hd",
            "coefficients": {"a": self.intercept, "b": self.slope, "M": self.high_density_max,
                             "n_hd": self.high_density_ndvi, "f_hd": self.high_density_value,
                             "m": self.new_minimum},
            "law": self.law(),
            "regression": self.regression, "high_density": self.high_density,
            "rescaling": self.rescaling, "sealing_mask": self.sealing_mask, "inputs": self.inputs,
        }

    @classmethod
    def from_json(cls, data, source="the calibration"):
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ImperviousnessError(f"{source} is not an IMD calibration file written by imperviousness:calibrate.")
        if data.get("format_version") != FORMAT_VERSION:
            raise ImperviousnessError(f"{source} has format version {data.get('format_version')}; "
                                      f"this plugin reads version {FORMAT_VERSION}.")
        coefficients = data.get("coefficients")
        if not isinstance(coefficients, dict):
            raise ImperviousnessError(f"{source} lacks the key coefficients (a, b, M, n_hd, m).")
        values = {key: _finite_coefficient(coefficients, key, source) for key in COEFFICIENT_KEYS}
        calibration = cls(values["a"], values["b"], values["M"], values["n_hd"], values["m"],
                          data.get("regression", {}), data.get("high_density", {}),
                          data.get("rescaling", {}), data.get("inputs", {}),
                          data.get("sealing_mask", {}))
        for key, rule, holds in (
                ("b", "the NDVI slope must be negative", calibration.slope < 0),
                ("M", "the high-density maximum must lie in (0, 100] %", 0 < calibration.high_density_max <= 100),
                ("n_hd", "an NDVI lies in [-1, 1]", -1 <= calibration.high_density_ndvi <= 1),
                ("a", "f_hd = a + b * n_hd must be positive", calibration.high_density_value > 0),
                ("m", f"the new minimum must lie in [{MINIMUM_SEARCH_LOW:g}, M = {calibration.high_density_max:g}]",
                 MINIMUM_SEARCH_LOW <= calibration.new_minimum <= calibration.high_density_max)):
            if not holds:
                raise ImperviousnessError(f"{source} holds coefficients no calibration produces: "
                                          f"coefficients.{key} = {values[key]:g} ({rule}).")
        return calibration

    @classmethod
    def load(cls, path):
        try:
            with open(path, encoding="utf-8") as stream:
                data = json.load(stream)
        except OSError as error:
            raise ImperviousnessError(f"Cannot read the calibration file {path}: {error}") from None
        except ValueError as error:
            raise ImperviousnessError(f"The calibration file {path} is not valid JSON: {error}") from None
        return cls.from_json(data, f"The calibration file {path}")


def _finite_coefficient(coefficients, key, source):
    if key not in coefficients:
        raise ImperviousnessError(f"{source} lacks the key coefficients.{key}.")
    value = coefficients[key]
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise ImperviousnessError(f"{source}: coefficients.{key} is {value!r}, not a finite number.")
    return number


# ----------------------------------------------------------------------------- fitting steps

def fit_regression(moments, min_samples, spacing):
    """OLS line of IMD on NDVI with its statistics; clear errors for degenerate samples."""
    n = moments.n
    if n < max(min_samples, 3):
        raise ImperviousnessError(
            f"Only {n} sample(s) on the {spacing:g} m grid fall inside the year-A sealing mask with "
            f"valid IMD_A and NDVI_P0; the regression needs at least {max(min_samples, 3)} (MIN_SAMPLES). "
            "Use a larger area, a smaller SAMPLE_SPACING, or check the mask.")
    if moments.sxx <= 1e-12 * n:
        raise ImperviousnessError(
            f"NDVI_P0 is constant ({moments.mean_x:.4f}) over the {n} samples inside the sealing mask; "
            "a regression of IMD on NDVI is undefined. Check the PP stack of year A.")
    slope = moments.sxy / moments.sxx
    intercept = moments.mean_y - slope * moments.mean_x
    residual_ss = max(moments.syy - slope * moments.sxy, 0.0)
    residual_sd = math.sqrt(residual_ss / (n - 2))
    r_squared = (moments.sxy ** 2 / (moments.sxx * moments.syy)) if moments.syy > 0 else 0.0
    if slope >= 0:
        raise ImperviousnessError(
            f"The regression slope of IMD_A on NDVI_P0_A is {slope:.3f} (not negative) over {n} samples: "
            "imperviousness must fall as NDVI rises. Check that PP_A is the NDVI stack of the same year "
            "and area as IMD_A.")
    return intercept, slope, {
        "intercept": intercept, "slope": slope, "r_squared": r_squared, "residual_sd": residual_sd,
        "intercept_se": residual_sd * math.sqrt(1.0 / n + moments.mean_x ** 2 / moments.sxx),
        "slope_se": residual_sd / math.sqrt(moments.sxx),
        "samples": n, "sample_spacing": spacing,
        "ndvi_mean": moments.mean_x, "ndvi_min": moments.min_x, "ndvi_max": moments.max_x,
        "imd_mean": moments.mean_y, "imd_sd": math.sqrt(moments.syy / (n - 1)),
    }


def high_density_anchor(imd_counts, ndvi_histogram, percentile):
    """(M, n_hd, statistics) from the high-density pixels' IMD counts and NDVI histogram."""
    pixels = int(imd_counts.sum())
    if pixels == 0:
        raise ImperviousnessError(
            "IBU_A has no built-up pixel (1) inside the year-A sealing mask with valid IMD_A and "
            "NDVI_P0; the high-density maximum is undefined. Check IBU_A and the mask.")
    maximum = float(_histogram_percentile(imd_counts, percentile))
    ndvi = ndvi_histogram.percentile(100.0 - percentile)
    if maximum <= 0:
        raise ImperviousnessError(
            f"The {percentile:g} percentile of IMD_A over the {pixels} built-up pixels is 0; the "
            "high-density maximum must be positive. Check IBU_A.")
    return maximum, ndvi, {"percentile": percentile, "maximum": maximum, "ndvi": ndvi, "pixels": pixels,
                           "imd_mean": float((np.arange(imd_counts.size) * imd_counts).sum() / pixels)}


def solve_new_minimum(calibration, histogram, target_mean, xtol=1e-6):
    """Brent's method on m: mean of the written (rounded) densities = year A's mean density.

    Returns the rescaling statistics; raises when no m in [-100, M] reaches the target.
    """
    ndvi, counts = histogram.occupied()
    total = counts.sum()
    scale = calibration.scale(ndvi)
    maximum = calibration.high_density_max

    def written_mean(m):
        values = np.clip(np.rint(m + (maximum - m) * scale), 0.0, 100.0)
        return float((values * counts).sum() / total)

    low, high = MINIMUM_SEARCH_LOW, maximum
    at_low, at_high = written_mean(low) - target_mean, written_mean(high) - target_mean
    if at_low > 0 or at_high < 0:
        raise ImperviousnessError(
            f"No new minimum in [{low:g}, {maximum:g}] keeps the mean density of the {total} impervious "
            f"pixels of year A at {target_mean:.2f} %: the calibrated mean ranges from "
            f"{at_low + target_mean:.2f} % (m = {low:g}) to {at_high + target_mean:.2f} % (m = M = "
            f"{maximum:g}). Check IBU_A (the high-density maximum) and the sealing mask.")
    if at_low == 0:
        root, result = low, None
    elif at_high == 0:
        root, result = high, None
    else:
        from scipy import optimize  # here: the plugin loads without SciPy (dependencies.py)
        root, result = optimize.brentq(lambda m: written_mean(m) - target_mean, low, high,
                                       xtol=xtol, full_output=True, disp=False)
    achieved = written_mean(root)
    unrounded = float((np.clip(root + (maximum - root) * scale, 0.0, 100.0) * counts).sum() / total)
    return root, {
        "method": "scipy.optimize.brentq on the mean of the written (rounded) densities",
        "new_minimum": root, "target_mean": target_mean, "achieved_mean": achieved,
        "residual": achieved - target_mean, "unrounded_mean": unrounded,
        "bracket": [low, high], "xtol": xtol,
        "iterations": result.iterations if result else 0,
        "function_calls": (result.function_calls if result else 0) + 2,
        "converged": bool(result.converged) if result else True,
        "impervious_pixels": int(total),
    }


# ----------------------------------------------------------------------------- calibrate

def run_calibrate(imd_a, sealing_mask_a, pp_a, ibu_a, output,
                  sample_spacing=DEFAULT_SAMPLE_SPACING,
                  high_density_percentile=DEFAULT_HIGH_DENSITY_PERCENTILE,
                  min_samples=DEFAULT_MIN_SAMPLES, feedback=None):
    """Fit the calibration on year A, write it as JSON to `output` and return the Calibration."""
    if not 0 < high_density_percentile <= 100:
        raise ImperviousnessError(
            f"HIGH_DENSITY_PERCENTILE must lie in (0, 100], not {high_density_percentile:g}.")
    if not sample_spacing > 0:
        raise ImperviousnessError(f"SAMPLE_SPACING must be positive, not {sample_spacing:g}.")
    imd = RasterInput(imd_a, "IMD_A")
    mask = RasterInput(sealing_mask_a, "SEALING_MASK_A")
    ndvi = RasterInput(pp_a, "PP_A", band=NDVI_BAND)
    ibu = RasterInput(ibu_a, "IBU_A")
    grid = require_same_grid([imd, mask, ndvi, ibu], "calibrate")
    sampling = sample_offsets(grid, sample_spacing)
    moments, impervious, high_density_ndvi = Moments(), NdviHistogram(), NdviHistogram()
    imd_counts = np.zeros(101, dtype=np.int64)
    impervious_sum, mask_pixels = 0, 0
    progress = StepProgress(feedback, count_blocks(grid.width, grid.height) + 1)
    for window in iter_blocks(grid.width, grid.height, DEFAULT_BLOCK_SIZE):
        (density, density_valid), (sealed, mask_valid), (built, built_valid) = (
            imd.read(window), mask.read(window), ibu.read(window))
        green = ndvi.read_float(window, dtype=np.float64)
        check_density(density, density_valid, "IMD_A", imd_a)
        check_binary(sealed, mask_valid, "SEALING_MASK_A", sealing_mask_a)
        check_binary(built, built_valid, "IBU_A", ibu_a)
        usable = density_valid & mask_valid & (sealed == 1) & ~np.isnan(green)
        mask_pixels += int(usable.sum())
        samples = usable & sample_selector(window, sampling)
        moments.add(green[samples], density[samples].astype(np.float64))
        dense = usable & built_valid & (built == 1)
        imd_counts += np.bincount(density[dense].astype(np.int64), minlength=101)[:101]
        high_density_ndvi.add(green[dense])
        impervious_pixels = usable & (density >= 1)
        impervious.add(green[impervious_pixels])
        impervious_sum += int(density[impervious_pixels].astype(np.int64).sum())
        progress.step()
    if mask_pixels == 0:
        raise ImperviousnessError(
            f"SEALING_MASK_A ({sealing_mask_a}) holds no sealed pixel (1) with valid IMD_A and NDVI_P0; "
            "the calibration needs sealed pixels. Check the mask and the PP stack.")
    intercept, slope, regression = fit_regression(moments, min_samples, sample_spacing)
    regression["sample_pixel"] = (f"one pixel per {sample_spacing:g} m cell (cells aligned to whole multiples "
                                  f"of {sample_spacing:g} m): row and column offset {sampling[0] // 2} "
                                  "from the cell's upper-left pixel")
    regression["mask_pixels"] = mask_pixels
    maximum, hd_ndvi, high_density = high_density_anchor(imd_counts, high_density_ndvi, high_density_percentile)
    calibration = Calibration(intercept, slope, maximum, hd_ndvi, 0.0, regression, high_density)
    high_density["regression_value"] = calibration.high_density_value
    if calibration.high_density_value <= 0:
        raise ImperviousnessError(
            f"The regression predicts {calibration.high_density_value:.2f} % at the high-density NDVI "
            f"({hd_ndvi:.4f}); it must be positive for the re-scaling. Check the sealing mask and IBU_A.")
    if impervious.total == 0:
        raise ImperviousnessError("The year-A sealing mask holds no impervious pixel (IMD_A >= 1); "
                                  "the mean density to keep is undefined.")
    target = impervious_sum / impervious.total
    calibration.new_minimum, calibration.rescaling = solve_new_minimum(calibration, impervious, target)
    calibration.inputs = {"IMD_A": source_name(imd_a), "SEALING_MASK_A": str(sealing_mask_a), "PP_A": str(pp_a),
                          "IBU_A": source_name(ibu_a), "grid": grid.describe(),
                          "geotransform": list(grid.geotransform), "size": [grid.width, grid.height]}
    calibration.sealing_mask = mask_reading(sealing_mask_a)
    atomic.write_json(output, calibration.to_json())
    progress.step()
    _report_calibration(progress, calibration)
    return calibration


def _report_calibration(progress, calibration):
    r, h, s = calibration.regression, calibration.high_density, calibration.rescaling
    progress.info(
        f"Regression IMD = {r['intercept']:.3f} + ({r['slope']:.3f}) x NDVI_P0 over {r['samples']} samples "
        f"({r['sample_spacing']:g} m grid): R squared {r['r_squared']:.3f}, residual SD {r['residual_sd']:.2f}, "
        f"SE(a) {r['intercept_se']:.3f}, SE(b) {r['slope_se']:.3f}.")
    progress.info(
        f"High-density maximum M = {h['maximum']:g} % (P{h['percentile']:g} of IMD_A over {h['pixels']} "
        f"built-up pixels); NDVI there {h['ndvi']:.4f}, regression value {h['regression_value']:.2f} %.")
    progress.info(
        f"New minimum m = {s['new_minimum']:.4f} (Brent: {s['iterations']} iterations, {s['function_calls']} "
        f"evaluations, converged {s['converged']}); mean density of {s['impervious_pixels']} impervious "
        f"pixels {s['achieved_mean']:.3f} % versus year A {s['target_mean']:.3f} % (residual {s['residual']:+.4f}).")


# ----------------------------------------------------------------------------- apply

def run_apply_calibration(raw_imd, sealing_mask_b, pp_b, calibration, output, feedback=None):
    """Write IMD_B (Byte 0..100, 255 nodata) from NDVI_P0_B inside the year-B mask; returns stats.

    calibration: a Calibration or the path of its JSON file.
    """
    source = "(in memory)"
    if not isinstance(calibration, Calibration):
        source = str(calibration)
        calibration = Calibration.load(calibration)
    raw = RasterInput(raw_imd, "RAW_IMD")
    mask = RasterInput(sealing_mask_b, "SEALING_MASK_B")
    ndvi = RasterInput(pp_b, "PP_B", band=NDVI_BAND)
    grid = require_same_grid([raw, mask, ndvi], "applycalibration")
    stats = {"valid": 0, "mask": 0, "impervious": 0, "imd_sum": 0, "raw_sum_in_mask": 0}
    progress = StepProgress(feedback, count_blocks(grid.width, grid.height))
    metadata = {"CALIBRATION": source,
                "INTERCEPT": f"{calibration.intercept:.6f}", "SLOPE": f"{calibration.slope:.6f}",
                "HIGH_DENSITY_MAX": f"{calibration.high_density_max:g}",
                "HIGH_DENSITY_NDVI": f"{calibration.high_density_ndvi:.6f}",
                "NEW_MINIMUM": f"{calibration.new_minimum:.6f}"}
    readings = {"A": calibration.sealing_mask.get("rule", "unknown"), "B": mask_reading(sealing_mask_b)["rule"]}
    metadata.update(SEALING_MASK_A_RULE=readings["A"], SEALING_MASK_B_RULE=readings["B"])
    if readings["A"] != readings["B"] and not any(rule.startswith("unknown") for rule in readings.values()):
        progress.info(f"Warning: the year-A sealing mask ({readings['A']}) and the year-B mask "
                      f"({readings['B']}) were made with different readings; IMD_B then mixes them.")
    with RasterWriter(output, grid, 1, np.uint8, NODATA, [IMD_DESCRIPTION],
                      color_table=styles.color_table("imd"), metadata=metadata) as writer:
        for window in iter_blocks(grid.width, grid.height, DEFAULT_BLOCK_SIZE):
            (density, raw_valid), (sealed, mask_valid) = raw.read(window), mask.read(window)
            green = ndvi.read_float(window, dtype=np.float64)
            check_density(density, raw_valid, "RAW_IMD", raw_imd)
            check_binary(sealed, mask_valid, "SEALING_MASK_B", sealing_mask_b)
            valid = raw_valid & mask_valid & ~np.isnan(green)
            inside = valid & (sealed == 1)
            imd = np.zeros(density.shape, dtype=np.uint8)
            imd[inside] = calibration.to_byte(green[inside])
            imd[~valid] = NODATA
            writer.write(window, imd)
            stats["valid"] += int(valid.sum())
            stats["mask"] += int(inside.sum())
            stats["impervious"] += int((inside & (imd >= 1)).sum())
            stats["imd_sum"] += int(imd[inside].astype(np.int64).sum())
            stats["raw_sum_in_mask"] += int(density[inside].astype(np.int64).sum())
            progress.step()
    styles.write_style_beside(output, "imd")
    stats["mean_density_impervious"] = stats["imd_sum"] / stats["impervious"] if stats["impervious"] else None
    stats["mean_raw_in_mask"] = stats["raw_sum_in_mask"] / stats["mask"] if stats["mask"] else None
    stats["year_a_mean_density"] = calibration.rescaling.get("target_mean")
    stats["sealing_mask_rules"] = readings
    if stats["mask"] == 0:
        progress.info("Warning: the year-B sealing mask holds no valid pixel; IMD_B is 0 everywhere.")
    else:
        progress.info(
            f"IMD_B: {stats['mask']} pixels in the sealing mask, {stats['impervious']} impervious (>= 1 %); "
            f"mean density of impervious pixels {stats['mean_density_impervious'] or 0:.2f} % "
            f"(year A {stats['year_a_mean_density'] or float('nan'):.2f} %); mean raw density in the "
            f"mask {stats['mean_raw_in_mask']:.2f} %.")
    return stats


# ----------------------------------------------------------------------------- the demo chain

def run_imd_calibration(imd_a, ibu_a, pp_a, clcplus_a, raw_imd_b, pp_b, clcplus_b, out_dir,
                        year_a, year_b, sealed_values="1", sealed_field=None,
                        threshold=None, combine=DEFAULT_COMBINE, feedback=None, sealed_share=None):
    """The whole IMD calibration of ATBD Figures 14 to 18 for the demo; returns paths and results.

    Writes into out_dir: IMD_MSK_<A>_010m.tif (mask of year A from clcplus_a and IMD_A),
    IMD_MSK_<B>_010m.tif (from clcplus_b and the raw prediction), IMD_calibration_<A>.json and
    IMD_<B>_010m.tif. clcplus_*: a raster of class codes or a polygon layer (see sealing_mask).
    """
    from .sealing_mask import DEFAULT_SEALED_SHARE, DEFAULT_THRESHOLD
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    sealed_share = DEFAULT_SEALED_SHARE if sealed_share is None else sealed_share
    out_dir = os.path.abspath(str(out_dir))
    os.makedirs(out_dir, exist_ok=True)
    paths = {key: os.path.join(out_dir, hrl_name(product, year_a, year_b))   # the product catalogue's names
             for key, product in (("mask_a", "IMD_MSK_A"), ("mask_b", "IMD_MSK_B"),
                                  ("calibration", "CALIBRATION"), ("imd_b", "IMD_B"))}
    options = {"sealed_values": sealed_values, "sealed_field": sealed_field, "threshold": threshold,
               "combine": combine, "sealed_share": sealed_share, "feedback": feedback}
    mask_a = run_sealing_mask(imd_a, clcplus_a, paths["mask_a"], **options)
    mask_b = run_sealing_mask(raw_imd_b, clcplus_b, paths["mask_b"], **options)
    calibration = run_calibrate(imd_a, paths["mask_a"], pp_a, ibu_a, paths["calibration"], feedback=feedback)
    applied = run_apply_calibration(raw_imd_b, paths["mask_b"], pp_b, calibration, paths["imd_b"], feedback=feedback)
    return dict(paths, calibration_result=calibration, mask_a_stats=mask_a, mask_b_stats=mask_b,
                imd_b_stats=applied)
