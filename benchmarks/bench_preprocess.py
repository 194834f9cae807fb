"""Benchmark: `preprocess` against the decoding floor (issue 10).

Generated years in UTM (EPSG:32633, tile 33TWL's grid) as tiled DEFLATE GeoTIFF (Earth Search's
COG layout), 60 dates, output on the EEA grid (EPSG:3035), at two sizes. For each size, in fresh
processes of the same run:

* decode: every block of every input file read once with GDAL on one thread (the floor);
* preprocess: the core of imperviousness:preprocess at default settings (wall time, peak RSS),
  with where the time goes: decoding (CPU of the reader threads), the main thread waiting for
  them, the reduction (kernels), the resampling onto the output grid and the writing.

Prints the ratio preprocess / decode (target <= 3 at 2000 x 2000 px x 60 dates), the peak
memory (target < 2 GB, and the same at both sizes) and the projected time of a 10980 x 10980 px,
100-date tile-year from the measured throughput. With PREPROCESS_PREVIOUS=<checkout> the
previous implementation (e.g. a worktree of the commit before issue 10) is measured on the
smaller year in the same run, for the before/after figure.
"""

import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import machine_line, measure_in_child, verdict  # noqa: E402

DATES = 60
SIZES = tuple(int(size) for size in os.environ.get("PREPROCESS_BENCH_SIZES", "1000,2000").split(","))
TILE_YEAR = 10980 * 10980 * 100
TARGET_RATIO = 2.0   # issue 21 (3.0 in issue 10)
# numpy's AVX-512 code off, numba for Haswell, OpenBLAS's Haswell kernels: an AVX2-only CPU.
AVX2_ONLY = {"NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL",
             "NUMBA_CPU_NAME": "haswell", "OPENBLAS_CORETYPE": "Haswell"}
TARGET_PEAK_MIB = 2048
TARGET_PEAK_GROWTH = 1.05   # "independent of raster size": the peak at 4x the pixels within 5 %


def decode_all(input_dir):
    """Seconds to decode every block of every input file once, on this one thread."""
    from osgeo import gdal
    gdal.UseExceptions()
    files = sorted(str(path) for path in pathlib.Path(input_dir).glob("*/*.tif"))
    started = time.perf_counter()
    for path in files:
        dataset = gdal.Open(path)   # kept referenced while its band is read
        band = dataset.GetRasterBand(1)
        block_w, block_h = band.GetBlockSize()
        for row in range(-(-band.YSize // block_h)):
            for col in range(-(-band.XSize // block_w)):
                band.ReadBlock(col, row)
        band.FlushCache()
    return time.perf_counter() - started


def _timed(phases, name, function, clock):
    """`function` adding its `clock` time (per call, in the calling thread) to phases[name]."""
    def wrapper(*args, **kwargs):
        started = clock()
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = clock() - started
            with LOCK:
                phases[name] = phases.get(name, 0.0) + elapsed
    return wrapper


LOCK = __import__("threading").Lock()
# Where the time goes (issue 21): (module, attribute, phase, clock). Reader threads decode
# (CPU seconds of those threads); the main thread waits for them, reduces blocks (the kernels,
# with their task pool) and merges the tiles onto the output grid (resampling); a background
# thread writes (wall seconds in each thread; threads overlap, so the phases do not add up).
PHASES = (("features.blockreader", "BlockStream._read_acquisition", "decode (CPU s, reader threads)", "thread_time"),
          ("features.blockreader", "BlockStream._collect", "main thread waiting for decoded blocks", "perf_counter"),
          ("features.preprocess", "reduce_block", "reduction: quantiles, NDVI, fit (wall)", "perf_counter"),
          ("features.preprocess", "merge_tiles", "resampling onto the output grid (wall)", "perf_counter"),
          ("io.raster", "RasterWriter.write", "writing the PP and native features (wall, background threads)",
           "perf_counter"),
          ("features.preprocess", "_ScratchRaster.write", "  of which native features (wall, background)",
           "perf_counter"))


def _instrument(phases):
    import importlib
    for module_name, attribute, phase, clock in PHASES:
        module = importlib.import_module(f"imperviousness_plugin.core.{module_name}")
        owner, _, name = attribute.rpartition(".")
        target = getattr(module, owner) if owner else module
        setattr(target, name, _timed(phases, phase, getattr(target, name), getattr(time, clock)))


def run(input_dir, output_path, code_root=None):
    if code_root:
        sys.path.insert(0, code_root)
    from osgeo import osr
    from imperviousness_plugin.core.features.preprocess import PreprocessOptions, run_preprocess
    phases = {}
    if not code_root:
        _instrument(phases)
    laea = osr.SpatialReference()
    laea.ImportFromEPSG(3035)
    acquisitions = run_preprocess(input_dir, output_path,
                                  PreprocessOptions(target_crs_wkt=laea.ExportToWkt()))["acquisitions"]
    return acquisitions, phases


def year_folder(size):
    from tools.sampledata import generate_benchmark_year
    cache = ROOT / "build" / "bench" / f"utm_{size}px_{DATES}d"
    if not (cache / "done").exists():
        generate_benchmark_year(str(cache), size=size, n_dates=DATES, epsg=32633)
        (cache / "done").write_text("ok")
    return cache


def measure(size, code_root=None, env=None):
    """Decode floor and preprocess at `size`, each in a fresh process; `env` is set for them
    (spawned children read it when they import numpy and numba)."""
    saved = {name: os.environ.get(name) for name in (env or {})}
    os.environ.update(env or {})
    try:
        return _measure(size, code_root)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _measure(size, code_root=None):
    folder = year_folder(size)
    decode, _, _ = measure_in_child(decode_all, str(folder))
    with tempfile.TemporaryDirectory() as tmp:
        seconds, peak_mib, (dates, phases) = measure_in_child(run, str(folder), os.path.join(tmp, "PP.tif"),
                                                              code_root)
    return {"decode": decode, "seconds": seconds, "peak_mib": peak_mib, "ratio": seconds / decode,
            "pixel_obs_per_s": size * size * dates / seconds, "dates": dates, "phases": phases}


def report(label, size, result):
    tile_year_min = TILE_YEAR / result["pixel_obs_per_s"] / 60
    print(f"{label} {size} x {size} px x {result['dates']} dates: {result['seconds']:6.1f} s, "
          f"decoding every input pixel once on one thread {result['decode']:5.1f} s, ratio "
          f"{result['ratio']:4.1f}, peak {result['peak_mib']:5.0f} MiB; projected 10980 x 10980 "
          f"px x 100 dates tile-year: {tile_year_min:5.1f} min", flush=True)
    for phase, seconds in result.get("phases", {}).items():
        print(f"    {phase:<48} {seconds:7.1f} s", flush=True)


def main():
    print(machine_line(), flush=True)
    results = {}
    for size in SIZES:
        results[size] = measure(size)
        report("preprocess", size, results[size])
    largest = results[max(SIZES)]
    print(f"preprocess / decode at {max(SIZES)} px = {largest['ratio']:.1f} (target <= "
          f"{TARGET_RATIO:g}) {verdict(largest['ratio'] <= TARGET_RATIO)}")
    if "avx512f" in machine_line():
        results["avx2"] = measure(max(SIZES), env=AVX2_ONLY)
        report("as on an AVX2-only CPU: preprocess", max(SIZES), results["avx2"])
        print(f"preprocess / decode at {max(SIZES)} px, AVX2 only = {results['avx2']['ratio']:.1f} "
              f"(target <= {TARGET_RATIO:g}) {verdict(results['avx2']['ratio'] <= TARGET_RATIO)}")
    peaks = [results[size]["peak_mib"] for size in SIZES]
    growth = max(peaks) / min(peaks)
    print(f"peak memory {max(peaks):.0f} MiB (target < {TARGET_PEAK_MIB} MiB) "
          f"{verdict(max(peaks) < TARGET_PEAK_MIB)}; ratio between sizes {growth:.2f} "
          f"(independent of size: <= {TARGET_PEAK_GROWTH}) {verdict(growth <= TARGET_PEAK_GROWTH)}")
    previous = os.environ.get("PREPROCESS_PREVIOUS")
    if previous:
        results["previous"] = measure(min(SIZES), previous)
        report("previous implementation", min(SIZES), results["previous"])
    results["memory_growth"] = growth
    print(machine_line(), flush=True)
    return results


if __name__ == "__main__":
    main()
