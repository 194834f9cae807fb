"""The one home of grid arithmetic (rasterio.windows / rasterio.transform, STYLE.md 4b): pixel
windows, north-up grids, snapping to a lattice, windows of bounds, alignment and crops, with one
tolerance.

TOLERANCE is a fraction of a pixel: a coordinate within it of a lattice line counts as on the
line, so bounds that sit on a grid (up to float noise) never grow or shrink by a pixel.
"""

import math
from dataclasses import dataclass

from osgeo import osr

from ..errors import ImperviousnessError

osr.UseExceptions()

TOLERANCE = 1e-6
# The largest output grid an algorithm builds: 4e9 pixels, e.g. 63 000 x 63 000 px = 630 km
# square at 10 m, forty EEA 100 km tiles, 16 GB per Float32 band. Larger areas are processed
# tile by tile; a grid beyond this is a wrong PIXEL_SIZE or extent (PIXEL_SIZE=0.001 over a
# Sentinel-2 tile asks for 1e10 x 1e10 px), refused before any work starts.
MAX_OUTPUT_PIXELS = 4_000_000_000


def floor_to(value, step, pixel):
    """The largest multiple of `step` at or below `value`; within TOLERANCE `pixel`s above a
    multiple counts as on it. (All three in one unit: CRS units, or pixels with pixel = 1.)"""
    return math.floor((value + TOLERANCE * pixel) / step) * step


def ceil_to(value, step, pixel):
    """The smallest multiple of `step` at or above `value` (the mirror of floor_to)."""
    return math.ceil((value - TOLERANCE * pixel) / step) * step


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
        x0, y0 = floor_to(xmin, pixel_size, pixel_size), floor_to(ymin, pixel_size, pixel_size)
        x1, y1 = ceil_to(xmax, pixel_size, pixel_size), ceil_to(ymax, pixel_size, pixel_size)
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
        tolerance = TOLERANCE * abs(self.pixel_size)
        return (self.width == other.width and self.height == other.height
                and all(abs(a - b) <= tolerance for a, b in zip(self.geotransform, other.geotransform))
                and self.same_crs(other))

    def same_lattice(self, other):
        """True when both grids' pixels coincide where they overlap: same CRS and pixel size,
        origins a whole number of pixels apart (one may be a window of the other)."""
        tolerance = TOLERANCE * abs(self.pixel_size)
        x0, px, rx, y0, ry, py = self.geotransform
        ox0, opx, orx, oy0, ory, opy = other.geotransform

        def whole(offset, size):
            return abs(offset / size - round(offset / size)) * abs(size) <= tolerance

        return (abs(px - opx) <= tolerance and abs(py - opy) <= tolerance and rx == orx == ry == ory == 0
                and whole(ox0 - x0, px) and whole(oy0 - y0, py) and self.same_crs(other))

    def covers_same_area(self, other):
        """True when both grids span the same bounds in the same CRS (e.g. 10 m and 20 m bands)."""
        tolerance = TOLERANCE * max(abs(self.pixel_size), abs(other.pixel_size))
        return (all(abs(a - b) <= tolerance for a, b in zip(self.bounds, other.bounds))
                and self.same_crs(other))

    def describe(self):
        epsg = self.srs.GetAuthorityCode(None) if self.crs_wkt else None
        crs = f"EPSG:{epsg}" if epsg else "a custom CRS"
        return (f"{self.width} x {self.height} px of {self.pixel_size:g} in {crs}, "
                f"origin ({self.geotransform[0]:.2f}, {self.geotransform[3]:.2f})")



def whole_multiple(value, unit=1):
    """True when `value` is a whole multiple of `unit` (up to float noise)."""
    ratio = value / unit
    return abs(ratio - round(ratio)) <= TOLERANCE


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
    if not (whole_multiple(alignment, dx) and whole_multiple(alignment, -dy)):
        raise ImperviousnessError(
            f"{name}: its {dx:g} x {-dy:g} m pixels do not divide {alignment:g} m, so it cannot be "
            f"put on the {alignment:g} m grid without resampling.{hint}")
    if not (whole_multiple(x0, dx) and whole_multiple(y0, dy)):
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
    left, bottom = floor_to(xmin, alignment, dx), floor_to(ymin, alignment, -dy)
    right, top = ceil_to(xmax, alignment, dx), ceil_to(ymax, alignment, -dy)
    return Window(round((left - x0) / dx), round((top - y0) / dy),
                  round((right - left) / dx), round((top - bottom) / -dy))


def window_grid(grid, window):
    """The grid of a window of `grid` (same CRS and pixels; the window may reach beyond it)."""
    x0, dx, rx, y0, ry, dy = grid.geotransform
    return Grid(grid.crs_wkt, (x0 + window.col * dx, dx, rx, y0 + window.row * dy, ry, dy),
                window.width, window.height)


def window_from_bounds(grid, bounds):
    """The window of `grid` covering `bounds` grown outward to whole pixels and clipped to the
    grid (rasterio.windows.from_bounds + round_offsets + intersection)."""
    x0, dx, _, y0, _, dy = grid.geotransform
    left = max(0, floor_to((bounds[0] - x0) / dx, 1, 1))
    right = min(grid.width, ceil_to((bounds[2] - x0) / dx, 1, 1))
    top = max(0, floor_to((y0 - bounds[3]) / -dy, 1, 1))
    bottom = min(grid.height, ceil_to((y0 - bounds[1]) / -dy, 1, 1))
    return Window(left, top, right - left, bottom - top)


def check_output_size(width, height, pixel_size):
    """Refuse an output grid over MAX_OUTPUT_PIXELS, naming its size and the pixel size."""
    pixels = width * height
    if pixels > MAX_OUTPUT_PIXELS:
        raise ImperviousnessError(
            f"The output grid would be {width} x {height} = {pixels:.3g} pixels at a pixel size of "
            f"{pixel_size:g}, over the limit of {MAX_OUTPUT_PIXELS:.3g} pixels. Check the pixel size "
            "(in the units of the CRS) and the extent, or process a smaller extent at a time.")


def epsg_wkt(code):
    """The WKT of an EPSG code; an unknown code is refused by name."""
    srs = osr.SpatialReference()
    try:
        failed = srs.ImportFromEPSG(int(code))
    except (RuntimeError, TypeError, ValueError):
        failed = True
    if failed:
        raise ImperviousnessError(f"EPSG:{code} is not a known CRS.")
    return srs.ExportToWkt()


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
