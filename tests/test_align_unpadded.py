"""aligngrid on a raster already on the kilometre grid (issue 21): the input's bytes, not a re-encode.

An EEA tile (IMD_A, CLCplus) or a PP stack computed on the aligned reference's extent needs no
padding; a whole Sentinel-2 tile's PP stack took minutes to decode and compress again. The output
must hold the input's pixels, band descriptions, colour table and metadata as a padded copy
would, plus ALIGNED_FROM and a declared nodata, and be the input's own file (hard link: its
compression and blocks, no byte written; a padded copy gets the project's GeoTIFF profile) with
the additions in its own .aux.xml, the input left as it was.
"""

import os

import numpy as np
from osgeo import gdal

from imperviousness_plugin.core.io.raster import source_name
from imperviousness_plugin.core.products.align import run_align_grid

gdal.UseExceptions()
ORIGIN = (4729000.0, 1443000.0)   # on whole kilometres; 100 x 100 px of 10 m = 1 km


def write(path, array, origin=ORIGIN, nodata=None, dtype=gdal.GDT_Byte):
    """A LZW GeoTIFF with 64 px blocks: a layout the project's writer never uses."""
    bands = array.shape[0] if array.ndim == 3 else 1
    dataset = gdal.GetDriverByName("GTiff").Create(
        str(path), array.shape[-1], array.shape[-2], bands, dtype,
        ["TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64", "COMPRESS=LZW"])
    dataset.SetGeoTransform((origin[0], 10.0, 0.0, origin[1], 0.0, -10.0))
    srs = gdal.osr.SpatialReference()
    srs.ImportFromEPSG(3035)
    dataset.SetProjection(srs.ExportToWkt())
    dataset.SetMetadataItem("SOURCE", "hand-made")
    for index in range(bands):
        band = dataset.GetRasterBand(index + 1)
        band.WriteArray(array[index] if array.ndim == 3 else array)
        band.SetDescription(f"band {index + 1}")
        if nodata is not None:
            band.SetNoDataValue(nodata)
    dataset = None
    return str(path)


def layout(path):
    dataset = gdal.Open(str(path))
    band = dataset.GetRasterBand(1)
    return (band.GetBlockSize(), dataset.GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE"))


def test_a_raster_on_the_km_grid_is_copied_not_reencoded(tmp_path):
    rng = np.random.default_rng(3)
    values = rng.integers(0, 101, (100, 100)).astype(np.uint8)
    source = write(tmp_path / "imd.tif", values, nodata=255)
    (tmp_path / "imd.qml").write_text("<qgis>style</qgis>\n")
    out = tmp_path / "out" / "aligned.tif"
    before = open(source, "rb").read()
    grid = run_align_grid(source, out)
    assert (grid.width, grid.height) == (100, 100)
    aligned = gdal.Open(str(out))
    np.testing.assert_array_equal(aligned.ReadAsArray(), values)
    assert aligned.GetGeoTransform() == gdal.Open(source).GetGeoTransform()
    assert aligned.GetRasterBand(1).GetNoDataValue() == 255
    assert aligned.GetRasterBand(1).GetDescription() == "band 1"
    assert aligned.GetMetadataItem("SOURCE") == "hand-made"
    assert source_name(str(out)) == "imd.tif"
    assert layout(out) == ([64, 64], "LZW") == layout(source)   # the input's own encoding
    assert (tmp_path / "out" / "aligned.qml").read_text() == "<qgis>style</qgis>\n"
    assert open(source, "rb").read() == before   # the input is untouched
    assert os.path.samefile(source, out)          # no byte written: the input's file, linked
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "aligned.qml", "aligned.tif", "aligned.tif.aux.xml"]
    assert not os.path.exists(source + ".aux.xml")   # nothing written beside the input


def test_float_stack_without_nodata_gets_nan_declared(tmp_path):
    values = np.random.default_rng(4).uniform(0, 1, (3, 100, 200)).astype(np.float32)
    source = write(tmp_path / "pp.tif", values, dtype=gdal.GDT_Float32)
    out = tmp_path / "aligned.tif"
    run_align_grid(source, out, grid_path=source)   # onto the grid of itself: GRID case
    aligned = gdal.Open(str(out))
    np.testing.assert_array_equal(aligned.ReadAsArray(), values)
    assert all(np.isnan(aligned.GetRasterBand(i).GetNoDataValue()) for i in (1, 2, 3))
    assert gdal.Open(source).GetRasterBand(1).GetNoDataValue() is None   # input unchanged
    assert gdal.Open(source).GetMetadataItem("ALIGNED_FROM") is None
    assert layout(out) == ([64, 64], "LZW")


def test_a_raster_off_the_grid_is_still_padded(tmp_path):
    values = np.full((100, 100), 7, np.uint8)
    source = write(tmp_path / "off.tif", values, origin=(4729010.0, 1443000.0), nodata=255)
    out = tmp_path / "aligned.tif"
    grid = run_align_grid(source, out)
    assert (grid.width, grid.height) == (200, 100)
    padded = gdal.Open(str(out)).ReadAsArray()
    assert (padded[:, 1:101] == 7).all() and (padded[:, 0] == 255).all() and (padded[:, 101:] == 255).all()
    assert layout(out) != layout(source)   # written by the project's writer
