"""The one atomic write and the one GeoTIFF profile: failures name the output, bytes are stable.

Write failures are produced on real file systems (a full or read-only tmpfs), the GDAL block
cache is set for real, and every expectation is computed here from the data written.
"""

import json
import math
import os

import numpy as np
import pytest
from osgeo import gdal

from imperviousness_plugin.core.errors import ImperviousnessError
from imperviousness_plugin.core.features.preprocess import (MAX_SCL_WEIGHT, PreprocessOptions,
                                                            parse_scl_weights)
from imperviousness_plugin.core.io import atomic
from imperviousness_plugin.core.io.raster import Grid, RasterWriter, Window, iter_blocks
from imperviousness_plugin.core.products import publish
from imperviousness_plugin.core.products.publish import copy_raster
from imperviousness_plugin.core.products.report import relative_to_folder
from imperviousness_plugin.core.status.calibration import Calibration

from rasters import write_raster

GRID = Grid("", (0.0, 10.0, 0.0, 0.0, 0.0, -10.0), 1024, 1024)


def smooth_bands(bands, window):
    """Compressible but window-dependent values (so every tile differs)."""
    rows, cols = np.mgrid[window.row:window.row + window.height, window.col:window.col + window.width]
    return np.stack([np.sin(rows / (7.0 + band)) * np.cos(cols / 5.0) for band in range(bands)]
                    ).astype(np.float32)


def write_grid(path, bands=3):
    with RasterWriter(path, GRID, bands, np.float32, np.nan) as writer:
        for window in iter_blocks(GRID.width, GRID.height):
            writer.write(window, smooth_bands(bands, window))
    return path


@pytest.fixture
def gdal_cache():
    """Set GDAL's block cache for one test and restore it after."""
    before = gdal.GetCacheMax()
    yield gdal.SetCacheMax
    gdal.SetCacheMax(before)


def test_raster_bytes_do_not_depend_on_the_gdal_cache(tmp_path, gdal_cache):
    # 1 MiB holds 4 of the 48 compressed 256 px tiles: GDAL evicts dirty tiles while the blocks
    # are written, in an order of its own unless each window is flushed (the old writer gave
    # different bytes here).
    gdal_cache(1 << 20)
    small = write_grid(tmp_path / "small_cache.tif").read_bytes()
    gdal_cache(1 << 30)
    large = write_grid(tmp_path / "large_cache.tif").read_bytes()
    assert small == large
    dataset = gdal.Open(str(tmp_path / "large_cache.tif"))
    np.testing.assert_array_equal(dataset.ReadAsArray(), smooth_bands(3, Window(0, 0, 1024, 1024)))
    structure = dataset.GetMetadata("IMAGE_STRUCTURE")
    assert structure["COMPRESSION"] == "DEFLATE" and structure["PREDICTOR"] == "3"
    assert dataset.GetRasterBand(1).GetBlockSize() == [256, 256]


def test_a_full_disk_is_named_and_leaves_nothing(tmpfs):
    folder = tmpfs("full", 256 * 1024)
    output = folder / "big.tif"
    with pytest.raises(ImperviousnessError) as raised:
        with RasterWriter(output, GRID, 1, np.float32, np.nan) as writer:
            for window in iter_blocks(GRID.width, GRID.height):
                noise = np.random.default_rng(window.row + window.col).random(
                    (window.height, window.width), dtype=np.float32)
                writer.write(window, noise)
    assert str(raised.value) == f"Cannot write {output}: the disk is full."
    with pytest.raises(ImperviousnessError, match=r"big\.json: the disk is full"):
        atomic.write_text(folder / "big.json", "x" * 300_000)
    assert os.listdir(folder) == []


def test_a_read_only_folder_is_named_and_leaves_nothing(tmpfs, tmp_path):
    folder = tmpfs("read_only", 1024 * 1024, read_only=True)
    for write in (lambda path: write_grid(path, bands=1), lambda path: atomic.write_json(path, {})):
        output = folder / "out.tif"
        with pytest.raises(ImperviousnessError, match="not writable") as raised:
            write(output)
        assert str(output) in str(raised.value) and ".partial" not in str(raised.value)
    source = write_raster(tmp_path / "source.tif", np.zeros((4, 4), np.uint8))
    with pytest.raises(ImperviousnessError, match=f"Cannot write {folder}/copy.tif"):
        copy_raster(source, folder / "copy.tif")
    assert os.listdir(folder) == []


def test_pending_files_are_removed_for_a_signal_handler(tmp_path):
    # The handler ends the process; were the block to go on, moving the removed file fails cleanly.
    with pytest.raises(ImperviousnessError, match=f"Cannot write {tmp_path}/out.json"), \
            atomic.atomic_path(tmp_path / "out.json") as temporary:
        with open(temporary, "w") as handle:
            handle.write("{}")
        assert os.path.basename(temporary).startswith(".out.") and os.path.exists(temporary)
        atomic.remove_pending_files()
        assert os.listdir(tmp_path) == []


def test_files_written_since_tracking_started_are_removed_for_a_signal_handler(tmp_path):
    atomic.write_text(tmp_path / "before.txt", "kept")
    atomic.track_written()
    try:
        atomic.write_text(tmp_path / "product.txt", "removed")
        write_grid(tmp_path / "product.tif", bands=1)
        atomic.remove_written_files()
        assert os.listdir(tmp_path) == ["before.txt"]
        atomic.remove_written_files()   # a second signal finds nothing more to remove
        assert (tmp_path / "before.txt").read_text() == "kept"
    finally:
        atomic.track_written(False)   # back to not recording, as outside qgis_process


def test_json_bytes_are_sorted_and_stable(tmp_path):
    atomic.write_json(tmp_path / "a.json", {"b": 1, "a": [1.5, None]})
    atomic.write_json(tmp_path / "b.json", {"a": [1.5, None], "b": 1})
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes() == \
        b'{\n  "a": [\n    1.5,\n    null\n  ],\n  "b": 1\n}\n'


def test_published_metadata_names_products_not_temporary_files(tmp_path):
    run_file = str(tmp_path / "processing_AbCdEf" / "0123" / "OUTPUT.json")
    source = write_raster(tmp_path / "source.tif", np.arange(16, dtype=np.uint8).reshape(4, 4), nodata=255,
                          descriptions=["IMD"])
    dataset = gdal.Open(source, gdal.GA_Update)
    dataset.SetMetadata({"CALIBRATION": run_file, "MODELS": "a.onnx"})
    dataset = None
    target = tmp_path / "out" / "IMD.tif"
    copy_raster(source, target, {run_file: "IMD_calibration_2018.json"})
    copied = gdal.Open(str(target))
    metadata = copied.GetMetadata()
    assert (metadata["CALIBRATION"], metadata["MODELS"]) == ("IMD_calibration_2018.json", "a.onnx")
    assert copied.GetRasterBand(1).GetDescription() == "IMD"
    np.testing.assert_array_equal(copied.ReadAsArray(), np.arange(16).reshape(4, 4))
    # No dead copy of the old value anywhere in the file's bytes.
    assert b"processing_" not in target.read_bytes()


def test_report_parameters_in_the_output_folder_are_relative(tmp_path):
    folder = tmp_path / "products"
    parameters = {"OUTPUT_FOLDER": str(folder), "IMD_A": "/data/IMD_2018.tif",
                  "LOG": str(folder / "logs" / "run.txt"), "YEAR_A": 2018, "NEIGHBOUR": str(folder) + "_old"}
    assert relative_to_folder(parameters, folder) == {
        "OUTPUT_FOLDER": ".", "IMD_A": "/data/IMD_2018.tif", "LOG": "logs/run.txt", "YEAR_A": 2018,
        "NEIGHBOUR": str(folder) + "_old"}


@pytest.mark.parametrize("text, message", [
    ("0,0,0,0,0,0,0,0,0,0,0,0", "all zero"),
    ("0,0,0,10,50,50,50,10,5,1,1,1e308", "at most 1e\\+06"),
    ("0,0,0,10,50,50,50,10,5,1,1,inf", "12 non-negative"),
    ("0,0,0,10,50,50,50,10,5,1,1,nan", "12 non-negative"),
    ("0,0,0,10,50,50,50,10,5,1,1,-1", "12 non-negative"),
])
def test_unusable_scl_weights_are_refused(text, message):
    with pytest.raises(ImperviousnessError, match=message):
        parse_scl_weights(text)
    weights = tuple(float(part) for part in text.split(","))
    with pytest.raises(ImperviousnessError, match=message):
        PreprocessOptions(scl_weights=weights)


def test_scl_weights_up_to_the_limit_are_accepted():
    weights = parse_scl_weights(f"0,0,0,0,{MAX_SCL_WEIGHT:g},0,0,0,0,0,0,1")
    assert weights[4] == MAX_SCL_WEIGHT and len(weights) == 12


def valid_calibration():
    return {"format": "hrl-imperviousness-imd-calibration", "format_version": 1,
            "coefficients": {"a": 125.0, "b": -210.0, "M": 100.0, "n_hd": 0.12, "m": -13.0}}


@pytest.mark.parametrize("change, message", [
    (lambda c: c.update(m=101.0), r"coefficients\.m = 101 \(the new minimum must lie in \[-100, M = 100\]\)"),
    (lambda c: c.update(M=150.0), r"coefficients\.M = 150"),
    (lambda c: c.update(b=5.0), r"coefficients\.b = 5 \(the NDVI slope must be negative\)"),
    (lambda c: c.update(n_hd=3.0), r"coefficients\.n_hd = 3"),
    (lambda c: c.update(a=math.nan), r"coefficients\.a is nan, not a finite number"),
    (lambda c: c.update(M=math.inf), r"coefficients\.M is inf, not a finite number"),
    (lambda c: c.update(m="low"), r"coefficients\.m is 'low', not a finite number"),
    (lambda c: c.pop("n_hd"), r"lacks the key coefficients\.n_hd"),
])
def test_calibration_files_out_of_range_are_refused_naming_file_and_key(tmp_path, change, message):
    data = valid_calibration()
    change(data["coefficients"])
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps(data), encoding="utf-8")   # Python writes NaN and Infinity as such
    with pytest.raises(ImperviousnessError, match=f"The calibration file {path}.*{message}"):
        Calibration.load(path)


def test_a_valid_calibration_file_loads(tmp_path):
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps(valid_calibration()), encoding="utf-8")
    calibration = Calibration.load(path)
    assert (calibration.new_minimum, calibration.high_density_max) == (-13.0, 100.0)
    assert calibration.high_density_value == pytest.approx(125.0 - 210.0 * 0.12)


def test_a_product_geotiff_naming_no_run_file_is_published_as_its_bytes(tmp_path, monkeypatch):
    """publish copies the PP stacks (7.4 GB each on a whole tile) as they are; anything else it
    writes again in the product profile, with the same pixels, descriptions and metadata."""
    monkeypatch.setattr(publish, "BYTE_COPY_MIN_BYTES", 0)   # small files stand for large ones
    product = write_grid(tmp_path / "pp.tif", bands=3)
    copy_raster(product, tmp_path / "out" / "PP.tif", {str(tmp_path / "other.tif"): "OTHER.tif"})
    assert (tmp_path / "out" / "PP.tif").read_bytes() == (tmp_path / "pp.tif").read_bytes()

    plain = write_raster(tmp_path / "plain.tif", np.arange(3 * 300 * 300, dtype=np.float32).reshape(3, 300, 300),
                         descriptions=["a", "b", "c"])   # uncompressed strips: not a product's GeoTIFF
    aux = str(write_grid(tmp_path / "aux.tif", bands=1))
    with open(aux + ".aux.xml", "w") as handle:   # says more than the file itself holds
        handle.write('<PAMDataset><Metadata><MDI key="ALIGNED_FROM">pp.tif</MDI></Metadata></PAMDataset>\n')
    for source in (plain, aux):
        target = tmp_path / "out" / os.path.basename(source)
        copy_raster(source, target)
        assert target.read_bytes() != open(source, "rb").read()
        copied, original = gdal.Open(str(target)), gdal.Open(source)
        assert copied.GetMetadata("IMAGE_STRUCTURE")["COMPRESSION"] == "DEFLATE"
        assert copied.GetRasterBand(1).GetBlockSize() == [256, 256]
        assert copied.GetMetadata() == original.GetMetadata()
        np.testing.assert_array_equal(copied.ReadAsArray(), original.ReadAsArray())
    assert gdal.Open(str(tmp_path / "out" / "aux.tif")).GetMetadata()["ALIGNED_FROM"] == "pp.tif"


def test_a_product_with_dead_bytes_from_rewritten_tiles_is_written_again(tmp_path, monkeypatch):
    """Strips of 100 rows flushed one by one rewrite each 256 px tile up to three times; the
    earlier versions stay in the file as dead bytes, so publish compresses it again."""
    monkeypatch.setattr(publish, "BYTE_COPY_MIN_BYTES", 0)
    grid = Grid("", (0.0, 10.0, 0.0, 512.0, 0.0, -10.0), 512, 512)
    values = np.random.default_rng(3).random((512, 512), dtype=np.float32)
    source = tmp_path / "rimd.tif"
    with RasterWriter(source, grid, 1, np.float32, np.nan) as writer:
        for top in range(0, 512, 100):
            writer.write(Window(0, top, 512, min(100, 512 - top)), values[top:top + 100])
    copy_raster(str(source), tmp_path / "out" / "RIMD.tif")
    copied = tmp_path / "out" / "RIMD.tif"
    assert copied.stat().st_size < 0.8 * source.stat().st_size
    np.testing.assert_array_equal(gdal.Open(str(copied)).ReadAsArray(), values)

