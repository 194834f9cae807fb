"""A STAC cache that cannot lie (issue 22, items 4 and 5), against real servers on 127.0.0.1.

A cached scene is used only when its manifest verifies: every band file's size and SHA-256, and
the source's ETag and size now (HEAD). Each case below is detected and fetched again, and what
ends up in the cache equals a clean fetch byte for byte: a file cut short, a file altered in
place, a source replaced on the server, the leftovers of a run killed with SIGKILL in the middle
of a fetch; and two qgis_process runs sharing the cache at the same time fetch each file once.
"""

import hashlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from osgeo import gdal

from tools import sampledata
from imperviousness_plugin.core.io import stac, stac_cache
from conftest import QGIS_PROCESS, ROOT
from feedback import Feedback
from stac_servers import ItemsApi, RangeFileServer, synthetic_items, write_cog

C1 = "sentinel-2-c1-l2a"
X0, Y1 = sampledata.UTM_ORIGIN
AOI = (X0 + 400.0, Y1 - 900.0, X0 + 900.0, Y1 - 400.0)
UTM = sampledata._srs(sampledata.UTM_EPSG).ExportToWkt()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    (root / "files").mkdir()
    files = RangeFileServer(str(root / "files"))
    items, acquisitions = synthetic_items(str(root / "files"), files, C1, n_dates=3)
    api = ItemsApi({C1: items})
    yield {"files": files, "items": items, "acquisitions": acquisitions, "root": root, "api": api}
    api.stop()
    files.stop()


def request(world, cache, **kwargs):
    return stac.StacRequest(world["api"].collection_url(C1), AOI, UTM, cache_folder=str(cache),
                            target_crs_wkt=UTM, **kwargs)


def fetched_items(world, since):
    """The item ids whose files were read (GET) since log position `since`."""
    return {entry["path"].split("/")[2] for entry in world["files"].log[since:]
            if entry["method"] == "GET"}


def digests(folders):
    """{(scene folder name, file): sha256} of the band files and the manifest's decisions."""
    found = {}
    for folder in folders:
        for name in sorted(os.listdir(folder)):
            if name.endswith(".tif"):
                found[(os.path.basename(folder), name)] = hashlib.sha256(pathlib.Path(folder, name).read_bytes()).hexdigest()
        with open(os.path.join(folder, "metadata.json"), encoding="utf-8") as stream:
            manifest = json.load(stream)
        found[(os.path.basename(folder), "offset")] = manifest["boa_add_offset"]
    return found


@pytest.fixture(scope="module")
def clean(world, tmp_path_factory):
    """The cache of one undisturbed fetch (the reference)."""
    folders = stac.fetch_acquisitions(request(world, tmp_path_factory.mktemp("clean")))
    return digests(folders)


def test_cut_short_or_altered_files_are_fetched_again(world, clean, tmp_path):
    cache = tmp_path / "cache"
    folders = stac.fetch_acquisitions(request(world, cache))
    items = world["items"]
    cut = os.path.join(folders[0], "B03.tif")
    with open(cut, "r+b") as stream:
        stream.truncate(os.path.getsize(cut) // 2)
    altered = os.path.join(folders[2], "SCL.tif")
    data = bytearray(open(altered, "rb").read())
    data[-10] ^= 0xFF    # same size, one byte flipped
    open(altered, "wb").write(bytes(data))

    before = len(world["files"].log)
    feedback = Feedback()
    again = stac.fetch_acquisitions(request(world, cache), feedback)
    assert fetched_items(world, before) == {items[0]["id"], items[2]["id"]}
    assert any(items[0]["id"] in m and "B03.tif is missing or cut short" in m for m in feedback.messages)
    assert any(items[2]["id"] in m and "SCL.tif does not match its checksum" in m for m in feedback.messages)
    assert digests(again) == clean


def test_a_changed_source_is_fetched_again(world, tmp_path):
    cache = tmp_path / "cache"
    stac.fetch_acquisitions(request(world, cache))
    item = world["items"][1]
    path = world["root"] / "files" / C1 / item["id"] / "B8A.tif"
    original = path.read_bytes()
    dataset = gdal.Open(str(path))
    changed = dataset.ReadAsArray()
    changed = np.where(changed > 0, changed + 7, 0).astype(np.uint16)   # a reprocessed file
    geotransform, crs = dataset.GetGeoTransform(), dataset.GetProjection()
    dataset = None
    try:
        time.sleep(1.1)   # a new modification time, as a re-upload has
        write_cog(str(path), changed, geotransform, crs)
        before = len(world["files"].log)
        feedback = Feedback()
        folders = stac.fetch_acquisitions(request(world, cache), feedback)
        assert fetched_items(world, before) == {item["id"]}
        assert any(item["id"] in m and "the source of band B8A changed" in m for m in feedback.messages)
        scene = stac.search(request(world, cache))[1]
        window = scene.band_window("B8A")
        cached = gdal.Open(os.path.join(folders[1], "B8A.tif")).ReadAsArray(
            window.col, window.row, window.width, window.height)
        np.testing.assert_array_equal(
            cached, changed[window.row:window.row + window.height, window.col:window.col + window.width])
    finally:
        path.write_bytes(original)


KILLED_FETCH = """
import json, sys
from imperviousness_plugin.core.io import stac
arguments = json.loads(sys.argv[1])
stac.fetch_acquisitions(stac.StacRequest(**arguments))
"""


def test_a_run_killed_in_the_middle_of_a_fetch_leaves_nothing_trusted(world, clean, tmp_path):
    cache = tmp_path / "cache"
    items = world["items"]
    slow = f"/{C1}/{items[1]['id']}/B05.tif"
    world["files"].app.faults[slow] = ["slow:60"]
    arguments = {"collection_url": world["api"].collection_url(C1), "extent": AOI,
                 "extent_crs_wkt": UTM, "target_crs_wkt": UTM, "cache_folder": str(cache),
                 "parallel": 1}
    before = len(world["files"].log)
    process = subprocess.Popen([sys.executable, "-c", KILLED_FETCH, json.dumps(arguments)],
                               cwd=str(ROOT), env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        deadline = time.monotonic() + 120
        while not any(e["path"] == slow for e in world["files"].log[before:]):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.2)
        process.send_signal(signal.SIGKILL)   # in the middle of the second scene's fetch
        process.wait(timeout=30)
    finally:
        world["files"].app.faults.clear()
        if process.poll() is None:
            process.kill()
    first, second = (next(p for p in (cache / C1).iterdir() if item["id"] in p.name and p.is_dir())
                     for item in items[:2])
    assert os.path.exists(os.path.join(first, "metadata.json"))       # finished before the kill
    assert os.path.exists(os.path.join(second, "B02.tif"))            # started, never finished
    assert not os.path.exists(os.path.join(second, "metadata.json"))

    before = len(world["files"].log)
    feedback = Feedback()
    started = time.monotonic()
    folders = stac.fetch_acquisitions(request(world, cache), feedback)
    assert time.monotonic() - started < 60   # the dead run's locks went with it
    assert fetched_items(world, before) == {items[1]["id"], items[2]["id"]}
    assert any(items[1]["id"] in m and "no complete manifest" in m for m in feedback.messages)
    assert digests(folders) == clean
    assert not [p for p in cache.rglob("*") if ".partial" in p.name]


def test_two_qgis_process_runs_sharing_one_cache(world, qgis_process_env, tmp_path):
    cache = tmp_path / "cache"
    extent = f"{AOI[0]},{AOI[2]},{AOI[1]},{AOI[3]} [EPSG:{sampledata.UTM_EPSG}]"
    # The first request for each scene's B02 answers after 20 s: the runs certainly overlap.
    for item in world["items"]:
        world["files"].app.faults[f"/{C1}/{item['id']}/B02.tif"] = ["slow:20"]
    before = len(world["files"].log)
    runs = []
    for name in ("one", "two"):
        runs.append(subprocess.Popen(
            [str(QGIS_PROCESS), "run", "imperviousness:preprocess", "--",
             f"INPUT={world['api'].collection_url(C1)}", f"EXTENT={extent}",
             f"TARGET_CRS=EPSG:{sampledata.UTM_EPSG}", f"CACHE_FOLDER={cache}",
             f"OUTPUT={tmp_path / f'PP_{name}.tif'}"],
            env=qgis_process_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    try:
        outputs = [run.communicate(timeout=600)[0] for run in runs]
    finally:
        world["files"].app.faults.clear()
    assert [run.returncode for run in runs] == [0, 0], outputs
    np.testing.assert_array_equal(gdal.Open(str(tmp_path / "PP_one.tif")).ReadAsArray(),
                                  gdal.Open(str(tmp_path / "PP_two.tif")).ReadAsArray())
    # Each file's header was read once: one run fetched, the other waited and used the cache.
    headers = [e["path"] for e in world["files"].log[before:]
               if e["method"] == "GET" and e["range"].startswith("bytes=0-")]
    assert len(headers) == len(set(headers)) == 3 * 11
    assert sum("3 verified in the cache" in output for output in outputs) == 1
    assert sum("being fetched by another run sharing the cache; waiting" in output
               for output in outputs) == 1
    folders = sorted(p.parent for p in cache.rglob("metadata.json"))
    assert len(folders) == 3
    with stac_cache.folder_lock(str(folders[0])):   # nobody holds it any more
        pass
