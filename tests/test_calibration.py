"""IMD calibration (ATBD 4.3.2, SPEC 9): sealing mask, regression, high density, re-scaling, IMD_B.

Known-truth scenes: imperviousness relates to NDVI_P0 by a known linear law plus noise; the
expectations below are computed independently of the core (pixel coordinates for the 60 m
sampling, numpy.polyfit for the regression, numpy percentiles for the high-density anchor, a
closed form for the new minimum, a per-pixel Python loop for the applied formula).
"""

import json
import math
import os

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from imperviousness_plugin.core.products import styles
from imperviousness_plugin.core.status.calibration import (Calibration, run_apply_calibration, run_calibrate,
                                                    run_imd_calibration)
from imperviousness_plugin.core.errors import Cancelled, ImperviousnessError
from imperviousness_plugin.core.io.raster import Grid, Window, rasterize_coverage
from imperviousness_plugin.core.status.sealing_mask import SealedValues, mask_block, run_sealing_mask
from feedback import Feedback

gdal.UseExceptions()
ogr.UseExceptions()

X0, Y0, PIXEL = 4700000.0, 1460000.0, 10.0
GEOTRANSFORM = (X0, PIXEL, 0.0, Y0, 0.0, -PIXEL)
ALPHA, BETA = 90.0, -100.0          # the known law: IMD = ALPHA + BETA * NDVI_P0 (+ noise)
NOISE_SD = 3.0
# Stated tolerances for recovering the law from ~1,600 samples (standard errors ~0.16 and ~0.33).
INTERCEPT_TOLERANCE, SLOPE_TOLERANCE = 1.0, 1.5
MEAN_TOLERANCE = 1.0                # percentage points (the requirement)


def srs_wkt(epsg=3035):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    return srs.ExportToWkt()


def write_tif(path, array, nodata=255, descriptions=None, geotransform=GEOTRANSFORM):
    array = np.asarray(array)
    bands = array[None] if array.ndim == 2 else array
    gdal_type = gdal.GDT_Byte if bands.dtype == np.uint8 else gdal.GDT_Float32
    ds = gdal.GetDriverByName("GTiff").Create(str(path), bands.shape[2], bands.shape[1], bands.shape[0], gdal_type)
    ds.SetGeoTransform(geotransform)
    ds.SetProjection(srs_wkt())
    for index, band_values in enumerate(bands):
        band = ds.GetRasterBand(index + 1)
        band.WriteArray(band_values)
        if nodata is not None:
            band.SetNoDataValue(nodata)
        if descriptions:
            band.SetDescription(descriptions[index])
    ds = None
    return str(path)


def write_pp(path, ndvi, geotransform=GEOTRANSFORM):
    """A PP-like stack whose NDVI_P0 is not the first band (found by description)."""
    stack = np.stack([np.full(ndvi.shape, 0.05), ndvi, np.full(ndvi.shape, 30.0)]).astype(np.float32)
    return write_tif(path, stack, float("nan"), ["Q20_B02", "NDVI_P0", "NOBS"], geotransform)


def read(path):
    ds = gdal.Open(str(path))
    return ds.GetRasterBand(1).ReadAsArray()


# ----------------------------------------------------------------------------- the known-truth scene

def make_scene(folder, size=300, noise_sd=NOISE_SD, seed=7, ibu_rule=lambda imd: imd >= 60):
    """A scene with the known law on its impervious part (columns < 2/3 of the width).

    Impervious part: NDVI ~ U(0.05, 0.80), IMD = round(ALPHA + BETA NDVI + noise) (>= 1),
    CLCplus class 1. Vegetated part: NDVI ~ U(0.5, 0.9), IMD 0, CLCplus 6, except a strip of
    class 1 (generalised sealed polygon holding no imperviousness). Nodata: IMD 255 in the top-left
    corner, NDVI NaN in a patch inside the impervious part and one outside.
    """
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    impervious = np.zeros((size, size), bool)
    impervious[:, : 2 * size // 3] = True
    ndvi = np.where(impervious, rng.uniform(0.05, 0.80, (size, size)), rng.uniform(0.5, 0.9, (size, size)))
    law = ALPHA + BETA * ndvi
    imd = np.clip(np.rint(law + rng.normal(0.0, noise_sd, law.shape)), 1, 100)
    imd = np.where(impervious, imd, 0).astype(np.uint8)
    clcplus = np.where(impervious, 1, 6).astype(np.uint8)
    clcplus[:, 2 * size // 3 + 10: 2 * size // 3 + 20] = 1
    imd[:10, :20] = 255
    ndvi[50:60, 30:50] = np.nan
    ndvi[100:105, 250:260] = np.nan
    ibu = np.where(imd == 255, 255, ibu_rule(imd)).astype(np.uint8)
    paths = {"imd": write_tif(os.path.join(folder, "IMD_A.tif"), imd),
             "clcplus": write_tif(os.path.join(folder, "CLCplus_A.tif"), clcplus),
             "ibu": write_tif(os.path.join(folder, "IBU_A.tif"), ibu),
             "pp": write_pp(os.path.join(folder, "PP_A.tif"), ndvi)}
    return dict(paths, imd_array=imd, ndvi=ndvi, law=law, clcplus_array=clcplus, ibu_array=ibu,
                impervious=impervious, folder=folder)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("scene"))
    data = make_scene(folder)
    data["mask"] = os.path.join(folder, "IMD_MSK_A.tif")
    # The known-truth scene's sealed strip without imperviousness must stay out: intersection.
    data["mask_stats"] = run_sealing_mask(data["imd"], data["clcplus"], data["mask"], combine="intersection")
    data["json"] = os.path.join(folder, "calibration.json")
    data["calibration"] = run_calibrate(data["imd"], data["mask"], data["pp"], data["ibu"], data["json"])
    data["applied"] = os.path.join(folder, "IMD_applied.tif")
    data["apply_stats"] = run_apply_calibration(data["imd"], data["mask"], data["pp"], data["json"], data["applied"])
    return data


def sampled_pixels(shape, spacing=60.0, geotransform=GEOTRANSFORM):
    """Independent 60 m sampling: the pixel whose upper-left corner is the 60 m cell centre."""
    rows, cols = np.indices(shape)
    left = geotransform[0] + cols * geotransform[1]
    top = geotransform[3] + rows * geotransform[5]
    return (np.isclose(np.mod(left - spacing / 2, spacing), 0.0)
            & np.isclose(np.mod(top - spacing / 2, spacing), 0.0))


def reference_imd(calibration_json, ndvi, mask, valid):
    """The applied formula written out pixel by pixel from the JSON (Python round = half to even)."""
    c = calibration_json["coefficients"]
    out = np.zeros(ndvi.shape, dtype=np.uint8)
    for (row, col), n in np.ndenumerate(ndvi):
        if not valid[row, col]:
            out[row, col] = 255
            continue
        if mask[row, col] != 1:
            continue
        f = c["a"] + c["b"] * n
        u = min(max(f / (c["a"] + c["b"] * c["n_hd"]), 0.0), 1.0)
        g = min(max(c["m"] + (c["M"] - c["m"]) * u, 0.0), 100.0)
        out[row, col] = round(g)
    return out


# ----------------------------------------------------------------------------- sealing mask

def test_sealed_values_parsing_and_matching():
    values = SealedValues.parse(" 1, 111-142 ,2* ")
    assert values.matches(1) and values.matches("1") and values.matches(1.0)
    assert values.matches(111) and values.matches("142") and not values.matches(143)
    assert values.matches("211") and values.matches(23) and not values.matches(31)
    assert not values.matches(None)
    codes = np.array([[0, 1, 2, 111], [150, 211, 254, 31]], dtype=np.uint8)
    assert values.code_mask(codes).tolist() == [[False, True, True, True], [False, True, True, False]]
    assert SealedValues.parse("1*").matches("112") and not SealedValues.parse("1*").matches("211")
    with pytest.raises(ImperviousnessError, match="SEALED_VALUES is empty"):
        SealedValues.parse(" , ")
    with pytest.raises(ImperviousnessError, match="range '5-3' is empty"):
        SealedValues.parse("5-3")


def test_mask_kernel_by_hand():
    density = np.array([[0, 1, 50, 255], [100, 0, 3, 40]], dtype=np.uint8)
    density_valid = density != 255
    share = np.array([[100, 100, 89, 100], [90, 0, 0, 95]], dtype=np.uint8)
    share_valid = np.array([[True, True, True, True], [True, True, True, False]])
    old = {"combine": "intersection", "sealed_share": 90}      # the default before issue 13
    assert mask_block(density, density_valid, share, share_valid, **old).tolist() == \
        [[0, 1, 0, 255], [1, 0, 0, 255]]
    assert mask_block(density, density_valid, share, share_valid, combine="union", threshold=1,
                      sealed_share=90).tolist() == [[1, 1, 1, 255], [1, 0, 1, 255]]
    assert mask_block(density, density_valid, share, share_valid, sealed_share=50, outline_min=5,
                      combine="intersection").tolist() == [[0, 0, 1, 255], [1, 0, 0, 255]]


def test_rasterize_coverage_gives_exact_shares():
    grid = Grid(srs_wkt(), GEOTRANSFORM, 4, 2)
    memory = ogr.GetDriverByName("Memory").CreateDataSource("m")
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3035)
    layer = memory.CreateLayer("p", srs=srs)
    for wkt in (f"POLYGON(({X0} {Y0},{X0 + 15} {Y0},{X0 + 15} {Y0 - 10},{X0} {Y0 - 10},{X0} {Y0}))",
                f"POLYGON(({X0 + 20} {Y0},{X0 + 25} {Y0},{X0 + 25} {Y0 - 5},{X0 + 20} {Y0 - 5},{X0 + 20} {Y0}))",
                f"POLYGON(({X0 + 30} {Y0 - 10},{X0 + 40} {Y0 - 10},{X0 + 30} {Y0 - 15},{X0 + 30} {Y0 - 10}))"):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(feature)
    share = rasterize_coverage(layer, grid, Window(0, 0, 4, 2))
    # Triangle of area 25 m2 in the last pixel; its edge passes through no sub-pixel centre, and
    # counting centres (i + 0.5, j + 0.5) with j < 4.25 - i / 2 by hand gives 5+4+4+3+3+2+2+1+1 = 25.
    assert share.tolist() == [[100, 50, 25, 0], [0, 0, 0, 25]]
    assert rasterize_coverage(layer, grid, Window(1, 0, 2, 1)).tolist() == [[50, 25]]
    assert layer.GetFeatureCount() == 3  # the spatial filter was cleared


def test_sealing_mask_raster_intersection_and_union(scene, tmp_path):
    mask = read(scene["mask"])
    imd, clcplus = scene["imd_array"], scene["clcplus_array"]
    expected = np.where(imd == 255, 255, ((imd >= 1) & (clcplus == 1)).astype(np.uint8))
    np.testing.assert_array_equal(mask, expected)
    assert scene["mask_stats"]["mask"] == int((expected == 1).sum())
    union_path = tmp_path / "union.tif"
    run_sealing_mask(scene["imd"], scene["clcplus"], union_path, combine="union", threshold=1)
    expected_union = np.where(imd == 255, 255, ((imd >= 1) | (clcplus == 1)).astype(np.uint8))
    np.testing.assert_array_equal(read(union_path), expected_union)
    ds = gdal.Open(str(union_path))
    band = ds.GetRasterBand(1)
    assert band.DataType == gdal.GDT_Byte and band.GetNoDataValue() == 255
    assert band.GetDescription().startswith("IMD_MSK sealing mask")
    assert ds.GetMetadataItem("COMBINE") == "union"


def test_sealing_mask_raster_nodata_and_bad_inputs(tmp_path):
    imd = np.array([[0, 20, 40], [60, 255, 80]], dtype=np.uint8)
    clcplus = np.array([[1, 1, 255], [2, 1, 1]], dtype=np.uint8)
    out = tmp_path / "mask.tif"
    run_sealing_mask(write_tif(tmp_path / "imd.tif", imd), write_tif(tmp_path / "clc.tif", clcplus), out,
                     sealed_values="1", combine="intersection")
    assert read(out).tolist() == [[0, 1, 255], [0, 255, 1]]
    shifted = write_tif(tmp_path / "shifted.tif", clcplus, geotransform=(X0 + 10, 10, 0, Y0, 0, -10))
    with pytest.raises(ImperviousnessError, match=r"CLCPLUS .*shifted.tif.* not on the grid .*4700010.*4700000"):
        run_sealing_mask(str(tmp_path / "imd.tif"), shifted, tmp_path / "bad.tif")
    with pytest.raises(ImperviousnessError, match=r"IMPERVIOUSNESS .* holds 0\.\.150"):
        run_sealing_mask(write_tif(tmp_path / "big.tif", np.array([[0, 150]], np.uint8)),
                         write_tif(tmp_path / "c2.tif", np.array([[1, 1]], np.uint8)), tmp_path / "bad.tif")
    with pytest.raises(ImperviousnessError, match="THRESHOLD"):
        run_sealing_mask(str(tmp_path / "imd.tif"), str(tmp_path / "clc.tif"), tmp_path / "bad.tif", threshold=0)
    assert not (tmp_path / "bad.tif").exists()


def write_polygons(path, features, epsg=3035, layer_name="sealed", extra_layer=False):
    """A GeoPackage of (wkt in EPSG:3035, code) polygons, stored in `epsg` (densified, reprojected)."""
    driver = ogr.GetDriverByName("GPKG")
    ds = driver.CreateDataSource(str(path))
    target = osr.SpatialReference()
    target.ImportFromEPSG(epsg)
    target.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    source = osr.SpatialReference()
    source.ImportFromEPSG(3035)
    source.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transform = osr.CoordinateTransformation(source, target)
    layer = ds.CreateLayer(layer_name, srs=target, geom_type=ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("CODE_18", ogr.OFTString))
    for wkt, code in features:
        geometry = ogr.CreateGeometryFromWkt(wkt)
        geometry.Segmentize(1.0)
        geometry.Transform(transform)
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(geometry)
        feature.SetField("CODE_18", code)
        layer.CreateFeature(feature)
    if extra_layer:
        ds.CreateLayer("other", srs=target, geom_type=ogr.wkbPolygon)
    ds = None
    return str(path)


def box(col0, row0, col1, row1):
    """Polygon WKT (EPSG:3035) of pixel columns col0..col1 and rows row0..row1 (fractions allowed)."""
    x0, x1 = X0 + col0 * PIXEL, X0 + col1 * PIXEL
    y0, y1 = Y0 - row0 * PIXEL, Y0 - row1 * PIXEL
    return f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"


def test_sealing_mask_from_polygons_applies_the_share_threshold(tmp_path):
    imd = write_tif(tmp_path / "imd.tif", np.full((6, 8), 30, dtype=np.uint8))
    # Code 112: columns 0.5..3 (column 0 half covered) x rows 0..0.95 (row 0 95 % covered);
    # code 211 (agriculture) elsewhere must not count.
    gpkg = write_polygons(tmp_path / "clc.gpkg", [(box(0.5, 0, 3, 0.95), "112"), (box(0, 2, 8, 6), "211")],
                          extra_layer=True)
    out = tmp_path / "mask.tif"
    run_sealing_mask(imd, f"{gpkg}|layername=sealed", out, sealed_values="1*", sealed_field="code_18",
                     sealed_share=90)
    expected = np.zeros((6, 8), dtype=np.uint8)
    expected[0, 1:3] = 1                      # 95 % >= 90; column 0 is 47 % (half of 95 %)
    np.testing.assert_array_equal(read(out), expected)
    run_sealing_mask(imd, f"{gpkg}|layername=sealed", out, sealed_values="1*", sealed_field="code_18",
                     sealed_share=40)
    expected[0, 0] = 1
    np.testing.assert_array_equal(read(out), expected)
    # No field: every polygon is sealed.
    run_sealing_mask(imd, f"{gpkg}|layername=sealed", out, sealed_share=40)
    expected[2:, :] = 1
    np.testing.assert_array_equal(read(out), expected)


def test_sealing_mask_reprojects_polygons(tmp_path):
    imd = write_tif(tmp_path / "imd.tif", np.full((40, 40), 50, dtype=np.uint8))
    polygons = [(box(5, 5, 25, 30), "111")]
    in_3035 = write_polygons(tmp_path / "laea.gpkg", polygons)
    in_utm = write_polygons(tmp_path / "utm.gpkg", polygons, epsg=32633)
    run_sealing_mask(imd, in_3035, tmp_path / "laea.tif", sealed_field="CODE_18", sealed_values="111")
    run_sealing_mask(imd, in_utm, tmp_path / "utm.tif", sealed_field="CODE_18", sealed_values="111")
    expected = np.zeros((40, 40), dtype=np.uint8)
    expected[5:30, 5:25] = 1
    np.testing.assert_array_equal(read(tmp_path / "laea.tif"), expected)
    # EPSG:3035 -> UTM -> EPSG:3035 round trip: identical away from the polygon's edge.
    interior = np.zeros((40, 40), bool)
    interior[6:29, 6:24] = True
    outside = np.ones((40, 40), bool)
    outside[4:31, 4:26] = False
    utm = read(tmp_path / "utm.tif")
    assert (utm[interior] == 1).all() and (utm[outside] == 0).all()


def test_sealing_mask_vector_errors(tmp_path):
    imd = write_tif(tmp_path / "imd.tif", np.full((4, 4), 30, dtype=np.uint8))
    gpkg = write_polygons(tmp_path / "clc.gpkg", [(box(0, 0, 2, 2), "211")], extra_layer=True)
    with pytest.raises(ImperviousnessError, match=r"holds 2 layers \(sealed, other\); name one"):
        run_sealing_mask(imd, gpkg, tmp_path / "m.tif", clcplus_kind="vector")
    with pytest.raises(ImperviousnessError, match="has no field 'CODE_12'; fields: CODE_18"):
        run_sealing_mask(imd, f"{gpkg}|layername=sealed", tmp_path / "m.tif", sealed_field="CODE_12")
    with pytest.raises(ImperviousnessError, match="no polygon with CODE_18 matching 1\\*"):
        run_sealing_mask(imd, f"{gpkg}|layername=sealed", tmp_path / "m.tif", sealed_field="CODE_18",
                         sealed_values="1*")
    with pytest.raises(ImperviousnessError, match="has no layer 'nope'"):
        run_sealing_mask(imd, f"{gpkg}|layername=nope", tmp_path / "m.tif")
    assert not (tmp_path / "m.tif").exists()


# ----------------------------------------------------------------------------- union default (SPEC 9)

UNION_LAW = (95.0, -100.0)          # IMD = 95 - 100 NDVI_P0: 90..95 % for NDVI 0..0.05
# Hidden pixels (blocks of 30 x 30 outside the class part, columns >= 200): in the sealed class
# only (density below 90 %), density >= 90 % outside the class, density 50 % outside the class.
HIDDEN = {"class_only": (slice(120, 150), slice(210, 240)), "dense_outside": (slice(0, 30), slice(210, 240)),
          "medium_outside": (slice(60, 90), slice(210, 240))}


def make_union_year(folder, year, seed, hidden_ndvi):
    """One year of the union scene: the class part follows the law with noise, the hidden blocks
    follow it without noise at hidden_ndvi[name]; the rest is grass (class 6, density 0)."""
    rng = np.random.default_rng(seed)
    size = 300
    ndvi = rng.uniform(0.5, 0.9, (size, size))
    ndvi[:, :200] = rng.uniform(0.05, 0.85, (size, 200))
    clcplus = np.full((size, size), 6, np.uint8)
    clcplus[:, :200] = 1
    law = UNION_LAW[0] + UNION_LAW[1] * ndvi
    imd = np.zeros((size, size), np.uint8)
    imd[:, :200] = np.clip(np.rint(law[:, :200] + rng.normal(0.0, NOISE_SD, (size, 200))), 1, 100)
    for name, value in hidden_ndvi.items():
        ndvi[HIDDEN[name]] = value
        imd[HIDDEN[name]] = round(UNION_LAW[0] + UNION_LAW[1] * value)
    clcplus[HIDDEN["class_only"]] = 1
    ibu = (imd >= 60).astype(np.uint8)
    return {"imd": write_tif(os.path.join(folder, f"IMD_{year}.tif"), imd), "imd_array": imd,
            "clcplus": write_tif(os.path.join(folder, f"CLCplus_{year}.tif"), clcplus), "clcplus_array": clcplus,
            "ibu": write_tif(os.path.join(folder, f"IBU_{year}.tif"), ibu),
            "pp": write_pp(os.path.join(folder, f"PP_{year}.tif"), ndvi), "ndvi": ndvi}


def test_union_default_known_truth_for_both_years(tmp_path):
    """Default mask = sealed class OR density >= 90 %: year A with IMD_A, year B with RIMD_B."""
    a = make_union_year(str(tmp_path), 2018, 5, {"class_only": 0.75, "dense_outside": 0.03, "medium_outside": 0.45})
    b = make_union_year(str(tmp_path), 2021, 6, {"class_only": 0.65, "dense_outside": 0.01, "medium_outside": 0.45})
    assert a["imd_array"][HIDDEN["class_only"]].max() == 20 and a["imd_array"][HIDDEN["dense_outside"]].min() == 92
    assert b["imd_array"][HIDDEN["medium_outside"]].max() == 50 and b["imd_array"][HIDDEN["dense_outside"]].min() == 94
    # Year B's "raw prediction" is its density layer (RIMD_B).
    result = run_imd_calibration(a["imd"], a["ibu"], a["pp"], a["clcplus"], b["imd"], b["pp"], b["clcplus"],
                                 tmp_path / "out", 2018, 2021)
    for year, path in ((a, result["mask_a"]), (b, result["mask_b"])):
        mask = read(path)
        expected = ((year["clcplus_array"] == 1) | (year["imd_array"] >= 90)).astype(np.uint8)
        np.testing.assert_array_equal(mask, expected)
        assert (mask[HIDDEN["class_only"]] == 1).all() and (mask[HIDDEN["dense_outside"]] == 1).all()
        assert (mask[HIDDEN["medium_outside"]] == 0).all()
    calibration = result["calibration_result"]
    # The regression recovers the law (noise SD 3 on ~1,700 samples: SE ~0.15 and ~0.3).
    assert abs(calibration.intercept - UNION_LAW[0]) < INTERCEPT_TOLERANCE
    assert abs(calibration.slope - UNION_LAW[1]) < SLOPE_TOLERANCE
    with open(result["calibration"], encoding="utf-8") as stream:
        saved = json.load(stream)
    assert saved["sealing_mask"] == {"combine": "union", "rule": "sealed class (share >= 50 %) OR density >= 90 %",
                                     "threshold": 90.0, "outline_min": 1.0, "sealed_share": 50.0}
    # Year B: the hidden pixels get the formula inside the mask, 0 outside (independent loop).
    imd_b = read(result["imd_b"])
    expected_b = reference_imd(saved, b["ndvi"], read(result["mask_b"]), np.ones(b["ndvi"].shape, bool))
    np.testing.assert_array_equal(imd_b, expected_b)
    assert (imd_b[HIDDEN["medium_outside"]] == 0).all()
    assert imd_b[HIDDEN["dense_outside"]].min() >= 85 and imd_b[HIDDEN["class_only"]].min() >= 1
    assert gdal.Open(result["imd_b"]).GetMetadataItem("SEALING_MASK_B_RULE") == saved["sealing_mask"]["rule"]
    # The mean density of year A's impervious mask pixels is kept (applied back to year A).
    run_apply_calibration(a["imd"], result["mask_a"], a["pp"], result["calibration"], tmp_path / "back.tif")
    back, mask_a = read(tmp_path / "back.tif"), read(result["mask_a"]) == 1
    impervious = mask_a & (a["imd_array"] >= 1)
    assert abs(back[impervious].mean() - a["imd_array"][impervious].mean()) < 0.02


def test_intersection_and_outline_options_on_the_hidden_pixels(tmp_path):
    """What each COMBINE option does to the three kinds of pixel (year B densities, class B)."""
    b = make_union_year(str(tmp_path), 2021, 6, {"class_only": 0.65, "dense_outside": 0.01, "medium_outside": 0.45})
    expected = {"union": (1, 1, 0), "intersection": (1, 0, 0), "outline": (1, 1, 1)}
    for combine, (class_only, dense, medium) in expected.items():
        path = tmp_path / f"{combine}.tif"
        stats = run_sealing_mask(b["imd"], b["clcplus"], path, combine=combine)
        mask = read(path)
        assert (mask[HIDDEN["class_only"]] == class_only).all(), combine
        assert (mask[HIDDEN["dense_outside"]] == dense).all(), combine
        assert (mask[HIDDEN["medium_outside"]] == medium).all(), combine
        assert gdal.Open(str(path)).GetMetadataItem("COMBINE") == combine
        assert stats["mask"] == int((mask == 1).sum())
    with pytest.raises(ImperviousnessError, match="COMBINE must be one of intersection, union, outline"):
        run_sealing_mask(b["imd"], b["clcplus"], tmp_path / "x.tif", combine="or")
    with pytest.raises(ImperviousnessError, match="SEALED_SHARE must lie in"):
        run_sealing_mask(b["imd"], b["clcplus"], tmp_path / "x.tif", sealed_share=0)


# ----------------------------------------------------------------------------- calibration: known truth

def test_regression_recovers_the_law_from_the_60m_samples(scene):
    calibration = scene["calibration"]
    imd, ndvi, mask = scene["imd_array"], scene["ndvi"], read(scene["mask"])
    samples = sampled_pixels(imd.shape) & (mask == 1) & ~np.isnan(ndvi)
    slope, intercept = np.polyfit(ndvi[samples], imd[samples].astype(float), 1)
    regression = calibration.regression
    assert regression["samples"] == int(samples.sum()) > 1500
    assert calibration.intercept == pytest.approx(intercept, abs=1e-8)
    assert calibration.slope == pytest.approx(slope, abs=1e-8)
    # The law: within the stated tolerance and within four standard errors.
    assert abs(calibration.intercept - ALPHA) < min(INTERCEPT_TOLERANCE, 4 * regression["intercept_se"])
    assert abs(calibration.slope - BETA) < min(SLOPE_TOLERANCE, 4 * regression["slope_se"])
    residuals = imd[samples] - (intercept + slope * ndvi[samples])
    assert regression["residual_sd"] == pytest.approx(residuals.std(ddof=2), rel=1e-9)
    assert regression["residual_sd"] == pytest.approx(math.hypot(NOISE_SD, 1 / math.sqrt(12)), rel=0.1)
    r_squared = np.corrcoef(ndvi[samples], imd[samples])[0, 1] ** 2
    assert regression["r_squared"] == pytest.approx(r_squared, rel=1e-9)


def test_high_density_anchor_is_the_rank_matched_percentile(scene):
    calibration = scene["calibration"]
    imd, ndvi, mask, ibu = scene["imd_array"], scene["ndvi"], read(scene["mask"]), scene["ibu_array"]
    dense = (mask == 1) & (ibu == 1) & ~np.isnan(ndvi)
    assert calibration.high_density_max == np.percentile(imd[dense], 99, method="inverted_cdf")
    assert calibration.high_density_ndvi == pytest.approx(
        np.percentile(ndvi[dense], 1, method="inverted_cdf"), abs=1e-4)
    assert calibration.high_density["pixels"] == int(dense.sum())


def test_rescaling_keeps_the_mean_density_of_year_a(scene):
    calibration, rescaling = scene["calibration"], scene["calibration"].rescaling
    imd, ndvi, mask = scene["imd_array"], scene["ndvi"], read(scene["mask"])
    impervious = (mask == 1) & (imd >= 1) & (imd != 255) & ~np.isnan(ndvi)
    applied = read(scene["applied"])
    year_a_mean = imd[impervious].mean()
    calibrated_mean = applied[impervious].mean()
    assert rescaling["converged"] and rescaling["iterations"] > 0
    assert rescaling["target_mean"] == pytest.approx(year_a_mean, abs=1e-9)
    assert abs(calibrated_mean - year_a_mean) < MEAN_TOLERANCE
    assert abs(calibrated_mean - year_a_mean) < 0.02      # achieved, far inside the requirement
    # Closed form of the unrounded problem (no pixel is clipped at 0 here):
    # mean(m + (M - m) u) = T  <=>  m = (T - M mean(u)) / (1 - mean(u)).
    f = calibration.intercept + calibration.slope * ndvi[impervious]
    f_hd = calibration.intercept + calibration.slope * calibration.high_density_ndvi
    mean_u = np.clip(f / f_hd, 0, 1).mean()
    closed_form = (year_a_mean - calibration.high_density_max * mean_u) / (1 - mean_u)
    assert calibration.new_minimum == pytest.approx(closed_form, abs=0.05)


def test_applied_imd_matches_the_formula_outside_is_zero_and_nodata_propagates(scene):
    applied = read(scene["applied"])
    imd, ndvi, mask = scene["imd_array"], scene["ndvi"], read(scene["mask"])
    with open(scene["json"], encoding="utf-8") as stream:
        saved = json.load(stream)
    valid = (imd != 255) & (mask != 255) & ~np.isnan(ndvi)
    np.testing.assert_array_equal(applied, reference_imd(saved, ndvi, mask, valid))
    assert (applied[valid & (mask == 0)] == 0).all()
    assert (applied[~valid] == 255).all()
    assert (applied[:10, :20] == 255).all() and (applied[50:60, 30:50] == 255).all()
    assert (applied[100:105, 250:260] == 255).all()        # NaN NDVI outside the mask too
    assert applied[valid & (mask == 1)].min() >= 0 and applied[valid].max() <= 100


def test_calibration_file_records_every_coefficient(scene):
    with open(scene["json"], encoding="utf-8") as stream:
        saved = json.load(stream)
    calibration = scene["calibration"]
    assert saved["coefficients"] == {"a": calibration.intercept, "b": calibration.slope,
                                     "M": calibration.high_density_max, "n_hd": calibration.high_density_ndvi,
                                     "f_hd": calibration.high_density_value, "m": calibration.new_minimum}
    for key in ("intercept", "slope", "r_squared", "residual_sd", "intercept_se", "slope_se", "samples",
                "sample_spacing", "sample_pixel", "mask_pixels"):
        assert key in saved["regression"]
    for key in ("new_minimum", "target_mean", "achieved_mean", "residual", "iterations", "converged",
                "function_calls", "bracket", "impervious_pixels"):
        assert key in saved["rescaling"]
    law = saved["law"]
    n = 0.3
    assert law["offset"] + law["gain"] * n == pytest.approx(calibration.density(n), abs=1e-9)
    assert Calibration.from_json(saved).density(n) == pytest.approx(calibration.density(n), abs=1e-12)


def test_noise_free_law_is_returned_unchanged(tmp_path):
    data = make_scene(str(tmp_path), noise_sd=0.0, seed=3)
    mask = tmp_path / "mask.tif"
    run_sealing_mask(data["imd"], data["clcplus"], mask, combine="intersection")
    calibration = run_calibrate(data["imd"], mask, data["pp"], data["ibu"], tmp_path / "c.json")
    assert calibration.intercept == pytest.approx(ALPHA, abs=0.1)
    assert calibration.slope == pytest.approx(BETA, abs=0.2)
    assert calibration.new_minimum == pytest.approx(0.0, abs=0.5)
    run_apply_calibration(data["imd"], mask, data["pp"], tmp_path / "c.json", tmp_path / "imd.tif")
    applied, law = read(tmp_path / "imd.tif").astype(int), data["law"]
    inside = (read(mask) == 1) & ~np.isnan(data["ndvi"])
    assert np.abs(applied[inside] - law[inside]).max() <= 1.0


def test_application_to_another_year_uses_the_year_a_coefficients(scene, tmp_path):
    rng = np.random.default_rng(11)
    ndvi_b = rng.uniform(0.0, 0.9, scene["ndvi"].shape)
    ndvi_b[0, 0] = np.nan
    raw = np.where(scene["impervious"], 40, 0).astype(np.uint8)
    raw[5, 5] = 255
    mask_b = np.where(scene["impervious"], 1, 0).astype(np.uint8)
    paths = (write_tif(tmp_path / "RIMD_B.tif", raw), write_tif(tmp_path / "MSK_B.tif", mask_b),
             write_pp(tmp_path / "PP_B.tif", ndvi_b))
    stats = run_apply_calibration(*paths, scene["json"], tmp_path / "IMD_B.tif")
    with open(scene["json"], encoding="utf-8") as stream:
        saved = json.load(stream)
    valid = (raw != 255) & ~np.isnan(ndvi_b)
    np.testing.assert_array_equal(read(tmp_path / "IMD_B.tif"), reference_imd(saved, ndvi_b, mask_b, valid))
    assert stats["mask"] == int((valid & (mask_b == 1)).sum())


def test_output_carries_the_imd_legend_and_style(scene):
    ds = gdal.Open(scene["applied"])
    band = ds.GetRasterBand(1)
    table = band.GetColorTable()
    assert band.DataType == gdal.GDT_Byte and band.GetNoDataValue() == 255
    assert band.GetDescription().startswith("IMD imperviousness density")
    assert {i: table.GetColorEntry(i) for i in range(table.GetCount())} == styles.color_table("imd")
    assert os.path.exists(os.path.splitext(scene["applied"])[0] + ".qml")
    assert ds.GetMetadataItem("NEW_MINIMUM") is not None


def test_runs_are_deterministic(scene, tmp_path):
    run_calibrate(scene["imd"], scene["mask"], scene["pp"], scene["ibu"], tmp_path / "again.json")
    with open(scene["json"], encoding="utf-8") as a, open(tmp_path / "again.json", encoding="utf-8") as b:
        first, second = json.load(a), json.load(b)
    assert first["coefficients"] == second["coefficients"] and first["regression"] == second["regression"]
    run_apply_calibration(scene["imd"], scene["mask"], scene["pp"], scene["json"], tmp_path / "again.tif")
    np.testing.assert_array_equal(read(tmp_path / "again.tif"), read(scene["applied"]))


def test_demo_chain_writes_the_hrl_names(scene, tmp_path):
    result = run_imd_calibration(scene["imd"], scene["ibu"], scene["pp"], scene["clcplus"],
                                 scene["imd"], scene["pp"], scene["clcplus"], tmp_path, 2018, 2021,
                                 combine="intersection")
    assert sorted(os.listdir(tmp_path)) == ["IMD_2021_010m.qml", "IMD_2021_010m.tif", "IMD_MSK_2018_010m.tif",
                                            "IMD_MSK_2021_010m.tif", "IMD_calibration_2018.json"]
    np.testing.assert_array_equal(read(result["imd_b"]), read(scene["applied"]))


# ----------------------------------------------------------------------------- degenerate inputs

def test_empty_mask_is_refused(scene, tmp_path):
    empty = write_tif(tmp_path / "empty.tif", np.zeros(scene["imd_array"].shape, np.uint8))
    with pytest.raises(ImperviousnessError, match="holds no sealed pixel"):
        run_calibrate(scene["imd"], empty, scene["pp"], scene["ibu"], tmp_path / "c.json")
    assert not (tmp_path / "c.json").exists()


def test_constant_ndvi_is_refused(scene, tmp_path):
    pp = write_pp(tmp_path / "pp.tif", np.full(scene["ndvi"].shape, 0.3))
    with pytest.raises(ImperviousnessError, match=r"NDVI_P0 is constant \(0\.3000\)"):
        run_calibrate(scene["imd"], scene["mask"], pp, scene["ibu"], tmp_path / "c.json")


def test_too_few_samples_on_the_60m_grid_are_refused(tmp_path):
    data = make_scene(str(tmp_path), size=30)
    mask = tmp_path / "mask.tif"
    run_sealing_mask(data["imd"], data["clcplus"], mask, combine="intersection")
    with pytest.raises(ImperviousnessError, match=r"Only \d+ sample\(s\) on the 60 m grid .* at least 30"):
        run_calibrate(data["imd"], mask, data["pp"], data["ibu"], tmp_path / "c.json")
    calibration = run_calibrate(data["imd"], mask, data["pp"], data["ibu"], tmp_path / "c.json",
                                sample_spacing=20)
    assert calibration.regression["samples"] > 30
    with pytest.raises(ImperviousnessError, match="whole multiple of the pixel size"):
        run_calibrate(data["imd"], mask, data["pp"], data["ibu"], tmp_path / "c.json", sample_spacing=65)


def test_rising_imd_with_ndvi_is_refused(scene, tmp_path):
    pp = write_pp(tmp_path / "pp.tif", 1.0 - scene["ndvi"])
    with pytest.raises(ImperviousnessError, match="slope .* is [0-9.]+ \\(not negative\\)"):
        run_calibrate(scene["imd"], scene["mask"], pp, scene["ibu"], tmp_path / "c.json")


def test_mismatched_grids_are_refused_naming_both(scene, tmp_path):
    shifted = write_tif(tmp_path / "ibu.tif", scene["ibu_array"], geotransform=(X0, 10, 0, Y0 + 60, 0, -10))
    with pytest.raises(ImperviousnessError, match=r"IBU_A .*ibu.tif.* not on the grid of IMD_A .*1460060.*1460000"):
        run_calibrate(scene["imd"], scene["mask"], scene["pp"], shifted, tmp_path / "c.json")


def test_missing_ndvi_band_is_refused(scene, tmp_path):
    pp = write_tif(tmp_path / "pp.tif", np.zeros((2,) + scene["ndvi"].shape, np.float32), float("nan"),
                   ["Q20_B02", "Q20_B03"])
    with pytest.raises(ImperviousnessError, match="no band described NDVI_P0; its bands are: Q20_B02, Q20_B03"):
        run_calibrate(scene["imd"], scene["mask"], pp, scene["ibu"], tmp_path / "c.json")


def test_no_built_up_pixel_is_refused(scene, tmp_path):
    ibu = write_tif(tmp_path / "ibu.tif", np.zeros(scene["ibu_array"].shape, np.uint8))
    with pytest.raises(ImperviousnessError, match="IBU_A has no built-up pixel"):
        run_calibrate(scene["imd"], scene["mask"], scene["pp"], ibu, tmp_path / "c.json")


def test_no_new_minimum_in_range_is_refused(tmp_path):
    # Built-up only where IMD <= 20: M = 20 lies below year A's mean density (~45).
    data = make_scene(str(tmp_path), ibu_rule=lambda imd: (imd >= 1) & (imd <= 20))
    mask = tmp_path / "mask.tif"
    run_sealing_mask(data["imd"], data["clcplus"], mask, combine="intersection")
    with pytest.raises(ImperviousnessError, match=r"No new minimum in \[-100, 20\] keeps the mean density"):
        run_calibrate(data["imd"], mask, data["pp"], data["ibu"], tmp_path / "c.json")


def test_bad_calibration_files_are_refused(scene, tmp_path):
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "other.json").write_text('{"format": "something else"}', encoding="utf-8")
    with open(scene["json"], encoding="utf-8") as stream:
        saved = json.load(stream)
    saved["coefficients"]["b"] = 5.0
    (tmp_path / "positive.json").write_text(json.dumps(saved), encoding="utf-8")
    for name, message in (("broken.json", "not valid JSON"), ("other.json", "not an IMD calibration file"),
                          ("positive.json", "coefficients no calibration produces"),
                          ("missing.json", "Cannot read the calibration file")):
        with pytest.raises(ImperviousnessError, match=message):
            run_apply_calibration(scene["imd"], scene["mask"], scene["pp"], tmp_path / name, tmp_path / "out.tif")
    assert not (tmp_path / "out.tif").exists()




def test_cancelled_runs_write_nothing(scene, tmp_path):
    with pytest.raises(Cancelled):
        run_sealing_mask(scene["imd"], scene["clcplus"], tmp_path / "m.tif", feedback=Feedback(progress=0))
    with pytest.raises(Cancelled):
        run_calibrate(scene["imd"], scene["mask"], scene["pp"], scene["ibu"], tmp_path / "c.json",
                      feedback=Feedback(progress=0))
    with pytest.raises(Cancelled):
        run_apply_calibration(scene["imd"], scene["mask"], scene["pp"], scene["json"], tmp_path / "o.tif",
                              feedback=Feedback(progress=0))
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- through Processing

def test_processing_sealingmask_raster_and_vector(provider, scene, tmp_path):
    import processing
    result = processing.run("imperviousness:sealingmask", {
        "IMPERVIOUSNESS": scene["imd"], "CLCPLUS": scene["clcplus"], "COMBINE": 0,
        "OUTPUT": str(tmp_path / "m.tif")})
    np.testing.assert_array_equal(read(result["OUTPUT"]), read(scene["mask"]))
    assert result["MASK_PIXELS"] == scene["mask_stats"]["mask"]
    gpkg = write_polygons(tmp_path / "clc.gpkg", [(box(0, 0, 200, 300), "112"), (box(200, 0, 300, 300), "211")],
                          extra_layer=True)
    result = processing.run("imperviousness:sealingmask", {
        "IMPERVIOUSNESS": scene["imd"], "CLCPLUS": f"{gpkg}|layername=sealed", "SEALED_FIELD": "code_18",
        "SEALED_VALUES": "1*", "COMBINE": 1, "THRESHOLD": 1, "OUTPUT": str(tmp_path / "v.tif")})
    imd = scene["imd_array"]
    expected = np.where(imd == 255, 255, ((imd >= 1) | (np.arange(300) < 200)[None, :]).astype(np.uint8))
    np.testing.assert_array_equal(read(result["OUTPUT"]), expected)


def test_processing_calibrate_and_apply(provider, scene, tmp_path):
    import processing
    from qgis.core import QgsProcessingException
    result = processing.run("imperviousness:calibrate", {
        "IMD_A": scene["imd"], "SEALING_MASK_A": scene["mask"], "PP_A": scene["pp"], "IBU_A": scene["ibu"],
        "OUTPUT": str(tmp_path / "cal.json")})
    calibration = scene["calibration"]
    assert result["SLOPE"] == pytest.approx(calibration.slope, abs=1e-12)
    assert result["INTERCEPT"] == pytest.approx(calibration.intercept, abs=1e-12)
    assert result["NEW_MINIMUM"] == pytest.approx(calibration.new_minimum, abs=1e-12)
    assert result["SAMPLES"] == calibration.regression["samples"]
    assert result["HIGH_DENSITY_MAX"] == calibration.high_density_max
    applied = processing.run("imperviousness:applycalibration", {
        "RAW_IMD": scene["imd"], "SEALING_MASK_B": scene["mask"], "PP_B": scene["pp"],
        "CALIBRATION": result["OUTPUT"], "OUTPUT": str(tmp_path / "IMD_2021_010m.tif")})
    np.testing.assert_array_equal(read(applied["OUTPUT"]), read(scene["applied"]))
    with pytest.raises(QgsProcessingException, match="NDVI_P0 is constant"):
        processing.run("imperviousness:calibrate", {
            "IMD_A": scene["imd"], "SEALING_MASK_A": scene["mask"],
            "PP_A": write_pp(tmp_path / "flat.tif", np.full(scene["ndvi"].shape, 0.2)),
            "IBU_A": scene["ibu"], "OUTPUT": str(tmp_path / "bad.json")})
    assert not (tmp_path / "bad.json").exists()


def test_calibrate_through_qgis_process(qgis_process, scene, tmp_path):
    output = tmp_path / "cal.json"
    qgis_process("run", "imperviousness:calibrate", "--", f"IMD_A={scene['imd']}",
                 f"SEALING_MASK_A={scene['mask']}", f"PP_A={scene['pp']}", f"IBU_A={scene['ibu']}",
                 f"OUTPUT={output}")
    with open(output, encoding="utf-8") as a, open(scene["json"], encoding="utf-8") as b:
        assert json.load(a)["coefficients"] == json.load(b)["coefficients"]
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    failed = qgis_process("run", "imperviousness:applycalibration", "--", f"RAW_IMD={scene['imd']}",
                          f"SEALING_MASK_B={scene['mask']}", f"PP_B={scene['pp']}",
                          f"CALIBRATION={tmp_path / 'broken.json'}", f"OUTPUT={tmp_path / 'bad.tif'}",
                          check=False)
    assert failed.returncode != 0
    assert "not valid JSON" in failed.stdout + failed.stderr
    assert not (tmp_path / "bad.tif").exists()
