"""The one masked read (core.io.raster.RasterInput), the one NODATA and the output-size limit.

Hand-made GeoTIFFs with every kind of nodata; expected validity written out by hand.
"""

import numpy as np
import pytest

from imperviousness_plugin.core.errors import ImperviousnessError
from imperviousness_plugin.core.io.encoding import NODATA
from imperviousness_plugin.core.io.raster import (MAX_OUTPUT_PIXELS, Grid, RasterInput, Window,
                                                  find_band, require_same_grid)
from imperviousness_plugin.core.products import styles
from rasters import EEA_ORIGIN, epsg_wkt, write_raster

INF = np.inf


def read_valid(path, band=1):
    source = RasterInput(path, "INPUT", band=band)
    return source.read(Window(0, 0, source.grid.width, source.grid.height))


def test_nodata_is_255_once_for_the_whole_plugin():
    assert NODATA == 255
    assert styles.NODATA is NODATA


# ------------------------------------------------------------------------ the nodata rule

def test_float_declared_nodata_nan_and_both_infinities_are_not_valid(tmp_path):
    values = np.array([[1.5, -9999.0, np.nan, INF, -INF, 0.0, 255.0]], dtype=np.float32)
    path = write_raster(tmp_path / "f.tif", values, nodata=-9999.0)
    read, valid = read_valid(path)
    assert valid.tolist() == [[True, False, False, False, False, True, True]]
    np.testing.assert_array_equal(read, values)       # the values themselves are untouched


def test_float_without_declared_nodata_still_refuses_nan_and_inf(tmp_path):
    values = np.array([[INF, 2.0, np.nan, -INF]], dtype=np.float64)
    _, valid = read_valid(write_raster(tmp_path / "d.tif", values))
    assert valid.tolist() == [[False, True, False, False]]


def test_byte_255_is_nodata_even_when_undeclared(tmp_path):
    values = np.array([[0, 1, 100, 254, 255]], dtype=np.uint8)
    _, valid = read_valid(write_raster(tmp_path / "b.tif", values))
    assert valid.tolist() == [[True, True, True, True, False]]


def test_byte_declaring_0_has_both_0_and_255_not_valid(tmp_path):
    values = np.array([[0, 20, 255, 254]], dtype=np.uint8)
    _, valid = read_valid(write_raster(tmp_path / "b0.tif", values, nodata=0))
    assert valid.tolist() == [[False, True, False, True]]


def test_255_is_a_value_in_wider_integer_types(tmp_path):
    values = np.array([[255, -1, 7]], dtype=np.int16)
    _, valid = read_valid(write_raster(tmp_path / "i.tif", values, nodata=-1))
    assert valid.tolist() == [[True, False, True]]
    _, valid = read_valid(write_raster(tmp_path / "u.tif", np.array([[255, 0]], np.uint16)))
    assert valid.tolist() == [[True, True]]


def test_read_float_gives_nan_where_not_valid_and_keeps_float64(tmp_path):
    byte = RasterInput(write_raster(tmp_path / "b.tif", np.array([[3, 255]], np.uint8)), "B")
    out = byte.read_float(Window(0, 0, 2, 1))
    assert out.dtype == np.float32 and out[0, 0] == 3 and np.isnan(out[0, 1])
    wide = RasterInput(write_raster(tmp_path / "d.tif", np.array([[0.1, INF]], np.float64)), "D")
    out = wide.read_float(Window(0, 0, 2, 1))
    assert out.dtype == np.float64 and out[0, 0] == 0.1 and np.isnan(out[0, 1])


# ------------------------------------------------------------------------ padded windows

def test_windows_beyond_the_raster_are_padded_with_not_valid_pixels(tmp_path):
    values = np.arange(1, 13, dtype=np.uint8).reshape(3, 4)       # no nodata inside
    source = RasterInput(write_raster(tmp_path / "p.tif", values), "P")
    read, valid = source.read(Window(-1, -2, 6, 6))              # 1 col left, 2 rows up, past both ends
    expected_valid = np.zeros((6, 6), dtype=bool)
    expected_valid[2:5, 1:5] = True
    assert (valid == expected_valid).all()
    np.testing.assert_array_equal(read[2:5, 1:5], values)
    outside, outside_valid = source.read(Window(10, 10, 2, 2))    # entirely outside
    assert outside.shape == (2, 2) and not outside_valid.any()
    floats = source.read_float(Window(3, 2, 2, 2))
    assert floats[0, 0] == 12 and np.isnan(floats).sum() == 3


# ------------------------------------------------------------------------ band lookup

def test_band_by_description_and_the_missing_band_error(tmp_path):
    stack = np.stack([np.full((2, 2), 1.0), np.full((2, 2), -5.0), np.full((2, 2), 3.0)]).astype(np.float32)
    path = write_raster(tmp_path / "pp.tif", stack, nodata=-5.0, descriptions=["Q20_B02", "NDVI_P0", "NOBS"])
    source = RasterInput(path, "PP_A", band="NDVI_P0")
    assert source.band == 2 and source.band_number(" nobs ") == 3
    assert not source.read(Window(0, 0, 2, 2))[1].any()             # band 2 is all nodata (-5)
    assert source.read_float(Window(0, 0, 2, 2), band=3).tolist() == [[3.0, 3.0], [3.0, 3.0]]
    with pytest.raises(ImperviousnessError) as error:
        RasterInput(path, "PP_A", band="NDVI_P1")
    message = str(error.value)
    assert message == (f"PP_A ({path}) has no band described NDVI_P1; its bands are: "
                       "Q20_B02, NDVI_P0, NOBS.")
    assert find_band(["A", "", "A"], "a", "x") == 1
    with pytest.raises(ImperviousnessError, match=r"its bands are: A, \(no description\)\.$"):
        find_band(["A", ""], "B", "x")


# ------------------------------------------------------------------------ grid checks

def test_grid_mismatch_names_both_files_and_both_grids(tmp_path):
    a = RasterInput(write_raster(tmp_path / "first.tif", np.zeros((2, 3), np.uint8)), "IMD_A")
    b = RasterInput(write_raster(tmp_path / "second.tif", np.zeros((2, 3), np.uint8),
                                 origin=(EEA_ORIGIN[0] + 10, EEA_ORIGIN[1])), "IBU_A")
    same = RasterInput(write_raster(tmp_path / "third.tif", np.ones((2, 3), np.uint8)), "MASK")
    assert require_same_grid([a, same]) == a.grid
    with pytest.raises(ImperviousnessError) as error:
        require_same_grid([a, same, b], "calibrate")
    assert str(error.value).startswith(
        f"calibrate: The inputs are on different grids: IBU_A ({tmp_path / 'second.tif'}) is not on "
        f"the grid of IMD_A ({tmp_path / 'first.tif'}): 3 x 2 px of 10 in EPSG:3035, origin "
        "(4700010.00, 1460000.00) versus 3 x 2 px of 10 in EPSG:3035, origin (4700000.00, 1460000.00).")


# ------------------------------------------------------------------------ resampled reads

def test_resampled_read_keeps_255_out_of_the_average(tmp_path):
    fine = np.array([[10, 20, 40, 40], [30, 255, 40, 40]], dtype=np.uint8)
    path = write_raster(tmp_path / "fine.tif", fine)
    coarse = Grid(epsg_wkt(3035), (EEA_ORIGIN[0], 20.0, 0.0, EEA_ORIGIN[1], 0.0, -20.0), 2, 1)
    source = RasterInput(path, "REFERENCE", grid=coarse, resampling="average", float_output=True)
    values, valid = source.read(Window(0, 0, 2, 1))
    assert valid.all()
    assert values.tolist() == [[20.0, 40.0]]                  # (10 + 20 + 30) / 3, not / 4 with 255


# ------------------------------------------------------------------------ absurd output grids

def test_output_grids_over_the_pixel_limit_are_refused_with_their_size():
    assert MAX_OUTPUT_PIXELS == 4_000_000_000
    bounds = (4700000.0, 1460000.0, 4800000.0, 1560000.0)        # 100 km square
    with pytest.raises(ImperviousnessError) as error:
        Grid.aligned(epsg_wkt(3035), bounds, 0.001)
    assert ("100000000 x 100000000 = 1e+16 pixels at a pixel size of 0.001, over the limit of "
            "4e+09 pixels") in str(error.value)
    # 1.5 m over 100 km: 66 667^2 = 4.44e9 px, refused; 2 m: 50 000^2 = 2.5e9 px, allowed.
    with pytest.raises(ImperviousnessError, match=r"66667 x 66667 = 4\.44e\+09 pixels at a pixel size of 1\.5"):
        Grid.aligned(epsg_wkt(3035), bounds, 1.5)
    assert Grid.aligned(epsg_wkt(3035), bounds, 2.0).width == 50000


def test_aggregation_plans_are_held_to_the_same_limit():
    from imperviousness_plugin.core.change.aggregate import AggregationPlan
    fine = Grid(epsg_wkt(3035), (4700000.0, 10.0, 0.0, 1460000.0, 0.0, -10.0), 10, 10)
    with pytest.raises(ImperviousnessError, match="700000 x 700000 = 4.9e\\+11 pixels at a pixel size of 10"):
        AggregationPlan.covering(fine, 10.0, bounds=(0.0, 0.0, 7e6, 7e6))


# ------------------------------------------------------------------------ one rule in every algorithm

def read_first_band(path):
    from osgeo import gdal
    dataset = gdal.Open(str(path))
    return dataset.GetRasterBand(1).ReadAsArray()


def test_infinity_is_nodata_in_every_algorithm(tmp_path):
    """Before the one masked read, aggregate, rmsd and changemask counted inf as a valid value."""
    from imperviousness_plugin.core.change.aggregate import aggregate_raster
    from imperviousness_plugin.core.features.changemask import ChangeMaskOptions, run_changemask
    from imperviousness_plugin.core.unet.confidence import run_confidence

    values = np.array([[1.0, INF], [3.0, -INF]], dtype=np.float32)
    aggregate_raster(write_raster(tmp_path / "f.tif", values), tmp_path / "agg.tif", 20.0, "mean")
    assert read_first_band(tmp_path / "agg.tif").tolist() == [[2.0]]          # (1 + 3) / 2

    rmsd = np.array([[INF, 0.0, 0.0], [0.0, 0.5, 0.0]], dtype=np.float32)
    run_changemask(write_raster(tmp_path / "rmsd.tif", rmsd), tmp_path / "chm.tif",
                   ChangeMaskOptions(lower_threshold=0.1, upper_threshold=0.1, min_size=1))
    assert read_first_band(tmp_path / "chm.tif").tolist() == [[NODATA, 0, 0], [0, 1, 0]]

    sd = np.array([[0.0, INF, 0.5]], dtype=np.float32)
    run_confidence(tmp_path / "cl.tif", input_sd=write_raster(tmp_path / "sd.tif", sd))
    assert read_first_band(tmp_path / "cl.tif").tolist() == [[100, NODATA, 50]]


def test_byte_255_is_nodata_in_confidence_inputs_that_declare_another_nodata(tmp_path):
    """Before, confidence took 255 for nodata only when a Byte prediction declared no nodata, and
    refused a member declaring nodata 254 and holding 255 as 'percentages 80..255'."""
    from imperviousness_plugin.core.unet.confidence import run_confidence

    members = [write_raster(tmp_path / f"m{k}.tif", np.array([[90, 10 + 60 * k, 255, 254]], np.uint8),
                            nodata=254) for k in range(2)]
    run_confidence(tmp_path / "cl.tif", predictions=members)
    # Column 0: both >= 50 -> 100; column 1: 10 and 70 -> 50; columns 2 and 3: nodata.
    assert read_first_band(tmp_path / "cl.tif").tolist() == [[100, 50, NODATA, NODATA]]
