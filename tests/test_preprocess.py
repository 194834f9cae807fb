"""imperviousness:preprocess end to end on generated Sentinel-2 L2A years (issue 2)."""

import dataclasses
import datetime
import os

import numpy as np
import pytest
from osgeo import gdal

from tools import sampledata
from imperviousness_plugin.core.errors import Cancelled, ImperviousnessError
from imperviousness_plugin.core.features.preprocess import (PreprocessOptions, parse_scl_weights,
                                                   pp_band_names, run_preprocess)
from imperviousness_plugin.core.io.raster import Grid
from rasters import epsg_wkt
from feedback import Feedback

YEAR = 2021




@pytest.fixture(scope="module")
def world():
    return sampledata.simulate_world(size=100, n_dates=10)


@pytest.fixture(scope="module")
def acquisitions(world):
    return sampledata.simulate_acquisitions(world, YEAR)


def write_year(root, acquisitions, layout):
    for acquisition in acquisitions:
        sampledata.write_acquisition(acquisition, str(root), layout)
    return str(root)


@pytest.fixture(scope="module")
def plain_year(acquisitions, tmp_path_factory):
    return write_year(tmp_path_factory.mktemp("plain"), acquisitions, "plain")


def read_pp(path):
    dataset = gdal.Open(str(path))
    return np.stack([dataset.GetRasterBand(i + 1).ReadAsArray() for i in range(dataset.RasterCount)])


def run(inputs, output, **options):
    run_preprocess(inputs, str(output), PreprocessOptions(**options))
    return read_pp(output)


def test_safe_zip_safe_folder_and_plain_folder_give_identical_pp(acquisitions, plain_year, tmp_path):
    safe = write_year(tmp_path / "safe", acquisitions, "safe")
    zipped = write_year(tmp_path / "zip", acquisitions, "safe_zip")
    assert all(name.endswith(".SAFE.zip") for name in os.listdir(zipped))
    reference = run(plain_year, tmp_path / "plain.tif")
    assert np.isfinite(reference[0]).mean() > 0.95
    for inputs in (safe, zipped):
        np.testing.assert_array_equal(run(inputs, tmp_path / "other.tif"), reference)
    # Zips are read in place: nothing was extracted next to them.
    assert all(name.endswith(".SAFE.zip") for name in os.listdir(zipped))


def test_baseline_04_offset_is_harmonised(world, tmp_path):
    old = sampledata.simulate_acquisitions(world, YEAR, baseline="03.00")
    new = sampledata.simulate_acquisitions(world, YEAR, baseline="04.00")
    # The same scene: every valid DN of the 04.00 product is 1000 higher.
    band_old, band_new = old[0].bands["B04"], new[0].bands["B04"]
    valid = band_old > 0
    np.testing.assert_array_equal(band_new[valid].astype(int) - band_old[valid], 1000)
    for layout in ("plain", "safe"):
        pp_old = run(write_year(tmp_path / f"old_{layout}", old, layout), tmp_path / "old.tif")
        pp_new = run(write_year(tmp_path / f"new_{layout}", new, layout), tmp_path / "new.tif")
        np.testing.assert_array_equal(pp_new, pp_old)


def test_default_grid_is_eea_3035_and_empty_crs_keeps_the_scene_grid(plain_year, tmp_path):
    run_preprocess(plain_year, str(tmp_path / "laea.tif"),
                   PreprocessOptions(target_crs_wkt=epsg_wkt(3035)))
    laea = Grid.of_dataset(gdal.Open(str(tmp_path / "laea.tif")))
    assert laea.same_crs(Grid(epsg_wkt(3035), laea.geotransform, 1, 1))
    assert laea.geotransform[0] % 10 == 0 and laea.geotransform[3] % 10 == 0
    run_preprocess(plain_year, str(tmp_path / "utm.tif"), PreprocessOptions())
    utm = Grid.of_dataset(gdal.Open(str(tmp_path / "utm.tif")))
    scene = Grid.of_dataset(gdal.Open(os.path.join(plain_year, sorted(os.listdir(plain_year))[0], "B02.tif")))
    assert utm.same_as(scene)


def test_extent_clips_the_output(plain_year, tmp_path):
    x0, y1 = sampledata.UTM_ORIGIN
    extent = (x0 + 100, y1 - 300, x0 + 400, y1 - 95)
    pp = run(plain_year, tmp_path / "clip.tif", extent=extent)
    grid = Grid.of_dataset(gdal.Open(str(tmp_path / "clip.tif")))
    assert grid.bounds == (x0 + 100, y1 - 300, x0 + 400, y1 - 90)
    full = run(plain_year, tmp_path / "full.tif")
    np.testing.assert_array_equal(pp, full[:, 9:30, 10:40])
    with pytest.raises(ImperviousnessError, match="extent does not overlap"):
        run(plain_year, tmp_path / "none.tif", extent=(0, 0, 10, 10))



@pytest.mark.parametrize("target", [None, 3035], ids=["scene grid", "reprojected"])
def test_grid_writes_the_clipped_stack_onto_a_larger_grid(plain_year, tmp_path, target):
    """GRID (the models' aligned IMD_A) takes the place of preprocess + aligngrid: the same pixels
    as the clipped run, at their place on the larger grid, NaN in every band around them."""
    x0, y1 = sampledata.UTM_ORIGIN
    crs = epsg_wkt(target) if target else None
    extent = (x0 + 100, y1 - 300, x0 + 400, y1 - 95)
    clipped = run(plain_year, tmp_path / "clip.tif", extent=extent, extent_crs_wkt=epsg_wkt(32633),
                  target_crs_wkt=crs)
    area = Grid.of_dataset(gdal.Open(str(tmp_path / "clip.tif")))
    # The larger grid: 5 pixels more on the left and top, 7 on the right and bottom.
    ax0, px, _, ay1, _, py = area.geotransform
    grid = Grid(area.crs_wkt, (ax0 - 5 * px, px, 0.0, ay1 - 5 * py, 0.0, py), area.width + 12, area.height + 12)
    padded = run(plain_year, tmp_path / "grid.tif", extent=extent, extent_crs_wkt=epsg_wkt(32633),
                 target_crs_wkt=crs, grid=grid)
    assert Grid.of_dataset(gdal.Open(str(tmp_path / "grid.tif"))).same_as(grid)
    np.testing.assert_array_equal(padded[:, 5:-7, 5:-7], clipped)
    around = np.ones(padded.shape[1:], bool)
    around[5:-7, 5:-7] = False
    assert np.isnan(padded[:, around]).all()
    far = Grid(area.crs_wkt, (0.0, px, 0.0, 1000.0, 0.0, py), 10, 10)
    with pytest.raises(ImperviousnessError, match="does not overlap"):
        run(plain_year, tmp_path / "far.tif", grid=far, target_crs_wkt=area.crs_wkt)

def test_output_is_deterministic(plain_year, tmp_path):
    run(plain_year, tmp_path / "a.tif")
    run(plain_year, tmp_path / "b.tif")
    assert (tmp_path / "a.tif").read_bytes() == (tmp_path / "b.tif").read_bytes()


def test_band_order_descriptions_and_nobs(plain_year, acquisitions, tmp_path):
    pp = run(plain_year, tmp_path / "pp.tif", harmonic_order=2)
    dataset = gdal.Open(str(tmp_path / "pp.tif"))
    names = pp_band_names(2)
    assert [dataset.GetRasterBand(i + 1).GetDescription() for i in range(len(names))] == names
    assert len(names) == 10 + 1 + 7 + 1
    assert dataset.GetRasterBand(1).DataType == gdal.GDT_Float32
    assert np.isnan(dataset.GetRasterBand(1).GetNoDataValue())
    # NOBS: observations whose SCL weight is positive (SCL at 20 m, nearest to 10 m).
    weights = np.array(sampledata_default_weights())
    expected = sum((weights[np.repeat(np.repeat(a.scl, 2, 0), 2, 1).clip(0, 15)] > 0)
                   for a in acquisitions)
    np.testing.assert_array_equal(pp[-1], expected)


def sampledata_default_weights():
    return parse_scl_weights("0,0,0,10,50,50,50,10,5,1,1,1") + (0.0,) * 4


def test_scl_weights_are_overridable(plain_year, tmp_path):
    only_vegetation = "0,0,0,0,1,0,0,0,0,0,0,0"
    pp = run(plain_year, tmp_path / "veg.tif", scl_weights=parse_scl_weights(only_vegetation))
    default = run(plain_year, tmp_path / "default.tif")
    assert (pp[-1] <= default[-1]).all() and (pp[-1] < default[-1]).any()
    # Pixels never seen as vegetation have no weighted observation at all: NaN features.
    never = pp[-1] == 0
    assert never.any() and np.isnan(pp[0][never]).all() and np.isnan(pp[11][never]).all()
    for bad in ("1,2,3", "a,b,c,d,e,f,g,h,i,j,k,l", "0,0,0,10,50,50,50,10,5,1,1,-1"):
        with pytest.raises(ImperviousnessError, match="12 non-negative|numbers"):
            parse_scl_weights(bad)


def test_pixel_without_valid_observation_is_nan(acquisitions, tmp_path):
    blinded = []
    for acquisition in acquisitions:
        scl = acquisition.scl.copy()
        scl[:5, :5] = 0  # no data over a 10 x 10 px corner on every date
        blinded.append(dataclasses.replace(acquisition, scl=scl))
    pp = run(write_year(tmp_path / "blind", blinded, "plain"), tmp_path / "pp.tif")
    assert np.isnan(pp[:-1, :10, :10]).all() and (pp[-1, :10, :10] == 0).all()
    assert np.isfinite(pp[:-1, 20:, 20:]).mean() > 0.95
    assert not np.isinf(pp).any()


def test_dates_outside_the_window(plain_year, tmp_path):
    with pytest.raises(ImperviousnessError, match="No acquisition between 2019-01-01 and 2019-12-31"):
        run(plain_year, tmp_path / "x.tif", start_date=datetime.date(2019, 1, 1),
            end_date=datetime.date(2019, 12, 31))
    assert not (tmp_path / "x.tif").exists()
    summary = run_preprocess(plain_year, str(tmp_path / "h1.tif"), PreprocessOptions(
        start_date=datetime.date(YEAR, 1, 1), end_date=datetime.date(YEAR, 6, 30)))
    assert 0 < summary["acquisitions"] < 10
    with pytest.raises(ImperviousnessError, match="after the end date"):
        run(plain_year, tmp_path / "x.tif", start_date=datetime.date(YEAR, 6, 1),
            end_date=datetime.date(YEAR, 1, 1))


def copy_year(acquisitions, root):
    return write_year(root, acquisitions, "plain")


def test_bad_inputs_give_clear_errors_and_no_output(acquisitions, tmp_path):
    output = tmp_path / "out" / "PP.tif"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImperviousnessError, match="No Sentinel-2 acquisition found"):
        run_preprocess(str(empty), str(output))
    with pytest.raises(ImperviousnessError, match="does not exist"):
        run_preprocess(str(tmp_path / "missing"), str(output))

    year = copy_year(acquisitions[:3], tmp_path / "no_b05")
    first = os.path.join(year, sorted(os.listdir(year))[0])
    os.remove(os.path.join(first, "B05.tif"))
    with pytest.raises(ImperviousnessError, match=r"has no B05"):
        run_preprocess(year, str(output))

    year = copy_year(acquisitions[:3], tmp_path / "no_scl")
    os.remove(os.path.join(year, sorted(os.listdir(year))[1], "SCL.tif"))
    with pytest.raises(ImperviousnessError, match=r"has no SCL"):
        run_preprocess(year, str(output))

    year = copy_year(acquisitions[:3], tmp_path / "corrupt")
    with open(os.path.join(year, sorted(os.listdir(year))[2], "B11.tif"), "wb") as stream:
        stream.write(b"II*\x00garbage that is not a TIFF at all")
    with pytest.raises(ImperviousnessError, match="B11.tif"):
        run_preprocess(year, str(output))

    other_crs = dataclasses.replace(acquisitions[3], crs_wkt=epsg_wkt(32634))
    year = copy_year(acquisitions[:3] + [other_crs], tmp_path / "mixed")
    with pytest.raises(ImperviousnessError, match="grids of the acquisitions differ"):
        run_preprocess(year, str(output))

    bad_zip = tmp_path / "badzip"
    bad_zip.mkdir()
    (bad_zip / "S2A_MSIL2A_20210314T100031_N0400_R122_T33SVB_20210314T120000.SAFE.zip").write_bytes(b"no zip")
    with pytest.raises(ImperviousnessError, match="not a readable zip"):
        run_preprocess(str(bad_zip), str(output))
    assert not output.parent.exists() or os.listdir(output.parent) == []




def test_cancellation_between_blocks_leaves_no_output(plain_year, tmp_path):
    feedback = Feedback(progress=2)
    with pytest.raises(Cancelled):
        run_preprocess(plain_year, str(tmp_path / "pp.tif"), PreprocessOptions(block_size=32), feedback)
    assert os.listdir(tmp_path) == [] and len(feedback.progress) == 2
    complete = Feedback()
    run_preprocess(plain_year, str(tmp_path / "pp.tif"), PreprocessOptions(block_size=32), complete)
    assert complete.progress[-1] == 100.0 and len(complete.progress) == 16


def test_preprocess_through_processing_run(provider, plain_year, tmp_path):
    import processing
    output = str(tmp_path / "PP_2021.tif")
    result = processing.run("imperviousness:preprocess", {
        "INPUT": plain_year, "START_DATE": f"{YEAR}-01-01", "END_DATE": f"{YEAR}-12-31",
        "TARGET_CRS": "EPSG:3035", "HARMONIC_ORDER": 3, "OUTPUT": output})
    assert result["OUTPUT"] == output
    dataset = gdal.Open(output)
    assert dataset.RasterCount == len(pp_band_names(3))
    assert Grid.of_dataset(dataset).srs.GetAuthorityCode(None) == "3035"
    core = tmp_path / "core.tif"
    run_preprocess(plain_year, str(core), PreprocessOptions(target_crs_wkt=epsg_wkt(3035)))
    np.testing.assert_array_equal(read_pp(output), read_pp(core))


def test_preprocess_reports_a_clear_processing_error(provider, tmp_path):
    import processing
    from qgis.core import QgsProcessingException
    (tmp_path / "empty").mkdir()
    with pytest.raises(QgsProcessingException, match="No Sentinel-2 acquisition found"):
        processing.run("imperviousness:preprocess", {
            "INPUT": str(tmp_path / "empty"), "OUTPUT": str(tmp_path / "pp.tif")})


def test_preprocess_through_qgis_process(qgis_process, plain_year, tmp_path):
    listing = qgis_process("list").stdout
    assert "imperviousness:preprocess" in listing
    output = tmp_path / "PP_2021_qgis_process.tif"
    qgis_process("run", "imperviousness:preprocess", "--", f"INPUT={plain_year}",
                 f"START_DATE={YEAR}-01-01", f"END_DATE={YEAR}-12-31", "TARGET_CRS=EPSG:3035",
                 f"OUTPUT={output}")
    core = tmp_path / "core.tif"
    run_preprocess(plain_year, str(core), PreprocessOptions(target_crs_wkt=epsg_wkt(3035)))
    np.testing.assert_array_equal(read_pp(output), read_pp(core))
    failed = qgis_process("run", "imperviousness:preprocess", "--", f"INPUT={tmp_path}",
                          f"OUTPUT={tmp_path / 'bad.tif'}", check=False)
    assert failed.returncode != 0
    assert "No Sentinel-2 acquisition found" in failed.stdout + failed.stderr
    assert not (tmp_path / "bad.tif").exists()


def listing(folder):
    """Every file and folder under `folder`, relative, sorted (hidden ones included)."""
    return sorted(os.path.relpath(os.path.join(root, name), folder)
                  for root, folders, files in os.walk(folder) for name in folders + files)


def test_absurd_pixel_size_is_refused_before_any_work(plain_year, tmp_path):
    # The sample scene is 100 x 100 px of 10 m: 1 km, so 0.001 m pixels make 1e6 x 1e6 px.
    before = listing(plain_year)
    with pytest.raises(ImperviousnessError) as error:
        run_preprocess(plain_year, str(tmp_path / "out" / "PP.tif"), PreprocessOptions(pixel_size=0.001))
    assert "1000000 x 1000000 = 1e+12 pixels at a pixel size of 0.001" in str(error.value)
    assert "over the limit of 4e+09 pixels" in str(error.value)
    assert listing(tmp_path) == [] and listing(plain_year) == before


def test_absurd_pixel_size_through_qgis_process(qgis_process, plain_year, tmp_path):
    before = listing(plain_year)
    output = tmp_path / "out" / "PP.tif"
    failed = qgis_process("run", "imperviousness:preprocess", "--", f"INPUT={plain_year}",
                          "TARGET_CRS=EPSG:3035", "PIXEL_SIZE=0.001", f"OUTPUT={output}", check=False)
    assert failed.returncode != 0
    text = failed.stdout + failed.stderr
    assert "pixels at a pixel size of 0.001, over the limit of 4e+09 pixels" in text
    assert "Traceback" not in text
    assert listing(tmp_path) == [] and listing(plain_year) == before
