"""Benchmark: the two numeric kernels of pre-processing (weighted quantiles, NDVI model fit).

A synthetic 1000 x 1000 px x 100 dates year (int16 DN reflectances, SCL-like codes, NDVI
float32) is generated block by block (256 x 256 px, like the real pipeline reads it) and fed to

* ``weighted_quantile`` - q=0.2 of a DN band (int16) and q=0.9 of NDVI (float32);
* ``fit_ndvi_model`` - order 3 (10 coefficients).

Each kernel is timed per block (best of ``REPEATS`` runs, to be robust to other processes on
the machine) and compared with the plain per-pixel reference, timed in the same block loop on
``REFERENCE_PIXELS`` random pixels spread over the blocks (best of ``REFERENCE_REPEATS`` loops
per block), so that a change of machine load affects both alike:

* quantile: drop zero-weight observations, ``order = np.argsort(x); cw = np.cumsum(w[order]);
  x[order[np.searchsorted(cw, q * cw[-1])]]``;
* NDVI fit: ``np.linalg.lstsq(A * sqrt(w)[:, None], y * sqrt(w))`` on the valid observations.

Throughputs are in pixel-observations per second (pixels x dates / s).  Peak memory is the peak
traced by tracemalloc (numpy allocations are traced) during the block loop, for a 500 x 500 and
a 1000 x 1000 raster with the same block size: it must not grow with the raster.

With numpy's default multi-threaded OpenBLAS ``fit_ndvi_model`` runs one worker; its worker
threads only scale with a single-threaded OpenBLAS, so the fit is also timed in a child process
started with ``OPENBLAS_NUM_THREADS=1`` (kernel and reference both timed there).  The weighted
quantiles are timed again in a child process that sees an AVX2-only CPU (numpy's AVX-512 code
disabled with ``NPY_DISABLE_CPU_FEATURES``, numba compiling for Haswell, OpenBLAS on its Haswell kernels;
the NDVI fit is timed there too, with OpenBLAS single-threaded): both algorithms
(bisection and numpy sort) must reach the target there too.

Run: ``PYTHONPATH=. python benchmarks/bench_kernels.py``; ``main()`` returns the results.
"""

import datetime as dt
import json
import os
import pathlib
import subprocess
import sys
import time
import tracemalloc

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from imperviousness_plugin.core.kernels.ndvi_model import day_fraction, design_matrix, fit_ndvi_model  # noqa: E402
from imperviousness_plugin.core.kernels import quantiles as quantiles_module  # noqa: E402
from imperviousness_plugin.core.kernels.quantiles import weighted_quantile  # noqa: E402

SIZE = int(os.environ.get("KERNEL_BENCH_SIZE", "1000"))   # smaller for a quick check
MEMORY_SIZES = (SIZE // 2, SIZE)
DATES = 100
BLOCK = 256
ORDER = 3
THREADS = 2
REPEATS = 3
REFERENCE_REPEATS = 5
REFERENCE_PIXELS = 2000
SCL_WEIGHTS = np.array([0, 0, 0, 10, 50, 50, 50, 10, 5, 1, 1, 1, 0, 0, 0, 0], dtype=np.float64)
# SCL class frequencies: no data, saturated, dark, shadow, vegetation, bare soil, water,
# cloud low / medium / high, cirrus, snow
SCL_FREQ = np.array([0.03, 0.005, 0.015, 0.05, 0.33, 0.2, 0.05, 0.05, 0.1, 0.08, 0.05, 0.04])
TARGET_QUANTILE = 30.0
TARGET_FIT = 50.0


def verdict(ok):
    return "PASS" if ok else "FAIL"


def year_tau(seed=0):
    rng = np.random.default_rng(seed)
    days = np.sort(rng.choice(365, size=DATES, replace=False))
    return day_fraction([dt.date(2021, 1, 1) + dt.timedelta(days=int(d)) for d in days])


def make_block(seed, height, width, tau):
    """One block: DN B04 (int16), SCL codes (uint8), NDVI (float32), NDVI weights (float32)."""
    rng = np.random.default_rng(seed)
    shape = (DATES, height, width)
    f32 = np.float32

    def normal(scale):
        return rng.standard_normal(size=shape, dtype=f32) * f32(scale)

    def uniform(low, high, size=shape):
        return f32(low) + rng.random(size=size, dtype=f32) * f32(high - low)

    codes = rng.choice(len(SCL_FREQ), size=shape, p=SCL_FREQ / SCL_FREQ.sum()).astype(np.uint8)
    season = (0.5 + 0.35 * np.sin(2 * np.pi * tau - 1.2)).astype(f32)[:, None, None]
    greenness = uniform(0.2, 1.0, size=(1, height, width)) * season
    red = f32(1200) - f32(800) * greenness + normal(60)
    nir = f32(1500) + f32(2500) * greenness + normal(120)
    cloudy = (codes >= 7) & (codes <= 10)
    cloud_red = uniform(2500, 9000)
    np.copyto(red, cloud_red, where=cloudy)
    np.copyto(nir, cloud_red + normal(200), where=cloudy)
    del cloud_red
    shadow = codes == 3
    red[shadow] *= f32(0.3)
    nir[shadow] *= f32(0.3)
    nodata = codes == 0
    red[nodata] = 0
    nir[nodata] = 0
    b04 = np.clip(red, 0, 20000).astype(np.int16)
    b08 = np.clip(nir, 0, 20000).astype(np.int16)
    del red, nir
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = (b08.astype(f32) - b04) / (b08.astype(f32) + b04)
    weights = SCL_WEIGHTS.astype(f32)[codes]
    weights[np.isnan(ndvi)] = 0
    return b04, codes, ndvi, weights


def blocks(size):
    for y in range(0, size, BLOCK):
        for x in range(0, size, BLOCK):
            yield y * 7919 + x, min(BLOCK, size - y), min(BLOCK, size - x)


def run_kernels(b04, codes, ndvi, weights, tau):
    q20 = weighted_quantile(b04, codes, SCL_WEIGHTS, 0.2, threads=THREADS)
    q90 = weighted_quantile(ndvi, codes, SCL_WEIGHTS, 0.9, threads=THREADS)
    coef = fit_ndvi_model(ndvi, weights, tau, ORDER, threads=THREADS)
    return q20, q90, coef


def block_reference(b04, codes, ndvi, weights, tau, count, seed, names=("q20_dn", "q90_ndvi", "fit")):
    """Per-pixel references on ``count`` random pixels of a block.

    Returns ({kernel: best-of-REFERENCE_REPEATS seconds}, flat pixel indices, {kernel: results}).
    """
    T = b04.shape[0]
    rng = np.random.default_rng(seed)
    flat = rng.choice(b04[0].size, size=count, replace=False)
    dn = b04.reshape(T, -1)[:, flat].T.copy()
    nd = ndvi.reshape(T, -1)[:, flat].T.copy()
    ws = SCL_WEIGHTS[codes.reshape(T, -1)[:, flat].T]
    wf = weights.reshape(T, -1)[:, flat].T.astype(np.float64)
    A = design_matrix(tau, ORDER)
    calls = {
        "q20_dn": lambda p: reference_quantile(dn[p], ws[p], 0.2),
        "q90_ndvi": lambda p: reference_quantile(nd[p], ws[p], 0.9),
        "q20_dn_sort": lambda p: reference_quantile(dn[p], ws[p], 0.2),
        "q90_ndvi_sort": lambda p: reference_quantile(nd[p], ws[p], 0.9),
        "fit": lambda p: reference_fit(A, nd[p].astype(np.float64), wf[p]),
    }
    seconds, results = {}, {}
    for name in names:
        best = np.inf
        for _ in range(REFERENCE_REPEATS):
            start = time.perf_counter()
            out = [calls[name](p) for p in range(count)]
            best = min(best, time.perf_counter() - start)
        seconds[name], results[name] = best, out
    return seconds, flat, results


def with_strategy(strategy, function, *args, **kwargs):
    """function(*args, **kwargs) with the weighted quantile's algorithm forced (sort / select)."""
    saved = quantiles_module.STRATEGY
    quantiles_module.STRATEGY = strategy
    try:
        return function(*args, **kwargs)
    finally:
        quantiles_module.STRATEGY = saved


def timed_pass(size, tau, threads_list=(THREADS, 1),
               names=("q20_dn", "q90_ndvi", "fit", "q20_dn_sort", "q90_ndvi_sort")):
    """Kernels and references block by block, so that both see the same machine load.

    Returns ({threads: {kernel: seconds summed over the blocks (best of REPEATS each)}},
    {kernel: reference seconds per pixel}, {kernel: agreement}).
    """
    seconds = {t: dict.fromkeys(names, 0.0) for t in threads_list}
    ref_seconds, ref_pixels = dict.fromkeys(names, 0.0), 0
    agree = {"q20_dn": True, "q90_ndvi": True, "q20_dn_sort": True, "q90_ndvi_sort": True,
             "fit": 0.0}
    block_list = list(blocks(size))
    per_block = max(1, REFERENCE_PIXELS // len(block_list))
    for seed, h, w in block_list:
        b04, codes, ndvi, weights = make_block(seed, h, w, tau)
        outputs = {}
        for threads in threads_list:
            calls = {
                "q20_dn": lambda: weighted_quantile(b04, codes, SCL_WEIGHTS, 0.2, threads=threads),
                "q90_ndvi": lambda: weighted_quantile(ndvi, codes, SCL_WEIGHTS, 0.9, threads=threads),
                "fit": lambda: fit_ndvi_model(ndvi, weights, tau, ORDER, threads=threads),
                "q20_dn_sort": lambda: with_strategy("sort", weighted_quantile, b04, codes,
                                                     SCL_WEIGHTS, 0.2, threads=threads),
                "q90_ndvi_sort": lambda: with_strategy("sort", weighted_quantile, ndvi, codes,
                                                       SCL_WEIGHTS, 0.9, threads=threads),
            }
            for name in names:
                best = np.inf
                for _ in range(REPEATS):
                    start = time.perf_counter()
                    outputs[name] = calls[name]()
                    best = min(best, time.perf_counter() - start)
                seconds[threads][name] += best
        block_seconds, flat, results = block_reference(b04, codes, ndvi, weights, tau, per_block, seed,
                                                       names=names)
        for name in names:
            ref_seconds[name] += block_seconds[name]
        ref_pixels += per_block
        for name in set(names) - {"fit"}:
            ours = outputs[name].reshape(-1)[flat]
            agree[name] &= bool(np.array_equal(ours, np.array(results[name], np.float32), equal_nan=True))
        if "fit" in names:
            p0 = outputs["fit"].reshape(outputs["fit"].shape[0], -1)[0, flat]
            ref_p0 = np.array([r[0] for r in results["fit"]])
            agree["fit"] = max(agree["fit"], float(np.nanmax(np.abs(p0 - ref_p0))))
    return seconds, {name: ref_seconds[name] / ref_pixels for name in names}, agree


def child_pass(names):
    """In a child process: ({kernel: seconds}, {kernel: reference seconds per pixel}, agreement)."""
    seconds, ref, agree = timed_pass(SIZE, year_tau(), threads_list=(THREADS,), names=tuple(names))
    return seconds[THREADS], ref, {name: agree[name] for name in names}


# numpy's AVX-512 dispatch turned off and numba compiled for Haswell: an AVX2-only CPU. Numba
# needs the features too: with NUMBA_CPU_NAME alone it keeps the host's features (AVX-512).
AVX2_ONLY = {"NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL",
             "NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "+avx2", "OPENBLAS_CORETYPE": "Haswell"}


def in_child(names, env):
    """child_pass(names) in a child process with `env` added (None on failure)."""
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import bench_kernels; "
            "print(json.dumps(bench_kernels.child_pass(sys.argv[2].split(','))))")
    try:
        run = subprocess.run([sys.executable, "-c", code, str(pathlib.Path(__file__).resolve().parent),
                              ",".join(names)], env=dict(os.environ, **env), capture_output=True,
                             text=True, timeout=1800, check=True)
        return json.loads(run.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError, TypeError, OSError):
        return None


def reference_quantile(x, w, q):
    keep = (w > 0) & ~np.isnan(x)
    x, w = x[keep], w[keep]
    if x.size == 0:
        return np.nan
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    return x[order[np.searchsorted(cw, q * cw[-1])]]


def reference_fit(A, y, w):
    keep = (w > 0) & np.isfinite(y)
    sw = np.sqrt(w[keep])
    return np.linalg.lstsq(A[keep] * sw[:, None], y[keep] * sw, rcond=None)[0]


def memory_pass(size, tau):
    """Peak bytes traced by tracemalloc during the block loop (generation + the three kernels),
    and the largest peak of the kernels alone above the block's input arrays."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        loop_peak = kernel_peak = 0
        for seed, h, w in blocks(size):
            data = make_block(seed, h, w, tau)
            before, peak = tracemalloc.get_traced_memory()
            loop_peak = max(loop_peak, peak)
            tracemalloc.reset_peak()
            run_kernels(*data, tau)
            loop_peak = max(loop_peak, tracemalloc.get_traced_memory()[1])
            kernel_peak = max(kernel_peak, tracemalloc.get_traced_memory()[1] - before)
            del data
        return loop_peak - base, kernel_peak
    finally:
        tracemalloc.stop()


def main():
    from common import machine_line
    print(machine_line(), flush=True)
    started = time.perf_counter()
    tau = year_tau()
    pixel_obs = SIZE * SIZE * DATES
    plain, ref, agree = timed_pass(SIZE, tau)
    child = in_child(["fit"], {"OPENBLAS_NUM_THREADS": "1"})
    avx2 = in_child(["q20_dn", "q90_ndvi", "q20_dn_sort", "q90_ndvi_sort", "fit"],
                    dict(AVX2_ONLY, OPENBLAS_NUM_THREADS="1"))
    results = {"size": SIZE, "dates": DATES, "block": BLOCK, "threads": THREADS, "kernels": {}}
    print(f"kernels on {SIZE} x {SIZE} px x {DATES} dates, blocks of {BLOCK} x {BLOCK} px, best of "
          f"{REPEATS} per block; per-pixel reference on {REFERENCE_PIXELS} px spread over the blocks, "
          f"timed in the same loop (best of {REFERENCE_REPEATS}); threads={THREADS}.")
    print(f"{'kernel':<28}{'seconds':>8}{'M obs/s':>9}{'ref M obs/s':>12}{'speed-up':>10}{'1 thread':>10}"
          f"{'target':>8}  verdict  agreement with reference")
    targets = {"q20_dn": TARGET_QUANTILE, "q90_ndvi": TARGET_QUANTILE, "fit": TARGET_FIT,
               "q20_dn_sort": TARGET_QUANTILE, "q90_ndvi_sort": TARGET_QUANTILE}
    chosen = "bisection (numba)" if quantiles_module._use_selection() else "sort"
    labels = {"q20_dn": "quantile q=0.2 DN int16", "q90_ndvi": "quantile q=0.9 NDVI float32",
              "fit": f"NDVI fit order {ORDER}",
              "q20_dn_sort": "  q=0.2 DN, numpy sort", "q90_ndvi_sort": "  q=0.9 NDVI, numpy sort"}
    print(f"weighted quantile algorithm chosen: {chosen} (the rows without a label use it; "
          "'numpy sort' rows force the sorting path, the one used without numba)")
    rows = [(name, plain[THREADS][name], ref[name], plain[1][name], agree[name]) for name in labels]
    if child is not None:
        rows.append(("fit_openblas_1", child[0]["fit"], child[1]["fit"], None, child[2]["fit"]))
        labels["fit_openblas_1"] = "  same, OPENBLAS_NUM_THREADS=1"
        targets["fit_openblas_1"] = TARGET_FIT
    if avx2 is not None:   # the same kernels as on an AVX2-only CPU
        avx2_labels = {"q20_dn": "q=0.2 DN, AVX2 only", "q90_ndvi": "q=0.9 NDVI, AVX2 only",
                       "q20_dn_sort": "  q=0.2 DN sort, AVX2 only", "q90_ndvi_sort": "  q=0.9 NDVI sort, AVX2 only",
                       "fit": "NDVI fit, AVX2 only"}
        for name, label in avx2_labels.items():
            rows.append((f"{name}_avx2", avx2[0][name], avx2[1][name], None, avx2[2][name]))
            labels[f"{name}_avx2"] = label
            targets[f"{name}_avx2"] = TARGET_FIT if name == "fit" else TARGET_QUANTILE
    for name, seconds, ref_per_pixel, single, agreement in rows:
        throughput = pixel_obs / seconds
        ref_throughput = DATES / ref_per_pixel
        ratio = throughput / ref_throughput
        ratio_single = pixel_obs / single / ref_throughput if single else None
        ok = ratio >= targets[name]
        if name.startswith("fit"):
            text = f"max |P0 - lstsq P0| = {agreement:.1e}"
        else:
            text = "identical" if agreement else "DIFFERENT"
        single_text = f"{ratio_single:9.1f}x" if single else f"{'-':>10}"
        print(f"{labels[name]:<28}{seconds:8.3f}{throughput / 1e6:9.1f}{ref_throughput / 1e6:12.2f}"
              f"{ratio:9.1f}x{single_text}{targets[name]:7.0f}x  {verdict(ok):7}  {text}")
        results["kernels"][name] = {
            "seconds": seconds, "pixel_obs_per_s": throughput, "reference_pixel_obs_per_s": ref_throughput,
            "speedup": ratio, "speedup_1_thread": ratio_single, "target": targets[name], "pass": ok,
            "agreement": agreement,
        }
    # The PP stack's quantile workload per pixel: the ten reflectance bands' q20 (int16 DN) and
    # the NDVI q90 (float32), so the two kernels weighted 10 : 1.
    k = results["kernels"]
    ours = 10 / k["q20_dn"]["pixel_obs_per_s"] + 1 / k["q90_ndvi"]["pixel_obs_per_s"]
    reference = (10 / k["q20_dn"]["reference_pixel_obs_per_s"]
                 + 1 / k["q90_ndvi"]["reference_pixel_obs_per_s"])
    combined = reference / ours
    results["pp_quantiles_speedup"] = combined
    print(f"{'PP quantiles (10 x q20 + q90)':<28}{'':>8}{11 / ours / 1e6:9.1f}{11 / reference / 1e6:12.2f}"
          f"{combined:9.1f}x{'':>10}{TARGET_QUANTILE:7.0f}x  {verdict(combined >= TARGET_QUANTILE):7}"
          "  the per-pixel quantile work of preprocess")
    peaks = {size: memory_pass(size, tau) for size in MEMORY_SIZES}
    small, large = (peaks[size][0] for size in MEMORY_SIZES)
    growth = large / small
    print("peak traced memory during the block loop: "
          + ", ".join(f"{size} x {size} px: {peak / 2**20:.0f} MiB (kernels alone {kern / 2**20:.0f} MiB)"
                      for size, (peak, kern) in peaks.items())
          + f"; ratio {growth:.2f} for 4x the pixels (target < 1.2) {verdict(growth < 1.2)}")
    results["peak_traced_mib"] = {size: peak / 2**20 for size, (peak, _) in peaks.items()}
    results["kernel_peak_traced_mib"] = {size: kern / 2**20 for size, (_, kern) in peaks.items()}
    results["memory_growth"] = growth
    results["memory_pass"] = growth < 1.2
    results["total_seconds"] = time.perf_counter() - started
    print(f"benchmark wall time {results['total_seconds']:.0f} s")
    return results


if __name__ == "__main__":
    main()
