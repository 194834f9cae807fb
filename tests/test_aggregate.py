"""The one aggregation routine (SPEC 6) and the product styles (SPEC 2).

Hand-worked arrays for each rule, property tests against a slow per-cell reference written here,
raster-level behaviour (edges, misaligned grids, overviews, cancellation), the real HRL Malta
product reproduced pixel for pixel, and the legends loaded by QGIS.
"""

import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from osgeo import gdal, osr

from imperviousness_plugin.core.products import styles
from imperviousness_plugin.core.change.aggregate import (AggregationPlan, aggregate_block,
                                                  aggregate_raster, required_valid_pixels)
from imperviousness_plugin.core.errors import Cancelled, ImperviousnessError
from imperviousness_plugin.core.io.raster import Grid
from feedback import Feedback

gdal.UseExceptions()
NODATA = 255


def laea():
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3035)
    return srs.ExportToWkt()


def write_tif(path, array, origin=(4700000.0, 1460000.0), pixel=10.0, nodata=NODATA, wkt=None,
              color_table=None):
    array = np.asarray(array)
    gdal_type = {np.dtype("uint8"): gdal.GDT_Byte, np.dtype("float32"): gdal.GDT_Float32,
                 np.dtype("int16"): gdal.GDT_Int16}[array.dtype]
    ds = gdal.GetDriverByName("GTiff").Create(str(path), array.shape[1], array.shape[0], 1, gdal_type)
    ds.SetGeoTransform((origin[0], pixel, 0.0, origin[1], 0.0, -pixel))
    ds.SetProjection(wkt or laea())
    band = ds.GetRasterBand(1)
    if nodata is not None:
        band.SetNoDataValue(nodata)
    if color_table:
        table = gdal.ColorTable()
        for value, rgba in color_table.items():
            table.SetColorEntry(value, rgba)
        band.SetColorTable(table)
    band.WriteArray(array)
    ds = None
    return str(path)


def color_entries(path):
    """{value: rgba} of band 1's colour table (None without one); the dataset stays open meanwhile."""
    ds = gdal.Open(str(path))
    table = ds.GetRasterBand(1).GetColorTable()
    return None if table is None else {i: table.GetColorEntry(i) for i in range(table.GetCount())}


def band_description(path):
    ds = gdal.Open(str(path))
    return ds.GetRasterBand(1).GetDescription()


def read(path):
    ds = gdal.Open(str(path))
    band = ds.GetRasterBand(1)
    return band.ReadAsArray(), Grid.of_dataset(ds), band.GetNoDataValue(), band.DataType


def agg(values, factor, method, fraction=0.5, scale=1, nodata=NODATA):
    values = np.asarray(values)
    valid = values != nodata if not np.isnan(nodata) else ~np.isnan(values)
    return aggregate_block(values, valid, factor, method, fraction, scale)


def as_byte(result, cell_valid):
    return np.where(cell_valid, np.rint(result), NODATA).astype(np.uint8)


# ---------------------------------------------------------------------------- hand-worked rules

def test_mean_rounds_half_to_even():
    values = np.array([[1, 2, 3, 4, 0, 0],
                       [3, 4, 3, 4, 0, 1]], dtype=np.uint8)
    result, ok = agg(values, 2, "mean")
    # (1+2+3+4)/4 = 2.5 -> 2 ; (3+4+3+4)/4 = 3.5 -> 4 ; 1/4 = 0.25 -> 0
    assert result.tolist() == [[2.5, 3.5, 0.25]]
    assert as_byte(result, ok).tolist() == [[2, 4, 0]]


def test_mean_ignores_nodata_pixels():
    values = np.array([[10, 255], [20, 255]], dtype=np.uint8)
    result, ok = agg(values, 2, "mean")
    assert ok.tolist() == [[True]] and result.tolist() == [[15.0]]


@pytest.mark.parametrize("valid_pixels,expected_valid", [(50, True), (49, False), (51, True), (100, True)])
def test_min_valid_fraction_edge_in_a_100_pixel_cell(valid_pixels, expected_valid):
    values = np.full(100, NODATA, dtype=np.uint8)
    values[:valid_pixels] = 7
    result, ok = agg(values.reshape(10, 10), 10, "mean", fraction=0.5)
    assert ok.item() is expected_valid
    if expected_valid:
        assert result.item() == 7.0


def test_min_valid_fraction_tolerates_floating_point_products():
    # 0.3 x 100 = 30.000000000000004 in floating point: 30 valid pixels must still be enough.
    assert required_valid_pixels(10, 0.3) == 30
    values = np.full(100, NODATA, dtype=np.uint8)
    values[:30] = 1
    assert agg(values.reshape(10, 10), 10, "mean", fraction=0.3)[1].item()
    values[29] = NODATA
    assert not agg(values.reshape(10, 10), 10, "mean", fraction=0.3)[1].item()


def test_zero_fraction_still_needs_one_valid_pixel():
    assert required_valid_pixels(2, 0.0) == 1
    _, ok = agg(np.full((2, 2), NODATA, dtype=np.uint8), 2, "mean", fraction=0.0)
    assert not ok.item()


def test_max_is_the_touching_rule():
    values = np.array([[255, 255, 255, 255, 0, 3],
                       [255, 42, 255, 255, 2, 1]], dtype=np.uint8)
    result, ok = agg(values, 2, "max")
    assert ok.tolist() == [[True, False, True]]
    assert result[0, 0] == 42 and result[0, 2] == 3
    # one valid pixel of four is enough for max, whatever MIN_VALID_FRACTION says
    assert agg(values, 2, "max", fraction=1.0)[1].tolist() == [[True, False, True]]


def test_max_of_zeros_is_zero_not_nodata():
    result, ok = agg(np.array([[0, 255], [255, 255]], dtype=np.uint8), 2, "max")
    assert ok.item() and result.item() == 0


def test_mean_change_all_201_is_201():
    result, ok = agg(np.full((2, 2), 201, dtype=np.uint8), 2, "mean_change")
    assert ok.item() and result.item() == 201


def test_mean_change_valid_pixels_all_201_with_some_nodata_is_201():
    result, ok = agg(np.array([[201, 201], [255, 201]], dtype=np.uint8), 2, "mean_change")
    assert ok.item() and result.item() == 201


def test_mean_change_some_201_count_as_no_change():
    values = np.array([[201, 201, 201, 120],
                       [110, 90, 201, 201]], dtype=np.uint8)
    result, ok = agg(values, 2, "mean_change")
    # (100 + 100 + 110 + 90) / 4 = 100 ; (100 + 120 + 100 + 100) / 4 = 105
    assert result.tolist() == [[100.0, 105.0]]


def test_mean_change_without_201_is_the_plain_mean_and_rounds_half_even():
    values = np.array([[101, 102], [103, 104]], dtype=np.uint8)  # 102.5 -> 102
    result, ok = agg(values, 2, "mean_change")
    assert as_byte(result, ok).item() == 102
    values = np.array([[103, 104], [103, 104]], dtype=np.uint8)  # 103.5 -> 104
    assert as_byte(*agg(values, 2, "mean_change")).item() == 104


def test_mean_change_201_cell_below_the_valid_fraction_is_nodata():
    values = np.array([[201, 255], [255, 255]], dtype=np.uint8)
    assert not agg(values, 2, "mean_change")[1].item()


def test_scale_turns_binary_into_percent():
    values = np.array([[1, 0, 1, 1], [0, 0, 0, 255]], dtype=np.uint8)
    result, ok = agg(values, 2, "mean", scale=100)
    # 100/4 = 25 ; 200/3 = 66.67 -> 67
    assert as_byte(result, ok).tolist() == [[25, 67]]
    assert agg(values, 2, "max", scale=100)[0].tolist() == [[100.0, 100.0]]


def test_bad_method_scale_and_fraction_are_refused():
    values = np.zeros((2, 2), dtype=np.uint8)
    with pytest.raises(ImperviousnessError, match="method"):
        agg(values, 2, "median")
    with pytest.raises(ImperviousnessError, match="SCALE"):
        agg(values, 2, "mean", scale=0)
    with pytest.raises(ImperviousnessError, match="SCALE must be 1 for mean_change"):
        agg(values, 2, "mean_change", scale=100)
    with pytest.raises(ImperviousnessError, match="MIN_VALID_FRACTION"):
        agg(values, 2, "mean", fraction=1.5)


def test_float_values_and_nan():
    values = np.array([[0.25, np.nan], [0.5, 0.75]], dtype=np.float32)
    result, ok = agg(values, 2, "mean", nodata=np.nan)
    assert ok.item() and result.item() == pytest.approx(0.5)


# ------------------------------------------------------------------ property tests (slow reference)

def reference_aggregate(values, valid, factor, method, fraction, scale):
    """Per-cell Python loops: the rules of SPEC 6 written out plainly."""
    rows, cols = values.shape[0] // factor, values.shape[1] // factor
    out = np.zeros((rows, cols))
    out_valid = np.zeros((rows, cols), dtype=bool)
    for r in range(rows):
        for c in range(cols):
            pixels = [float(values[i, j]) * scale
                      for i in range(r * factor, (r + 1) * factor)
                      for j in range(c * factor, (c + 1) * factor) if valid[i, j]]
            if method == "max":
                if pixels:
                    out[r, c], out_valid[r, c] = max(pixels), True
                continue
            needed = max(1, math.ceil(round(fraction * factor * factor, 9)))
            if len(pixels) < needed:
                continue
            out_valid[r, c] = True
            if method == "mean_change" and all(p == 201 for p in pixels):
                out[r, c] = 201
                continue
            if method == "mean_change":
                pixels = [100.0 if p == 201 else p for p in pixels]
            out[r, c] = sum(pixels) / len(pixels)
    return out, out_valid


@st.composite
def blocks(draw):
    factor = draw(st.integers(1, 5))
    rows, cols = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    method = draw(st.sampled_from(["mean", "max", "mean_change"]))
    top = 201 if method == "mean_change" else 100
    seed = draw(st.integers(0, 2 ** 31 - 1))
    rng = np.random.default_rng(seed)
    values = rng.integers(0, top + 1, (rows * factor, cols * factor)).astype(np.uint8)
    if method == "mean_change":  # plenty of 201 so that all-201 cells occur
        values[rng.random(values.shape) < 0.5] = 201
    valid = rng.random(values.shape) < draw(st.sampled_from([0.3, 0.6, 0.95, 1.0]))
    values[~valid] = NODATA
    fraction = draw(st.sampled_from([0.0, 0.25, 0.5, 0.51, 1.0]))
    scale = 1 if method == "mean_change" else draw(st.sampled_from([1, 2, 100, 0.5]))
    return values, valid, factor, method, fraction, scale


@settings(max_examples=300, deadline=None)
@given(blocks())
def test_kernel_matches_the_slow_reference(case):
    values, valid, factor, method, fraction, scale = case
    result, ok = aggregate_block(values, valid, factor, method, fraction, scale)
    expected, expected_ok = reference_aggregate(values, valid, factor, method, fraction, scale)
    assert (ok == expected_ok).all()
    np.testing.assert_allclose(result[ok], expected[ok], rtol=0, atol=1e-9)
    # Byte rounding: half to even on exactly the reference values
    assert (np.rint(result[ok]) == np.array([round(x) for x in expected[ok]])).all()


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2 ** 31 - 1), st.integers(1, 4))
def test_kernel_on_signed_and_float_inputs(seed, factor):
    rng = np.random.default_rng(seed)
    signed = rng.integers(-100, 101, (3 * factor, 2 * factor)).astype(np.int16)
    valid = rng.random(signed.shape) < 0.7
    for values in (signed, signed.astype(np.float32) / 7):
        for method in ("mean", "max"):
            result, ok = aggregate_block(values, valid, factor, method, 0.5)
            expected, expected_ok = reference_aggregate(values, valid, factor, method, 0.5, 1)
            assert (ok == expected_ok).all()
            np.testing.assert_allclose(result[ok], expected[ok], rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------------------ raster level

def test_output_grid_is_aligned_to_r_and_covers_an_off_r_input(tmp_path):
    # 10 m grid starting 10 m east and 30 m south of a 20 m line: the 20 m grid grows outward.
    rng = np.random.default_rng(3)
    values = rng.integers(0, 101, (5, 7)).astype(np.uint8)
    values[0, 0] = NODATA
    origin = (4700010.0, 1459970.0)
    source = write_tif(tmp_path / "in.tif", values, origin=origin)
    aggregate_raster(source, tmp_path / "out.tif", 20, "mean", 0.5)
    out, grid, nodata, dtype = read(tmp_path / "out.tif")
    assert grid.geotransform == (4700000.0, 20.0, 0.0, 1459980.0, 0.0, -20.0)
    assert (grid.width, grid.height) == (4, 3)
    assert nodata == NODATA and dtype == gdal.GDT_Byte
    # the same cells by hand: pad the input into the covering 20 m grid with nodata
    padded = np.full((6, 8), NODATA, dtype=np.uint8)
    padded[1:6, 1:8] = values
    expected, ok = reference_aggregate(padded, padded != NODATA, 2, "mean", 0.5, 1)
    assert (out == np.where(ok, np.rint(expected), NODATA)).all()
    # top-left cell: only 1 pixel of 4 inside the input (and it is nodata) -> nodata
    assert out[0, 0] == NODATA


def test_float_input_gives_float32_nan(tmp_path):
    values = np.array([[0.1, 0.2], [np.nan, 0.4]], dtype=np.float32)
    source = write_tif(tmp_path / "f.tif", values, nodata=None)
    aggregate_raster(source, tmp_path / "out.tif", 20, "mean")
    out, _, nodata, dtype = read(tmp_path / "out.tif")
    assert dtype == gdal.GDT_Float32 and math.isnan(nodata)
    assert out[0, 0] == pytest.approx((0.1 + 0.2 + 0.4) / 3, abs=1e-6)


def test_integer_input_without_nodata_pads_edges_as_not_valid(tmp_path):
    # Int16 with no nodata value: every pixel inside is valid (even 0), every pixel outside is not.
    values = np.array([[-4, 0, 6]], dtype=np.int16)
    source = write_tif(tmp_path / "i.tif", values, origin=(4700010.0, 1460000.0), nodata=None)
    aggregate_raster(source, tmp_path / "out.tif", 20, "mean", min_valid_fraction=0.25)
    out, grid, nodata, dtype = read(tmp_path / "out.tif")
    assert dtype == gdal.GDT_Float32 and (grid.width, grid.height) == (2, 1)
    # cell 1: only -4 inside (1 of 4 pixels) ; cell 2: 0 and 6
    assert out.tolist() == [[-4.0, 3.0]]


def test_resolution_not_a_multiple_is_refused(tmp_path):
    source = write_tif(tmp_path / "in.tif", np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(ImperviousnessError, match="whole multiple of the pixel size 10"):
        aggregate_raster(source, tmp_path / "out.tif", 25)
    assert not os.path.exists(tmp_path / "out.tif")


def test_input_off_its_own_lattice_is_refused_naming_the_grid(tmp_path):
    source = write_tif(tmp_path / "in.tif", np.zeros((4, 4), dtype=np.uint8), origin=(4700005.0, 1460000.0))
    with pytest.raises(ImperviousnessError, match=r"4700005.*not aligned to whole multiples"):
        aggregate_raster(source, tmp_path / "out.tif", 20)


def test_scaled_byte_beyond_254_is_refused_and_nothing_written(tmp_path):
    source = write_tif(tmp_path / "in.tif", np.full((2, 2), 50, dtype=np.uint8))
    with pytest.raises(ImperviousnessError, match="Byte range"):
        aggregate_raster(source, tmp_path / "out.tif", 20, scale=100)
    assert os.listdir(tmp_path) == ["in.tif"]


def test_mean_change_refuses_values_that_are_not_change_codes(tmp_path):
    source = write_tif(tmp_path / "in.tif", np.full((2, 2), 230, dtype=np.uint8))
    with pytest.raises(ImperviousnessError, match="230"):
        aggregate_raster(source, tmp_path / "out.tif", 20, "mean_change")




def test_cancellation_between_blocks_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr("imperviousness_plugin.core.change.aggregate.FINE_BLOCK_EDGE", 20)  # many blocks
    source = write_tif(tmp_path / "in.tif", np.zeros((100, 100), dtype=np.uint8))
    with pytest.raises(Cancelled):
        aggregate_raster(source, tmp_path / "out.tif", 20, feedback=Feedback(progress=3))
    assert os.listdir(tmp_path) == ["in.tif"]


def test_small_blocks_give_the_same_result_as_one_block(tmp_path, monkeypatch):
    rng = np.random.default_rng(11)
    values = rng.integers(0, 101, (97, 131)).astype(np.uint8)
    values[rng.random(values.shape) < 0.3] = NODATA
    source = write_tif(tmp_path / "in.tif", values, origin=(4700030.0, 1460070.0))
    aggregate_raster(source, tmp_path / "one.tif", 100)
    monkeypatch.setattr("imperviousness_plugin.core.change.aggregate.FINE_BLOCK_EDGE", 30)
    plan = AggregationPlan.covering(read(source)[1], 100)
    assert plan.count() > 4
    aggregate_raster(source, tmp_path / "many.tif", 100)
    assert (read(tmp_path / "one.tif")[0] == read(tmp_path / "many.tif")[0]).all()


# ------------------------------------------------------------------------------- real data

def malta(shared_data, name):
    return str(shared_data / "hrl_malta" / name)


def assert_equals_official_100m(shared_data, output):
    official, official_grid, _, _ = read(malta(shared_data, "IMD_2018_100m_malta.tif"))
    ours, grid, nodata, dtype = read(output)
    assert grid.same_as(official_grid)
    assert dtype == gdal.GDT_Byte and nodata == NODATA
    mismatches = int((ours != official).sum())
    assert mismatches == 0, f"{mismatches} cells differ from the official IMD 100 m product"


def test_malta_rule_is_discriminating(shared_data):
    """The official product pins the rule down: other fractions or rounding would not match.

    Valid-pixel counts of the Malta coast cells are multiples of 4 (the 10 m coastline follows
    20 m pixels), so every fraction in (0.48, 0.52] gives the same cells; 0.48 and 0.53 do not.
    """
    values = read(malta(shared_data, "IMD_2018_010m_malta.tif"))[0]
    official = read(malta(shared_data, "IMD_2018_100m_malta.tif"))[0]
    valid = values != NODATA

    def mismatches(fraction):
        return int((as_byte(*aggregate_block(values, valid, 10, "mean", fraction)) != official).sum())

    assert [mismatches(f) for f in (0.49, 0.5, 0.52)] == [0, 0, 0]
    assert mismatches(0.48) > 0 and mismatches(0.53) > 0 and mismatches(0.3) > 0
    result, ok = aggregate_block(values, valid, 10, "mean", 0.5)
    half_up = np.where(ok, np.floor(result + 0.5), NODATA)
    assert (half_up != official).sum() >= 1  # an x.5 cell with an even floor: half to even wins


def test_malta_aggregate_through_processing_reproduces_official_100m(provider, shared_data, tmp_path):
    import processing
    result = processing.run("imperviousness:aggregate", {
        "INPUT": malta(shared_data, "IMD_2018_010m_malta.tif"), "METHOD": 0, "RESOLUTION": 100,
        "MIN_VALID_FRACTION": 0.5, "OUTPUT": str(tmp_path / "IMD_2018_100m.tif")})
    assert_equals_official_100m(shared_data, result["OUTPUT"])
    # the official colour table travels with the IMD input
    assert color_entries(result["OUTPUT"]) == color_entries(malta(shared_data, "IMD_2018_100m_malta.tif"))


def test_malta_aggregate_through_qgis_process(qgis_process, shared_data, tmp_path):
    output = tmp_path / "IMD_2018_100m.tif"
    qgis_process("run", "imperviousness:aggregate", "--",
                 f"INPUT={malta(shared_data, 'IMD_2018_010m_malta.tif')}", "METHOD=0",
                 "RESOLUTION=100", f"OUTPUT={output}")
    assert_equals_official_100m(shared_data, output)


def test_malta_ignores_wrong_overviews(provider, shared_data, tmp_path):
    import processing
    copy = str(tmp_path / "imd_with_overviews.tif")
    gdal.Translate(copy, malta(shared_data, "IMD_2018_010m_malta.tif"))
    ds = gdal.Open(copy, gdal.GA_Update)
    ds.BuildOverviews("NEAREST", [2, 5, 10])
    for index in range(ds.GetRasterBand(1).GetOverviewCount()):
        ds.GetRasterBand(1).GetOverview(index).Fill(77)  # deliberately wrong
    ds = None
    # a reader that uses overviews would see the wrong values at 100 m
    ds = gdal.Open(copy)
    assert (ds.GetRasterBand(1).ReadAsArray(buf_xsize=500, buf_ysize=400) == 77).all()
    ds = None
    result = processing.run("imperviousness:aggregate", {
        "INPUT": copy, "METHOD": 0, "RESOLUTION": 100, "OUTPUT": str(tmp_path / "out.tif")})
    assert_equals_official_100m(shared_data, result["OUTPUT"])


# ------------------------------------------------------------------------ through processing

def test_processing_bad_input_gives_a_clear_exception(provider, tmp_path):
    import processing
    from qgis.core import QgsProcessingException
    source = write_tif(tmp_path / "in.tif", np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(QgsProcessingException, match="whole multiple"):
        processing.run("imperviousness:aggregate", {
            "INPUT": source, "METHOD": 0, "RESOLUTION": 15, "OUTPUT": str(tmp_path / "out.tif")})
    assert not os.path.exists(tmp_path / "out.tif")


def test_processing_cancelled_run_writes_nothing(provider, tmp_path):
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback
    source = write_tif(tmp_path / "in.tif", np.zeros((40, 40), dtype=np.uint8))
    feedback = QgsProcessingFeedback()
    feedback.cancel()
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run("imperviousness:aggregate", {
            "INPUT": source, "METHOD": 0, "RESOLUTION": 20, "OUTPUT": str(tmp_path / "out.tif")},
            feedback=feedback)
    assert os.listdir(tmp_path) == ["in.tif"]


# --------------------------------------------------------------------------------- styles

def test_imd_table_is_the_official_one(shared_data):
    assert color_entries(malta(shared_data, "IMD_2018_010m_malta.tif")) == styles.color_table("imd")


def test_shipped_qml_files_match_the_legends():
    for product in styles.PRODUCTS:
        with open(styles.qml_path(product), encoding="utf-8") as handle:
            assert handle.read() == styles.render_qml(product), f"regenerate {product}.qml"


def test_legends_cover_their_encodings():
    assert [v for v, _, _ in styles.legend("imd")] == list(range(101)) + [254]
    assert [v for v, _, _ in styles.legend("change")] == list(range(202))
    assert [v for v, _, _ in styles.legend("change_class")] == [0, 1, 2, 10, 11, 12]
    assert [v for v, _, _ in styles.legend("confidence")] == list(range(50, 101))
    assert [v for v, _, _ in styles.legend("ibu")] == [0, 1] == [v for v, _, _ in styles.legend("chm")]
    assert [v for v, _, _ in styles.legend("sbu")] == list(range(101))
    change = dict((v, label) for v, _, label in styles.legend("change"))
    assert change[100] == "0 (no change)" and change[201] == "zero in both years"
    assert change[0] == "-100 (decrease)" and change[200] == "+100 (increase)"
    for product in styles.PRODUCTS:
        assert styles.color_table(product)[255] == (0, 0, 0, 0)
    with pytest.raises(ValueError, match="unknown product"):
        styles.legend("nonsense")


@pytest.mark.parametrize("product", [p for p in styles.PRODUCTS
                                     if p not in styles.LEGEND_CLASSES and p not in styles.LEGEND_RAMPS])
def test_qgis_loads_each_qml_as_a_paletted_legend(qgis_app, tmp_path, product):
    from qgis.core import QgsRasterLayer
    path = write_tif(tmp_path / "x.tif", np.zeros((2, 2), dtype=np.uint8))
    layer = QgsRasterLayer(path, "x")
    message, ok = layer.loadNamedStyle(styles.qml_path(product))
    assert ok, message
    renderer = layer.renderer()
    assert renderer.type() == "paletted"
    expected = styles.legend(product)
    classes = renderer.classes()
    assert [c.value for c in classes] == [v for v, _, _ in expected]
    assert [c.label for c in classes] == [label for _, _, label in expected]
    assert [c.color.getRgb()[:3] for c in classes] == [tuple(rgb) for _, rgb, _ in expected]


def render_values(product, values):
    """The colours QGIS draws for `values` with the product's shipped QML, the renderer's type
    and its legend labels (read here: the renderer dies with the layer)."""
    from qgis.core import QgsRasterLayer
    import tempfile
    folder = tempfile.mkdtemp()
    path = write_tif(os.path.join(folder, "x.tif"), np.array([values], dtype=np.uint8))
    layer = QgsRasterLayer(path, "x")
    message, ok = layer.loadNamedStyle(styles.qml_path(product))
    assert ok, message
    block = layer.renderer().block(1, layer.extent(), len(values), 1)
    argbs = [block.color(0, column) for column in range(len(values))]  # QRgb: 0xAARRGGBB
    labels = [label for label, _ in layer.renderer().legendSymbologyItems()]
    return [((c >> 16) & 255, (c >> 8) & 255, c & 255) for c in argbs], layer.renderer().type(), labels


def test_change_legend_is_a_ramp_through_the_official_anchors(qgis_app):
    """A handful of labelled entries; every value drawn in its official colour (QGIS interpolates
    between the anchors as the official legend does, to one unit of rounding)."""
    values = list(range(202))
    drawn, renderer, legend_labels = render_values("change", values)
    assert renderer == "singlebandpseudocolor"
    assert legend_labels == [
        "-100 (strong decrease)", "-50", "-1 (decrease)", "0 (no change)", "+1 (increase)", "+50",
        "+100 (strong increase)", "no imperviousness in both years"]
    official = {value: rgb for value, rgb, _ in styles.legend("change")}
    for value, rgb in zip(values, drawn):
        assert max(abs(a - b) for a, b in zip(rgb, official[value])) <= 1, (value, rgb, official[value])
    for anchor in (0, 50, 99, 100, 101, 150, 200, 201):
        assert drawn[anchor] == official[anchor]


@pytest.mark.parametrize("product, values, labels", [
    ("confidence", [50, 69, 70, 89, 90, 100], ["50-69 % (low)", "70-89 % (medium)", "90-100 % (high)"]),
    ("chm_percent", [0, 1, 25, 26, 50, 51, 75, 76, 100],
     ["0 % flagged", "1-25 % flagged", "26-50 % flagged", "51-75 % flagged", "76-100 % flagged"]),
])
def test_percent_legends_are_a_handful_of_classes(qgis_app, product, values, labels):
    """QGIS draws each value in the legend colour of its class's middle value, and the legend
    lists the classes only (the GDAL colour table keeps every value's colour)."""
    drawn, renderer, legend_labels = render_values(product, values)
    assert renderer == "singlebandpseudocolor"
    assert legend_labels == labels
    official = {value: rgb for value, rgb, _ in styles.legend(product)}
    bounds = [last for last, _ in styles.LEGEND_CLASSES[product]]
    firsts = [min(official)] + [last + 1 for last in bounds[:-1]]
    for column, value in enumerate(values):
        index = next(i for i, last in enumerate(bounds) if value <= last)
        middle = (firsts[index] + bounds[index]) // 2
        assert drawn[column] == official[middle], value


def test_style_written_beside_is_the_qgis_default_style(qgis_app, tmp_path):
    from qgis.core import QgsRasterLayer
    path = write_tif(tmp_path / "IMCC_1821_020m.tif", np.zeros((2, 2), dtype=np.uint8))
    written = styles.write_style_beside(path, "change_class")
    assert written == str(tmp_path / "IMCC_1821_020m.qml")
    layer = QgsRasterLayer(path, "imcc")  # loads the default style beside the file
    assert [c.label for c in layer.renderer().classes()][:2] == [
        "unchanged, no imperviousness", "new cover (0 before, > 0 after)"]
