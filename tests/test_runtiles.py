"""The tile runner on a real Dask LocalCluster (2 worker processes on 127.0.0.1).

A generated area of 112 x 108 px cut into 2 x 2 processing tiles of 1 km gives the same products,
pixel for pixel, as the single run of the model imperviousness:hrl_imperviousness through
qgis_process; a killed worker process does not change them; a re-run after an interruption
recomputes only the unfinished tiles; qgis_process and the command line give identical outputs.
"""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from osgeo import gdal

from imperviousness_plugin.core.errors import Cancelled, ImperviousnessError
from imperviousness_plugin.core.products.publish import PRODUCTS, hrl_name
from imperviousness_plugin.runner import RunOptions, run_tiles
from imperviousness_plugin.runner.engine import MANIFEST
from tools.sampledata import generate_sample

YEAR_A, YEAR_B = 2018, 2021
TILE_SIZE = 1000.0   # the 1.12 x 1.08 km area straddles 1 km lines once each way: 2 x 2 tiles
LEVEL0 = ["x4728000_y1441000/level0", "x4728000_y1442000/level0",
          "x4729000_y1441000/level0", "x4729000_y1442000/level0"]


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    root = tmp_path_factory.mktemp("runtiles")
    generate_sample(root / "sample", size=120)
    reference = root / "sample" / "reference"
    inputs = {"S2_A": str(root / "sample" / "s2" / str(YEAR_A)), "S2_B": str(root / "sample" / "s2" / str(YEAR_B)),
              "YEAR_A": YEAR_A, "YEAR_B": YEAR_B,
              "IMD_A": str(reference / f"IMD_{YEAR_A}_010m.tif"), "IBU_A": str(reference / f"IBU_{YEAR_A}_010m.tif"),
              "CLCPLUS_A": str(reference / f"CLCplus_{YEAR_A}_010m.tif"),
              "CLCPLUS_B": str(reference / f"CLCplus_{YEAR_B}_010m.tif")}
    return root, inputs


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as dask_client:
        yield dask_client


@pytest.fixture(scope="module")
def single_run(area, qgis_process):
    root, inputs = area
    output = root / "single"
    qgis_process("run", "imperviousness:hrl_imperviousness", "--",
                 *(f"{name}={value}" for name, value in inputs.items()), f"OUTPUT_FOLDER={output}")
    return output


@pytest.fixture(scope="module")
def tiled_run(area, client):
    root, inputs = area
    output = root / "tiled"
    runner, report = run_tiles(inputs, output, RunOptions(tile_size=TILE_SIZE), client=client)
    return runner, report, output


def assert_same_products(expected_folder, actual_folder):
    for product in PRODUCTS:
        name = hrl_name(product, YEAR_A, YEAR_B)
        expected, actual = gdal.Open(str(expected_folder / name)), gdal.Open(str(actual_folder / name))
        assert actual is not None, name
        assert actual.GetGeoTransform() == expected.GetGeoTransform(), name
        assert actual.RasterCount == expected.RasterCount, name
        np.testing.assert_array_equal(actual.ReadAsArray(), expected.ReadAsArray(), err_msg=name)


def checksums(folder):
    """{task: {output: sha256}} of a run's manifest (paths relative to its folder)."""
    manifest = json.loads((folder / MANIFEST).read_text())
    return {key: task["outputs"] for key, task in manifest["tasks"].items()}


def test_checksums_do_not_depend_on_the_output_folder(tiled_run, area, client):
    # The kill, re-run and entry-point tests compare runs into other folders by checksum.
    root, inputs = area
    other = root / "other_folder"
    run_tiles(inputs, other, RunOptions(tile_size=TILE_SIZE), client=client)
    assert checksums(other) == checksums(tiled_run[2])


def test_area_is_cut_into_two_by_two_tiles(tiled_run):
    runner, report, _ = tiled_run
    assert sorted(tile.tile_id for tile in runner.tiles) == sorted(key.split("/")[0] for key in LEVEL0)
    assert [code for code, _ in runner.cells] == ["e47n14"]
    assert not report.failed and not report.skipped
    # 4 tiles x 2 levels, the change mask of the one EEA cell, the calibration, publish
    assert len(report.computed) == 11


def test_tiled_products_equal_the_single_run(single_run, tiled_run):
    _, _, output = tiled_run
    assert_same_products(single_run, output)
    # The calibration was fitted once, from all tiles: the same coefficients as the single run.
    name = hrl_name("CALIBRATION", YEAR_A, YEAR_B)
    tiled, single = (json.loads((folder / name).read_text()) for folder in (output, single_run))
    assert tiled["coefficients"] == single["coefficients"]
    assert tiled["regression"]["samples"] == single["regression"]["samples"] > 0
    thresholds = hrl_name("THRESHOLDS", YEAR_A, YEAR_B)
    tiled, single = (json.loads((folder / thresholds).read_text()) for folder in (output, single_run))
    fields = ("tile_id", "valid_pixels", "lower", "upper", "patches_kept", "flagged_pixels")
    assert [[t[f] for f in fields] for t in tiled["tiles"]] == [[t[f] for f in fields] for t in single["tiles"]]
    # Each tile's outputs are kept per tile, joined by one VRT per output.
    assert (output / "tiles" / "x4728000_y1441000" / "applycalibration.OUTPUT.tif").is_file()
    mosaic = gdal.Open(str(output / "mosaic" / "applycalibration.OUTPUT.vrt"))
    np.testing.assert_array_equal(
        mosaic.ReadAsArray(), gdal.Open(str(single_run / hrl_name("IMD_B", YEAR_A, YEAR_B))).ReadAsArray())
    assert list((output / "delivery").glob("*.zip"))
    assert not (output / ".scratch").exists()


def test_killing_a_worker_process_still_gives_identical_outputs(area, client, tiled_run):
    root, inputs = area
    output = root / "killed"
    before = client.run(os.getpid)
    killed = []

    def kill_one(done, total, key):
        busy = [address for address, keys in client.processing().items() if keys]
        if not killed and busy:   # a worker in the middle of a tile
            os.kill(before[busy[0]], signal.SIGKILL)
            killed.append(before[busy[0]])

    _, report = run_tiles(inputs, output, RunOptions(tile_size=TILE_SIZE), client=client, progress=kill_one)
    assert killed and not report.failed
    client.wait_for_workers(2, timeout=60)
    assert killed[0] not in client.run(os.getpid).values()
    assert checksums(output) == checksums(tiled_run[2])


def test_rerun_after_an_interruption_recomputes_only_unfinished_tiles(area, client, tiled_run):
    root, inputs = area
    output = root / "interrupted"
    finished = []

    def progress(done, total, key):
        finished.append(key)

    with pytest.raises(Cancelled):
        run_tiles(inputs, output, RunOptions(tile_size=TILE_SIZE), client=client, progress=progress,
                  cancelled=lambda: len(finished) >= 2)
    manifest = json.loads((output / MANIFEST).read_text())
    done = sorted(key for key, task in manifest["tasks"].items() if task["state"] == "done")
    assert len(done) >= 2 and set(done) <= set(LEVEL0)
    assert not (output / ".scratch").exists() and not (output / "area").exists()
    # One finished tile's output is damaged: its checksum no longer matches, so it is redone.
    damaged = next(iter(manifest["tasks"][done[0]]["outputs"]))
    (output / damaged).write_bytes(b"damaged")
    _, report = run_tiles(inputs, output, RunOptions(tile_size=TILE_SIZE), client=client)
    assert sorted(report.skipped) == done[1:]
    assert len(report.computed) == 11 - len(done[1:])
    assert checksums(output) == checksums(tiled_run[2])


def test_qgis_process_and_the_command_line_give_identical_outputs(area, qgis_process, tiled_run):
    root, inputs = area
    arguments = [f"--{name.lower().replace('_', '-')}={value}" for name, value in inputs.items()]
    cli = root / "cli"
    env = dict(os.environ, PYTHONPATH=str(pathlib_root()))
    result = subprocess.run([sys.executable, "-m", "imperviousness_plugin.runner", *arguments,
                             f"--tile-size={TILE_SIZE:g}", "--workers=2", str(cli)],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "[11/11] area/publish" in result.stdout and "computed 11 task(s)" in result.stdout
    toolbox = root / "qgis_process"
    run = qgis_process("run", "imperviousness:runtiles", "--",
                       *(f"{name}={value}" for name, value in inputs.items()),
                       f"TILE_SIZE={TILE_SIZE:g}", "WORKERS=2", f"OUTPUT_FOLDER={toolbox}")
    assert "[11/11] area/publish" in run.stdout
    assert checksums(cli) == checksums(toolbox) == checksums(tiled_run[2])
    assert_same_products(cli, toolbox)


def test_bad_tile_size_and_tile_code_are_refused(area):
    from imperviousness_plugin.core.errors import ImperviousnessError
    _, inputs = area
    with pytest.raises(ImperviousnessError, match="TILE_SIZE must be a multiple of 100 m"):
        run_tiles(inputs, "/nonexistent", RunOptions(tile_size=1500), client=object())
    with pytest.raises(ImperviousnessError, match="Not an EEA 100 km tile code: 'x47n14'"):
        run_tiles(inputs, "/nonexistent", RunOptions(tiles=("x47n14",)), client=object())


def test_area_grid_is_the_reference_padded_to_whole_km(tmp_path):
    """By hand: the reference 4728890 .. 4730380 x 1442510 .. 1441060 (149 x 145 px of 10 m) pads
    to 4728000 .. 4731000 x 1441000 .. 1443000, the grid aligngrid gives the single run; an extent
    is cut from it and grown to whole km again."""
    from rasters import write_raster
    from imperviousness_plugin.core.io.raster import Window
    from imperviousness_plugin.runner.tiling import area_grid
    reference = write_raster(tmp_path / "imd.tif", np.zeros((145, 149), np.uint8), nodata=255,
                             origin=(4728890.0, 1442510.0))
    grid, window = area_grid(reference)
    assert grid.geotransform == (4728000.0, 10.0, 0.0, 1443000.0, 0.0, -10.0)
    assert (grid.width, grid.height) == (300, 200) and window == Window(-89, -49, 300, 200)
    assert area_grid(reference, (4700000.0, 1400000.0, 4800000.0, 1500000.0))[0] == grid  # e47n14
    grid, window = area_grid(reference, (4729100.0, 1441500.0, 4729500.0, 1441900.0))
    assert grid.geotransform == (4729000.0, 10.0, 0.0, 1442000.0, 0.0, -10.0)
    assert (grid.width, grid.height) == (100, 100) and window == Window(11, 51, 100, 100)
    shifted = write_raster(tmp_path / "shifted.tif", np.zeros((5, 5), np.uint8), origin=(4728885.0, 1442510.0))
    with pytest.raises(ImperviousnessError, match="not on whole multiples of its 10 m pixels"):
        area_grid(shifted)


def pathlib_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_halo_is_whole_unet_strides_and_at_least_one_unet_tile():
    from imperviousness_plugin.core.io.raster import Window
    from imperviousness_plugin.runner.tiling import AreaGrid, halo_pixels, processing_tiles
    # U-Net tiles of 256 px with overlap 64: stride 192; one tile needs 2 strides = 384 px.
    assert halo_pixels(0.0, 10.0) == 384
    assert halo_pixels(4000.0, 10.0) == 576          # 400 px asked: 3 strides of 192
    grid = AreaGrid((4_000_000.0, 10.0, 0.0, 3_010_000.0, 0.0, -10.0), 3000, 1000, "")
    tiles = processing_tiles(grid, 10_000.0, 384)
    assert [(t.tile_id, t.core, t.halo) for t in tiles] == [
        ("x4000000_y3000000", Window(0, 0, 1000, 1000), Window(0, 0, 1384, 1000)),
        ("x4010000_y3000000", Window(1000, 0, 1000, 1000), Window(616, 0, 1768, 1000)),
        ("x4020000_y3000000", Window(2000, 0, 1000, 1000), Window(1616, 0, 1384, 1000))]
