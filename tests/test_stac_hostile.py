"""Catalogues that cannot corrupt results (issue 24, items 1-5), against real servers on 127.0.0.1.

A STAC API that serves items exactly as given (stac_servers.ItemsApi: hostile ids, duplicates,
odd fields, a `next` link to itself, a trickling or stalled answer), the COG range server of the
other STAC tests, and a TCP server that never answers. Every test here failed on the code before
issue 24 (checked on a copy of main): escaped writes, double counting, endless or hour-long
searches and fetches, deleted cache, raw tracebacks.
"""

import contextlib
import copy
import json
import os
import signal
import time

import numpy as np
import pytest
from osgeo import gdal

from tools import sampledata
from imperviousness_plugin.core.errors import Cancelled, ImperviousnessError
from imperviousness_plugin.core.features.preprocess import PreprocessOptions, run_preprocess
from imperviousness_plugin.core.io import stac, stac_cache
from imperviousness_plugin.core.io.stac_http import Limits
from feedback import Feedback
from stac_servers import (ItemsApi, RangeFileServer, SilentServer, local_folders, synthetic_items)

C1 = "sentinel-2-c1-l2a"
X0, Y1 = sampledata.UTM_ORIGIN
AOI = (X0 + 400.0, Y1 - 900.0, X0 + 900.0, Y1 - 400.0)
UTM = sampledata._srs(sampledata.UTM_EPSG).ExportToWkt()


@contextlib.contextmanager
def within(seconds):
    """Fails the test when the block runs longer (the old code searched / fetched for minutes)."""
    def expired(signum, frame):
        raise AssertionError(f"still running after {seconds} s")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    started = time.monotonic()
    try:
        yield lambda: time.monotonic() - started
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    (root / "files").mkdir()
    files = RangeFileServer(str(root / "files"))
    items, acquisitions = synthetic_items(str(root / "files"), files, C1, n_dates=3)
    yield {"files": files, "items": items, "acquisitions": acquisitions, "root": root}
    files.stop()


@pytest.fixture
def serve():
    """Start ItemsApi servers for one test; all stopped afterwards."""
    started = []

    def start(collections, **kwargs):
        started.append(ItemsApi(collections, **kwargs))
        return started[-1]
    yield start
    for api in started:
        api.stop()


def request(api, collection, cache, **kwargs):
    return stac.StacRequest(api.collection_url(collection), AOI, UTM, cache_folder=str(cache),
                            target_crs_wkt=UTM, **kwargs)


def clone(item, **properties):
    copied = copy.deepcopy(item)
    copied["properties"].update(properties)
    return copied


def tree(folder):
    """{relative path: bytes} of every file under `folder`."""
    found = {}
    for base, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            with open(path, "rb") as stream:
                found[os.path.relpath(path, folder)] = stream.read()
    return found


# -- item ids are data, not paths ---------------------------------------------------------------


def test_hostile_item_ids_never_write_outside_the_cache(world, serve, tmp_path):
    victim = tmp_path / "victim" / "S2A_20210314"
    victim.mkdir(parents=True)
    (victim / "B02.tif").write_bytes(b"canary: the user's own acquisition")
    (victim / "metadata.json").write_text('{"boa_add_offset": 0}')
    cache = tmp_path / "cache"
    hostile_ids = ["../../victim/S2A_20210314",                    # relative escape
                   str(tmp_path / "victim" / "S2A_20210314"),       # absolute path
                   "a/../../../victim/S2A_20210314",
                   "..\\..\\victim\\S2A_20210314",
                   ".."]
    items = []
    for index, item_id in enumerate(hostile_ids):   # distinct datatakes, so none is a duplicate
        item = copy.deepcopy(world["items"][index % len(world["items"])])
        item["id"] = item_id
        item["properties"]["s2:product_uri"] = f"S2A_MSIL2A_2021031{index}T095031_N0400_R079_T33SVV_X.SAFE"
        items.append(item)
    api = serve({C1: items})
    outside_before = {k: v for k, v in tree(tmp_path).items() if not k.startswith("cache")}
    feedback = Feedback()
    folders = stac.fetch_acquisitions(request(api, C1, cache), feedback)

    assert tree(victim) == {"B02.tif": b"canary: the user's own acquisition",
                            "metadata.json": b'{"boa_add_offset": 0}'}
    outside_after = {k: v for k, v in tree(tmp_path).items() if not k.startswith("cache")}
    assert outside_after == outside_before
    assert len(folders) == len(hostile_ids)
    root = os.path.realpath(cache)
    for folder in folders:
        assert os.path.realpath(folder).startswith(root + os.sep)
        assert os.path.isfile(os.path.join(folder, "B02.tif"))
    for item_id in hostile_ids:   # each reported, by its id
        assert any(repr(item_id) in m and "path characters" in m for m in feedback.warnings)
    with pytest.raises(ImperviousnessError, match="outside the cache folder"):
        stac_cache.inside(str(cache), str(cache / ".." / "victim"))


# -- one scene once -----------------------------------------------------------------------------


def test_each_scene_is_read_once_and_the_dry_run_says_what_was_dropped(world, serve, tmp_path):
    first, second, third = world["items"]
    reprocessed = clone(second, **{"s2:processing_baseline": "05.10"})   # same datatake, newer
    reprocessed["id"] = second["id"].replace("_0_L2A", "_1_L2A")
    older = clone(second, **{"s2:processing_baseline": "02.09"})
    older["id"] = second["id"].replace("_0_L2A", "_2_L2A")
    # The same id with other content (a later date), processed earlier: the first one is read.
    stale = clone(third, datetime="2021-12-30T09:50:31.024000Z", updated="2020-01-01T00:00:00Z")
    offered = [first, older, second, copy.deepcopy(first), third, reprocessed, stale]
    api = serve({C1: offered})
    report = stac.dry_run(request(api, C1, tmp_path / "cache"))
    assert [row["item"] for row in report["scenes"]] == [first["id"], reprocessed["id"], third["id"]]
    reasons = {(row["item"], row["reason"].split(" ")[0]) for row in report["dropped"]}
    assert reasons == {(first["id"], "the"), (third["id"], "the"),
                       (second["id"], "datatake"), (older["id"], "datatake")}
    assert all("05.10" in row["reason"] for row in report["dropped"] if row["item"] == second["id"])
    assert any("dropped" in line and older["id"] in line for line in stac.format_dry_run(report))

    # The PP counts each observation once: equal to the PP of the three local acquisitions.
    req = request(api, C1, tmp_path / "cache")
    folders = stac.fetch_acquisitions(req)
    assert len(folders) == 3
    local = local_folders(world["acquisitions"], tmp_path / "local")
    options = PreprocessOptions(target_crs_wkt=UTM, extent=AOI, extent_crs_wkt=UTM)
    run_preprocess(folders, str(tmp_path / "stac.tif"), options)
    run_preprocess(local, str(tmp_path / "local.tif"), options)
    through_stac = gdal.Open(str(tmp_path / "stac.tif")).ReadAsArray()
    reference = gdal.Open(str(tmp_path / "local.tif")).ReadAsArray()
    assert np.nanmax(through_stac[-1]) == 3 == np.nanmax(reference[-1])   # NOBS
    np.testing.assert_array_equal(through_stac, reference)


# -- bounded searches and fetches ---------------------------------------------------------------


def test_a_catalogue_whose_next_link_loops_fails_naming_it(world, serve, tmp_path):
    api = serve({C1: world["items"]}, mode="loop")
    with within(30) as elapsed, pytest.raises(ImperviousnessError) as error:
        stac.search(request(api, C1, tmp_path))
    assert "loops" in str(error.value) and f"{api.url}/search" in str(error.value)
    assert len(api.requests) == 1 and elapsed() < 10   # noticed before asking again


@pytest.mark.parametrize("mode", ["trickle", "stall"])
def test_a_slow_catalogue_fails_within_the_budget_naming_the_url(world, serve, tmp_path, mode):
    api = serve({C1: world["items"]}, mode=mode, delay=0.2)
    limits = Limits(timeout=2, search_budget=6)
    with within(60) as elapsed, pytest.raises(ImperviousnessError) as error:
        stac.search(request(api, C1, tmp_path, limits=limits))
    message = str(error.value)
    assert f"{api.url}/search" in message and "budget" in message, message
    assert elapsed() < 12


def test_page_and_item_caps_and_cancellation_between_pages(world, serve, tmp_path):
    api = serve({C1: world["items"]})
    with pytest.raises(ImperviousnessError, match=r"more than 2 pages \(MAX_PAGES\)"):
        stac.search(request(api, C1, tmp_path, page_size=1, limits=Limits(max_pages=2)))
    with pytest.raises(ImperviousnessError, match=r"more than 2 items \(MAX_ITEMS\)"):
        stac.search(request(api, C1, tmp_path, page_size=2, limits=Limits(max_items=2)))
    before = len(api.requests)
    with pytest.raises(Cancelled):
        stac.search(request(api, C1, tmp_path, page_size=1), Feedback(checks=1))
    assert len(api.requests) - before == 1   # stopped after the first page
    assert len(stac.search(request(api, C1, tmp_path, page_size=1))) == 3


def test_an_image_server_that_never_answers_fails_the_scene_within_its_budget(world, serve, tmp_path):
    silent = SilentServer()
    try:
        item = copy.deepcopy(world["items"][0])
        for asset in item["assets"].values():
            asset["href"] = asset["href"].replace(world["files"].url, silent.url)
        api = serve({C1: [item]})
        req = request(api, C1, tmp_path / "cache", limits=Limits(timeout=1, scene_budget=4))
        with within(60) as elapsed, pytest.raises(ImperviousnessError) as error:
            stac.fetch_acquisitions(req)
        assert elapsed() < 20
    finally:
        silent.stop()
    message = str(error.value)
    assert silent.url in message and item["id"] in message, message


# -- failures keep finished work ----------------------------------------------------------------


def test_a_failed_band_fails_its_scene_only_and_finished_scenes_stay(world, serve, tmp_path,
                                                                     qgis_process):
    items = copy.deepcopy(world["items"])
    gone = items[-1]["assets"]["red"]
    gone["href"] = gone["href"].replace("B04.tif", "B04-late.tif")
    api = serve({C1: items})
    cache = tmp_path / "cache"
    extent = f"{AOI[0]},{AOI[2]},{AOI[1]},{AOI[3]} [EPSG:{sampledata.UTM_EPSG}]"
    args = ("run", "imperviousness:preprocess", "--", f"INPUT={api.collection_url(C1)}",
            f"EXTENT={extent}", f"TARGET_CRS=EPSG:{sampledata.UTM_EPSG}", f"CACHE_FOLDER={cache}",
            f"OUTPUT={tmp_path / 'PP.tif'}")
    result = qgis_process(*args, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "HTTP 404 (not found)" in output and items[-1]["id"] in output
    assert "1 of 3 scenes could not be fetched" in output
    manifests = sorted(cache.rglob("metadata.json"))
    assert len(manifests) == 2 and not (tmp_path / "PP.tif").exists()
    kept = {json.loads(path.read_text())["stac_item"] for path in manifests}
    assert kept == {items[0]["id"], items[1]["id"]}

    # The late file appears: the rerun reads only the failed scene's files.
    source = world["root"] / "files" / C1 / items[-1]["id"]
    (source / "B04-late.tif").write_bytes((source / "B04.tif").read_bytes())
    log = world["files"].log
    before = len(log)
    qgis_process(*args)
    read = {entry["path"].split("/")[2] for entry in log[before:] if entry["method"] == "GET"}
    assert read == {items[-1]["id"]}
    assert (tmp_path / "PP.tif").exists()


# -- every odd field gets a message naming the item and the field -------------------------------


def _odd(item, change):
    odd = copy.deepcopy(item)
    change(odd)
    return odd


ODD = {
    "datetime null": (lambda i: i["properties"].update(datetime=None), "properties.datetime None"),
    "datetime text": (lambda i: i["properties"].update(datetime="yesterday"), "properties.datetime 'yesterday'"),
    "unknown EPSG": (lambda i: i["properties"].update({"proj:epsg": 99999}), "proj:epsg 99999 is not a known EPSG"),
    "EPSG text": (lambda i: i["properties"].update({"proj:epsg": "utm33"}), "properties.proj:epsg 'utm33'"),
    "transform text": (lambda i: i["assets"]["nir"].update({"proj:transform": ["10", "0", "x", 0, -10, 0]}),
                       "assets.nir.proj:transform"),
    "shape text": (lambda i: i["assets"]["scl"].update({"proj:shape": ["a", 3]}), "assets.scl.proj:shape"),
    "relative href without self link": (lambda i: i["assets"]["red"].update(href="B04.tif"),
                                        "assets.red.href 'B04.tif' is relative and the item has no absolute self link"),
    "no id": (lambda i: i.update(id=None), "STAC item number 1 of the search has no id"),
}


@pytest.mark.parametrize("case", sorted(ODD))
def test_odd_item_fields_are_named(world, serve, tmp_path, case):
    change, expected = ODD[case]
    item = _odd(world["items"][0], change)
    api = serve({C1: [item]})
    with pytest.raises(ImperviousnessError) as error:
        stac.search(request(api, C1, tmp_path))
    message = str(error.value)
    assert expected in message, message
    if item["id"]:
        assert item["id"] in message


def test_odd_but_usable_fields_are_read_or_noted(world, serve, tmp_path):
    base = world["items"]
    start_only = _odd(base[0], lambda i: i["properties"].update(
        {"datetime": None, "start_datetime": base[0]["properties"]["datetime"], "eo:cloud_cover": 0}))
    text_cloud = _odd(base[1], lambda i: i["properties"].update({"eo:cloud_cover": "12.5"}))
    null_cloud = _odd(base[2], lambda i: i["properties"].update({"eo:cloud_cover": None}))
    relative = _odd(base[2], lambda i: i["assets"]["red"].update(href="B04.tif"))
    relative["links"] = [{"rel": "self", "href": base[2]["assets"]["blue"]["href"].replace("B02.tif", "item.json")}]
    relative["id"] = "relative"
    relative["properties"]["eo:cloud_cover"] = 1.0
    relative["properties"]["s2:product_uri"] = "S2B_MSIL2A_20211231T095031_N0400_R079_T33SVV_X.SAFE"
    cloudy = _odd(base[1], lambda i: i["properties"].update({"eo:cloud_cover": "15.5"}))
    cloudy["id"] = "cloudy"
    cloudy["properties"]["s2:product_uri"] = "S2B_MSIL2A_20211230T095031_N0400_R079_T33SVV_X.SAFE"
    api = serve({C1: [start_only, text_cloud, null_cloud, relative, cloudy]})
    feedback = Feedback()
    scenes = stac.search(request(api, C1, tmp_path, max_cloud=15.0), feedback)
    assert "cloudy" not in {scene.item_id for scene in scenes}   # "15.5" read as a number
    by_id = {scene.item_id: scene for scene in scenes}
    assert by_id[start_only["id"]].date.isoformat() == base[0]["properties"]["datetime"][:10]
    assert by_id[text_cloud["id"]].cloud_cover == 12.5
    assert by_id[null_cloud["id"]].cloud_cover is None
    assert any(null_cloud["id"] in m and "eo:cloud_cover None" in m for m in feedback.warnings)
    assert by_id["relative"].hrefs["B04"] == base[2]["assets"]["red"]["href"]
