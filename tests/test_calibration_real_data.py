"""IMD calibration on real Copernicus data over Malta (../shared/data; skipped when absent).

IMD_A = the official HRL IMD 2018 (10 m). NDVI_P0_A is simulated from the real fraction maps
(IMD, TCD tree cover, GRA grassland) with the project's public end-member spectra and phenology
(`sampledata.endmember_reflectance`): per pixel a linear mix of end-member reflectances on 24
dates (tau = (k + 0.5) / 24), NDVI of the mix per date, its annual mean (= NDVI_P0, the mean of the
fitted curve over the year, for evenly spread dates), plus N(0, 0.03) sensor/texture noise (seeded).
Cover fractions: impervious = IMD / 100 (half paved, half roof); trees = TCD / 100 (broadleaf,
at most the non-impervious rest); grassland pixels (GRA = 1): grass for the rest; otherwise the
rest is half winter crop, half bare soil (Malta's fields and garrigue). Sea (IMD 255) is NaN.

Sealed class: CORINE Land Cover 2018 (vector, ED50 / UTM 33N) with code_18 starting with 1
(artificial surfaces), through the vector path (reprojection, 90 % share). HRL IBU 2018 is not in
the shared data; the high-density (built-up) stand-in is the IMD outline inside CLC urban fabric
(code_18 11x), made with the same sealing-mask routine.

Calibrating on 2018 and applying to 2018 must return IMD 2018: the mean absolute error inside the
sealing mask is measured, printed and bounded; the numbers are copied into docs/calibration.md.
"""

import numpy as np
import pytest
from osgeo import gdal

from tools import sampledata
from imperviousness_plugin.core.status.calibration import run_apply_calibration, run_calibrate
from imperviousness_plugin.core.status.sealing_mask import run_sealing_mask

gdal.UseExceptions()

DATES = 24
NDVI_NOISE_SD = 0.03
SEED = 2018
MAE_BOUND = 12.0          # percentage points inside the sealing mask (measured: see docs/calibration.md)
MEAN_TOLERANCE = 1.0      # percentage points


def read(path):
    return gdal.Open(str(path)).ReadAsArray()


def simulated_ndvi_p0(imd, tcd, gra, land):
    """Annual mean NDVI of a linear mix of end-members (module docstring), NaN off land."""
    impervious = imd[land] / 100.0
    trees = np.minimum(tcd[land] / 100.0, 1.0 - impervious)
    grass = np.where(gra[land] == 1, 1.0 - impervious - trees, 0.0)
    rest = np.clip(1.0 - impervious - trees - grass, 0.0, 1.0)
    total = np.zeros(impervious.shape)
    for tau in (np.arange(DATES) + 0.5) / DATES:
        spectra = {cover: sampledata.endmember_reflectance(cover, tau)
                   for cover in ("paved", "roof", "broadleaf", "grass", "winter_crop", "bare")}
        mix = (impervious[:, None] * 0.5 * (spectra["paved"] + spectra["roof"])
               + trees[:, None] * spectra["broadleaf"] + grass[:, None] * spectra["grass"]
               + rest[:, None] * 0.5 * (spectra["winter_crop"] + spectra["bare"]))
        total += sampledata.ndvi(mix)
    ndvi = np.full(imd.shape, np.nan, dtype=np.float32)
    noise = np.random.default_rng(SEED).normal(0.0, NDVI_NOISE_SD, impervious.shape)
    ndvi[land] = total / DATES + noise
    return ndvi


def write_like(path, reference, array, nodata, description):
    source = gdal.Open(str(reference))
    gdal_type = gdal.GDT_Float32 if array.dtype == np.float32 else gdal.GDT_Byte
    ds = gdal.GetDriverByName("GTiff").Create(str(path), source.RasterXSize, source.RasterYSize, 1, gdal_type,
                                              ["TILED=YES", "COMPRESS=DEFLATE"])
    ds.SetGeoTransform(source.GetGeoTransform())
    ds.SetProjection(source.GetProjection())
    band = ds.GetRasterBand(1)
    band.WriteArray(array)
    band.SetNoDataValue(nodata)
    band.SetDescription(description)
    ds = None
    return str(path)


@pytest.fixture(scope="module")
def malta(shared_data, provider, tmp_path_factory):
    import processing
    folder = tmp_path_factory.mktemp("malta_calibration")
    imd_path = shared_data / "hrl_malta" / "IMD_2018_010m_malta.tif"
    clc = f"{shared_data / 'clc_malta' / 'clc2018_malta.gpkg'}|layername=clc18_mt"
    imd = read(imd_path)
    land = imd != 255
    ndvi = simulated_ndvi_p0(imd, read(shared_data / "hrl_malta" / "TCD_2018_010m_malta.tif"),
                             read(shared_data / "hrl_malta" / "GRA_2018_010m_malta.tif"), land)
    pp = write_like(folder / "PP_2018_NDVI.tif", imd_path, ndvi, float("nan"), "NDVI_P0")
    # The vector path through Processing: CLC 2018 artificial surfaces as the sealed class.
    mask = processing.run("imperviousness:sealingmask", {
        "IMPERVIOUSNESS": str(imd_path), "CLCPLUS": clc, "SEALED_FIELD": "code_18", "SEALED_VALUES": "1*",
        "COMBINE": 0, "SEALED_SHARE": 90, "OUTPUT": str(folder / "IMD_MSK_2018_010m.tif")})["OUTPUT"]
    ibu = folder / "IBU_2018_standin.tif"
    run_sealing_mask(imd_path, clc, ibu, sealed_field="code_18", sealed_values="11*",
                     combine="intersection", sealed_share=90)
    calibration = run_calibrate(imd_path, mask, pp, ibu, folder / "IMD_calibration_2018.json")
    applied = folder / "IMD_2018_calibrated.tif"
    run_apply_calibration(imd_path, mask, pp, calibration, applied)
    return {"folder": folder, "imd_path": imd_path, "clc": clc, "imd": imd, "land": land, "ndvi": ndvi,
            "pp": pp, "mask_path": mask, "mask": read(mask), "ibu": ibu, "calibration": calibration,
            "applied": read(applied)}


def mean_absolute_error(malta, applied, where):
    return float(np.abs(applied[where].astype(np.int16) - malta["imd"][where]).mean())


def test_calibrated_2018_reproduces_imd_2018_inside_the_sealing_mask(malta):
    calibration, imd, applied, mask = malta["calibration"], malta["imd"], malta["applied"], malta["mask"]
    inside = mask == 1
    mae = mean_absolute_error(malta, applied, inside)
    bias = float((applied[inside].astype(np.int16) - imd[inside]).mean())
    impervious = malta["land"] & (imd >= 1)
    mae_all_impervious = mean_absolute_error(malta, applied, impervious)
    r, h, s = calibration.regression, calibration.high_density, calibration.rescaling
    print(f"\nMalta IMD 2018 calibrated on itself: MAE inside the sealing mask {mae:.2f} points over "
          f"{inside.sum()} pixels (bias {bias:+.3f}); MAE over all {impervious.sum()} impervious pixels "
          f"of IMD 2018 {mae_all_impervious:.2f} ({(impervious & ~inside).sum()} of them outside the mask).")
    print(f"Regression IMD = {r['intercept']:.2f} + ({r['slope']:.2f}) NDVI_P0: n = {r['samples']}, "
          f"R2 = {r['r_squared']:.3f}, residual SD = {r['residual_sd']:.2f}, SE(a) = {r['intercept_se']:.3f}, "
          f"SE(b) = {r['slope_se']:.3f}, NDVI {r['ndvi_min']:.3f}..{r['ndvi_max']:.3f}")
    print(f"High density: M = {h['maximum']:g} (P{h['percentile']:g} over {h['pixels']} pixels), "
          f"n_hd = {h['ndvi']:.4f}, f_hd = {h['regression_value']:.2f}; new minimum m = {s['new_minimum']:.3f} "
          f"after {s['iterations']} Brent iterations ({s['function_calls']} evaluations, converged "
          f"{s['converged']}); mean {s['achieved_mean']:.3f} vs {s['target_mean']:.3f}")
    assert mae < MAE_BOUND
    assert abs(bias) < 1.0
    assert (applied[malta["land"] & (mask == 0)] == 0).all()
    assert (applied[~malta["land"]] == 255).all()


def test_mean_density_of_impervious_pixels_is_kept(malta):
    imd, applied = malta["imd"], malta["applied"]
    impervious = (malta["mask"] == 1) & (imd >= 1)
    assert abs(applied[impervious].mean() - imd[impervious].mean()) < MEAN_TOLERANCE
    rescaling = malta["calibration"].rescaling
    assert rescaling["converged"] and abs(rescaling["residual"]) < 0.01


def test_regression_statistics_on_real_fractions(malta):
    calibration, mask, ndvi, imd = malta["calibration"], malta["mask"], malta["ndvi"], malta["imd"]
    rows, cols = np.indices(mask.shape)
    # Independent sampling from coordinates: the sampled pixel of each 60 m cell (cells on whole
    # multiples of 60 m in EPSG:3035) is the one whose upper-left corner is the cell centre.
    left, top = 4700000.0 + 10.0 * cols, 1460000.0 - 10.0 * rows
    samples = ((left - 30.0) % 60.0 == 0) & ((top - 30.0) % 60.0 == 0) & (mask == 1) & ~np.isnan(ndvi)
    slope, intercept = np.polyfit(ndvi[samples].astype(np.float64), imd[samples].astype(np.float64), 1)
    regression = calibration.regression
    assert regression["samples"] == int(samples.sum()) > 10000
    assert calibration.slope == pytest.approx(slope, rel=1e-6)
    assert calibration.intercept == pytest.approx(intercept, rel=1e-6)
    assert calibration.slope < 0 and 0.3 < regression["r_squared"] < 0.9
    assert calibration.high_density_max == 100


def test_vector_sealed_class_agrees_with_gdal_rasterize(malta, tmp_path):
    """Our 90 % share rule against GDAL's own centre-point rasterisation of the same polygons."""
    from scipy import ndimage
    source = gdal.Open(str(malta["imd_path"]))
    centre = gdal.GetDriverByName("MEM").Create("", source.RasterXSize, source.RasterYSize, 1, gdal.GDT_Byte)
    centre.SetGeoTransform(source.GetGeoTransform())
    centre.SetProjection(source.GetProjection())
    path, _, layer = malta["clc"].partition("|layername=")
    gdal.Rasterize(centre, path, layers=[layer], burnValues=[1], where="CODE_18 LIKE '1%'")
    sealed = centre.ReadAsArray() == 1
    outline = malta["land"] & (malta["imd"] >= 1)
    ours = malta["mask"] == 1
    interior = ndimage.binary_erosion(sealed, iterations=1) & outline
    near = ndimage.binary_dilation(sealed, iterations=1) & outline
    # Inside the polygons (a pixel whose four neighbours' centres are inside too) nearly every
    # pixel is >= 90 % covered; the few exceptions are notches of the CLC outlines (10 of ~330,000
    # when this test was written). Nothing is sealed away from the polygons.
    assert (~ours[interior]).sum() <= 1e-4 * interior.sum()
    assert not ours[outline & ~near].any()
    assert ours.sum() <= (sealed & outline).sum()


def test_intersection_beats_union_on_malta(malta, tmp_path):
    """With a coarse sealed class (CLC, 25 ha units) inside the mask the intersection fits better:
    a union lets CLC's generalised urban polygons (gardens, fields, open spaces) into the mask,
    where they get the calibration (ATBD 5: commission errors of the class are transferred)."""
    union = tmp_path / "union.tif"
    run_sealing_mask(malta["imd_path"], malta["clc"], union, sealed_field="code_18", sealed_values="1*",
                     combine="union", threshold=1, sealed_share=90)
    calibration = run_calibrate(malta["imd_path"], union, malta["pp"], malta["ibu"], tmp_path / "union.json")
    run_apply_calibration(malta["imd_path"], union, malta["pp"], calibration, tmp_path / "union_imd.tif")
    union_mask = read(union) == 1
    union_mae = mean_absolute_error(malta, read(tmp_path / "union_imd.tif"), union_mask)
    intersection_mae = mean_absolute_error(malta, malta["applied"], malta["mask"] == 1)
    print(f"\nMalta: MAE inside the mask, intersection {intersection_mae:.2f} ({(malta['mask'] == 1).sum()} px), "
          f"union {union_mae:.2f} ({union_mask.sum()} px); union regression R2 "
          f"{calibration.regression['r_squared']:.3f}, m = {calibration.new_minimum:.2f}")
    assert intersection_mae < union_mae


def test_atbd_union_default_on_malta(malta, tmp_path):
    """The default reading (SPEC 9: CLC sealed class OR IMD_2018 >= 90 %) with CLC 2018 as the
    sealed class: measured against IMD 2018 inside the mask and over all impervious pixels."""
    union = tmp_path / "atbd.tif"
    stats = run_sealing_mask(malta["imd_path"], malta["clc"], union, sealed_field="code_18", sealed_values="1*")
    mask = read(union) == 1
    assert stats["combine"] == "union" and stats["threshold"] == 90.0
    # By construction every pixel of IMD 2018 >= 90 % is in the mask, CLC or not.
    assert mask[malta["land"] & (malta["imd"] >= 90)].all()
    calibration = run_calibrate(malta["imd_path"], union, malta["pp"], malta["ibu"], tmp_path / "atbd.json")
    run_apply_calibration(malta["imd_path"], union, malta["pp"], calibration, tmp_path / "atbd_imd.tif")
    applied = read(tmp_path / "atbd_imd.tif")
    impervious = malta["land"] & (malta["imd"] >= 1)
    inside_mae = mean_absolute_error(malta, applied, mask)
    all_mae = mean_absolute_error(malta, applied, impervious)
    old_all = mean_absolute_error(malta, malta["applied"], impervious)
    print(f"\nMalta, default (union, share 50): mask {mask.sum()} px (intersection {(malta['mask'] == 1).sum()}), "
          f"MAE inside {inside_mae:.2f}, over all {impervious.sum()} impervious px {all_mae:.2f} "
          f"(intersection {old_all:.2f}), impervious px outside the mask {(impervious & ~mask).sum()}; "
          f"R2 {calibration.regression['r_squared']:.3f}, m = {calibration.new_minimum:.2f}")
    # The union keeps the dense pixels outside CLC's artificial surfaces the intersection set to 0.
    assert (impervious & ~mask).sum() < (impervious & (malta["mask"] != 1)).sum()
    assert abs(calibration.rescaling["residual"]) < 0.01
