"""Sentinel-2 L2A straight from a STAC API: search, then fetch only the AOI's pixels (issue 11).

A collection URL (`<api>/collections/<id>`, Earth Search v1 `sentinel-2-l2a` or
`sentinel-2-c1-l2a`) is searched (stac_http: paged, bounded, cancellable). Items become scenes
(stac_items: every field checked, one item per scene). For every scene only the window of the
ten bands and SCL that the output grid needs is read through GDAL's `/vsicurl/` (range requests,
overviews never read, several requests in parallel threads, retries with back-off, a time budget
per scene). Each scene becomes a plain acquisition folder in the cache (the layout that
`sentinel2.find_acquisitions` reads; stac_cache: safe names, manifest, locks): one GeoTIFF per
band on the scene's full grid in which only the window's tiles are stored (a sparse, lossless
file), plus `metadata.json`. Keeping the scene's own grid makes the pre-processing read exactly
the pixels, at exactly the positions, it would read from the full local scenes, so the PP is
byte-identical; the window only has to cover the output grid's footprint plus a margin for the
resampling kernels.

Harmonisation: the metadata (`earthsearch:boa_offset_applied`, `raster:bands` offset,
`s2:processing_baseline`) say whether the stored DN still carry the +1000 of baseline 04.00,
but the flag is wrong on some items (Earth Search issues 66 and 71), so the data decide: DN of
clear dark targets below 1000 cannot exist when the offset is still in the data.
"""

import concurrent.futures
import contextlib
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from osgeo import gdal

from ..errors import Cancelled, ImperviousnessError
from ..progress import StepProgress
from . import profiles, stac_cache
from .atomic import write_json
from .digest import file_sha256
from .grid import epsg_wkt
from .raster import Grid, RasterWriter, Window, open_raster, read_window, transform_bounds
from .sentinel2 import BASELINE_04_OFFSET, REFLECTANCE_BANDS, SCL
from .stac_http import HttpError, Limits, first_line, search_pages, session, source_state
from .stac_items import (ASSET_KEYS, BANDS_10M, COARSE, Scene, gdal_options,  # noqa: F401
                         item_id_of, metadata_offset, one_scene_once, scene_of_item)

# Margin around the output grid's footprint: the bilinear kernel needs one 20 m pixel, GDAL's
# approximate transformer up to 1/8 px more; 5 px of 20 m leave room for both.
MARGIN_M = 5 * COARSE
# Clear-sky SCL classes whose DN show the offset: vegetation, not vegetated, water.
CLEAR_SCL = (4, 5, 6)
DARK_PERCENTILE = 1.0      # the dark targets' DN statistic
MIN_DARK_SAMPLES = 100     # fewer clear samples: the metadata decide
OFFSET_DN = -BASELINE_04_OFFSET   # 1000: DN below it cannot exist while the offset is in the data
# Our retries of a band's whole read (GDAL's own are off, so that the time budget bounds them):
# 5xx, timeouts and a connection cut mid-body.
READ_RETRIES = 5
PARALLEL_REQUESTS = 4
STRIP_ROWS = 512           # rows read between two checks of cancellation and time budget
# GDAL's /vsicurl/ settings for the reads: no directory listing, merged ranges; the timeout is
# set per thread and request from the scene's remaining budget.
GDAL_HTTP_OPTIONS = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "GDAL_HTTP_MAX_RETRY": "0",
    "VSI_CACHE": "FALSE",
}
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
    start_date: object = None       # datetime.date
    end_date: object = None
    max_cloud: float = None         # percent; None: no filter (the SCL weights handle clouds)
    target_crs_wkt: str = None      # None: the scenes' CRS
    pixel_size: float = 10.0
    cache_folder: str = None        # None: default_cache_folder()
    parallel: int = PARALLEL_REQUESTS
    page_size: int = 100            # items per search page; further pages through `next` links
    limits: Limits = field(default_factory=Limits)


# ----------------------------------------------------------------------------------------------
# Search
# ----------------------------------------------------------------------------------------------


def search(request, feedback=None):
    """The scenes of the request, sorted by date, each with its window."""
    return find_scenes(request, feedback)[0]


def find_scenes(request, feedback=None):
    """(scenes to read sorted by date, dropped items as {"item", "reason"} rows)."""
    api, collection = split_collection_url(request.collection_url)
    progress = StepProgress(feedback, 1)
    bbox = transform_bounds(request.extent, request.extent_crs_wkt, epsg_wkt(4326))
    dates = (f"{request.start_date or '..'}/{request.end_date or '..'}"
             if request.start_date or request.end_date else None)
    described = (f"collection {collection} at {api}, bbox {', '.join(f'{v:.5f}' for v in bbox)}, "
                 f"datetime {dates or 'any'}" + (f", eo:cloud_cover <= {request.max_cloud:g}"
                                             if request.max_cloud is not None else ""))
    body = {"collections": [collection], "bbox": list(bbox), "limit": int(request.page_size)}
    if dates:   # RFC 3339 instants, as STAC APIs require in POST bodies
        body["datetime"] = (f"{_instant(request.start_date, 'T00:00:00Z')}/"
                            f"{_instant(request.end_date, 'T23:59:59Z')}")
    with contextlib.closing(session()) as http:
        items = search_pages(http, f"{api}/search", body, request.limits, progress.feedback.isCanceled,
                             lambda page, count: progress.check_cancelled())
    if not items:
        raise ImperviousnessError(f"No Sentinel-2 item found for {described}.")
    notes, scenes = [], []
    for index, item in enumerate(items):
        item_id_of(item, index)
        scenes.append(scene_of_item(item, collection, notes))
    for note in notes:
        progress.warn(note)
    scenes, dropped = one_scene_once(scenes)
    # Cloud cover is filtered here: the query / filter extensions are not served everywhere.
    if request.max_cloud is not None:
        cloudy = [s for s in scenes if s.cloud_cover is not None and s.cloud_cover > request.max_cloud]
        dropped += [{"item": s.item_id, "reason": f"eo:cloud_cover {s.cloud_cover:g} > MAX_CLOUD "
                     f"{request.max_cloud:g}"} for s in cloudy]
        scenes = [s for s in scenes if s not in cloudy]
    _check_tile_grids(scenes)
    for scene in scenes:
        scene.window, scene.covers = scene_window(scene, request)
    progress.info(f"STAC search: {len(items)} items ({described}).")
    scenes, repeated = one_covering_tile(scenes)
    dropped += repeated
    for row in dropped:
        progress.info(f"Not read: {row['item']}: {row['reason']}.")
    for scene in scenes:
        if stac_cache.has_path_characters(scene.item_id):
            progress.warn(f"STAC item id {scene.item_id!r} contains path characters; it is data, "
                          "not a path: the cache folder is named by a safe slug and a hash.")
    return sorted((s for s in scenes if s.window is not None), key=lambda s: (s.date, s.item_id)), dropped


def _instant(date, time_of_day):
    return f"{date.isoformat()}{time_of_day}" if date else ".."


def one_covering_tile(scenes):
    """(scenes, dropped): where one tile covers the whole footprint, the items of other tiles
    whose datatake that tile already holds are dropped.

    Neighbouring MGRS tiles overlap by about 10 km and repeat the observations of one datatake;
    when one tile holds the whole footprint its item carries that observation once. Datatakes
    that only the other tiles offer are kept.
    """
    covering = sorted({scene.tile for scene in scenes if scene.covers and scene.window})
    if not covering:
        return scenes, []
    tile = covering[0]
    held = {scene.datatake for scene in scenes if scene.tile == tile}
    kept, dropped = [], []
    for scene in scenes:
        if scene.tile != tile and scene.datatake in held:
            dropped.append({"item": scene.item_id, "reason": (
                f"tile {tile} covers the whole extent and holds the same datatake "
                f"({' '.join(scene.datatake)})")})
        else:
            kept.append(scene)
    return kept, dropped


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
    """Search, fetch what the cache lacks, and return the acquisition folders (one per scene).

    Every scene folder is locked while it is checked and fetched, so runs sharing the cache wait
    for each other instead of writing the same files. A scene that fails (a band's 404, its time
    budget spent) fails alone: the others are fetched and stay in the cache; the error names
    every failed scene afterwards.
    """
    scenes, _ = find_scenes(request, feedback)
    cache = request.cache_folder or default_cache_folder()
    progress = StepProgress(feedback, len(scenes) * len(ASSET_KEYS))
    for scene in scenes:
        scene.folder = stac_cache.scene_folder(cache, scene.collection, scene.item_id, scene.date)
    with contextlib.ExitStack() as stack:
        http = stack.enter_context(contextlib.closing(session()))
        # Sorted, so that two runs take the locks in one order and never wait for each other.
        for scene in sorted(scenes, key=lambda s: s.folder):
            stack.enter_context(stac_cache.folder_lock(
                scene.folder, progress.feedback.isCanceled,
                lambda s=scene: progress.info(f"Scene {s.item_id} is being fetched by another run "
                                              "sharing the cache; waiting for it.")))
        todo = [scene for scene in scenes if not _use_cache(scene, http, request.limits, progress)]
        progress.info(f"{len(scenes)} scenes; {len(scenes) - len(todo)} verified in the cache "
                      f"{cache}; fetching {len(todo)} ({sum(s.expected_bytes() for s in todo) / 1e6:.1f} "
                      "MB of windows at most).")
        if todo:
            with gdal_options(GDAL_HTTP_OPTIONS):
                _fetch_all(todo, progress, request, http)
    return [scene.folder for scene in scenes]


def _use_cache(scene, http, limits, progress):
    """True when the scene's cached folder verifies and holds its window (the offset is then
    taken from it); otherwise the window to fetch grows to the union with a verified old one."""
    stac_cache.remove_debris(scene.folder)   # we hold the lock: nobody else writes here
    manifest = stac_cache.read_manifest(scene.folder)
    problem = stac_cache.manifest_problem(
        scene.folder, manifest, scene.collection, scene.item_id, scene.hrefs,
        lambda href: _head(http, href, limits, scene, None))
    if problem is None and _contains(manifest["window"], scene.window):
        scene.data_offset = manifest["boa_add_offset"]
        return True
    if problem is None:   # the new window covers the old one too, so earlier AOIs stay cached
        scene.window = _union(Window(*manifest["window"]), scene.window)
    elif manifest is not None or os.path.isdir(scene.folder):
        progress.info(f"Scene {scene.item_id}: the cached copy is not trusted ({problem}); "
                      "fetching it again.")
    return False


def _contains(outer, inner):
    col, row, width, height = outer
    return (col <= inner.col and row <= inner.row and inner.col + inner.width <= col + width
            and inner.row + inner.height <= row + height)


def _union(a, b):
    col0, row0 = min(a.col, b.col), min(a.row, b.row)
    col1 = max(a.col + a.width, b.col + b.width)
    row1 = max(a.row + a.height, b.row + b.height)
    return Window(col0, row0, col1 - col0, row1 - row0)


class _Fetch:
    """The shared state of one fetch: stop flag, failures, and each scene's deadline."""

    def __init__(self, request, http):
        self.request, self.http, self.limits = request, http, request.limits
        self.cache = request.cache_folder or default_cache_folder()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.deadlines, self.failed, self.sources = {}, {}, {}

    def deadline(self, scene):
        with self.lock:
            return self.deadlines.setdefault(id(scene), time.monotonic() + self.limits.scene_budget)


def _fetch_all(scenes, progress, request, http):
    """Every (scene, band) read in a thread pool. Cancellation is checked while waiting and
    between range requests; a failed band fails its scene only."""
    state = _Fetch(request, http)
    remaining = {id(scene): len(ASSET_KEYS) for scene in scenes}
    for scene in scenes:   # the old manifest goes first: a half-rewritten folder is never trusted
        _remove(os.path.join(scene.folder, stac_cache.MANIFEST))
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(int(request.parallel), 1)) as pool:
        futures = {pool.submit(_fetch_band, scene, band, state): scene
                   for scene in scenes for band in ASSET_KEYS}
        pending = set(futures)
        try:
            while pending:
                done, pending = concurrent.futures.wait(
                    pending, timeout=0.25, return_when=concurrent.futures.FIRST_COMPLETED)
                progress.check_cancelled()
                for future in done:
                    scene = futures[future]
                    try:
                        scene.fetched_bytes += future.result()
                    except ImperviousnessError as error:
                        state.failed.setdefault(id(scene), (scene, str(error)))
                    remaining[id(scene)] -= 1
                    if remaining[id(scene)] == 0 and id(scene) not in state.failed:
                        _finish_scene(scene, progress, state.sources)
                    progress.step()
        except BaseException:
            state.stop.set()
            for future in pending:
                future.cancel()
            raise
    if state.failed:
        failed = sorted(state.failed.values(), key=lambda pair: pair[0].item_id)
        raise ImperviousnessError(
            f"{len(failed)} of {len(scenes)} scenes could not be fetched; the other "
            f"{len(scenes) - len(failed)} are complete and kept in the cache, so a new run fetches "
            "only these: " + " | ".join(message for _, message in failed))


def _remove(path):
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def _describe(scene, band):
    return f"scene {scene.item_id}, band {band} (asset '{ASSET_KEYS[band]}', {scene.hrefs[band]})"


def _fetch_band(scene, band, state):
    """Read one band's window over HTTP (retried within the scene's budget) and store it in the
    cache with the source's ETag and size; returns the bytes read."""
    if id(scene) in state.failed:
        return 0   # another band of this scene failed: the scene is fetched again next run
    deadline = state.deadline(scene)
    href = scene.hrefs[band]
    window = scene.band_window(band)

    def check():
        if state.stop.is_set():
            raise Cancelled("Cancelled by the user")
        if time.monotonic() > deadline:
            raise ImperviousnessError(
                f"Scene {scene.item_id}: fetching took more than its time budget of "
                f"{state.limits.scene_budget:g} s (SCENE_TIME_BUDGET); last request: band {band}, "
                f"{href}.")

    for attempt in range(READ_RETRIES + 1):
        check()
        try:
            source = _head(state.http, href, state.limits, scene, band, deadline)
            array, grid = _read_remote(scene, band, window, check, deadline, state.limits)
            if _head(state.http, href, state.limits, scene, band, deadline) != source:
                raise _HttpError(f"The source of {_describe(scene, band)} changed while it was read.", False)
            break
        except _HttpError as error:
            # Transient failures (5xx, timeouts, a connection dropped mid-body) are retried here;
            # GDAL's own retries are off so that the scene's budget bounds them.
            if error.permanent or attempt == READ_RETRIES:
                raise ImperviousnessError(str(error)) from None
            time.sleep(min(0.25 * 2 ** attempt, max(deadline - time.monotonic(), 0)))
    path = stac_cache.inside(state.cache, os.path.join(scene.folder, f"{band}.tif"))
    write_sparse_band(path, grid, window, array, band)
    with state.lock:
        state.sources[(id(scene), band)] = source
    return array.nbytes


class _HttpError(Exception):
    def __init__(self, message, permanent):
        super().__init__(message)
        self.permanent = permanent


_MEANING = {401: "authentication required", 403: "access denied", 404: "not found"}


def _head(http, href, limits, scene, band, deadline=None):
    """(ETag, size) of the source now; HTTP 401/403/404 are permanent, the rest transient."""
    timeout = limits.timeout if deadline is None else max(min(limits.timeout, deadline - time.monotonic()), 0.5)
    what = _describe(scene, band) if band else f"scene {scene.item_id} ({href})"
    try:
        return source_state(http, href, timeout)
    except HttpError as error:
        if error.status in _MEANING:
            raise _HttpError(f"HTTP {error.status} ({_MEANING[error.status]}) for {what}.", True) from None
        if band is None:   # checking the cache: an unreachable source cannot vouch for it
            return None, None
        raise _HttpError(f"Cannot read {what}: {error}", False) from None


def _read_remote(scene, band, window, check, deadline, limits):
    """The window of one band, read in strips of whole block rows so that cancellation and the
    scene's budget are checked between range requests."""
    url = "/vsicurl/" + scene.hrefs[band]
    gdal.VSICurlPartialClearCache(url)   # a failed attempt must not leave cached pieces behind
    what = _describe(scene, band)
    seconds = str(max(int(math.ceil(min(limits.timeout, deadline - time.monotonic()))), 1))
    for key in ("GDAL_HTTP_TIMEOUT", "GDAL_HTTP_CONNECTTIMEOUT"):
        gdal.SetThreadLocalConfigOption(key, seconds)
    dataset = None
    try:
        dataset = open_raster(url)
        grid = Grid.of_dataset(dataset)
        expected = scene.grid20 if band not in BANDS_10M else scene.grid10
        if not grid.same_as(expected):
            raise _HttpError(
                f"The file of {what} is on {grid.describe()}, not on the item's grid "
                f"({expected.describe()}): the item's grid does not match its tile.", True)
        # Whole block rows, at least STRIP_ROWS: one strip is one multi-range read in GDAL
        # (thinner strips defeat it and trigger vsicurl's sequential read-ahead).
        block = max(dataset.GetRasterBand(1).GetBlockSize()[1], 1)
        block_rows = block * max(STRIP_ROWS // block, 1)
        strips, row, end = [], window.row, window.row + window.height
        while row < end:
            check()
            stop = min((row // block_rows + 1) * block_rows, end)
            strips.append(read_window(dataset, Window(window.col, row, window.width, stop - row), name=what))
            row = stop
        return np.vstack(strips), grid
    except ImperviousnessError as error:
        status = re.search(r"HTTP (?:response )?code:? ?(\d{3})", str(error))
        code = int(status.group(1)) if status else None
        if code in _MEANING:
            raise _HttpError(f"HTTP {code} ({_MEANING[code]}) for {what}.", True) from None
        raise _HttpError(f"Cannot read {what}: {first_line(error)}", False) from None
    finally:
        for key in ("GDAL_HTTP_TIMEOUT", "GDAL_HTTP_CONNECTTIMEOUT"):
            gdal.SetThreadLocalConfigOption(key, None)
        # Closed here, not by the garbage collector through the traceback's frames (GDAL
        # datasets freed late from a reference cycle crash the interpreter at exit).
        dataset = None


def write_sparse_band(path, grid, window, array, description):
    """The band on the scene's full grid, only the window's tiles stored (lossless DEFLATE)."""
    dtype = np.uint8 if array.dtype == np.uint8 else np.uint16
    # a cache file (output=False): kept when the run fails later
    with RasterWriter(path, grid, 1, dtype, None, [description], profile=profiles.STAC_CACHE,
                      output=False) as writer:
        writer.write(window, array)


def _finish_scene(scene, progress, sources):
    """Decide the offset from the stored window, log disagreements, write the manifest last."""
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
    window = [scene.window.col, scene.window.row, scene.window.width, scene.window.height]
    files = {}
    for band in ASSET_KEYS:
        path = os.path.join(scene.folder, f"{band}.tif")
        etag, size = sources[(id(scene), band)]
        files[band] = {"href": scene.hrefs[band], "etag": etag, "size": size,
                       "bytes": os.path.getsize(path), "sha256": file_sha256(path)}
    write_json(os.path.join(scene.folder, stac_cache.MANIFEST), {
        "cache_format": stac_cache.CACHE_FORMAT, "files": files,
        "processing_baseline": scene.baseline, "boa_add_offset": scene.data_offset,
        "window": window, "stac_item": scene.item_id, "collection": scene.collection,
        "tile": scene.tile, "earthsearch_boa_offset_applied": scene.offset_flag,
        "metadata_offset": scene.metadata_offset, "dark_target_dn": scene.dark_dn}, output=False)
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
    """The search's scenes and what fetching them would read, as a dict (no pixel is read; the
    cache is verified with HEAD requests to the sources, nothing is written)."""
    scenes, dropped = find_scenes(request, feedback)
    cache = request.cache_folder or default_cache_folder()
    rows, total = [], 0
    with contextlib.closing(session()) as http:
        for scene in scenes:
            folder = stac_cache.scene_folder(cache, scene.collection, scene.item_id, scene.date)
            cached = stac_cache.read_manifest(folder)
            in_cache = (cached is not None and _contains(cached["window"], scene.window)
                        and stac_cache.manifest_problem(
                            folder, cached, scene.collection, scene.item_id, scene.hrefs,
                            lambda href, s=scene: _head(http, href, request.limits, s, None)) is None)
            decision = (f"{cached['boa_add_offset']} (from the data, cached)" if in_cache
                        else f"{scene.metadata_offset} from the metadata; checked against the data")
            expected = 0 if in_cache else scene.expected_bytes()
            total += expected
            rows.append({"item": scene.item_id, "date": scene.date.isoformat(), "tile": scene.tile,
                         "epsg": _epsg(scene), "cloud_cover": scene.cloud_cover,
                         "baseline": scene.baseline, "boa_offset_applied": scene.offset_flag,
                         "metadata_offset": scene.metadata_offset, "offset_decision": decision,
                         "window_20m": [scene.window.col, scene.window.row, scene.window.width,
                                        scene.window.height],
                         "cache_folder": os.path.relpath(folder, cache),
                         "cached": in_cache, "expected_bytes": expected})
    return {"collection_url": request.collection_url, "cache_folder": cache,
            "scenes": rows, "dropped": dropped, "expected_bytes": total}


def _epsg(scene):
    from osgeo import osr
    srs = osr.SpatialReference()
    srs.ImportFromWkt(scene.crs_wkt)
    code = srs.GetAuthorityCode(None)
    return int(code) if code else None


def format_dry_run(report):
    """The dry run as lines of text (for the log)."""
    lines = [f"{'date':10}  {'tile':6}  {'cloud':>6}  {'PB':5}  {'flag':5}  {'MB':>7}  item / offset"]
    for row in report["scenes"]:
        cloud = "" if row["cloud_cover"] is None else f"{row['cloud_cover']:.1f}"
        lines.append(f"{row['date']:10}  {row['tile']:6}  {cloud:>6}  {row['baseline'] or '?':5}  "
                     f"{str(row['boa_offset_applied']):5}  {row['expected_bytes'] / 1e6:7.2f}  "
                     f"{row['item']} / offset {row['offset_decision']}")
    for row in report.get("dropped", []):
        lines.append(f"dropped  {row['item']}: {row['reason']}")
    lines.append(f"{len(report['scenes'])} scenes ({len(report.get('dropped', []))} items dropped); "
                 f"at most {report['expected_bytes'] / 1e6:.2f} MB to fetch into {report['cache_folder']}.")
    return lines
