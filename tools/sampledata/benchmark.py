"""Benchmark year (large, simple content): one year of plain folders on a 100 km tile corner."""

import datetime
import json
import os

import numpy as np
from scipy import ndimage

from imperviousness_plugin.core.errors import ImperviousnessError
from .constants import (
    _BAND_INDEX, BANDS, BANDS_10M, BARE, BOA_ADD_OFFSET, BROADLEAF, COVERS, DEFAULT_SEED, EEA_EPSG,
    GRASS, PAVED, QUANTIFICATION, ROOF, SHRUB, SUMMER_CROP, WATER, WINTER_CROP)
from .spectra import _CLOUD_SHAPE, day_fraction, endmember_reflectance, greenness, _leap, _VEGETATION
from .landscape import smooth_field, _srs
from .acquisitions import baseline_has_offset
from .layouts import _remove, write_gtiff


BENCHMARK_ORIGIN = (4700000.0, 1500000.0)   # EPSG:3035 upper-left corner, a 100 km tile corner
# Upper-left corner of Sentinel-2 tile 33TWL's grid (EPSG:32633), as Earth Search's COGs have it.
BENCHMARK_UTM_ORIGIN = (499980.0, 5000040.0)


def generate_benchmark_year(out_dir, size=2000, n_dates=60, seed=DEFAULT_SEED, year=2021,
                            origin=None, zlevel=1, epsg=EEA_EPSG):
    """Write one year of plain-folder acquisitions for the benchmark, on an `epsg` grid.

    The content is simple (blocky parcels of eight covers with phenology, noise, blobby clouds
    with SCL), generated and written band by band so memory stays around ten arrays of
    size x size. Files are tiled (256 px) DEFLATE GeoTIFF, the layout of Earth Search's
    Sentinel-2 COGs. Baselines alternate 03.00 / 04.00. `origin` defaults to an EEA 100 km tile
    corner for EPSG:3035 and to tile 33TWL's corner otherwise. Returns `out_dir`.
    """
    if origin is None:
        origin = BENCHMARK_ORIGIN if int(epsg) == EEA_EPSG else BENCHMARK_UTM_ORIGIN
    size, n_dates = int(size), int(n_dates)
    if size < 20 or size % 2:
        raise ImperviousnessError(f"The benchmark size must be even and >= 20 (got {size}).")
    if not 1 <= n_dates <= 366:
        raise ImperviousnessError(f"n_dates must be 1..366 (got {n_dates}).")
    x0, y0 = float(origin[0]), float(origin[1])
    if x0 % 20 or y0 % 20:
        raise ImperviousnessError("The benchmark origin must be a multiple of 20 m.")
    out_dir = os.path.abspath(str(out_dir))
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 99]))
    wkt = _srs(int(epsg)).ExportToWkt()
    gt10 = (x0, 10.0, 0.0, y0, 0.0, -10.0)
    gt20 = (x0, 20.0, 0.0, y0, 0.0, -20.0)

    # Parcels of 100 m x 100 m whose cover follows a smooth field (quantile classes).
    covers = np.array([WATER, PAVED, ROOF, BARE, WINTER_CROP, SUMMER_CROP, GRASS, BROADLEAF,
                       SHRUB], dtype=np.uint8)
    shares = np.cumsum([0.05, 0.08, 0.08, 0.06, 0.20, 0.13, 0.20, 0.14])
    cells = -(-size // 10)
    level = smooth_field(rng, (cells, cells), 3.0) + 0.6 * rng.standard_normal((cells, cells))
    classes = np.searchsorted(np.quantile(level, shares), level)
    parcels = covers[classes]
    cover10 = np.repeat(np.repeat(parcels, 10, axis=0), 10, axis=1)[:size, :size]
    cover10 = np.ascontiguousarray(cover10)
    cover20 = np.ascontiguousarray(cover10[::2, ::2])
    noise_pool = np.rint(rng.normal(0.0, 25.0, size * size + 4099)).astype(np.int16)
    low = max(8, size // 16)

    year_start = datetime.date(year, 1, 1)
    days = 366 if _leap(year) else 365
    step = days / n_dates
    used = set()
    for k in range(n_dates):
        day = int(min(days - 1, max(0, round((k + 0.5) * step + rng.uniform(-0.3, 0.3) * step))))
        while day in used:
            day = (day + 1) % days
        used.add(day)
        date = year_start + datetime.timedelta(days=day)
        tau = day_fraction(date)
        spacecraft = "S2A" if k % 2 == 0 else "S2B"
        baseline = "04.00" if k % 2 else "03.00"
        offset = -BOA_ADD_OFFSET if baseline_has_offset(baseline) else 0
        table = np.stack([endmember_reflectance(COVERS[c], tau) for c in range(len(COVERS))])
        cover_fraction = float(rng.choice([0.0, 0.0, 0.1, 0.3, 0.6, 1.0]))
        opacity = None
        if cover_fraction > 0:
            blobs = smooth_field(rng, (low, low), 2.0)
            threshold = np.quantile(blobs, 1.0 - cover_fraction) if cover_fraction < 1 else -99
            small = np.clip((blobs - threshold) / 0.8, 0.0, 1.0).astype(np.float32)
            opacity = ndimage.zoom(small, size / low, order=1, grid_mode=True,
                                   mode="nearest")[:size, :size]
            if opacity.shape != (size, size):
                opacity = np.pad(opacity, ((0, size - opacity.shape[0]),
                                           (0, size - opacity.shape[1])), mode="edge")
        cloud_level = np.float32(rng.uniform(3500.0, 7500.0))
        folder = os.path.join(out_dir, f"{spacecraft}_{date:%Y%m%d}")
        _remove(folder)
        os.makedirs(folder)
        for band in BANDS + ("SCL",):
            ten = band in BANDS_10M
            cover = cover10 if ten else cover20
            n = cover.size
            a = None if opacity is None else (opacity if ten else opacity[::2, ::2])
            if band == "SCL":
                green = np.array([greenness(c, tau) if c in _VEGETATION else 0.0
                                  for c in COVERS])
                lut = np.where(green >= 0.35, 4, 5).astype(np.uint8)
                lut[WATER] = 6
                out = lut[cover]
                if a is not None:
                    out[a >= 0.2] = 7
                    out[a >= 0.45] = 8
                    out[a >= 0.7] = 9
                write_gtiff(os.path.join(folder, "SCL.tif"), out, gt20, wkt, description="SCL",
                            zlevel=zlevel)
                continue
            lut = (table[:, _BAND_INDEX[band]] * QUANTIFICATION).astype(np.float32)
            start = int(rng.integers(0, noise_pool.size - n))
            values = lut[cover]
            values += noise_pool[start:start + n].reshape(cover.shape)
            if a is not None:
                values += a * (cloud_level * np.float32(_CLOUD_SHAPE[_BAND_INDEX[band]]) - values)
            np.clip(values, 1.0, 50000.0, out=values)
            dn = np.rint(values).astype(np.uint16)
            if offset:
                dn += np.uint16(offset)
            write_gtiff(os.path.join(folder, f"{band}.tif"), dn, gt10 if ten else gt20, wkt,
                        description=band, zlevel=zlevel)
            del values, dn
        metadata = {"processing_baseline": baseline}
        if offset:
            metadata["boa_add_offset"] = BOA_ADD_OFFSET
        with open(os.path.join(folder, "metadata.json"), "w", encoding="utf-8") as stream:
            json.dump(metadata, stream, indent=2, sort_keys=True)
            stream.write("\n")
    return out_dir
