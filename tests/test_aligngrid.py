"""imperviousness:aligngrid: a raster padded outward onto the kilometre grid, worked by hand.

A 4 x 3 px raster at (4728890, 1442510), 10 m pixels, aligned to 100 m: the edges 4728890 ..
4728930 and 1442480 .. 1442510 grow to 4728800 .. 4729000 and 1442400 .. 1442600, a 20 x 20 px
grid with the input at column 9, row 9 (90 m east and 90 m south of the new corner).
"""

import math
import os

import numpy as np
import pytest
from osgeo import gdal

from imperviousness_plugin.core.errors import ImperviousnessError
from imperviousness_plugin.core.io.raster import source_name
from imperviousness_plugin.core.products.align import run_align_grid
from rasters import epsg_wkt, write_raster

gdal.UseExceptions()
ORIGIN = (4728890.0, 1442510.0)
VALUES = np.arange(1, 13, dtype=np.uint8).reshape(3, 4)


def styled_input(folder):
    """The 4 x 3 Byte raster with nodata, a description, a colour table, metadata and a QML style."""
    path = write_raster(folder / "imd.tif", VALUES, nodata=255, origin=ORIGIN, descriptions=["IMD 2018"])
    dataset = gdal.Open(path, gdal.GA_Update)
    dataset.SetMetadataItem("SOURCE", "hand-made")
    band = dataset.GetRasterBand(1)
    band.SetMetadataItem("UNITS", "percent")
    table = gdal.ColorTable()
    table.SetColorEntry(1, (255, 237, 195, 255))
    table.SetColorEntry(12, (113, 12, 2, 255))
    band.SetColorTable(table)
    dataset = None
    (folder / "imd.qml").write_text("<qgis>the input's style</qgis>\n")
    return path


def test_padding_by_hand(tmp_path):
    grid = run_align_grid(styled_input(tmp_path), tmp_path / "aligned.tif", alignment=100)
    dataset = gdal.Open(str(tmp_path / "aligned.tif"))
    assert dataset.GetGeoTransform() == (4728800.0, 10.0, 0.0, 1442600.0, 0.0, -10.0)
    assert (dataset.RasterXSize, dataset.RasterYSize) == (20, 20) == (grid.width, grid.height)
    expected = np.full((20, 20), 255, dtype=np.uint8)
    expected[9:12, 9:13] = VALUES
    band = dataset.GetRasterBand(1)
    np.testing.assert_array_equal(band.ReadAsArray(), expected)
    assert band.DataType == gdal.GDT_Byte and band.GetNoDataValue() == 255
    assert band.GetDescription() == "IMD 2018"
    assert band.GetColorTable().GetColorEntry(12) == (113, 12, 2, 255)
    assert band.GetMetadataItem("UNITS") == "percent"
    assert dataset.GetMetadataItem("SOURCE") == "hand-made"
    # The copy names the file it was padded from, also when padded again (what calibrate records).
    assert dataset.GetMetadataItem("ALIGNED_FROM") == "imd.tif"
    run_align_grid(tmp_path / "aligned.tif", tmp_path / "again.tif", alignment=1000)
    assert source_name(tmp_path / "again.tif") == "imd.tif"
    (tmp_path / "plain").mkdir()
    assert source_name(styled_input(tmp_path / "plain")) == str(tmp_path / "plain" / "imd.tif")
    assert "3035" in dataset.GetProjection()
    # the one GTiff profile of the provider's outputs
    assert dataset.GetMetadata("IMAGE_STRUCTURE")["COMPRESSION"] == "DEFLATE"
    assert (tmp_path / "aligned.qml").read_text() == "<qgis>the input's style</qgis>\n"


def test_default_alignment_is_one_kilometre(tmp_path):
    run_align_grid(styled_input(tmp_path), tmp_path / "aligned.tif")
    dataset = gdal.Open(str(tmp_path / "aligned.tif"))
    # 4728890 .. 4728930 -> 4728000 .. 4729000; 1442480 .. 1442510 -> 1442000 .. 1443000
    assert dataset.GetGeoTransform() == (4728000.0, 10.0, 0.0, 1443000.0, 0.0, -10.0)
    data = dataset.ReadAsArray()
    assert data.shape == (100, 100)
    np.testing.assert_array_equal(data[49:52, 89:93], VALUES)
    assert (data == 255).sum() == 100 * 100 - VALUES.size


def test_float_without_nodata_is_padded_with_nan_band_by_band(tmp_path):
    stack = np.stack([np.full((2, 2), 0.5, np.float32), np.full((2, 2), -1.0, np.float32)])
    source = write_raster(tmp_path / "pp.tif", stack, origin=(4700020.0, 1460040.0), pixel=20.0,
                          descriptions=["NDVI_P0", "NDVI_P50"])
    run_align_grid(source, tmp_path / "aligned.tif", alignment=100)
    dataset = gdal.Open(str(tmp_path / "aligned.tif"))
    # 4700020 .. 4700060 -> 4700000 .. 4700100 (5 px); 1460000 .. 1460040 -> 1460000 .. 1460100
    assert dataset.GetGeoTransform() == (4700000.0, 20.0, 0.0, 1460100.0, 0.0, -20.0)
    data = dataset.ReadAsArray()
    assert data.shape == (2, 5, 5) and data.dtype == np.float32
    for band, value in ((0, 0.5), (1, -1.0)):
        np.testing.assert_array_equal(data[band, 3:5, 1:3], value)
        assert np.isnan(data[band]).sum() == 25 - 4
        assert math.isnan(dataset.GetRasterBand(band + 1).GetNoDataValue())
    assert [dataset.GetRasterBand(i).GetDescription() for i in (1, 2)] == ["NDVI_P0", "NDVI_P50"]


def test_byte_without_nodata_is_refused_unless_the_user_names_the_padding(tmp_path):
    """Before: padded with 255 without a word, so the real 255 below became nodata."""
    source = write_raster(tmp_path / "ibu.tif", np.array([[1, 255]], np.uint8), origin=(4700010.0, 1460000.0))
    with pytest.raises(ImperviousnessError, match="ibu.tif: the raster is Byte without a declared nodata .*NODATA"):
        run_align_grid(source, tmp_path / "refused.tif", alignment=20)
    assert not (tmp_path / "refused.tif").exists()
    with pytest.raises(ImperviousnessError, match="NODATA 300 is not a value of its Byte pixels"):
        run_align_grid(source, tmp_path / "refused.tif", alignment=20, nodata=300)
    for nodata, pad in ((255, 255), (0, 0)):   # the user's choice, declared on the output
        run_align_grid(source, tmp_path / f"aligned{nodata}.tif", alignment=20, nodata=nodata)
        dataset = gdal.Open(str(tmp_path / f"aligned{nodata}.tif"))
        band = dataset.GetRasterBand(1)
        assert band.ReadAsArray().tolist() == [[pad, 1, 255, pad], [pad, pad, pad, pad]]
        assert band.GetNoDataValue() == nodata
        band = dataset = None   # a band must not outlive its dataset


def test_qgis_process_takes_the_nodata_choice(qgis_process, tmp_path):
    source = write_raster(tmp_path / "ibu.tif", np.array([[1, 255]], np.uint8), origin=(4700010.0, 1460000.0))
    result = qgis_process("run", "imperviousness:aligngrid", "--", f"INPUT={source}", "ALIGNMENT=20",
                          f"OUTPUT={tmp_path / 'refused.tif'}", check=False)
    assert result.returncode != 0 and "without a declared nodata" in result.stdout + result.stderr
    assert not (tmp_path / "refused.tif").exists()
    qgis_process("run", "imperviousness:aligngrid", "--", f"INPUT={source}", "ALIGNMENT=20", "NODATA=0",
                 f"OUTPUT={tmp_path / 'aligned.tif'}")
    dataset = gdal.Open(str(tmp_path / "aligned.tif"))
    assert dataset.ReadAsArray().tolist() == [[0, 1, 255, 0], [0, 0, 0, 0]]
    band = dataset.GetRasterBand(1)
    assert band.GetNoDataValue() == 0
    band = dataset = None


def test_a_geographic_crs_is_refused_by_name(tmp_path):
    """Before: "tile arrays larger than 2GB" (a 1000-degree grid)."""
    source = write_raster(tmp_path / "wgs84.tif", np.ones((4, 4), np.uint8), nodata=255, origin=(14.0, 36.0),
                          pixel=0.0001, crs_wkt=epsg_wkt(4326))
    with pytest.raises(ImperviousnessError, match=r"wgs84.tif: its CRS \(WGS 84\) is geographic \(degrees\); "
                                                  "a geographic CRS is not supported"):
        run_align_grid(source, tmp_path / "aligned.tif")
    assert not (tmp_path / "aligned.tif").exists()


def test_an_aligned_raster_is_copied_unchanged(tmp_path):
    values = (np.arange(400) % 250).astype(np.uint8).reshape(20, 20)   # 1 x 1 km of 50 m pixels
    source = write_raster(tmp_path / "km.tif", values, nodata=255, origin=(4700000.0, 1460000.0), pixel=50.0)
    run_align_grid(source, tmp_path / "aligned.tif")
    dataset = gdal.Open(str(tmp_path / "aligned.tif"))
    assert dataset.GetGeoTransform() == gdal.Open(source).GetGeoTransform()
    np.testing.assert_array_equal(dataset.ReadAsArray(), values)


def test_onto_the_extent_of_another_raster(tmp_path):
    source = styled_input(tmp_path)
    # GRID: 20 x 20 px of 10 m at (4728800, 1442600), the hand-worked grid of the 100 m alignment
    grid = write_raster(tmp_path / "grid.tif", np.zeros((20, 20), np.uint8), origin=(4728800.0, 1442600.0))
    run_align_grid(source, tmp_path / "aligned.tif", alignment=1000, grid_path=grid)
    dataset = gdal.Open(str(tmp_path / "aligned.tif"))
    assert dataset.GetGeoTransform() == (4728800.0, 10.0, 0.0, 1442600.0, 0.0, -10.0)
    expected = np.full((20, 20), 255, dtype=np.uint8)
    expected[9:12, 9:13] = VALUES
    np.testing.assert_array_equal(dataset.ReadAsArray(), expected)
    # refused: a grid that does not cover the input, a grid on other pixels
    small = write_raster(tmp_path / "small.tif", np.zeros((10, 10), np.uint8), origin=(4728800.0, 1442600.0))
    with pytest.raises(ImperviousnessError, match="small.tif .* does not cover imd.tif"):
        run_align_grid(source, tmp_path / "refused.tif", grid_path=small)
    shifted = write_raster(tmp_path / "shifted.tif", np.zeros((20, 20), np.uint8), origin=(4728805.0, 1442600.0))
    with pytest.raises(ImperviousnessError, match="imd.tif .* is not on the pixels of shifted.tif"):
        run_align_grid(source, tmp_path / "refused.tif", grid_path=shifted)
    assert not (tmp_path / "refused.tif").exists()


@pytest.mark.parametrize("case,message", [
    ("rotated", "rotated or not north-up"),
    ("pixel", "30 x 30 m pixels do not divide 1000 m"),
    ("origin", r"origin \(4728885.0, 1442510.0\) is not on whole multiples of its 10 m pixels"),
    ("uint16", "UInt16 without a declared nodata"),
])
def test_rasters_that_need_resampling_are_refused(tmp_path, case, message):
    values = np.ones((3, 3), np.uint8)
    if case == "pixel":
        source = write_raster(tmp_path / "in.tif", values, nodata=255, origin=(4728880.0, 1442520.0), pixel=30.0)
    elif case == "origin":
        source = write_raster(tmp_path / "in.tif", values, nodata=255, origin=(4728885.0, 1442510.0))
    elif case == "uint16":
        source = write_raster(tmp_path / "in.tif", values.astype(np.uint16), origin=ORIGIN)
    else:
        source = write_raster(tmp_path / "in.tif", values, nodata=255, origin=ORIGIN)
        dataset = gdal.Open(source, gdal.GA_Update)
        dataset.SetGeoTransform((ORIGIN[0], 10.0, 2.0, ORIGIN[1], 2.0, -10.0))
        dataset = None
    with pytest.raises(ImperviousnessError, match=message) as error:
        run_align_grid(source, tmp_path / "aligned.tif")
    assert "in.tif" in str(error.value)
    assert os.listdir(tmp_path) == ["in.tif"]                 # nothing written


def test_processing_algorithm(provider, tmp_path):
    import processing
    from qgis.core import QgsApplication
    algorithm = QgsApplication.processingRegistry().algorithmById("imperviousness:aligngrid")
    assert algorithm.group() == "1 Features and change mask"
    assert "- ALIGNMENT: " in algorithm.shortHelpString() and "default: 1000" in algorithm.shortHelpString()
    result = processing.run("imperviousness:aligngrid", {
        "INPUT": styled_input(tmp_path), "ALIGNMENT": 100, "OUTPUT": str(tmp_path / "aligned.tif")})
    assert gdal.Open(result["OUTPUT"]).GetGeoTransform() == (4728800.0, 10.0, 0.0, 1442600.0, 0.0, -10.0)


def test_qgis_process_run_and_refusal(qgis_process, tmp_path):
    source = styled_input(tmp_path)
    qgis_process("run", "imperviousness:aligngrid", "--", f"INPUT={source}",
                 f"OUTPUT={tmp_path / 'aligned.tif'}")
    dataset = gdal.Open(str(tmp_path / "aligned.tif"))
    assert dataset.GetGeoTransform() == (4728000.0, 10.0, 0.0, 1443000.0, 0.0, -10.0)
    np.testing.assert_array_equal(dataset.ReadAsArray()[49:52, 89:93], VALUES)
    result = qgis_process("run", "imperviousness:aligngrid", "--", f"INPUT={source}", "ALIGNMENT=25",
                          f"OUTPUT={tmp_path / 'refused.tif'}", check=False)
    assert result.returncode != 0
    assert "10 x 10 m pixels do not divide 25 m" in result.stdout + result.stderr
    assert not (tmp_path / "refused.tif").exists()
