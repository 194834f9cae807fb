"""Sentinel-2 L2A straight from a STAC API: search, then fetch only the AOI's pixels (issue 11).

A collection URL (`<api>/collections/<id>`, Earth Search v1 `sentinel-2-l2a` or
`sentinel-2-c1-l2a`) is searched with pystac-client (paging through `next` links). For every item
only the window of the ten bands and SCL that the output grid needs is read through GDAL's
`/vsicurl/` (range requests, overviews never read, several requests in parallel threads, retries
with back-off). Each item becomes a plain acquisition folder in the cache (the layout that
`sentinel2.find_acquisitions` reads): one GeoTIFF per band on the scene's full grid in which only
the window's tiles are stored (a sparse, lossless file), plus `metadata.json`. Keeping the
scene's own grid makes the pre-processing read exactly the pixels, at exactly the positions, it
would read from the full local scenes, so the PP is byte-identical; the window only has to cover
the output grid's footprint plus a margin for the resampling kernels.

Harmonisation: the metadata (`earthsearch:boa_offset_applied`, `raster:bands` offset,
`s2:processing_baseline`) say whether the stored DN still carry the +1000 of baseline 04.00,
but the flag is wrong on some items (Earth Search issues 66 and 71), so the data decide: DN of
clear dark targets below 1000 cannot exist when the offset is still in the data.
"""

import concurrent.futures
import contextlib
import datetime
import json
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from osgeo import gdal, osr

from ..errors import Cancelled, ImperviousnessError
from ..progress import StepProgress
from .atomic import atomic_path, write_json
from .raster import Grid, Window, open_raster, read_window, transform_bounds
from .sentinel2 import BASELINE_04_OFFSET, REFLECTANCE_BANDS, SCL

# Earth Search v1 asset key of each band (sentinel-2-l2a and sentinel-2-c1-l2a).
ASSET_KEYS = {"B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1",
              "B06": "rededge2", "B07": "rededge3", "B08": "nir", "B8A": "nir08",
              "B11": "swir16", "B12": "swir22", SCL: "scl"}
BANDS_10M = ("B02", "B03", "B04", "B08")
COARSE = 20.0              # windows are aligned to the 20 m pixels so 10 m and 20 m windows match
# Margin around the output grid's footprint: the bilinear kernel needs one 20 m pixel, GDAL's
# approximate transformer up to 1/8 px more; 5 px of 20 m leave room for both.
MARGIN_M = 5 * COARSE
# Clear-sky SCL classes whose DN show the offset: vegetation, not vegetated, water.
CLEAR_SCL = (4, 5, 6)
DARK_PERCENTILE = 1.0      # the dark targets' DN statistic
MIN_DARK_SAMPLES = 100     # fewer clear samples: the metadata decide
OFFSET_DN = -BASELINE_04_OFFSET   # 1000: DN below it cannot exist while the offset is in the data
HTTP_RETRIES = 5           # GDAL's and the catalogue's retries on 5xx and timeouts
READ_RETRIES = 3           # ours, for what GDAL does not retry (a connection cut mid-body)
PARALLEL_REQUESTS = 4
# GDAL's /vsicurl/ settings for the reads: no directory listing, merged ranges, retries on 5xx.
GDAL_HTTP_OPTIONS = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "GDAL_HTTP_MAX_RETRY": str(HTTP_RETRIES),
    "GDAL_HTTP_RETRY_DELAY": "0.5",
    "GDAL_HTTP_TIMEOUT": "60",
    "VSI_CACHE": "FALSE",
}
_CACHE_OPTIONS = ["TILED=YES", "COMPRESS=DEFLATE", "PREDICTOR=2", "BLOCKXSIZE=256",
                  "BLOCKYSIZE=256", "SPARSE_OK=TRUE", "BIGTIFF=IF_SAFER"]
_COLLECTION_URL = re.compile(r"^(https?://.+?)/collections/([^/?#]+)/?$")


def default_cache_folder():
    """$XDG_CACHE_HOME/imperviousness/stac (~/.cache/imperviousness/stac)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "imperviousness", "stac")


def is_stac_url(text):
    return isinstance(text, str) and text.strip().lower().startswith(("http://", "https://"))


def split_collection_url(url):
    """(API root, collection id) of `<api>/collections/<id>`."""
    match = _COLLECTION_URL.match(url.strip())
    if not match:
        raise ImperviousnessError(
            f"{url} is not a STAC collection URL: expected <API>/collections/<collection id>, "
            "e.g. https://earth-search.aws.element84.com/v1/collections/sentinel-2-l2a.")
    return match.group(1), match.group(2)


@dataclass
class StacRequest:
    """What to search and which output grid the fetched windows must serve."""

    collection_url: str
    extent: tuple                   # (xmin, ymin, xmax, ymax) in extent_crs_wkt
    extent_crs_wkt: str
    start_date: datetime.date = None
    end_date: datetime.date = None
    max_cloud: float = None         # percent; None: no filter (the SCL weights handle clouds)
    target_crs_wkt: str = None      # None: the scenes' CRS
    pixel_size: float = 10.0
    cache_folder: str = None        # None: default_cache_folder()
    parallel: int = PARALLEL_REQUESTS
    page_size: int = 100            # items per search page; further pages through `next` links


@dataclass
class Scene:
    """One STAC item: what it is, where its bands are and which window of them is needed."""

    item_id: str
    collection: str
    date: datetime.date
    tile: str
    cloud_cover: float
    baseline: str
    offset_flag: bool               # earthsearch:boa_offset_applied (None when absent)
    metadata_offset: int            # BOA offset the metadata imply for the stored DN (-1000 / 0)
    crs_wkt: str
    grid10: Grid                    # the full scene's 10 m grid
    hrefs: dict                     # band -> asset href
    window: Window = None           # in 20 m pixels of the scene; None: outside the AOI
    covers: bool = False            # the window holds the whole footprint (not cut by the tile)
    data_offset: int = None         # decided from the data once fetched
    dark_dn: float = None           # the dark targets' DN statistic behind that decision
    folder: str = None
    fetched_bytes: int = 0
    notes: list = field(default_factory=list)

    @property
    def grid20(self):
        x0, _, _, y1, _, _ = self.grid10.geotransform
        return Grid(self.crs_wkt, (x0, COARSE, 0.0, y1, 0.0, -COARSE),
                    self.grid10.width // 2, self.grid10.height // 2)

    def band_window(self, band):
        """The window in the band's own pixels (10 m bands: twice the 20 m window)."""
        w = self.window
        factor = 2 if band in BANDS_10M else 1
        return Window(w.col * factor, w.row * factor, w.width * factor, w.height * factor)

    def expected_bytes(self):
        """Uncompressed size of the windows (an upper bound of what is transferred)."""
        if self.window is None:
            return 0
        return sum(2 * self.band_window(band).width * self.band_window(band).height
                   if band != SCL else self.window.width * self.window.height
                   for band in ASSET_KEYS)

    def offset(self):
        return self.metadata_offset if self.data_offset is None else self.data_offset


# ----------------------------------------------------------------------------------------------
# Search
# ----------------------------------------------------------------------------------------------


def search(request, feedback=None):
    """The scenes of the request, sorted by date, each with its window (pystac-client)."""
    import pystac_client
    from pystac_client.exceptions import APIError
    from pystac_client.stac_api_io import StacApiIO
    from requests.exceptions import RequestException
    from urllib3 import Retry

    api, collection = split_collection_url(request.collection_url)
    bbox = transform_bounds(request.extent, request.extent_crs_wkt, epsg_wkt(4326))
    dates = (f"{request.start_date or '..'}/{request.end_date or '..'}"
             if request.start_date or request.end_date else None)
    described = (f"collection {collection} at {api}, bbox {', '.join(f'{v:.5f}' for v in bbox)}, "
                 f"datetime {dates or 'any'}" + (f", eo:cloud_cover <= {request.max_cloud:g}"
                                             if request.max_cloud is not None else ""))
    retry = Retry(total=HTTP_RETRIES, backoff_factor=0.25, allowed_methods=None,
                  status_forcelist=(429, 500, 502, 503, 504))
    try:
        client = pystac_client.Client.open(api, stac_io=StacApiIO(timeout=60, max_retries=retry))
        found = client.search(collections=[collection], bbox=list(bbox), datetime=dates,
                              limit=request.page_size)
        items = list(found.items_as_dicts())
    except (APIError, RequestException, OSError) as error:
        raise ImperviousnessError(
            f"The STAC catalogue {api} cannot be searched after {HTTP_RETRIES} retries "
            f"({_short(error)}). Query: {described}.") from None
    # Cloud cover is filtered here: the query / filter extensions are not served everywhere.
    if request.max_cloud is not None:
        items = [item for item in items
                 if item["properties"].get("eo:cloud_cover", 0) <= request.max_cloud]
    if not items:
        raise ImperviousnessError(f"No Sentinel-2 item found for {described}.")
    scenes = [scene_of_item(item, collection) for item in items]
    _check_tile_grids(scenes)
    for scene in scenes:
        scene.window, scene.covers = scene_window(scene, request)
    progress = StepProgress(feedback, 1)
    progress.info(f"STAC search: {len(items)} items ({described}).")
    scenes = one_covering_tile(scenes, progress)
    return sorted((s for s in scenes if s.window is not None), key=lambda s: (s.date, s.item_id))


def one_covering_tile(scenes, progress):
    """The scenes of one tile when a tile covers the whole footprint, else all of them.

    Neighbouring MGRS tiles overlap by about 10 km and repeat the same observations; when one
    tile holds the whole footprint its items alone carry every observation once.
    """
    covering = sorted({scene.tile for scene in scenes if scene.covers})
    tiles = sorted({scene.tile for scene in scenes})
    if not covering or len(tiles) == 1:
        return scenes
    progress.info(f"Tile {covering[0]} covers the whole extent: the items of tiles "
                  f"{', '.join(t for t in tiles if t != covering[0])} are not read.")
    return [scene for scene in scenes if scene.tile == covering[0]]


def _short(error):
    return str(error).splitlines()[0][:300] if str(error) else type(error).__name__


def scene_of_item(item, collection):
    """A Scene from an Earth Search item (dict); a missing band names the item and the band."""
    properties, assets = item.get("properties", {}), item.get("assets", {})
    missing = [f"{band} (asset '{key}')" for band, key in ASSET_KEYS.items() if key not in assets]
    if missing:
        raise ImperviousnessError(
            f"STAC item {item.get('id')} has no {', '.join(missing)}; its assets are "
            f"{', '.join(sorted(assets)) or 'none'}.")
    epsg = properties.get("proj:epsg") or _epsg_of_code(properties.get("proj:code"))
    if not epsg:
        raise ImperviousnessError(f"STAC item {item['id']} gives no CRS (proj:epsg / proj:code).")
    crs_wkt = epsg_wkt(int(epsg))
    grid10 = _asset_grid(item, "blue", crs_wkt)
    for band, key in ASSET_KEYS.items():
        grid = _asset_grid(item, key, crs_wkt)
        if not grid.covers_same_area(grid10):
            raise ImperviousnessError(
                f"STAC item {item['id']}: band {band} (asset '{key}', {grid.describe()}) does not "
                f"cover the same area as its 10 m bands ({grid10.describe()}).")
    date = datetime.date.fromisoformat(properties["datetime"][:10])
    tile = properties.get("grid:code", "").replace("MGRS-", "") or properties.get("s2:mgrs_tile", "")
    _check_utm_zone(item["id"], tile, epsg)
    baseline = properties.get("s2:processing_baseline")
    flag = properties.get("earthsearch:boa_offset_applied")
    return Scene(item["id"], collection, date, tile, properties.get("eo:cloud_cover"), baseline,
                 flag, metadata_offset(properties, assets), crs_wkt, grid10,
                 {band: assets[key]["href"] for band, key in ASSET_KEYS.items()})


def epsg_wkt(epsg):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(int(epsg))
    return srs.ExportToWkt()


def _epsg_of_code(code):
    match = re.match(r"EPSG:(\d+)$", str(code or ""))
    return int(match.group(1)) if match else None


def _asset_grid(item, key, crs_wkt):
    asset = item["assets"][key]
    try:
        height, width = asset["proj:shape"]
        a, b, c, d, e, f = asset["proj:transform"][:6]
    except (KeyError, ValueError, TypeError):
        raise ImperviousnessError(
            f"STAC item {item['id']}: asset '{key}' has no proj:shape / proj:transform.") from None
    return Grid(crs_wkt, (float(c), float(a), float(b), float(f), float(d), float(e)),
                int(width), int(height))


def _check_utm_zone(item_id, tile, epsg):
    """An MGRS tile (e.g. 33SVV) lies in UTM zone 33: its grid must be EPSG:326zz / 327zz."""
    match = re.match(r"(\d{1,2})([C-X])", tile or "")
    if not match:
        return
    zone, band = int(match.group(1)), match.group(2)
    expected = (32600 if band >= "N" else 32700) + zone
    if int(epsg) != expected:
        raise ImperviousnessError(
            f"STAC item {item_id} of tile {tile} is on EPSG:{epsg}, not on its tile's UTM grid "
            f"EPSG:{expected}: the item's grid does not match its tile.")


def _check_tile_grids(scenes):
    """All items of one tile must share one grid (the tile's), or their windows would differ."""
    first = {}
    for scene in scenes:
        reference = first.setdefault(scene.tile, scene)
        if not scene.grid10.same_as(reference.grid10):
            raise ImperviousnessError(
                f"STAC item {scene.item_id} of tile {scene.tile} is on {scene.grid10.describe()}, "
                f"but {reference.item_id} of the same tile is on {reference.grid10.describe()}: "
                "the item's grid does not match its tile.")


def metadata_offset(properties, assets):
    """The BOA offset (DN) the metadata imply for the stored values: -1000 or 0.

    `earthsearch:boa_offset_applied: true` means Earth Search already removed it (the
    `raster:bands` offset then still reads -0.1 on sentinel-2-l2a); otherwise the assets'
    `raster:bands` offset / scale, else the processing baseline.
    """
    if properties.get("earthsearch:boa_offset_applied") is True:
        return 0
    bands = (assets.get("red", {}).get("raster:bands") or [{}])[0]
    if "offset" in bands and bands.get("scale"):
        return int(round(bands["offset"] / bands["scale"]))
    baseline = properties.get("s2:processing_baseline")
    try:
        return BASELINE_04_OFFSET if baseline and float(baseline) >= 4.0 else 0
    except ValueError:
        raise ImperviousnessError(f"Unreadable s2:processing_baseline {baseline!r}.") from None


def scene_window(scene, request):
    """The 20 m window of the scene covering the output grid's footprint plus the margin, and
    whether the scene holds all of it (None, False outside the scene)."""
    crs_wkt = request.target_crs_wkt or scene.crs_wkt
    bounds = transform_bounds(request.extent, request.extent_crs_wkt, crs_wkt)
    # The output grid grows the extent to whole pixels: one pixel more on every side.
    pad = request.pixel_size
    bounds = (bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad)
    xmin, ymin, xmax, ymax = transform_bounds(bounds, crs_wkt, scene.crs_wkt)
    x0, _, _, y1, _, _ = scene.grid10.geotransform
    grid = scene.grid20
    wanted = (math.floor((xmin - MARGIN_M - x0) / COARSE), math.floor((y1 - ymax - MARGIN_M) / COARSE),
              math.ceil((xmax + MARGIN_M - x0) / COARSE), math.ceil((y1 - ymin + MARGIN_M) / COARSE))
    col0, row0 = max(wanted[0], 0), max(wanted[1], 0)
    col1, row1 = min(wanted[2], grid.width), min(wanted[3], grid.height)
    if col1 <= col0 or row1 <= row0:
        return None, False
    return Window(col0, row0, col1 - col0, row1 - row0), (col0, row0, col1, row1) == wanted


# ----------------------------------------------------------------------------------------------
# Fetch into the cache
# ----------------------------------------------------------------------------------------------


def fetch_acquisitions(request, feedback=None):
    """Search, fetch what the cache lacks, and return the acquisition folders (one per item)."""
    scenes = search(request, feedback)
    cache = request.cache_folder or default_cache_folder()
    todo = []
    for scene in scenes:
        scene.folder = os.path.join(cache, scene.collection, scene.item_id)
        cached = read_cached(scene.folder)
        if cached and _contains(cached["window"], scene.window):
            scene.data_offset = cached["boa_add_offset"]
        else:
            if cached:   # the new window covers the old one too, so earlier AOIs stay cached
                scene.window = _union(Window(*cached["window"]), scene.window)
            todo.append(scene)
    progress = StepProgress(feedback, len(todo) * len(ASSET_KEYS))
    progress.info(f"{len(scenes)} scenes; {len(scenes) - len(todo)} already in the cache {cache}; "
                  f"fetching {len(todo)} ({sum(s.expected_bytes() for s in todo) / 1e6:.1f} MB "
                  "of windows at most).")
    if todo:
        with gdal_http_options():
            _fetch_all(todo, progress, request.parallel)
    return [scene.folder for scene in scenes]


def read_cached(folder):
    """The cached scene's metadata.json (written last, so its presence means complete), or None."""
    path = os.path.join(folder, "metadata.json")
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as stream:
            metadata = json.load(stream)
        return metadata if "window" in metadata and "boa_add_offset" in metadata else None
    except (OSError, ValueError):
        return None


def _contains(outer, inner):
    col, row, width, height = outer
    return (col <= inner.col and row <= inner.row and inner.col + inner.width <= col + width
            and inner.row + inner.height <= row + height)


def _union(a, b):
    col0, row0 = min(a.col, b.col), min(a.row, b.row)
    col1 = max(a.col + a.width, b.col + b.width)
    row1 = max(a.row + a.height, b.row + b.height)
    return Window(col0, row0, col1 - col0, row1 - row0)


@contextlib.contextmanager
def gdal_http_options():
    """Set GDAL_HTTP_OPTIONS for the fetch and restore the previous values afterwards."""
    previous = {key: gdal.GetConfigOption(key) for key in GDAL_HTTP_OPTIONS}
    for key, value in GDAL_HTTP_OPTIONS.items():
        gdal.SetConfigOption(key, value)
    try:
        yield
    finally:
        for key, value in previous.items():
            gdal.SetConfigOption(key, value)


def _fetch_all(scenes, progress, parallel):
    """Every (scene, band) read in a thread pool; cancellation is checked between requests."""
    cancelled = threading.Event()
    remaining = {id(scene): len(ASSET_KEYS) for scene in scenes}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(int(parallel), 1)) as pool:
        for scene in scenes:   # the old metadata go first: a half-rewritten folder is never "complete"
            _remove(os.path.join(scene.folder, "metadata.json"))
        futures = {pool.submit(_fetch_band, scene, band, cancelled): scene
                   for scene in scenes for band in ASSET_KEYS}
        try:
            for future in concurrent.futures.as_completed(futures):
                scene = futures[future]
                scene.fetched_bytes += future.result()
                remaining[id(scene)] -= 1
                if remaining[id(scene)] == 0:
                    _finish_scene(scene, progress)
                progress.step()
        except BaseException:
            cancelled.set()
            for future in futures:
                future.cancel()
            raise


def _remove(path):
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def _fetch_band(scene, band, cancelled):
    """Read one band's window over HTTP (retried) and store it; returns the bytes read."""
    if cancelled.is_set():
        raise Cancelled("Cancelled by the user")
    window = scene.band_window(band)
    url = "/vsicurl/" + scene.hrefs[band]
    for attempt in range(READ_RETRIES + 1):
        if cancelled.is_set():
            raise Cancelled("Cancelled by the user")
        try:
            array, grid = _read_remote(scene, band, url, window)
            break
        except _HttpError as error:
            # GDAL retries 5xx and timeouts itself; a connection dropped mid-body (curl's
            # "transfer closed") is not among them, so the whole read is retried here.
            if error.permanent or attempt == READ_RETRIES:
                raise ImperviousnessError(str(error)) from None
            time.sleep(0.5 * 2 ** attempt)
    write_sparse_band(os.path.join(scene.folder, f"{band}.tif"), grid, window, array, band)
    return array.nbytes


class _HttpError(Exception):
    def __init__(self, message, permanent):
        super().__init__(message)
        self.permanent = permanent


def _read_remote(scene, band, url, window):
    gdal.VSICurlPartialClearCache(url)   # a failed attempt must not leave cached pieces behind
    what = f"scene {scene.item_id}, band {band} (asset '{ASSET_KEYS[band]}', {scene.hrefs[band]})"
    dataset = None
    try:
        dataset = open_raster(url)
        grid = Grid.of_dataset(dataset)
        expected = scene.grid20 if band not in BANDS_10M else scene.grid10
        if not grid.same_as(expected):
            raise _HttpError(
                f"The file of {what} is on {grid.describe()}, not on the item's grid "
                f"({expected.describe()}): the item's grid does not match its tile.", True)
        return read_window(dataset, window, name=what), grid
    except ImperviousnessError as error:
        status = re.search(r"HTTP (?:response )?code:? ?(\d{3})", str(error))
        code = int(status.group(1)) if status else None
        if code in (401, 403, 404):
            meaning = {401: "authentication required", 403: "access denied",
                       404: "not found"}[code]
            raise _HttpError(f"HTTP {code} ({meaning}) for {what}.", True) from None
        raise _HttpError(f"Cannot read {what}: {_short(error)}", False) from None
    finally:
        # Closed here, not by the garbage collector through the traceback's frames (GDAL
        # datasets freed late from a reference cycle crash the interpreter at exit).
        dataset = None


def write_sparse_band(path, grid, window, array, description):
    """The band on the scene's full grid, only the window's tiles stored (lossless DEFLATE)."""
    with atomic_path(path) as temporary:
        dataset = gdal.GetDriverByName("GTiff").Create(
            temporary, grid.width, grid.height, 1,
            gdal.GDT_Byte if array.dtype == np.uint8 else gdal.GDT_UInt16, options=_CACHE_OPTIONS)
        try:
            dataset.SetGeoTransform(grid.geotransform)
            dataset.SetProjection(grid.crs_wkt)
            dataset.GetRasterBand(1).SetDescription(description)
            dataset.GetRasterBand(1).WriteArray(array, window.col, window.row)
            dataset.FlushCache()
        finally:
            dataset = None   # closed (and flushed) before the file is moved into place


def _finish_scene(scene, progress):
    """Decide the offset from the stored window, log disagreements, write metadata.json last."""
    scene.dark_dn = dark_target_dn(scene.folder, scene)
    data_has_offset = None if scene.dark_dn is None else scene.dark_dn >= OFFSET_DN
    if data_has_offset is None:
        scene.data_offset = scene.metadata_offset
        scene.notes.append("too few clear pixels in the window to check the offset: the metadata decide")
    else:
        scene.data_offset = BASELINE_04_OFFSET if data_has_offset else 0
        if scene.data_offset != scene.metadata_offset:
            message = (f"Scene {scene.item_id}: the metadata (earthsearch:boa_offset_applied = "
                       f"{scene.offset_flag}, baseline {scene.baseline}) imply a BOA offset of "
                       f"{scene.metadata_offset}, but the DN of clear dark targets "
                       f"({DARK_PERCENTILE:g} % quantile {scene.dark_dn:.0f}) show "
                       f"{scene.data_offset}; the data decide ({scene.data_offset}).")
            scene.notes.append(message)
            progress.info(message)
    write_json(os.path.join(scene.folder, "metadata.json"), {
        "processing_baseline": scene.baseline, "boa_add_offset": scene.data_offset,
        "window": [scene.window.col, scene.window.row, scene.window.width, scene.window.height],
        "stac_item": scene.item_id, "collection": scene.collection, "tile": scene.tile,
        "earthsearch_boa_offset_applied": scene.offset_flag,
        "metadata_offset": scene.metadata_offset, "dark_target_dn": scene.dark_dn})
    progress.info(f"Scene {scene.item_id} ({scene.date}, tile {scene.tile}): "
                  f"{scene.fetched_bytes / 1e6:.1f} MB of pixels, BOA offset {scene.data_offset}.")


def dark_target_dn(folder, scene):
    """The DARK_PERCENTILE % quantile of the clear pixels' DN over the ten bands, or None.

    With the +1000 still in the data no reflectance band goes below 1000 (reflectance < 0)
    except rare negative values; without it, dark targets (water, vegetation in the visible)
    lie far below 1000.
    """
    scl = read_window(open_raster(os.path.join(folder, f"{SCL}.tif")), scene.window)
    clear = np.isin(scl, CLEAR_SCL)
    samples = []
    for band in REFLECTANCE_BANDS:
        dn = read_window(open_raster(os.path.join(folder, f"{band}.tif")), scene.band_window(band))
        if band in BANDS_10M:
            dn = dn[::2, ::2]   # the 10 m pixel at each 20 m pixel's corner, to match SCL
        samples.append(dn[clear & (dn > 0)])
    samples = np.concatenate(samples)
    if samples.size < MIN_DARK_SAMPLES:
        return None
    return float(np.percentile(samples, DARK_PERCENTILE))


# ----------------------------------------------------------------------------------------------
# Dry run
# ----------------------------------------------------------------------------------------------


def dry_run(request, feedback=None):
    """The search's scenes and what fetching them would read, as a dict (nothing is fetched)."""
    scenes = search(request, feedback)
    cache = request.cache_folder or default_cache_folder()
    rows, total = [], 0
    for scene in scenes:
        cached = read_cached(os.path.join(cache, scene.collection, scene.item_id))
        in_cache = bool(cached) and _contains(cached["window"], scene.window)
        decision = (f"{cached['boa_add_offset']} (from the data, cached)" if in_cache
                    else f"{scene.metadata_offset} from the metadata; checked against the data")
        expected = 0 if in_cache else scene.expected_bytes()
        total += expected
        rows.append({"item": scene.item_id, "date": scene.date.isoformat(), "tile": scene.tile,
                     "cloud_cover": scene.cloud_cover, "baseline": scene.baseline,
                     "boa_offset_applied": scene.offset_flag, "offset_decision": decision,
                     "window_20m": [scene.window.col, scene.window.row, scene.window.width,
                                    scene.window.height],
                     "cached": in_cache, "expected_bytes": expected})
    return {"collection_url": request.collection_url, "cache_folder": cache,
            "scenes": rows, "expected_bytes": total}


def format_dry_run(report):
    """The dry run as lines of text (for the log)."""
    lines = [f"{'date':10}  {'tile':6}  {'cloud':>6}  {'PB':5}  {'flag':5}  {'MB':>7}  item / offset"]
    for row in report["scenes"]:
        cloud = "" if row["cloud_cover"] is None else f"{row['cloud_cover']:.1f}"
        lines.append(f"{row['date']:10}  {row['tile']:6}  {cloud:>6}  {row['baseline'] or '?':5}  "
                     f"{str(row['boa_offset_applied']):5}  {row['expected_bytes'] / 1e6:7.2f}  "
                     f"{row['item']} / offset {row['offset_decision']}")
    lines.append(f"{len(report['scenes'])} scenes; at most {report['expected_bytes'] / 1e6:.2f} MB "
                 f"to fetch into {report['cache_folder']}.")
    return lines
