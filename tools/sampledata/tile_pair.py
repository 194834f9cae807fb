"""Two overlapping tiles in two UTM zones (pre-processing across tiles)."""

import datetime
import math
import os

import numpy as np
from osgeo import osr

from imperviousness_plugin.core.errors import ImperviousnessError
from .constants import _BAND_INDEX, BANDS, BANDS_10M, EEA_EPSG
from .spectra import day_fraction, _leap
from .landscape import _srs
from .layouts import _remove, write_gtiff

osr.UseExceptions()


TILE_PAIR_LONLAT = (18.0, 45.0)   # on the border of UTM zones 33 and 34
TILE_PAIR_EPSG = (32633, 32634)


def tile_pair_dn(band_index, x, y, tau):
    """Cloud-free DN of a band at EPSG:3035 coordinates (x, y) on a day fraction tau.

    A smooth ground field with a seasonal green-up, the same for every tile that sees the
    point; integers after rounding, as stored DN are.
    """
    ground = 900.0 + 110.0 * band_index + 350.0 * np.sin(x / 170.0 + band_index) * np.cos(y / 230.0)
    green = 0.5 + 0.5 * np.sin((x + y) / 300.0)
    season = math.sin(math.pi * tau) ** 2
    sign = 1.0 if BANDS[band_index] in ("B06", "B07", "B08", "B8A") else -0.4
    return np.rint(ground + sign * 1500.0 * season * green)


def tile_pair_cloud(date_index, x, y, centre):
    """True where the cloud of datatake `date_index` covers EPSG:3035 point (x, y).

    The cloud (160 m radius) starts 300 m west of the pair's `centre` and drifts east.
    """
    cx = centre[0] - 300.0 + 90.0 * date_index
    cy = centre[1] + 100.0 - 60.0 * (date_index % 5)
    return (x - cx) ** 2 + (y - cy) ** 2 < 160.0 ** 2


def generate_tile_pair(out_dir, size=60, n_dates=8, year=2021, overlap=0.5):
    """Two overlapping tiles, EPSG:32633 and EPSG:32634, around 18 E 45 N, as plain folders.

    Writes out_dir/T33/<S2x_YYYYMMDD>/ and out_dir/T34/... (size x size px at 10 m, 20 m bands
    and SCL at 20 m, baseline 03.00). The ground and the clouds are functions of EPSG:3035
    coordinates (`tile_pair_dn`, `tile_pair_cloud`), so both tiles see the same scene, and on a
    shared datatake the same clouds. Datatake k (date k of n_dates) is seen by both tiles when k
    is even, by T33 only when k % 4 == 1 and by T34 only when k % 4 == 3. Datatake 2 ends inside
    T33 (the edge of its swath): T33 has no data (DN 0, SCL 0) east of the pair's centre on that
    date, so T34 has more observations there. The tiles overlap over `overlap` of their width.
    Returns {"T33": folder, "T34": folder, "dates": {tile: dates}, "centre": (x, y) in 3035}.
    """
    if size < 8 or size % 2:
        raise ImperviousnessError(f"The tile size must be even and >= 8 (got {size}).")
    wgs84 = osr.SpatialReference()
    wgs84.ImportFromEPSG(4326)
    wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    laea = _srs(EEA_EPSG)
    centre = osr.CoordinateTransformation(wgs84, laea).TransformPoint(*TILE_PAIR_LONLAT)
    half = size * 10.0 / 2
    shift = size * 10.0 * (1.0 - overlap) / 2
    days = 366 if _leap(year) else 365
    dates = [datetime.date(year, 1, 1) + datetime.timedelta(days=int((k + 0.5) * days / n_dates))
             for k in range(n_dates)]
    out = {"dates": {}, "centre": (centre[0], centre[1])}
    for name, epsg, side in (("T33", TILE_PAIR_EPSG[0], -1.0), ("T34", TILE_PAIR_EPSG[1], 1.0)):
        utm = _srs(epsg)
        to_utm = osr.CoordinateTransformation(laea, utm)
        cx, cy, _ = to_utm.TransformPoint(centre[0] + side * shift, centre[1])
        x0, y0 = round((cx - half) / 20.0) * 20.0, round((cy + half) / 20.0) * 20.0
        to_laea = osr.CoordinateTransformation(utm, laea)
        grids = {}
        for pixel in (10.0, 20.0):
            n = int(size * 10.0 / pixel)
            cols, rows = np.meshgrid(np.arange(n) + 0.5, np.arange(n) + 0.5)
            points = np.column_stack([x0 + cols.ravel() * pixel, y0 - rows.ravel() * pixel])
            laea_xy = np.array(to_laea.TransformPoints(points))[:, :2]
            grids[pixel] = (laea_xy[:, 0].reshape(n, n), laea_xy[:, 1].reshape(n, n),
                            (x0, pixel, 0.0, y0, 0.0, -pixel))
        folder = os.path.join(out_dir, name)
        seen = [k for k in range(n_dates)
                if k % 2 == 0 or (k % 4 == 1 and name == "T33") or (k % 4 == 3 and name == "T34")]
        for k in seen:
            tau = day_fraction(dates[k])
            path = os.path.join(folder, f"{'S2A' if k % 2 == 0 else 'S2B'}_{dates[k]:%Y%m%d}")
            _remove(path)
            os.makedirs(path)
            for band in BANDS + ("SCL",):
                x, y, gt = grids[10.0 if band in BANDS_10M else 20.0]
                cloud = tile_pair_cloud(k, x, y, centre)
                swath_end = (x > centre[0]) if (name == "T33" and k == 2) else False
                if band == "SCL":
                    array = np.where(cloud, 9, 4).astype(np.uint8)
                else:
                    index = _BAND_INDEX[band]
                    dn = tile_pair_dn(index, x, y, tau)
                    array = np.where(cloud, 7000 + 100 * index, dn).astype(np.uint16)
                array[swath_end] = 0
                write_gtiff(os.path.join(path, f"{band}.tif"), array, gt, utm.ExportToWkt(),
                            description=band)
        out[name] = folder
        out["dates"][name] = [dates[k] for k in seen]
    return out
