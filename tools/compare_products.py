#!/usr/bin/env python3
"""Compare two product folders of the same run on two QGIS versions, product by product.

Usage: python3 tools/compare_products.py REFERENCE OTHER [OTHER...]
Prints one table per OTHER folder (file, byte-identical, differing pixels, max |difference|,
the tolerance that applies) and exits 1 when a product is outside its tolerance or missing.

Every file must be byte-identical except where TOLERANCES states otherwise, with the reason.
Rasters that are not byte-identical are compared value by value (grid, data type and nodata must
be equal; NaN equals NaN).
"""

import fnmatch
import os
import sys
from dataclasses import dataclass

import numpy as np
from osgeo import gdal


@dataclass(frozen=True)
class Tolerance:
    pattern: str          # file name pattern (fnmatch)
    max_abs: float        # largest |difference| allowed at any pixel
    max_fraction: float   # largest share of pixels allowed to differ at all
    reason: str


# Debian 12 (QGIS 3.22, Python 3.11, numpy 1.24, GDAL 3.6) against trixie (QGIS 3.40/3.44,
# Python 3.13, numpy 2.x, GDAL 3.10). Measured in CI (December 2026: numpy 2.5.5, ONNX Runtime
# 1.32, OpenCV 5.1, numba 0.68 from qpip's install): all 141 files of the demo byte-identical.
# Issue 19 measured, with other package versions, PP within 2.4e-7, RMSD within 5.7e-7 and one
# RIMD pixel off by 1: qpip installs the newest releases, so these stay allowed. Only products of
# floating-point pipelines may differ, and only by rounding.
TOLERANCES = (
    Tolerance("PP_*.tif", 1e-6, 1.0,
              "float32 NDVI/reflectance statistics: numpy 2 evaluates float32 transcendental "
              "functions and pairwise sums with other SIMD kernels, a few units in the last place "
              "(float32 ulp at 1.0 is 1.2e-7)"),
    Tolerance("RMSD_*.tif", 2e-6, 1.0,
              "RMSD between the PP stacks: inherits their last-place differences"),
    Tolerance("RIMD_*.tif", 1, 0.001,
              "U-Net output rounded to whole percent: ONNX Runtime's kernels differ between "
              "releases in summation order, so a value at .5 can round the other way"),
)
EXACT = Tolerance("*", 0, 0.0, "integer pipeline or text: must be byte-identical")


def tolerance_for(name):
    for rule in TOLERANCES:
        if fnmatch.fnmatch(name, rule.pattern):
            return rule
    return EXACT


def files(folder):
    return sorted(os.path.relpath(os.path.join(top, name), folder)
                  for top, _, names in os.walk(folder) for name in names)


def raster_difference(reference, other):
    """(differing pixels, pixel count, max |difference|) over all bands, or a str saying why
    the two rasters cannot be compared value by value."""
    a, b = gdal.Open(reference), gdal.Open(other)
    if (a.RasterXSize, a.RasterYSize, a.RasterCount) != (b.RasterXSize, b.RasterYSize, b.RasterCount):
        return "different size or band count"
    if a.GetGeoTransform() != b.GetGeoTransform():
        return "different geotransform"
    differing, total, largest = 0, 0, 0.0
    for index in range(1, a.RasterCount + 1):
        band_a, band_b = a.GetRasterBand(index), b.GetRasterBand(index)
        nodata = band_a.GetNoDataValue(), band_b.GetNoDataValue()
        same_nodata = nodata[0] == nodata[1] or (nodata[0] is not None and nodata[1] is not None
                                                  and np.isnan(nodata[0]) and np.isnan(nodata[1]))
        if band_a.DataType != band_b.DataType or not same_nodata:
            return f"band {index}: different data type or nodata"
        x, y = band_a.ReadAsArray(), band_b.ReadAsArray()
        same = x == y
        if x.dtype.kind == "f":
            same |= np.isnan(x) & np.isnan(y)
        unequal = ~same
        differing += int(unequal.sum())
        total += x.size
        if unequal.any():
            delta = np.abs(x[unequal].astype(np.float64) - y[unequal].astype(np.float64))
            largest = max(largest, float(np.nan_to_num(delta, nan=np.inf).max()))
    return differing, total, largest


def compare(reference, other):
    """Rows (name, identical, differing, total, max_abs, rule, ok) for every reference file."""
    rows = []
    present = set(files(other))
    for name in files(reference):
        rule = tolerance_for(os.path.basename(name))
        if name not in present:
            rows.append((name, False, None, None, None, rule, False))
            continue
        path_a, path_b = os.path.join(reference, name), os.path.join(other, name)
        with open(path_a, "rb") as first, open(path_b, "rb") as second:
            identical = first.read() == second.read()
        if identical:
            rows.append((name, True, 0, None, 0.0, rule, True))
            continue
        if not name.endswith(".tif") or rule is EXACT:
            result = raster_difference(path_a, path_b) if name.endswith(".tif") else "bytes differ"
            if isinstance(result, str):
                rows.append((name, False, None, None, None, rule, False))
            else:
                rows.append((name, False, result[0], result[1], result[2], rule, False))
            continue
        result = raster_difference(path_a, path_b)
        if isinstance(result, str):
            rows.append((name, False, None, None, None, rule, False))
            continue
        differing, total, largest = result
        ok = largest <= rule.max_abs and differing <= rule.max_fraction * total
        rows.append((name, False, differing, total, largest, rule, ok))
    for name in sorted(present - set(files(reference))):
        rows.append((name + " (extra)", False, None, None, None, EXACT, False))
    return rows


def table(rows):
    lines = ["| product | byte-identical | differing pixels | max abs diff | tolerance | ok |",
             "|---|---|---|---|---|---|"]
    for name, identical, differing, total, largest, rule, ok in rows:
        pixels = "-" if differing is None else (f"{differing} / {total}" if total else "0")
        diff = "-" if largest is None else f"{largest:.3g}"
        allowed = "exact" if rule is EXACT else f"{rule.max_abs:g}, {rule.max_fraction:.1%} px"
        lines.append(f"| {name} | {'yes' if identical else 'no'} | {pixels} | {diff} | {allowed} | "
                     f"{'ok' if ok else 'FAIL'} |")
    return "\n".join(lines)


def main(reference, *others):
    failed = False
    for other in others:
        rows = compare(reference, other)
        identical = sum(row[1] for row in rows)
        print(f"\n{other} against {reference}: {identical} of {len(rows)} files byte-identical")
        print(table(rows))
        failed |= not all(row[6] for row in rows)
    print("\nTolerances:")
    for rule in TOLERANCES:
        print(f"- {rule.pattern}: |diff| <= {rule.max_abs:g} on <= {rule.max_fraction:.1%} of pixels: {rule.reason}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
