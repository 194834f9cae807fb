"""Sentinel-2 L2A time series of one year to the PP feature stack (ATBD 4.2.1, SPEC section 4).

Per Sentinel-2 tile (acquisitions on one grid), in the tile's own grid and block by block:
observations are weighted by their SCL class, reflectances are harmonised across processing
baselines, and each block is reduced to the weighted 20 % quantiles of the ten bands, the weighted
90 % quantile of NDVI, the NDVI polynomial+harmonic model coefficients and the number of weighted
observations. The 10 m bands and NDVI are reduced at 10 m with the SCL brought to 10 m by nearest
neighbour; B05 B06 B07 B8A B11 B12 at their native 20 m with the native 20 m SCL, repeated to 10 m
only after the reduction. The finished features of each tile are then resampled once onto the
output grid (`merge_tiles`): the quantiles and the NDVI model bilinearly, the harmonics through
their linear coefficients (a phase is never interpolated), NOBS by nearest neighbour; where tiles
overlap the tile with the most observations gives the pixel.

Reading is a streaming pipeline (blockreader.BlockStream): each input block is decoded once, by
parallel threads, one block ahead of the kernels.
"""

import collections
import contextlib
import datetime
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..errors import ImperviousnessError
from ..io import profiles
from ..io.atomic import scratch_path
from ..io.grid import window_from_bounds, window_grid
from ..io.raster import Grid, RasterWriter, Window, count_blocks, iter_blocks, transform_bounds
from ..io.sentinel2 import REFLECTANCE_BANDS, SCL, find_acquisitions
from ..kernels.ndvi_model import (coefficient_names, day_fraction, fit_ndvi_model, linear_to_published,
                                 published_to_linear)
from ..kernels.quantiles import INVALID_CODE, weighted_quantile
from ..progress import StepProgress
from .blockreader import BackgroundWriter, BlockStream
from .resample import TileOnGrid
from .tiles import count_tile_blocks, group_tiles, tile_blocks, tile_window

# ATBD Annex 1, Table 6: weight of each SCL class 0..11.
DEFAULT_SCL_WEIGHTS = (0, 0, 0, 10, 50, 50, 50, 10, 5, 1, 1, 1)
REFLECTANCE_QUANTILE = 0.2
NDVI_QUANTILE = 0.9
MAX_SCL_WEIGHT = 1e6
DN_SCALE = 10000.0   # reflectance = harmonised DN / 10000
# 512 x 512 px x T dates per band keeps memory bounded for any raster size; a multiple of the
# 256 or 512 px internal tiles of Sentinel-2 COGs, so each input block is decoded once.
BLOCK_SIZE = 512
# DEFLATE level of the PP stack: level 1 compresses its 23 Float32 bands (with the floating-point
# predictor) twice as fast as the default 6 for a file ~2 % larger; the pixels are the same.
OUTPUT_ZLEVEL = 1


@dataclass
class PreprocessOptions:
    start_date: datetime.date = None
    end_date: datetime.date = None
    target_crs_wkt: str = None      # None: the CRS of the scenes
    pixel_size: float = 10.0
    extent: tuple = None            # (xmin, ymin, xmax, ymax), or None
    extent_crs_wkt: str = None      # CRS of the extent; None: the target CRS
    grid: Grid = None               # the output grid itself (overrides the four above), or None
    harmonic_order: int = 3
    scl_weights: tuple = DEFAULT_SCL_WEIGHTS
    bands: tuple = REFLECTANCE_BANDS
    block_size: int = BLOCK_SIZE
    threads: int = 2

    def __post_init__(self):
        self.scl_weights = check_scl_weights(self.scl_weights)


def pp_band_names(harmonic_order=3, bands=REFLECTANCE_BANDS):
    """Band descriptions of the PP stack, in order (SPEC section 4)."""
    return ([f"Q20_{band}" for band in bands] + ["Q90_NDVI"]
            + coefficient_names(harmonic_order) + ["NOBS"])


def parse_scl_weights(text):
    """'0,0,0,10,...' (12 numbers, SCL classes 0..11) to a tuple of floats, with a clear error."""
    parts = [part.strip() for part in str(text).replace(";", ",").split(",") if part.strip()]
    try:
        weights = tuple(float(part) for part in parts)
    except ValueError:
        raise ImperviousnessError(f"SCL weights must be numbers, got {text!r}.") from None
    return check_scl_weights(weights)


def check_scl_weights(weights):
    """Refuse SCL weights no run can use: wrong count, negative, non-finite, huge, or all zero.

    Weights are relative (ATBD default 0..50). Above MAX_SCL_WEIGHT their sums over a year of
    acquisitions and the weighted squares of the NDVI fit would lose precision or overflow; with
    every weight zero no pixel has a valid observation (SPEC section 10).
    """
    text = ",".join(f"{w:g}" for w in weights)
    if len(weights) != 12 or any(not math.isfinite(w) or w < 0 for w in weights):
        raise ImperviousnessError(
            f"SCL weights must be 12 non-negative numbers (SCL classes 0 to 11), got {text}.")
    if max(weights) > MAX_SCL_WEIGHT:
        raise ImperviousnessError(
            f"SCL weights must be at most {MAX_SCL_WEIGHT:g} (they are relative: the ATBD uses 0..50), "
            f"got {text}.")
    if max(weights) == 0:
        raise ImperviousnessError(
            f"SCL weights are all zero ({text}): no observation would be valid. Give at least one "
            "SCL class a positive weight (ATBD default 0,0,0,10,50,50,50,10,5,1,1,1).")
    return tuple(float(w) for w in weights)


def code_weights(scl_weights):
    """Weight of each observation code 0..15: the SCL classes 0..11, then 12..15 invalid (0)."""
    table = np.zeros(16, dtype=np.float64)
    table[:12] = scl_weights
    return table


def select_acquisitions(inputs, options):
    acquisitions = find_acquisitions(inputs)
    start = options.start_date or datetime.date.min
    end = options.end_date or datetime.date.max
    if start > end:
        raise ImperviousnessError(f"The start date {start} is after the end date {end}.")
    selected = [acq for acq in acquisitions if start <= acq.date <= end]
    if not selected:
        raise ImperviousnessError(
            f"No acquisition between {start} and {end}: the {len(acquisitions)} acquisitions found "
            f"are dated {acquisitions[0].date} to {acquisitions[-1].date}.")
    for acquisition in selected:
        acquisition.require_bands(tuple(options.bands) + (SCL,))
    return selected


def output_grid(tiles, options):
    """Target CRS (default: the scenes' one), aligned to multiples of the pixel size, over the
    union of the tiles, clipped by the optional extent."""
    crs_wkt = options.target_crs_wkt
    if not crs_wkt:
        crs_wkt = tiles[0].grid.crs_wkt
        other = next((tile for tile in tiles if not tile.grid.same_crs(tiles[0].grid)), None)
        if other is not None:
            raise ImperviousnessError(
                f"The grids of the acquisitions differ in CRS: {tiles[0].acquisitions[0].source} "
                f"is on {tiles[0].grid.describe()} but {other.acquisitions[0].source} is on "
                f"{other.grid.describe()}. Give a target CRS (e.g. EPSG:3035) to combine them.")
    corners = [transform_bounds(tile.grid.bounds, tile.grid.crs_wkt, crs_wkt) for tile in tiles]
    bounds = (min(c[0] for c in corners), min(c[1] for c in corners),
              max(c[2] for c in corners), max(c[3] for c in corners))
    if options.extent is not None:
        xmin, ymin, xmax, ymax = options.extent
        if options.extent_crs_wkt:
            xmin, ymin, xmax, ymax = transform_bounds(options.extent, options.extent_crs_wkt, crs_wkt)
        bounds = (max(bounds[0], xmin), max(bounds[1], ymin), min(bounds[2], xmax), min(bounds[3], ymax))
        if bounds[0] >= bounds[2] or bounds[1] >= bounds[3]:
            raise ImperviousnessError("The extent does not overlap the Sentinel-2 scenes.")
    return Grid.aligned(crs_wkt, bounds, options.pixel_size)


def reduce_block(arrays, factors, offsets, tau, options, pool=None):
    """The PP bands (list of 2-D float32 arrays on the 10 m grid) of one block of one tile.

    `arrays[band]` is the band's stored DN (T, h / f, w / f) at its own resolution (factor f of
    `factors`), SCL included; `offsets[band]` the per-observation BOA_ADD_OFFSET (T,); `tau` the
    day fractions (T,). Each band is reduced at its own resolution with the SCL at that
    resolution (nearest: each 20 m SCL pixel repeated over its 2 x 2 10 m pixels), and the
    result is repeated to 10 m only afterwards.

    With a `pool` (a ThreadPoolExecutor), the NDVI features and each band's quantile are tasks run
    side by side (numpy and the kernels release the GIL), each kernel on one thread: the work
    around the kernels (codes, NDVI, repeats) is then parallel too. Same results either way.
    """
    if factors["B04"] != factors["B08"]:
        raise ImperviousnessError("B04 and B08 must have the same resolution to compute NDVI.")
    weights_table = code_weights(options.scl_weights)
    scl_codes = np.where(arrays[SCL] <= 11, arrays[SCL], INVALID_CODE).astype(np.uint8)
    scl_factor = factors[SCL]
    scl_at = {factor: repeat_pixels(scl_codes, scl_factor // factor)
              for factor in {factors[band] for band in options.bands}}
    threads = 1 if pool else options.threads

    def codes_of(band):   # no-data DN (0) is invalid whatever the SCL says
        return np.where(arrays[band] == 0, np.uint8(INVALID_CODE), scl_at[factors[band]])

    def band_quantile(band):
        values, shift = harmonised_values(arrays[band], offsets[band])
        quantile = weighted_quantile(values, codes_of(band), weights_table, REFLECTANCE_QUANTILE,
                                     threads=threads)
        return [repeat_pixels((quantile + np.float32(shift)) / np.float32(DN_SCALE), factors[band])]

    def ndvi_features():
        ndvi, ndvi_codes = _ndvi(arrays["B04"], np.asarray(offsets["B04"]), arrays["B08"],
                                 np.asarray(offsets["B08"]), scl_at[factors["B04"]])
        q90_ndvi = weighted_quantile(ndvi, ndvi_codes, weights_table, NDVI_QUANTILE, threads=threads)
        coefficients = fit_ndvi_model(ndvi, _exact_lookup(weights_table, ndvi_codes), tau,
                                      options.harmonic_order, threads=threads)
        return [repeat_pixels(feature, factors["B04"]) for feature in (q90_ndvi, *coefficients)]

    # The longest task first, so that the two workers finish together.
    tasks = [ndvi_features] + [lambda band=band: band_quantile(band) for band in options.bands]
    if pool is None:
        results = [task() for task in tasks]
    else:
        results = [future.result() for future in [pool.submit(task) for task in tasks]]
    # NOBS counts observations of the 10 m grid: counting at the SCL's resolution and repeating
    # gives the same numbers for less work.
    nobs = (weights_table[scl_codes] > 0).sum(axis=0).astype(np.float32)
    return [*(feature for result in results[1:] for feature in result), *results[0],
            repeat_pixels(nobs, scl_factor)]


def _exact_lookup(table, codes):
    """table[codes] in the narrowest of uint8 / float32 / float64 that holds every weight exactly
    (the fit converts them to float64 per chunk: the same numbers, a fraction of the traffic)."""
    for dtype in (np.uint8, np.float32):
        narrow = table.astype(dtype)
        if np.array_equal(narrow.astype(np.float64), table):
            return narrow[codes]
    return table[codes]


def harmonised_values(dn, offsets):
    """(values, shift) with values + shift = DN + BOA_ADD_OFFSET of each observation (T,).

    A weighted quantile commutes with adding a constant, so when DN + offset - min(offset)
    fits 16 bits the stored uint16 DN are shifted in place of widening them to 32 bits (half
    the memory traffic; the kernel's 16-bit path). Values of no-data DN (0) do not matter:
    their code is invalid.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    low = int(offsets.min()) if offsets.size else 0
    rise = offsets - low
    expand = (slice(None),) + (np.newaxis,) * (dn.ndim - 1)
    if dn.dtype == np.uint16 and (not rise.any() or int(dn.max()) + int(rise.max()) <= 65535):
        if not rise.any():
            return dn, low
        return dn + rise.astype(np.uint16)[expand], low
    return dn.astype(np.int32) + offsets.astype(np.int32)[expand], 0


def repeat_pixels(array, factor):
    """Each pixel of the last two axes repeated factor x factor times (nearest to a finer grid)."""
    if factor == 1:
        return array
    *lead, height, width = array.shape
    wide = np.broadcast_to(array[..., :, None, :, None], (*lead, height, factor, width, factor))
    return wide.reshape(*lead, height * factor, width * factor)


def _ndvi(red_dn, red_offsets, nir_dn, nir_offsets, scl_codes):
    """NDVI from harmonised DN and its codes: the SCL code, or the invalid code (weight 0) where
    either DN is no data (0), the SCL is invalid or red + NIR is 0 (NDVI undefined).

    In float32: harmonised DN and their sums are exact there (< 2**24), and one float32
    division rounds like the float64 division rounded to float32 (53 >= 2 * 24 + 2 bits).
    One date at a time, so that the work arrays stay in the CPU cache.
    """
    ndvi = np.empty(red_dn.shape, np.float32)
    codes = np.empty(scl_codes.shape, np.uint8)
    red = np.empty(red_dn.shape[1:], np.float32)
    total = np.empty_like(red)
    valid = np.empty(red.shape, np.bool_)
    invalid = np.empty(red.shape, np.bool_)
    for t in range(red_dn.shape[0]):
        nir = ndvi[t]
        np.add(red_dn[t], np.float32(red_offsets[t]), out=red, dtype=np.float32)
        np.add(nir_dn[t], np.float32(nir_offsets[t]), out=nir, dtype=np.float32)
        np.add(nir, red, out=total)
        np.subtract(nir, red, out=nir)
        np.not_equal(scl_codes[t], INVALID_CODE, out=valid)
        for dn in (red_dn[t], nir_dn[t]):
            np.not_equal(dn, 0, out=invalid)
            valid &= invalid
        np.not_equal(total, 0, out=invalid)
        valid &= invalid
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(nir, total, out=nir)
        np.logical_not(valid, out=invalid)
        nir[invalid] = np.nan
        np.copyto(codes[t], scl_codes[t])
        codes[t][invalid] = INVALID_CODE
    return ndvi, codes


def reduce_tile(tile, window, options, progress, write):
    """Reduce `window` of a tile block by block; write(block_window, features) for each block.

    Blocks are read by a BlockStream (parallel decoding, one block ahead of the kernels).
    """
    acquisitions = tile.acquisitions
    offsets = {band: np.array([acq.offset(band) for acq in acquisitions], dtype=np.int32)
               for band in options.bands}
    tau = day_fraction([acq.date for acq in acquisitions])
    bands = tuple(options.bands) + (SCL,)
    with BlockStream(acquisitions, bands, tile.factors, threads=options.threads) as stream, \
            _task_pool(options.threads) as pool:
        for block, arrays in stream.stream(tile_blocks(window, options.block_size)):
            progress.check_cancelled()
            write(block, np.stack(reduce_block(arrays, tile.factors, offsets, tau, options, pool)))
            progress.step()


@contextlib.contextmanager
def _task_pool(threads):
    """Workers for reduce_block's tasks (None: one thread, tasks run in turn)."""
    if threads <= 1:
        yield None
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pp-reduce") as pool:
        yield pool


class _ScratchRaster(RasterWriter):
    """A tile's native features before resampling: a hidden GeoTIFF of the scratch profile
    (uncompressed, because it is written and read once, and compressing float features would
    cost as much as the reduction it follows). It lives beside the output and is always removed
    (atomic.scratch_path); the one writer writes it.
    """

    def __init__(self, path, grid, names):
        super().__init__(path, grid, len(names), np.float32, float("nan"), profile=profiles.SCRATCH, output=False)

    @contextlib.contextmanager
    def _errors(self):
        """Write failures (e.g. a full disk) name the folder and the space needed, not only the
        hidden file."""
        try:
            yield
        except (RuntimeError, ImperviousnessError) as error:
            raise ImperviousnessError(
                f"Cannot write the intermediate features of a tile in "
                f"{os.path.dirname(self.path)} (4 bytes per PP band and 10 m pixel): {error}") from None

    def __enter__(self):
        with self._errors():
            return super().__enter__()

    def write(self, window, array):
        with self._errors():
            super().write(window, array)

    def __exit__(self, exc_type, exc, traceback):
        with self._errors():
            return super().__exit__(exc_type, exc, traceback)


def model_bands(names):
    """(index of NDVI_P0, order N) of the NDVI model's 3N+1 coefficient bands in a PP stack."""
    first = names.index("NDVI_P0")
    return first, sum(name.startswith("NDVI_PHI") for name in names)


def to_linear(features, names):
    """The NDVI model bands of `features` as linear coefficients (p, c_k, s_k), in place.

    A phase cannot be interpolated (it wraps at +-pi), the linear coefficients can: a weighted
    mean of coefficient vectors is the coefficient vector of the weighted mean of the curves.
    """
    first, order = model_bands(names)
    coefficients = features[first:first + 3 * order + 1]
    coefficients[...] = published_to_linear(coefficients, order)
    return features


def to_published(features, names):
    """The inverse of to_linear: amplitudes and phases (SPEC 4) again, in place."""
    first, order = model_bands(names)
    coefficients = features[first:first + 3 * order + 1]
    coefficients[...] = linear_to_published(coefficients, order)
    return features


def merge_tiles(paths, grid, names, write, options, progress, resample=True):
    """Resample each tile's features onto the output grid and pick one tile per pixel.

    Tiles on the output grid's lattice (resample=False: the output is a window of the tile grids)
    are copied pixel for pixel. Otherwise (each tile's scratch file then holds the harmonics as
    linear coefficients) every
    feature but NOBS bilinearly — quantiles are reflectances and NDVI values, the NDVI model is
    linear in its coefficients, so an interpolated coefficient vector is the interpolated curve —
    and NOBS, a count, by nearest neighbour. The phases are recomputed from the interpolated
    linear coefficients, never interpolated themselves.

    Rule: the tile with the most observations (NOBS) at that pixel wins; on a tie, the first
    tile in the fixed tile order (CRS, then origin from west and north). Every pixel's features
    therefore come from one tile and one set of acquisitions: a datatake that two overlapping
    tiles share is never counted twice, and a pixel covered by any tile gets its values (no gap).
    write(window, features) receives each output block of len(names) bands.
    """
    bands = len(names)
    smooth = list(range(1, bands)) if resample else []
    exact = [bands] if resample else list(range(1, bands + 1))
    local = threading.local()   # each worker thread opens its own handles (GDAL is not shared)
    opened = []

    def merge_block(window):
        if not hasattr(local, "sources"):
            local.sources = [TileOnGrid(path, grid) for path in paths]
            opened.append(local.sources)
        best = np.full((window.height, window.width), -1.0, dtype=np.float32)
        merged = np.full((bands, window.height, window.width), np.nan, dtype=np.float32)
        for source in local.sources:
            interpolated, copied = source.read(window, smooth, exact)
            features = np.concatenate([interpolated, copied])
            nobs = features[-1]
            take = nobs > best   # NaN (outside the tile) never wins
            merged[:, take] = features[:, take]
            best[take] = nobs[take]
            source.flush()   # read blocks leave GDAL's cache: memory does not grow with the grid
        merged[-1][best < 0] = 0.0
        return to_published(merged, names) if resample else merged

    # Blocks are merged by `threads` workers and written in order; at most `threads` wait.
    with ThreadPoolExecutor(max_workers=max(1, options.threads), thread_name_prefix="pp-merge") as pool:
        pending = collections.deque()
        for window in iter_blocks(grid.width, grid.height, options.block_size):
            progress.check_cancelled()
            pending.append((window, pool.submit(merge_block, window)))
            if len(pending) >= max(1, options.threads):
                _write_next(pending, write, progress)
        while pending:
            _write_next(pending, write, progress)
    opened.clear()   # the scratch files are closed before they are removed


def _write_next(pending, write, progress):
    window, future = pending.popleft()
    write(window, future.result())
    progress.step()


def run_preprocess(inputs, output_path, options=None, feedback=None):
    """Write the PP stack of `inputs` to `output_path` (GeoTIFF); returns a summary dict."""
    options = options or PreprocessOptions()
    if not 1 <= options.harmonic_order <= 10:
        raise ImperviousnessError(f"HARMONIC_ORDER must be 1 to 10, got {options.harmonic_order}.")
    if options.block_size < 2 or options.block_size % 2:
        raise ImperviousnessError(f"The block size must be an even number of pixels, got {options.block_size}.")
    acquisitions = select_acquisitions(inputs, options)
    tiles = group_tiles(acquisitions, options.bands)
    grid, keep = output_grid(tiles, options), None
    if options.grid is not None:   # written onto the given grid: its pixels beyond `keep` are nodata
        grid, keep = options.grid, window_from_bounds(options.grid, grid.bounds)
        if keep.width <= 0 or keep.height <= 0:
            raise ImperviousnessError(f"The output grid {grid.describe()} does not overlap the "
                                      "Sentinel-2 scenes (within the extent).")
    plans = [(tile, window) for tile in tiles
             for window in [tile_window(tile, grid)] if window is not None]
    names = pp_band_names(options.harmonic_order, options.bands)
    direct = len(plans) == 1 and window_grid(plans[0][0].grid, plans[0][1]).same_as(grid)
    steps = sum(count_tile_blocks(window, options.block_size) for _, window in plans)
    if not direct:
        steps += count_blocks(grid.width, grid.height, options.block_size)
    progress = StepProgress(feedback, steps)
    progress.info(f"{len(acquisitions)} acquisitions from {acquisitions[0].date} to "
                  f"{acquisitions[-1].date} in {len(tiles)} tile(s); output grid {grid.describe()}.")
    metadata = {"ACQUISITIONS": len(acquisitions), "HARMONIC_ORDER": options.harmonic_order,
                "SCL_WEIGHTS": ",".join(f"{w:g}" for w in options.scl_weights),
                "FIRST_DATE": acquisitions[0].date.isoformat(),
                "LAST_DATE": acquisitions[-1].date.isoformat(), "TILES": len(plans)}
    with RasterWriter(output_path, grid, len(names), np.float32, np.nan, names,
                      metadata=metadata, zlevel=OUTPUT_ZLEVEL) as writer:
        with BackgroundWriter(writer.write) as output:   # RasterWriter.write flushes each block
            submit = output.submit if keep is None else _nodata_outside(keep, output.submit)
            if direct:
                tile, window = plans[0]
                reduce_tile(tile, window, options, progress, lambda block, features: submit(
                    Window(block.col - window.col, block.row - window.row, block.width,
                           block.height), features))
            else:
                _reduce_and_merge(plans, grid, names, output_path, submit, options, progress)
    return {"acquisitions": len(acquisitions), "tiles": len(plans), "grid": grid, "bands": names}


def _nodata_outside(keep, write):
    """`write` with every band set to NaN outside the window `keep` (the area of the scenes and
    the extent on a larger output grid: as the padding of imperviousness:aligngrid)."""
    def write_kept(window, features):
        rows = np.arange(window.row, window.row + window.height)
        cols = np.arange(window.col, window.col + window.width)
        inside = (((rows >= keep.row) & (rows < keep.row + keep.height))[:, None]
                  & ((cols >= keep.col) & (cols < keep.col + keep.width))[None, :])
        if not inside.all():
            features = np.where(inside, features, np.float32(np.nan))
        write(window, features)
    return write_kept


def _reduce_and_merge(plans, grid, names, output_path, write, options, progress):
    """Each tile's features in its own grid (scratch files), then resampled once and merged."""
    resample = not all(window_grid(tile.grid, window).same_lattice(grid) for tile, window in plans)
    with contextlib.ExitStack() as scratch:
        paths = []
        for index, (tile, window) in enumerate(plans):
            path = scratch.enter_context(scratch_path(output_path, f".tile{index}.tif"))
            with _ScratchRaster(path, window_grid(tile.grid, window), names) as native, \
                    BackgroundWriter(native.write) as background:
                reduce_tile(tile, window, options, progress,
                            lambda block, features: background.submit(Window(
                                block.col - window.col, block.row - window.row, block.width,
                                block.height), to_linear(features, names) if resample else features))
            paths.append(path)
        merge_tiles(paths, grid, names, write, options, progress, resample)

