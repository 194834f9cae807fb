"""Benchmark: imperviousness:changemask on a Sentinel-2-tile-sized RMSD raster (issue 3).

A synthetic RMSD raster of 10980 x 10980 px at 10 m in EPSG:3035, aligned to the EEA grid, from
(4 399 500, 3 000 500): it spans 3 x 3 EEA 100 km tiles, one of them a full 10000 x 10000 px
tile (the largest a 10 m tile can be), so the peak memory is the worst case of the algorithm.
Values: a spatially smooth background that differs between tiles, pixel noise, change patches of
many sizes, and NaN areas (sea, clouds).

Each run happens in a fresh spawned child process (peak memory = the child's VmHWM, which
includes GDAL's block cache; benchmarks/common.py): the core of imperviousness:changemask, then a
plain reference (GDAL reads,
numpy.percentile, scipy.ndimage.label with 8-connectivity, numpy.bincount per label, GDAL
writes) on the same tiles. Both outputs must be identical. Targets: under 30 s and under 2 GB.
"""

import os
import pathlib
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import measure_in_child, verdict  # noqa: E402

SIZE = 10980
PIXEL = 10.0
ORIGIN = (4_399_500.0, 3_000_500.0)     # 500 m west / north of an EEA 100 km corner
TILE = 100_000.0
TARGET_SECONDS = 30.0
TARGET_MIB = 2048.0


def make_rmsd(path, seed=2021):
    """Write the synthetic RMSD raster (Float32, NaN nodata) with the project's writer."""
    import cv2
    from osgeo import osr

    from imperviousness_plugin.core.io.raster import Grid, RasterWriter, iter_blocks

    rng = np.random.default_rng(seed)
    # Smooth background: a coarse random field upsampled, scaled differently per 100 km tile.
    coarse = rng.gamma(2.0, 0.02, (110, 110)).astype(np.float32)
    background = cv2.resize(coarse, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
    column_tile = np.floor((ORIGIN[0] + (np.arange(SIZE) + 0.5) * PIXEL) / TILE)
    row_tile = np.floor((ORIGIN[1] - (np.arange(SIZE) + 0.5) * PIXEL) / TILE)
    tile_scale = 1.0 + 0.5 * ((row_tile[:, None] * 3 + column_tile[None, :]) % 4)
    rmsd = background * tile_scale.astype(np.float32)
    del background, tile_scale
    rmsd += rng.gamma(1.5, 0.01, (SIZE, SIZE)).astype(np.float32)
    # Change patches: squares of 1 to 60 px with a raised RMSD.
    for _ in range(40000):
        row, col = rng.integers(0, SIZE, 2)
        side = int(rng.integers(1, 61))
        rmsd[row:row + side, col:col + side] += np.float32(rng.uniform(0.05, 0.5))
    # Nodata: a "sea" in the south-west and scattered cloud holes.
    rows, cols = np.ogrid[:SIZE, :SIZE]
    rmsd[(rows - SIZE) ** 2 + cols ** 2 < (SIZE // 3) ** 2] = np.nan
    for _ in range(300):
        row, col = rng.integers(0, SIZE, 2)
        rmsd[row:row + 80, col:col + 120] = np.nan
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3035)
    grid = Grid(srs.ExportToWkt(), (ORIGIN[0], PIXEL, 0.0, ORIGIN[1], 0.0, -PIXEL), SIZE, SIZE)
    with RasterWriter(path, grid, 1, np.float32, np.nan, ["RMSD"]) as writer:
        for window in iter_blocks(SIZE, SIZE, 2048):
            writer.write(window, rmsd[window.slices])


def run_core(input_path, output_path):
    from imperviousness_plugin.core.features.changemask import run_changemask
    summary = run_changemask(input_path, output_path,
                             thresholds_path=os.path.splitext(output_path)[0] + ".json")
    return [(t.tile_id, t.valid_pixels, t.lower, t.upper, t.flagged_pixels) for t in summary["tiles"]]


def _plain_windows(geotransform, width, height):
    """Tile windows worked out plainly: cut the pixel ranges at multiples of 100 km."""
    x0, px, _, y1, _, py = geotransform
    first_col = int(round((np.ceil(x0 / TILE) * TILE - x0) / px))
    cols = [0] + list(range(first_col, width, int(TILE / px))) + [width]
    first_row = int(round((y1 - np.floor(y1 / TILE) * TILE) / -py))
    rows = [0] + list(range(first_row, height, int(TILE / -py))) + [height]
    cols, rows = sorted(set(cols)), sorted(set(rows))
    return [(c0, r0, c1 - c0, r1 - r0) for r0, r1 in zip(rows, rows[1:]) for c0, c1 in zip(cols, cols[1:])]


def run_reference(input_path, output_path):
    """The plain reference: percentiles, scipy labelling and bincount per label, tile by tile."""
    import scipy.ndimage
    from osgeo import gdal

    source = gdal.Open(input_path)
    band = source.GetRasterBand(1)
    target = gdal.GetDriverByName("GTiff").Create(
        output_path, source.RasterXSize, source.RasterYSize, 1, gdal.GDT_Byte,
        ["TILED=YES", "COMPRESS=DEFLATE", "PREDICTOR=2"])
    target.SetGeoTransform(source.GetGeoTransform())
    target.SetProjection(source.GetProjection())
    target.GetRasterBand(1).SetNoDataValue(255)
    flagged = []
    for col, row, width, height in _plain_windows(source.GetGeoTransform(), source.RasterXSize,
                                                  source.RasterYSize):
        rmsd = band.ReadAsArray(col, row, width, height).astype(np.float64)
        valid = np.isfinite(rmsd)
        out = np.full(rmsd.shape, 255, dtype=np.uint8)
        if valid.any():
            lower, upper = np.percentile(rmsd[valid], [97.5, 99])
            candidate = (rmsd >= lower) & (rmsd > 0)
            labels, count = scipy.ndimage.label(candidate, structure=np.ones((3, 3)))
            sizes = np.bincount(labels.ravel(), minlength=count + 1)
            strong = np.bincount(labels[candidate & (rmsd >= upper)], minlength=count + 1) > 0
            keep = strong & (sizes >= 8)
            keep[0] = False
            out = keep[labels].astype(np.uint8)
            out[~valid] = 255
        flagged.append(int((out == 1).sum()))
        target.GetRasterBand(1).WriteArray(out, col, row)
    target = None
    return flagged


def _read(path):
    from osgeo import gdal
    dataset = gdal.Open(path)
    return dataset.GetRasterBand(1).ReadAsArray()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        rmsd_path = os.path.join(tmp, "RMSD_2018_2021.tif")
        print(f"writing a synthetic {SIZE} x {SIZE} px RMSD raster ...", flush=True)
        # In a child too, so the parent stays small.
        measure_in_child(make_rmsd, rmsd_path)
        core_out, reference_out = os.path.join(tmp, "CHM.tif"), os.path.join(tmp, "CHM_ref.tif")
        seconds, peak_mib, tiles = measure_in_child(run_core, rmsd_path, core_out)
        ref_seconds, ref_peak_mib, ref_flagged = measure_in_child(run_reference, rmsd_path, reference_out)
        identical = np.array_equal(_read(core_out), _read(reference_out))
    megapixels = SIZE * SIZE / 1e6
    results = {"seconds": seconds, "mpx_per_s": megapixels / seconds, "peak_mib": peak_mib,
               "reference_seconds": ref_seconds, "reference_peak_mib": ref_peak_mib,
               "speedup": ref_seconds / seconds, "identical": identical, "tiles": len(tiles),
               "flagged": sum(t[4] for t in tiles)}
    for tile_id, valid, lower, upper, flagged in tiles:
        if valid:
            print(f"  {tile_id}: {valid:9d} valid px, lower {lower:.4f}, upper {upper:.4f}, "
                  f"{flagged:7d} px flagged")
        else:
            print(f"  {tile_id}: no valid pixel")
    print(f"changemask {SIZE} x {SIZE} px ({len(tiles)} EEA tiles): {seconds:6.1f} s, "
          f"{results['mpx_per_s']:6.1f} Mpx/s, peak {peak_mib:6.0f} MiB (child VmHWM)")
    print(f"plain reference (np.percentile + scipy.ndimage.label + bincount): {ref_seconds:6.1f} s, "
          f"peak {ref_peak_mib:6.0f} MiB; changemask is {results['speedup']:.2f}x as fast; "
          f"outputs identical: {identical} {verdict(identical)}")
    print(f"target wall time < {TARGET_SECONDS:.0f} s: {verdict(seconds < TARGET_SECONDS)}")
    print(f"target peak memory < {TARGET_MIB:.0f} MiB: {verdict(peak_mib < TARGET_MIB)}")
    results["pass"] = identical and seconds < TARGET_SECONDS and peak_mib < TARGET_MIB
    return results


if __name__ == "__main__":
    main()
