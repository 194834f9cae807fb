"""The official EEA delivery (SPEC 11) on synthetic products that straddle four EEA 100 km tiles.

Every delivered file is checked against the requirements of the EEA QC tool's product
definitions, written out here by hand from them (names, EPSG, pixel size, 1 km origin, Byte,
LZW, blocks, attribute table, colour entries, valid values) and against numpy: the pixels are the
analysis product's, the attribute table's counts are numpy's. tests/qc_tool.py runs the QC tool's
own checks on the delivery of the end-to-end model run when a copy of its repository exists.
"""

import os
import pathlib
import re
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from osgeo import gdal, osr

from feedback import Feedback
from imperviousness_plugin.core.errors import Cancelled, ImperviousnessError
from imperviousness_plugin.core.io.raster import Grid, Window
from imperviousness_plugin.core.products import styles
from imperviousness_plugin.core.products.delivery import delivery_tiles
from imperviousness_plugin.core.products.publish import publish
import delivery_checks
from delivery_checks import check_delivered_tile
from rasters import epsg_wkt, write_raster

ROOT = pathlib.Path(__file__).resolve().parents[1]

YEAR_A, YEAR_B = 2018, 2021
# Upper-left corner 270 m west and 260 m north of the corner of tiles e47/e48, n13/n14.
X0, Y0 = 4799730.0, 1400260.0


def write(path, array, pixel, x0=X0, y0=Y0, crs=3035):
    return write_raster(path, array, nodata=255, origin=(x0, y0), pixel=pixel, crs_wkt=epsg_wkt(crs))


def synthetic_products(folder):
    """{publish parameter: (path, array)} of the ten official sources, on the EEA grid."""
    rng = np.random.default_rng(12)
    # 10 m: 600 x 500 m; 20 m: same extent; 100 m: 1 km x 1 km from a 100 m-aligned corner
    shapes = {10: (50, 60), 20: (25, 30), 100: (10, 10)}
    corners = {10: (X0, Y0), 20: (X0 - 10, Y0 + 20), 100: (4799500.0, 1400500.0)}
    values = {"IMD_B": (np.arange(101), 10), "IMD_B_100": (np.arange(101), 100),
              "IBU_B": ((0, 1), 10), "SBU_B": (np.arange(101), 100),
              "IMDC_20": (np.arange(202), 20), "IMDC_100": (np.arange(202), 100),
              "IMCC_20": ((0, 1, 2, 10, 11, 12), 20), "IBUC_20": ((0, 1, 2, 10, 11, 12), 20),
              "SBUC_100": (np.arange(202), 100), "SBCC_100": ((0, 1, 2, 10, 11, 12), 100)}
    products = {}
    for name, (choices, pixel) in values.items():
        array = rng.choice(np.asarray(choices, dtype=np.uint8), shapes[pixel])
        array[0, :3] = 255                       # some nodata inside the product
        products[name] = (write(folder / f"{name}.tif", array, pixel, *corners[pixel]), array)
    return products


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    root = tmp_path_factory.mktemp("delivery")
    products = synthetic_products(root)
    runs = []
    for run in ("one", "two"):
        result = publish({name: path for name, (path, _) in products.items()}, str(root / run),
                         YEAR_A, YEAR_B, report=False, delivery_folder=str(root / run / "delivery"),
                         parameters={"IMD_A": products["IMD_B"][0], "OUTPUT_FOLDER": str(root / run)},
                         models={"IMD": [str(root / "somewhere" / "m1.onnx")]})
        runs.append(result)
    return root, products, runs


def test_tiles_are_cut_on_the_1km_grid_by_hand():
    # x 4799730..4800330, y 1399760..1400260
    grid = Grid(epsg_wkt(3035), (X0, 10.0, 0.0, Y0, 0.0, -10.0), 60, 50)
    assert delivery_tiles(grid) == [
        # north-west: x 4799000..4800000 (col -73), y 1400000..1401000 (row -74)
        ("e47n14", Window(-73, -74, 100, 100)),
        # north-east: x 4800000..4801000 (col 27)
        ("e48n14", Window(27, -74, 100, 100)),
        # south: y 1399000..1400000 (row 26)
        ("e47n13", Window(-73, 26, 100, 100)),
        ("e48n13", Window(27, 26, 100, 100)),
    ]
    inside = Grid(epsg_wkt(3035), (4728890.0, 10.0, 0.0, 1442510.0, 0.0, -10.0), 149, 145)  # the sample
    assert delivery_tiles(inside) == [("e47n14", Window(-89, -49, 300, 200))]


EXPECTED_STEMS = {
    "IMD_B": "clms_hrlnvlcc_imd_s2021_r10m_{}_03035_v01_r00",
    "IMD_B_100": "clms_hrlnvlcc_imd_s2021_r100m_{}_03035_v01_r00",
    "IBU_B": "clms_hrlnvlcc_ibu_s2021_r10m_{}_03035_v01_r00",
    "SBU_B": "clms_hrlnvlcc_sbu_s2021_r100m_{}_03035_v01_r00",
    "IMDC_20": "clms_hrlnvlcc_imdc_c2018-2021_r20m_{}_03035_v01_r00",
    "IMDC_100": "clms_hrlnvlcc_imdc_c2018-2021_r100m_{}_03035_v01_r00",
    "IMCC_20": "clms_hrlnvlcc_imcc_c2018-2021_r20m_{}_03035_v01_r00",
    "IBUC_20": "clms_hrlnvlcc_ibuc_c2018-2021_r20m_{}_03035_v01_r00",
    "SBUC_100": "clms_hrlnvlcc_sbuc_c2018-2021_r100m_{}_03035_v01_r00",
    "SBCC_100": "clms_hrlnvlcc_sbcc_c2018-2021_r100m_{}_03035_v01_r00",
}
TILES = ("e47n14", "e48n14", "e47n13", "e48n13")


def test_one_zip_per_product_and_tile_with_the_official_names(delivered):
    root, _, runs = delivered
    expected = {stem.format(tile) + ".zip" for stem in EXPECTED_STEMS.values() for tile in TILES}
    assert {os.path.basename(path) for path in runs[0]["delivery"]} == expected
    assert {name for name in os.listdir(root / "one" / "delivery") if name.endswith(".zip")} == expected
    for path in runs[0]["delivery"]:
        stem = os.path.basename(path)[:-4]
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            assert names == sorted(stem + ext for ext in (".qml", ".tif", ".tif.aux.xml",
                                                           ".tif.vat.dbf", ".xml"))
            assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
            for name in names:   # the zip holds exactly the loose files
                assert archive.read(name) == (root / "one" / "delivery" / stem / name).read_bytes()


def test_every_delivered_tile_meets_the_definitions_and_holds_the_analysis_pixels(delivered):
    root, products, _ = delivered
    for name, (path, array) in products.items():
        analysis = gdal.Open(path)
        transform = analysis.GetGeoTransform()
        pixel = transform[1]
        covered = np.zeros(array.shape, dtype=int)
        for tile in TILES:
            stem = EXPECTED_STEMS[name].format(tile)
            tif = root / "one" / "delivery" / stem / (stem + ".tif")
            data = check_delivered_tile(tif)
            # the same pixels as the analysis product where it covers the tile, 255 elsewhere
            origin = gdal.Open(str(tif)).GetGeoTransform()
            col0 = round((origin[0] - transform[0]) / pixel)
            row0 = round((transform[3] - origin[3]) / pixel)
            expected = np.full(data.shape, 255, dtype=np.uint8)
            if name == "IBUC_20":   # the EEA's IBUC: ATBD Table 5's 11 and 12 delivered as 10
                array = np.where((array == 11) | (array == 12), 10, array).astype(np.uint8)
            rows = slice(max(row0, 0), min(row0 + data.shape[0], array.shape[0]))
            cols = slice(max(col0, 0), min(col0 + data.shape[1], array.shape[1]))
            inside = (slice(rows.start - row0, rows.stop - row0), slice(cols.start - col0, cols.stop - col0))
            expected[inside] = array[rows, cols]
            covered[rows, cols] += 1
            np.testing.assert_array_equal(data, expected, err_msg=stem)
        assert (covered == 1).all(), name      # every analysis pixel delivered exactly once


def test_delivered_ibuc_has_the_eea_classes_and_imcc_sbcc_keep_11_and_12(delivered):
    root, products, _ = delivered
    assert {11, 12} <= set(np.unique(products["IBUC_20"][1]).tolist())   # the analysis IBUC has them
    for name, expected in (("IBUC_20", {0, 1, 2, 10, 255}), ("IMCC_20", {0, 1, 2, 10, 11, 12, 255}),
                           ("SBCC_100", {0, 1, 2, 10, 11, 12, 255})):
        values, classes = set(), {}
        for tile in TILES:
            stem = EXPECTED_STEMS[name].format(tile)
            dataset = gdal.Open(str(root / "one" / "delivery" / stem / (stem + ".tif")))
            band = dataset.GetRasterBand(1)
            values |= set(np.unique(band.ReadAsArray()).tolist())
            rat = band.GetDefaultRAT()
            classes.update({rat.GetValueAsInt(row, 0): rat.GetValueAsString(row, 4)
                            for row in range(rat.GetRowCount())})
            qml = (root / "one" / "delivery" / stem / (stem + ".qml")).read_text()
            assert ('value="11"' in qml) == (name != "IBUC_20"), stem
        assert values == expected, name
    assert classes[10].startswith("unchanged")
    readme = (root / "one" / "delivery" / "README.txt").read_text()
    assert "11 (increase) and 12 (decrease of built-up density) are delivered as 10" in readme
    assert "clms_hrlnvlcc_ibuc_c1821_r20m: 4 tile(s), from IBUC_1821_020m.tif" in readme


def test_metadata_names_the_tool_its_version_and_the_inputs(delivered):
    root, _, _ = delivered
    version = re.search(r"^version=(.+)$", (ROOT / "metadata.txt").read_text(), re.M).group(1)
    stem = EXPECTED_STEMS["IMCC_20"].format("e48n13")
    text = (root / "one" / "delivery" / stem / (stem + ".xml")).read_text(encoding="utf-8")
    ns = {"gmd": "http://www.isotc211.org/2005/gmd", "gco": "http://www.isotc211.org/2005/gco",
          "gml": "http://www.opengis.net/gml/3.2"}
    document = ET.fromstring(text.encode("utf-8"))
    assert document.tag == "{http://www.isotc211.org/2005/gmd}MD_Metadata"

    def text_of(path):
        return document.find(path, ns).text

    citation = "gmd:identificationInfo/gmd:MD_DataIdentification/gmd:citation/gmd:CI_Citation/"
    assert text_of(citation + "gmd:title/gco:CharacterString") == \
        "HRL Imperviousness Change Classification 2018-2021 (20 m), EEA tile e48n13"
    assert text_of(citation + "gmd:identifier/gmd:MD_Identifier/gmd:code/gco:CharacterString") == stem
    assert text_of("gmd:referenceSystemInfo/gmd:MD_ReferenceSystem/gmd:referenceSystemIdentifier/"
                   "gmd:RS_Identifier/gmd:code/gco:CharacterString").endswith("/EPSG/0/3035")
    period = document.find(".//gml:TimePeriod", ns)
    assert [child.text for child in period] == ["2018-01-01", "2021-12-31"]
    box = document.find(".//gmd:EX_GeographicBoundingBox", ns)
    west, east, south, north = (float(child.find("gco:Decimal", ns).text) for child in box)
    # the tile x 4800000..4801000, y 1399000..1400000 in degrees, independently through osr
    transform = osr.CoordinateTransformation(_srs(3035), _srs(4326))
    corners = [transform.TransformPoint(x, y)[:2]
               for x in (4800000, 4801000) for y in (1399000, 1400000)]
    assert west == pytest.approx(min(c[0] for c in corners), abs=1e-5)
    assert east == pytest.approx(max(c[0] for c in corners), abs=1e-5)
    assert south == pytest.approx(min(c[1] for c in corners), abs=1e-4)
    assert north == pytest.approx(max(c[1] for c in corners), abs=1e-4)
    lineage = text_of("gmd:dataQualityInfo/gmd:DQ_DataQuality/gmd:lineage/gmd:LI_Lineage/"
                      "gmd:statement/gco:CharacterString")
    assert f"version {version}" in lineage and "imperviousness_plugin" in lineage
    assert "IMCC_1821_020m.tif" in lineage and "IMD_A: IMD_B.tif" in lineage
    assert "MODELS_IMD: m1.onnx" in lineage
    assert str(root) not in text and "/tmp" not in text     # file names only


def _srs(code):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(code)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def test_two_runs_give_byte_identical_deliveries(delivered):
    root, _, runs = delivered
    first, second = root / "one" / "delivery", root / "two" / "delivery"
    files = sorted(path.relative_to(first) for path in first.rglob("*") if path.is_file())
    assert files == sorted(path.relative_to(second) for path in second.rglob("*") if path.is_file())
    assert len(files) == 10 * 4 * 6 + 1    # and README.txt
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative
    # nothing but the delivery: no temporary or partial file left behind
    assert not [path for path in first.rglob("*") if path.name.startswith(".")]


def test_delivery_refuses_grids_it_cannot_cut(tmp_path):
    array = np.zeros((20, 20), dtype=np.uint8)
    cases = {
        "utm": (write(tmp_path / "utm.tif", array, 10, 453000.0, 3977000.0, crs=32633), "EPSG:3035"),
        "pixel": (write(tmp_path / "pixel.tif", array, 20, 4728880.0, 1442520.0), "10 m pixels"),
        "origin": (write(tmp_path / "origin.tif", array, 10, 4728885.0, 1442510.0), "not on whole multiples"),
    }
    for case, (path, message) in cases.items():
        output = tmp_path / f"out_{case}"
        with pytest.raises(ImperviousnessError, match=message) as error:
            publish({"IMD_B": path}, str(output), YEAR_A, YEAR_B, report=False,
                    delivery_folder=str(output / "delivery"))
        assert "DELIVERY" in str(error.value) and f"{case}.tif" in str(error.value)
        assert not output.exists(), case                 # refused before anything is written


def test_no_delivery_folder_means_no_delivery(tmp_path):
    path = write(tmp_path / "imd.tif", np.zeros((20, 20), dtype=np.uint8), 10, 4728890.0, 1442510.0)
    result = publish({"IMD_B": path}, str(tmp_path / "out"), YEAR_A, YEAR_B, report=False)
    assert result["delivery"] == [] and not (tmp_path / "out" / "delivery").exists()


def test_publish_algorithm_writes_the_delivery_by_default(provider, tmp_path):
    import processing
    path = write(tmp_path / "imd.tif", np.full((20, 20), 40, dtype=np.uint8), 10, 4728890.0, 1442510.0)
    result = processing.run("imperviousness:publish", {
        "IMD_B": path, "YEAR_A": 2018, "YEAR_B": 2021, "OUTPUT_FOLDER": str(tmp_path / "out"),
        "DELIVERY_VERSION": 2, "DELIVERY_RELEASE": 3})
    assert result["DELIVERY_FOLDER"] == str(tmp_path / "out" / "delivery")
    assert sorted(os.listdir(tmp_path / "out" / "delivery")) == [
        "README.txt", "clms_hrlnvlcc_imd_s2021_r10m_e47n14_03035_v02_r03",
        "clms_hrlnvlcc_imd_s2021_r10m_e47n14_03035_v02_r03.zip"]
    processing.run("imperviousness:publish", {
        "IMD_B": path, "YEAR_A": 2018, "YEAR_B": 2021, "OUTPUT_FOLDER": str(tmp_path / "off"),
        "DELIVERY": False})
    assert not (tmp_path / "off" / "delivery").exists()


@pytest.mark.parametrize("kind, colours, ramp", [
    ("imd", delivery_checks.IMD_COLOURS, True), ("sbu", delivery_checks.SBU_COLOURS, True),
    ("ibu", delivery_checks.IBU_COLOURS, False), ("change", delivery_checks.CHANGE_COLOURS, True),
    ("change_class", delivery_checks.CLASS_COLOURS, False)])
def test_analysis_products_and_their_styles_use_the_official_palettes(kind, colours, ramp):
    table = styles.color_table(kind)
    qml = {int(value): colour for value, colour in
           re.findall(r'value="(\d+)" color="#([0-9a-f]{6})"', styles.render_qml(kind))}
    anchors = sorted(value for value in colours if value != 255)
    for value in anchors:
        assert table[value][:3] == colours[value], (kind, value)
        assert qml[value] == "%02x%02x%02x" % colours[value], (kind, value)
    assert table[255][:3] == colours[255]
    # between two listed colours a continuous legend ramps: each channel between the anchors'
    for low, high in zip(anchors, anchors[1:]) if ramp else ():
        for value in range(low + 1, high):
            for channel in range(3):
                bounds = sorted((colours[low][channel], colours[high][channel]))
                assert bounds[0] <= table[value][channel] <= bounds[1], (kind, value)


def test_cancelling_between_tiles_leaves_only_complete_files(tmp_path):
    path = write(tmp_path / "imd.tif", np.zeros((50, 60), dtype=np.uint8), 10)   # four tiles
    output = tmp_path / "out"
    # publish checks for cancellation once for the copy; the delivery once per tile: stop after
    # the first tile is written
    with pytest.raises(Cancelled):
        publish({"IMD_B": path}, str(output), YEAR_A, YEAR_B, report=False,
                delivery_folder=str(output / "delivery"), feedback=Feedback(checks=2))
    names = sorted(os.listdir(output / "delivery"))
    assert names == ["clms_hrlnvlcc_imd_s2021_r10m_e47n14_03035_v01_r00",
                     "clms_hrlnvlcc_imd_s2021_r10m_e47n14_03035_v01_r00.zip"]
    assert not [p for p in (output / "delivery").rglob("*") if p.name.startswith(".")]


# -- issue 24: deliveries that say what they hold ------------------------------------------------

@pytest.mark.parametrize("name, value", [
    ("DELIVERY_VERSION", "../x"), ("DELIVERY_VERSION", "abc"), ("DELIVERY_VERSION", "0"),
    ("DELIVERY_VERSION", "100"), ("DELIVERY_VERSION", "1.5"), ("DELIVERY_RELEASE", "../x"),
    ("DELIVERY_RELEASE", "-1")])
def test_delivery_version_and_release_accept_only_whole_numbers(provider, tmp_path, name, value):
    # Before: parameterAsInt turned '../x' and 'abc' into the default, v01, without a word.
    import processing
    from qgis.core import QgsProcessingException
    path = write(tmp_path / "imd.tif", np.full((20, 20), 40, dtype=np.uint8), 10, 4728890.0, 1442510.0)
    # QGIS itself refuses numbers out of range ('Incorrect parameter value for ...'), the
    # algorithm the rest ('... must be a whole number from 1 to 99 ...')
    with pytest.raises(QgsProcessingException, match=name):
        processing.run("imperviousness:publish", {
            "IMD_B": path, "YEAR_A": 2018, "YEAR_B": 2021, "OUTPUT_FOLDER": str(tmp_path / "out"),
            name: value})
    assert not (tmp_path / "out").exists()   # refused before anything is written


def test_publishing_into_an_earlier_delivery_replaces_it_or_refuses(tmp_path):
    """Before: the new zips were written beside the old ones (e48n14 v01 beside e47n14 v02)."""
    four = write(tmp_path / "four.tif", np.full((50, 60), 30, dtype=np.uint8), 10)   # 4 tiles
    one = write(tmp_path / "one.tif", np.full((20, 20), 40, dtype=np.uint8), 10, 4728890.0, 1442510.0)
    sbu = write(tmp_path / "sbu.tif", np.full((10, 10), 5, dtype=np.uint8), 100, 4799500.0, 1400500.0)
    folder = tmp_path / "delivery"

    def deliver(layers, version=(1, 0)):
        return publish(layers, str(tmp_path / "out"), YEAR_A, YEAR_B, report=False,
                       delivery_folder=str(folder), delivery_version=version)

    def zips():
        return sorted(path.name for path in folder.glob("*.zip"))

    deliver({"IMD_B": four, "SBU_B": sbu})
    first = zips()
    assert len(first) == 8 and all("_v01_r00" in name for name in first)
    # another version of the same tiles: refused, nothing changed
    with pytest.raises(ImperviousnessError, match="earlier delivery of version 01; this one has 02"):
        deliver({"IMD_B": four, "SBU_B": sbu}, (2, 0))
    # other tiles (e47n14 only) of the same version: refused
    with pytest.raises(ImperviousnessError, match="earlier delivery of tiles e47n13, e47n14, e48n13, e48n14; "
                                                  "this one has e47n14"):
        deliver({"IMD_B": one})
    # other years: refused
    with pytest.raises(ImperviousnessError, match="other years"):
        publish({"IMD_B": four}, str(tmp_path / "out"), 2021, 2024, report=False,
                delivery_folder=str(folder))
    assert zips() == first
    # the same version and tiles: replaced, the SBU tiles of the earlier delivery removed
    deliver({"IMD_B": four})
    assert zips() == [name for name in first if "_imd_" in name]
    assert sorted(path.name for path in folder.iterdir() if path.is_dir()) == [name[:-4] for name in zips()]
    assert "sbu" not in (folder / "README.txt").read_text()


def test_version_numbers_are_refused_by_name():
    from imperviousness_plugin.core.products.delivery import version_number
    assert version_number("7", "DELIVERY_VERSION", 1) == 7 and version_number(None, "DELIVERY_RELEASE", 0) == 0
    assert version_number(3.0, "DELIVERY_RELEASE", 0) == 3 and version_number(99, "DELIVERY_VERSION", 1) == 99
    for value in ("../x", "abc", "0", "100", 1.5, "1e1"):
        with pytest.raises(ImperviousnessError, match=r"DELIVERY_VERSION must be a whole number from 1 to 99 .*not"):
            version_number(value, "DELIVERY_VERSION", 1)


# -- issue 22: the names of each generation --------------------------------------------------------

GENERATION_STEMS = {   # by hand from the QC tool's definitions at 9a546f8f (2024) and SPEC 11
    (2021, 2024): ["clms_nvlcc_imd_s2024_r10m", "clms_nvlcc_imd_s2024_r100m", "clms_nvlcc_ibu_s2024_r10m",
                   "clms_nvlcc_sbu_s2024_r100m", "clms_nvlcc_imdc_c2021-2024_r20m",
                   "clms_nvlcc_imdc_c2021-2024_r100m", "clms_nvlcc_imcc_c2021-2024_r20m",
                   "clms_nvlcc_ibuc_c2021-2024_r20m", "clms_nvlcc_sbuc_c2021-2024_r100m",
                   "clms_nvlcc_sbcc_c2021-2024_r100m"],
    (2019, 2022): ["clms_nvlcc_imd_s2022_r10m", "clms_nvlcc_imd_s2022_r100m", "clms_nvlcc_ibu_s2022_r10m",
                   "clms_nvlcc_sbu_s2022_r100m", "clms_nvlcc_imdc_c2019-2022_r20m",
                   "clms_nvlcc_imdc_c2019-2022_r100m", "clms_nvlcc_imcc_c2019-2022_r20m",
                   "clms_nvlcc_ibuc_c2019-2022_r20m", "clms_nvlcc_sbuc_c2019-2022_r100m",
                   "clms_nvlcc_sbcc_c2019-2022_r100m"],
}


@pytest.mark.parametrize("years", sorted(GENERATION_STEMS))
def test_delivery_names_follow_the_generation_of_the_years(tmp_path, years):
    products = synthetic_products(tmp_path)
    result = publish({name: path for name, (path, _) in products.items()}, str(tmp_path / "out"), *years,
                     report=False, delivery_folder=str(tmp_path / "out" / "delivery"))
    expected = {f"{stem}_{tile}_03035_v01_r00.zip" for stem in GENERATION_STEMS[years] for tile in TILES}
    assert {os.path.basename(path) for path in result["delivery"]} == expected
    for path in result["delivery"]:
        stem = os.path.basename(path)[:-4]
        check_delivered_tile(tmp_path / "out" / "delivery" / stem / (stem + ".tif"))
    readme = (tmp_path / "out" / "delivery" / "README.txt").read_text()
    defined = "No EEA product definition exists yet for 2019-2022" in readme
    assert defined == (years == (2019, 2022))
    assert ("clms_nvlcc_*_s2024_*, *_c2021-2024_*" in readme) == (years == (2021, 2024))
