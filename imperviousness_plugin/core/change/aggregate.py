"""The one aggregation routine: 10 m pixels to cells of R metres (SPEC 6, ATBD 4.2.4).

Every caller in the project aggregates through this module: the aggregate algorithm (IMD 100 m,
SBU, CHM at R), the change layers and the change classification. Two levels are exposed:

* `aggregate_block(values, valid, factor, method, ...)`: the array kernel. `values` is a block
  of fine pixels whose height and width are whole multiples of `factor`; each factor x factor
  square becomes one cell.
* `aggregate_raster(...)`: a whole raster, block by block, on the output grid aligned to whole
  multiples of R that covers the input.

Interpretations (SPEC 6):

* Only valid pixels count, by the one nodata rule of core.io.raster.RasterInput: the band's
  nodata value, NaN, +/-inf, and (Byte inputs) 255, the nodata value of every HRL Byte product,
  even if the file does not declare it. Pixels of a cell outside the input raster are not valid.
* mean: the mean of the valid pixels. The cell is nodata unless at least
  ceil(MIN_VALID_FRACTION x factor^2) of its pixels are valid (and always at least one), so a
  fraction of exactly 0.5 of a 10 x 10 cell needs 50 valid pixels. Byte outputs are rounded half to
  even (numpy.rint: 2.5 -> 2, 3.5 -> 4). This reproduces the official HRL IMD 2018 100 m product
  from the 10 m product pixel for pixel (tests/test_aggregate.py, Malta).
* max: the maximum of the valid pixels (the touching rule); nodata only when no pixel is valid.
  MIN_VALID_FRACTION does not apply.
* mean_change: input encoded change + 100 with 201 = zero in both years. 201 counts as 100
  (no change), then the mean with the same valid-fraction rule; a valid cell whose valid pixels
  were all 201 is 201.
* SCALE multiplies the values before aggregating (100 turns a 0/1 layer into a percentage).
  It must be > 0 (so that max and mean commute with it) and is 1 for mean_change, whose codes are
  not quantities. Integer scales are applied to the integer sums, so no rounding error enters.
* Output type: Byte input gives Byte output (nodata 255; a scaled value above 254 is refused);
  any other input gives Float32 (nodata NaN), not rounded.
* The input's pixels must nest in the R cells: square, north-up pixels, R a whole multiple of the
  pixel size, and the input origin on whole multiples of the pixel size (the EEA reference grid).
  Anything else is refused with a message naming the grid. Overviews are never read.
"""

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ImperviousnessError
from ..progress import StepProgress
from ..io.encoding import NODATA
from ..io.grid import whole_multiple
from ..io.raster import TILE_SIZE, Grid, RasterInput, RasterWriter, Window, iter_blocks, count_blocks

METHODS = ("mean", "max", "mean_change")
DEFAULT_MIN_VALID_FRACTION = 0.5
NO_CHANGE = 100
ZERO_BOTH_YEARS = 201
# Fine pixels per block edge: bounds memory (a block is at most ~4096^2 fine pixels, a few
# hundred MB of temporaries in the worst, float64 case) whatever the raster size.
FINE_BLOCK_EDGE = 4096


# ----------------------------------------------------------------------------- the array kernel

def aggregate_block(values, valid, factor, method, min_valid_fraction=DEFAULT_MIN_VALID_FRACTION,
                    scale=1):
    """Aggregate a block of fine pixels to cells of factor x factor pixels.

    values, valid: 2-D arrays of the same shape, both dimensions whole multiples of `factor`
    (`valid` is boolean; values where it is False are ignored, whatever they hold).
    Returns (result, cell_valid): float64 cell values (mean_change cells made only of 201 are
    201.0; not rounded) and a boolean array of the cells that are not nodata.
    """
    values = np.asarray(values)
    valid = np.asarray(valid, dtype=bool)
    _check_block(values, valid, factor, method, min_valid_fraction, scale)
    count = block_sum(valid, factor, np.int32)
    if method == "max":
        return _block_max(values, valid, factor, count) * scale, count > 0
    cell_valid = count >= required_valid_pixels(factor, min_valid_fraction)
    if method == "mean_change":
        is_zero_both = valid & (values == ZERO_BOTH_YEARS)
        values = np.where(is_zero_both, NO_CHANGE, values)
    sums = block_sum(np.where(valid, values, 0), factor, _sum_dtype(values, factor))
    result = _scaled(sums, scale) / np.maximum(count, 1)
    if method == "mean_change":
        all_zero_both = block_sum(is_zero_both, factor, np.int32) == count
        result[all_zero_both & cell_valid] = ZERO_BOTH_YEARS
    return result, cell_valid


def required_valid_pixels(factor, min_valid_fraction):
    """Valid pixels a mean cell needs: ceil(fraction x pixels), at least one.

    The small tolerance keeps fractions such as 0.3 (0.3 x 100 = 30.000000000000004 in floating
    point) from asking for one pixel more than the user meant.
    """
    return max(1, math.ceil(min_valid_fraction * factor * factor - 1e-9))


def block_sum(array, factor, dtype):
    """Sum of each factor x factor square, as `dtype`.

    Summed as `factor` strided column slices, then `factor` strided row slices: measured about
    three times faster than reshape(h/f, f, w/f, f).sum(axis=(1, 3)) on Byte tiles, same result.
    """
    columns = array[:, 0::factor].astype(dtype)
    for offset in range(1, factor):
        columns += array[:, offset::factor]
    cells = columns[0::factor].copy()
    for offset in range(1, factor):
        cells += columns[offset::factor]
    return cells


def _block_max(values, valid, factor, count):
    """Maximum of the valid pixels of each square as float64 (-inf where none is valid)."""
    lowest = np.iinfo(values.dtype).min if values.dtype.kind in "iu" else -np.inf
    filled = np.where(valid, values, lowest)
    columns = filled[:, 0::factor].copy()
    for offset in range(1, factor):
        np.maximum(columns, filled[:, offset::factor], out=columns)
    cells = columns[0::factor].copy()
    for offset in range(1, factor):
        np.maximum(cells, columns[offset::factor], out=cells)
    cells = cells.astype(np.float64)
    cells[count == 0] = -np.inf
    return cells


def _sum_dtype(values, factor):
    if values.dtype.kind in "iub":
        largest = max(abs(int(np.iinfo(values.dtype).min)), int(np.iinfo(values.dtype).max)) \
            if values.dtype.kind != "b" else 1
        return np.int32 if largest * factor * factor < 2 ** 31 else np.int64
    return np.float64


def _scaled(sums, scale):
    if float(scale).is_integer() and sums.dtype.kind in "iu":
        return (sums.astype(np.int64) * int(scale)).astype(np.float64)
    return sums.astype(np.float64) * float(scale)


def _check_block(values, valid, factor, method, min_valid_fraction, scale):
    if method not in METHODS:
        raise ImperviousnessError(f"Unknown aggregation method {method!r}; use one of {', '.join(METHODS)}.")
    if int(factor) != factor or factor < 1:
        raise ImperviousnessError(f"The aggregation factor must be a whole number >= 1, not {factor}.")
    if values.shape != valid.shape or values.ndim != 2:
        raise ValueError("values and valid must be 2-D arrays of the same shape")
    if values.shape[0] % factor or values.shape[1] % factor:
        raise ValueError(f"block shape {values.shape} is not a whole number of {factor} x {factor} cells")
    if not 0.0 <= min_valid_fraction <= 1.0:
        raise ImperviousnessError(f"MIN_VALID_FRACTION must lie in 0..1, not {min_valid_fraction}.")
    if not scale > 0:
        raise ImperviousnessError(f"SCALE must be greater than 0, not {scale}.")
    if method == "mean_change" and scale != 1:
        raise ImperviousnessError("SCALE must be 1 for mean_change: its values are change codes "
                                  "(change + 100, 201 = zero in both years), not quantities.")


def to_byte(result, cell_valid, name="the output"):
    """Round half to even to Byte, 255 where nodata; refuses values outside 0..254."""
    rounded = np.rint(np.where(cell_valid, result, 0))
    if cell_valid.any():
        low, high = rounded[cell_valid].min(), rounded[cell_valid].max()
        if low < 0 or high > NODATA - 1:
            raise ImperviousnessError(
                f"Aggregated values of {name} reach {low:g}..{high:g}, outside the Byte range 0..254 "
                "(255 is nodata); lower SCALE or aggregate a Float32 input.")
    return np.where(cell_valid, rounded, NODATA).astype(np.uint8)


def to_float32(result, cell_valid):
    return np.where(cell_valid, result, np.nan).astype(np.float32)


# ------------------------------------------------------------------------ grids and block plans

def check_nests(grid, name):
    """Refuse grids whose pixels cannot nest in cells aligned to multiples of R."""
    x0, px, rx, y1, ry, py = grid.geotransform
    if rx or ry or px <= 0 or abs(abs(py) - px) > 1e-9 * px or py > 0:
        raise ImperviousnessError(f"{name} must have square, north-up pixels; its grid is {grid.describe()}.")
    if not (whole_multiple(x0, px) and whole_multiple(y1, px)):
        raise ImperviousnessError(
            f"The grid of {name} ({grid.describe()}) is not aligned to whole multiples of its pixel "
            f"size {px:g}, so its pixels cannot nest in cells aligned to multiples of R; align it "
            "first (e.g. gdalwarp -tap).")


def aggregation_factor(pixel_size, resolution, name):
    ratio = resolution / pixel_size
    if resolution <= 0 or not whole_multiple(ratio) or round(ratio) < 1:
        raise ImperviousnessError(
            f"The resolution {resolution:g} must be a whole multiple of the pixel size {pixel_size:g} "
            f"of {name}.")
    return int(round(ratio))


@dataclass(frozen=True)
class AggregationPlan:
    """An output grid of R cells over fine pixels of size `fine_pixel_size`.

    `source_window` maps an output window to the fine-pixel window of any source raster on the
    same fine lattice; it may extend beyond the source (RasterInput.read pads it).
    """

    grid: Grid
    fine_pixel_size: float
    factor: int

    @classmethod
    def covering(cls, fine_grid, resolution, bounds=None, name="the input"):
        """The plan whose output grid is aligned to multiples of R and covers `bounds`."""
        check_nests(fine_grid, name)
        factor = aggregation_factor(fine_grid.pixel_size, resolution, name)
        grid = Grid.aligned(fine_grid.crs_wkt, bounds or fine_grid.bounds, factor * fine_grid.pixel_size)
        return cls(grid, fine_grid.pixel_size, factor)

    @property
    def block_cells(self):
        """Output cells per block edge: whole GTiff tiles when they fit in FINE_BLOCK_EDGE."""
        cells = max(1, FINE_BLOCK_EDGE // self.factor)
        return cells // TILE_SIZE * TILE_SIZE if cells >= TILE_SIZE else cells

    def windows(self):
        return iter_blocks(self.grid.width, self.grid.height, self.block_cells)

    def count(self):
        return count_blocks(self.grid.width, self.grid.height, self.block_cells)

    def source_window(self, window, source_grid):
        x0, _, _, y1, _, _ = self.grid.geotransform
        sx0, _, _, sy1, _, _ = source_grid.geotransform
        col = round((x0 - sx0) / self.fine_pixel_size) + window.col * self.factor
        row = round((sy1 - y1) / self.fine_pixel_size) + window.row * self.factor
        return Window(col, row, window.width * self.factor, window.height * self.factor)


# ------------------------------------------------------------------------ the raster routine

def aggregate_raster(input_path, output_path, resolution, method="mean",
                     min_valid_fraction=DEFAULT_MIN_VALID_FRACTION, scale=1, feedback=None,
                     product="auto", description=None):
    """Aggregate a raster to R (SPEC 6) and write a tiled GeoTIFF; returns the output Grid.

    product: a style key of core.styles ('imd', 'sbu', 'chm_percent', 'change', ...) giving the
    Byte colour table and the QML written beside the output; 'auto' uses 'change' for mean_change
    and otherwise copies the input's colour table (an IMD 10 m input keeps the official palette);
    None writes no style.
    """
    from ..products import styles

    if method not in METHODS:
        raise ImperviousnessError(f"Unknown aggregation method {method!r}; use one of {', '.join(METHODS)}.")
    source = RasterInput(input_path, "the input")
    plan = AggregationPlan.covering(source.grid, resolution, name=f"the input {input_path}")
    if product == "auto":
        product = "change" if method == "mean_change" else None
        color_table = _copied_color_table(source.color_table) if source.is_byte else None
    else:
        color_table = None
    if product and source.is_byte:
        color_table = styles.color_table(product)
    dtype, nodata = (np.uint8, NODATA) if source.is_byte else (np.float32, float("nan"))
    description = description or _describe(method, resolution, min_valid_fraction, scale)
    progress = StepProgress(feedback, plan.count())
    progress.info(f"Aggregating {plan.factor} x {plan.factor} pixels per cell ({method}) to "
                  f"{plan.grid.describe()}")
    metadata = {"AGGREGATION_METHOD": method, "RESOLUTION": f"{resolution:g}",
                "MIN_VALID_FRACTION": f"{min_valid_fraction:g}", "SCALE": f"{scale:g}"}
    with RasterWriter(output_path, plan.grid, 1, dtype, nodata, [description],
                      color_table=color_table, metadata=metadata) as writer:
        for window in plan.windows():
            values, valid = source.read(plan.source_window(window, source.grid))
            if method == "mean_change":
                check_change_codes(values, valid, f"the input {input_path}")
            result, cell_valid = aggregate_block(values, valid, plan.factor, method,
                                                 min_valid_fraction, scale)
            block = (to_byte(result, cell_valid, str(input_path)) if source.is_byte
                     else to_float32(result, cell_valid))
            writer.write(window, block)
            progress.step()
    if product and source.is_byte:
        styles.write_style_beside(output_path, product)
    return plan.grid


def check_change_codes(values, valid, name):
    """Refuse valid values that are not change codes 0..201 (change + 100, 201 = zero both years)."""
    codes = values[valid]
    wrong = (codes < 0) | (codes > ZERO_BOTH_YEARS) | (codes != np.floor(codes))
    if wrong.any():
        raise ImperviousnessError(
            f"{name} holds the value {codes[wrong][0]:g}; a change layer holds change + 100 "
            "(0..200), 201 = zero in both years and 255 = nodata.")


def _copied_color_table(table):
    if table is None:
        return None
    return {index: table.GetColorEntry(index) for index in range(table.GetCount())}


def _describe(method, resolution, min_valid_fraction, scale):
    what = {"mean": f"mean of valid pixels (cells with < {min_valid_fraction:g} valid are nodata)",
            "max": "maximum of valid pixels (touching rule)",
            "mean_change": "mean change + 100 (201 = zero in both years)"}[method]
    scaled = f", values x {scale:g}" if scale != 1 else ""
    return f"{what} at {resolution:g} m{scaled}"
