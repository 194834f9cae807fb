"""The change-layer family (SPEC 7): per-pixel change, total, real and support change, Table 5.

Hand-worked arrays for each rule, property tests against a slow per-pixel/per-cell reference
written here, misaligned extents, refused grids, and the algorithms through processing.run.
"""

import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from osgeo import gdal

from imperviousness_plugin.core.change.layers import (change_block, classify_block, pixel_change,
                                               real_part, run_change_continuous,
                                               run_classify_change, status_percent)
from imperviousness_plugin.core.errors import ImperviousnessError
from imperviousness_plugin.core.io.raster import Grid
from rasters import epsg_wkt
from rasters import write_raster

gdal.UseExceptions()
NODATA = 255
ORIGIN = (4700000.0, 1460000.0)




def write_tif(path, array, origin=ORIGIN, pixel=10.0, nodata=NODATA, epsg=3035):
    return write_raster(path, array, nodata=nodata, origin=origin, pixel=pixel,
                        crs_wkt=epsg_wkt(epsg), dtype=np.uint8)


def read(path):
    ds = gdal.Open(str(path))
    band = ds.GetRasterBand(1)
    table = band.GetColorTable()
    return {"values": band.ReadAsArray(), "grid": Grid.of_dataset(ds), "nodata": band.GetNoDataValue(),
            "type": band.DataType, "description": band.GetDescription(),
            "colors": None if table is None else {i: table.GetColorEntry(i) for i in range(table.GetCount())}}


def decode(encoded):
    """Change in percentage points of an encoded value (201 -> 0), None for nodata."""
    return None if encoded == NODATA else 0 if encoded == 201 else int(encoded) - 100


# ------------------------------------------------------------------------ hand-worked: pixels

def test_pixel_change_encoding():
    a = np.array([0, 10, 50, 0, 100, 7], dtype=np.int16)
    b = np.array([0, 30, 20, 0, 0, 7], dtype=np.int16)
    valid = np.array([True, True, True, False, True, True])
    d, encoded = pixel_change(a, b, valid)
    assert d.tolist() == [0, 20, -30, 0, -100, 0]
    # 201 only where A = B = 0; 100 where A = B > 0; 255 where not valid
    assert encoded.tolist() == [201, 120, 70, 255, 0, 100]


def test_binary_status_counts_as_0_and_100():
    values = np.array([0, 1, 255, 1], dtype=np.uint8)
    valid = values != NODATA
    assert status_percent(values, valid, True, "IBU").tolist() == [0, 100, 0, 100]
    assert status_percent(np.array([0, 37, 100], dtype=np.uint8), np.ones(3, bool), False, "IMD").tolist() == [0, 37, 100]


@pytest.mark.parametrize("values,binary", [([0, 101], False), ([0, 2], True), ([0, 50], True)])
def test_status_values_outside_the_encoding_are_refused(values, binary):
    values = np.array(values, dtype=np.uint8)
    with pytest.raises(ImperviousnessError, match=f"status A holds the value {values[1]}"):
        status_percent(values, np.ones(2, bool), binary, "status A")


def test_losses_just_below_and_at_the_loss_factor():
    d = np.array([-9, -10, -11, 1, 5, 0, -100, 30], dtype=np.int16)
    chm = np.array([1, 1, 1, 1, 1, 1, 1, 0], dtype=bool)
    # -9 is below 10 x 1 pp: not real; -10 and beyond are; any increase is; CHM = 0 never is
    assert real_part(d, chm, 10).tolist() == [0, -10, -11, 1, 5, 0, -100, 0]
    assert real_part(d, chm, 1).tolist() == [-9, -10, -11, 1, 5, 0, -100, 0]
    assert real_part(d, chm, 10.5).tolist() == [0, 0, -11, 1, 5, 0, -100, 0]


# ------------------------------------------------------------------------ hand-worked: cells

def block(rows):
    return np.array(rows, dtype=np.int16)


def test_change_block_hand_worked():
    # four 2 x 2 cells side by side (pixels listed row by row per cell in the comments)
    a = block([[0, 0, 10, 10, 50, 50, 0, 0],
               [0, 0, 10, 10, 50, 50, 0, 0]])
    b = block([[0, 0, 30, 10, 45, 30, 0, 40],
               [0, 0, 10, 14, 50, 50, 0, 0]])
    chm = block([[1, 0, 1, 0, 1, 1, 1, 1],
                 [0, 0, 0, 1, 0, 0, 1, 1]])
    valid = np.ones(a.shape, bool)
    total, real, support = change_block(a, b, chm, valid, 2)
    # cell 0: all A = B = 0 -> 201 everywhere
    # cell 1: d = 20, 0, 0, 4 -> total 6 ; real: 20 (CHM 1), 4 (CHM 1) -> 24/4 = 6 ; support 0
    # cell 2: d = -5, -20, 0, 0 -> total -6.25 -> -6 ; real: -5 (too small a loss), -20 -> -5 ; support -1
    # cell 3: d = 0 (201), 40, 0 (201), 0 (201) -> total 10 ; real 40/4 = 10 ; support 0
    assert total.tolist() == [[201, 106, 94, 110]]
    assert real.tolist() == [[201, 106, 95, 110]]
    assert support.tolist() == [[201, 100, 99, 100]]


def test_real_mean_rounds_half_to_even():
    a = block([[0, 0, 0, 0], [0, 0, 0, 0]])
    b = block([[10, 0, 14, 0], [0, 0, 0, 0]])
    chm = np.ones(a.shape, np.int16)
    total, real, support = change_block(a, b, chm, np.ones(a.shape, bool), 2)
    # 10/4 = 2.5 -> 2 ; 14/4 = 3.5 -> 4
    assert total.tolist() == [[102, 104]] and real.tolist() == [[102, 104]]


def test_nodata_propagation_and_valid_fraction():
    a = block([[10, 10, 10, 10, 10, 10], [10, 10, 10, 10, 10, 10]])
    b = block([[20, 20, 20, 20, 20, 20], [20, 20, 20, 20, 20, 20]])
    chm = block([[1, 1, 1, 255, 255, 255], [1, 1, 255, 1, 255, 255]])
    valid = chm != NODATA
    total, real, support = change_block(a, b, chm, valid, 2)
    # cell 0: 4 valid ; cell 1: 2 of 4 valid (exactly 0.5) ; cell 2: 0 valid -> nodata
    assert total.tolist() == [[110, 110, 255]]
    assert real.tolist() == [[110, 110, 255]] and support.tolist() == [[100, 100, 255]]
    total, _, _ = change_block(a, b, chm, valid, 2, min_valid_fraction=0.51)
    assert total.tolist() == [[110, 255, 255]]


def test_support_can_be_negative_when_real_exceeds_total():
    # d = +50 flagged, -50 unflagged: total 0, real +25, support -25
    a = block([[0, 50], [0, 50]])
    b = block([[50, 0], [50, 0]])
    chm = block([[1, 0], [1, 0]])
    total, real, support = change_block(a, b, chm, np.ones(a.shape, bool), 2)
    assert (total.item(), real.item(), support.item()) == (100, 125, 75)


@pytest.mark.parametrize("a,change,code", [
    (0, 100, 0), (0, 201, 0), (0, 90, 0),          # A = 0, after = 0 (clamped)
    (0, 101, 1), (0, 200, 1),                       # new cover
    (40, 60, 2), (40, 0, 2),                        # loss of cover (after clamped to 0)
    (40, 100, 10),                                  # unchanged imperviousness
    (40, 101, 11), (99, 150, 11),                   # increased (after clamped to 100)
    (40, 99, 12), (40, 61, 12),                     # decreased, 0 < after < A
    (100, 150, 10),                                 # after clamped to 100 = A: unchanged
    (40, 255, 255),                                 # change nodata
])
def test_table_5_codes(a, change, code):
    codes = classify_block(np.array([a]), np.array([True]), np.array([change], dtype=np.uint8))
    assert codes.tolist() == [code]


def test_table_5_status_nodata_and_201_with_any_status():
    codes = classify_block(np.array([0, 35, 35]), np.array([False, True, False]),
                           np.array([120, 201, 201], dtype=np.uint8))
    # status nodata -> 255 ; a 201 change cell means A = 0 and after = 0 -> 0, whatever the status
    assert codes.tolist() == [255, 0, 0]


# ---------------------------------------------------------------- property tests (slow reference)

def reference_change(a, b, chm, valid, factor, loss_factor, fraction):
    """Per-pixel then per-cell loops of SPEC 7 steps 1..4, in change units (None = nodata)."""
    rows, cols = a.shape[0] // factor, a.shape[1] // factor
    total = [[None] * cols for _ in range(rows)]
    real = [[None] * cols for _ in range(rows)]
    for r in range(rows):
        for c in range(cols):
            codes, reals = [], []
            for i in range(r * factor, (r + 1) * factor):
                for j in range(c * factor, (c + 1) * factor):
                    if not valid[i, j]:
                        continue
                    d = int(b[i, j]) - int(a[i, j])
                    codes.append(201 if a[i, j] == 0 and b[i, j] == 0 else d + 100)
                    is_real = chm[i, j] == 1 and (d > 0 or (d < 0 and -d >= loss_factor))
                    reals.append(d if is_real else 0)
            if len(codes) < max(1, math.ceil(round(fraction * factor * factor, 9))):
                continue
            if all(code == 201 for code in codes):
                total[r][c], real[r][c] = "201", "201"
                continue
            total[r][c] = round(sum(100 if code == 201 else code for code in codes) / len(codes)) - 100
            real[r][c] = round(sum(reals) / len(reals))
    return total, real


@st.composite
def change_cases(draw):
    factor = draw(st.integers(1, 5))
    rows, cols = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 31 - 1)))
    shape = (rows * factor, cols * factor)
    binary = draw(st.booleans())
    if binary:
        a, b = (rng.integers(0, 2, shape) * 100 for _ in range(2))
    else:  # many zeros (201 cells), small and large changes
        a = np.where(rng.random(shape) < 0.4, 0, rng.integers(0, 101, shape))
        b = np.where(rng.random(shape) < 0.3, a, np.clip(a + rng.integers(-30, 31, shape), 0, 100))
        b[rng.random(shape) < 0.2] = 0
    chm = (rng.random(shape) < 0.6).astype(np.int16)
    valid = rng.random(shape) < draw(st.sampled_from([0.5, 0.8, 1.0]))
    loss_factor = draw(st.sampled_from([0, 1, 10, 10.5, 25]))
    fraction = draw(st.sampled_from([0.0, 0.5, 0.75, 1.0]))
    return a.astype(np.int16), b.astype(np.int16), chm, valid, factor, loss_factor, fraction


@settings(max_examples=300, deadline=None)
@given(change_cases())
def test_change_block_matches_the_slow_reference(case):
    a, b, chm, valid, factor, loss_factor, fraction = case
    total, real, support = change_block(a, b, chm, valid, factor, loss_factor, fraction)
    expected_total, expected_real = reference_change(a, b, chm, valid, factor, loss_factor, fraction)
    for r in range(total.shape[0]):
        for c in range(total.shape[1]):
            t, x = expected_total[r][c], expected_real[r][c]
            if t is None:
                assert (total[r, c], real[r, c], support[r, c]) == (255, 255, 255)
            elif t == "201":
                assert (total[r, c], real[r, c], support[r, c]) == (201, 201, 201)
            else:
                assert decode(total[r, c]) == t and decode(real[r, c]) == x
                # real + support = total exactly, and the support stays within -100..100
                assert decode(real[r, c]) + decode(support[r, c]) == decode(total[r, c])
                assert 0 <= support[r, c] <= 200


def reference_class(a, change):
    """ATBD Table 5 written out with ifs."""
    if change == 255:
        return 255
    if change == 201:
        return 0
    after = min(100, max(0, a + change - 100))
    if a == 0:
        return 0 if after == 0 else 1
    if after == 0:
        return 2
    if after == a:
        return 10
    return 11 if after > a else 12


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2 ** 31 - 1))
def test_classify_block_matches_the_reference(seed):
    rng = np.random.default_rng(seed)
    a = np.where(rng.random(200) < 0.3, 0, rng.integers(0, 101, 200))
    change = rng.integers(0, 202, 200)
    change[rng.random(200) < 0.1] = 255
    valid = rng.random(200) < 0.9
    codes = classify_block(a, valid, change.astype(np.uint8))
    expected = [reference_class(int(x), int(ch)) if ok or ch == 201 or ch == 255 else 255
                for x, ch, ok in zip(a, change, valid)]
    assert codes.tolist() == expected


# --------------------------------------------------------------------------------- rasters

def random_status(rng, shape, binary=False):
    if binary:
        values = rng.integers(0, 2, shape)
    else:
        values = np.where(rng.random(shape) < 0.4, 0, rng.integers(0, 101, shape))
    values = values.astype(np.uint8)
    values[rng.random(shape) < 0.05] = NODATA
    return values


def test_misaligned_extents_use_the_overlap(tmp_path):
    """A, B and CHM on the same 10 m lattice but with different extents: the overlap is used."""
    rng = np.random.default_rng(5)
    a = random_status(rng, (12, 14))   # origin ORIGIN
    b = random_status(rng, (12, 14))   # shifted 3 px east and 1 px south
    chm = (rng.random((20, 20)) < 0.5).astype(np.uint8)  # larger, starts 1 px north-west
    paths = [write_tif(tmp_path / "a.tif", a),
             write_tif(tmp_path / "b.tif", b, origin=(ORIGIN[0] + 30, ORIGIN[1] - 10)),
             write_tif(tmp_path / "chm.tif", chm, origin=(ORIGIN[0] - 10, ORIGIN[1] + 10))]
    outputs = [tmp_path / "real.tif", tmp_path / "support.tif", tmp_path / "total.tif"]
    grid = run_change_continuous(*paths, str(outputs[0]), str(outputs[1]), resolution=20,
                                 output_total=str(outputs[2]))
    # overlap: x 4700030..4700140, y 1459880..1459990 -> 20 m cells covering it
    assert grid.geotransform == (4700020.0, 20.0, 0.0, 1460000.0, 0.0, -20.0)
    assert (grid.width, grid.height) == (6, 6)
    # reference: put every input on the 10 m lattice of the output grid, outside = nodata
    def on_grid(values, col, row):
        canvas = np.full((12, 12), NODATA, dtype=np.uint8)
        for i in range(12):
            for j in range(12):
                si, sj = i - row, j - col
                if 0 <= si < values.shape[0] and 0 <= sj < values.shape[1]:
                    canvas[i, j] = values[si, sj]
        return canvas
    # output origin (4700020, 1460000) -> a starts at col -2, b at col 1 row 1, chm at col -3 row -1
    ga, gb, gc = on_grid(a, -2, 0), on_grid(b, 1, 1), on_grid(chm, -3, -1)
    valid = (ga != NODATA) & (gb != NODATA) & (gc != NODATA)
    # outside the overlap nothing is valid
    assert not valid[:, :1].any() and not valid[:1, :].any()
    expected_total, expected_real = reference_change(ga, gb, gc, valid, 2, 10, 0.5)
    real, support, total = (read(p)["values"] for p in outputs)
    for r in range(6):
        for c in range(6):
            t = expected_total[r][c]
            if t is None:
                assert total[r, c] == real[r, c] == support[r, c] == NODATA
            elif t == "201":
                assert total[r, c] == real[r, c] == support[r, c] == 201
            else:
                assert decode(total[r, c]) == t and decode(real[r, c]) == expected_real[r][c]
                assert decode(real[r, c]) + decode(support[r, c]) == t


def test_different_pixel_size_is_refused_naming_both_grids(tmp_path):
    a = write_tif(tmp_path / "a.tif", np.zeros((4, 4)))
    b = write_tif(tmp_path / "b.tif", np.zeros((2, 2)), pixel=20.0)
    chm = write_tif(tmp_path / "chm.tif", np.zeros((4, 4)))
    with pytest.raises(ImperviousnessError, match=r"status B .* 2 x 2 px of 20 .* status A .* 4 x 4 px of 10"):
        run_change_continuous(a, b, chm, str(tmp_path / "r.tif"), str(tmp_path / "s.tif"))
    assert sorted(os.listdir(tmp_path)) == ["a.tif", "b.tif", "chm.tif"]


def test_different_crs_is_refused(tmp_path):
    a = write_tif(tmp_path / "a.tif", np.zeros((4, 4)))
    b = write_tif(tmp_path / "b.tif", np.zeros((4, 4)), origin=(500000.0, 4000000.0), epsg=32633)
    chm = write_tif(tmp_path / "chm.tif", np.zeros((4, 4)))
    with pytest.raises(ImperviousnessError, match=r"EPSG:32633.*EPSG:3035"):
        run_change_continuous(a, b, chm, str(tmp_path / "r.tif"), str(tmp_path / "s.tif"))


def test_grid_off_the_lattice_is_refused(tmp_path):
    a = write_tif(tmp_path / "a.tif", np.zeros((4, 4)))
    b = write_tif(tmp_path / "b.tif", np.zeros((4, 4)), origin=(ORIGIN[0] + 5, ORIGIN[1]))
    chm = write_tif(tmp_path / "chm.tif", np.zeros((4, 4)))
    with pytest.raises(ImperviousnessError, match=r"status B .*not aligned to whole multiples"):
        run_change_continuous(a, b, chm, str(tmp_path / "r.tif"), str(tmp_path / "s.tif"))


def test_disjoint_extents_are_refused(tmp_path):
    a = write_tif(tmp_path / "a.tif", np.zeros((4, 4)))
    b = write_tif(tmp_path / "b.tif", np.zeros((4, 4)), origin=(ORIGIN[0] + 1000, ORIGIN[1]))
    chm = write_tif(tmp_path / "chm.tif", np.zeros((4, 4)))
    with pytest.raises(ImperviousnessError, match="do not overlap"):
        run_change_continuous(a, b, chm, str(tmp_path / "r.tif"), str(tmp_path / "s.tif"))


def test_bad_change_mask_value_is_refused_and_nothing_written(tmp_path):
    a = write_tif(tmp_path / "a.tif", np.zeros((4, 4)))
    b = write_tif(tmp_path / "b.tif", np.zeros((4, 4)))
    chm = write_tif(tmp_path / "chm.tif", np.full((4, 4), 3))
    with pytest.raises(ImperviousnessError, match="change mask .* holds the value 3"):
        run_change_continuous(a, b, chm, str(tmp_path / "r.tif"), str(tmp_path / "s.tif"))
    assert sorted(os.listdir(tmp_path)) == ["a.tif", "b.tif", "chm.tif"]


def test_classification_with_status_at_10m_equals_status_at_r(tmp_path):
    rng = np.random.default_rng(9)
    a = random_status(rng, (40, 40))
    b = random_status(rng, (40, 40))
    chm = (rng.random((40, 40)) < 0.7).astype(np.uint8)
    paths = [write_tif(tmp_path / n, v) for n, v in (("a.tif", a), ("b.tif", b), ("chm.tif", chm))]
    real, support = str(tmp_path / "real.tif"), str(tmp_path / "support.tif")
    run_change_continuous(*paths, real, support, resolution=20)
    run_classify_change(paths[0], real, str(tmp_path / "class10.tif"))
    # the status at R made by hand: mean of valid pixels, >= 2 of 4 valid, half to even
    status_r = np.full((20, 20), NODATA, dtype=np.uint8)
    for r in range(20):
        for c in range(20):
            pixels = [int(p) for p in a[2 * r:2 * r + 2, 2 * c:2 * c + 2].ravel() if p != NODATA]
            if len(pixels) >= 2:
                status_r[r, c] = round(sum(pixels) / len(pixels))
    at_r = write_tif(tmp_path / "status20.tif", status_r, pixel=20.0)
    run_classify_change(at_r, real, str(tmp_path / "class20.tif"))
    class10, class20 = read(tmp_path / "class10.tif")["values"], read(tmp_path / "class20.tif")["values"]
    assert (class10 == class20).all()
    change = read(real)["values"]
    expected = [[reference_class(int(s), int(ch)) if s != NODATA or ch in (201, 255) else 255
                 for s, ch in zip(srow, crow)] for srow, crow in zip(status_r, change)]
    assert class10.tolist() == expected
    assert set(np.unique(class10)) <= {0, 1, 2, 10, 11, 12, 255}


def test_classification_refuses_a_resolution_that_does_not_nest(tmp_path):
    origin = (4700040.0, 1460040.0)  # on multiples of both 20 and 30
    status = write_tif(tmp_path / "a.tif", np.zeros((3, 3)), origin=origin, pixel=30.0)
    change = write_tif(tmp_path / "c.tif", np.full((2, 2), 100), origin=origin, pixel=20.0)
    with pytest.raises(ImperviousnessError, match="whole multiple of the pixel size 30"):
        run_classify_change(status, change, str(tmp_path / "out.tif"))


def test_classification_refuses_bad_change_codes(tmp_path):
    status = write_tif(tmp_path / "a.tif", np.zeros((4, 4)))
    change = write_tif(tmp_path / "c.tif", np.full((2, 2), 230), pixel=20.0)
    with pytest.raises(ImperviousnessError, match="holds the value 230"):
        run_classify_change(status, change, str(tmp_path / "out.tif"))


# ------------------------------------------------------------------------ through processing
# (Runs with hand-worked outputs are cases of tests/algorithm_tests.yaml: real, support and total
# change at 20 m, binary change without the total, the change classes.)

def small_inputs(tmp_path):
    a = np.array([[0, 0, 20, 20], [0, 0, 20, 20], [60, 60, 0, 1], [60, 255, 0, 0]], dtype=np.uint8)
    b = np.array([[0, 0, 40, 20], [0, 0, 20, 20], [0, 60, 0, 0], [60, 255, 0, 0]], dtype=np.uint8)
    chm = np.array([[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]], dtype=np.uint8)
    return [write_tif(tmp_path / f"{n}.tif", v) for n, v in (("A", a), ("B", b), ("CHM", chm))]


def test_processing_changecontinuous_bad_status_names_the_problem(provider, tmp_path):
    import processing
    from qgis.core import QgsProcessingException
    a, b, chm = small_inputs(tmp_path)  # 0..60: not binary
    with pytest.raises(QgsProcessingException, match="expected 0 or 1"):
        processing.run("imperviousness:changecontinuous", {
            "STATUS_A": a, "STATUS_B": b, "CHANGE_MASK": chm, "BINARY_STATUS": True,
            "OUTPUT": str(tmp_path / "r.tif"), "OUTPUT_SUPPORT": str(tmp_path / "s.tif")})
    assert not os.path.exists(tmp_path / "r.tif") and not os.path.exists(tmp_path / "s.tif")


def test_algorithms_document_their_encodings(provider):
    from qgis.core import QgsApplication
    registry = QgsApplication.processingRegistry()
    help_change = registry.algorithmById("imperviousness:changecontinuous").shortHelpString()
    help_class = registry.algorithmById("imperviousness:classifychange").shortHelpString()
    assert "201 = zero in both years" in help_change and "LOSS_FACTOR" in help_change
    for code in ("0 unchanged", "1 new cover", "2 loss of cover", "10 unchanged imperviousness",
                 "11 increased", "12 decreased", "255 nodata"):
        assert code in help_class
