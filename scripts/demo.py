#!/usr/bin/env python3
"""The demo: generate the embedded synthetic sample, then run the workflow headless.

Every step runs through `scripts/qgis_process`, exactly as a user would on a server, and the
products land in the output folder (default build/demo) with HRL file names.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from imperviousness_plugin.core.raster import Grid, open_raster  # noqa: E402
from imperviousness_plugin.core.sampledata import generate_sample  # noqa: E402


def qgis_process(algorithm, **parameters):
    arguments = [str(ROOT / "scripts" / "qgis_process"), "run", algorithm, "--"]
    arguments += [f"{name}={value}" for name, value in parameters.items()]
    started = time.perf_counter()
    result = subprocess.run(arguments, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{algorithm} failed:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", nargs="?", default=str(ROOT / "build" / "demo"))
    args = parser.parse_args()
    output = pathlib.Path(args.output).resolve()
    sample_dir = output / "sample"
    timings = {}

    started = time.perf_counter()
    sample = generate_sample(sample_dir)
    timings["sample data"] = time.perf_counter() - started
    year_a, year_b = sample["years"]

    # The products share the reference layers' EEA grid, so the PP stacks are clipped to it.
    reference = Grid.of_dataset(open_raster(sample_dir / "reference" / f"IMD_{year_a}_010m.tif"))
    xmin, ymin, xmax, ymax = reference.bounds
    extent = f"{xmin},{xmax},{ymin},{ymax} [EPSG:3035]"
    products = output / "products"
    products.mkdir(parents=True, exist_ok=True)
    for year in (year_a, year_b):
        timings[f"preprocess {year}"] = qgis_process(
            "imperviousness:preprocess", INPUT=sample_dir / "s2" / str(year),
            START_DATE=f"{year}-01-01", END_DATE=f"{year}-12-31", EXTENT=extent,
            TARGET_CRS="EPSG:3035",
            OUTPUT=products / f"PP_{year}_010m.tif")

    total = sum(timings.values())
    print(f"\nHRL Imperviousness demo: {output}")
    for step, seconds in timings.items():
        print(f"  {step:<24} {seconds:7.1f} s  {100 * seconds / total:5.1f} %")
    print(f"  {'total':<24} {total:7.1f} s")
    for path in sorted(products.glob("*.tif")):
        print(f"  wrote {path.relative_to(output)}")
    (output / "demo_timings.json").write_text(json.dumps(timings, indent=2))


if __name__ == "__main__":
    main()
