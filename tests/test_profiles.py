"""Named GeoTIFF creation profiles (core/io/profiles.py): one writer, one set of options per use."""

import numpy as np
from osgeo import gdal

from imperviousness_plugin.core.io import profiles
from imperviousness_plugin.core.io.raster import Grid, RasterWriter, Window


def _structure(path):
    dataset = gdal.Open(str(path))
    band = dataset.GetRasterBand(1)
    return (dataset.GetMetadata("IMAGE_STRUCTURE").get("COMPRESSION"),
            dataset.GetMetadata("IMAGE_STRUCTURE").get("PREDICTOR"), tuple(band.GetBlockSize()))


def _write(path, dtype, profile=profiles.PRODUCT, bands=1):
    grid = Grid("", (500000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0), 300, 280)
    values = (np.arange(bands * 280 * 300) % 97).reshape(bands, 280, 300).astype(dtype)
    with RasterWriter(path, grid, bands, dtype, None, profile=profile) as writer:
        writer.write(Window(0, 0, 300, 280), values)
    return values


def test_product_profile_takes_predictor_and_interleave_from_the_data():
    assert profiles.PRODUCT.creation_options("float32", 3, 10, 10) == [
        "TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE", "NUM_THREADS=2",
        "PREDICTOR=3", "BIGTIFF=NO", "INTERLEAVE=BAND"]
    assert "PREDICTOR=2" in profiles.PRODUCT.creation_options("uint8", 1, 10, 10)
    assert "BIGTIFF=YES" in profiles.PRODUCT.creation_options("float32", 1, 40000, 40000)
    assert profiles.PRODUCT.creation_options("uint8", 1, 10, 10, zlevel=1)[-1] == "ZLEVEL=1"


def test_raster_writer_writes_the_profile_it_is_given(tmp_path):
    values = _write(tmp_path / "product.tif", "float32")
    assert _structure(tmp_path / "product.tif") == ("DEFLATE", "3", (256, 256))
    assert np.array_equal(gdal.Open(str(tmp_path / "product.tif")).ReadAsArray(), values[0])
    _write(tmp_path / "delivery.tif", "uint8", profiles.DELIVERY)
    assert _structure(tmp_path / "delivery.tif") == ("LZW", None, (512, 512))


def test_tile_runner_outputs_get_the_single_run_profile(tmp_path):
    """engine.crop_to (a tile's outputs) writes the analysis product profile: the predictor and
    blocks a single run's output has (before, tile outputs had neither predictor nor 256 px
    blocks by profile)."""
    from imperviousness_plugin.runner.engine import crop_to
    values = _write(tmp_path / "mosaic.tif", "uint8")
    crop_to(str(tmp_path / "mosaic.tif"), str(tmp_path / "tile.tif"), (500100.0, 3997500.0, 502000.0, 3999900.0))
    assert _structure(tmp_path / "tile.tif") == _structure(tmp_path / "mosaic.tif") == ("DEFLATE", "2", (256, 256))
    assert np.array_equal(gdal.Open(str(tmp_path / "tile.tif")).ReadAsArray(), values[0, 10:250, 10:200])
