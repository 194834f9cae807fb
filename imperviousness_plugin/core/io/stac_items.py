"""STAC items as Sentinel-2 scenes: every field read with a message naming the item and the field,
and the search result reduced to one item per scene.

Items are data from a catalogue: a null `datetime`, an `eo:cloud_cover` that is a string, an EPSG
code GDAL does not know, a transform that is not numbers or a relative href each get a message
naming the item and the field instead of a traceback. Relative hrefs are resolved against the
item's `self` link. An asset without `proj:shape` / `proj:transform` (other catalogues omit them)
gets its grid from the file's header (one small range request).

One scene once: the same (collection, id) twice, or one datatake of one tile offered twice
(reprocessed with another processing baseline, e.g. `..._0_L2A` and `..._1_L2A`), keep one item:
the newest processing baseline, then the newest `s2:generation_time` / `updated`, then the
greater id. Every dropped item is listed with the reason.
"""

import contextlib
import datetime
import math
import re
import urllib.parse
from dataclasses import dataclass, field

from osgeo import gdal

from ..errors import ImperviousnessError
from .grid import epsg_wkt
from .raster import Grid, Window
from .sentinel2 import BASELINE_04_OFFSET, SCL

# Earth Search v1 asset key of each band (sentinel-2-l2a and sentinel-2-c1-l2a); the `-jp2`
# twins of sentinel-2-l2a (s3:// JPEG 2000 copies) are never read.
ASSET_KEYS = {"B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1",
              "B06": "rededge2", "B07": "rededge3", "B08": "nir", "B8A": "nir08",
              "B11": "swir16", "B12": "swir22", SCL: "scl"}
BANDS_10M = ("B02", "B03", "B04", "B08")
COARSE = 20.0              # windows are aligned to the 20 m pixels so 10 m and 20 m windows match
# The header of a COG: GDAL asks the size (HEAD; without it GDAL's stat is a GET of the whole
# file) and reads the first 16 KiB in one range request when the file is opened.
HEADER_OPTIONS = {"GDAL_INGESTED_BYTES_AT_OPEN": "16384", "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
                  "GDAL_HTTP_TIMEOUT": "60", "GDAL_HTTP_CONNECTTIMEOUT": "60"}


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
    hrefs: dict                     # band -> asset href (absolute)
    datatake: tuple = None          # (spacecraft, sensing start) shared by the tiles of one datatake
    processed: str = ""             # s2:generation_time / updated (newest wins among duplicates)
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


def _bad(item_id, field_name, value, why):
    return ImperviousnessError(f"STAC item {item_id}: {field_name} {value!r} {why}.")


def item_id_of(item, index):
    item_id = item.get("id") if isinstance(item, dict) else None
    if not isinstance(item_id, str) or not item_id.strip():
        raise ImperviousnessError(f"STAC item number {index + 1} of the search has no id "
                                  f"(id = {item_id!r}).")
    return item_id


def scene_of_item(item, collection, notes=None):
    """A Scene from an Earth Search item (dict); each unreadable field names the item and field."""
    item_id = item_id_of(item, 0)
    properties, assets = item.get("properties"), item.get("assets")
    if not isinstance(properties, dict) or not isinstance(assets, dict):
        raise ImperviousnessError(f"STAC item {item_id} has no properties or no assets.")
    missing = [f"{band} (asset '{key}')" for band, key in ASSET_KEYS.items()
               if not isinstance(assets.get(key), dict)]
    if missing:
        raise ImperviousnessError(
            f"STAC item {item_id} has no {', '.join(missing)}; its assets are "
            f"{', '.join(sorted(assets)) or 'none'}.")
    epsg = crs_epsg(item_id, properties)
    try:
        crs_wkt = epsg_wkt(epsg)
    except ImperviousnessError:
        raise _bad(item_id, "properties.proj:epsg", epsg, "is not a known EPSG code") from None
    hrefs = {band: asset_href(item, key) for band, key in ASSET_KEYS.items()}
    grid10 = asset_grid(item, "blue", crs_wkt, hrefs["B02"])
    for band, key in ASSET_KEYS.items():
        grid = grid10 if key == "blue" else asset_grid(item, key, crs_wkt, hrefs[band])
        if not grid.covers_same_area(grid10):
            raise ImperviousnessError(
                f"STAC item {item_id}: band {band} (asset '{key}', {grid.describe()}) does not "
                f"cover the same area as its 10 m bands ({grid10.describe()}).")
    tile = tile_of(properties)
    _check_utm_zone(item_id, tile, epsg)
    date, sensing = acquisition_time(item_id, properties)
    baseline = properties.get("s2:processing_baseline")
    if baseline is not None and not isinstance(baseline, str):
        baseline = str(baseline)
    flag = properties.get("earthsearch:boa_offset_applied")
    return Scene(item_id, collection, date, tile,
                 cloud_cover(item_id, properties, notes), baseline, flag,
                 metadata_offset(properties, assets, item_id), crs_wkt, grid10, hrefs,
                 datatake=datatake_of(properties, sensing),
                 processed=str(properties.get("s2:generation_time") or properties.get("updated") or ""))


def acquisition_time(item_id, properties):
    """(date, datetime text) from `datetime`, or `start_datetime` where `datetime` is null."""
    for name in ("datetime", "start_datetime"):
        value = properties.get(name)
        if value is None:
            continue
        try:
            return datetime.date.fromisoformat(str(value)[:10]), str(value)
        except ValueError:
            raise _bad(item_id, f"properties.{name}", value, "is not an ISO 8601 date") from None
    raise _bad(item_id, "properties.datetime", None,
               "is null and no start_datetime is given: the acquisition date is unknown")


def cloud_cover(item_id, properties, notes=None):
    """eo:cloud_cover as a number, or None (null or not a number: noted, never used to filter)."""
    value = properties.get("eo:cloud_cover")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
            if math.isfinite(number):
                return number
        except ValueError:
            pass
    if notes is not None:
        notes.append(f"STAC item {item_id}: eo:cloud_cover {value!r} is not a number; "
                     "the item is kept whatever MAX_CLOUD says (the SCL weights still judge its clouds).")
    return None


def crs_epsg(item_id, properties):
    value = properties.get("proj:epsg")
    field_name = "proj:epsg"
    if value is None and properties.get("proj:code") is not None:
        field_name, value = "proj:code", properties["proj:code"]
        match = re.match(r"EPSG:(\d+)$", str(value))
        if not match:
            raise _bad(item_id, "properties.proj:code", value, "is not an EPSG code")
        value = match.group(1)
    if value is None:
        raise ImperviousnessError(f"STAC item {item_id} gives no CRS (proj:epsg / proj:code).")
    try:
        if isinstance(value, bool) or float(value) != int(float(value)):
            raise ValueError
        return int(float(value))
    except (TypeError, ValueError):
        raise _bad(item_id, f"properties.{field_name}", value, "is not an EPSG code") from None


def asset_href(item, key):
    """The asset's href; a relative one resolved against the item's self link, else refused."""
    href = item["assets"][key].get("href")
    if not isinstance(href, str) or not href.strip():
        raise _bad(item["id"], f"assets.{key}.href", href, "is not a URL")
    if urllib.parse.urlparse(href).scheme:
        return href
    base = next((link.get("href") for link in item.get("links") or []
                 if isinstance(link, dict) and link.get("rel") == "self"), None)
    if not isinstance(base, str) or urllib.parse.urlparse(base).scheme not in ("http", "https"):
        raise _bad(item["id"], f"assets.{key}.href", href,
                   "is relative and the item has no absolute self link to resolve it against")
    return urllib.parse.urljoin(base, href)


def asset_grid(item, key, crs_wkt, href):
    """The asset's grid from proj:shape / proj:transform, or from the file's header if absent."""
    asset = item["assets"][key]
    shape, transform = asset.get("proj:shape"), asset.get("proj:transform")
    if shape is None or transform is None:
        return header_grid(item["id"], key, href)
    try:
        height, width = (int(v) for v in shape)
        if height <= 0 or width <= 0 or [height, width] != [float(v) for v in shape]:
            raise ValueError
    except (TypeError, ValueError):
        raise _bad(item["id"], f"assets.{key}.proj:shape", shape, "is not two positive integers") from None
    try:
        a, b, c, d, e, f = (float(v) for v in list(transform)[:6])
        if not all(math.isfinite(v) for v in (a, b, c, d, e, f)) or a == 0 or e == 0:
            raise ValueError
    except (TypeError, ValueError):
        raise _bad(item["id"], f"assets.{key}.proj:transform", transform,
                   "is not six finite numbers of a north-up grid") from None
    return Grid(crs_wkt, (c, a, b, f, d, e), width, height)


def header_grid(item_id, key, href):
    """The grid of a (Cloud Optimized) GeoTIFF from its header: a HEAD and one range request
    of 16 KiB."""
    url = "/vsicurl/" + href
    with gdal_options(HEADER_OPTIONS):
        gdal.VSICurlPartialClearCache(url)
        dataset = None
        try:
            dataset = gdal.OpenEx(url, gdal.OF_RASTER | gdal.OF_READONLY,
                                  open_options=["OVERVIEW_LEVEL=NONE"])
            if dataset is None:
                raise RuntimeError("not a raster")
            return Grid.of_dataset(dataset)
        except RuntimeError as error:
            raise ImperviousnessError(
                f"STAC item {item_id}: asset '{key}' has no proj:shape / proj:transform and the "
                f"header of {href} cannot be read ({str(error).splitlines()[0][:200]}).") from None
        finally:
            dataset = None


def tile_of(properties):
    code = properties.get("grid:code") or ""
    tile = str(code).replace("MGRS-", "") or properties.get("s2:mgrs_tile") or ""
    if not tile and properties.get("mgrs:utm_zone") is not None:
        tile = (f"{properties.get('mgrs:utm_zone')}{properties.get('mgrs:latitude_band', '')}"
                f"{properties.get('mgrs:grid_square', '')}")
    return str(tile)


def datatake_of(properties, sensing):
    """(spacecraft, sensing start): from s2:product_uri (S2B_MSIL2A_20220226T095029_N0400_...),
    else s2:datatake_id (GS2B_20220226T095029_025988_N04.00), else platform and datetime."""
    uri = str(properties.get("s2:product_uri") or "")
    match = re.match(r"(S2[A-D])_MSIL2A_(\d{8}T\d{6})_", uri)
    if match:
        return match.group(1), match.group(2)
    match = re.match(r"GS(2[A-D])_(\d{8}T\d{6})_", str(properties.get("s2:datatake_id") or ""))
    if match:
        return f"S{match.group(1)}", match.group(2)
    return str(properties.get("platform") or "").upper(), sensing[:19]


@contextlib.contextmanager
def gdal_options(options):
    """Set GDAL config options for the block and restore the previous values afterwards."""
    previous = {key: gdal.GetConfigOption(key) for key in options}
    for key, value in options.items():
        gdal.SetConfigOption(key, value)
    try:
        yield
    finally:
        for key, value in previous.items():
            gdal.SetConfigOption(key, value)


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


def metadata_offset(properties, assets, item_id="?"):
    """The BOA offset (DN) the metadata imply for the stored values: -1000 or 0.

    `earthsearch:boa_offset_applied: true` means Earth Search already removed it (the
    `raster:bands` offset then still reads -0.1 on sentinel-2-l2a); otherwise the assets'
    `raster:bands` offset / scale (sentinel-2-c1-l2a has only this), else the processing baseline.
    """
    if properties.get("earthsearch:boa_offset_applied") is True:
        return 0
    bands = ((assets.get("red") or {}).get("raster:bands") or [{}])[0]
    if isinstance(bands, dict) and "offset" in bands and bands.get("scale"):
        try:
            return int(round(float(bands["offset"]) / float(bands["scale"])))
        except (TypeError, ValueError):
            raise _bad(item_id, "assets.red.raster:bands offset / scale",
                       (bands.get("offset"), bands.get("scale")), "are not numbers") from None
    baseline = properties.get("s2:processing_baseline")
    try:
        return BASELINE_04_OFFSET if baseline and float(baseline) >= 4.0 else 0
    except (TypeError, ValueError):
        raise _bad(item_id, "properties.s2:processing_baseline", baseline, "is not a number") from None


def _baseline_rank(scene):
    try:
        return float(scene.baseline)
    except (TypeError, ValueError):
        return -1.0


def one_scene_once(scenes):
    """(kept, dropped): one item per (collection, id) and per (datatake, tile); dropped items as
    {"item", "reason"} rows. The newest processing baseline wins, then the newest processing
    time, then the greater id (a stated, order-free rule)."""
    rank = {id(s): (_baseline_rank(s), s.processed, s.item_id) for s in scenes}
    dropped, kept = [], {}
    for scene in sorted(scenes, key=lambda s: rank[id(s)], reverse=True):
        same_id = kept.get(("id", scene.collection, scene.item_id))
        same_take = kept.get(("take", scene.collection, scene.datatake, scene.tile))
        if same_id is not None:
            dropped.append({"item": scene.item_id, "reason": (
                f"the search returned item id {scene.item_id} more than once; one of them is read "
                f"(baseline {same_id.baseline})")})
            continue
        if same_take is not None:
            dropped.append({"item": scene.item_id, "reason": (
                f"datatake {' '.join(scene.datatake)} of tile {scene.tile} is also offered as "
                f"{same_take.item_id} (baseline {same_take.baseline}, newer than {scene.baseline} "
                "or processed later): the newest processing wins")})
            continue
        kept[("id", scene.collection, scene.item_id)] = scene
        kept[("take", scene.collection, scene.datatake, scene.tile)] = scene
    survivors = {id(s) for key, s in kept.items() if key[0] == "id"}
    return [s for s in scenes if id(s) in survivors], dropped
