"""The 27 real Earth Search v1 items (issue 22, items 1-3), served from 127.0.0.1.

`../shared/data/stac/earth-search-v1/` holds real `sentinel-2-l2a` items (tile 33TWN 2016-2022
with baselines 00.01 to 04.00, 33TWL / 33TWM and 32TMS with 05.09, 12RWT with 05.10). rustac
serves them unchanged except their hrefs, which point to files written here on each asset's own
`proj:shape` / `proj:transform` (the full 10980 px tile), of which only windows around the
test's areas hold pixels (sparse tiled GeoTIFFs, so the files stay small). The `-jp2` twins
point to files that do not exist: any request for them would show in the access log.

Pixels: a class map (SCL 4 vegetation, 5 bare, 6 water, 8/9 cloud) with reflectances per
class; the stored DN carry the +1000 of baseline 04.00 where the item's metadata say they do,
except `S2B_33TWN_20220226_0_L2A` (baseline 04.00, raster:bands offset -0.1,
earthsearch:boa_offset_applied false), which is served twice: once with the +1000 in the data
and once without, so only the data can decide.

`sentinel-2-c1-l2a` items are derived from the real ones as Earth Search serves that collection:
ids `S2B_T33TWN_20220226T095029_L2A` (spacecraft, tile, sensing time of s2:product_uri), no
`earthsearch:*` properties, no `-jp2` twins, `raster:bands` offset -0.1 from baseline 04.00 and 0
before, and ESA's DN as distributed (the +1000 in the data from baseline 04.00). The original
baselines are kept (Earth Search's own Collection 1 reprocessed everything to 05.xx) so that
both offsets occur.
"""

import copy
import hashlib
import json
import os
import pathlib
import re

import numpy as np
import pytest
from osgeo import gdal, osr

from imperviousness_plugin.core.features.preprocess import PreprocessOptions, run_preprocess
from imperviousness_plugin.core.io import stac
from imperviousness_plugin.core.io.raster import Grid, Window, transform_bounds
from conftest import ROOT
from feedback import Feedback
from stac_servers import ASSET_KEYS, RangeFileServer, StacApi

ITEMS = ROOT.parent / "shared" / "data" / "stac" / "earth-search-v1"
L2A, C1 = "sentinel-2-l2a", "sentinel-2-c1-l2a"
DISPUTED = "S2B_33TWN_20220226_0_L2A"
# Areas of 600 m (extent CRS EPSG, bounds): inside every 33TWN footprint; where 33TWN and 33TWM
# overlap (different years: both kept); 33TWL alone; where 33TWM and 33TWL overlap (the same
# datatakes: 33TWL's copies are dropped); 32TMS (UTM 32); 12RWT (UTM 12).
AOIS = {"TWN": (32633, (560000.0, 5230000.0, 560600.0, 5230600.0)),
        "TWN+TWM": (32633, (560000.0, 5194000.0, 560600.0, 5194600.0)),
        "TWL": (32633, (560000.0, 5050000.0, 560600.0, 5050600.0)),
        "TWM+TWL": (32633, (560000.0, 5095000.0, 560600.0, 5095600.0)),
        "TMS": (32632, (450000.0, 5150000.0, 450600.0, 5150600.0)),
        "RWT": (32612, (560000.0, 3250000.0, 560600.0, 3250600.0))}
DATA_MARGIN_M = 1000.0     # pixels are written this far around each area (the fetch needs ~120 m)
BLOCK = 256
# Reflectance DN per SCL class (truth, without any offset): water is the dark target.
CLASSES = (4, 5, 6, 8)
DN = {4: (300, 3200), 5: (1500, 2600), 6: (60, 350), 8: (5200, 7000)}
NIR_BANDS = ("B06", "B07", "B08", "B8A")


def wkt(epsg):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    return srs.ExportToWkt()


def real_items():
    items = [json.loads(path.read_text()) for path in sorted(ITEMS.glob("*.json"))]
    assert len(items) == 27
    return items


def shifted_as_metadata_say(item):
    return stac.metadata_offset(item["properties"], item["assets"]) == -1000


def c1_item(item):
    """The item as Earth Search's sentinel-2-c1-l2a serves it (see the module docstring)."""
    derived = copy.deepcopy(item)
    uri = item["properties"]["s2:product_uri"]
    spacecraft, sensing, tile = re.match(r"(S2[AB])_MSIL2A_(\d{8}T\d{6})_N\d{4}_R\d{3}_T(\w{5})_", uri).groups()
    derived["id"] = f"{spacecraft}_T{tile}_{sensing}_L2A"
    derived["collection"] = C1
    derived["properties"] = {k: v for k, v in item["properties"].items() if not k.startswith("earthsearch:")}
    derived["assets"] = {k: v for k, v in item["assets"].items() if not k.endswith("-jp2")}
    offset = -0.1 if float(item["properties"]["s2:processing_baseline"]) >= 4.0 else 0.0
    for asset in derived["assets"].values():
        for band in asset.get("raster:bands") or []:
            if "offset" in band:
                band["offset"] = offset
    return derived


def pixel_windows(asset, epsg, res):
    """(grid, [Window]) of an asset: its grid from proj:shape / proj:transform, and the windows
    (in its pixels, aligned to 20 m) around every test area inside it."""
    height, width = asset["proj:shape"]
    a, _, c, _, e, f = asset["proj:transform"][:6]
    grid = Grid(wkt(epsg), (c, a, 0.0, f, 0.0, e), width, height)
    windows = []
    for area_epsg, bounds in AOIS.values():
        if area_epsg != epsg:   # the areas of other UTM zones lie far outside this tile
            continue
        xmin, ymin, xmax, ymax = transform_bounds(bounds, wkt(area_epsg), wkt(epsg))
        col0 = max(int((xmin - DATA_MARGIN_M - c) // 20), 0) * 20 // res
        row0 = max(int((f - ymax - DATA_MARGIN_M) // 20), 0) * 20 // res
        col1 = min(int((xmax + DATA_MARGIN_M - c) // 20) + 1, width * res // 20) * 20 // res
        row1 = min(int((f - ymin + DATA_MARGIN_M) // 20) + 1, height * res // 20) * 20 // res
        if col1 > col0 and row1 > row0:
            windows.append(Window(col0, row0, col1 - col0, row1 - row0))
    return grid, windows


def truth(item_id, band, window20, res):
    """Deterministic class map and reflectance DN of one 20 m window (in the band's resolution)."""
    seed = int(hashlib.sha256(f"{item_id}/{window20}".encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(seed)
    patches = rng.choice(CLASSES, p=(0.5, 0.25, 0.15, 0.1),
                         size=(-(-window20.height // 3), -(-window20.width // 3)))
    scl = np.kron(patches, np.ones((3, 3), np.uint8))[:window20.height, :window20.width].astype(np.uint8)
    if band == "SCL":
        return scl
    index = list(ASSET_KEYS).index(band)
    dn = np.zeros(scl.shape, np.uint16)
    for cls in CLASSES:
        low, high = DN[cls]
        if cls == 4 and band not in NIR_BANDS:
            high = 900   # vegetation is dark in the visible
        level = low + (high - low) * ((seed >> index) % 7) / 7
        dn[scl == cls] = int(level)
    dn = dn + (rng.integers(0, 3, size=dn.shape) * 10).astype(np.uint16)
    if res == 10:
        dn = np.kron(dn, np.ones((2, 2), np.uint16))
    return dn


def write_sparse(path, grid, windows, arrays, dtype):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    dataset = gdal.GetDriverByName("GTiff").Create(
        path, grid.width, grid.height, 1, dtype,
        options=["TILED=YES", f"BLOCKXSIZE={BLOCK}", f"BLOCKYSIZE={BLOCK}", "COMPRESS=DEFLATE",
                 "SPARSE_OK=TRUE"])
    dataset.SetGeoTransform(grid.geotransform)
    dataset.SetProjection(grid.crs_wkt)
    dataset.GetRasterBand(1).SetNoDataValue(0)
    for window, array in zip(windows, arrays):
        dataset.GetRasterBand(1).WriteArray(array, window.col, window.row)
    dataset = None


def serve_item(item, root, base_url, collection, shifted, folder=None):
    """Write the item's files (11 bands; `shifted`: the +1000 in the DN) and point its hrefs to
    them; `-jp2` twins point to files that do not exist. Returns the served item."""
    served = copy.deepcopy(item)
    folder = folder or f"{collection}/{item['id']}"
    epsg = item["properties"]["proj:epsg"]
    for band, key in ASSET_KEYS.items():
        asset = served["assets"][key]
        res = int(asset["proj:transform"][0])
        grid, windows = pixel_windows(asset, epsg, res)
        arrays = []
        for window in windows:
            window20 = Window(window.col * res // 20, window.row * res // 20,
                              window.width * res // 20, window.height * res // 20)
            array = truth(item["id"], band, window20, res)
            if shifted and band != "SCL":
                array = np.where(array > 0, array + 1000, 0).astype(np.uint16)
            arrays.append(array)
        path = f"{folder}/{band}.tif"
        write_sparse(os.path.join(root, path), grid, windows, arrays,
                     gdal.GDT_Byte if band == "SCL" else gdal.GDT_UInt16)
        asset["href"] = f"{base_url}/{path}"
    for key, asset in served["assets"].items():
        if key.endswith("-jp2") or key not in ASSET_KEYS.values():
            asset["href"] = f"{base_url}/jp2-never/{item['id']}/{key}"
    return served


def write_local(item, root):
    """The truth as a local plain acquisition folder (no offset), on the same full grid."""
    folder = os.path.join(root, item["id"])
    epsg = item["properties"]["proj:epsg"]
    for band, key in ASSET_KEYS.items():
        asset = item["assets"][key]
        res = int(asset["proj:transform"][0])
        grid, windows = pixel_windows(asset, epsg, res)
        arrays = [truth(item["id"], band, Window(w.col * res // 20, w.row * res // 20,
                                                 w.width * res // 20, w.height * res // 20), res)
                  for w in windows]
        write_sparse(os.path.join(folder, f"{band}.tif"), grid, windows, arrays,
                     gdal.GDT_Byte if band == "SCL" else gdal.GDT_UInt16)
    with open(os.path.join(folder, "metadata.json"), "w", encoding="utf-8") as stream:
        json.dump({"processing_baseline": item["properties"]["s2:processing_baseline"],
                   "boa_add_offset": 0}, stream)
    return folder


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory, shared_data):   # skipped, by name, without ../shared
    root = tmp_path_factory.mktemp("real-items")
    (root / "files").mkdir()
    files = RangeFileServer(str(root / "files"))
    items = real_items()
    l2a = [serve_item(i, str(root / "files"), files.url, L2A, shifted_as_metadata_say(i)) for i in items]
    c1_source = [c1_item(i) for i in items]
    c1 = [serve_item(d, str(root / "files"), files.url, C1, float(d["properties"]["s2:processing_baseline"]) >= 4)
          for d in c1_source]
    disputed = next(i for i in items if i["id"] == DISPUTED)
    assert shifted_as_metadata_say(disputed)   # flag false and offset -0.1: the metadata say +1000
    harmonised = serve_item(disputed, str(root / "files"), files.url, L2A, False,
                            folder=f"{L2A}-harmonised/{DISPUTED}")
    no_proj = copy.deepcopy(next(i for i in l2a if i["id"] == "S2B_33TWN_20220130_0_L2A"))
    for asset in no_proj["assets"].values():
        asset.pop("proj:shape", None)
        asset.pop("proj:transform", None)
    apis = {"real": StacApi(str(root), {L2A: l2a, C1: c1}),
            "harmonised": StacApi(str(root / "files"), {L2A: [harmonised]}),
            "no-proj": StacApi(str(root / "files" / L2A), {"no-proj": [dict(no_proj, collection="no-proj")]})}
    local = root / "local"
    for item in items:
        if item["properties"]["grid:code"] == "MGRS-33TWN":
            write_local(item, str(local))
    yield {"files": files, "apis": apis, "items": items, "l2a": l2a, "c1": c1, "root": root,
           "local": str(local)}
    for api in apis.values():
        api.stop()
    files.stop()


def request(catalogue, area, cache, collection=L2A, api="real", target_epsg=None):
    epsg, bounds = AOIS[area]
    return stac.StacRequest(catalogue["apis"][api].collection_url(collection), bounds, wkt(epsg),
                            target_crs_wkt=wkt(target_epsg or epsg), cache_folder=str(cache))


def raster_offset(item):
    return (item["assets"]["red"].get("raster:bands") or [{}])[0].get("offset")


def decisions(catalogue, collection, cache, api="real", areas=("TWN", "TWN+TWM", "TWL", "TMS", "RWT")):
    """{item id: (boa offset decided, folder)} over the areas."""
    found = {}
    for area in areas:
        for folder in stac.fetch_acquisitions(request(catalogue, area, cache, collection, api)):
            with open(os.path.join(folder, "metadata.json"), encoding="utf-8") as stream:
                manifest = json.load(stream)
            found[manifest["stac_item"]] = (manifest["boa_add_offset"], folder)
    return found


def table(rows):
    header = ("item", "baseline", "flag", "raster:bands offset", "metadata", "data", "decision")
    lines = [" | ".join(header), " | ".join("---" for _ in header)]
    lines += [" | ".join(str(v) for v in row) for row in rows]
    return "\n".join(lines)


@pytest.mark.parametrize("collection", [L2A, C1])
def test_offset_decision_per_real_item(catalogue, tmp_path, collection):
    served = catalogue["l2a"] if collection == L2A else catalogue["c1"]
    decided = decisions(catalogue, collection, tmp_path / "cache")
    rows = []
    for item in served:
        shifted = (shifted_as_metadata_say(item) if collection == L2A
                   else float(item["properties"]["s2:processing_baseline"]) >= 4)
        expected = -1000 if shifted else 0
        rows.append((item["id"], item["properties"]["s2:processing_baseline"],
                     item["properties"].get("earthsearch:boa_offset_applied", "-"),
                     raster_offset(item), stac.metadata_offset(item["properties"], item["assets"]),
                     "+1000" if shifted else "none", decided[item["id"]][0]))
        assert decided[item["id"]][0] == expected, item["id"]
    if collection == L2A:   # the disputed item once more, its data without the +1000
        feedback = Feedback()
        folders = stac.fetch_acquisitions(
            request(catalogue, "TWN", tmp_path / "cache-harmonised", L2A, "harmonised"), feedback)
        with open(os.path.join(folders[0], "metadata.json"), encoding="utf-8") as stream:
            manifest = json.load(stream)
        item = next(i for i in served if i["id"] == DISPUTED)
        rows.append((DISPUTED + " (2nd copy)", "04.00", False, -0.1, -1000, "none", manifest["boa_add_offset"]))
        assert manifest["boa_add_offset"] == 0 and manifest["metadata_offset"] == -1000
        assert any(DISPUTED in m and "the data decide (0)" in m for m in feedback.messages)
        assert len(rows) == 28 and item["properties"]["earthsearch:boa_offset_applied"] is False
    print(f"\n{collection}:\n{table(rows)}")
    assert len(decided) == 27
    assert not [e for e in catalogue["files"].log if "jp2" in e["path"]]   # twins never read
    assert {row[5] for row in rows} == {"+1000", "none"}


def test_pp_through_stac_equals_the_truth_and_crs_comes_from_proj_epsg(catalogue, tmp_path):
    req = request(catalogue, "TWN", tmp_path / "cache", target_epsg=3035)
    folders = stac.fetch_acquisitions(req)
    assert len(folders) == 15   # every 33TWN item, 2016-2022, baselines 00.01 to 04.00
    options = PreprocessOptions(target_crs_wkt=req.target_crs_wkt, extent=req.extent,
                                extent_crs_wkt=req.extent_crs_wkt)
    run_preprocess(folders, str(tmp_path / "stac.tif"), options)
    run_preprocess(catalogue["local"], str(tmp_path / "local.tif"), options)
    through_stac = gdal.Open(str(tmp_path / "stac.tif")).ReadAsArray()
    reference = gdal.Open(str(tmp_path / "local.tif")).ReadAsArray()
    assert np.isfinite(reference[0]).mean() > 0.9 and np.nanmax(reference[-1]) > 5
    np.testing.assert_array_equal(through_stac, reference)


def test_several_tiles_and_utm_zones_in_one_search(catalogue, tmp_path):
    # One dry run over the Alps: 32TMS (UTM 32) and 33TWN / 33TWM / 33TWL (UTM 33).
    req = stac.StacRequest(catalogue["apis"]["real"].collection_url(L2A), (7.5, 44.9, 16.6, 48.0),
                           wkt(4326), cache_folder=str(tmp_path / "cache"))
    report = stac.dry_run(req)
    listed = {row["item"]: row for row in report["scenes"]}
    by_id = {item["id"]: item for item in catalogue["items"]}
    assert {row["tile"] for row in report["scenes"]} == {"32TMS", "33TWN", "33TWM", "33TWL"}
    for item_id, row in listed.items():
        assert row["epsg"] == by_id[item_id]["properties"]["proj:epsg"]
    assert len(listed) + len(report["dropped"]) == 26 and "S2A_12RWT_20240106_0_L2A" not in listed

    # Where 33TWN and 33TWM overlap: both tiles' items are read (different datatakes).
    scenes = stac.search(request(catalogue, "TWN+TWM", tmp_path))
    assert {s.tile for s in scenes} == {"33TWN", "33TWM"} and len(scenes) == 20
    # Where 33TWM and 33TWL overlap: one datatake seen by both tiles is read once.
    report = stac.dry_run(request(catalogue, "TWM+TWL", tmp_path))
    (kept,) = {row["tile"] for row in report["scenes"]}
    dropped_tile = ({"33TWM", "33TWL"} - {kept}).pop()
    assert len(report["scenes"]) == 5 and len(report["dropped"]) == 5
    assert sorted(row["item"].replace(dropped_tile, kept) for row in report["dropped"]) == \
        sorted(row["item"] for row in report["scenes"])
    assert all(f"tile {kept} covers the whole extent and holds the same datatake" in row["reason"]
               for row in report["dropped"])


def test_assets_without_proj_metadata_get_their_grid_from_the_header(catalogue, tmp_path):
    log = catalogue["files"].log
    before = len(log)
    scenes = stac.search(request(catalogue, "TWN", tmp_path, "no-proj", "no-proj"))
    reads = [e for e in log[before:] if e["path"].endswith(".tif")]
    reference = stac.search(request(catalogue, "TWN", tmp_path))
    original = next(s for s in reference if s.item_id == "S2B_33TWN_20220130_0_L2A")
    assert len(scenes) == 1 and scenes[0].grid10.same_as(original.grid10)
    assert scenes[0].window == original.window
    # One small request per asset: a HEAD (the size) and a GET of at most the first 16 KiB.
    for band in ASSET_KEYS:
        asked = [(e["method"], e["range"]) for e in reads if e["path"].endswith(f"/{band}.tif")]
        assert [method for method, _ in asked] == ["HEAD", "GET"], (band, asked)
        start, end = (int(v) for v in asked[1][1].split("=")[1].split("-"))
        assert start == 0 and end < 16384
    folders = stac.fetch_acquisitions(request(catalogue, "TWN", tmp_path / "cache", "no-proj", "no-proj"))
    with open(os.path.join(folders[0], "metadata.json"), encoding="utf-8") as stream:
        assert json.load(stream)["boa_add_offset"] == 0


def test_stacsearch_and_preprocess_under_qgis_process(catalogue, qgis_process, tmp_path):
    url = catalogue["apis"]["real"].collection_url(L2A)
    epsg, (xmin, ymin, xmax, ymax) = AOIS["TWN"]
    extent = f"{xmin},{xmax},{ymin},{ymax} [EPSG:{epsg}]"
    listing = tmp_path / "scenes.json"
    qgis_process("run", "imperviousness:stacsearch", "--", f"INPUT={url}", f"EXTENT={extent}",
                 f"CACHE_FOLDER={tmp_path / 'cache'}", f"OUTPUT={listing}")
    rows = json.loads(listing.read_text())["scenes"]
    assert len(rows) == 15 and {row["tile"] for row in rows} == {"33TWN"}
    outputs = {}
    for name, inputs in (("stac", url), ("local", catalogue["local"])):
        outputs[name] = tmp_path / f"PP_{name}.tif"
        qgis_process("run", "imperviousness:preprocess", "--", f"INPUT={inputs}", f"EXTENT={extent}",
                     "TARGET_CRS=EPSG:3035", f"CACHE_FOLDER={tmp_path / 'cache'}",
                     f"OUTPUT={outputs[name]}")
    np.testing.assert_array_equal(gdal.Open(str(outputs["stac"])).ReadAsArray(),
                                  gdal.Open(str(outputs["local"])).ReadAsArray())
