"""tools/compare_products.py, the cross-version comparison of the demo's products (.ci/run):
it passes identical folders and differences within a product's stated tolerance, and fails
anything else (an integer product one pixel off, a float product beyond its tolerance, a
missing or extra file, a changed text file)."""

import shutil
import sys

import numpy as np
import pytest

from conftest import ROOT
from rasters import write_raster

sys.path.insert(0, str(ROOT / "tools"))
import compare_products  # noqa: E402


@pytest.fixture
def folders(tmp_path):
    reference = tmp_path / "ref"
    reference.mkdir()
    rng = np.random.default_rng(3)
    write_raster(reference / "PP_2018_010m.tif", rng.random((2, 8, 8), dtype=np.float32), nodata=np.nan)
    write_raster(reference / "RIMD_2018_010m.tif", rng.integers(0, 101, (40, 40), dtype=np.uint8), nodata=255)
    write_raster(reference / "CHM_2018_2021_010m.tif", rng.integers(0, 3, (8, 8), dtype=np.uint8), nodata=255)
    (reference / "report.json").write_text('{"a": 1}')
    other = tmp_path / "other"
    shutil.copytree(reference, other)
    return reference, other


def verdicts(reference, other):
    return {row[0]: row[6] for row in compare_products.compare(str(reference), str(other))}


def test_identical_folders_pass(folders):
    reference, other = folders
    assert set(verdicts(reference, other).values()) == {True}
    assert compare_products.main(str(reference), str(other)) == 0


def test_float_products_pass_within_their_tolerance_only(folders):
    reference, other = folders
    values = compare_products.gdal.Open(str(reference / "PP_2018_010m.tif")).ReadAsArray()
    nudged = values.copy()
    nudged[0, 2, 3] = np.nextafter(nudged[0, 2, 3], np.float32(2))     # one ulp
    write_raster(other / "PP_2018_010m.tif", nudged, nodata=np.nan)
    rows = {row[0]: row for row in compare_products.compare(str(reference), str(other))}
    name, identical, differing, total, largest, rule, ok = rows["PP_2018_010m.tif"]
    assert (identical, differing, total, ok) == (False, 1, 128, True)
    assert largest == pytest.approx(float(np.spacing(values[0, 2, 3])))
    nudged[1, 0, 0] += np.float32(1e-3)
    write_raster(other / "PP_2018_010m.tif", nudged, nodata=np.nan)
    assert verdicts(reference, other)["PP_2018_010m.tif"] is False


def test_rimd_allows_one_pixel_off_by_one_but_not_more(folders):
    reference, other = folders
    values = compare_products.gdal.Open(str(reference / "RIMD_2018_010m.tif")).ReadAsArray()
    changed = values.copy()
    changed[5, 5] = values[5, 5] + (1 if values[5, 5] < 100 else -1)
    write_raster(other / "RIMD_2018_010m.tif", changed, nodata=255)
    assert verdicts(reference, other)["RIMD_2018_010m.tif"] is True     # 1 of 1600 pixels, by 1
    changed[6, 6] = values[6, 6] + (2 if values[6, 6] < 99 else -2)
    write_raster(other / "RIMD_2018_010m.tif", changed, nodata=255)
    assert verdicts(reference, other)["RIMD_2018_010m.tif"] is False    # off by 2


def test_integer_products_and_text_must_be_identical(folders):
    reference, other = folders
    values = compare_products.gdal.Open(str(reference / "CHM_2018_2021_010m.tif")).ReadAsArray()
    values[0, 0] = (values[0, 0] + 1) % 3
    write_raster(other / "CHM_2018_2021_010m.tif", values, nodata=255)
    (other / "report.json").write_text('{"a": 2}')
    (other / "extra.txt").write_text("x")
    (other / "RIMD_2018_010m.tif").unlink()
    result = verdicts(reference, other)
    assert result["CHM_2018_2021_010m.tif"] is False
    assert result["report.json"] is False
    assert result["RIMD_2018_010m.tif"] is False          # missing
    assert result["extra.txt (extra)"] is False
    assert compare_products.main(str(reference), str(other)) == 1
