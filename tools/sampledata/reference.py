"""Reference and truth layers on the EEA grid (EPSG:3035, 10 m): IMD, IBU, CLCplus and the change
regions warped from the truth."""

import math

import numpy as np
from osgeo import gdal, osr

from imperviousness_plugin.core.errors import ImperviousnessError
from .constants import (
    BARE, BROADLEAF, CLCPLUS_CODES, CLCPLUS_SEALED, CONIFER, COVERS, EEA_EPSG, GRASS,
    IBU_MIN_BUILT_UP, PAVED, ROOF, SEALED_MAJORITY, SEALED_VISIBLE_MIN, SHRUB, SUMMER_CROP,
    UTM_EPSG, WATER, WINTER_CROP)
from .landscape import _srs
from .layouts import _mem_dataset

gdal.UseExceptions()
osr.UseExceptions()


def eea_grid(world):
    """Geotransform and (rows, cols) of the EPSG:3035 10 m grid, aligned to multiples of 10 m,
    covering the largest rectangle whose pixels lie fully inside the UTM footprint."""
    transform = osr.CoordinateTransformation(_srs(UTM_EPSG), _srs(EEA_EPSG))
    xmin, ymin, xmax, ymax = world.bounds
    t = np.linspace(0.0, 1.0, 65)

    def edge(xs, ys):
        return np.array(transform.TransformPoints(list(zip(xs.tolist(), ys.tolist()))))[:, :2]

    left = edge(np.full_like(t, xmin), ymin + t * (ymax - ymin))
    right = edge(np.full_like(t, xmax), ymin + t * (ymax - ymin))
    bottom = edge(xmin + t * (xmax - xmin), np.full_like(t, ymin))
    top = edge(xmin + t * (xmax - xmin), np.full_like(t, ymax))
    x0 = math.ceil(left[:, 0].max() / 10.0) * 10.0
    x1 = math.floor(right[:, 0].min() / 10.0) * 10.0
    y0 = math.ceil(bottom[:, 1].max() / 10.0) * 10.0
    y1 = math.floor(top[:, 1].min() / 10.0) * 10.0
    # one pixel of margin against the curvature between the densified points
    x0, x1, y0, y1 = x0 + 10.0, x1 - 10.0, y0 + 10.0, y1 - 10.0
    cols, rows = int(round((x1 - x0) / 10.0)), int(round((y1 - y0) / 10.0))
    return (x0, 10.0, 0.0, y1, 0.0, -10.0), (rows, cols)


def _warp(world, array, geotransform, shape, algorithm):
    source = _mem_dataset(array, world.geotransform_10m, world.crs_wkt)
    rows, cols = shape
    x0, y1 = geotransform[0], geotransform[3]
    bounds = (x0, y1 - 10.0 * rows, x0 + 10.0 * cols, y1)
    warped = gdal.Warp("", source, format="MEM", dstSRS=_srs(EEA_EPSG).ExportToWkt(),
                       outputBounds=bounds, width=cols, height=rows, resampleAlg=algorithm,
                       multithread=False)
    if tuple(warped.GetGeoTransform()) != tuple(geotransform):
        raise ImperviousnessError("Internal error: the warped grid is not the EEA grid.")
    return warped.ReadAsArray()


def eea_layers(world, year):
    """IMD (0..100), IBU (0/1) and CLCplus of one year on the EEA grid (uint8 arrays)."""
    gt, shape = eea_grid(world)
    truth = world.truth[year]
    stack = np.concatenate([truth.fractions, truth.visible_sealed[None]])
    warped = _warp(world, stack, gt, shape, "average").astype(np.float64).reshape((len(COVERS) + 1,) + shape)
    fractions, visible = warped[:-1], warped[-1]
    imd = np.rint(100.0 * (fractions[PAVED] + fractions[ROOF])).clip(0, 100).astype(np.uint8)
    ibu = (fractions[ROOF] >= IBU_MIN_BUILT_UP).astype(np.uint8)
    groups = [("conifer", fractions[CONIFER]), ("broadleaf", fractions[BROADLEAF]),
              ("shrub", fractions[SHRUB]), ("grass", fractions[GRASS]),
              ("crops", fractions[WINTER_CROP] + fractions[SUMMER_CROP]),
              ("bare", fractions[BARE]), ("water", fractions[WATER])]
    codes = np.array([CLCPLUS_CODES[name] for name, _ in groups], dtype=np.uint8)
    clcplus = codes[np.argmax(np.stack([values for _, values in groups]), axis=0)]
    # A 10 m sealed class as a map of roads and buildings shows it: every pixel where sealed
    # objects a 10 m sensor resolves cover >= 20 %, or sealed surfaces cover most of the pixel;
    # in the dense core, the residential ring, farmsteads and along every road alike.
    sealed = (visible >= SEALED_VISIBLE_MIN) | (fractions[PAVED] + fractions[ROOF] >= SEALED_MAJORITY)
    clcplus[sealed] = CLCPLUS_SEALED
    return {"IMD": imd, "IBU": ibu, "CLCplus": clcplus}


def eea_change_regions(world):
    gt, shape = eea_grid(world)
    return _warp(world, world.change_regions, gt, shape, "mode").astype(np.uint8)
