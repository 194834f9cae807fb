"""CHM (ATBD 4.2.5, SPEC 5): hysteresis, sieve, 8-connectivity, per-tile percentiles, nodata."""

import json
import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import scipy.ndimage
from hypothesis import given, settings
from hypothesis import strategies as st
from osgeo import gdal

from imperviousness_plugin.core.features.changemask import (ChangeMaskOptions, change_mask, eea_tiles,
                                                   process_tile, run_changemask)
from imperviousness_plugin.core.errors import Cancelled, ImperviousnessError
from imperviousness_plugin.core.io.raster import Grid, RasterWriter, Window
from rasters import epsg_wkt
from feedback import Feedback




LAEA = epsg_wkt(3035)


def percentile(values, q):
    """numpy.percentile (linear) of the values, interpolated in float64 on numpy 1 and 2 alike.

    q goes in as an array: with a scalar q, numpy 2 (NEP 50) interpolates float32 values in
    float32 and returns a float32, which numpy 1.24 did in float64.
    """
    return float(np.percentile(values, [q])[0])


def write_rmsd(path, array, x0=4_400_000.0, y1=3_000_000.0, pixel=10.0, crs_wkt=LAEA,
               nodata=np.nan):
    height, width = array.shape
    grid = Grid(crs_wkt, (x0, pixel, 0.0, y1, 0.0, -pixel), width, height)
    with RasterWriter(path, grid, 1, array.dtype, nodata, ["RMSD"]) as writer:
        writer.write(Window(0, 0, width, height), array)
    return path


def read(path):
    dataset = gdal.Open(str(path))  # kept alive while its band is read
    return dataset.GetRasterBand(1).ReadAsArray()


def mask_of(rows):
    """A hand-drawn array: '.' 0.1 (background), 'w' 0.5 (weak), 'S' 0.9 (strong), 'n' NaN."""
    values = {".": 0.1, "w": 0.5, "S": 0.9, "n": np.nan}
    return np.array([[values[c] for c in row] for row in rows], dtype=np.float32)


def expected_of(rows):
    """'.' 0, '#' 1, 'n' 255."""
    codes = {".": 0, "#": 1, "n": 255}
    return np.array([[codes[c] for c in row] for row in rows], dtype=np.uint8)


# -------------------------------------------------------------------------------------------
# Hand-worked arrays, absolute thresholds lower 0.4, upper 0.8


def test_hysteresis_keeps_the_patch_that_reaches_the_upper_threshold():
    rmsd = mask_of(["..........",
                    ".www...ww.",
                    ".wSw...ww.",
                    ".www...ww.",
                    ".......ww.",
                    ".......ww."])
    mask, patches, flagged = change_mask(rmsd, 0.4, 0.8, min_size=1)
    assert np.array_equal(mask, expected_of(["..........",
                                             ".###......",
                                             ".###......",
                                             ".###......",
                                             "..........",
                                             ".........."]))
    assert (patches, flagged) == (1, 9)


def test_patches_of_seven_pixels_are_removed_and_of_eight_kept():
    rmsd = mask_of(["wwwwwwS.....",
                    "............",
                    "wwwwwwwS....",
                    "............",
                    "wwS.........",
                    "wwwww.......",
                    "w..........."])
    expected = expected_of(["............",
                            "............",
                            "########....",
                            "............",
                            "###.........",
                            "#####.......",
                            "#..........."])
    mask, patches, flagged = change_mask(rmsd, 0.4, 0.8, min_size=8)
    assert np.array_equal(mask, expected)
    assert (patches, flagged) == (2, 17)
    # MIN_SIZE 7 keeps the 7-pixel patch too.
    mask7, patches7, _ = change_mask(rmsd, 0.4, 0.8, min_size=7)
    assert patches7 == 3 and mask7[0].tolist() == [1] * 7 + [0] * 5


def test_pixels_touching_only_at_a_corner_are_one_patch():
    rmsd = mask_of(["S...",
                    ".w..",
                    "..w.",
                    "...."])
    mask, patches, flagged = change_mask(rmsd, 0.4, 0.8, min_size=3)
    assert np.array_equal(mask, expected_of(["#...", ".#..", "..#.", "...."]))
    assert (patches, flagged) == (1, 3)
    # One pixel more than the chain: the sieve removes it, so the corner link really counted.
    mask4, _, _ = change_mask(rmsd, 0.4, 0.8, min_size=4)
    assert not mask4.any()


def test_thresholds_are_inclusive_and_exact_on_float32_values():
    lower = float(np.float32(0.3))          # a value that is exactly a Float32
    just_below = np.nextafter(np.float32(lower), np.float32(0))
    rmsd = np.array([[lower, just_below, 0.0, lower]], dtype=np.float32)
    mask, _, _ = change_mask(rmsd, lower, lower, min_size=1)
    assert mask.tolist() == [[1, 0, 0, 1]]
    # A float64 threshold a quarter of the way from `just_below` to `lower`: NumPy would round it
    # to `just_below` in a plain Float32 comparison and flag that pixel, which is below it.
    between = float(just_below) + 0.25 * (lower - float(just_below))
    assert np.float32(between) == just_below and float(just_below) < between
    mask, _, _ = change_mask(rmsd, between, between, min_size=1)
    assert mask.tolist() == [[1, 0, 0, 1]]


def test_nodata_pixels_become_255_and_break_patches():
    rmsd = mask_of(["wwnSw",
                    "nnnnn",
                    "Swn.."])
    mask, patches, _ = change_mask(rmsd, 0.4, 0.8, min_size=2)
    assert np.array_equal(mask, expected_of(["..n##", "nnnnn", "##n.."]))
    assert patches == 2


def test_zero_rmsd_is_never_change_even_when_ties_make_the_threshold_zero():
    rmsd = np.zeros((20, 20), dtype=np.float32)
    rmsd[5:8, 5:8] = 0.2
    result_mask, result = process_tile(rmsd, eea_tiles(grid_of(rmsd))[0], ChangeMaskOptions())
    # 391 of 400 values are 0: P97.5 (rank 389.025) is 0, P99 (rank 395.01) is 0.2.
    assert (result.lower, result.upper) == (0.0, float(np.float32(0.2)))
    assert result_mask.sum() == 9 and result_mask[5:8, 5:8].all()


def grid_of(array, x0=4_400_000.0, y1=3_000_000.0, pixel=10.0):
    return Grid(LAEA, (x0, pixel, 0.0, y1, 0.0, -pixel), array.shape[1], array.shape[0])


# -------------------------------------------------------------------------------------------
# Tiles


def test_tiles_follow_the_eea_100km_grid():
    # 10 m pixels, origin 500 m west and 500 m north of a 100 km corner: 3 x 3 tiles.
    grid = Grid(LAEA, (4_399_500.0, 10.0, 0.0, 3_000_500.0, 0.0, -10.0), 10980, 10980)
    tiles = eea_tiles(grid)
    assert [tile.tile_id for tile in tiles[:4]] == ["100kmE43N30", "100kmE44N30", "100kmE45N30",
                                                    "100kmE43N29"]
    assert [tile.window for tile in tiles[:3]] == [Window(0, 0, 50, 50), Window(50, 0, 10000, 50),
                                                   Window(10050, 0, 930, 50)]
    assert tiles[4].window == Window(50, 50, 10000, 10000)
    assert tiles[4].bounds == (4_400_000.0, 2_900_000.0, 4_500_000.0, 3_000_000.0)
    assert tiles[-1].tile_id == "100kmE45N28" and tiles[-1].window == Window(10050, 10050, 930, 930)
    hits = np.zeros((grid.height, grid.width), dtype=np.uint8)
    for tile in tiles:
        hits[tile.window.slices] += 1
    assert (hits == 1).all()


def test_pixels_of_a_grid_not_dividing_100km_go_to_the_tile_of_their_centre():
    # 30 m pixels from x = 99 970: pixel 0 spans 99 970..100 000 (centre in E0), pixel 1 is E1;
    # pixel 3334 spans 199 990..200 020, centre 200 005 -> E2.
    grid = Grid(epsg_wkt(32633), (99_970.0, 30.0, 0.0, 4_000_000.0, 0.0, -30.0), 3400, 1)
    tiles = eea_tiles(grid)
    assert [(t.tile_id, t.window.col, t.window.width) for t in tiles] == [
        ("100kmE0N39", 0, 1), ("100kmE1N39", 1, 3333), ("100kmE2N39", 3334, 66)]


def test_a_geographic_crs_is_refused(tmp_path):
    path = write_rmsd(tmp_path / "rmsd.tif", np.ones((4, 4), np.float32), x0=14.0, y1=36.0,
                      pixel=0.001, crs_wkt=epsg_wkt(4326))
    with pytest.raises(ImperviousnessError, match="geographic CRS"):
        run_changemask(path, tmp_path / "chm.tif")
    assert not (tmp_path / "chm.tif").exists()


def test_each_tile_gets_its_own_percentiles(tmp_path):
    # 1 km pixels from x = 4 300 km: columns 0..99 are tile E43, 100..199 tile E44.
    rng = np.random.default_rng(7)
    left = rng.uniform(0.0, 1.0, (100, 100)).astype(np.float32)
    right = rng.uniform(0.0, 10.0, (100, 100)).astype(np.float32)
    right[rng.random((100, 100)) < 0.1] = np.nan
    rmsd = np.hstack([left, right])
    path = write_rmsd(tmp_path / "rmsd.tif", rmsd, x0=4_300_000.0, pixel=1000.0)
    summary = run_changemask(path, tmp_path / "chm.tif", ChangeMaskOptions(min_size=1),
                             thresholds_path=tmp_path / "thresholds.json")
    west, east = summary["tiles"]
    assert (west.tile_id, east.tile_id) == ("100kmE43N29", "100kmE44N29")
    for result, values in ((west, left), (east, right)):
        finite = values[np.isfinite(values)]
        assert result.valid_pixels == finite.size
        assert result.lower == percentile(finite, 97.5)
        assert result.upper == percentile(finite, 99)
    assert 9 < east.lower < 10 and 0.9 < west.lower < 1
    # Each half of the CHM is the reference applied to that half alone.
    chm = read(tmp_path / "chm.tif")
    assert np.array_equal(chm[:, :100], reference_chm(left, 97.5, 99, 1))
    assert np.array_equal(chm[:, 100:], reference_chm(right, 97.5, 99, 1))
    report = json.loads((tmp_path / "thresholds.json").read_text())["tiles"]
    assert report[1]["tile_id"] == "100kmE44N29"
    assert (report[1]["xmin"], report[1]["ymin"], report[1]["xmax"], report[1]["ymax"]) == (
        4_400_000.0, 2_900_000.0, 4_500_000.0, 3_000_000.0)
    assert report[1]["lower"] == east.lower and report[1]["flagged_pixels"] == int((chm[:, 100:] == 1).sum())


def test_percentiles_match_numpy_on_random_data():
    rng = np.random.default_rng(3)
    rmsd = rng.gamma(2.0, 0.05, (300, 300)).astype(np.float32)
    rmsd[rng.random(rmsd.shape) < 0.05] = np.nan
    options = ChangeMaskOptions(lower_percentile=90.0, upper_percentile=99.5)
    _, result = process_tile(rmsd.copy(), eea_tiles(grid_of(rmsd))[0], options)
    finite = rmsd[np.isfinite(rmsd)]
    assert result.lower == percentile(finite, 90.0)
    assert result.upper == percentile(finite, 99.5)
    assert (result.lower_source, result.upper_source) == ("P90", "P99.5")


# -------------------------------------------------------------------------------------------
# The raster job


def test_absolute_thresholds_replace_the_percentiles(tmp_path):
    rows = ["..........",
            ".www...ww.",
            ".wSw...wS.",
            ".www......",
            "..........",
            "wS........"]             # reaches the upper threshold but has 2 < 3 pixels
    path = write_rmsd(tmp_path / "rmsd.tif", mask_of(rows))
    options = ChangeMaskOptions(min_size=3, lower_threshold=0.4, upper_threshold=0.8)
    summary = run_changemask(path, tmp_path / "chm.tif", options, tmp_path / "t.csv")
    assert np.array_equal(read(tmp_path / "chm.tif"), expected_of(["..........",
                                                                   ".###...##.",
                                                                   ".###...##.",
                                                                   ".###......",
                                                                   "..........",
                                                                   ".........."]))
    (tile,) = summary["tiles"]
    assert (tile.lower, tile.upper, tile.lower_source, tile.upper_source) == (0.4, 0.8, "absolute",
                                                                              "absolute")
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0].startswith("tile_id,xmin,ymin,xmax,ymax,valid_pixels,lower,upper")
    assert lines[1].startswith("100kmE44N29,4400000.0,2999940.0,4400100.0,3000000.0,60,0.4,0.8,")
    assert lines[1].endswith(",2,13")
    # Only the upper threshold absolute: the lower one is still the percentile.
    one = run_changemask(path, tmp_path / "chm2.tif", ChangeMaskOptions(upper_threshold=0.8))
    values = mask_of(rows).ravel()
    assert one["tiles"][0].lower == percentile(values, 97.5)
    assert one["tiles"][0].lower_source == "P97.5" and one["tiles"][0].upper == 0.8


def test_nodata_propagates_and_an_empty_tile_is_255(tmp_path):
    rng = np.random.default_rng(11)
    rmsd = rng.gamma(2.0, 0.05, (40, 200)).astype(np.float32)
    rmsd[:, 100:] = -9999.0            # the whole eastern tile is nodata
    rmsd[rng.random(rmsd.shape) < 0.2] = -9999.0
    path = write_rmsd(tmp_path / "rmsd.tif", rmsd, x0=4_300_000.0, pixel=1000.0, nodata=-9999.0)
    summary = run_changemask(path, tmp_path / "chm.tif", ChangeMaskOptions(min_size=1))
    chm = read(tmp_path / "chm.tif")
    assert np.array_equal(chm == 255, rmsd == -9999.0)
    west, east = summary["tiles"]
    assert east.valid_pixels == 0 and east.lower is None and east.flagged_pixels == 0
    valid_west = rmsd[:, :100][rmsd[:, :100] != -9999.0]
    assert west.lower == percentile(valid_west, 97.5)
    expected = reference_chm(np.where(rmsd == -9999.0, np.nan, rmsd)[:, :100], 97.5, 99, 1)
    assert np.array_equal(chm[:, :100], expected)
    dataset = gdal.Open(str(tmp_path / "chm.tif"))
    band = dataset.GetRasterBand(1)
    assert band.GetNoDataValue() == 255 and band.GetDescription() == "CHM"
    assert band.DataType == gdal.GDT_Byte and band.GetColorTable() is not None


def test_bad_options_are_refused_with_clear_messages(tmp_path):
    path = write_rmsd(tmp_path / "rmsd.tif", np.ones((4, 4), np.float32))
    bad = [(ChangeMaskOptions(lower_percentile=99.5), "must not exceed UPPER_PERCENTILE"),
           (ChangeMaskOptions(upper_percentile=101), "UPPER_PERCENTILE must be between 0 and 100"),
           (ChangeMaskOptions(lower_threshold=2.0, upper_threshold=1.0), "LOWER_THRESHOLD"),
           (ChangeMaskOptions(min_size=0), "MIN_SIZE")]
    for options, message in bad:
        with pytest.raises(ImperviousnessError, match=message):
            run_changemask(path, tmp_path / "chm.tif", options)
    with pytest.raises(ImperviousnessError, match="missing.tif"):
        run_changemask(tmp_path / "missing.tif", tmp_path / "chm.tif")
    assert not (tmp_path / "chm.tif").exists()




def test_cancelling_leaves_no_output(tmp_path):
    rmsd = np.random.default_rng(0).random((20, 300)).astype(np.float32)
    path = write_rmsd(tmp_path / "rmsd.tif", rmsd, x0=4_300_000.0, pixel=1000.0)
    with pytest.raises(Cancelled):
        run_changemask(path, tmp_path / "chm.tif", feedback=Feedback(checks=3),
                       thresholds_path=tmp_path / "t.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rmsd.tif"]


# -------------------------------------------------------------------------------------------
# Property test against a slow plain reference


def reference_chm(rmsd, lower_percentile, upper_percentile, min_size, lower=None, upper=None):
    """The CHM of one tile written plainly: scipy labelling and a Python loop per patch."""
    rmsd = rmsd.astype(np.float64)
    finite = rmsd[np.isfinite(rmsd)]
    out = np.full(rmsd.shape, 255, dtype=np.uint8)
    if finite.size == 0:
        return out
    if lower is None:
        lower = percentile(finite, lower_percentile)
    if upper is None:
        upper = percentile(finite, upper_percentile)
    out[np.isfinite(rmsd)] = 0
    candidate = np.isfinite(rmsd) & (rmsd >= lower) & (rmsd > 0)
    labels, count = scipy.ndimage.label(candidate, structure=np.ones((3, 3)))
    for label in range(1, count + 1):
        members = labels == label
        if rmsd[members].max() >= upper and members.sum() >= min_size:
            out[members] = 1
    return out


@settings(max_examples=150, deadline=None)
@given(data=st.data(), min_size=st.integers(1, 12),
       percentiles=st.tuples(st.floats(0, 100), st.floats(0, 100)).map(sorted))
def test_change_mask_equals_the_plain_reference(data, min_size, percentiles):
    shape = data.draw(st.tuples(st.integers(1, 40), st.integers(1, 40)))
    # Few distinct values (ties, zeros) and some NaN, the hard cases for thresholds.
    levels = data.draw(st.integers(2, 12))
    codes = data.draw(hnp.arrays(np.int8, shape, elements=st.integers(-1, levels)))
    rmsd = np.where(codes < 0, np.nan, codes / levels).astype(np.float32)
    lower_p, upper_p = percentiles
    options = ChangeMaskOptions(lower_percentile=lower_p, upper_percentile=upper_p,
                                min_size=min_size)
    mask, result = process_tile(rmsd.copy(), eea_tiles(grid_of(rmsd))[0], options)
    assert np.array_equal(mask, reference_chm(rmsd, lower_p, upper_p, min_size))
    assert result.flagged_pixels == int((mask == 1).sum())


@settings(max_examples=100, deadline=None)
@given(values=hnp.arrays(np.float32, st.tuples(st.integers(1, 30), st.integers(1, 30)),
                         elements=st.floats(0, 1, width=32) | st.just(math.nan)),
       thresholds=st.tuples(st.floats(0, 1), st.floats(0, 1)).map(sorted),
       min_size=st.integers(1, 10))
def test_absolute_thresholds_equal_the_plain_reference(values, thresholds, min_size):
    lower, upper = thresholds
    mask, _, _ = change_mask(values.copy(), lower, upper, min_size)
    if np.isfinite(values).any():
        assert np.array_equal(mask, reference_chm(values, None, None, min_size, lower, upper))
    else:
        assert (mask == 255).all()


# -------------------------------------------------------------------------------------------
# Through QGIS Processing


def test_processing_run_writes_the_mask_and_the_thresholds(provider, tmp_path):
    import processing

    rng = np.random.default_rng(5)
    rmsd = rng.gamma(2.0, 0.05, (120, 150)).astype(np.float32)
    rmsd[40:50, 60:75] += 1.0          # a block of change
    rmsd[0:3, :] = np.nan
    path = write_rmsd(tmp_path / "rmsd.tif", rmsd)
    result = processing.run("imperviousness:changemask", {
        "INPUT": str(path), "OUTPUT": str(tmp_path / "chm.tif"),
        "OUTPUT_THRESHOLDS": str(tmp_path / "thresholds.json")})
    chm = read(result["OUTPUT"])
    assert np.array_equal(chm, reference_chm(rmsd, 97.5, 99, 8))
    assert (tmp_path / "chm.qml").read_text().count("<paletteEntry") == 2   # QGIS loads it styled
    assert chm[40:50, 60:75].all() and (chm[0:3] == 255).all()
    report = json.loads((tmp_path / "thresholds.json").read_text())["tiles"]
    finite = rmsd[np.isfinite(rmsd)]
    assert report[0]["lower"] == percentile(finite, 97.5)
    assert report[0]["upper"] == percentile(finite, 99)
    # Absolute thresholds through the parameters, and the same inputs give the same bytes.
    params = {"INPUT": str(path), "LOWER_THRESHOLD": 0.9, "UPPER_THRESHOLD": 1.2, "MIN_SIZE": 20,
              "OUTPUT": str(tmp_path / "chm_abs.tif")}
    processing.run("imperviousness:changemask", params)
    first = (tmp_path / "chm_abs.tif").read_bytes()
    assert np.array_equal(read(tmp_path / "chm_abs.tif"),
                          reference_chm(rmsd, None, None, 20, lower=0.9, upper=1.2))
    processing.run("imperviousness:changemask", params)
    assert (tmp_path / "chm_abs.tif").read_bytes() == first


def test_processing_errors_name_the_problem(provider, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    path = write_rmsd(tmp_path / "rmsd.tif", np.ones((4, 4), np.float32))
    with pytest.raises(QgsProcessingException, match="LOWER_THRESHOLD"):
        processing.run("imperviousness:changemask", {
            "INPUT": str(path), "LOWER_THRESHOLD": 3, "UPPER_THRESHOLD": 2,
            "OUTPUT": str(tmp_path / "chm.tif")})
    assert not (tmp_path / "chm.tif").exists()
