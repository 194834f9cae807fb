#!/usr/bin/env python3
"""The demo: generate the embedded synthetic sample, then run the whole model headless.

One `scripts/qgis_process run imperviousness:hrl_imperviousness` call runs ATBD Figure 2 (the
shipped Graphical Modeler model) exactly as a user would on a server. The products land in
`<output>/products` with HRL file names, QML styles and `report.html`. The sample's reference
layers (IMD, IBU, CLCplus of year A; CLCplus of year B) stand in for the previous HRL products a
user would have.

`--years 2021 2024` runs the next generation instead: the sample generated for those years, the
products named for them, the EEA delivery named as the QC tool's 2021-2024 definitions name it
(clms_nvlcc_..._s2024, ..._c2021-2024); any other pair is named by that pattern and flagged in
the delivery's README as having no EEA definition yet.
"""

import argparse
import collections
import json
import pathlib
import re
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.calibration_readings import compare_readings, format_table  # noqa: E402
from tools.sampledata import generate_sample  # noqa: E402

# Written by every algorithm of the provider (algorithms/base.py), possibly after progress dots.
STEP_TIME = re.compile(r"\[step time\] (\S+) ([\d.]+) s")
CLASS_NAMES = {"1": "new cover", "2": "loss of cover", "11": "increase", "12": "decrease"}


def run_model(sample_dir, products, year_a, year_b):
    reference = sample_dir / "reference"
    parameters = {
        "S2_A": sample_dir / "s2" / str(year_a), "S2_B": sample_dir / "s2" / str(year_b),
        "YEAR_A": year_a, "YEAR_B": year_b,
        "IMD_A": reference / f"IMD_{year_a}_010m.tif", "IBU_A": reference / f"IBU_{year_a}_010m.tif",
        "CLCPLUS_A": reference / f"CLCplus_{year_a}_010m.tif",
        "CLCPLUS_B": reference / f"CLCplus_{year_b}_010m.tif", "OUTPUT_FOLDER": products}
    command = [str(ROOT / "scripts" / "qgis_process"), "run", "imperviousness:hrl_imperviousness", "--"]
    command += [f"{name}={value}" for name, value in parameters.items()]
    print("$ " + " ".join(command[:3]) + " -- " + " ".join(command[4:]), flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"the model failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def step_timings(log):
    """Seconds per algorithm id, summed over its runs, from the '[step time]' log lines."""
    timings = collections.Counter()
    for algorithm, seconds in STEP_TIME.findall(log):
        timings[algorithm] += float(seconds)
    return timings


def print_summary(products, year_a, year_b, timings, wall):
    report = json.loads((products / "report.json").read_text())
    statistics = report["statistics"]
    print(f"\nHRL Imperviousness {year_a} -> {year_b} on the demo sample")
    for year in (year_a, year_b):
        status, builtup = statistics["status"][str(year)], statistics["builtup"][str(year)]
        print(f"  {year}: impervious {status['impervious_ha']:7.1f} ha, mean density "
              f"{status['mean_density_impervious']:5.1f} % of impervious pixels, built-up share "
              f"{100 * builtup['builtup_share']:5.1f} %")
    for layer in ("IMCC_20", "IBUC_20", "SBCC_100"):
        areas = statistics["change_classes"].get(layer, {})
        print(f"  {layer:<9} " + ", ".join(f"{name} {areas.get(code, 0):.2f} ha"
                                             for code, name in CLASS_NAMES.items()))
    coefficients = report.get("calibration", {}).get("coefficients", {})
    if coefficients:
        print(f"  calibration: IMD = {coefficients['a']:.1f} {coefficients['b']:+.1f} x NDVI_P0, "
              f"max {coefficients['M']:.0f}, new min {coefficients.get('m', float('nan')):.1f}")
    print(f"\nTimings (wall {wall:.1f} s):")
    for step, seconds in timings.most_common():
        print(f"  {step:<42} {seconds:6.1f} s  {100 * seconds / wall:5.1f} %")
    tifs = sorted(products.glob("*.tif"))
    print(f"\n{len(tifs)} rasters with styles in {products}")
    zips = sorted((products / "delivery").glob("*.zip"))
    print(f"{len(zips)} EEA delivery zips (one per product and 100 km tile) in {products / 'delivery'}")
    print(f"Report: {products / 'report.html'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", nargs="?", default=str(ROOT / "build" / "demo"))
    parser.add_argument("--years", nargs=2, type=int, metavar=("A", "B"), default=None,
                        help="the two reference years (default: the sample's, 2018 2021)")
    args = parser.parse_args()
    output = pathlib.Path(args.output).resolve()
    sample_dir, products = output / "sample", output / "products"
    products.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    sample = generate_sample(sample_dir, **({"years": tuple(args.years)} if args.years else {}))
    timings = collections.Counter({"sample data (generator)": time.perf_counter() - started})
    year_a, year_b = sample["years"]
    log = run_model(sample_dir, products, year_a, year_b)
    wall = time.perf_counter() - started
    timings.update(step_timings(log))
    timings["qgis_process start-up and model overhead"] = wall - sum(timings.values())
    (output / "demo_log.txt").write_text(log)
    (output / "demo_timings.json").write_text(json.dumps(timings, indent=2))
    print_summary(products, year_a, year_b, timings, wall)
    # IMD_B against the sample's truth under each reading of the sealing mask (docs/calibration.md).
    readings = compare_readings(sample_dir, products, year_a, year_b, output / "readings")
    (output / "demo_readings.json").write_text(json.dumps(readings, indent=2))
    print(f"\nIMD_{year_b} against the sample's truth, per sealing-mask reading:\n{format_table(readings)}")


if __name__ == "__main__":
    main()
