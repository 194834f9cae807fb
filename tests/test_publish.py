"""imperviousness:publish core: HRL names, byte copies, styles and report statistics vs numpy."""

import json

import numpy as np
import pytest
from osgeo import gdal

from imperviousness_plugin.core.products.publish import hrl_name, publish
from imperviousness_plugin.core.io.raster import Grid, RasterWriter, Window

CRS = 'PROJCS["ETRS89-extended / LAEA Europe",GEOGCS["ETRS89",DATUM["ETRS89",SPHEROID["GRS 1980",6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Lambert_Azimuthal_Equal_Area"],PARAMETER["latitude_of_center",52],PARAMETER["longitude_of_center",10],PARAMETER["false_easting",4321000],PARAMETER["false_northing",3210000],UNIT["metre",1],AUTHORITY["EPSG","3035"]]'


def write(path, array, pixel):
    grid = Grid(CRS, (4000000.0, pixel, 0.0, 3000000.0, 0.0, -pixel), array.shape[1], array.shape[0])
    with RasterWriter(path, grid, 1, np.uint8, 255, ["band"]) as writer:
        writer.write(Window(0, 0, array.shape[1], array.shape[0]), array)
    return str(path)


@pytest.fixture
def layers(tmp_path):
    rng = np.random.default_rng(7)
    imd_a = rng.integers(0, 101, (40, 30)).astype(np.uint8)
    imd_a[:5] = 0
    imd_a[0, :3] = 255
    imd_b = rng.integers(0, 101, (40, 30)).astype(np.uint8)
    imd_b[-2:, -4:] = 255
    ibu_b = (rng.random((40, 30)) > 0.7).astype(np.uint8)
    ibu_b[3, 3] = 255
    imcc = rng.choice(np.array([0, 1, 2, 10, 11, 12, 255], dtype=np.uint8), (20, 15))
    arrays = {"IMD_A": imd_a, "IMD_B": imd_b, "IBU_B": ibu_b, "IMCC_20": imcc}
    paths = {name: write(tmp_path / f"{name}.tif", array, 20 if name == "IMCC_20" else 10)
             for name, array in arrays.items()}
    return arrays, paths


def test_hrl_names():
    assert hrl_name("IMCC_20", 2018, 2021) == "IMCC_1821_020m.tif"
    assert hrl_name("IMD_B", 2018, 2021) == "IMD_2021_010m.tif"
    assert hrl_name("SBU_B", 2018, 2021) == "SBU_2021_100m.tif"
    assert hrl_name("CALIBRATION", 2018, 2021) == "IMD_calibration_2018.json"


def test_publish_copies_styles_and_reports_statistics(tmp_path, layers):
    arrays, paths = layers
    out = tmp_path / "out"
    result = publish({k: paths[k] for k in ("IMD_B", "IBU_B", "IMCC_20")}, str(out), 2018, 2021,
                     reference={"IMD_A": paths["IMD_A"]}, parameters={"X": "1"})
    for product in ("IMD_B", "IBU_B", "IMCC_20"):
        target = out / hrl_name(product, 2018, 2021)
        copy = gdal.Open(str(target))
        assert np.array_equal(copy.ReadAsArray(), arrays[product])
        assert copy.GetRasterBand(1).GetNoDataValue() == 255
        assert target.with_suffix(".qml").is_file()
    stats = json.loads((out / "report.json").read_text())["statistics"]
    for year, name in (("2018", "IMD_A"), ("2021", "IMD_B")):
        imd = arrays[name]
        valid = imd[imd <= 100].astype(float)
        s = stats["status"][year]
        assert s["impervious_ha"] == pytest.approx((valid > 0).sum() * 100 / 1e4)
        assert s["sealed_ha"] == pytest.approx(valid.sum() / 100 * 100 / 1e4)
        assert s["mean_density_all"] == pytest.approx(valid.mean())
        assert s["mean_density_impervious"] == pytest.approx(valid[valid > 0].mean())
    ibu = arrays["IBU_B"]
    assert stats["builtup"]["2021"]["builtup_share"] == pytest.approx(
        (ibu == 1).sum() / (ibu <= 1).sum())
    for code in (0, 1, 2, 10, 11, 12):
        assert stats["change_classes"]["IMCC_20"][str(code)] == pytest.approx(
            (arrays["IMCC_20"] == code).sum() * 400 / 1e4)
    html = (out / "report.html").read_text()
    assert "figures/IMD_2021_010m.png" in html and result["report"] == str(out / "report.html")
    png = gdal.Open(str(out / "figures" / "IMD_2021_010m.png"))
    assert (png.RasterXSize, png.RasterYSize, png.RasterCount) == (30, 40, 3)
    # value 100 of the official IMD palette is (113, 12, 2); nodata is drawn white
    rgb = png.ReadAsArray()
    row, col = np.argwhere(arrays["IMD_B"] == 100)[0]
    assert tuple(rgb[:, row, col]) == (113, 12, 2)
    assert tuple(rgb[:, 39, 29]) == (255, 255, 255)


def test_a_failure_after_some_outputs_leaves_none_of_them(provider, layers, tmp_path):
    """publish copies the products, then finds the calibration file missing: the algorithm's
    error leaves none of the products it had already completed (base.run_core)."""
    import processing
    from qgis.core import QgsProcessingException

    _, paths = layers
    output = tmp_path / "published"
    with pytest.raises(QgsProcessingException, match="does not exist"):
        processing.run("imperviousness:publish", {
            "IMD_B": paths["IMD_B"], "IBU_B": paths["IBU_B"], "YEAR_A": 2018, "YEAR_B": 2021,
            "CALIBRATION": str(tmp_path / "missing.json"), "OUTPUT_FOLDER": str(output),
            "DELIVERY": False})
    assert sorted(path.name for path in output.rglob("*") if path.is_file()) == []


def test_the_analysis_ibuc_keeps_table_5_and_the_report_says_how_it_is_delivered(tmp_path, layers):
    arrays, paths = layers
    out = tmp_path / "out"
    publish({"IBUC_20": paths["IMCC_20"], "IMCC_20": paths["IMCC_20"]}, str(out), 2018, 2021)
    ibuc = gdal.Open(str(out / hrl_name("IBUC_20", 2018, 2021))).ReadAsArray()
    np.testing.assert_array_equal(ibuc, arrays["IMCC_20"])          # 11 and 12 kept here
    assert {11, 12} <= set(np.unique(ibuc).tolist())
    html = (out / "report.html").read_text()
    assert "The EEA delivery&#x27;s IBUC has only the classes every EEA IBUC definition allows, 0, 1, 2 and " \
           "10: 11 and 12 are delivered as 10 (unchanged built-up)." in html
    publish({"IMCC_20": paths["IMCC_20"]}, str(tmp_path / "imcc"), 2018, 2021)
    assert "IBUC" not in (tmp_path / "imcc" / "report.html").read_text().split("Change classes")[1].split("<h2>")[0]
