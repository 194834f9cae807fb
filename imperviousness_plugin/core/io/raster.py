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
from dataclasses import dataclass

import numpy as np
from osgeo import gdal, osr

from ..errors import ImperviousnessError
from . import atomic, profiles
from .encoding import NODATA

gdal.UseExceptions()
osr.UseExceptions()

# GTiff tile edge; blocks handed to algorithms are multiples of it so writes fill whole tiles.
TILE_SIZE = profiles.TILE_SIZE
DEFAULT_BLOCK_SIZE = 512
# The largest output grid an algorithm builds: 4e9 pixels, e.g. 63 000 x 63 000 px = 630 km
# square at 10 m, forty EEA 100 km tiles, 16 GB per Float32 band. Larger areas are processed
# tile by tile; a grid beyond this is a wrong PIXEL_SIZE or extent (PIXEL_SIZE=0.001 over a
# Sentinel-2 tile asks for 1e10 x 1e10 px), refused before any work starts.
MAX_OUTPUT_PIXELS = 4_000_000_000

_GDAL_TYPES = {
    np.dtype("uint8"): gdal.GDT_Byte,
    np.dtype("uint16"): gdal.GDT_UInt16,
    np.dtype("int16"): gdal.GDT_Int16,
    np.dtype("uint32"): gdal.GDT_UInt32,
    np.dtype("int32"): gdal.GDT_Int32,
    np.dtype("float32"): gdal.GDT_Float32,
    np.dtype("float64"): gdal.GDT_Float64,
}


@dataclass(frozen=True)
class Window:
    """A rectangle of pixels: column and row offsets plus size."""

    col: int
    row: int
    width: int
    height: int

    @property
    def slices(self):
        return (slice(self.row, self.row + self.height), slice(self.col, self.col + self.width))


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid: CRS (WKT), geotransform and size."""

    crs_wkt: str
    geotransform: tuple
    width: int
    height: int

    @classmethod
    def of_dataset(cls, dataset):
        return cls(dataset.GetProjection(), tuple(dataset.GetGeoTransform()),
                   dataset.RasterXSize, dataset.RasterYSize)

    @classmethod
    def aligned(cls, crs_wkt, bounds, pixel_size):
        """The grid of `pixel_size` cells aligned to whole multiples of it that covers `bounds`."""
        xmin, ymin, xmax, ymax = bounds
        # A small tolerance keeps bounds that sit on the grid (up to float noise) from growing.
        eps = pixel_size * 1e-6
        x0 = math.floor((xmin + eps) / pixel_size) * pixel_size
        y1 = math.ceil((ymax - eps) / pixel_size) * pixel_size
        x1 = math.ceil((xmax - eps) / pixel_size) * pixel_size
        y0 = math.floor((ymin + eps) / pixel_size) * pixel_size
        width, height = round((x1 - x0) / pixel_size), round((y1 - y0) / pixel_size)
        if width <= 0 or height <= 0:
            raise ImperviousnessError("The requested extent is empty.")
        check_output_size(width, height, pixel_size)
        return cls(crs_wkt, (x0, pixel_size, 0.0, y1, 0.0, -pixel_size), width, height)

    @property
    def pixel_size(self):
        return self.geotransform[1]

    @property
    def bounds(self):
        x0, px, _, y1, _, py = self.geotransform
        return (x0, y1 + py * self.height, x0 + px * self.width, y1)

    @property
    def srs(self):
        return spatial_reference(self.crs_wkt)

    def same_crs(self, other):
        return same_crs(self.crs_wkt, other.crs_wkt)

    def same_as(self, other):
        """True when both grids are the same pixels (CRS, origin, pixel size and size)."""
        tolerance = 1e-6 * abs(self.pixel_size)
        return (self.width == other.width and self.height == other.height
                and all(abs(a - b) <= tolerance for a, b in zip(self.geotransform, other.geotransform))
                and self.same_crs(other))

    def same_lattice(self, other):
        """True when both grids' pixels coincide where they overlap: same CRS and pixel size,
        origins a whole number of pixels apart (one may be a window of the other)."""
        tolerance = 1e-6 * abs(self.pixel_size)
        x0, px, rx, y0, ry, py = self.geotransform
        ox0, opx, orx, oy0, ory, opy = other.geotransform

        def whole(offset, size):
            return abs(offset / size - round(offset / size)) * abs(size) <= tolerance

        return (abs(px - opx) <= tolerance and abs(py - opy) <= tolerance and rx == orx == ry == ory == 0
                and whole(ox0 - x0, px) and whole(oy0 - y0, py) and self.same_crs(other))

    def covers_same_area(self, other):
        """True when both grids span the same bounds in the same CRS (e.g. 10 m and 20 m bands)."""
        tolerance = 1e-6 * max(abs(self.pixel_size), abs(other.pixel_size))
        return (all(abs(a - b) <= tolerance for a, b in zip(self.bounds, other.bounds))
                and self.same_crs(other))

    def describe(self):
        epsg = self.srs.GetAuthorityCode(None) if self.crs_wkt else None
        crs = f"EPSG:{epsg}" if epsg else "a custom CRS"
        return (f"{self.width} x {self.height} px of {self.pixel_size:g} in {crs}, "
                f"origin ({self.geotransform[0]:.2f}, {self.geotransform[3]:.2f})")



def _whole_multiple(value, unit):
    """True when `value` is a whole multiple of `unit` (up to float noise)."""
    ratio = value / unit
    return abs(ratio - round(ratio)) <= 1e-6


def check_alignable(grid, alignment, name, hint=""):
    """Refuse a grid that cannot be padded onto the `alignment` grid without resampling: rotated,
    pixels that do not divide `alignment`, or an origin off whole multiples of the pixel size.
    `hint` is appended to the message (what the user can do instead). A geographic CRS is
    refused by name: its degrees are no grid of metres (its 1000 "m" grid would be 1000 degrees)."""
    if grid.crs_wkt and grid.srs.IsGeographic():
        raise ImperviousnessError(
            f"{name}: its CRS ({grid.srs.GetName()}) is geographic (degrees); a geographic CRS is not "
            "supported. Reproject it to a projected CRS in metres, e.g. EPSG:3035 (gdalwarp -t_srs "
            f"EPSG:3035).{hint}")
    x0, dx, rx, y0, ry, dy = grid.geotransform
    if rx or ry or dx <= 0 or dy >= 0:
        raise ImperviousnessError(
            f"{name}: the raster is rotated or not north-up (geotransform {tuple(grid.geotransform)}), "
            f"so it cannot be put on the {alignment:g} m grid without resampling.{hint}")
    if not (_whole_multiple(alignment, dx) and _whole_multiple(alignment, -dy)):
        raise ImperviousnessError(
            f"{name}: its {dx:g} x {-dy:g} m pixels do not divide {alignment:g} m, so it cannot be "
            f"put on the {alignment:g} m grid without resampling.{hint}")
    if not (_whole_multiple(x0, dx) and _whole_multiple(y0, dy)):
        raise ImperviousnessError(
            f"{name}: its origin ({x0}, {y0}) is not on whole multiples of its {dx:g} m pixels, so "
            f"it cannot be put on the {alignment:g} m grid without resampling.{hint}")


def aligned_window(grid, alignment, bounds=None):
    """The window of `grid` that covers `bounds` (default: the whole grid) grown outward to whole
    multiples of `alignment` (CRS units, e.g. 1000 m): the one rule that puts products on the
    1 km grid. The window may reach beyond the grid; its pixels there are padding. The grid must
    pass check_alignable."""
    x0, dx, _, y0, _, dy = grid.geotransform
    xmin, ymin, xmax, ymax = grid.bounds if bounds is None else bounds
    # The tolerance keeps edges that sit on the alignment grid (up to float noise) from growing.
    eps = 1e-6
    left = math.floor(xmin / alignment + eps) * alignment
    right = math.ceil(xmax / alignment - eps) * alignment
    bottom = math.floor(ymin / alignment + eps) * alignment
    top = math.ceil(ymax / alignment - eps) * alignment
    return Window(round((left - x0) / dx), round((top - y0) / dy),
                  round((right - left) / dx), round((top - bottom) / -dy))


def window_grid(grid, window):
    """The grid of a window of `grid` (same CRS and pixels; the window may reach beyond it)."""
    x0, dx, _, y0, _, dy = grid.geotransform
    return Grid(grid.crs_wkt, (x0 + window.col * dx, dx, 0.0, y0 + window.row * dy, 0.0, dy),
                window.width, window.height)


def check_output_size(width, height, pixel_size):
    """Refuse an output grid over MAX_OUTPUT_PIXELS, naming its size and the pixel size."""
    pixels = width * height
    if pixels > MAX_OUTPUT_PIXELS:
        raise ImperviousnessError(
            f"The output grid would be {width} x {height} = {pixels:.3g} pixels at a pixel size of "
            f"{pixel_size:g}, over the limit of {MAX_OUTPUT_PIXELS:.3g} pixels. Check the pixel size "
            "(in the units of the CRS) and the extent, or process a smaller extent at a time.")


def spatial_reference(crs_wkt):
    srs = osr.SpatialReference()
    srs.ImportFromWkt(crs_wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def same_crs(crs_wkt_a, crs_wkt_b):
    if not crs_wkt_a or not crs_wkt_b:
        return crs_wkt_a == crs_wkt_b
    return bool(spatial_reference(crs_wkt_a).IsSame(spatial_reference(crs_wkt_b)))


def transform_bounds(bounds, source_wkt, target_wkt):
    """(xmin, ymin, xmax, ymax) from one CRS to another, edges densified by GDAL."""
    if same_crs(source_wkt, target_wkt):
        return tuple(bounds)
    transform = osr.CoordinateTransformation(spatial_reference(source_wkt),
                                             spatial_reference(target_wkt))
    return tuple(transform.TransformBounds(*bounds, 21))


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
    """

    def __init__(self, path, grid, band_count, dtype, nodata, descriptions=None,
                 color_table=None, metadata=None, zlevel=None, profile=profiles.PRODUCT):
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
        self.dataset = None
        self._atomic = None

    def __enter__(self):
        self._atomic = atomic.atomic_path(self.path)
        temporary = self._atomic.__enter__()
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
                band.SetColorTable(_gdal_color_table(self.color_table))
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

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is None:
            try:
                flush_written(self.dataset, self.path)
                self.dataset = None  # closes the file: GDAL writes its last directory now
                check_closed(self.path)
            except ImperviousnessError:
                self._discard()
                self._atomic.__exit__(*sys.exc_info())  # removes the temporary file
                raise
        self._discard()
        return self._atomic.__exit__(exc_type, exc, traceback)

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


def _gdal_color_table(colors):
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
