"""benchmarks/bench_tile.py at a small size: the same code as `make bench-tile` (issue 21).

The generated tile pair (UTM scenes linked to more dates than are stored, reference layers on the
EEA grid over the footprint, on whole kilometres) runs through qgis_process with the probe; the
table must have one row per step of the model's graph (graph.py, counted independently of the
log), measurements that add up, and the disk check must refuse a disk that is too small.
"""

import collections
import json
import pathlib
import sys

import pytest
from osgeo import gdal

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_tile  # noqa: E402
from imperviousness_plugin.graph import full_graph  # noqa: E402

SIZE, DISTINCT, DATES = 200, 3, 7


@pytest.fixture(scope="module")
def tile_pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench-tile")
    return root, bench_tile.generate(root, SIZE, DISTINCT, DATES)


def test_dates_are_links_to_the_distinct_acquisitions(tile_pair):
    root, inputs = tile_pair
    for year in bench_tile.YEARS:
        distinct = sorted((root / "distinct" / str(year)).glob("S2*"))
        dated = sorted(pathlib.Path(inputs[f"S2_{'A' if year == 2018 else 'B'}"]).iterdir())
        assert len(distinct) == DISTINCT and len(dated) == DATES
        assert len({folder.name[4:] for folder in dated}) == DATES   # distinct dates
        targets = {(folder / "B04.tif").resolve().parent for folder in dated}
        assert all((folder / "B04.tif").is_symlink() for folder in dated)
        assert targets == {folder.resolve() for folder in distinct}   # every acquisition used


def test_reference_layers_on_whole_kilometres_over_the_tile(tile_pair):
    _, inputs = tile_pair
    for name in ("IMD_A", "IBU_A", "CLCPLUS_A", "CLCPLUS_B"):
        dataset = gdal.Open(inputs[name])
        x0, px, _, y0, _, py = dataset.GetGeoTransform()
        assert (px, py) == (10.0, -10.0)
        assert x0 % 1000 == 0 and y0 % 1000 == 0
        assert dataset.RasterXSize % 100 == 0 and dataset.RasterYSize % 100 == 0
        # the UTM tile (SIZE px of 10 m), slightly rotated in EPSG:3035, fits inside
        assert dataset.RasterXSize * 10.0 >= SIZE * 10.0
        assert dataset.GetRasterBand(1).GetNoDataValue() == 255


def test_every_step_of_the_model_is_measured(tile_pair, qgis_process_env, tmp_path):
    _, inputs = tile_pair
    rows, seconds, output_bytes, leftover = bench_tile.run_model(
        inputs, tmp_path / "run", env={"IMPERVIOUSNESS_QGIS_PROFILE": qgis_process_env[
            "IMPERVIOUSNESS_QGIS_PROFILE"]})
    steps = [row for row in rows if row["step"] != "(between steps)"]
    expected = collections.Counter(step.algorithm for step in full_graph().steps)
    assert collections.Counter(row["step"] for row in steps) == expected
    preprocess = [row for row in steps if row["step"] == "preprocess"]
    assert sorted(row["note"][:len(f"{DATES} acquisitions from 2018")] for row in preprocess) == [
        f"{DATES} acquisitions from {year}" for year in bench_tile.YEARS]
    assert 0.9 * seconds <= sum(row["wall"] for row in rows) <= seconds + 0.1
    assert all(row["wall"] >= 0 and row["cpu"] >= 0 for row in rows)
    assert all(row["peak_rss"] > 100 * 2 ** 20 for row in steps)   # a QGIS process with GDAL
    # the products were written by the process: at least their bytes went through write()
    assert sum(row["written"] for row in rows) >= output_bytes > 0
    # nothing of the run left in its TMPDIR (QGIS leaves a session id file, .ses, of a few bytes)
    assert max(row["peak_scratch"] for row in rows) > 0 and leftover < 1024


def test_refuses_without_disk_space(tmp_path, capsys):
    with pytest.raises(SystemExit, match=r"not enough disk space .* needs about 2\.0 GiB .* 1\.0 GiB free"):
        bench_tile.check_space(tmp_path / "not-yet", 2 * 2 ** 30, free=2 ** 30)
    bench_tile.check_space(tmp_path / "not-yet", 2 ** 30, free=2 * 2 ** 30)   # enough: no error
    inputs, run = bench_tile.bytes_needed(10980, 12)
    assert 15e9 < inputs < 25e9 and run > inputs   # the "under about 20 GB" of inputs
