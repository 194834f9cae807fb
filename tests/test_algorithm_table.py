"""Runs every case of algorithm_tests.yaml through processing.run (STYLE.md 7).

Reference rasters (`reference:` in the table) live in tests/data/algorithm_table/. They were
recorded from the unchanged code on main (99f8615, before the writer changes of issue 20.3) by
running this module there with ALGORITHM_TABLE_RECORD set to that folder: in that mode the
outputs that have a reference are copied there instead of compared. Never record them from the
code under test.
"""

import functools
import json
import math
import os
import shutil

import numpy as np
import pytest
import yaml
from osgeo import gdal

from imperviousness_plugin.core.products import styles
from imperviousness_plugin.steps import catalogue
from rasters import write_raster

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "algorithm_tests.yaml")
REFERENCES = os.path.join(HERE, "data", "algorithm_table")
CASES = yaml.safe_load(open(TABLE, encoding="utf-8"))["tests"]
TYPES = {"uint8": (np.uint8, gdal.GDT_Byte), "float32": (np.float32, gdal.GDT_Float32)}
RECORD = os.environ.get("ALGORITHM_TABLE_RECORD")


def _rows(rows, dtype):
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=dtype)


def _band_names(spec):
    """The band descriptions of a raster input: a PP stack's (`pp`: harmonic order), `bands`'
    keys, `description`, or none."""
    if "pp" in spec:
        from imperviousness_plugin.core.features.preprocess import pp_band_names
        return list(pp_band_names(int(spec["pp"])))
    if "bands" in spec:
        return list(spec["bands"])
    return [spec["description"]] if "description" in spec else None


def _input_array(spec):
    """The array of a raster input: `values` rows; `bands` {description: rows} (with `pp`, the
    bands not given are `fill` of `shape`); or `fill` of `shape` with `set` rectangles
    [row0, row1, col0, col1, value]."""
    dtype = TYPES[spec["type"]][0]
    if "values" in spec:
        return _rows(spec["values"], dtype)
    if "pp" in spec:
        given = spec.get("bands", {})
        return np.stack([_rows(given[name], dtype) if name in given else np.full(spec["shape"], spec["fill"], dtype)
                         for name in _band_names(spec)])
    if "bands" in spec:
        return np.stack([_rows(rows, dtype) for rows in spec["bands"].values()])
    array = np.full(spec["shape"], spec["fill"], dtype=dtype)
    for row0, row1, col0, col1, value in spec.get("set", []):
        array[row0:row1, col0:col1] = value
    return array


@functools.lru_cache(maxsize=None)
def _generated_sample(size, folder):
    """tools.sampledata's sample of `size` px (seed 2021, years 2018 and 2021), made once."""
    from tools.sampledata import generate_sample
    path = os.path.join(folder, f"sample_{size}")
    generate_sample(path, size=size)
    return path


def _write_input(name, spec, folder, samples):
    """The path of one input: a GeoTIFF of `values`/`bands`, a JSON file, a generated sample
    folder, or a copy of a file of the repository (`file`, relative to tests/)."""
    if "json" in spec:
        path = os.path.join(folder, f"{name}.json")
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(spec["json"], stream)
        return path
    if "sample" in spec:
        return _generated_sample(int(spec["sample"]), samples)
    if "file" in spec:   # a copy: QGIS may write statistics beside a layer it loads
        return shutil.copy(os.path.join(HERE, spec["file"]), os.path.join(folder, os.path.basename(spec["file"])))
    return write_raster(os.path.join(folder, f"{name}.tif"), _input_array(spec), nodata=spec.get("nodata"),
                        pixel=float(spec.get("pixel", 10.0)), descriptions=_band_names(spec))


def _value(value, files):
    """A parameter value: "@input" or "@input/relative/path" names an input's file."""
    if isinstance(value, list):
        return [_value(item, files) for item in value]
    if isinstance(value, str) and value.startswith("@"):
        name, _, rest = value[1:].partition("/")
        return os.path.join(files[name], rest) if rest else files[name]
    return value


def _parameters(case, folder, samples):
    """processing.run's parameters: inputs written, enums by index, destinations in folder."""
    step = catalogue.STEPS.get(case["algorithm"])
    files = {name: _write_input(name, spec, folder, samples) for name, spec in case.get("inputs", {}).items()}
    parameters = {}
    for name, value in case["params"].items():
        value = _value(value, files)
        if step is not None and step.parameter(name).kind == "enum" and isinstance(value, str):
            value = step.parameter(name).index(value)
        parameters[name] = value
    for name, expected in case["expected"].items():
        if name in parameters or "number" in expected:
            continue
        if "files" in expected:
            parameters[name] = os.path.join(folder, name.lower())
        else:
            parameters[name] = os.path.join(folder, f"out_{name.lower()}.{'json' if 'json' in expected else 'tif'}")
    return parameters


def _read(path):
    dataset = gdal.Open(str(path))
    values = dataset.ReadAsArray()
    bands = [dataset.GetRasterBand(i + 1) for i in range(dataset.RasterCount)]
    return dataset, bands, values


def _compare(values, want, tolerance, label):
    assert values.shape == want.shape, f"{label}: shape {values.shape} != {want.shape}"
    values, want = values.astype(np.float64), want.astype(np.float64)
    same = (np.isnan(want) & np.isnan(values)) | (np.abs(values - want) <= tolerance)
    assert same.all(), (f"{label}: {int((~same).sum())} of {same.size} pixels differ by more than {tolerance}"
                        + (f": {values.tolist()} != {want.tolist()}" if values.size <= 64 else ""))


def _check_raster(path, expected, label):
    dataset, bands, values = _read(path)
    band = bands[0]
    tolerance = expected.get("tolerance", 0)
    if "values" in expected:
        _compare(values, _rows(expected["values"], np.float64), tolerance, label)
    if "reference" in expected:
        reference = os.path.join(REFERENCES, expected["reference"])
        if RECORD:
            shutil.copyfile(path, os.path.join(RECORD, expected["reference"]))
        else:
            want_dataset, want_bands, want = _read(reference)
            assert dataset.GetGeoTransform() == want_dataset.GetGeoTransform(), label
            assert [b.GetDescription() for b in bands] == [b.GetDescription() for b in want_bands], label
            _compare(values, want, tolerance, label)
    if "type" in expected:
        assert band.DataType == TYPES[expected["type"]][1], label
    if "nodata" in expected:
        nodata = band.GetNoDataValue()
        assert nodata == expected["nodata"] or (math.isnan(nodata) and math.isnan(expected["nodata"])), label
    if "colour_table" in expected:
        table = band.GetColorTable()
        entries = None if table is None else {i: table.GetColorEntry(i) for i in range(table.GetCount())}
        assert entries == (None if expected["colour_table"] == "none" else styles.color_table(expected["colour_table"])), label
    for text in [expected["description"]] if isinstance(expected.get("description"), str) else expected.get("description", []):
        assert text in band.GetDescription(), f"{label}: {text!r} not in {band.GetDescription()!r}"
    if "pixel" in expected:
        assert dataset.GetGeoTransform()[1] == expected["pixel"], label
    if "origin" in expected:
        assert list(dataset.GetGeoTransform()[0::3]) == expected["origin"], label
    if "bands" in expected:
        assert dataset.RasterCount == expected["bands"], label
    if expected.get("style"):
        assert os.path.exists(os.path.splitext(path)[0] + ".qml"), label
    band = bands = dataset = None


def _subset(actual, expected, label):
    """Every key and value of `expected` is in `actual` (numbers within 1e-9 relative)."""
    if isinstance(expected, dict):
        for key, value in expected.items():
            assert key in actual, f"{label}: no {key}"
            _subset(actual[key], value, f"{label}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), label
        for index, (item, value) in enumerate(zip(actual, expected)):
            _subset(item, value, f"{label}[{index}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-9), label
    else:
        assert actual == expected, label


def _check(result, parameters, name, expected, label):
    if "number" in expected:
        if RECORD:
            print(f"recorded {label} = {result[name]!r}")
        if expected["number"] != "RECORD":
            assert result[name] == pytest.approx(expected["number"], abs=expected.get("tolerance", 0)), label
    elif "json" in expected:
        with open(result[name], encoding="utf-8") as stream:
            _subset(json.load(stream), expected["json"], label)
    elif "files" in expected:
        folder = result.get(name) or parameters[name]   # a model returns its folder input as no result
        for relative, inner in expected["files"].items():
            path = os.path.join(folder, relative)
            assert os.path.isfile(path), f"{label}: no {relative}"
            if relative.endswith(".tif"):
                _check_raster(path, inner, f"{label}/{relative}")
    else:
        _check_raster(result[name], expected, label)


@pytest.fixture(scope="session")
def samples(tmp_path_factory):
    return str(tmp_path_factory.mktemp("table-samples"))


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_algorithm_table(case, provider, samples, tmp_path):
    import processing
    parameters = _parameters(case, str(tmp_path), samples)
    result = processing.run(f"imperviousness:{case['algorithm']}", parameters)
    for name, expected in case["expected"].items():
        _check(result, parameters, name, expected, f"{case['name']}: {name}")
    if "tif_files" in case:   # nothing else written (e.g. an optional output left empty)
        assert sorted(p for p in os.listdir(tmp_path) if p.endswith(".tif")) == sorted(case["tif_files"])


def test_every_algorithm_has_a_case(provider):
    """Each algorithm of the provider (steps and shipped models) appears in the table, except
    those listed with the reason they cannot run on the table's small data."""
    from qgis.core import QgsApplication
    provided = {algorithm.name() for algorithm in QgsApplication.processingRegistry().providerById(
        "imperviousness").algorithms()}
    tabled = {case["algorithm"] for case in CASES}
    excluded = yaml.safe_load(open(TABLE, encoding="utf-8"))["not_in_the_table"]
    assert len(provided) == 23
    assert provided - tabled == set(excluded)
    assert tabled <= provided
