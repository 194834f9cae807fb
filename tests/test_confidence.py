"""Confidence layers IMDCL / IBUCL (SPEC 8, ATBD 4.7) on constructed ensembles."""

import numpy as np
import pytest
from osgeo import gdal

from imperviousness_plugin.core.unet.confidence import (binary_sd, confidence_from_members, confidence_from_sd,
                                                   run_confidence)
from imperviousness_plugin.core.errors import ImperviousnessError
from rasters import EEA_ORIGIN, write_raster

gdal.UseExceptions()


def write_tif(path, array, nodata=None, origin=EEA_ORIGIN):
    return write_raster(path, array, nodata=nodata, origin=origin)


def read(path):
    dataset = gdal.Open(str(path))
    band = dataset.GetRasterBand(1)
    return band.ReadAsArray(), band.GetNoDataValue(), band.GetColorTable() is not None


def test_all_agree_is_100_and_half_and_half_is_50():
    agree_high = np.full((4, 1, 1), 0.9)
    agree_low = np.full((4, 1, 1), 0.1)
    half = np.array([0.9, 0.7, 0.2, 0.0]).reshape(4, 1, 1)
    assert confidence_from_members(agree_high).item() == 100
    assert confidence_from_members(agree_low).item() == 100
    assert confidence_from_members(half).item() == 50


def test_other_shares_against_numpy_std():
    rng = np.random.default_rng(0)
    densities = rng.random((7, 30, 40))
    expected = np.rint(100 - 100 * (densities >= 0.5).astype(float).std(axis=0))   # population SD
    assert np.array_equal(confidence_from_members(densities), expected.astype(np.uint8))
    # Hand-worked: 3 of 4 members say 1: SD = sqrt(0.75 x 0.25) = 0.4330, CL = round(56.70) = 57.
    assert confidence_from_members(np.array([0.6, 0.8, 0.5, 0.1]).reshape(4, 1)).item() == 57
    # 1 of 3: SD = sqrt(2/9) = 0.4714, CL = 53.
    assert confidence_from_members(np.array([0.6, 0.2, 0.3]).reshape(3, 1)).item() == 53


def test_threshold_is_inclusive_and_nodata_propagates():
    densities = np.array([[0.5, 0.2, np.nan], [0.5, 0.7, 0.4]])
    assert confidence_from_members(densities).tolist() == [100, 50, 255]
    valid = np.array([True, False, True])
    assert confidence_from_members(densities, valid).tolist() == [100, 255, 255]
    assert binary_sd(np.array([[1], [0]])).tolist() == [0.5]


def test_confidence_from_sd_rounds_half_to_even():
    assert confidence_from_sd(np.array([0.0, 0.5, 0.125, 0.135, np.nan])).tolist() == [100, 50, 88, 86, 255]


def test_run_confidence_from_byte_member_rasters(tmp_path):
    members = [np.array([[90, 10, 50, 255]], dtype=np.uint8),
               np.array([[80, 60, 49, 30]], dtype=np.uint8),
               np.array([[70, 20, 50, 30]], dtype=np.uint8),
               np.array([[60, 70, 49, 30]], dtype=np.uint8)]
    paths = [write_tif(tmp_path / f"m{k}.tif", m, nodata=255) for k, m in enumerate(members)]
    run_confidence(tmp_path / "IMDCL.tif", predictions=paths)
    values, nodata, has_table = read(tmp_path / "IMDCL.tif")
    # Column 0: all >= 50 -> 100; column 1: 2 of 4 -> 50; column 2: 50, 49, 50, 49 -> 50; column 3 nodata.
    assert values.tolist() == [[100, 50, 50, 255]]
    assert nodata == 255 and has_table and (tmp_path / "IMDCL.qml").exists()


def test_run_confidence_from_float_densities_and_threshold(tmp_path):
    members = [np.array([[0.95, 0.5, np.nan]], dtype=np.float32), np.array([[0.7, 0.3, 0.1]], dtype=np.float32),
               np.array([[0.2, 0.2, 0.1]], dtype=np.float32)]
    paths = [write_tif(tmp_path / f"m{k}.tif", m) for k, m in enumerate(members)]
    run_confidence(tmp_path / "cl.tif", predictions=paths)
    assert read(tmp_path / "cl.tif")[0].tolist() == [[53, 53, 255]]
    run_confidence(tmp_path / "cl80.tif", predictions=paths, threshold=80)
    assert read(tmp_path / "cl80.tif")[0].tolist() == [[53, 100, 255]]


def test_run_confidence_from_sd(tmp_path):
    sd = write_tif(tmp_path / "sd.tif", np.array([[0.0, 0.5, 0.2, np.nan]], dtype=np.float32))
    run_confidence(tmp_path / "cl.tif", input_sd=sd)
    assert read(tmp_path / "cl.tif")[0].tolist() == [[100, 50, 80, 255]]


def test_bad_inputs(tmp_path):
    a = write_tif(tmp_path / "a.tif", np.array([[10, 20]], dtype=np.uint8))
    b = write_tif(tmp_path / "b.tif", np.array([[10, 20]], dtype=np.uint8), origin=(4700010.0, 1460000.0))
    with pytest.raises(ImperviousnessError, match="different grids"):
        run_confidence(tmp_path / "cl.tif", predictions=[a, b])
    with pytest.raises(ImperviousnessError, match="either PREDICTIONS .* or INPUT_SD"):
        run_confidence(tmp_path / "cl.tif", predictions=[a], input_sd=a)
    with pytest.raises(ImperviousnessError, match="either PREDICTIONS"):
        run_confidence(tmp_path / "cl.tif")
    big_sd = write_tif(tmp_path / "sd.tif", np.array([[0.7]], dtype=np.float32))
    with pytest.raises(ImperviousnessError, match="0..0.5"):
        run_confidence(tmp_path / "cl.tif", input_sd=big_sd)
    percent_as_float = write_tif(tmp_path / "f.tif", np.array([[40.0]], dtype=np.float32))
    with pytest.raises(ImperviousnessError, match="densities 0..1"):
        run_confidence(tmp_path / "cl.tif", predictions=[percent_as_float, percent_as_float])
    not_percent = write_tif(tmp_path / "i.tif", np.array([[150]], dtype=np.int16), nodata=-1)
    with pytest.raises(ImperviousnessError, match="percentages 0..100"):
        run_confidence(tmp_path / "cl.tif", predictions=[not_percent])
    assert not (tmp_path / "cl.tif").exists()


def test_processing_confidence_without_predictions_names_the_parameter(provider, tmp_path):
    """(A run with three members is a case of tests/algorithm_tests.yaml.)"""
    import processing
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match="PREDICTIONS"):
        processing.run("imperviousness:confidence", {"OUTPUT": str(tmp_path / "none.tif")})
