"""Sentinel-2 L2A time series of one year to the PP feature stack (ATBD 4.2.1, SPEC section 4).

Per output block: every acquisition's bands are read on the output grid, observations are weighted
by their SCL class, reflectances are harmonised across processing baselines, and the block is
reduced to weighted 20 % quantiles of the ten bands, the weighted 90 % quantile of NDVI, the NDVI
polynomial+harmonic model coefficients and the number of weighted observations.
"""

import datetime
import math
from dataclasses import dataclass

import numpy as np

from ..errors import ImperviousnessError
from ..kernels.ndvi_model import coefficient_names, day_fraction, fit_ndvi_model
from ..progress import StepProgress
from ..kernels.quantiles import INVALID_CODE, weighted_quantile
from ..io.raster import Grid, RasterWriter, transform_bounds, count_blocks, iter_blocks, open_on_grid, open_raster, read_window
from ..io.sentinel2 import REFLECTANCE_BANDS, SCL, find_acquisitions

# ATBD Annex 1, Table 6: weight of each SCL class 0..11.
DEFAULT_SCL_WEIGHTS = (0, 0, 0, 10, 50, 50, 50, 10, 5, 1, 1, 1)
REFLECTANCE_QUANTILE = 0.2
NDVI_QUANTILE = 0.9
MAX_SCL_WEIGHT = 1e6
DN_SCALE = 10000.0   # reflectance = harmonised DN / 10000
BLOCK_SIZE = 256     # 256 x 256 px x T dates per band keeps memory bounded for any raster size


@dataclass
class PreprocessOptions:
    start_date: datetime.date = None
    end_date: datetime.date = None
    target_crs_wkt: str = None      # None: the CRS of the scenes
    pixel_size: float = 10.0
    extent: tuple = None            # (xmin, ymin, xmax, ymax), or None
    extent_crs_wkt: str = None      # CRS of the extent; None: the target CRS
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


def native_grid(acquisitions, bands):
    """The scenes' common 10 m grid; every band of every acquisition must cover it exactly."""
    reference = None
    for acquisition in acquisitions:
        grids = {band: Grid.of_dataset(open_raster(acquisition.band_paths[band]))
                 for band in tuple(bands) + (SCL,)}
        finest = min(grids.values(), key=lambda grid: grid.pixel_size)
        for band, grid in grids.items():
            if not grid.covers_same_area(finest):
                raise ImperviousnessError(
                    f"Band {band} of {acquisition.source} ({grid.describe()}) does not cover the "
                    f"same area as its other bands ({finest.describe()}).")
        if reference is None:
            reference, reference_source = finest, acquisition.source
        elif not finest.same_as(reference):
            raise ImperviousnessError(
                f"The grids of the acquisitions differ: {acquisition.source} is on "
                f"{finest.describe()} but {reference_source} is on {reference.describe()}. "
                "Give acquisitions of one Sentinel-2 tile (one CRS and grid).")
    return reference


def output_grid(source_grid, options):
    """Default EEA-style grid: target CRS, aligned to multiples of the pixel size, optional extent."""
    crs_wkt = options.target_crs_wkt or source_grid.crs_wkt
    bounds = transform_bounds(source_grid.bounds, source_grid.crs_wkt, crs_wkt)
    if options.extent is not None:
        xmin, ymin, xmax, ymax = options.extent
        if options.extent_crs_wkt:
            xmin, ymin, xmax, ymax = transform_bounds(options.extent, options.extent_crs_wkt, crs_wkt)
        bounds = (max(bounds[0], xmin), max(bounds[1], ymin), min(bounds[2], xmax), min(bounds[3], ymax))
        if bounds[0] >= bounds[2] or bounds[1] >= bounds[3]:
            raise ImperviousnessError("The extent does not overlap the Sentinel-2 scenes.")
    return Grid.aligned(crs_wkt, bounds, options.pixel_size)


class _BandReaders:
    """Each acquisition's bands opened on the output grid (warped lazily per window)."""

    def __init__(self, acquisitions, grid, bands):
        self.acquisitions = acquisitions
        self.datasets = {}
        for index, acquisition in enumerate(acquisitions):
            for band in tuple(bands) + (SCL,):
                path = acquisition.band_paths[band]
                if band == SCL:
                    dataset = open_on_grid(path, grid, "nearest", nodata=0)
                else:
                    # Same-resolution, same-CRS sources are copied exactly; 20 m bands and
                    # reprojected ones are interpolated. DN 0 is Sentinel-2's no-data value.
                    source = Grid.of_dataset(open_raster(path))
                    exact = source.same_crs(grid) and abs(source.pixel_size - grid.pixel_size) < 1e-9
                    dataset = open_on_grid(path, grid, "nearest" if exact else "bilinear", nodata=0)
                self.datasets[index, band] = dataset

    def read(self, band, window):
        """(T, h, w) stack of one band over the window."""
        return np.stack([read_window(self.datasets[index, band], window,
                                     name=self.acquisitions[index].band_paths[band])
                         for index in range(len(self.acquisitions))])


def preprocess_block(readers, acquisitions, window, options, tau):
    """The PP bands (list of 2-D float32 arrays) for one window of the output grid."""
    offsets = {band: np.array([acq.offset(band) for acq in acquisitions], dtype=np.int32)
               for band in options.bands}
    return pp_features(lambda band: readers.read(band, window), options.bands, offsets,
                       readers.read(SCL, window), tau, options.harmonic_order,
                       options.scl_weights, options.threads)


def pp_features(read_band, bands, offsets, scl, tau, harmonic_order=3,
                scl_weights=DEFAULT_SCL_WEIGHTS, threads=2):
    """PP features of a (T, ...) time series held in memory or read on demand.

    `read_band(band)` returns the band's stored DN (T, ...) (0 = no data); `offsets[band]` the
    per-observation BOA_ADD_OFFSET (T,); `scl` the SCL classes (T, ...); `tau` the day fractions
    (T,). Bands are read one at a time so memory holds one band's series, not all of them.
    Returns float32 arrays in the order of `pp_band_names(harmonic_order, bands)`.
    """
    weights_table = code_weights(scl_weights)
    scl_codes = np.where(scl <= 11, scl, INVALID_CODE).astype(np.uint8)
    expand = (slice(None),) + (np.newaxis,) * (scl.ndim - 1)
    quantiles, harmonised = [], {}
    for band in bands:
        dn = np.asarray(read_band(band)).astype(np.int32)
        codes = np.where(dn == 0, INVALID_CODE, scl_codes).astype(np.uint8)
        values = dn + np.asarray(offsets[band], dtype=np.int32)[expand]
        quantiles.append(weighted_quantile(values, codes, weights_table, REFLECTANCE_QUANTILE,
                                           threads=threads) / DN_SCALE)
        if band in ("B04", "B08"):
            harmonised[band] = (values, codes)
    (red, red_codes), (nir, nir_codes) = harmonised["B04"], harmonised["B08"]
    ndvi, ndvi_codes = _ndvi(red, red_codes, nir, nir_codes)
    q90_ndvi = weighted_quantile(ndvi, ndvi_codes, weights_table, NDVI_QUANTILE, threads=threads)
    coefficients = fit_ndvi_model(ndvi, weights_table[ndvi_codes], tau, harmonic_order,
                                  threads=threads)
    nobs = (weights_table[scl_codes] > 0).sum(axis=0).astype(np.float32)
    return [*quantiles, q90_ndvi, *coefficients, nobs]


def _ndvi(red, red_codes, nir, nir_codes):
    """NDVI from harmonised DN; undefined observations get the invalid code (weight 0)."""
    total = (nir + red).astype(np.float32)
    valid = (red_codes != INVALID_CODE) & (nir_codes != INVALID_CODE) & (total != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = np.where(valid, (nir - red) / total, np.nan).astype(np.float32)
    return ndvi, np.where(valid, red_codes, INVALID_CODE).astype(np.uint8)


def run_preprocess(inputs, output_path, options=None, feedback=None):
    """Write the PP stack of `inputs` to `output_path` (GeoTIFF); returns a summary dict."""
    options = options or PreprocessOptions()
    if not 1 <= options.harmonic_order <= 10:
        raise ImperviousnessError(f"HARMONIC_ORDER must be 1 to 10, got {options.harmonic_order}.")
    acquisitions = select_acquisitions(inputs, options)
    grid = output_grid(native_grid(acquisitions, options.bands), options)
    tau = day_fraction([acq.date for acq in acquisitions])
    readers = _BandReaders(acquisitions, grid, options.bands)
    names = pp_band_names(options.harmonic_order, options.bands)
    progress = StepProgress(feedback, count_blocks(grid.width, grid.height, options.block_size))
    progress.info(f"{len(acquisitions)} acquisitions from {acquisitions[0].date} to "
                  f"{acquisitions[-1].date}; output grid {grid.describe()}.")
    metadata = {"ACQUISITIONS": len(acquisitions), "HARMONIC_ORDER": options.harmonic_order,
                "SCL_WEIGHTS": ",".join(f"{w:g}" for w in options.scl_weights),
                "FIRST_DATE": acquisitions[0].date.isoformat(),
                "LAST_DATE": acquisitions[-1].date.isoformat()}
    with RasterWriter(output_path, grid, len(names), np.float32, np.nan, names,
                      metadata=metadata) as writer:
        for window in iter_blocks(grid.width, grid.height, options.block_size):
            progress.check_cancelled()
            bands = preprocess_block(readers, acquisitions, window, options, tau)
            writer.write(window, np.stack(bands))
            progress.step()
    return {"acquisitions": len(acquisitions), "grid": grid, "bands": names}
