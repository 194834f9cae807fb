"""Benchmark: the whole `preprocess` on generated plain-folder years (issue 2).

Runs the core of imperviousness:preprocess on a 2000 x 2000 px, 60-date year (the issue's size)
and on a 1000 x 1000 px year with the same dates, each in a fresh process, and prints wall time,
throughput and peak resident memory. Peak memory must depend on the block size, not on the
raster size: the two runs' peaks are compared.
"""

import os
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import measure_in_child, verdict  # noqa: E402

DATES = 60
SIZES = (1000, 2000)


def run(input_dir, output_path):
    from imperviousness_plugin.core.features.preprocess import run_preprocess
    summary = run_preprocess(input_dir, output_path)
    return summary["acquisitions"]


def year_folder(size):
    from tools.sampledata import generate_benchmark_year
    cache = ROOT / "build" / "bench" / f"year_{size}px_{DATES}d"
    if not (cache / "done").exists():
        generate_benchmark_year(str(cache), size=size, n_dates=DATES)
        (cache / "done").write_text("ok")
    return cache


def main():
    results = {}
    for size in SIZES:
        folder = year_folder(size)
        with tempfile.TemporaryDirectory() as tmp:
            seconds, peak_mib, dates = measure_in_child(run, str(folder), os.path.join(tmp, "PP.tif"))
        observations = size * size * dates
        results[size] = {"seconds": seconds, "peak_mib": peak_mib, "dates": dates,
                         "pixel_obs_per_s": observations / seconds}
        print(f"preprocess {size} x {size} px x {dates} dates: {seconds:7.1f} s, "
              f"{observations / seconds / 1e6:6.2f} M pixel-observations/s, peak {peak_mib:6.0f} MiB")
    small, large = results[SIZES[0]], results[SIZES[1]]
    growth = large["peak_mib"] / small["peak_mib"]
    print(f"peak memory ratio {SIZES[1]}px / {SIZES[0]}px = {growth:.2f} for 4x the pixels "
          f"(bounded by the block size: target < 1.5) {verdict(growth < 1.5)}")
    results["memory_growth"] = growth
    return results


if __name__ == "__main__":
    main()
