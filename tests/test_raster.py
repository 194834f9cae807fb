"""The raster core: block iterator, aligned grids, the writer, and never reading overviews."""

import os

import numpy as np
import pytest
from osgeo import gdal

from imperviousness_plugin.core.errors import ImperviousnessError
from imperviousness_plugin.core.io.raster import (Grid, RasterWriter, count_blocks, iter_blocks,
                                               open_on_grid, open_raster, read_window,
                                               transform_bounds)
from rasters import epsg_wkt




LAEA = epsg_wkt(3035)


@pytest.mark.parametrize("width,height,block", [(1, 1, 256), (300, 200, 256), (512, 512, 256),
                                                (1000, 3, 128), (7, 1000, 5)])
def test_blocks_cover_every_pixel_exactly_once(width, height, block):
    hits = np.zeros((height, width), dtype=int)
    windows = list(iter_blocks(width, height, block))
    for window in windows:
        assert window.width <= block and window.height <= block
        hits[window.slices] += 1
    assert (hits == 1).all()
    assert len(windows) == count_blocks(width, height, block)


def test_aligned_grid_snaps_outward_to_multiples_of_the_pixel_size():
    grid = Grid.aligned(LAEA, (4700003.0, 1459991.0, 4700095.5, 1460000.0), 10.0)
    assert grid.geotransform == (4700000.0, 10.0, 0.0, 1460000.0, 0.0, -10.0)
    assert (grid.width, grid.height) == (10, 1)
    on_grid = Grid.aligned(LAEA, (4700000.0, 1459000.0, 4701000.0, 1460000.0), 100.0)
    assert (on_grid.width, on_grid.height) == (10, 10)
    with pytest.raises(ImperviousnessError, match="empty"):
        Grid.aligned(LAEA, (10.0, 10.0, 10.0, 20.0), 10.0)


def test_transform_bounds_round_trip_and_identity():
    utm = epsg_wkt(32633)
    bounds = (453000.0, 3974000.0, 456000.0, 3977000.0)
    assert transform_bounds(bounds, utm, utm) == bounds
    laea = transform_bounds(bounds, utm, LAEA)
    assert 4.6e6 < laea[0] < laea[2] < 4.8e6 and 1.4e6 < laea[1] < laea[3] < 1.5e6
    # The densified transform of the UTM square contains the square's corners.
    assert laea[2] - laea[0] >= 3000.0 and laea[3] - laea[1] >= 3000.0


def write_sample(path, grid, array, nodata=255):
    with RasterWriter(path, grid, 1, array.dtype, nodata, ["VALUE"]) as writer:
        for window in iter_blocks(grid.width, grid.height, 256):
            writer.write(window, array[window.slices])


def test_writer_writes_tiled_compressed_geotiff_with_descriptions(tmp_path):
    grid = Grid.aligned(LAEA, (4700000.0, 1457000.0, 4703000.0, 1460000.0), 10.0)
    data = (np.arange(grid.width * grid.height) % 101).astype(np.uint8).reshape(grid.height, grid.width)
    path = tmp_path / "out" / "IMD.tif"
    write_sample(path, grid, data)
    dataset = gdal.Open(str(path))
    band = dataset.GetRasterBand(1)
    assert np.array_equal(band.ReadAsArray(), data)
    assert band.GetNoDataValue() == 255 and band.GetDescription() == "VALUE"
    assert band.GetBlockSize() == [256, 256]
    assert dataset.GetMetadata("IMAGE_STRUCTURE")["COMPRESSION"] == "DEFLATE"
    assert Grid.of_dataset(dataset).same_as(grid)
    assert sorted(os.listdir(path.parent)) == ["IMD.tif"]


def test_writer_leaves_nothing_when_the_run_fails(tmp_path):
    grid = Grid.aligned(LAEA, (0.0, 0.0, 100.0, 100.0), 10.0)
    path = tmp_path / "IMD.tif"
    with pytest.raises(RuntimeError, match="boom"):
        with RasterWriter(path, grid, 1, np.uint8, 255) as writer:
            writer.write(next(iter_blocks(10, 10, 256)), np.zeros((10, 10), np.uint8))
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_writer_keeps_an_existing_output_when_the_run_fails(tmp_path):
    grid = Grid.aligned(LAEA, (0.0, 0.0, 100.0, 100.0), 10.0)
    path = tmp_path / "IMD.tif"
    write_sample(path, grid, np.full((10, 10), 7, np.uint8))
    with pytest.raises(ValueError):
        with RasterWriter(path, grid, 1, np.uint8, 255) as writer:
            writer.write(next(iter_blocks(10, 10, 256)), np.zeros((3, 3), np.uint8))
    assert gdal.Open(str(path)).ReadAsArray()[0, 0] == 7
    assert os.listdir(tmp_path) == ["IMD.tif"]


def test_overviews_are_never_read(tmp_path):
    """A file whose overviews hold wrong values: reading and resampling see the full resolution."""
    grid = Grid.aligned(LAEA, (4700000.0, 1459360.0, 4700640.0, 1460000.0), 10.0)
    data = np.random.default_rng(1).integers(0, 101, (grid.height, grid.width)).astype(np.uint8)
    path = str(tmp_path / "with_overviews.tif")
    write_sample(path, grid, data)
    dataset = gdal.Open(path, gdal.GA_Update)
    dataset.BuildOverviews("NEAREST", [2, 4])
    for index in range(2):
        overview = dataset.GetRasterBand(1).GetOverview(index)
        overview.WriteArray(np.full((overview.YSize, overview.XSize), 99, np.uint8))
    dataset = None
    assert gdal.Open(path).GetRasterBand(1).GetOverviewCount() == 2
    opened = open_raster(path)
    assert opened.GetRasterBand(1).GetOverviewCount() == 0
    # A decimated read would use an overview if there were one.
    small = opened.GetRasterBand(1).ReadAsArray(buf_xsize=16, buf_ysize=16)
    assert not (small == 99).all()
    coarse = Grid.aligned(LAEA, grid.bounds, 40.0)
    warped = read_window(open_on_grid(path, coarse, "average"), next(iter_blocks(16, 16, 256)))
    expected = data.reshape(16, 4, 16, 4).mean(axis=(1, 3))
    assert np.abs(warped.astype(float) - expected).max() <= 1.0


def test_open_on_grid_returns_the_source_unchanged_on_the_same_grid(tmp_path):
    grid = Grid.aligned(LAEA, (4700000.0, 1459900.0, 4700100.0, 1460000.0), 10.0)
    data = np.arange(100, dtype=np.uint8).reshape(10, 10)
    path = str(tmp_path / "a.tif")
    write_sample(path, grid, data)
    window = next(iter_blocks(10, 10, 256))
    assert np.array_equal(read_window(open_on_grid(path, grid, "bilinear"), window), data)
    shifted = Grid(grid.crs_wkt, (4700020.0, 10.0, 0.0, 1460000.0, 0.0, -10.0), 10, 10)
    moved = read_window(open_on_grid(path, shifted, "nearest", nodata=255), window)
    assert np.array_equal(moved[:, :8], data[:, 2:]) and (moved[:, 8:] == 255).all()


def test_open_raster_names_the_file_it_cannot_read(tmp_path):
    bad = tmp_path / "corrupt.tif"
    bad.write_bytes(b"II*\x00 this is not a tiff")
    with pytest.raises(ImperviousnessError, match="corrupt.tif"):
        open_raster(bad)
