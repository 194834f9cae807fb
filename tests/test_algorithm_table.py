"""Runs every case of algorithm_tests.yaml through processing.run (STYLE.md 7)."""

import math
import os

import numpy as np
import pytest
import yaml
from osgeo import gdal

from imperviousness_plugin.core.products import styles
from imperviousness_plugin.steps import catalogue
from rasters import write_raster

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "algorithm_tests.yaml")
CASES = yaml.safe_load(open(TABLE, encoding="utf-8"))["tests"]
TYPES = {"uint8": (np.uint8, gdal.GDT_Byte), "float32": (np.float32, gdal.GDT_Float32)}


def _input_array(spec):
    """The array of an input: `values` rows, or `fill` of `shape` with `set` rectangles
    [row0, row1, col0, col1, value]."""
    dtype = TYPES[spec["type"]][0]
    if "values" in spec:
        return np.array([[np.nan if v is None else v for v in row] for row in spec["values"]], dtype=dtype)
    array = np.full(spec["shape"], spec["fill"], dtype=dtype)
    for row0, row1, col0, col1, value in spec.get("set", []):
        array[row0:row1, col0:col1] = value
    return array


def _parameters(case, folder):
    """processing.run's parameters: inputs written as GeoTIFFs, enums by index, outputs in folder."""
    step = catalogue.step(case["algorithm"])
    files = {name: write_raster(os.path.join(folder, f"{name}.tif"), _input_array(spec),
                                nodata=spec.get("nodata"), pixel=float(spec.get("pixel", 10.0)))
             for name, spec in case["inputs"].items()}
    parameters = {}
    for name, value in case["params"].items():
        parameter = step.parameter(name)
        if isinstance(value, str) and value.startswith("@"):
            value = files[value[1:]]
        elif parameter.kind == "enum":
            value = parameter.index(value)
        parameters[name] = value
    for name in case["expected"]:
        parameters[name] = os.path.join(folder, f"out_{name.lower()}.tif")
    return parameters


def _check(path, expected, label):
    dataset = gdal.Open(str(path))
    band = dataset.GetRasterBand(1)
    values = band.ReadAsArray()
    want = np.array([[np.nan if v is None else v for v in row] for row in expected["values"]], dtype=np.float64)
    assert values.shape == want.shape, label
    tolerance = expected.get("tolerance", 0)
    same = np.isnan(want) & np.isnan(values.astype(np.float64)) | (np.abs(values - want) <= tolerance)
    assert same.all(), f"{label}: {values.tolist()} != {expected['values']}"
    if "type" in expected:
        assert band.DataType == TYPES[expected["type"]][1], label
    if "nodata" in expected:
        nodata = band.GetNoDataValue()
        assert nodata == expected["nodata"] or (math.isnan(nodata) and math.isnan(expected["nodata"])), label
    if "colour_table" in expected:
        table = band.GetColorTable()
        entries = None if table is None else {i: table.GetColorEntry(i) for i in range(table.GetCount())}
        assert entries == (None if expected["colour_table"] == "none" else styles.color_table(expected["colour_table"])), label
    if "description" in expected:
        assert expected["description"] in band.GetDescription(), label
    if expected.get("style"):
        assert os.path.exists(os.path.splitext(path)[0] + ".qml"), label


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_algorithm_table(case, provider, tmp_path):
    import processing
    result = processing.run(f"imperviousness:{case['algorithm']}", _parameters(case, str(tmp_path)))
    for name, expected in case["expected"].items():
        _check(result[name], expected, f"{case['name']}: {name}")
