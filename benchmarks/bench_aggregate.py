"""Benchmark of the one aggregation routine on a full Sentinel-2 tile (SPEC 6, issue 3).

A synthetic 10980 x 10980 Byte IMD-like raster (0..100 densities in urban clusters, a sea of 255
nodata, EPSG:3035 on the EEA grid) is written to a temporary tiled DEFLATE GeoTIFF. It is then
aggregated to 20 m and to 100 m with the core (`aggregate_raster`, mean rule) and, as a speed
reference measured in the same run, with `gdal.Warp(..., resampleAlg='average')` to the same
grids and the same creation options. GDAL's average does not implement the valid-fraction rule
or half-to-even rounding: it is a speed reference only.

Each run happens in its own spawned child process (benchmarks/common.py), which reports its wall
time around the call and its peak resident memory (VmHWM, including the interpreter, numpy and
GDAL). Targets (issue 3): < 10 s and < 2 GB per run.

Run: `cd /work/main && .venv/bin/python benchmarks/bench_aggregate.py`
"""

import os
import pathlib
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import measure_in_child  # noqa: E402

SIZE = 10980
ORIGIN = (4_700_000.0, 1_460_000.0)
TARGET_SECONDS = 10.0
TARGET_BYTES = 2 * 1024 ** 3


def write_synthetic_tile(path, seed=0):
    """An IMD-like tile: 0 background, clustered densities 0..100, a sea of 255 in one corner."""
    from osgeo import gdal, osr
    gdal.UseExceptions()
    rng = np.random.default_rng(seed)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3035)
    ds = gdal.GetDriverByName("GTiff").Create(
        str(path), SIZE, SIZE, 1, gdal.GDT_Byte,
        ["TILED=YES", "COMPRESS=DEFLATE", "PREDICTOR=2", "NUM_THREADS=2", "BIGTIFF=NO"])
    ds.SetGeoTransform((ORIGIN[0], 10.0, 0.0, ORIGIN[1], 0.0, -10.0))
    ds.SetProjection(srs.ExportToWkt())
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(255)
    strip = 1024
    cols = np.arange(SIZE)
    for row in range(0, SIZE, strip):
        height = min(strip, SIZE - row)
        rows = np.arange(row, row + height)[:, None]
        # urban clusters: a coarse random field of 500 m blocks, densities only where it is high
        coarse = rng.random((height // 50 + 2, SIZE // 50 + 2))
        urban = np.repeat(np.repeat(coarse, 50, 0), 50, 1)[:height, :SIZE] > 0.7
        values = np.where(urban, rng.integers(0, 101, (height, SIZE)), 0).astype(np.uint8)
        values[(rows + cols[None, :]) > 1.6 * SIZE] = 255  # the sea, a diagonal coast
        band.WriteArray(values, 0, row)
    ds = None


def run_job(kind, source, output, resolution):
    """One measured job (in a spawned child): write the tile, the core, or GDAL's average."""
    from osgeo import gdal
    gdal.UseExceptions()
    if kind == "write":
        write_synthetic_tile(source)
    elif kind == "core":
        from imperviousness_plugin.core.change.aggregate import aggregate_raster
        aggregate_raster(source, output, resolution, "mean", 0.5)
    else:
        ds = gdal.Open(source)
        x0, _, _, y1, _, _ = ds.GetGeoTransform()
        bounds = (x0, y1 - SIZE * 10.0, x0 + SIZE * 10.0, y1)
        ds = None
        gdal.Warp(output, source, options=gdal.WarpOptions(
            outputBounds=bounds, xRes=resolution, yRes=resolution, resampleAlg="average",
            srcNodata=255, dstNodata=255, overviewLevel="NONE",
            creationOptions=["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE",
                             "PREDICTOR=2", "NUM_THREADS=2"]))


def main():
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench_aggregate_") as folder:
        source = os.path.join(folder, "imd_like_10980.tif")
        seconds, _, _ = measure_in_child(run_job, "write", source, None, None)
        print(f"synthetic tile {SIZE} x {SIZE} Byte written in {seconds:.1f} s "
              f"({os.path.getsize(source) / 1e6:.0f} MB DEFLATE)")
        megapixels = SIZE * SIZE / 1e6
        for resolution in (20, 100):
            core_s, core_mib, _ = measure_in_child(
                run_job, "core", source, os.path.join(folder, f"core_{resolution}.tif"), resolution)
            gdal_s, gdal_mib, _ = measure_in_child(
                run_job, "gdal", source, os.path.join(folder, f"gdal_{resolution}.tif"), resolution)
            passed = core_s < TARGET_SECONDS and core_mib * 2 ** 20 < TARGET_BYTES
            results[f"{resolution}m"] = {
                "seconds": core_s, "megapixels_per_second": megapixels / core_s,
                "peak_mib": core_mib, "gdal_average_seconds": gdal_s,
                "gdal_average_peak_mib": gdal_mib, "ratio_core_to_gdal": core_s / gdal_s,
                "pass": passed}
            print(f"10 m -> {resolution:>3} m  core {core_s:6.2f} s  {megapixels / core_s:6.1f} Mpx/s  "
                  f"peak {core_mib:5.0f} MiB (child VmHWM) | gdal.Warp average "
                  f"{gdal_s:6.2f} s, {gdal_mib:5.0f} MiB | core/gdal time {core_s / gdal_s:4.2f} | "
                  f"target < {TARGET_SECONDS:g} s and < 2 GB: {'PASS' if passed else 'FAIL'}")
    results["pass"] = all(r["pass"] for key, r in results.items() if key.endswith("m"))
    return results


if __name__ == "__main__":
    outcome = main()
    sys.exit(0 if outcome["pass"] else 1)
