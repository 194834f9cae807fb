"""Real servers on 127.0.0.1 for the STAC tests: rustac's STAC API and a Range-honouring file server.

- `StacApi`: `rustac serve` (a real STAC API: /search with paging through `next` links) loaded
  with collections and items that follow Earth Search v1's item schema.
- `RangeFileServer`: uvicorn serving starlette's StaticFiles (HTTP Range, 206 responses) behind a
  small ASGI layer that logs every request (method, path, Range, status, body bytes sent) and can
  inject faults per file: a 503 answer, a connection dropped in the middle of the body, a 404.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
from osgeo import gdal

from tools import sampledata

ASSET_KEYS = {"B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1",
              "B06": "rededge2", "B07": "rededge3", "B08": "nir", "B8A": "nir08",
              "B11": "swir16", "B12": "swir22", "SCL": "scl"}
COG_BLOCK = 32   # scaled like Earth Search's 1024 px blocks on 10980 px tiles (a 512 px sample)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, process=None, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


# ----------------------------------------------------------------------------------------------
# Earth Search items and COGs from the simulated acquisitions
# ----------------------------------------------------------------------------------------------


def write_cog(path, array, geotransform, crs_wkt):
    """Tiled DEFLATE COG with overviews (which the client must never read), nodata 0."""
    source = gdal.GetDriverByName("MEM").Create(
        "", array.shape[1], array.shape[0], 1,
        gdal.GDT_Byte if array.dtype == np.uint8 else gdal.GDT_UInt16)
    source.SetGeoTransform(geotransform)
    source.SetProjection(crs_wkt)
    source.GetRasterBand(1).SetNoDataValue(0)
    source.GetRasterBand(1).WriteArray(array)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    gdal.PushErrorHandler("CPLQuietErrorHandler")   # GDAL warns that blocks under 128 px are unusual
    try:
        gdal.GetDriverByName("COG").CreateCopy(
            path, source, options=[f"BLOCKSIZE={COG_BLOCK}", "COMPRESS=DEFLATE", "PREDICTOR=2",
                                   "OVERVIEWS=AUTO", "RESAMPLING=NEAREST"])
    finally:
        gdal.PopErrorHandler()


def earth_search_item(acq, collection, base_url, flag, stored_offset_dn):
    """An item with Earth Search v1's property and asset names (s2:*, mgrs:*, earthsearch:*).

    `flag` is earthsearch:boa_offset_applied as published (possibly wrong); `stored_offset_dn`
    what the COGs really hold (-1000: the +1000 is still in the DN) decides nothing here.
    """
    item_id = f"{acq.spacecraft}_{acq.tile[1:]}_{acq.date:%Y%m%d}_0_L2A"
    epsg = int(sampledata.UTM_EPSG)
    x0, _, _, y1, _, _ = acq.geotransform_10m
    size = acq.bands["B02"].shape[0]
    raster_offset = -0.1 if sampledata.baseline_has_offset(acq.baseline) else 0.0
    assets = {}
    for band, key in ASSET_KEYS.items():
        res = 10 if band in ("B02", "B03", "B04", "B08") else 20
        shape = [size * 10 // res] * 2
        asset = {"href": f"{base_url}/{collection}/{item_id}/{band}.tif",
                 "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                 "title": f"{key} - {res}m", "gsd": res, "proj:shape": shape,
                 "proj:transform": [res, 0, x0, 0, -res, y1], "roles": ["data"]}
        if band == "SCL":
            asset["raster:bands"] = [{"nodata": 0, "data_type": "uint8",
                                      "spatial_resolution": res}]
        else:
            asset["raster:bands"] = [{"nodata": 0, "data_type": "uint16", "bits_per_sample": 15,
                                      "spatial_resolution": res, "scale": 0.0001,
                                      "offset": raster_offset}]
            asset["roles"].append("reflectance")
        assets[key] = asset
    lon_lat = _footprint(acq)
    return {
        "type": "Feature", "stac_version": "1.0.0", "id": item_id, "collection": collection,
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
            "https://stac-extensions.github.io/mgrs/v1.0.0/schema.json",
            "https://stac-extensions.github.io/grid/v1.0.0/schema.json"],
        "bbox": [min(p[0] for p in lon_lat), min(p[1] for p in lon_lat),
                 max(p[0] for p in lon_lat), max(p[1] for p in lon_lat)],
        "geometry": {"type": "Polygon", "coordinates": [lon_lat]},
        "properties": {
            "created": "2023-09-12T23:04:12.344Z", "platform": f"sentinel-2{acq.spacecraft[-1].lower()}",
            "constellation": "sentinel-2", "instruments": ["msi"],
            "eo:cloud_cover": round(100 * acq.cloud_cover, 6), "proj:epsg": epsg,
            "mgrs:utm_zone": 33, "mgrs:latitude_band": "S", "mgrs:grid_square": "VV",
            "grid:code": "MGRS-33SVV", "s2:product_type": "S2MSI2A",
            "s2:processing_baseline": acq.baseline,
            "s2:product_uri": f"{acq.product_name}.SAFE",
            "datetime": f"{acq.date:%Y-%m-%d}T09:50:31.024000Z", "s2:sequence": "0",
            "earthsearch:s3_path": f"s3://sentinel-cogs/sentinel-s2-l2a-cogs/33/S/VV/{item_id}",
            "earthsearch:payload_id": f"roda-sentinel2/workflow-sentinel2-to-stac/{item_id}",
            "earthsearch:boa_offset_applied": flag,
            "processing:software": {"sentinel2-to-stac": "0.1.1"},
            "updated": "2023-09-12T23:04:12.344Z"},
        "links": [], "assets": assets}


def _footprint(acq):
    from osgeo import osr
    size = acq.bands["B02"].shape[0] * 10.0
    x0, _, _, y1, _, _ = acq.geotransform_10m
    source, target = osr.SpatialReference(), osr.SpatialReference()
    source.ImportFromWkt(acq.crs_wkt)
    target.ImportFromEPSG(4326)
    target.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    source.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transform = osr.CoordinateTransformation(source, target)
    corners = [(x0, y1), (x0 + size, y1), (x0 + size, y1 - size), (x0, y1 - size), (x0, y1)]
    return [list(transform.TransformPoint(x, y)[:2]) for x, y in corners]


def write_item_files(acq, root, collection, item, stored_offset_dn):
    """The COGs of one item; `stored_offset_dn` 0 writes the DN with the +1000 removed."""
    folder = os.path.join(root, collection, item["id"])
    for band in ASSET_KEYS:
        if band == "SCL":
            array, gt = acq.scl, acq.geotransform_20m
        else:
            array = acq.bands[band]
            gt = acq.geotransform_10m if band in ("B02", "B03", "B04", "B08") else acq.geotransform_20m
            if stored_offset_dn == 0 and sampledata.baseline_has_offset(acq.baseline):
                array = np.where(array > 0, array.astype(np.int32) - 1000, 0).astype(np.uint16)
        write_cog(os.path.join(folder, f"{band}.tif"), array, gt, acq.crs_wkt)
    return folder


def collection_json(collection, items):
    return {"type": "Collection", "stac_version": "1.0.0", "id": collection,
            "description": f"Sentinel-2 L2A test copy of Earth Search v1 {collection}",
            "license": "proprietary", "links": [],
            "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                       "temporal": {"interval": [["2015-06-27T10:25:31Z", None]]}}}


# ----------------------------------------------------------------------------------------------
# rustac STAC API
# ----------------------------------------------------------------------------------------------


class StacApi:
    """`rustac serve` on 127.0.0.1 with the given {collection: [items]}."""

    def __init__(self, folder, collections):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        hrefs = []
        for collection, items in collections.items():
            path = os.path.join(folder, f"{collection}.collection.json")
            with open(path, "w", encoding="utf-8") as stream:
                json.dump(collection_json(collection, items), stream)
            hrefs.append(path)
            path = os.path.join(folder, f"{collection}.items.json")
            with open(path, "w", encoding="utf-8") as stream:
                json.dump({"type": "FeatureCollection", "features": items}, stream)
            hrefs.append(path)
        rustac = os.path.join(os.path.dirname(sys.executable), "rustac")
        self.log = open(os.path.join(folder, "rustac.log"), "w", encoding="utf-8")
        self.process = subprocess.Popen([rustac, "serve", "--addr", f"127.0.0.1:{self.port}", *hrefs],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.process)

    def collection_url(self, collection):
        return f"{self.url}/collections/{collection}"

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


# ----------------------------------------------------------------------------------------------
# Range-honouring file server with an access log and injected faults
# ----------------------------------------------------------------------------------------------


class FaultyFiles:
    """ASGI app: StaticFiles plus an access log and per-path faults: an HTTP status to answer
    instead of the file ('503', '403', ...), 'drop' (the connection closes mid-body) or
    'slow:<s>' (the answer waits <s> seconds)."""

    def __init__(self, root):
        from starlette.applications import Starlette
        from starlette.routing import Mount
        from starlette.staticfiles import StaticFiles
        # Inside a Starlette app so a missing file is a 404 answer, not a server error.
        self.static = Starlette(routes=[Mount("/", StaticFiles(directory=root))])
        self.log = []
        self.faults = {}          # path -> list of faults, consumed one per request
        self.lock = threading.Lock()

    def fault_for(self, path, method):
        """The next fault of `path`; a 'drop' waits for a GET (a HEAD has no body to cut)."""
        with self.lock:
            queue = self.faults.get(path)
            if not queue or (queue[0] == "drop" and method != "GET"):
                return None
            return queue.pop(0)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.static(scope, receive, send)
        path = scope["path"]
        headers = dict(scope["headers"])
        entry = {"method": scope["method"], "path": path,
                 "range": headers.get(b"range", b"").decode(), "status": None, "bytes": 0}
        with self.lock:
            self.log.append(entry)
        fault = self.fault_for(path, scope["method"])
        if fault is not None and fault.startswith("slow:"):   # answer, but only after a while
            import asyncio
            await asyncio.sleep(float(fault.split(":", 1)[1]))
            fault = None
        if fault is not None and fault != "drop":
            entry["status"] = int(fault)
            await send({"type": "http.response.start", "status": int(fault),
                        "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def logged_send(message):
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                if fault == "drop" and len(body) > 1:
                    # Half the body, then the connection closes under the client.
                    await send({"type": "http.response.body", "body": body[:len(body) // 2],
                                "more_body": True})
                    entry["bytes"] += len(body) // 2
                    entry["status"] = "dropped"
                    raise ConnectionAbortedError("fault injected: connection dropped mid-body")
                entry["bytes"] += len(body)
            await send(message)

        await self.static(scope, receive, logged_send)


class RangeFileServer:
    """uvicorn on 127.0.0.1 in a thread serving `root` through FaultyFiles."""

    def __init__(self, root):
        import uvicorn
        self.app = FaultyFiles(root)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="critical",
                                access_log=False, loop="asyncio", http="h11")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for_port(self.port)

    @property
    def log(self):
        return self.app.log

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def overview_ranges(path):
    """(start, end) byte ranges of every overview tile of a COG (must never be requested)."""
    dataset = gdal.Open(path)
    band = dataset.GetRasterBand(1)
    ranges = []
    for index in range(band.GetOverviewCount()):
        overview = band.GetOverview(index)
        bx, by = overview.GetBlockSize()
        for y in range(-(-overview.YSize // by)):
            for x in range(-(-overview.XSize // bx)):
                offset = int(overview.GetMetadataItem(f"BLOCK_OFFSET_{x}_{y}", "TIFF") or 0)
                size = int(overview.GetMetadataItem(f"BLOCK_SIZE_{x}_{y}", "TIFF") or 0)
                if size:
                    ranges.append((offset, offset + size - 1))
    return ranges


def requested_ranges(entry):
    """(start, end) of a log entry's Range header ('bytes=a-b[,c-d]')."""
    spec = entry["range"].split("=", 1)[-1]
    return [tuple(int(v) for v in part.split("-")) for part in spec.split(",") if part.strip()]


# ----------------------------------------------------------------------------------------------
# A STAC API that serves any item as given (hostile ones too) and misbehaves on request
# ----------------------------------------------------------------------------------------------


class ItemsApi:
    """uvicorn + starlette on 127.0.0.1: /search over {collection: [items]} exactly as given (no
    validation, so hostile ids and odd fields reach the client), paged through `next` links.

    `mode`: "ok"; "loop" (every page's next link is the page itself); "trickle" (the answer
    comes one byte every `delay` s); "stall" (the request is accepted, never answered).
    """

    def __init__(self, collections, mode="ok", delay=0.5):
        import asyncio

        import uvicorn
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse, Response, StreamingResponse
        from starlette.routing import Route

        self.collections, self.mode, self.requests = collections, mode, []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

        async def search(request):
            body = await request.json() if request.method == "POST" else dict(request.query_params)
            self.requests.append((request.method, str(request.url), body))
            if self.mode == "stall":
                await asyncio.sleep(3600)
            names = body.get("collections") or []
            names = names.split(",") if isinstance(names, str) else names
            found = [item for name in names for item in self.collections.get(name, [])]
            start, limit = int(body.get("token", 0)), int(body.get("limit", 100))
            links = []
            if self.mode == "loop":
                links.append({"rel": "next", "href": f"{self.url}/search", "method": "POST",
                              "body": body})
            elif start + limit < len(found):
                links.append({"rel": "next", "href": f"{self.url}/search", "method": "POST",
                              "body": dict(body, token=start + limit)})
            page = {"type": "FeatureCollection", "features": found[start:start + limit],
                    "links": links}
            if self.mode == "trickle":
                data = json.dumps(page).encode()

                async def drip():
                    for index in range(len(data)):
                        await asyncio.sleep(delay)
                        yield data[index:index + 1]
                return StreamingResponse(drip(), media_type="application/geo+json")
            return JSONResponse(page)

        async def collection(request):
            name = request.path_params["name"]
            if name not in self.collections:
                return Response(status_code=404)
            return JSONResponse(collection_json(name, self.collections[name]))

        async def landing(request):   # what STAC clients read first (pystac-client does)
            return JSONResponse({
                "type": "Catalog", "id": "items-api", "stac_version": "1.0.0",
                "description": "test STAC API", "conformsTo": [
                    "https://api.stacspec.org/v1.0.0/core",
                    "https://api.stacspec.org/v1.0.0/item-search"],
                "links": [{"rel": "self", "href": f"{self.url}/"},
                          {"rel": "root", "href": f"{self.url}/"},
                          {"rel": "search", "href": f"{self.url}/search", "method": "POST",
                           "type": "application/geo+json"},
                          {"rel": "search", "href": f"{self.url}/search", "method": "GET",
                           "type": "application/geo+json"}]})

        app = Starlette(routes=[Route("/", landing),
                                Route("/search", search, methods=["GET", "POST"]),
                                Route("/collections/{name}", collection)])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical",
                                access_log=False, loop="asyncio", http="h11")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for_port(self.port)

    def collection_url(self, collection):
        return f"{self.url}/collections/{collection}"

    def stop(self):
        self.server.should_exit = True
        self.server.force_exit = True
        self.thread.join(timeout=10)


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (an image server that hangs)."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = []
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        self.socket.settimeout(0.2)
        while self.running:
            try:
                connection, _ = self.socket.accept()
                self.connections.append(connection)   # kept open, never read, never answered
            except OSError:
                continue

    def stop(self):
        self.running = False
        self.thread.join(timeout=5)
        for connection in self.connections:
            connection.close()
        self.socket.close()


def synthetic_items(root, files, collection, size=128, n_dates=3, year=2021):
    """(items, acquisitions): simulated acquisitions of tile 33SVV as Earth Search
    sentinel-2-c1-l2a items (raw DN, raster:bands offset) with their COGs under `root`, served by
    `files` (a RangeFileServer of `root`)."""
    world = sampledata.simulate_world(size=size, n_dates=max(n_dates, 4))
    acquisitions = sampledata.simulate_acquisitions(world, year)[:n_dates]
    items = []
    for acq in acquisitions:
        items.append(earth_search_item(acq, collection, files.url, False, -1000))
        write_item_files(acq, root, collection, items[-1], -1000)
    return items, acquisitions


def local_folders(acquisitions, folder):
    """The acquisitions as local plain folders (the reference the STAC path must equal)."""
    for acq in acquisitions:
        sampledata.write_acquisition(acq, str(folder), "plain")
    return str(folder)
