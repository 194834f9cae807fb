"""End to end: the shipped model imperviousness:hrl_imperviousness through qgis_process.bin.

Runs the whole A-to-B model headless on a generated sample (size 160 to stay near a minute) and
checks every product of SPEC section 2 (grid, type, nodata, value set), the styles and report
beside them, and the sample's known truth: new construction is new cover in IMCC and IBUC, crop
rotation is no real change, demolition is loss.
"""

import json

import numpy as np
import pytest
from osgeo import gdal

from imperviousness_plugin.core.products.publish import PRODUCTS, hrl_name
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
        (model,) = report["models"][target]
        # The model the run trained, not the shipped ensemble: its contract says so.
        assert not model["file"].startswith("hrl_")
        assert target in json.dumps(model["metadata"])
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
