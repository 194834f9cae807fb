"""The tile runner on a real Dask LocalCluster (2 worker processes on 127.0.0.1).

A generated area of 112 x 108 px cut into 2 x 2 processing tiles of 1 km gives the same products,
pixel for pixel, as the single run of the model imperviousness:hrl_imperviousness through
qgis_process; a killed worker process does not change them; a re-run after an interruption
recomputes only the unfinished tiles; qgis_process and the command line give identical outputs.
"""

import hashlib
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
    # The repository first, then the rest of this process's path (where QGIS 3.40/3.44 in CI find
    # the requirements installed the qpip way).
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(pathlib_root()),
                                                                     os.environ.get("PYTHONPATH")])))
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


def test_read_windows_start_on_the_unet_stride_lattice_a_tile_before_the_core():
    from imperviousness_plugin.core.io.raster import Window
    from imperviousness_plugin.runner.tiling import AreaGrid, Halo, halo_pixels, processing_tiles
    # U-Net tiles of 256 px with overlap 64: stride 192. Reach 256 px before the core (rounded down
    # to a multiple of 192 from the area's origin) and 256 + 192 px after it.
    assert halo_pixels(0.0, 10.0) == Halo(before=256, after=448, lattice=192)
    assert halo_pixels(4000.0, 10.0) == Halo(before=400, after=592, lattice=192)   # 400 px asked
    assert halo_pixels(0.0, 10.0, [(256, 64), (128, 32)]) == Halo(before=256, after=448, lattice=192)
    assert halo_pixels(0.0, 10.0, [(256, 64), (160, 32)]) == Halo(before=256, after=448, lattice=384)
    grid = AreaGrid((4_000_000.0, 10.0, 0.0, 3_010_000.0, 0.0, -10.0), 3000, 1000, "")
    tiles = processing_tiles(grid, 10_000.0, halo_pixels(0.0, 10.0))
    assert [(t.tile_id, t.core, t.halo) for t in tiles] == [
        ("x4000000_y3000000", Window(0, 0, 1000, 1000), Window(0, 0, 1448, 1000)),
        # 1000 - 256 = 744 -> 576 (3 strides); 2000 + 448 = 2448
        ("x4010000_y3000000", Window(1000, 0, 1000, 1000), Window(576, 0, 1872, 1000)),
        # 2000 - 256 = 1744 -> 1728 (9 strides); the area's edge
        ("x4020000_y3000000", Window(2000, 0, 1000, 1000), Window(1728, 0, 1272, 1000))]


def predict_graph():
    from imperviousness_plugin.graph import TEMPORARY, Graph, param
    graph = Graph("predict_only", "U-Net prediction of a PP stack", "")
    graph.child("predict", "predict", "U-Net", 0, 0,
                {"INPUT": param("PP"), "MODELS": param("MODELS_IMD"),
                 "OUTPUT_SD": TEMPORARY, "OUTPUT_CONFIDENCE": TEMPORARY})
    return graph


def test_predictions_over_many_unet_tiles_do_not_depend_on_the_tiling(tmp_path, client):
    # An area of 600 x 400 px, U-Net tiles of 64 px (overlap 16, read from the models' contracts),
    # processing tiles of 2 km: 3 x 2 tiles whose read windows are strictly inside the area.
    from imperviousness_plugin.core.unet.predict import load_ensemble, predict_arrays
    from imperviousness_plugin.core.unet.predict import run_predict
    from imperviousness_plugin.runner.engine import TileRunner
    from toy_unet import BANDS, conv_model, random_bands, write_pp
    bands = random_bands(400, 600, seed=7)
    pp = write_pp(tmp_path / "pp.tif", bands)
    models = [conv_model(tmp_path / f"m{k}.onnx", seed=40 + k, tile=64, overlap=16) for k in range(2)]
    runner = TileRunner(predict_graph(), {"PP": pp, "MODELS_IMD": models}, tmp_path / "tiled",
                        RunOptions(tile_size=2000.0, reference="PP"))
    assert len(runner.tiles) == 6
    assert any(0 < t.halo.col and t.halo.col + t.halo.width < 600 for t in runner.tiles)
    report = runner.run(client)
    assert len(report.computed) == 6 and not report.failed
    whole = {name: str(tmp_path / f"whole_{name}.tif") for name in ("OUTPUT", "OUTPUT_SD", "OUTPUT_CONFIDENCE")}
    run_predict(pp, models, whole["OUTPUT"], output_sd_path=whole["OUTPUT_SD"],
                output_confidence_path=whole["OUTPUT_CONFIDENCE"])
    for name, path in whole.items():
        tiled = gdal.Open(str(tmp_path / "tiled" / "mosaic" / f"predict.{name}.vrt"))
        single = gdal.Open(path)
        assert tiled.GetGeoTransform() == single.GetGeoTransform()
        np.testing.assert_array_equal(tiled.ReadAsArray(), single.ReadAsArray(), err_msg=name)
    # The rule this replaces (a window starting whole strides before the core, 200 - 96 = 104)
    # lays the U-Net tiles elsewhere: the core's densities differ.
    members = load_ensemble(models, BANDS)
    full, _ = predict_arrays(bands, members)
    shifted, _ = predict_arrays({band: values[:, 104:] for band, values in bands.items()}, members)
    assert not np.array_equal(shifted[:, :, 96:296], full[:, :, 200:400])


def cut(path, bounds, target):
    """`path` cut to `bounds` (xmin, ymin, xmax, ymax) as a GeoTIFF: the reference crops."""
    xmin, ymin, xmax, ymax = bounds
    gdal.Translate(str(target), str(path), projWin=[xmin, ymax, xmax, ymin])
    return str(target)


def test_calibration_per_tile_is_fitted_on_each_tiles_own_pixels(client, tmp_path):
    # Two tiles of 1 km (100 x 100 px each, with 101 and 151 sealed samples on the 60 m grid: a fit
    # each) cut by EXTENT from a larger generated sample.
    from imperviousness_plugin.core.status.calibration import run_apply_calibration, run_calibrate
    generate_sample(tmp_path / "sample", size=300)
    reference = tmp_path / "sample" / "reference"
    inputs = {"S2_A": str(tmp_path / "sample" / "s2" / str(YEAR_A)),
              "S2_B": str(tmp_path / "sample" / "s2" / str(YEAR_B)), "YEAR_A": YEAR_A, "YEAR_B": YEAR_B,
              "IMD_A": str(reference / f"IMD_{YEAR_A}_010m.tif"), "IBU_A": str(reference / f"IBU_{YEAR_A}_010m.tif"),
              "CLCPLUS_A": str(reference / f"CLCplus_{YEAR_A}_010m.tif"),
              "CLCPLUS_B": str(reference / f"CLCplus_{YEAR_B}_010m.tif")}
    output = tmp_path / "per_tile"
    options = RunOptions(tile_size=TILE_SIZE, extent=(4_729_000, 1_441_000, 4_731_000, 1_442_000),
                         calibration_per_tile=True)
    runner, report = run_tiles(inputs, output, options, client=client)
    # 2 tiles x 2 levels (the calibration now inside level 0), the change mask of the cell, publish
    assert not report.failed and len(report.computed) == 6
    assert [(tile.core.width, tile.core.height) for tile in runner.tiles] == [(100, 100)] * 2
    index = json.loads((output / "area" / "calibrate.OUTPUT.json").read_text())
    assert [record["tile_id"] for record in index["tiles"]] == [tile.tile_id for tile in runner.tiles]
    mosaic = output / "mosaic"
    coefficients = []
    for tile in runner.tiles:
        bounds, folder = runner.grid.bounds(tile.core), tmp_path / tile.tile_id
        folder.mkdir()
        crops = {name: cut(path, bounds, folder / f"{name}.tif") for name, path in (
            ("IMD_A", inputs["IMD_A"]), ("IBU_A", inputs["IBU_A"]),
            ("MSK_A", mosaic / "sealingmask_a.OUTPUT.vrt"), ("PP_A", mosaic / "preprocess_a.OUTPUT.vrt"),
            ("RIMD", mosaic / "predict_imd.OUTPUT.vrt"), ("MSK_B", mosaic / "sealingmask_b.OUTPUT.vrt"),
            ("PP_B", mosaic / "preprocess_b.OUTPUT.vrt"))}
        expected = folder / "calibration.json"
        run_calibrate(crops["IMD_A"], crops["MSK_A"], crops["PP_A"], crops["IBU_A"], str(expected))
        actual = output / "tiles" / tile.tile_id / "calibrate.OUTPUT.json"
        fitted = json.loads(actual.read_text())
        imd_b = gdal.Open(str(output / "tiles" / tile.tile_id / "applycalibration.OUTPUT.tif"))
        assert imd_b.GetMetadataItem("CALIBRATION") == os.path.join("tiles", tile.tile_id, "calibrate.OUTPUT.json")
        assert fitted["coefficients"] == json.loads(expected.read_text())["coefficients"], tile.tile_id
        coefficients.append(fitted["coefficients"])
        # The tile's IMD_B is its own calibration applied to its pixels.
        run_apply_calibration(crops["RIMD"], crops["MSK_B"], crops["PP_B"], str(actual), str(folder / "imd_b.tif"))
        np.testing.assert_array_equal(
            gdal.Open(str(output / "tiles" / tile.tile_id / "applycalibration.OUTPUT.tif")).ReadAsArray(),
            gdal.Open(str(folder / "imd_b.tif")).ReadAsArray(), err_msg=tile.tile_id)
    assert len({json.dumps(c, sort_keys=True) for c in coefficients}) == 2   # two fits
    # The report has no single calibration to show; the published IMD_B is the tiles' mosaic.
    assert not (output / hrl_name("CALIBRATION", YEAR_A, YEAR_B)).exists()
    np.testing.assert_array_equal(gdal.Open(str(output / hrl_name("IMD_B", YEAR_A, YEAR_B))).ReadAsArray(),
                                  gdal.Open(str(mosaic / "applycalibration.OUTPUT.vrt")).ReadAsArray())


def test_command_line_options_reach_the_run_options():
    from imperviousness_plugin.runner.__main__ import options_from, parse_arguments
    required = [f"--{name}=x" for name in ("s2-a", "s2-b", "imd-a", "ibu-a", "clcplus-a", "clcplus-b")]
    options = options_from(parse_arguments(required + ["--calibration-per-tile", "--tile-size=10000",
                                                       "--extent=1,2,3,4", "--halo=500", "out"]))
    assert options == RunOptions(tile_size=10000.0, extent=(1.0, 2.0, 3.0, 4.0), halo_m=500.0,
                                 calibration_per_tile=True)
    assert not options_from(parse_arguments(required + ["out"])).calibration_per_tile


# -- issue 24: re-runs that cannot lie ------------------------------------------------------------

def published(folder):
    """{relative path: bytes} of what publish wrote (products, styles, report, delivery)."""
    skip = ("tiles", "mosaic", "cells", "area", MANIFEST)
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file() and path.relative_to(folder).parts[0] not in skip}


def test_reruns_rebuild_what_is_missing_and_notice_changed_inputs(area, client, tiled_run, tmp_path):
    """Before: products deleted -> "computed 0, skipped 11", still missing; a tile output deleted
    with its manifest entry listing no outputs -> skipped, the mosaic held 3 of 4 tiles; IMD_A
    changed at the same path -> everything skipped, old products kept."""
    _, inputs = area
    inputs = dict(inputs, IMD_A=str(tmp_path / "IMD_A.tif"))
    gdal.Translate(inputs["IMD_A"], area[1]["IMD_A"])       # the user's copy, changed below
    output = tmp_path / "run"
    _, report = run_tiles(inputs, output, RunOptions(tile_size=TILE_SIZE), client=client)
    assert len(report.computed) == 11 and not report.failed
    first = published(output)
    assert any(name.startswith("delivery/") for name in first) and "report.html" in first
    manifest = json.loads((output / MANIFEST).read_text())
    assert set(manifest["tasks"]["area/publish"]["outputs"]) == set(first)   # publish's files recorded

    # 1. the published products (and the delivery) deleted: publish runs again, nothing else
    for name in first:
        if name.endswith(".tif") or name.startswith("delivery/"):
            (output / name).unlink()
    _, report = run_tiles(inputs, output, RunOptions(tile_size=TILE_SIZE), client=client)
    assert report.computed == ["area/publish"] and len(report.skipped) == 10
    assert published(output) == first

    # 2. a tile's output deleted and its manifest entry emptied: that tile runs again
    key = "x4729000_y1441000/level0"
    manifest = json.loads((output / MANIFEST).read_text())
    for relative in manifest["tasks"][key]["outputs"]:
        (output / relative).unlink()
    manifest["tasks"][key]["outputs"] = {}
    (output / MANIFEST).write_text(json.dumps(manifest))
    _, report = run_tiles(inputs, output, RunOptions(tile_size=TILE_SIZE), client=client)
    assert key in report.computed and not report.failed
    for vrt in sorted((output / "mosaic").glob("*.vrt")):   # the tiles' mosaics, level 0's among them
        mosaic = gdal.Open(str(vrt))
        tiles = [path for path in mosaic.GetFileList() if path.endswith(".tif") and "/tiles/" in path]
        assert len(tiles) in (0, 4), vrt.name        # 0: a cell's mosaic (the change mask)
        mosaic = None
    assert (output / "mosaic" / "align_imd_a.OUTPUT.vrt").is_file()
    mosaic = gdal.Open(str(output / "mosaic" / "align_imd_a.OUTPUT.vrt"))   # level 0
    assert len([path for path in mosaic.GetFileList() if path.endswith(".tif")]) == 4
    mosaic = None
    assert published(output) == first
    assert checksums(output) == checksums(tiled_run[2])

    # 3. IMD_A changed at the same path (same size, same name): the whole run again, new products
    dataset = gdal.Open(inputs["IMD_A"], gdal.GA_Update)
    band = dataset.GetRasterBand(1)
    changed = band.ReadAsArray()
    changed[:40, :40] = 0
    band.WriteArray(changed)
    band = dataset = None
    _, report = run_tiles(inputs, output, RunOptions(tile_size=TILE_SIZE), client=client)
    assert len(report.computed) == 11 and not report.skipped
    aligned = gdal.Open(str(output / "mosaic" / "align_imd_a.OUTPUT.vrt"))
    reference = gdal.Open(inputs["IMD_A"])
    col = round((reference.GetGeoTransform()[0] - aligned.GetGeoTransform()[0]) / 10)
    row = round((aligned.GetGeoTransform()[3] - reference.GetGeoTransform()[3]) / 10)
    np.testing.assert_array_equal(aligned.ReadAsArray(col, row, changed.shape[1], changed.shape[0]), changed)
    assert published(output)[hrl_name("IMD_B", YEAR_A, YEAR_B)] != first[hrl_name("IMD_B", YEAR_A, YEAR_B)]


def test_a_mosaic_never_holds_fewer_tiles_than_planned(tmp_path):
    from rasters import write_raster
    from imperviousness_plugin.runner.engine import build_mosaic
    tiles = [write_raster(tmp_path / f"t{k}.tif", np.full((10, 10), k, np.uint8), nodata=255,
                          origin=(4728000.0 + 100 * k, 1442000.0)) for k in range(2)]
    build_mosaic(str(tmp_path / "ok.vrt"), tiles)
    assert len(gdal.Open(str(tmp_path / "ok.vrt")).GetFileList()) == 3
    os.remove(tiles[1])
    with pytest.raises(ImperviousnessError, match="1 of 2 tile outputs are missing"):
        build_mosaic(str(tmp_path / "missing.vrt"), tiles)
    assert not (tmp_path / "missing.vrt").exists()


def builtup_graph():
    from imperviousness_plugin.graph import Graph, param
    graph = Graph("builtup_only", "IBU of a density layer", "")
    graph.child("builtup", "builtup", "IBU", 0, 0, {"INPUT": param("IMD_A")})
    return graph


def test_tiles_lists_exactly_the_cells_given(tmp_path, client):
    """Before: TILES=e47n14,e49n16 planned the 3 x 3 box of cells, 7 of them not asked for."""
    from rasters import write_raster
    from imperviousness_plugin.runner.engine import TileRunner
    # 1 km pixels over e47..e49 x n14..n16: 300 x 300 px
    density = np.arange(300 * 300, dtype=np.int64).reshape(300, 300) % 101
    reference = write_raster(tmp_path / "imd.tif", density.astype(np.uint8), nodata=255,
                             origin=(4_700_000.0, 1_700_000.0), pixel=1000.0)
    runner = TileRunner(builtup_graph(), {"IMD_A": reference}, tmp_path / "two",
                        RunOptions(tiles=("e47n14", "E49N16")))
    assert [code for code, _ in runner.cells] == ["e49n16", "e47n14"]
    assert [tile.tile_id for tile in runner.tiles] == ["x4900000_y1600000", "x4700000_y1400000"]
    report = runner.run(client)
    assert sorted(report.computed) == ["x4700000_y1400000/level0", "x4900000_y1600000/level0"]
    assert sorted(path.name for path in (tmp_path / "two" / "tiles").iterdir()) == [
        "x4700000_y1400000", "x4900000_y1600000"]
    mosaic = gdal.Open(str(tmp_path / "two" / "mosaic" / "builtup.OUTPUT.vrt"))
    assert len([path for path in mosaic.GetFileList() if path.endswith(".tif")]) == 2
    # the cells' pixels are IBU = density >= 10, as over the whole area
    for east, north in ((47, 14), (49, 16)):
        col, row = (east - 47) * 100, (16 - north) * 100
        x0, _, _, y0, _, _ = mosaic.GetGeoTransform()
        c, r = round((4_700_000 + col * 1000 - x0) / 1000), round((y0 - 1_700_000 + row * 1000) / 1000)
        np.testing.assert_array_equal(mosaic.ReadAsArray(c, r, 100, 100),
                                      (density[row:row + 100, col:col + 100] >= 10).astype(np.uint8))


# -- issue 24: model contracts checked before the first tile ---------------------------------------

def open_channel_model(path, weights_channels, features):
    """A one-conv ONNX model whose input leaves the channel count open ('c'), with weights for
    `weights_channels` channels and a contract listing `features` (names of toy_unet.BANDS)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from imperviousness_plugin.core.unet.contract import Feature, ModelContract, attach_contract
    from toy_unet import MEAN, STD
    weight = np.full((1, weights_channels, 3, 3), 0.1, np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["features", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         helper.make_node("Sigmoid", ["c"], ["density"])], "open",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", "c", "h", "w"])],
        [helper.make_tensor_value_info("density", TensorProto.FLOAT, ["n", 1, "h", "w"])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(np.zeros(1, np.float32), "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    count = len(features)
    attach_contract(model, ModelContract("IMD", tuple(Feature(b, "identity", (b,)) for b in features),
                                         MEAN[:count], STD[:count], tile_size=64, overlap=16, alignment=8))
    onnx.save(model, str(path))
    return str(path)


def test_an_open_channel_count_is_checked_against_the_contract_before_the_first_tile(tmp_path, client):
    """Before: a raw ONNX Runtime FusedConv traceback from the first tile's task."""
    from imperviousness_plugin.core.unet.predict import run_predict
    from imperviousness_plugin.runner.engine import TileRunner
    from toy_unet import random_bands, write_pp
    pp = write_pp(tmp_path / "pp.tif", random_bands(200, 200, seed=3))
    good = open_channel_model(tmp_path / "good.onnx", 3, ("A", "B", "C"))
    bad = open_channel_model(tmp_path / "bad.onnx", 3, ("A", "B"))
    message = (r"Model bad.onnx: the graph leaves its number of input channels open and does not accept "
               r"the contract's 2 features \(A, B\); ONNX Runtime says: ")
    with pytest.raises(ImperviousnessError, match=message):
        TileRunner(predict_graph(), {"PP": pp, "MODELS_IMD": [bad]}, tmp_path / "bad",
                   RunOptions(tile_size=1000.0, reference="PP"))
    assert not (tmp_path / "bad").exists()   # refused before any tile
    with pytest.raises(ImperviousnessError, match=message):
        run_predict(pp, [bad], str(tmp_path / "bad.tif"))
    # the same graph with the contract's channel count runs, over tiles as in one piece
    runner = TileRunner(predict_graph(), {"PP": pp, "MODELS_IMD": [good]}, tmp_path / "good",
                        RunOptions(tile_size=1000.0, reference="PP"))
    assert not runner.run(client).failed
    run_predict(pp, [good], str(tmp_path / "whole.tif"))
    np.testing.assert_array_equal(gdal.Open(str(tmp_path / "good" / "mosaic" / "predict.OUTPUT.vrt")).ReadAsArray(),
                                  gdal.Open(str(tmp_path / "whole.tif")).ReadAsArray())


def test_a_contract_tile_size_is_bounded(tmp_path):
    """Before: hrl.tile_size 65536 -> "Unable to allocate 64 GiB" in the first tile."""
    import onnx
    from imperviousness_plugin.core.unet.contract import load_contract
    from imperviousness_plugin.core.unet.predict import run_predict
    from imperviousness_plugin.runner.engine import TileRunner
    from toy_unet import conv_model, random_bands, write_pp
    pp = write_pp(tmp_path / "pp.tif", random_bands(100, 100, seed=4))
    path = conv_model(tmp_path / "huge.onnx", seed=1, tile=256, overlap=64)
    model = onnx.load(path)
    for entry in model.metadata_props:   # edited by hand, as a careless or hostile user would
        if entry.key == "hrl.tile_size":
            entry.value = "65536"
    onnx.save(model, path)
    message = r"Model huge.onnx: tile size 65536 is outside 1..4096 pixels"
    with pytest.raises(ImperviousnessError, match=message):
        load_contract(path)
    with pytest.raises(ImperviousnessError, match=message):
        run_predict(pp, [path], str(tmp_path / "out.tif"))
    with pytest.raises(ImperviousnessError, match=message):
        TileRunner(predict_graph(), {"PP": pp, "MODELS_IMD": [path]}, tmp_path / "run",
                   RunOptions(tile_size=1000.0, reference="PP"))
    assert not (tmp_path / "out.tif").exists() and not (tmp_path / "run").exists()


# -- issue 22: both generations delivered as the EEA defines them ----------------------------------

@pytest.fixture(scope="module")
def tiled_run_2024(tmp_path_factory, client):
    """The sample generated for 2021 and 2024, run over the same 2 x 2 tiles."""
    root = tmp_path_factory.mktemp("runtiles2024")
    sample = generate_sample(root / "sample", size=120, years=(2021, 2024))
    assert sample["years"] == [2021, 2024]
    reference = root / "sample" / "reference"
    inputs = {"S2_A": str(root / "sample" / "s2" / "2021"), "S2_B": str(root / "sample" / "s2" / "2024"),
              "YEAR_A": 2021, "YEAR_B": 2024,
              "IMD_A": str(reference / "IMD_2021_010m.tif"), "IBU_A": str(reference / "IBU_2021_010m.tif"),
              "CLCPLUS_A": str(reference / "CLCplus_2021_010m.tif"),
              "CLCPLUS_B": str(reference / "CLCplus_2024_010m.tif")}
    _, report = run_tiles(inputs, root / "tiled", RunOptions(tile_size=TILE_SIZE), client=client)
    assert not report.failed
    return root / "tiled"


@pytest.mark.parametrize("generation", ["2018-2021", "2021-2024"])
def test_the_eea_qc_tool_passes_every_delivered_product_of_both_generations(
        generation, tiled_run, tiled_run_2024, tmp_path):
    """The QC tool's own raster checks, unchanged (tests/eea_qc.py), IBUC included."""
    import eea_qc
    if eea_qc.repository() is None:
        pytest.skip("no local copy of github.com/eea/copernicus_quality_tools: set QC_TOOL_REPO to "
                    f"its git directory (default {eea_qc.DEFAULT_REPO}) to run its checks")
    output, prefix, status, change = {
        "2018-2021": (tiled_run[2], "clms_hrlnvlcc", "s2021", "c2018-2021"),
        "2021-2024": (tiled_run_2024, "clms_nvlcc", "s2024", "c2021-2024")}[generation]
    zips = sorted((output / "delivery").glob("*.zip"))
    assert [path.name for path in zips] == sorted(
        f"{prefix}_{code}_{status if code in ('imd', 'ibu', 'sbu') else change}_r{res}m_e47n14_03035_v01_r00.zip"
        for code, res in (("imd", 10), ("imd", 100), ("ibu", 10), ("sbu", 100), ("imdc", 20), ("imdc", 100),
                          ("imcc", 20), ("ibuc", 20), ("sbuc", 100), ("sbcc", 100)))
    results = eea_qc.run(eea_qc.extract(tmp_path / "qc_tool"), zips, tmp_path / "jobs")
    assert sorted(results) == [path.name for path in zips]
    for name, checks in results.items():
        for check in eea_qc.RASTER_CHECKS + ("attribute_vat_dbf",):
            assert checks[check] == {"status": "ok", "messages": []}, (name, check, checks[check])
        assert checks["inspire_xml"] == name[:-4] + ".xml", name
    readme = (output / "delivery" / "README.txt").read_text()
    assert f"{prefix}_*_{status}_*" in readme and "No EEA product definition" not in readme


def test_inputs_are_identified_by_content(tmp_path):
    """A changed file at the same path, small or large, and a changed file in a folder change the
    identity; an untouched copy does not (runner/identity.py)."""
    from imperviousness_plugin.runner import identity
    small, large = tmp_path / "small.tif", tmp_path / "large.tif"
    small.write_bytes(bytes(1000))
    data = bytearray(np.random.default_rng(1).integers(0, 256, identity.FULL_HASH_LIMIT + 5_000_000, np.uint8))
    large.write_bytes(bytes(data))
    folder = tmp_path / "s2"
    folder.mkdir()
    (folder / "B02.tif").write_bytes(b"band")
    before = identity.identify([str(small), str(large), str(folder), "not a path", 3])
    assert before[0] == {"size": 1000, "sha256": hashlib.sha256(small.read_bytes()).hexdigest()}
    assert set(before[1]) == {"size", "mtime_ns", "sampled_sha256"} and before[2]["files"]["B02.tif"]["size"] == 4
    assert before[3] is None and before[4] is None
    assert identity.identify([str(small), str(large), str(folder), "not a path", 3]) == before
    # the header of the large file changed, its size and mtime put back: the sample still sees it
    stat = os.stat(large)
    data[100] ^= 0xFF
    large.write_bytes(bytes(data))
    os.utime(large, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert identity.identify(str(large))["sampled_sha256"] != before[1]["sampled_sha256"]
    small.write_bytes(bytes(999) + b"x")
    assert identity.identify(str(small)) != before[0]
    (folder / "B02.tif").write_bytes(b"BAND")
    assert identity.identify(str(folder)) != before[2]
