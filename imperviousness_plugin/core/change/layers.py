"""The change-layer family (SPEC 7, ATBD 4.5).

Change layers at resolution R (20 m: IMDC/IBUDC, 100 m: IMDC 100 m, SBUC) from two status layers
A and B at 10 m and the change mask CHM. Every aggregation goes through core.aggregate (the one
routine), so the change layers use exactly the same cell rules as the status aggregates.

Encoding of every change layer at R: change in percentage points + 100 (0..200), 201 = zero in
both years, 255 = nodata.

Interpretations (SPEC 7):

1. Status in percent: IMD 0..100 as is; a binary status (IBU 0/1, BINARY_STATUS) counts as 0/100.
   Values outside 0..100 (or other than 0/1 for a binary status) are refused with the file named.
   Per 10 m pixel d = B - A, encoded d + 100; 201 where A = B = 0; 255 where A, B or the CHM is
   nodata (or the pixel lies outside any of the three rasters).
2. Total change D_R = aggregate mean_change of that layer (201 counts as 100; a cell whose valid
   pixels are all 201 is 201; nodata unless MIN_VALID_FRACTION of the cell is valid).
3. Real change, per pixel: d where CHM = 1, except that a decrease counts only when
   |d| >= LOSS_FACTOR x 1 percentage point (the smallest counted increase), the ATBD's
   "sensitivity for losses reduced by a factor of 10"; otherwise 0. The real layer at R is the
   mean of that real part over the same valid pixels, with the same valid-fraction rule, rounded
   half to even.
4. Support (technical) change = D_R - real, computed from the rounded layers, so
   real + support = total exactly on every cell (in change units; encoded: real + support - 100 =
   total). Where the total is 201 both are 201, where it is nodata both are 255. Support always
   lies within -100..100 (proof in the tests' comments: per pixel d - real is 0 or d).
5. Classification (ATBD Table 5) from the status A at R (aggregated mean of A through the same
   routine, rounded half to even; a status already at R is used as is) and after = A + change:
   0 A = 0 and after = 0; 1 A = 0, after > 0; 2 A > 0, after = 0; 10 A > 0, after = A;
   11 A > 0, after > A; 12 A > 0, 0 < after < A; 255 nodata (change or status nodata).
   `after` is clamped to 0..100 first: rounding, the valid-fraction rule and the support split can
   make A + change leave the percentage range by a few points, and a status cannot. A 201 change
   cell is class 0 whatever the status layer says: the change layer itself records A = B = 0.

Grids: all inputs must share CRS and pixel size and be aligned to whole multiples of their pixel
size (then they share one pixel lattice). Extents may differ: the change layers are computed on
the overlap of the inputs (pixels outside any of them are nodata), on the grid of R cells aligned
to multiples of R that covers that overlap. A different CRS or pixel size, a grid off the lattice
or an empty overlap is refused with a message naming both grids.
"""

import contextlib

import numpy as np

from ..products import styles
from .aggregate import (DEFAULT_MIN_VALID_FRACTION, NO_CHANGE, ZERO_BOTH_YEARS, AggregationPlan,
                        aggregate_block, aggregation_factor, check_change_codes, check_nests, to_byte)
from ..errors import ImperviousnessError
from ..progress import StepProgress
from ..io.encoding import NODATA
from ..io.raster import RasterInput, RasterWriter

DEFAULT_LOSS_FACTOR = 10.0
SMALLEST_INCREASE = 1  # percentage point: the smallest increase a Byte status can show
DEFAULT_CHANGE_RESOLUTION = 20

CHANGE_ENCODING = "change + 100 (0..200), 201 = zero in both years, 255 = nodata"
CLASS_ENCODING = ("0 unchanged no imperviousness, 1 new cover, 2 loss of cover, "
                  "10 unchanged imperviousness, 11 increased, 12 decreased, 255 nodata")


# ------------------------------------------------------------------------------- array rules

def status_percent(values, valid, binary, name):
    """Status values as int16 percent (0 where not valid); refuses values outside the encoding."""
    present = values[valid]
    if present.size:
        allowed = (present == 0) | (present == 1) if binary else (present >= 0) & (present <= 100)
        allowed &= present == np.floor(present)
        if not allowed.all():
            bad = present[~allowed][0]
            expected = "0 or 1 (binary status)" if binary else "whole percentages 0..100"
            raise ImperviousnessError(
                f"{name} holds the value {bad:g}; expected {expected} and 255 as nodata.")
    percent = np.where(valid, values, 0).astype(np.int16)
    return percent * 100 if binary else percent


def pixel_change(a_percent, b_percent, valid):
    """(d, encoded): d = B - A (int16), encoded d + 100, 201 where A = B = 0, 255 where not valid."""
    d = b_percent - a_percent
    encoded = d + NO_CHANGE
    encoded[(a_percent == 0) & (b_percent == 0)] = ZERO_BOTH_YEARS
    encoded[~valid] = NODATA
    return d, encoded.astype(np.uint8)


def real_part(d, chm_flagged, loss_factor=DEFAULT_LOSS_FACTOR):
    """d where the CHM flags the pixel and d is an increase or a loss of at least
    loss_factor x 1 percentage point; 0 elsewhere."""
    counted = (d > 0) | (d <= -loss_factor * SMALLEST_INCREASE)
    return np.where(chm_flagged & counted, d, 0).astype(np.int16)


def change_block(a_percent, b_percent, chm, valid, factor, loss_factor=DEFAULT_LOSS_FACTOR,
                 min_valid_fraction=DEFAULT_MIN_VALID_FRACTION):
    """(total, real, support) Byte layers at R from 10 m status percent, CHM 0/1 and validity."""
    d, encoded = pixel_change(a_percent, b_percent, valid)
    total_mean, cell_valid = aggregate_block(encoded, valid, factor, "mean_change", min_valid_fraction)
    total = to_byte(total_mean, cell_valid, "the total change").astype(np.int16)
    real_mean, _ = aggregate_block(real_part(d, chm == 1, loss_factor), valid, factor, "mean",
                                   min_valid_fraction)
    real = np.rint(np.where(cell_valid, real_mean, 0)).astype(np.int16) + NO_CHANGE
    support = total - real + NO_CHANGE
    zero_both = total == ZERO_BOTH_YEARS
    real[zero_both], support[zero_both] = ZERO_BOTH_YEARS, ZERO_BOTH_YEARS
    real[~cell_valid], support[~cell_valid] = NODATA, NODATA
    return total.astype(np.uint8), real.astype(np.uint8), support.astype(np.uint8)


def classify_block(status_a, status_valid, change):
    """ATBD Table 5 codes from the status A at R (whole percent) and the encoded change at R."""
    change = change.astype(np.int16)
    a = np.where(status_valid, status_a, 0).astype(np.int16)
    after = np.clip(a + change - NO_CHANGE, 0, 100)
    codes = np.where(a == 0, np.where(after == 0, 0, 1),
                     np.where(after == 0, 2, np.where(after == a, 10, np.where(after > a, 11, 12))))
    codes[~status_valid] = NODATA
    codes[change == ZERO_BOTH_YEARS] = 0
    codes[change == NODATA] = NODATA
    return codes.astype(np.uint8)


# --------------------------------------------------------------------------------- grids

def check_same_lattice(reference, other):
    """Same CRS and pixel size, both on whole multiples of the pixel size; else a clear error."""
    for source in (reference, other):
        check_nests(source.grid, source.label)
    same_size = abs(reference.grid.pixel_size - other.grid.pixel_size) <= 1e-6 * reference.grid.pixel_size
    if not (same_size and reference.grid.same_crs(other.grid)):
        raise ImperviousnessError(
            f"{other.name} and {reference.name} must share one grid (CRS and pixel size): "
            f"{other.label} is {other.grid.describe()}, {reference.label} is {reference.grid.describe()}.")


def overlap_bounds(sources):
    """The common extent of the sources; an empty overlap is refused naming every grid."""
    xmin = max(s.grid.bounds[0] for s in sources)
    ymin = max(s.grid.bounds[1] for s in sources)
    xmax = min(s.grid.bounds[2] for s in sources)
    ymax = min(s.grid.bounds[3] for s in sources)
    if xmax <= xmin or ymax <= ymin:
        grids = "; ".join(f"{s.label}: {s.grid.describe()}" for s in sources)
        raise ImperviousnessError(f"The inputs do not overlap: {grids}.")
    return (xmin, ymin, xmax, ymax)


# --------------------------------------------------------------------------- raster routines

def run_change_continuous(status_a, status_b, change_mask, output_real, output_support,
                          resolution=DEFAULT_CHANGE_RESOLUTION, binary_status=False,
                          loss_factor=DEFAULT_LOSS_FACTOR,
                          min_valid_fraction=DEFAULT_MIN_VALID_FRACTION, output_total=None,
                          feedback=None):
    """Write the real, support (and optionally total) change layers at R; returns the grid at R."""
    if not loss_factor >= 0:
        raise ImperviousnessError(f"LOSS_FACTOR must be >= 0, not {loss_factor}.")
    a = RasterInput(status_a, "status A")
    b = RasterInput(status_b, "status B")
    chm = RasterInput(change_mask, "the change mask")
    for other in (b, chm):
        check_same_lattice(a, other)
    bounds = overlap_bounds((a, b, chm))
    plan = AggregationPlan.covering(a.grid, resolution, bounds, name=f"status A ({status_a})")
    progress = StepProgress(feedback, plan.count())
    progress.info(f"Change layers at {resolution:g} m on {plan.grid.describe()}")
    metadata = {"ENCODING": CHANGE_ENCODING, "RESOLUTION": f"{resolution:g}",
                "LOSS_FACTOR": f"{loss_factor:g}", "MIN_VALID_FRACTION": f"{min_valid_fraction:g}",
                "BINARY_STATUS": str(bool(binary_status))}
    layers = [("real", output_real, f"real change at {resolution:g} m: {CHANGE_ENCODING}"),
              ("support", output_support, f"support change at {resolution:g} m: {CHANGE_ENCODING}")]
    if output_total:
        layers.append(("total", output_total, f"total change at {resolution:g} m: {CHANGE_ENCODING}"))
    with contextlib.ExitStack() as stack:
        writers = {kind: stack.enter_context(RasterWriter(
            path, plan.grid, 1, np.uint8, NODATA, [description],
            color_table=styles.color_table("change"), metadata=dict(metadata, LAYER=kind)))
            for kind, path, description in layers}
        for window in plan.windows():
            blocks = dict(zip(("total", "real", "support"),
                              _change_window(plan, window, a, b, chm, binary_status, loss_factor,
                                             min_valid_fraction)))
            for kind, writer in writers.items():
                writer.write(window, blocks[kind])
            progress.step()
    for _, path, _ in layers:
        styles.write_style_beside(path, "change")
    return plan.grid


def _change_window(plan, window, a, b, chm, binary_status, loss_factor, min_valid_fraction):
    a_values, a_valid = _read(plan, window, a)
    b_values, b_valid = _read(plan, window, b)
    chm_values, chm_valid = _read(plan, window, chm)
    _check_mask(chm_values, chm_valid, chm)
    a_percent = status_percent(a_values, a_valid, binary_status, f"status A ({a.path})")
    b_percent = status_percent(b_values, b_valid, binary_status, f"status B ({b.path})")
    valid = a_valid & b_valid & chm_valid
    return change_block(a_percent, b_percent, chm_values, valid, plan.factor, loss_factor,
                        min_valid_fraction)


def _read(plan, window, source):
    """(values, valid) of the fine pixels under an output window (padded beyond the source)."""
    return source.read(plan.source_window(window, source.grid))


def _check_mask(values, valid, source):
    flags = values[valid]
    if flags.size and not ((flags == 0) | (flags == 1)).all():
        bad = flags[(flags != 0) & (flags != 1)][0]
        raise ImperviousnessError(f"The change mask ({source.path}) holds the value {bad:g}; "
                                  "expected 0 (no change), 1 (change) and 255 (nodata).")


def run_classify_change(status_a, change, output, binary_status=False,
                        min_valid_fraction=DEFAULT_MIN_VALID_FRACTION, feedback=None):
    """Classify an encoded change layer at R (ATBD Table 5); the output is on the change grid.

    status_a: the year-A status at 10 m (aggregated to R with the mean rule) or already at R.
    """
    change_in = RasterInput(change, "the change layer")
    status = RasterInput(status_a, "status A")
    check_nests(change_in.grid, f"the change layer ({change})")
    check_nests(status.grid, f"status A ({status_a})")
    if not status.grid.same_crs(change_in.grid):
        raise ImperviousnessError(
            f"status A ({status_a}, {status.grid.describe()}) and the change layer ({change}, "
            f"{change_in.grid.describe()}) must share one CRS.")
    overlap_bounds((change_in, status))
    resolution = change_in.grid.pixel_size
    factor = aggregation_factor(status.grid.pixel_size, resolution, f"status A ({status_a})")
    plan = AggregationPlan(change_in.grid, status.grid.pixel_size, factor)
    progress = StepProgress(feedback, plan.count())
    with RasterWriter(output, plan.grid, 1, np.uint8, NODATA,
                      [f"change class at {resolution:g} m (ATBD Table 5): {CLASS_ENCODING}"],
                      color_table=styles.color_table("change_class"),
                      metadata={"ENCODING": CLASS_ENCODING, "RESOLUTION": f"{resolution:g}",
                                "BINARY_STATUS": str(bool(binary_status))}) as writer:
        for window in plan.windows():
            codes, codes_valid = change_in.read(window)
            check_change_codes(codes, codes_valid, f"the change layer ({change})")
            values, valid = _read(plan, window, status)
            percent = status_percent(values, valid, binary_status, f"status A ({status_a})")
            mean, cell_valid = aggregate_block(percent, valid, factor, "mean", min_valid_fraction)
            status_r = to_byte(mean, cell_valid, "status A at R")
            writer.write(window, classify_block(status_r, cell_valid,
                                                np.where(codes_valid, codes, NODATA)))
            progress.step()
    styles.write_style_beside(output, "change_class")
    return plan.grid
