"""core/features/resample.py: a tile's features read on the output grid (the merge of preprocess).

References: GDAL's own warper with its 4-sample bilinear forced (warp options XSCALE=1 YSCALE=1;
left to itself GDAL widens the kernel for chunks of rotated grids) and its nearest neighbour, at
the exact transformation; and a hand-computed pixel."""

import numpy as np
import pytest
from osgeo import gdal

from imperviousness_plugin.core.features.resample import TileOnGrid
from imperviousness_plugin.core.io.raster import Grid, Window, iter_blocks, transform_bounds
from rasters import epsg_wkt

SIZE = 300
GEOTRANSFORM = (500000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0)   # UTM 33N, 10 m


@pytest.fixture(scope="module")
def tile(tmp_path_factory):
    """A 3-band Float32 raster in UTM 33N: noise, with NaN holes and a NaN first row."""
    path = str(tmp_path_factory.mktemp("resample") / "tile.tif")
    rng = np.random.default_rng(4)
    data = rng.random((3, SIZE, SIZE), dtype=np.float32)
    data[:, 0, :] = np.nan
    data[1, 100:110, 40:60] = np.nan
    data[2][rng.random((SIZE, SIZE)) < 0.02] = np.nan
    dataset = gdal.GetDriverByName("GTiff").Create(path, SIZE, SIZE, 3, gdal.GDT_Float32)
    dataset.SetGeoTransform(GEOTRANSFORM)
    dataset.SetProjection(epsg_wkt(32633))
    for index in range(3):
        dataset.GetRasterBand(index + 1).WriteArray(data[index])
        dataset.GetRasterBand(index + 1).SetNoDataValue(float("nan"))
    dataset = None
    bounds = (GEOTRANSFORM[0], GEOTRANSFORM[3] - 10 * SIZE, GEOTRANSFORM[0] + 10 * SIZE, GEOTRANSFORM[3])
    grid = Grid.aligned(epsg_wkt(3035), transform_bounds(bounds, epsg_wkt(32633), epsg_wkt(3035)), 10.0)
    return path, grid, data


def gdal_on_grid(path, grid, resampling, warp_options=()):
    options = gdal.WarpOptions(format="VRT", outputBounds=grid.bounds, width=grid.width,
                               height=grid.height, dstSRS=grid.crs_wkt, resampleAlg=resampling,
                               srcNodata=float("nan"), dstNodata=float("nan"), errorThreshold=0,
                               warpOptions=list(warp_options))
    return gdal.Warp("", gdal.Open(path), options=options).ReadAsArray()


def read_all(path, grid, bilinear, nearest, block=128):
    """The whole grid through TileOnGrid, block by block (blocks cross the tile's edges)."""
    source = TileOnGrid(path, grid)
    smooth = np.full((len(bilinear), grid.height, grid.width), np.nan, np.float32)
    exact = np.full((len(nearest), grid.height, grid.width), np.nan, np.float32)
    for window in iter_blocks(grid.width, grid.height, block):
        smooth[(slice(None),) + window.slices], exact[(slice(None),) + window.slices] = \
            source.read(window, bilinear, nearest)
    return smooth, exact


def test_bilinear_equals_gdal_four_sample_bilinear(tile):
    path, grid, _ = tile
    ours, _ = read_all(path, grid, [1, 2, 3], [])
    reference = gdal_on_grid(path, grid, "bilinear", ["XSCALE=1", "YSCALE=1"])
    both = np.isfinite(ours) & np.isfinite(reference)
    assert both.sum() > 0.5 * ours.size
    np.testing.assert_array_equal(ours[both], reference[both])
    # Where GDAL has a value, so do we (the renormalised weights cover its NaN neighbours).
    assert not (np.isfinite(reference) & ~np.isfinite(ours)).any()
    # GDAL 3.6's default widens the kernel here (rotated grid): the values differ, they are not
    # ours. GDAL 3.10 (QGIS 3.40/3.44) no longer widens it on this grid: its default is the
    # four-sample bilinear too.
    default = gdal_on_grid(path, grid, "bilinear")[both]
    if int(gdal.VersionInfo()) < 3100000:
        assert not np.array_equal(default, reference[both])
    else:
        np.testing.assert_array_equal(default, reference[both])


def test_nearest_equals_gdal_nearest(tile):
    path, grid, _ = tile
    _, ours = read_all(path, grid, [], [1, 2, 3], block=100)
    reference = gdal_on_grid(path, grid, "near")
    np.testing.assert_array_equal(ours, reference)


def test_one_pixel_by_hand_and_outside_pixels_are_nan(tile):
    path, grid, data = tile
    source = TileOnGrid(path, grid)
    sx, sy = source.positions(Window(0, 0, grid.width, grid.height))
    row, col = np.argwhere((abs(sx - 150) < 50) & (abs(sy - 150) < 50))[0]   # well inside the tile
    fx, fy = sx[row, col] - 0.5, sy[row, col] - 0.5
    c0, r0 = int(np.floor(fx)), int(np.floor(fy))
    wx, wy = fx - c0, fy - r0
    band = data[0].astype(np.float64)
    expected = (band[r0, c0] * (1 - wx) * (1 - wy) + band[r0, c0 + 1] * wx * (1 - wy)
                + band[r0 + 1, c0] * (1 - wx) * wy + band[r0 + 1, c0 + 1] * wx * wy)
    smooth, exact = source.read(Window(int(col), int(row), 1, 1), [1], [1])
    assert smooth[0, 0, 0] == np.float32(expected)
    assert exact[0, 0, 0] == data[0, int(np.floor(sy[row, col])), int(np.floor(sx[row, col]))]
    # A corner of the EEA grid lies outside the rotated UTM tile: NaN in every band.
    smooth, exact = source.read(Window(0, 0, 1, 1), [1, 2], [3])
    assert np.isnan(smooth).all() and np.isnan(exact).all()
