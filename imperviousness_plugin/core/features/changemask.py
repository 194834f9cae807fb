"""CHM, the change mask of ATBD 4.2.5 (SPEC section 5): hysteresis thresholds on RMSD per EEA tile.

Within each EEA 100 km tile, the lower threshold is the 97.5th and the upper the 99th percentile of
the tile's valid RMSD values (`numpy.percentile`, linear interpolation). Patches are 8-connected
components of pixels with RMSD >= lower (OpenCV `connectedComponentsWithStats`); a patch is kept
when one of its pixels reaches the upper threshold (hysteresis), then kept patches smaller than
MIN_SIZE pixels are removed. Output: Byte, 1 change, 0 no change, 255 where RMSD is nodata.

Interpretations (each one a choice where the ATBD or SPEC leaves room):
- Tiles are cells of 100 000 m aligned to multiples of 100 000 m in the raster's own CRS: in
  EPSG:3035 these are the cells of the EEA reference grid, named like it (``100kmE44N29``: the
  cell's lower-left corner in units of 100 km). In another projected CRS the same rule gives
  100 km cells of that CRS (same naming, but they are not EEA cells); CRS units other than metres
  are converted (e.g. US feet). A geographic CRS (degrees) is refused: reproject RMSD to
  EPSG:3035 first. A raster without CRS is taken to be in metres.
- Pixels belong to the tile that holds their centre; on grids aligned to the pixel size (the EEA
  grid) tile borders fall on pixel edges, so this is exact.
- A tile is processed on its own (the raster's intersection with the cell): memory is bounded by
  one tile (about 13 bytes per pixel: 10000 x 10000 px at 10 m need about 1.3 GB), not by the
  raster. Consequently patches are cut at tile borders: a patch crossing a border is judged as
  two patches (hysteresis and minimum size on each side separately), exactly as when the service
  processes its 100 km tiles one by one.
- "Reaches the upper threshold" means RMSD >= upper. Comparisons are exact: a threshold is
  compared with Float32 RMSD values as the smallest Float32 not below it.
- A pixel with RMSD exactly 0 (identical curves in both years) is never a change, even when ties
  put the lower percentile at 0 (a tile without any change would otherwise be flagged entirely).
- LOWER_THRESHOLD / UPPER_THRESHOLD, when given, replace the respective percentile in every tile;
  either may be given alone. If the upper threshold ends up below the lower one, hysteresis keeps
  every patch (each of its pixels is >= lower > upper).
- A tile without any valid pixel is 255 there. RMSD nodata follows the one rule of
  core.io.raster.RasterInput: the input's own nodata value, NaN and +/-inf.
"""

import csv
import io
import math
from dataclasses import asdict, dataclass

import numpy as np

from ..products import styles
from ..errors import ImperviousnessError
from ..progress import StepProgress
from ..io import atomic
from ..io.encoding import NODATA
from ..io.raster import Grid, RasterInput, RasterWriter, Window, spatial_reference

EEA_TILE_SIZE_M = 100_000.0
DEFAULT_LOWER_PERCENTILE = 97.5
DEFAULT_UPPER_PERCENTILE = 99.0
DEFAULT_MIN_SIZE = 8


@dataclass
class ChangeMaskOptions:
    lower_percentile: float = DEFAULT_LOWER_PERCENTILE
    upper_percentile: float = DEFAULT_UPPER_PERCENTILE
    min_size: int = DEFAULT_MIN_SIZE
    lower_threshold: float = None   # absolute value replacing the lower percentile
    upper_threshold: float = None   # absolute value replacing the upper percentile

    def validate(self):
        for name in ("lower_percentile", "upper_percentile"):
            value = getattr(self, name)
            if not 0.0 <= value <= 100.0:
                raise ImperviousnessError(f"{name.upper()} must be between 0 and 100, got {value}.")
        if self.lower_percentile > self.upper_percentile:
            raise ImperviousnessError(
                f"LOWER_PERCENTILE ({self.lower_percentile}) must not exceed UPPER_PERCENTILE "
                f"({self.upper_percentile}).")
        for name in ("lower_threshold", "upper_threshold"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ImperviousnessError(f"{name.upper()} must be a finite number, got {value}.")
        if (self.lower_threshold is not None and self.upper_threshold is not None
                and self.lower_threshold > self.upper_threshold):
            raise ImperviousnessError(
                f"LOWER_THRESHOLD ({self.lower_threshold}) must not exceed UPPER_THRESHOLD "
                f"({self.upper_threshold}).")
        if int(self.min_size) != self.min_size or self.min_size < 1:
            raise ImperviousnessError(f"MIN_SIZE must be a whole number >= 1, got {self.min_size}.")


@dataclass(frozen=True)
class Tile:
    """One EEA cell's intersection with the raster: its id, pixel window and map bounds."""

    tile_id: str
    window: Window
    bounds: tuple


@dataclass
class TileResult:
    """What the change mask did in one tile (listed in OUTPUT_THRESHOLDS)."""

    tile_id: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    valid_pixels: int
    lower: float          # None when the tile has no valid pixel
    upper: float
    lower_source: str     # "P97.5" (percentile) or "absolute"
    upper_source: str
    patches_kept: int
    flagged_pixels: int


# ---------------------------------------------------------------------------------------------
# Tiles


def tile_size_in_crs_units(crs_wkt):
    """100 km in the units of the raster's CRS; a geographic CRS has no such cells."""
    if not crs_wkt:
        return EEA_TILE_SIZE_M
    srs = spatial_reference(crs_wkt)
    if srs.IsGeographic() or not srs.IsProjected():
        raise ImperviousnessError(
            "The change mask works on 100 km tiles of a projected CRS, but the RMSD raster is in a "
            "geographic CRS (degrees). Reproject it to EPSG:3035 (the EEA grid) first.")
    metres_per_unit = srs.GetLinearUnits() or 1.0
    return EEA_TILE_SIZE_M / metres_per_unit


def _runs(cell_of_pixel):
    """Consecutive runs of equal cell indices: [(cell, first pixel, pixel count), ...]."""
    starts = np.concatenate(([0], np.flatnonzero(np.diff(cell_of_pixel)) + 1))
    ends = np.concatenate((starts[1:], [len(cell_of_pixel)]))
    return [(int(cell_of_pixel[s]), int(s), int(e - s)) for s, e in zip(starts, ends)]


def eea_tiles(grid):
    """The raster's parts in 100 km cells aligned to multiples of 100 km, north to south, west to east.

    A pixel belongs to the cell that holds its centre. Ids follow the EEA reference grid:
    100kmE{x // 100 km}N{y // 100 km} of the cell's lower-left corner.
    """
    x0, px, rot_x, y1, rot_y, py = grid.geotransform
    if rot_x or rot_y:
        raise ImperviousnessError("The RMSD raster is rotated; the change mask needs a north-up grid.")
    size = tile_size_in_crs_units(grid.crs_wkt)
    column_cells = np.floor((x0 + (np.arange(grid.width) + 0.5) * px) / size).astype(np.int64)
    row_cells = np.floor((y1 + (np.arange(grid.height) + 0.5) * py) / size).astype(np.int64)
    tiles = []
    for north, row, height in _runs(row_cells):
        for east, col, width in _runs(column_cells):
            xs = (x0 + col * px, x0 + (col + width) * px)
            ys = (y1 + row * py, y1 + (row + height) * py)
            tiles.append(Tile(f"100kmE{east}N{north}", Window(col, row, width, height),
                              (min(xs), min(ys), max(xs), max(ys))))
    return tiles


# ---------------------------------------------------------------------------------------------
# Thresholds and patches


def percentile_thresholds(valid_values, lower_percentile, upper_percentile):
    """numpy.percentile (linear) of the valid values at both percentiles, as Python floats.

    `valid_values` is overwritten (partitioned in place) to spare a copy of a whole tile.
    """
    lower, upper = np.percentile(valid_values, [lower_percentile, upper_percentile],
                                 method="linear", overwrite_input=True)
    return float(lower), float(upper)


def _at_least(threshold, dtype):
    """The smallest value of `dtype` that is >= threshold, so `values >= it` is the exact test.

    NumPy compares a Float32 array with a float scalar in Float32, rounding the scalar to nearest,
    which could move a threshold below a value that is really smaller than it. The rounded value
    is compared with the threshold as a Python float: under numpy 2 (NEP 50) `float32 < float`
    is done in float32, where the rounded value always equals the threshold.
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        return threshold
    cast = dtype.type(threshold)
    if float(cast) < threshold:
        cast = np.nextafter(cast, dtype.type(np.inf))
    return cast


def change_mask(rmsd, lower, upper, min_size=DEFAULT_MIN_SIZE):
    """Hysteresis change mask of one tile: (uint8 array 0/1/255, patches kept, pixels flagged).

    `rmsd` is a 2-D float array with NaN as nodata. Patches are 8-connected components of
    0 < RMSD >= lower; a patch is kept when its maximum is >= upper and it has at least
    `min_size` pixels.
    """
    lower_cut, upper_cut = _at_least(lower, rmsd.dtype), _at_least(upper, rmsd.dtype)
    candidate = rmsd >= lower_cut
    if not lower_cut > 0:
        candidate &= rmsd > 0
    strong = rmsd >= upper_cut
    strong &= candidate
    import cv2  # here, not at the top: the plugin loads without OpenCV (dependencies.py)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        candidate.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    del candidate
    keep = np.zeros(count, dtype=bool)
    keep[labels[strong]] = True
    del strong
    keep &= stats[:, cv2.CC_STAT_AREA] >= min_size
    keep[0] = False  # label 0 is the background
    flagged = int(stats[keep, cv2.CC_STAT_AREA].sum())
    mask = keep.view(np.uint8)[labels]
    del labels
    mask[np.isnan(rmsd)] = NODATA
    return mask, int(np.count_nonzero(keep)), flagged


def tile_thresholds(rmsd, options):
    """(valid pixel count, lower, upper) of one tile; thresholds are None without valid pixels."""
    valid = ~np.isnan(rmsd)
    valid_count = int(np.count_nonzero(valid))
    lower, upper = options.lower_threshold, options.upper_threshold
    if valid_count == 0:
        return 0, None, None
    if lower is None or upper is None:
        values = rmsd[valid]
        del valid
        lower_p, upper_p = percentile_thresholds(values, options.lower_percentile,
                                                 options.upper_percentile)
        lower = lower_p if lower is None else lower
        upper = upper_p if upper is None else upper
    return valid_count, float(lower), float(upper)


def _threshold_sources(options):
    def source(absolute, percentile):
        return "absolute" if absolute is not None else f"P{percentile:g}"
    return (source(options.lower_threshold, options.lower_percentile),
            source(options.upper_threshold, options.upper_percentile))


# ---------------------------------------------------------------------------------------------
# The raster job


def process_tile(rmsd, tile, options):
    """(CHM array, TileResult) of one tile's RMSD."""
    valid_count, lower, upper = tile_thresholds(rmsd, options)
    lower_source, upper_source = _threshold_sources(options)
    if valid_count == 0:
        mask, patches, flagged = np.full(rmsd.shape, NODATA, dtype=np.uint8), 0, 0
    else:
        mask, patches, flagged = change_mask(rmsd, lower, upper, options.min_size)
    return mask, TileResult(tile.tile_id, *tile.bounds, valid_count, lower, upper,
                            lower_source, upper_source, patches, flagged)


def _describe(result):
    if result.valid_pixels == 0:
        return f"Tile {result.tile_id}: no valid RMSD pixel, nodata (255)."
    return (f"Tile {result.tile_id}: {result.valid_pixels} valid px, lower threshold "
            f"{result.lower:.6g} ({result.lower_source}), upper {result.upper:.6g} "
            f"({result.upper_source}); {result.patches_kept} patches kept, "
            f"{result.flagged_pixels} px flagged.")


def run_changemask(input_path, output_path, options=None, thresholds_path=None, feedback=None):
    """Write the CHM of the RMSD raster `input_path` (band 1) to `output_path`.

    `thresholds_path` (optional, .json or .csv; other extensions get JSON) receives one record per
    tile. Returns {"grid": Grid, "tiles": [TileResult, ...]}.
    """
    options = options or ChangeMaskOptions()
    options.validate()
    source = RasterInput(input_path, "INPUT")
    grid = source.grid
    tiles = eea_tiles(grid)
    progress = StepProgress(feedback, 2 * len(tiles))
    progress.info(f"RMSD {grid.describe()}: {len(tiles)} tile(s) of 100 km.")
    results = []
    metadata = {"LOWER_PERCENTILE": f"{options.lower_percentile:g}",
                "UPPER_PERCENTILE": f"{options.upper_percentile:g}", "MIN_SIZE": options.min_size}
    for name in ("lower_threshold", "upper_threshold"):
        if getattr(options, name) is not None:
            metadata[name.upper()] = repr(float(getattr(options, name)))
    with RasterWriter(output_path, grid, 1, np.uint8, NODATA, ["CHM"],
                      color_table=styles.color_table("chm"), metadata=metadata) as writer:
        for tile in tiles:
            progress.check_cancelled()
            # Float with NaN where not valid (the input's nodata, NaN, +/-inf: the one rule).
            rmsd = source.read_float(tile.window)
            # Blocks read for this tile are not needed again: free GDAL's cache of them.
            source.dataset.FlushCache()
            progress.step()
            mask, result = process_tile(rmsd, tile, options)
            del rmsd
            writer.write(tile.window, mask)
            del mask
            results.append(result)
            progress.info(_describe(result))
            progress.step()
    styles.write_style_beside(output_path, "chm")
    if thresholds_path:
        write_thresholds(thresholds_path, results)
    return {"grid": grid, "tiles": results}


# ---------------------------------------------------------------------------------------------
# The thresholds report


def write_thresholds(path, results):
    """One record per tile, CSV when `path` ends in .csv, else JSON; written atomically."""
    records = [asdict(result) for result in results]
    if not str(path).lower().endswith(".csv"):
        atomic.write_json(path, {"tiles": records})
        return
    stream = io.StringIO(newline="")
    writer = csv.DictWriter(stream, fieldnames=list(TileResult.__dataclass_fields__))
    writer.writeheader()
    for record in records:
        writer.writerow({key: ("" if value is None else value) for key, value in record.items()})
    atomic.write_text(path, stream.getvalue())
