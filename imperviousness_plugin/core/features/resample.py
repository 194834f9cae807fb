"""A tile's native features read on the output grid: bilinear or nearest at each output pixel's
exactly transformed centre (the merge of preprocess, SPEC section 4).

Why not a warped VRT: GDAL's general warp kernel (needed for NaN nodata) costs ~90 ns per band
and pixel, and the exact transformation is computed again for each VRT (one bilinear, one
nearest), so resampling the 23 PP bands took longer than reducing them. Here the exact position
of every output pixel centre is computed once per block (GDAL's transformer, the one the warper
uses, in C) and shared by all bands and both resamplings, and the interpolation is a few numpy
passes over the block.

Bilinear, as GDAL's: the four source pixels around the position, weighted by (1 - dx)(1 - dy)
etc. with the position measured from pixel centres; a neighbour outside the raster or NaN in a
band drops out and the weights of the others are renormalised. A pixel whose position lies outside
the raster (its nearest source pixel does not exist) is NaN in every band.
"""

import numpy as np
from osgeo import gdal

from ..errors import ImperviousnessError
from ..io.raster import open_raster

# Bands interpolated together: (bands, pixels) work arrays of a 512 x 512 px block stay ~10 MB.
_BAND_GROUP = 4


class TileOnGrid:
    """Read blocks of the output `grid` from the raster at `path` (one tile's features)."""

    def __init__(self, path, grid):
        self.path = path
        self.dataset = open_raster(path)
        self.width, self.height = self.dataset.RasterXSize, self.dataset.RasterYSize
        target = gdal.GetDriverByName("MEM").Create("", 1, 1, 0, gdal.GDT_Byte)
        target.SetGeoTransform(grid.geotransform)
        target.SetProjection(grid.crs_wkt)
        # Output pixel/line -> source pixel/line, exact (no approximation unless MAX_ERROR is set).
        self._transformer = gdal.Transformer(target, self.dataset, [])

    def positions(self, window):
        """Source pixel coordinates (x, y) of the centres of a window's pixels, float64 (h, w)."""
        columns = gdal.GetDriverByName("MEM").Create("", window.width, window.height, 3, gdal.GDT_Float64)
        x = np.arange(window.width, dtype=np.float64) + (window.col + 0.5)
        y = np.arange(window.height, dtype=np.float64) + (window.row + 0.5)
        columns.GetRasterBand(1).WriteArray(np.tile(x, (window.height, 1)))
        columns.GetRasterBand(2).WriteArray(np.repeat(y[:, None], window.width, axis=1))
        try:
            self._transformer.TransformGeolocations(*(columns.GetRasterBand(i) for i in (1, 2, 3)))
        except RuntimeError as error:
            raise ImperviousnessError(f"Cannot resample {self.path} onto the output grid: {error}") from None
        return columns.GetRasterBand(1).ReadAsArray(), columns.GetRasterBand(2).ReadAsArray()

    def read(self, window, bilinear, nearest):
        """(bilinear bands, nearest bands) of the window as float32 (count, h, w) arrays.

        `bilinear` and `nearest` are lists of 1-based band numbers.
        """
        sx, sy = self.positions(window)
        col, row = np.floor(sx), np.floor(sy)
        inside = (col >= 0) & (col < self.width) & (row >= 0) & (row < self.height)
        shape = (window.height, window.width)
        smooth = np.full((len(bilinear),) + shape, np.nan, np.float32)
        exact = np.full((len(nearest),) + shape, np.nan, np.float32)
        if not inside.any():
            return smooth, exact
        left, top = np.floor(sx - 0.5), np.floor(sy - 0.5)
        col0 = int(max(left[inside].min(), 0))
        row0 = int(max(top[inside].min(), 0))
        col1 = int(min(left[inside].max() + 1, self.width - 1))
        row1 = int(min(top[inside].max() + 1, self.height - 1))
        source = (col0, row0, col1 - col0 + 1, row1 - row0 + 1)
        keep = inside.ravel()
        if nearest:
            index = ((row - row0) * source[2] + (col - col0)).ravel()[keep].astype(np.intp)
            values = self._source(source, nearest)
            exact.reshape(len(nearest), -1)[:, keep] = np.take(values, index, axis=1)
        if bilinear:
            neighbours = _bilinear_neighbours(sx - 0.5 - left, sy - 0.5 - top, left, top, keep,
                                              (self.width, self.height), source)
            out = smooth.reshape(len(bilinear), -1)
            for first in range(0, len(bilinear), _BAND_GROUP):
                bands = bilinear[first:first + _BAND_GROUP]
                out[first:first + len(bands), keep] = _interpolate(self._source(source, bands), neighbours)
        return smooth, exact

    def _source(self, source, bands):
        """Bands of the source rectangle (col, row, width, height) as float32 (count, pixels)."""
        try:
            array = self.dataset.ReadAsArray(*source, band_list=list(bands))
        except RuntimeError as error:
            raise ImperviousnessError(f"Cannot resample {self.path}: {error}") from None
        return array.reshape(len(bands), -1).astype(np.float32, copy=False)

    def flush(self):
        """Let the blocks read so far leave GDAL's cache (memory does not grow with the grid)."""
        self.dataset.FlushCache()


def _bilinear_neighbours(dx, dy, left, top, keep, size, source):
    """[(flat index into the source rectangle, weight)] of the four neighbours of the kept
    pixels; a neighbour outside the raster gets weight 0 (and a valid index)."""
    width, height = size
    col0, row0, source_width, source_height = source
    dx, dy = dx.ravel()[keep], dy.ravel()[keep]
    left, top = left.ravel()[keep], top.ravel()[keep]
    neighbours = []
    for row_step, wy in ((0, 1.0 - dy), (1, dy)):
        rows = top + row_step
        row_ok = (rows >= 0) & (rows < height)
        rows = np.clip(rows, row0, row0 + source_height - 1).astype(np.intp)
        for col_step, wx in ((0, 1.0 - dx), (1, dx)):
            cols = left + col_step
            ok = row_ok & (cols >= 0) & (cols < width)
            cols = np.clip(cols, col0, col0 + source_width - 1).astype(np.intp)
            index = np.where(ok, (rows - row0) * source_width + (cols - col0), 0)
            neighbours.append((index, np.where(ok, wx * wy, 0.0)))
    return neighbours


def _interpolate(values, neighbours):
    """Bilinear values (count, kept pixels) from source values (count, pixels): float64 sums of
    the weighted neighbours over the sum of the weights of those that are not NaN."""
    has_nan = bool(np.isnan(values).any())
    total = np.zeros((values.shape[0], len(neighbours[0][0])), np.float64)
    weight = np.zeros(total.shape if has_nan else total.shape[1:], np.float64)
    for index, w in neighbours:
        sample = np.take(values, index, axis=1)
        if has_nan:
            missing = np.isnan(sample)
            sample[missing] = 0.0
            weight += np.where(missing, 0.0, w)
        else:
            weight += w
        total += sample * w
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total / weight).astype(np.float32)
