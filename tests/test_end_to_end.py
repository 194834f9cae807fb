"""End to end: the shipped model imperviousness:hrl_imperviousness through qgis_process.bin.

Runs the whole A-to-B model headless on a generated sample (size 160 to stay near a minute) and
checks every product of SPEC section 2 (grid, type, nodata, value set), the styles and report
beside them, and the sample's known truth: new construction is new cover in IMCC and IBUC, crop
rotation is no real change, demolition is loss.
"""

import json
import pathlib

import numpy as np
import pytest
from osgeo import gdal

import eea_qc
from delivery_checks import check_delivered_tile
from imperviousness_plugin.core.products.publish import PRODUCTS, hrl_name
from tools.calibration_readings import compare_readings
from tools.sampledata import generate_sample

YEAR_A, YEAR_B = 2018, 2021
CHANGE_CLASSES = {0, 1, 2, 10, 11, 12, 255}
# product: (pixel size, GDAL type, nodata, allowed values or (min, max) or None)
BYTE = gdal.GDT_Byte
FLOAT = gdal.GDT_Float32
EXPECTED = {
    "PP_A": (10, FLOAT, "nan", None), "PP_B": (10, FLOAT, "nan", None),
    "RMSD": (10, FLOAT, "nan", (0, np.inf)),
    "CHM": (10, BYTE, 255, {0, 1, 255}),
    "CHM_20": (20, BYTE, 255, (0, 100)), "CHM_100": (100, BYTE, 255, (0, 100)),
    "RIMD": (10, BYTE, 255, (0, 100)), "RIBUD": (10, BYTE, 255, (0, 100)),
    "RIMD_SD": (10, FLOAT, "nan", (0, 1)), "RIBUD_SD": (10, FLOAT, "nan", (0, 1)),
    "IMDCL": (10, BYTE, 255, (50, 100)), "IBUCL": (10, BYTE, 255, (50, 100)),
    "IMD_MSK_A": (10, BYTE, 255, {0, 1, 255}), "IMD_MSK_B": (10, BYTE, 255, {0, 1, 255}),
    "IMD_B": (10, BYTE, 255, (0, 100)), "IMD_B_100": (100, BYTE, 255, (0, 100)),
    "IBU_B": (10, BYTE, 255, {0, 1, 255}), "SBU_B": (100, BYTE, 255, (0, 100)),
}
# SPEC 7: IMD change at 20 m and 100 m, IBU change at 20 m, SBU change at 100 m
for _continuous, _classified, _resolutions in (("IMDC", "IMCC", (20, 100)), ("IBUDC", "IBUC", (20,)),
                                               ("SBUC", "SBCC", (100,))):
    for _res in _resolutions:
        for _suffix in ("", "S"):
            EXPECTED[f"{_continuous}{_suffix}_{_res}"] = (_res, BYTE, 255, (0, 201))
            EXPECTED[f"{_classified}{_suffix}_{_res}"] = (_res, BYTE, 255, CHANGE_CLASSES)


def reference_arguments(root):
    """The year-A reference layers and the years, as qgis_process arguments."""
    reference = root / "sample" / "reference"
    return [f"YEAR_A={YEAR_A}", f"YEAR_B={YEAR_B}",
            f"IMD_A={reference / f'IMD_{YEAR_A}_010m.tif'}", f"IBU_A={reference / f'IBU_{YEAR_A}_010m.tif'}",
            f"CLCPLUS_A={reference / f'CLCplus_{YEAR_A}_010m.tif'}",
            f"CLCPLUS_B={reference / f'CLCplus_{YEAR_B}_010m.tif'}"]


def s2_arguments(root):
    return [f"S2_A={root / 'sample' / 's2' / str(YEAR_A)}", f"S2_B={root / 'sample' / 's2' / str(YEAR_B)}"]


@pytest.fixture(scope="module")
def model_run(tmp_path_factory, qgis_process):
    root = tmp_path_factory.mktemp("e2e")
    sample = generate_sample(root / "sample", size=160)
    assert tuple(sample["years"]) == (YEAR_A, YEAR_B)
    output = root / "products"
    qgis_process("run", "imperviousness:hrl_imperviousness", "--", *s2_arguments(root),
                 *reference_arguments(root), f"OUTPUT_FOLDER={output}")
    return root, output


def read(path):
    dataset = gdal.Open(str(path))
    assert dataset is not None, path
    return dataset


def test_every_product_matches_the_spec(model_run):
    root, output = model_run
    reference = read(root / "sample" / "reference" / f"IMD_{YEAR_A}_010m.tif")
    ref_transform = reference.GetGeoTransform()
    xmin, ymax = ref_transform[0], ref_transform[3]
    xmax = xmin + ref_transform[1] * reference.RasterXSize
    ymin = ymax + ref_transform[5] * reference.RasterYSize
    assert set(EXPECTED) == set(PRODUCTS)
    for product, (pixel, gdal_type, nodata, values) in EXPECTED.items():
        path = output / hrl_name(product, YEAR_A, YEAR_B)
        dataset = read(path)
        band = dataset.GetRasterBand(1)
        transform = dataset.GetGeoTransform()
        assert (transform[1], -transform[5]) == (pixel, pixel), product
        # EEA grid: origin on whole multiples of the pixel size, covering the reference extent
        assert transform[0] % pixel == 0 and transform[3] % pixel == 0, product
        assert transform[0] <= xmin and transform[3] >= ymax, product
        assert transform[0] + pixel * dataset.RasterXSize >= xmax, product
        assert transform[3] - pixel * dataset.RasterYSize <= ymin, product
        assert "3035" in dataset.GetProjection() or "LAEA" in dataset.GetProjection(), product
        assert band.DataType == gdal_type, product
        if nodata == "nan":
            assert np.isnan(band.GetNoDataValue()), product
        else:
            assert band.GetNoDataValue() == nodata, product
        assert band.GetDescription(), product
        data = dataset.ReadAsArray()
        if isinstance(values, set):
            assert set(np.unique(data).tolist()) <= values, product
        elif values is not None:
            valid = data[np.isfinite(data)] if gdal_type == FLOAT else data[data != 255]
            assert valid.size and valid.min() >= values[0] and valid.max() <= values[1], product
        if PRODUCTS[product][1]:
            assert (output / hrl_name(product, YEAR_A, YEAR_B).replace(".tif", ".qml")).is_file()
    for side in ("CALIBRATION", "THRESHOLDS"):
        assert json.loads((output / hrl_name(side, YEAR_A, YEAR_B)).read_text())


def test_every_product_is_on_the_1km_grid(model_run):
    """The model pads its inputs outward to whole kilometres first (imperviousness:aligngrid):
    every product's origin and extent lie on the 1 km grid, though the sample's IMD_A does not."""
    root, output = model_run
    reference = read(root / "sample" / "reference" / f"IMD_{YEAR_A}_010m.tif")
    x0, px, _, y1, _, py = reference.GetGeoTransform()
    xmin, ymax = x0, y1
    xmax, ymin = x0 + px * reference.RasterXSize, y1 + py * reference.RasterYSize
    assert [value % 1000 for value in (xmin, ymin, xmax, ymax)] != [0, 0, 0, 0]
    hull = (np.floor(xmin / 1000) * 1000, np.floor(ymin / 1000) * 1000,
            np.ceil(xmax / 1000) * 1000, np.ceil(ymax / 1000) * 1000)
    for product in PRODUCTS:
        dataset = read(output / hrl_name(product, YEAR_A, YEAR_B))
        left, pixel, _, top, _, _ = dataset.GetGeoTransform()
        bounds = (left, top - pixel * dataset.RasterYSize, left + pixel * dataset.RasterXSize, top)
        assert bounds == hull, product
    # the reference's pixels are unchanged inside the padding: IMD_MSK_A is 255 exactly there
    mask = read(output / hrl_name("IMD_MSK_A", YEAR_A, YEAR_B)).ReadAsArray()
    col0, row0 = round((xmin - hull[0]) / 10), round((hull[3] - ymax) / 10)
    inside = np.zeros(mask.shape, dtype=bool)
    inside[row0:row0 + reference.RasterYSize, col0:col0 + reference.RasterXSize] = True
    assert (mask[~inside] == 255).all() and (mask[inside] != 255).all()
    # the sample lies in one EEA tile: each delivered tile is its analysis product's grid, unpadded
    for stem, product in OFFICIAL_SOURCES.items():
        name = f"clms_hrlnvlcc_{stem}_e47n14_03035_v01_r00"
        tile = read(output / "delivery" / name / f"{name}.tif")
        analysis = read(output / hrl_name(product, YEAR_A, YEAR_B))
        assert tile.GetGeoTransform() == analysis.GetGeoTransform(), stem
        assert (tile.RasterXSize, tile.RasterYSize) == (analysis.RasterXSize, analysis.RasterYSize), stem


def test_report_is_written(model_run):
    _, output = model_run
    html = (output / "report.html").read_text()
    for text in ("impervious area", "built-up share", "Change classes", "calibration",
                 "thresholds", "hrl_imd_unet_m1.onnx", "figures/IMD_2021_010m.png"):
        assert text in html, text
    assert (output / "figures" / "IMD_2021_010m.png").stat().st_size > 1000
    report = json.loads((output / "report.json").read_text())
    imd_b = read(output / "IMD_2021_010m.tif").ReadAsArray()
    valid = imd_b[imd_b <= 100].astype(float)
    assert report["statistics"]["status"]["2021"]["mean_density_all"] == pytest.approx(valid.mean())
    # The run's parameters: the model's folders and years, and the reference layers' files.
    parameters = report["parameters"]
    assert parameters["YEAR_A"] == str(YEAR_A) and parameters["YEAR_B"] == str(YEAR_B)
    assert parameters["S2_A"].endswith(str(YEAR_A)) and parameters["IMD_A"].endswith(".tif")
    # Paths in the output folder are recorded relative to it (runs into two folders are identical).
    assert parameters["OUTPUT_FOLDER"] == "."


def _classes_in_region(output, product, truth, code):
    """Classes of the 20 m cells of `product` whose 10 m truth pixels are all in region `code`."""
    dataset = read(output / hrl_name(product, YEAR_A, YEAR_B))
    classes = dataset.ReadAsArray()
    regions = truth.ReadAsArray()
    cell, pixel = dataset.GetGeoTransform(), truth.GetGeoTransform()
    col0 = int(round((cell[0] - pixel[0]) / pixel[1]))
    row0 = int(round((cell[3] - pixel[3]) / pixel[5]))
    height, width = classes.shape
    padded = np.zeros((2 * height, 2 * width), dtype=regions.dtype)  # 0: outside every region
    rows = slice(max(row0, 0), min(row0 + 2 * height, regions.shape[0]))
    cols = slice(max(col0, 0), min(col0 + 2 * width, regions.shape[1]))
    padded[rows.start - row0:rows.stop - row0, cols.start - col0:cols.stop - col0] = regions[rows, cols]
    inside = (padded == code).reshape(height, 2, width, 2).all(axis=(1, 3))
    return classes[inside]


def test_known_truth_of_the_sample(model_run):
    root, output = model_run
    regions = read(root / "sample" / "truth" / "change_regions_010m.tif")
    for product in ("IMCC_20", "IBUC_20"):
        new = _classes_in_region(output, product, regions, 1)
        assert new.size and np.mean(new == 1) > 0.5, (product, np.unique(new, return_counts=True))
        lost = _classes_in_region(output, product, regions, 2)
        assert lost.size and np.mean(np.isin(lost, (2, 12))) > 0.5, (product, np.unique(lost, return_counts=True))
        crops = _classes_in_region(output, product, regions, 3)
        assert crops.size and np.all(np.isin(crops, (0, 10))), (product, np.unique(crops, return_counts=True))


def test_train_on_year_a_first(model_run, qgis_process, tmp_path):
    """hrl_imperviousness_train: U-Nets trained on year A (a few steps) feed the same graph."""
    root, _ = model_run
    output = tmp_path / "products"
    qgis_process("run", "imperviousness:hrl_imperviousness_train", "--", *s2_arguments(root),
                 *reference_arguments(root), "TRAIN_STEPS=5", "TRAIN_PATCH_SIZE=64",
                 f"OUTPUT_FOLDER={output}")
    assert {path.name for path in output.glob("*.tif")} == {
        hrl_name(product, YEAR_A, YEAR_B) for product in PRODUCTS}
    report = json.loads((output / "report.json").read_text())
    for target in ("IMD", "IBU"):
        models = report["models"][target]
        # The ensemble the run trained (three members, issue 23), not the shipped one.
        assert [model["file"][-8:] for model in models] == ["_m1.onnx", "_m2.onnx", "_m3.onnx"]
        assert not any(model["file"].startswith("hrl_") for model in models)
        assert all(target in json.dumps(model["metadata"]) and model["held_out"] for model in models)
    rimd = read(output / hrl_name("RIMD", YEAR_A, YEAR_B)).ReadAsArray()
    assert ((rimd <= 100) | (rimd == 255)).all() and (rimd <= 100).any()


def test_from_existing_pp_stacks_gives_the_same_products(model_run, qgis_process, tmp_path):
    """hrl_imperviousness_pp on the PP stacks of the full run reproduces its products exactly."""
    root, first = model_run
    output = tmp_path / "products"
    qgis_process("run", "imperviousness:hrl_imperviousness_pp", "--",
                 f"PP_A={first / hrl_name('PP_A', YEAR_A, YEAR_B)}",
                 f"PP_B={first / hrl_name('PP_B', YEAR_A, YEAR_B)}", *reference_arguments(root),
                 f"OUTPUT_FOLDER={output}")
    for product in PRODUCTS:
        name = hrl_name(product, YEAR_A, YEAR_B)
        np.testing.assert_array_equal(read(output / name).ReadAsArray(),
                                      read(first / name).ReadAsArray(), err_msg=name)


def test_sub_models_give_the_full_runs_products(model_run, qgis_process, tmp_path):
    """hrl_imd, hrl_ibu and hrl_change each pad their layers to whole km first: their products are
    the full run's, pixel for pixel, on the same 1 km grid."""
    root, first = model_run
    reference = root / "sample" / "reference"
    arguments = {
        "hrl_imd": [*s2_arguments(root), *reference_arguments(root)],
        "hrl_ibu": [s2_arguments(root)[1], f"IBU_A={reference / f'IBU_{YEAR_A}_010m.tif'}",
                    f"YEAR_A={YEAR_A}", f"YEAR_B={YEAR_B}"],
        "hrl_change": [f"{name}={first / hrl_name(product, YEAR_A, YEAR_B)}" for name, product in
                       (("PP_A", "PP_A"), ("PP_B", "PP_B"), ("IMD_B", "IMD_B"), ("IBU_B", "IBU_B"))]
        + reference_arguments(root)[:4]}
    for model, given in arguments.items():
        output = tmp_path / model
        qgis_process("run", f"imperviousness:{model}", "--", *given, f"OUTPUT_FOLDER={output}")
        names = sorted(path.name for path in output.glob("*.tif"))
        assert len(names) >= 6, model
        for name in names:
            product, full = read(output / name), read(first / name)
            assert product.GetGeoTransform() == full.GetGeoTransform(), (model, name)
            np.testing.assert_array_equal(product.ReadAsArray(), full.ReadAsArray(), err_msg=f"{model} {name}")


# -- the official EEA delivery the model writes (publish's DELIVERY is on by default) -------------

OFFICIAL_SOURCES = {"imd_s2021_r10m": "IMD_B", "imd_s2021_r100m": "IMD_B_100", "ibu_s2021_r10m": "IBU_B",
                    "sbu_s2021_r100m": "SBU_B", "imdc_c2018-2021_r20m": "IMDC_20",
                    "imdc_c2018-2021_r100m": "IMDC_100", "imcc_c2018-2021_r20m": "IMCC_20",
                    "ibuc_c2018-2021_r20m": "IBUC_20", "sbuc_c2018-2021_r100m": "SBUC_100",
                    "sbcc_c2018-2021_r100m": "SBCC_100"}


def test_the_delivery_holds_the_analysis_pixels_and_meets_the_definitions(model_run):
    _, output = model_run
    zips = sorted((output / "delivery").glob("*.zip"))
    # the sample lies in one EEA 100 km tile: one zip per official product
    assert [path.name for path in zips] == sorted(
        f"clms_hrlnvlcc_{key}_e47n14_03035_v01_r00.zip" for key in OFFICIAL_SOURCES)
    for path in zips:
        stem = path.name[:-4]
        tif = output / "delivery" / stem / f"{stem}.tif"
        data = check_delivered_tile(tif)
        analysis = read(output / hrl_name(OFFICIAL_SOURCES[stem[14:].split("_e47n14")[0]], YEAR_A, YEAR_B))
        transform, tile = analysis.GetGeoTransform(), read(tif).GetGeoTransform()
        col0 = round((transform[0] - tile[0]) / transform[1])
        row0 = round((tile[3] - transform[3]) / transform[1])
        height, width = analysis.RasterYSize, analysis.RasterXSize
        expected = analysis.ReadAsArray()
        if "_ibuc_" in stem:   # the EEA's IBUC: ATBD Table 5's 11 and 12 (kept in the analysis) as 10
            assert {11, 12} & set(np.unique(expected).tolist()), stem
            expected = np.where((expected == 11) | (expected == 12), 10, expected)
        np.testing.assert_array_equal(data[row0:row0 + height, col0:col0 + width], expected, err_msg=stem)
        outside = np.ones(data.shape, dtype=bool)
        outside[row0:row0 + height, col0:col0 + width] = False
        assert (data[outside] == 255).all(), stem


def test_the_eea_qc_tool_passes_every_delivered_product(model_run, tmp_path):
    """The QC tool's own raster checks, unchanged, at commit eea_qc.COMMIT (see tests/eea_qc.py)."""
    if eea_qc.repository() is None:
        pytest.skip("no local copy of github.com/eea/copernicus_quality_tools: set QC_TOOL_REPO to "
                    f"its git directory (default {eea_qc.DEFAULT_REPO}) to run its checks")
    _, output = model_run
    tool = eea_qc.extract(tmp_path / "qc_tool")
    zips = sorted((output / "delivery").glob("*.zip"))
    results = eea_qc.run(tool, zips, tmp_path / "jobs")
    assert sorted(results) == [path.name for path in zips] and len(zips) == 10
    for name, checks in results.items():
        for check in eea_qc.RASTER_CHECKS + ("attribute_vat_dbf",):
            # IBUC included: its delivered file has the EEA's classes (11 and 12 delivered as 10)
            assert checks[check] == {"status": "ok", "messages": []}, (name, check, checks[check])
        assert checks["inspire_xml"] == name[:-4] + ".xml", name


def test_sealing_mask_readings_against_the_truth(model_run, tmp_path):
    """The run used the default reading (union), recorded in the calibration file; re-running
    the chain with it reproduces IMD_B exactly (compare_readings checks), and no reading keeps
    less of the truth's impervious area than the old intersection."""
    root, output = model_run
    calibration = json.loads((output / hrl_name("CALIBRATION", YEAR_A, YEAR_B)).read_text())
    assert calibration["sealing_mask"]["combine"] == "union"
    assert calibration["sealing_mask"]["threshold"] == 90.0
    results = compare_readings(root / "sample", output, YEAR_A, YEAR_B, tmp_path)
    union, intersection = results["union (default)"], results["intersection (before issue 13)"]
    assert union["truth_area_ha"] == intersection["truth_area_ha"] > 0
    assert union["area_ha"] >= intersection["area_ha"]
    assert union["omitted_pixels"] <= intersection["omitted_pixels"]
    # the outline keeps the most pixels; the raw prediction is the uncalibrated reference
    assert results["outline (RIMD_B >= 1 %, class ignored)"]["area_ha"] >= union["area_ha"]
    assert 0 < union["mae_impervious"] < 30


# ----------------------------------------------------------------------------- the report's summary

def test_report_summary_numbers_match_numpy_on_the_products(model_run):
    """Every number of the summary from the products, recomputed with numpy."""
    root, output = model_run
    summary = json.loads((output / "report.json").read_text())["summary"]
    # Change areas, real and technical, per class (ha = pixels x cell area / 1e4).
    for status, kind, areas in summary["change"]:
        product = {"IMD 20 m": "IMCC{}_20", "IMD 100 m": "IMCC{}_100", "IBU 20 m": "IBUC{}_20",
                   "SBU 100 m": "SBCC{}_100"}[status].format("S" if kind.startswith("technical") else "")
        dataset = read(output / hrl_name(product, YEAR_A, YEAR_B))
        classes, cell = dataset.ReadAsArray(), dataset.GetGeoTransform()[1] ** 2
        expected = [(classes == code).sum() * cell / 1e4 for code in (1, 2, 11, 12)]
        assert areas == pytest.approx(expected), product
    # Confidence shares per class of the valid pixels.
    for name, shares in summary["confidence"].items():
        values = read(output / hrl_name(name, YEAR_A, YEAR_B)).ReadAsArray()
        valid = values[values != 255]
        bins = [(50, 59), (60, 69), (70, 79), (80, 89), (90, 99), (100, 100)]
        assert [share for _, share in shares] == pytest.approx(
            [((valid >= low) & (valid <= high)).mean() for low, high in bins]), name
    # The scatter plot shows the regression's own samples: independent 60 m selection by coordinates.
    calibration = json.loads((output / hrl_name("CALIBRATION", YEAR_A, YEAR_B)).read_text())
    mask = read(output / hrl_name("IMD_MSK_A", YEAR_A, YEAR_B))
    pp = read(output / hrl_name("PP_A", YEAR_A, YEAR_B))
    ndvi_band = [pp.GetRasterBand(i + 1).GetDescription() for i in range(pp.RasterCount)].index("NDVI_P0") + 1
    ndvi = pp.GetRasterBand(ndvi_band).ReadAsArray()
    gt = mask.GetGeoTransform()
    # IMD_A placed on the products' grid (the model pads it to whole km): 255 around it
    reference = read(root / "sample" / "reference" / f"IMD_{YEAR_A}_010m.tif")
    imd_a = np.full(ndvi.shape, 255, dtype=np.uint8)
    col0 = round((reference.GetGeoTransform()[0] - gt[0]) / gt[1])
    row0 = round((reference.GetGeoTransform()[3] - gt[3]) / gt[5])
    imd_a[row0:row0 + reference.RasterYSize, col0:col0 + reference.RasterXSize] = reference.ReadAsArray()
    rows, cols = np.indices(ndvi.shape)
    centre = (np.isclose(np.mod(gt[0] + cols * gt[1] - 30, 60), 0) & np.isclose(np.mod(gt[3] + rows * gt[5] - 30, 60), 0))
    samples = centre & (mask.ReadAsArray() == 1) & np.isfinite(ndvi) & (imd_a != 255)
    assert summary["calibration_samples"] == int(samples.sum()) == calibration["regression"]["samples"]
    # Provenance: version, the data period from the PP stacks, the user's file names.
    metadata = (pathlib.Path(__file__).resolve().parents[1] / "imperviousness_plugin" / "metadata.txt").read_text()
    assert f"version={summary['plugin_version']}\n" in metadata
    first, last, count = summary["data_period"][str(YEAR_B)]
    assert first.startswith(str(YEAR_B)) and last.startswith(str(YEAR_B)) and int(count) > 20
    assert summary["inputs"]["IMD_A"] == f"IMD_{YEAR_A}_010m.tif"
    assert summary["warnings"] == []        # the sample is like the training data: silent


def test_report_summary_page_is_readable_and_deterministic(model_run, tmp_path):
    """The HTML summary (figures with legends, real vs technical change, calibration table and
    scatter, confidence, links), the PNG export, byte-identical on a second run, screenshots."""
    import shutil
    import subprocess
    from html import escape
    from imperviousness_plugin.core.products.publish import PRODUCTS, SIDE_FILES
    from imperviousness_plugin.core.products.report import write_report
    from imperviousness_plugin.core.products.summary import TECHNICAL_CHANGE
    root, output = model_run
    html = (output / "report.html").read_text()
    for text in ("Status: year A and year B", "figures/summary_status.png", "figures/summary_change.png",
                 "figures/summary_calibration.png", escape(TECHNICAL_CHANGE), "technical (IMCCS)", "real (IMCC)",
                 "Calibration (ATBD 4.3.2)", "share of valid pixels per class", 'href="summary.png"',
                 "Sentinel-2 2021-", "IMD_2018_010m.tif"):
        assert text in html, text
    assert '"coefficients"' not in html          # no JSON dump of the calibration
    section = html[html.index('<section id="summary">'):html.index("</section>")]
    assert "processing_" not in section and "/tmp/" not in section   # the user's names only
    for product in list(PRODUCTS) + list(SIDE_FILES):
        assert f'href="{hrl_name(product, YEAR_A, YEAR_B)}"' in html, product
    assert (output / "summary.png").stat().st_size > 50000
    # Byte-identical when written again from the same products.
    again = tmp_path / "again"
    shutil.copytree(output, again)
    products = {key: str(again / name) for key, name in json.loads((again / "products.json").read_text())["products"].items()}
    report = json.loads((output / "report.json").read_text())
    reference = root / "sample" / "reference"
    write_report(str(again), products, YEAR_A, YEAR_B, parameters=report["parameters"],
                 reference={"IMD_A": str(reference / f"IMD_{YEAR_A}_010m.tif"),
                            "IBU_A": str(reference / f"IBU_{YEAR_A}_010m.tif")})
    for name in ("summary.png", "figures/summary_status.png", "figures/summary_calibration.png"):
        assert (again / name).read_bytes() == (output / name).read_bytes(), name
    # Screenshots with headless Chromium, kept in build/screenshots for the reader of the test run.
    shots = pathlib.Path(__file__).resolve().parents[1] / "build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium")
    assert chromium, "headless Chromium is missing: run scripts/setup.sh (Debian package chromium)"
    for name, height in (("report_summary.png", 3000), ("report_full.png", 6000)):
        target = shots / name
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--window-size=1280,{height}", f"--screenshot={target}",
                        (output / "report.html").as_uri()], check=True, capture_output=True, timeout=120)
        assert target.stat().st_size > 50000, name
    shutil.copy(output / "summary.png", shots / "summary_page.png")
