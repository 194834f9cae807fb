"""Named GeoTIFF creation profiles (core/io/profiles.py): one writer, one set of options per use."""

import os

import numpy as np
import pytest
from osgeo import gdal

from imperviousness_plugin.core.io import atomic, profiles
from imperviousness_plugin.core.io.raster import Grid, RasterWriter, Window, write_copy


def _structure(path):
    dataset = gdal.Open(str(path))
    band = dataset.GetRasterBand(1)
    return (dataset.GetMetadata("IMAGE_STRUCTURE").get("COMPRESSION"),
            dataset.GetMetadata("IMAGE_STRUCTURE").get("PREDICTOR"), tuple(band.GetBlockSize()))


def _write(path, dtype, profile=profiles.PRODUCT, bands=1, output=True):
    grid = Grid("", (500000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0), 300, 280)
    values = (np.arange(bands * 280 * 300) % 97).reshape(bands, 280, 300).astype(dtype)
    with RasterWriter(path, grid, bands, dtype, None, profile=profile, output=output) as writer:
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


def test_an_attribute_table_side_file_is_moved_into_place_with_the_raster(tmp_path):
    """The EEA delivery's tiles: GDAL writes the attribute table to <temporary>.aux.xml when the
    dataset closes; the writer moves it beside the output, and nothing hidden is left."""
    grid = Grid("", (500000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0), 4, 2)
    table = gdal.RasterAttributeTable()
    table.CreateColumn("value", gdal.GFT_Integer, gdal.GFU_MinMax)
    table.SetRowCount(2)
    table.SetValueAsInt(0, 0, 3)
    table.SetValueAsInt(1, 0, 7)
    gdal.SetThreadLocalConfigOption("GDAL_PAM_ENABLED", "YES")
    try:
        with RasterWriter(tmp_path / "tile.tif", grid, 1, "uint8", 255, profile=profiles.DELIVERY) as writer:
            writer.write(Window(0, 0, 4, 2), np.array([[3, 3, 7, 7], [7, 3, 3, 3]], dtype=np.uint8))
            writer.set_attribute_table(table)
        assert sorted(os.listdir(tmp_path)) == ["tile.tif", "tile.tif.aux.xml"]
        dataset = gdal.Open(str(tmp_path / "tile.tif"))
        read = dataset.GetRasterBand(1).GetDefaultRAT()
        assert [read.GetValueAsInt(row, 0) for row in range(read.GetRowCount())] == [3, 7]
        read = dataset = None
        with pytest.raises(ValueError, match="block shape"), \
                RasterWriter(tmp_path / "failed.tif", grid, 1, "uint8", 255, profile=profiles.DELIVERY) as writer:
            writer.set_attribute_table(table)
            writer.write(Window(0, 0, 4, 2), np.zeros((3, 3), dtype=np.uint8))
        assert sorted(os.listdir(tmp_path)) == ["tile.tif", "tile.tif.aux.xml"]
    finally:
        gdal.SetThreadLocalConfigOption("GDAL_PAM_ENABLED", None)


def test_cache_and_scratch_files_are_not_recorded_as_outputs(tmp_path):
    """output=False (the STAC cache, a tile's scratch features): a signal handler removing the
    run's outputs keeps them; an output written beside them is removed."""
    atomic.track_written()
    try:
        _write(tmp_path / "cache.tif", "uint16", profiles.STAC_CACHE, output=False)
        _write(tmp_path / "product.tif", "uint8")
        atomic.remove_written_files()
    finally:
        atomic.track_written(False)
    assert os.listdir(tmp_path) == ["cache.tif"]
    assert _structure(tmp_path / "cache.tif") == ("DEFLATE", "2", (256, 256))


def test_write_copy_writes_the_profile_and_the_view_as_it_is(tmp_path):
    """The copy path (publish, tile-runner crops): a view with its metadata becomes a GeoTIFF of
    the profile, values, nodata and metadata unchanged."""
    values = _write(tmp_path / "source.tif", "float32", profiles.SCRATCH)
    assert _structure(tmp_path / "source.tif") == (None, None, (256, 256))
    view = gdal.Translate("", gdal.Open(str(tmp_path / "source.tif")), format="VRT")
    view.SetMetadataItem("SOURCE", "kept")
    assert write_copy(view, str(tmp_path / "copy.tif")) == str(tmp_path / "copy.tif")
    copy = gdal.Open(str(tmp_path / "copy.tif"))
    assert _structure(tmp_path / "copy.tif") == ("DEFLATE", "3", (256, 256))
    assert copy.GetMetadataItem("SOURCE") == "kept"
    assert np.array_equal(copy.ReadAsArray(), values[0])
    assert sorted(os.listdir(tmp_path)) == ["copy.tif", "source.tif"]
