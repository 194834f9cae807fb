"""Block-wise raster input and output with GDAL: the one grid type, block iterator, masked read
(RasterInput) and writer.

Every algorithm reads and writes through this module so that all inputs follow one nodata rule
and all outputs share the same properties: tiled, compressed GeoTIFF (BigTIFF when large), band descriptions, nodata, never
reading overviews (ATBD section 5), and written under a temporary name that is moved into place
only when complete, so a failed or cancelled run leaves nothing under the output name.
"""

import math
import os
import sys

import numpy as np
from osgeo import gdal, osr

from ..errors import ImperviousnessError
from . import atomic, profiles
from .encoding import NODATA
from .grid import (MAX_OUTPUT_PIXELS, Grid, Window, aligned_window, check_alignable,  # noqa: F401 (re-exported)
                   check_output_size, same_crs, spatial_reference, transform_bounds, window_grid)

gdal.UseExceptions()
osr.UseExceptions()

# GTiff tile edge; blocks handed to algorithms are multiples of it so writes fill whole tiles.
TILE_SIZE = profiles.TILE_SIZE
DEFAULT_BLOCK_SIZE = 512

_GDAL_TYPES = {
    np.dtype("uint8"): gdal.GDT_Byte,
    np.dtype("uint16"): gdal.GDT_UInt16,
    np.dtype("int16"): gdal.GDT_Int16,
    np.dtype("uint32"): gdal.GDT_UInt32,
    np.dtype("int32"): gdal.GDT_Int32,
    np.dtype("float32"): gdal.GDT_Float32,
    np.dtype("float64"): gdal.GDT_Float64,
}


# Dataset metadata of a padded copy (imperviousness:aligngrid): the file name of the raster it was
# padded from (a model's copies are temporary files; what they record of their inputs names the
# user's file instead).
ALIGNED_FROM = "ALIGNED_FROM"


def source_name(path):
    """How outputs name the input `path`: the file a padded copy was made from, else `path`."""
    dataset = gdal.OpenEx(str(path), gdal.OF_RASTER | gdal.OF_READONLY)
    origin = dataset.GetMetadataItem(ALIGNED_FROM) if dataset is not None else None
    return origin or str(path)


def iter_blocks(width, height, block_size=DEFAULT_BLOCK_SIZE):
    """The one block iterator: row-major windows of at most block_size x block_size pixels."""
    for row in range(0, height, block_size):
        for col in range(0, width, block_size):
            yield Window(col, row, min(block_size, width - col), min(block_size, height - row))


def count_blocks(width, height, block_size=DEFAULT_BLOCK_SIZE):
    return math.ceil(width / block_size) * math.ceil(height / block_size)


def open_raster(path):
    """Open a raster read-only at full resolution; overviews are never read."""
    try:
        dataset = gdal.OpenEx(str(path), gdal.OF_RASTER | gdal.OF_READONLY,
                              open_options=["OVERVIEW_LEVEL=NONE"])
    except RuntimeError as error:
        raise ImperviousnessError(f"Cannot open raster {path}: {error}") from None
    if dataset is None:
        raise ImperviousnessError(f"Cannot open raster {path}.")
    return dataset


def band_descriptions(path):
    """The band descriptions of a raster, in band order.

    A dataset from open_raster (OVERVIEW_LEVEL=NONE) reports empty band descriptions and no
    metadata (GDAL 3.6 wraps it in an overview proxy), so they are read from a plain open; no
    pixel is read from it.
    """
    try:
        dataset = gdal.OpenEx(str(path), gdal.OF_RASTER | gdal.OF_READONLY)
    except RuntimeError as error:
        raise ImperviousnessError(f"Cannot open raster {path}: {error}") from None
    if dataset is None:
        raise ImperviousnessError(f"Cannot open raster {path}.")
    return [dataset.GetRasterBand(index).GetDescription() for index in range(1, dataset.RasterCount + 1)]


def open_on_grid(path, grid, resampling="nearest", nodata=None, float_output=False):
    """Open `path` so that reading it yields pixels of `grid`.

    Rasters already on the grid are read directly; others go through an in-memory warped VRT
    (reprojection and/or resampling happen per window, so memory stays bounded). Source overviews
    are never used. `nodata` marks source pixels that must not contribute to resampling.
    `float_output` makes a resampled VRT Float32 (e.g. the share of a 0/1 raster's fine pixels
    by "average", which the source's integer type would round away).
    """
    dataset = open_raster(path)
    if Grid.of_dataset(dataset).same_as(grid):
        return dataset
    options = gdal.WarpOptions(
        format="VRT", outputBounds=grid.bounds, width=grid.width, height=grid.height,
        dstSRS=grid.crs_wkt, resampleAlg=resampling, overviewLevel="NONE",
        srcNodata=nodata, dstNodata=nodata,
        outputType=gdal.GDT_Float32 if float_output else gdal.GDT_Unknown)
    try:
        return gdal.Warp("", dataset, options=options)
    except RuntimeError as error:
        raise ImperviousnessError(f"Cannot resample {path} onto the output grid: {error}") from None


def read_window(dataset, window, band=1, name=None, out=None):
    """Read one band's window as a numpy array (into `out` when given, converted to its data
    type); a read failure names the file."""
    try:
        array = dataset.GetRasterBand(band).ReadAsArray(window.col, window.row,
                                                        window.width, window.height, buf_obj=out)
    except RuntimeError as error:
        raise ImperviousnessError(f"Cannot read {name or dataset.GetDescription()}: {error}") from None
    if array is None:
        raise ImperviousnessError(f"Cannot read {name or dataset.GetDescription()}.")
    return array


def read_window_padded(dataset, window, fill, band=1, name=None):
    """Read a window that may extend beyond the raster; pixels outside it are set to `fill`.

    Used where a block of an output grid covers more than the input (aggregation cells at the
    edge, the overlap of misaligned extents): the part inside the raster is read, the rest is
    `fill` (the caller's nodata), so outside pixels count as not valid.
    """
    col0, row0 = max(window.col, 0), max(window.row, 0)
    col1 = min(window.col + window.width, dataset.RasterXSize)
    row1 = min(window.row + window.height, dataset.RasterYSize)
    if col0 == window.col and row0 == window.row and col1 - col0 == window.width \
            and row1 - row0 == window.height:
        return read_window(dataset, window, band, name)
    dtype = gdal_array_dtype(dataset.GetRasterBand(band).DataType)
    array = np.full((window.height, window.width), fill, dtype=dtype)
    if col1 > col0 and row1 > row0:
        inside = read_window(dataset, Window(col0, row0, col1 - col0, row1 - row0), band, name)
        array[row0 - window.row:row1 - window.row, col0 - window.col:col1 - window.col] = inside
    return array


def iter_padded_blocks(dataset, window, fill, block_size=DEFAULT_BLOCK_SIZE, bands=(1,)):
    """(block, array) over `window` of `dataset` in row-major blocks of at most block_size
    pixels: `block` relative to the window, `array` (len(bands), h, w), pixels beyond the raster
    `fill`. The one padded copy: the EEA delivery's tiles and imperviousness:aligngrid."""
    for block in iter_blocks(window.width, window.height, block_size):
        inside = Window(window.col + block.col, window.row + block.row, block.width, block.height)
        yield block, np.stack([read_window_padded(dataset, inside, fill, band) for band in bands])


def gdal_array_dtype(gdal_type):
    """The numpy dtype GDAL's ReadAsArray returns for a GDAL data type."""
    from osgeo import gdal_array
    return np.dtype(gdal_array.GDALTypeCodeToNumericTypeCode(gdal_type))


def valid_mask(values, nodata=None, is_byte=False):
    """The one nodata rule: True where a pixel is valid.

    Not valid: the declared nodata value, NaN, +inf and -inf, and for Byte bands 255 (NODATA, the
    nodata of every HRL Byte layer). A Byte band that declares another nodata (e.g. 0) has both
    that value and 255 not valid: HRL Byte encodings stop at 254, so 255 is never a value, and
    tools that re-declare nodata (a 0 from a GIS export) leave the 255 fill in place.
    """
    valid = np.isfinite(values) if values.dtype.kind == "f" else np.ones(values.shape, dtype=bool)
    excluded = ([NODATA] if is_byte else []) + ([nodata] if nodata is not None and math.isfinite(nodata) else [])
    scratch = np.empty(values.shape, dtype=bool) if excluded else None   # one temporary, reused
    for value in excluded:
        valid &= np.not_equal(values, value, out=scratch)
    return valid


def find_band(descriptions, wanted, name):
    """The 1-based number of the first band described `wanted` (case and spaces ignored).

    A missing band is an error naming `name` and listing the bands present.
    """
    key = wanted.strip().upper()
    for index, description in enumerate(descriptions, start=1):
        if (description or "").strip().upper() == key:
            return index
    listed = ", ".join(d or "(no description)" for d in descriptions[:40])
    more = f" and {len(descriptions) - 40} more" if len(descriptions) > 40 else ""
    raise ImperviousnessError(f"{name} has no band described {wanted}; its bands are: {listed}{more}.")


def require_same_grid(inputs, step=None):
    """All inputs (RasterInput) share the first one's grid, else one error naming both grids."""
    first = inputs[0]
    for other in inputs[1:]:
        if not other.grid.same_as(first.grid):
            prefix = f"{step}: " if step else ""
            raise ImperviousnessError(
                f"{prefix}The inputs are on different grids: {other.label} is not on the grid of "
                f"{first.label}: {other.grid.describe()} versus {first.grid.describe()}. They must "
                "share one grid (CRS, origin, pixel size and size); resample one onto the other first.")
    return first.grid


class RasterInput:
    """The one input raster: opened once, its grid, and masked reads under one nodata rule.

    Every algorithm opens its rasters through this class (like rasterio's read(masked=True)):
    `read` gives (values, valid) for a window, `read_float` values as float with NaN where not
    valid. The nodata rule is `valid_mask`'s: the band's declared nodata, NaN and +/-inf are not
    valid, and for Byte bands 255 (NODATA) too, whatever else the band declares. Windows may
    extend beyond the raster: pixels outside it are not valid. Overviews are never read.

    `band` is the band `read` reads by default: a number, or a description looked up with
    `band_number`. `grid` (optional) reads the raster resampled onto another grid (`open_on_grid`, `resampling`,
    `float_output`); the source's nodata (the declared value, else 255 for Byte) is kept out of
    the resampling and the rule above applies to the resampled values.
    """

    def __init__(self, path, name, band=1, grid=None, resampling="nearest", float_output=False):
        self.path, self.name = str(path), name
        self._descriptions = None
        self.dataset = open_raster(path)
        # `band`: a band number, or a band description (e.g. "NDVI_P0" of a PP stack).
        self.band = self.band_number(band) if isinstance(band, str) else band
        source = self.dataset.GetRasterBand(self.band)
        self.dtype = gdal_array_dtype(source.DataType)   # of the file, before any resampling
        self.is_byte = source.DataType == gdal.GDT_Byte
        self.nodata = source.GetNoDataValue()
        self.color_table = source.GetColorTable()
        if grid is not None:
            exclude = self.nodata if self.nodata is not None else (NODATA if self.is_byte else None)
            self.dataset = open_on_grid(path, grid, resampling, exclude, float_output)
        self.grid = Grid.of_dataset(self.dataset)

    @property
    def label(self):
        """The input named for messages: its role and its file."""
        return f"{self.name} ({self.path})"

    @property
    def descriptions(self):
        """Band descriptions in band order (read once)."""
        if self._descriptions is None:
            self._descriptions = band_descriptions(self.path)
        return self._descriptions

    def band_number(self, description):
        """The 1-based number of the band described `description`; a clear error when absent."""
        return find_band(self.descriptions, description, self.label)

    def read(self, window, band=None):
        """(values, valid) of a window that may extend beyond the raster; outside is not valid."""
        band = band or self.band
        gdal_band = self.dataset.GetRasterBand(band)
        nodata = self.nodata if band == self.band else gdal_band.GetNoDataValue()
        is_byte = gdal_band.DataType == gdal.GDT_Byte or (band == self.band and self.is_byte)
        values = read_window_padded(self.dataset, window, NODATA if is_byte else 0, band, self.label)
        valid = valid_mask(values, nodata, is_byte)
        inside = self._inside(window)
        if inside is not None:
            valid &= inside
        return values, valid

    def read_float(self, window, band=None, dtype=None):
        """A window as floats with NaN where not valid (the PP-stack style).

        dtype: the float type wanted; by default the band's own float type, float32 otherwise.
        """
        values, valid = self.read(window, band)
        if dtype is None:
            dtype = values.dtype if values.dtype.kind == "f" else np.float32
        values = values.astype(dtype, copy=False)   # GDAL's fresh array: no copy when already float
        values[np.logical_not(valid, out=valid)] = np.nan   # in place: no second mask-sized array
        return values

    def _inside(self, window):
        """Boolean (h, w) of the window's pixels inside the raster, None when all are."""
        rows = np.arange(window.row, window.row + window.height)
        cols = np.arange(window.col, window.col + window.width)
        inside_rows = (rows >= 0) & (rows < self.grid.height)
        inside_cols = (cols >= 0) & (cols < self.grid.width)
        if inside_rows.all() and inside_cols.all():
            return None
        return inside_rows[:, None] & inside_cols[None, :]

    def close(self):
        self.dataset = None


class RasterWriter:
    """The one raster writer: a GeoTIFF of a named creation profile (profiles.py; the analysis
    product profile unless told) written block by block.

    Use as a context manager. Data goes to a hidden temporary file beside the output
    (atomic.atomic_path); on success it is moved over the output name, on any error (or
    cancellation) it is deleted. Each written window is flushed at once, so the order of the
    compressed tiles in the file (and hence its bytes) does not depend on GDAL_CACHEMAX.
    `output=False` for cache and scratch files (atomic.atomic_path). A side file GDAL writes
    when the dataset closes (the .aux.xml of an attribute table, with GDAL_PAM_ENABLED) is moved
    into place with the raster.
    """

    def __init__(self, path, grid, band_count, dtype, nodata, descriptions=None,
                 color_table=None, metadata=None, zlevel=None, profile=profiles.PRODUCT, output=True):
        self.path = os.path.abspath(str(path))
        self.grid = grid
        self.band_count = band_count
        self.dtype = np.dtype(dtype)
        self.nodata = nodata
        self.descriptions = list(descriptions or [])
        if self.descriptions and len(self.descriptions) != band_count:
            raise ValueError("one description per band is required")
        self.color_table = color_table
        self.metadata = metadata or {}
        self.zlevel = zlevel
        self.profile = profile
        self.output = output
        self.dataset = None
        self._atomic = None
        self._temporary = None

    def __enter__(self):
        self._atomic = atomic.atomic_path(self.path, self.output)
        temporary = self._temporary = self._atomic.__enter__()
        try:
            self.dataset = _create_gtiff(temporary, self.grid, self.band_count, self.dtype, self.path,
                                         self.profile, self.zlevel)
            self._describe()
        except BaseException:
            self.dataset = None
            self._atomic.__exit__(*sys.exc_info())
            raise
        return self

    def _describe(self):
        self.dataset.SetGeoTransform(self.grid.geotransform)
        if self.grid.crs_wkt:
            self.dataset.SetProjection(self.grid.crs_wkt)
        for key, value in self.metadata.items():
            self.dataset.SetMetadataItem(str(key), str(value))
        for index in range(self.band_count):
            band = self.dataset.GetRasterBand(index + 1)
            if self.nodata is not None:
                band.SetNoDataValue(float(self.nodata))
            if self.descriptions:
                band.SetDescription(self.descriptions[index])
            if self.color_table:
                band.SetColorTable(gdal_color_table(self.color_table))
                band.SetColorInterpretation(gdal.GCI_PaletteIndex)

    def write(self, window, array):
        """Write a (bands, h, w) or (h, w) array at `window`."""
        array = np.asarray(array)
        if array.ndim == 2:
            array = array[np.newaxis]
        if array.shape != (self.band_count, window.height, window.width):
            raise ValueError(f"block shape {array.shape} does not match the window {window}")
        for index in range(self.band_count):
            self.dataset.GetRasterBand(index + 1).WriteArray(
                array[index].astype(self.dtype, copy=False), window.col, window.row)
        flush_written(self.dataset, self.path)

    def set_attribute_table(self, table, band=1):
        """A gdal.RasterAttributeTable for `band` (GDAL keeps a GeoTIFF's in <file>.aux.xml)."""
        self.dataset.GetRasterBand(band).SetDefaultRAT(table)

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is None:
            try:
                flush_written(self.dataset, self.path)
                self.dataset = None  # closes the file: GDAL writes its last directory now
                check_closed(self.path)
                self._move_side_file()
            except ImperviousnessError:
                self._discard()
                self._atomic.__exit__(*sys.exc_info())  # removes the temporary file
                raise
        self._discard()
        return self._atomic.__exit__(exc_type, exc, traceback)

    def _move_side_file(self):
        side = self._temporary + ".aux.xml"
        if os.path.exists(side):
            with atomic.atomic_path(self.path + ".aux.xml", self.output) as target:
                os.replace(side, target)

    def _discard(self):
        """Close the dataset of a failed write quietly: its errors were reported already.

        With exceptions on, GDAL 3.6 raises from the dataset's destructor (e.g. the disk is still
        full), which Python can only print as "Exception ignored in delete_Dataset".
        """
        hook, sys.unraisablehook = sys.unraisablehook, lambda unraisable: None
        try:
            self.dataset = None
        finally:
            sys.unraisablehook = hook


def write_copy(view, path, profile=profiles.PRODUCT, output=True):
    """The writer's copy path: `view` (a GDAL dataset, typically an in-memory VRT carrying the
    final descriptions and metadata) copied to a GeoTIFF of creation `profile`, atomically,
    flushed and checked as RasterWriter's files are. Returns `path`.

    Not strict, as gdal_translate: a property GeoTIFF cannot hold is a warning, not a failure.
    """
    options = profile.creation_options(gdal_array_dtype(view.GetRasterBand(1).DataType), view.RasterCount,
                                       view.RasterXSize, view.RasterYSize)
    with atomic.atomic_path(path, output) as temporary:
        copy = None
        try:
            copy = gdal.GetDriverByName("GTiff").CreateCopy(temporary, view, strict=0, options=options)
            if copy is None:
                raise ImperviousnessError(f"Cannot write {path}.")
            flush_written(copy, path)
        finally:
            copy = None  # closes the file: GDAL writes its last directory now
        check_closed(path)
    return path


def in_profile(path, profile=profiles.PRODUCT):
    """True when the GeoTIFF at `path` holds its pixels as `profile` writes them, without
    overviews and without dead bytes, and holds all it says itself (no .aux.xml beside it): a
    byte copy of the file is then as good as `write_copy` in `profile`, and costs no decoding
    and compressing again."""
    if os.path.exists(str(path) + ".aux.xml"):
        return False
    dataset = gdal.Open(str(path))
    bands = [dataset.GetRasterBand(index) for index in range(1, dataset.RasterCount + 1)]
    blocks = {tuple(band.GetBlockSize()) for band in bands}
    types = {band.DataType for band in bands}
    if (dataset.GetDriver().ShortName != "GTiff" or len(blocks) != 1 or len(types) != 1
            or any(band.GetOverviewCount() for band in bands)):
        return False
    return (profile.describes(dataset.GetMetadata("IMAGE_STRUCTURE") or {}, blocks.pop(),
                              gdal_array_dtype(types.pop()), dataset.RasterCount)
            and _compact(path, bands))


def _compact(path, bands):
    """True when at most 1 % (or 4 KiB: headers, tags, colour table) of the file is not tile
    data. A writer that flushed windows not aligned to the tiles (predict's strips) left earlier
    versions of rewritten tiles behind as dead bytes (a quarter of a demo SD layer): such a file
    is worth writing again."""
    tile_bytes = 0
    for band in bands:
        block_x, block_y = band.GetBlockSize()
        for row in range(-(-band.YSize // block_y)):
            for column in range(-(-band.XSize // block_x)):
                tile_bytes += int(band.GetMetadataItem(f"BLOCK_SIZE_{column}_{row}", "TIFF") or 0)
    other = os.path.getsize(str(path)) - tile_bytes
    return other <= max(4096, 0.01 * os.path.getsize(str(path)))


def flush_written(dataset, path):
    """Flush a dataset being written (and reset GDAL's error state for check_closed)."""
    try:
        dataset.FlushCache()
    except RuntimeError as error:
        # The tracebacks keep this frame and GDAL's: drop their hold on the dataset, so that the
        # caller closes it (quietly) rather than the garbage collector (printing GDAL's error).
        del dataset
        error.__traceback__ = None
        raise atomic.write_error(path, error) or ImperviousnessError(f"Cannot write {path}: {error}") from None
    gdal.ErrorReset()


def check_closed(path):
    """Raise if closing the dataset written for `path` failed (e.g. the disk filled up).

    GDAL 3.6 has no Dataset.Close(): the last directory is written when the last reference goes,
    and an error there is only recorded, so it is read back from CPLGetLastErrorType.
    """
    if gdal.GetLastErrorType() >= gdal.CE_Failure:
        error = RuntimeError(gdal.GetLastErrorMsg())
        raise atomic.write_error(path, error) or ImperviousnessError(f"Cannot write {path}: {error}")


def _create_gtiff(temporary, grid, band_count, dtype, path, profile, zlevel=None):
    options = profile.creation_options(dtype, band_count, grid.width, grid.height, zlevel)
    try:
        return gdal.GetDriverByName("GTiff").Create(temporary, grid.width, grid.height, band_count,
                                                    _GDAL_TYPES[dtype], options)
    except RuntimeError as error:
        raise ImperviousnessError(f"Cannot create {path}: {error}") from None


def gdal_color_table(colors):
    table = gdal.ColorTable()
    for value, rgba in sorted(colors.items()):
        table.SetColorEntry(int(value), tuple(rgba) + (255,) * (4 - len(rgba)))
    return table


def rasterize_coverage(layer, grid, window, supersample=10):
    """Percent (uint8 0..100) of each pixel of `window` of `grid` covered by an OGR layer's polygons.

    `layer` must be in the grid's CRS (reproject it once beforehand, not per block). Each pixel is
    split into supersample x supersample sub-pixels, a sub-pixel counts as covered when its centre
    lies inside a polygon (GDAL's default rasterisation rule), and the share of covered sub-pixels
    is returned in percent, rounded down (supersample = 10 gives exact 1 % steps). The layer's
    spatial filter is set to the window for the call and cleared afterwards, so only the features
    touching the window are burnt. Memory: window pixels x supersample^2 bytes.
    """
    supersample = int(supersample)
    if supersample < 1:
        raise ValueError("supersample must be a whole number >= 1")
    x0, px, _, y0, _, py = grid.geotransform
    left, top = x0 + window.col * px, y0 + window.row * py
    right, bottom = left + window.width * px, top + window.height * py
    fine = gdal.GetDriverByName("MEM").Create(
        "", window.width * supersample, window.height * supersample, 1, gdal.GDT_Byte)
    fine.SetGeoTransform((left, px / supersample, 0.0, top, 0.0, py / supersample))
    if grid.crs_wkt:
        fine.SetProjection(grid.crs_wkt)
    layer.SetSpatialFilterRect(min(left, right), min(top, bottom), max(left, right), max(top, bottom))
    try:
        gdal.RasterizeLayer(fine, [1], layer, burn_values=[1])
    finally:
        layer.SetSpatialFilter(None)
    covered = fine.GetRasterBand(1).ReadAsArray()
    counts = covered.reshape(window.height, supersample, window.width, supersample).sum(
        axis=(1, 3), dtype=np.int32)
    return (counts * 100 // (supersample * supersample)).astype(np.uint8)
