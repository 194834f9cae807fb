"""Hardening through real qgis_process runs: signals, failures, debris, determinism, value checks.

Every run gets a private TMPDIR, so the processing temp folder (`processing_XXXXXX`) of that very
process can be looked for; files are listed before and after in the output folder, the input
folders and that TMPDIR. Signals are sent to the real qgis_process.bin process (scripts/qgis_process
execs it) once it is writing a `.partial` file, or once it has published a first product.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time

import numpy as np
import pytest
from osgeo import gdal

from conftest import QGIS_PROCESS
from rasters import write_raster
from test_end_to_end import reference_arguments, s2_arguments
from tools.sampledata import generate_sample

MODEL = "imperviousness:hrl_imperviousness"
SIGNAL_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory):
    """A small generated sample (the end-to-end test's, size 160: the model runs in ~12 s)."""
    root = tmp_path_factory.mktemp("hardening")
    generate_sample(root / "sample", size=160)
    return root


def files_under(*folders):
    """Every file (not folder) under `folders`, as a set of paths."""
    return {os.path.join(top, name) for folder in folders for top, _, names in os.walk(folder)
            for name in names}


def private_tmpdir(tmp_path):
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    return folder


def foreign_file(path):
    """A file that qgis_process or onnxruntime leave in TMPDIR whatever the algorithm does.

    QGIS makes an empty QGIS3.XXXXXX file (beside empty folders) at start-up and removes it on a
    normal exit only; onnxruntime keeps a one-line `.ses` session file (timestamp and UUID) there.
    """
    name = os.path.basename(path)
    return name == ".ses" or (name.startswith("QGIS3.") and os.path.getsize(path) == 0)


def assert_no_run_debris(tmpdir):
    """No file of the run in its TMPDIR, and no processing temp folder."""
    assert {path for path in files_under(tmpdir) if not foreign_file(path)} == set()
    assert not [name for name in os.listdir(tmpdir) if name.startswith("processing_")]


def model_arguments(root, output):
    return ["run", MODEL, "--", *s2_arguments(root), *reference_arguments(root), f"OUTPUT_FOLDER={output}"]


# ----------------------------------------------------------------------------- determinism


def test_the_model_is_byte_identical_across_folders_and_cache_sizes(sample_root, qgis_process, tmp_path):
    inputs = files_under(sample_root / "sample")
    outputs = {}
    # Each layer of this small sample is one block, so no cache size can reorder its tiles here
    # (checked: also with GDAL_CACHEMAX=1 and without the per-window flush); the cache's effect
    # on a raster larger than the cache is tested in test_atomic_writes.py.
    for name, env in (("first", {}), ("second", {}), ("cache64", {"GDAL_CACHEMAX": "64"})):
        tmpdir = tmp_path / f"tmp_{name}"
        tmpdir.mkdir()
        outputs[name] = tmp_path / name
        qgis_process(*model_arguments(sample_root, outputs[name]), env=dict(env, TMPDIR=str(tmpdir)))
        assert_no_run_debris(tmpdir)
    # Nothing written beside the inputs (QGIS's statistics would land in <input>.aux.xml).
    assert files_under(sample_root / "sample") == inputs
    relative = {name: {os.path.relpath(path, folder) for path in files_under(folder)}
                for name, folder in outputs.items()}
    assert relative["first"] == relative["second"] == relative["cache64"]
    assert {"IMD_2021_010m.tif", "IMD_calibration_2018.json", "report.html", "products.json"} <= relative["first"]
    for path in sorted(relative["first"]):
        first = (outputs["first"] / path).read_bytes()
        for other in ("second", "cache64"):
            assert first == (outputs[other] / path).read_bytes(), (path, other)
        # No temporary path or output folder in any file (text or GeoTIFF tags), no host name in
        # a text file (in compressed pixels its few bytes could occur by chance).
        for text in (b"processing_", str(tmp_path).encode()):
            assert text not in first, (path, text)
        if path.endswith((".json", ".html", ".qml")):
            assert socket.gethostname().encode() not in first, path
    imd = gdal.Open(str(outputs["first"] / "IMD_2021_010m.tif"))
    assert imd.GetMetadataItem("CALIBRATION") == "IMD_calibration_2018.json"
    calibration = json.loads((outputs["first"] / "IMD_calibration_2018.json").read_text())
    assert calibration["inputs"]["PP_A"] == "PP_2018_010m.tif"
    assert calibration["inputs"]["SEALING_MASK_A"] == "IMD_MSK_2018_010m.tif"
    # The model calibrates on IMD_A padded to whole kilometres (a temporary copy): the record names
    # the user's file it was padded from, not the copy's temporary path.
    assert calibration["inputs"]["IMD_A"] == "IMD_2018_010m.tif"
    assert calibration["inputs"]["IBU_A"] == "IBU_2018_010m.tif"


# ----------------------------------------------------------------------------- signals


def partial_files(*folders):
    return [path for path in files_under(*folders) if ".partial" in os.path.basename(path)]


def published_files(output):
    return [path for path in files_under(output) if ".partial" not in os.path.basename(path)]


@pytest.mark.parametrize("signum, when", [
    (signal.SIGTERM, "writing"), (signal.SIGINT, "writing"), (signal.SIGTERM, "publishing"),
], ids=["SIGTERM while writing", "SIGINT while writing", "SIGTERM after the first product"])
def test_a_signal_during_the_model_leaves_nothing(sample_root, qgis_process_env, tmp_path, signum, when):
    tmpdir = private_tmpdir(tmp_path)
    output = tmp_path / "products"
    inputs = files_under(sample_root / "sample")
    # "writing": a .partial file exists (in the processing temp folder: an intermediate layer);
    # "publishing": a product is complete in OUTPUT_FOLDER, others are still to come.
    ready = {"writing": lambda: partial_files(tmpdir, output),
             "publishing": lambda: published_files(output)}[when]
    # The signal must land while the run is at that point; a run that gets past it before the
    # poll sees it (a loaded or a very fast machine) is started again, at most three times.
    for attempt in range(3):
        process = subprocess.Popen([str(QGIS_PROCESS), *model_arguments(sample_root, output)],
                                   env=dict(qgis_process_env, TMPDIR=str(tmpdir)),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + SIGNAL_TIMEOUT_S
            while not ready() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            if ready() and process.poll() is None:
                assert any(os.sep + "processing_" in path for path in files_under(tmpdir))
                process.send_signal(signum)
                log, _ = process.communicate(timeout=SIGNAL_TIMEOUT_S)
                break
            log, _ = process.communicate(timeout=SIGNAL_TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode == 0, f"the model failed before the signal:\n{log[-3000:]}"
        shutil.rmtree(output, ignore_errors=True)
        shutil.rmtree(tmpdir)
        tmpdir.mkdir()
    else:
        raise AssertionError(f"three runs got past the point to signal ({when}) unseen")
    # The process ended by the signal itself (a shell reports 128 + signal).
    assert process.returncode == -signum, log[-2000:]
    # One message says what happened (not qgis_process's three: caught, cancelled, failed).
    assert log.count(f"Stopped by {signal.Signals(signum).name}: this run's files were removed.") == 1
    assert "Caught signal" not in log and "Traceback" not in log
    assert_no_run_debris(tmpdir)
    assert not output.exists() or files_under(output) == set()
    assert files_under(sample_root / "sample") == inputs


# ----------------------------------------------------------------------------- failures


def test_an_invalid_input_found_late_leaves_nothing(qgis_process, tmp_path):
    # Three 512 px blocks; only the last holds densities above 100: the error comes mid-write.
    density = np.zeros((300, 1300), np.uint8)
    density[:, 1100:] = 150
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    imd = write_raster(inputs / "imd.tif", density, nodata=255)
    clcplus = write_raster(inputs / "clcplus.tif", np.ones_like(density), nodata=255)
    output = tmp_path / "out"
    output.mkdir()
    tmpdir = private_tmpdir(tmp_path)
    before = files_under(inputs)
    result = qgis_process("run", "imperviousness:sealingmask", "--", f"IMPERVIOUSNESS={imd}",
                          f"CLCPLUS={clcplus}", f"OUTPUT={output / 'mask.tif'}", check=False,
                          env={"TMPDIR": str(tmpdir)})
    assert result.returncode != 0
    assert f"IMPERVIOUSNESS ({imd}) holds 0..150" in result.stdout + result.stderr
    assert files_under(output) == set()
    assert files_under(inputs) == before
    assert_no_run_debris(tmpdir)


@pytest.mark.parametrize("read_only, expected", [
    (True, "the folder {folder} is not writable."),
    # Noise does not compress: its 1000 x 1000 cells at 20 m do not fit in 256 KiB.
    (False, "the disk is full."),
], ids=["read-only folder", "full disk"])
def test_a_write_failure_is_a_clear_error_naming_the_output(qgis_process, tmpfs, tmp_path, read_only, expected):
    noise = np.random.default_rng(3).random((2000, 2000), dtype=np.float32) * 100
    source = write_raster(tmp_path / "noise.tif", noise)
    folder = tmpfs("out", 256 * 1024, read_only=read_only)
    output = folder / "noise_20.tif"
    tmpdir = private_tmpdir(tmp_path)
    result = qgis_process("run", "imperviousness:aggregate", "--", f"INPUT={source}", "RESOLUTION=20",
                          f"OUTPUT={output}", check=False, env={"TMPDIR": str(tmpdir)})
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"Cannot write {output}: {expected.format(folder=folder)}" in log
    assert ".partial" not in log and "Traceback" not in log
    assert os.listdir(folder) == []
    assert_no_run_debris(tmpdir)


# ----------------------------------------------------------------------------- value checks


def test_all_zero_scl_weights_are_refused(sample_root, qgis_process, tmp_path):
    result = qgis_process("run", "imperviousness:preprocess", "--",
                          f"INPUT={sample_root / 'sample' / 's2' / '2018'}",
                          "SCL_WEIGHTS=0,0,0,0,0,0,0,0,0,0,0,0", f"OUTPUT={tmp_path / 'pp.tif'}", check=False)
    assert result.returncode != 0
    assert "SCL weights are all zero (0,0,0,0,0,0,0,0,0,0,0,0): no observation would be valid" in result.stdout + result.stderr
    assert not (tmp_path / "pp.tif").exists()


def test_overflowing_scl_weights_are_refused(sample_root, qgis_process, tmp_path):
    result = qgis_process("run", "imperviousness:preprocess", "--",
                          f"INPUT={sample_root / 'sample' / 's2' / '2018'}",
                          "SCL_WEIGHTS=0,0,0,10,50,50,50,10,5,1,1,1e308", f"OUTPUT={tmp_path / 'pp.tif'}",
                          check=False)
    assert result.returncode != 0
    assert "SCL weights must be at most 1e+06" in result.stdout + result.stderr
    assert not (tmp_path / "pp.tif").exists()


def test_a_calibration_file_with_m_above_m_max_is_refused(sample_root, qgis_process, tmp_path):
    reference = sample_root / "sample" / "reference" / "IMD_2018_010m.tif"
    calibration = tmp_path / "calibration.json"
    calibration.write_text(json.dumps({
        "format": "hrl-imperviousness-imd-calibration", "format_version": 1,
        "coefficients": {"a": 125.0, "b": -210.0, "M": 80.0, "n_hd": 0.12, "m": 90.0}}))
    result = qgis_process("run", "imperviousness:applycalibration", "--", f"RAW_IMD={reference}",
                          f"SEALING_MASK_B={reference}", f"PP_B={reference}", f"CALIBRATION={calibration}",
                          f"OUTPUT={tmp_path / 'imd.tif'}", check=False)
    assert result.returncode != 0
    assert (f"The calibration file {calibration} holds coefficients no calibration produces: "
            "coefficients.m = 90 (the new minimum must lie in [-100, M = 80])") in result.stdout + result.stderr
    assert not (tmp_path / "imd.tif").exists()
