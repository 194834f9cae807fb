"""IBU = RIBUD >= THRESHOLD (SPEC 8, ATBD 4.4.2), core and through processing."""

import os

import numpy as np
import pytest
from osgeo import gdal, gdal_array

from imperviousness_plugin.core.status.builtup import run_builtup
from imperviousness_plugin.core.errors import Cancelled, ImperviousnessError
from rasters import write_raster
from feedback import Feedback

gdal.UseExceptions()
NODATA = 255


def write_tif(path, array, nodata=NODATA, dtype=gdal.GDT_Byte):
    numpy_type = gdal_array.GDALTypeCodeToNumericTypeCode(dtype)
    return write_raster(path, array, nodata=nodata, dtype=numpy_type)


def read(path):
    ds = gdal.Open(str(path))
    band = ds.GetRasterBand(1)
    table = band.GetColorTable()
    return (band.ReadAsArray(), band.DataType, band.GetNoDataValue(), band.GetDescription(),
            {i: table.GetColorEntry(i) for i in range(table.GetCount())}, ds.GetGeoTransform())


RIBUD = np.array([[0, 9, 10, 11], [100, 255, 50, 1]], dtype=np.uint8)


def test_threshold_is_inclusive_and_nodata_propagates(tmp_path):
    run_builtup(write_tif(tmp_path / "ribud.tif", RIBUD), tmp_path / "ibu.tif")
    values, dtype, nodata, description, colors, transform = read(tmp_path / "ibu.tif")
    assert values.tolist() == [[0, 0, 1, 1], [1, 255, 1, 0]]
    assert dtype == gdal.GDT_Byte and nodata == NODATA
    assert transform == (4700000.0, 10.0, 0.0, 1460000.0, 0.0, -10.0)


@pytest.mark.parametrize("threshold,expected", [(0, [[1, 1, 1, 1], [1, 255, 1, 1]]),
                                                (50, [[0, 0, 0, 0], [1, 255, 1, 0]]),
                                                (50.5, [[0, 0, 0, 0], [1, 255, 0, 0]]),
                                                (100, [[0, 0, 0, 0], [1, 255, 0, 0]])])
def test_other_thresholds(tmp_path, threshold, expected):
    run_builtup(write_tif(tmp_path / "ribud.tif", RIBUD), tmp_path / "ibu.tif", threshold)
    assert read(tmp_path / "ibu.tif")[0].tolist() == expected


def test_declared_nodata_other_than_255_is_respected(tmp_path):
    source = write_tif(tmp_path / "ribud.tif", np.array([[0, 20, 0]], dtype=np.uint8), nodata=0)
    run_builtup(source, tmp_path / "ibu.tif")
    assert read(tmp_path / "ibu.tif")[0].tolist() == [[255, 1, 255]]


def test_values_above_100_are_refused_and_nothing_written(tmp_path):
    source = write_tif(tmp_path / "ribud.tif", np.array([[0, 150]], dtype=np.uint8))
    with pytest.raises(ImperviousnessError, match=r"RIBUD .* holds 0\.\.150"):
        run_builtup(source, tmp_path / "ibu.tif")
    assert os.listdir(tmp_path) == ["ribud.tif"]


def test_threshold_outside_0_100_is_refused(tmp_path):
    with pytest.raises(ImperviousnessError, match="THRESHOLD"):
        run_builtup(write_tif(tmp_path / "ribud.tif", RIBUD), tmp_path / "ibu.tif", 101)


def test_cancelled_before_the_first_block_writes_nothing(tmp_path):
    with pytest.raises(Cancelled):
        run_builtup(write_tif(tmp_path / "ribud.tif", RIBUD), tmp_path / "ibu.tif", feedback=Feedback(progress=0))
    assert os.listdir(tmp_path) == ["ribud.tif"]


def test_processing_builtup_bad_input(provider, tmp_path):
    import processing
    from qgis.core import QgsProcessingException
    source = write_tif(tmp_path / "ribud.tif", np.array([[0, 200]], dtype=np.uint8))
    with pytest.raises(QgsProcessingException, match="expected densities 0..100"):
        processing.run("imperviousness:builtup", {"INPUT": source, "OUTPUT": str(tmp_path / "ibu.tif")})
    assert not os.path.exists(tmp_path / "ibu.tif")


def test_builtup_loads_in_qgis_with_the_ibu_legend(provider, tmp_path):
    import processing
    from qgis.core import QgsRasterLayer
    source = write_tif(tmp_path / "ribud.tif", RIBUD)
    output = processing.run("imperviousness:builtup", {"INPUT": source, "OUTPUT": str(tmp_path / "IBU.tif")})["OUTPUT"]
    layer = QgsRasterLayer(output, "IBU")
    assert [(c.value, c.label) for c in layer.renderer().classes()] == [(0, "non built-up"), (1, "built-up")]
