"""Sentinel-2 straight from a STAC API (issue 11), against real servers on 127.0.0.1.

rustac serves a STAC API with Earth Search v1 items (collections sentinel-2-l2a and
sentinel-2-c1-l2a); uvicorn + starlette serve the COGs with HTTP Range and log every request.
"""

import json
import os

import numpy as np
import pytest
from osgeo import gdal

from tools import sampledata
from imperviousness_plugin.core.errors import Cancelled, ImperviousnessError
from imperviousness_plugin.core.features.preprocess import PreprocessOptions, run_preprocess
from imperviousness_plugin.core.io import stac
from feedback import Feedback
from stac_servers import (ASSET_KEYS, RangeFileServer, StacApi, earth_search_item,
                          overview_ranges, requested_ranges, write_item_files)

YEAR = 2021
SIZE = 512                      # 5.12 km "tile"
L2A, C1 = "sentinel-2-l2a", "sentinel-2-c1-l2a"
# sentinel-2-l2a as published: baseline, earthsearch:boa_offset_applied, and what the COGs hold
# (0: Earth Search removed the +1000, -1000: the +1000 is still in the DN). Plan 2 is the scene
# whose flag is wrong (Earth Search issues 66, 71): flagged as applied, but the DN are raw.
L2A_SCENES = {0: ("02.09", False, 0), 1: ("04.00", True, 0), 2: ("04.00", True, -1000),
              3: ("05.09", True, 0), 4: ("03.00", False, 0), 5: ("04.00", True, 0)}
WRONG_FLAG_PLAN = 2
# The AOI: 1/16 of the tile (a quarter of its width and height), in the middle, in UTM.
X0, Y1 = sampledata.UTM_ORIGIN
AOI = (X0 + 1920.0, Y1 - 3200.0, X0 + 3200.0, Y1 - 1920.0)


class Log(Feedback):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.messages = []

    def pushInfo(self, message):  # noqa: N802 (QgsProcessingFeedback API)
        self.messages.append(message)


@pytest.fixture(scope="module")
def world():
    return sampledata.simulate_world(size=SIZE, n_dates=len(L2A_SCENES))


@pytest.fixture(scope="module")
def catalogue(world, tmp_path_factory):
    """Both collections as COGs behind the range server, their items behind rustac, and the
    same acquisitions as local plain folders (the reference)."""
    root = tmp_path_factory.mktemp("stac")
    (root / "files").mkdir()
    files = RangeFileServer(str(root / "files"))
    plans = sampledata.acquisition_plan(world, YEAR)
    l2a = [sampledata.simulate_acquisition(world, plans[i], L2A_SCENES[i][0]) for i in L2A_SCENES]
    c1 = sampledata.simulate_acquisitions(world, YEAR)
    items = {L2A: [], C1: [], "missing-band": [], "wrong-grid": [], "gone": [], "two-tiles": [],
             "shifted": [], "tile-grids": []}
    for index, acq in enumerate(l2a):
        _, flag, stored = L2A_SCENES[index]
        items[L2A].append(earth_search_item(acq, L2A, files.url, flag, stored))
        write_item_files(acq, str(root / "files"), L2A, items[L2A][-1], stored)
    for acq in c1:   # Collection 1 keeps ESA's DN: raw, flag false, raster:bands offset -0.1
        items[C1].append(earth_search_item(acq, C1, files.url, False, -1000))
        write_item_files(acq, str(root / "files"), C1, items[C1][-1], -1000)
    broken = json.loads(json.dumps(items[C1][0]))
    del broken["assets"]["swir22"]
    items["missing-band"].append(dict(broken, collection="missing-band"))
    shifted = json.loads(json.dumps(items[C1][0]))
    shifted["properties"]["proj:epsg"] = 32634   # tile 33SVV published on zone 34
    items["wrong-grid"].append(dict(shifted, collection="wrong-grid"))
    gone = json.loads(json.dumps(items[C1][1]))
    gone["assets"]["red"]["href"] = gone["assets"]["red"]["href"].replace("B04.tif", "B04-gone.tif")
    items["gone"].append(dict(gone, collection="gone"))
    shifted = json.loads(json.dumps(items[C1][2]))   # metadata 20 m off its files' grid
    for asset in shifted["assets"].values():
        asset["proj:transform"][2] += 20.0
    items["shifted"].append(dict(shifted, collection="shifted"))
    items["tile-grids"] = [dict(items[C1][0], collection="tile-grids"),
                           dict(shifted, collection="tile-grids")]
    for item in items[C1][:2]:   # the same dates on a neighbouring tile, 2.56 km further east
        other = json.loads(json.dumps(item))
        other.update(id=item["id"].replace("33SVV", "33SWV"), collection="two-tiles")
        other["properties"]["grid:code"] = "MGRS-33SWV"
        for asset in other["assets"].values():
            asset["proj:transform"][2] += 2560.0
        items["two-tiles"].extend([dict(item, collection="two-tiles"), other])
    api = StacApi(str(root), items)
    local = {}
    for name, acqs in ((L2A, l2a), (C1, c1)):
        folder = root / f"local-{name}"
        for acq in acqs:
            sampledata.write_acquisition(acq, str(folder), "plain")
        local[name] = str(folder)
    yield {"api": api, "files": files, "root": root, "local": local, "items": items}
    api.stop()
    files.stop()


def request(catalogue, collection, cache, **kwargs):
    return stac.StacRequest(catalogue["api"].collection_url(collection), AOI,
                            sampledata._srs(sampledata.UTM_EPSG).ExportToWkt(),
                            start_date=kwargs.pop("start", None), end_date=kwargs.pop("end", None),
                            target_crs_wkt=sampledata._srs(3035).ExportToWkt(),
                            cache_folder=str(cache), **kwargs)


def pp(inputs, path, req):
    run_preprocess(inputs, str(path), PreprocessOptions(
        target_crs_wkt=req.target_crs_wkt, extent=req.extent, extent_crs_wkt=req.extent_crs_wkt))
    dataset = gdal.Open(str(path))
    assert 50 < dataset.RasterXSize < SIZE and 50 < dataset.RasterYSize < SIZE   # the AOI only
    return dataset.ReadAsArray()


def imagery(log):
    return [entry for entry in log if entry["path"].endswith(".tif")]


def gets_of(log):
    """The requests that read bytes of the files (HEAD requests read none)."""
    return [entry for entry in imagery(log) if entry["method"] == "GET"]


def test_l2a_pp_equals_local_pp_reads_only_the_window_and_caches(catalogue, tmp_path):
    req = request(catalogue, L2A, tmp_path / "cache")
    log = catalogue["files"].log
    before = len(log)
    feedback = Log()
    folders = stac.fetch_acquisitions(req, feedback)
    fetched = imagery(log[before:])
    assert len(folders) == len(L2A_SCENES)

    reference = pp(catalogue["local"][L2A], tmp_path / "local.tif", req)
    through_stac = pp(folders, tmp_path / "stac.tif", req)
    assert np.isfinite(reference[0]).mean() > 0.9
    np.testing.assert_array_equal(through_stac, reference)   # NaN == NaN here: byte for byte

    # The wrong flag was caught by the data and logged; the others agree.
    wrong = catalogue["items"][L2A][WRONG_FLAG_PLAN]["id"]
    disagreements = [m for m in feedback.messages if "the data decide" in m]
    assert len(disagreements) == 1 and wrong in disagreements[0]
    with open(os.path.join(folders[WRONG_FLAG_PLAN], "metadata.json"), encoding="utf-8") as stream:
        assert json.load(stream)["boa_add_offset"] == -1000

    # Only range requests, never an overview tile, and a small share of the files' bytes.
    assert fetched and all(e["method"] in ("GET", "HEAD") for e in fetched)
    gets = [e for e in fetched if e["method"] == "GET"]
    assert all(e["range"].startswith("bytes=") and e["status"] == 206 for e in gets)
    files_root = catalogue["root"] / "files"
    total = 0
    for item in catalogue["items"][L2A]:
        for band in ASSET_KEYS:
            path = files_root / L2A / item["id"] / f"{band}.tif"
            total += path.stat().st_size
            forbidden = overview_ranges(str(path))
            url_path = f"/{L2A}/{item['id']}/{band}.tif"
            for entry in (e for e in gets if e["path"] == url_path):
                for start, end in requested_ranges(entry):
                    header = start < 16384   # the IFDs and tile index, read once on open
                    assert header or not any(s <= end and start <= e for s, e in forbidden), \
                        f"{url_path}: range {start}-{end} reads overview data"
    ratio = sum(e["bytes"] for e in gets) / total
    print(f"AOI of 1/16 of the tile: {sum(e['bytes'] for e in gets)} of {total} bytes "
          f"({100 * ratio:.1f} %) in {len(gets)} range requests")
    assert ratio < 0.35

    # Second run: the cache answers after one HEAD per file (is the source unchanged?), no
    # pixel is read again, same PP.
    before = len(log)
    again = stac.fetch_acquisitions(req, Log())
    assert again == folders and gets_of(log[before:]) == []
    assert len(imagery(log[before:])) == len(L2A_SCENES) * len(ASSET_KEYS)
    np.testing.assert_array_equal(pp(again, tmp_path / "stac2.tif", req), reference)


@pytest.mark.parametrize("grid", ["EPSG:3035 from a UTM extent", "scene CRS from an EPSG:3035 extent"])
def test_c1_collection_with_baselines_from_04_00_equals_local_pp(catalogue, tmp_path, grid):
    req = request(catalogue, C1, tmp_path / "cache")
    if grid.startswith("scene"):   # exact 10 m copies, bilinear 20 m, an extent off every grid
        from osgeo import osr
        req.target_crs_wkt = None
        to_3035 = osr.CoordinateTransformation(sampledata._srs(sampledata.UTM_EPSG),
                                               sampledata._srs(3035))
        xmin, ymin, xmax, ymax = to_3035.TransformBounds(*AOI, 21)
        req.extent = (xmin + 3.7, ymin + 11.1, xmax - 7.3, ymax - 2.9)
        req.extent_crs_wkt = sampledata._srs(3035).ExportToWkt()
    items = catalogue["items"][C1]
    assert any(float(i["properties"]["s2:processing_baseline"]) >= 4.0 for i in items)
    folders = stac.fetch_acquisitions(req)
    np.testing.assert_array_equal(pp(folders, tmp_path / "stac.tif", req),
                                  pp(catalogue["local"][C1], tmp_path / "local.tif", req))


def test_503_and_dropped_connections_are_retried_with_identical_result(catalogue, tmp_path):
    reference_folders = stac.fetch_acquisitions(request(catalogue, C1, tmp_path / "clean"))
    reference = pp(reference_folders, tmp_path / "clean.tif", request(catalogue, C1, tmp_path))
    app = catalogue["files"].app
    items = catalogue["items"][C1]
    for index, band in ((0, "B04"), (1, "B11"), (2, "SCL"), (3, "B08")):
        path = f"/{C1}/{items[index]['id']}/{band}.tif"
        app.faults[path] = ["503", "503"] if index % 2 == 0 else ["drop"]
    before = len(app.log)
    req = request(catalogue, C1, tmp_path / "faulty")
    folders = stac.fetch_acquisitions(req)
    statuses = [e["status"] for e in app.log[before:]]
    assert statuses.count(503) == 4 and statuses.count("dropped") == 2
    assert not any(app.faults.values())
    np.testing.assert_array_equal(pp(folders, tmp_path / "faulty.tif", req), reference)


def test_missing_or_forbidden_asset_gives_scene_band_and_status(catalogue, tmp_path):
    item = catalogue["items"]["gone"][0]
    with pytest.raises(ImperviousnessError) as error:
        stac.fetch_acquisitions(request(catalogue, "gone", tmp_path / "cache"))
    message = str(error.value)
    assert "HTTP 404 (not found)" in message and item["id"] in message and "band B04" in message
    assert "'red'" in message and "B04-gone.tif" in message
    item = catalogue["items"][C1][4]
    catalogue["files"].app.faults[f"/{C1}/{item['id']}/B8A.tif"] = ["403"] * 10
    try:
        with pytest.raises(ImperviousnessError) as error:
            stac.fetch_acquisitions(request(catalogue, C1, tmp_path / "cache"))
    finally:
        catalogue["files"].app.faults.clear()
    message = str(error.value)
    assert "HTTP 403 (access denied)" in message and item["id"] in message
    assert "band B8A (asset 'nir08'" in message


def test_file_on_another_grid_than_its_item_is_refused(catalogue, tmp_path):
    with pytest.raises(ImperviousnessError, match="not on the item's grid") as error:
        stac.fetch_acquisitions(request(catalogue, "shifted", tmp_path / "cache"))
    assert catalogue["items"]["shifted"][0]["id"] in str(error.value)


def test_metadata_offset_rules():
    red = {"raster:bands": [{"scale": 0.0001, "offset": -0.1}]}
    # The flag wins over a stale raster:bands offset (sentinel-2-l2a after harmonisation).
    assert stac.metadata_offset({"earthsearch:boa_offset_applied": True}, {"red": red}) == 0
    assert stac.metadata_offset({"earthsearch:boa_offset_applied": False}, {"red": red}) == -1000
    zero = {"raster:bands": [{"scale": 0.0001, "offset": 0.0}]}
    assert stac.metadata_offset({"s2:processing_baseline": "04.00"}, {"red": zero}) == 0
    assert stac.metadata_offset({"s2:processing_baseline": "04.00"}, {"red": {}}) == -1000
    assert stac.metadata_offset({"s2:processing_baseline": "02.09"}, {}) == 0


def test_clear_errors_for_bad_items_and_empty_searches(catalogue, tmp_path):
    with pytest.raises(ImperviousnessError, match=r"has no B12 \(asset 'swir22'\)"):
        stac.search(request(catalogue, "missing-band", tmp_path))
    with pytest.raises(ImperviousnessError, match="not on its tile's UTM grid EPSG:32633"):
        stac.search(request(catalogue, "wrong-grid", tmp_path))
    shifted = catalogue["items"]["tile-grids"][1]["id"]
    with pytest.raises(ImperviousnessError, match=f"{shifted} of tile 33SVV .* of the same tile"):
        stac.search(request(catalogue, "tile-grids", tmp_path))
    with pytest.raises(ImperviousnessError) as error:
        stac.search(request(catalogue, C1, tmp_path, start=_date("2019-01-01"),
                            end=_date("2019-12-31")))
    message = str(error.value)
    assert "No Sentinel-2 item found" in message and "2019-01-01/2019-12-31" in message
    assert C1 in message and "bbox" in message
    with pytest.raises(ImperviousnessError, match="not a STAC collection URL"):
        stac.split_collection_url(catalogue["api"].url + "/search")


def test_search_follows_next_links_through_pages(catalogue, tmp_path):
    scenes = stac.search(request(catalogue, C1, tmp_path, page_size=2))
    assert [s.item_id for s in scenes] == [i["id"] for i in catalogue["items"][C1]]
    assert len(scenes) > 2


def test_max_cloud_filters_and_dry_run_reads_no_imagery(catalogue, tmp_path):
    log = catalogue["files"].log
    before = len(log)
    report = stac.dry_run(request(catalogue, L2A, tmp_path, max_cloud=50.0))
    assert imagery(log[before:]) == []
    clouds = [i["properties"]["eo:cloud_cover"] for i in catalogue["items"][L2A]]
    assert [row["cloud_cover"] for row in report["scenes"]] == [c for c in clouds if c <= 50.0]
    assert 0 < len(report["scenes"]) < len(clouds)
    row = report["scenes"][0]
    assert row["tile"] == "33SVV" and row["expected_bytes"] > 0 and not row["cached"]
    assert report["expected_bytes"] == sum(r["expected_bytes"] for r in report["scenes"])
    lines = stac.format_dry_run(report)
    assert any(row["item"] in line for line in lines)


def test_unreachable_catalogue_names_the_url(tmp_path):
    from stac_servers import free_port
    url = f"http://127.0.0.1:{free_port()}/v1/collections/{L2A}"
    req = stac.StacRequest(url, AOI, sampledata._srs(sampledata.UTM_EPSG).ExportToWkt(),
                           cache_folder=str(tmp_path))
    with pytest.raises(ImperviousnessError, match=r"search failed on page 1 at http://127\.0\.0\.1:\d+/v1/search"):
        stac.search(req)


def test_cancellation_between_requests_leaves_no_complete_scene(catalogue, tmp_path):
    req = request(catalogue, C1, tmp_path / "cache", parallel=1)
    with pytest.raises(Cancelled):
        stac.fetch_acquisitions(req, Log(checks=3))
    assert not list((tmp_path / "cache").rglob("metadata.json"))


def _date(text):
    import datetime
    return datetime.date.fromisoformat(text)


def test_qgis_process_preprocess_from_a_stac_url_and_stacsearch(catalogue, qgis_process, tmp_path):
    url = catalogue["api"].collection_url(C1)
    extent = f"{AOI[0]},{AOI[2]},{AOI[1]},{AOI[3]} [EPSG:{sampledata.UTM_EPSG}]"
    cache = tmp_path / "cache"
    listing = tmp_path / "scenes.json"
    result = qgis_process("run", "imperviousness:stacsearch", "--", f"INPUT={url}",
                          f"EXTENT={extent}", "START_DATE=2021-01-01", "END_DATE=2021-12-31",
                          f"CACHE_FOLDER={cache}", f"OUTPUT={listing}")
    with open(listing, encoding="utf-8") as stream:
        report = json.load(stream)
    assert [row["item"] for row in report["scenes"]] == [i["id"] for i in catalogue["items"][C1]]
    assert report["scenes"][0]["item"] in result.stdout and not cache.exists()

    outputs = {}
    for name, inputs in (("stac", url), ("local", catalogue["local"][C1])):
        outputs[name] = tmp_path / f"PP_2021_010m_{name}.tif"
        qgis_process("run", "imperviousness:preprocess", "--", f"INPUT={inputs}",
                     f"EXTENT={extent}", "START_DATE=2021-01-01", "END_DATE=2021-12-31",
                     "TARGET_CRS=EPSG:3035", f"CACHE_FOLDER={cache}", f"OUTPUT={outputs[name]}")
    assert len([name for name in os.listdir(cache / C1) if not name.endswith(".lock")]) == \
        len(catalogue["items"][C1])
    np.testing.assert_array_equal(gdal.Open(str(outputs["stac"])).ReadAsArray(),
                                  gdal.Open(str(outputs["local"])).ReadAsArray())
    result = qgis_process("run", "imperviousness:preprocess", "--", f"INPUT={url}",
                          f"OUTPUT={tmp_path / 'no_extent.tif'}", check=False)
    assert result.returncode != 0 and "EXTENT is required" in result.stdout + result.stderr


def test_one_tile_holding_the_whole_extent_is_read_alone(catalogue, tmp_path):
    feedback = Log()
    scenes = stac.search(request(catalogue, "two-tiles", tmp_path), feedback)
    assert [s.tile for s in scenes] == ["33SVV", "33SVV"]
    assert any("tile 33SVV covers the whole extent and holds the same datatake" in m and "33SWV" in m
               for m in feedback.messages)


def test_a_larger_extent_refetches_the_union_so_both_stay_cached(catalogue, tmp_path):
    log = catalogue["files"].log
    small = request(catalogue, C1, tmp_path / "cache")
    larger = request(catalogue, C1, tmp_path / "cache")
    larger.extent = (AOI[0] - 1000.0, AOI[1], AOI[2], AOI[3])
    stac.fetch_acquisitions(small)
    before = len(log)
    folders = stac.fetch_acquisitions(larger)
    assert gets_of(log[before:])   # the larger window was read
    with open(os.path.join(folders[0], "metadata.json"), encoding="utf-8") as stream:
        col, row, width, height = json.load(stream)["window"]
    first = stac.search(small)[0].window
    assert col < first.col - 40 and row <= first.row and col + width >= first.col + first.width
    assert row + height >= first.row + first.height
    before = len(log)
    for req in (small, larger):
        stac.fetch_acquisitions(req)
    assert gets_of(log[before:]) == []
