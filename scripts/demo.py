#!/usr/bin/env python3
"""The demo: generate the embedded synthetic sample, then run the whole workflow headless.

Every step runs through `scripts/qgis_process`, exactly as a user would on a server, and the
products land in `<output>/products` with HRL file names (e.g. IMD_2021_010m.tif,
IMCC_1821_020m.tif). The sample's reference layers (IMD, IBU, CLCplus of year A; CLCplus of year
B) stand in for the previous HRL products a user would have.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from imperviousness_plugin.core.raster import Grid, open_raster  # noqa: E402
from imperviousness_plugin.core.sampledata import generate_sample  # noqa: E402

MEAN, MEAN_CHANGE = 0, 2          # imperviousness:aggregate METHOD
STYLE_SBU, STYLE_CHM = 2, 3       # imperviousness:aggregate STYLE
SHIPPED_IMD, SHIPPED_IBU = 0, 1   # imperviousness:predict SHIPPED_TARGET


class Run:
    """Runs algorithms through qgis_process and keeps each step's wall time."""

    def __init__(self, products):
        self.products = products
        self.timings = {}

    def __call__(self, step, algorithm, **parameters):
        arguments = [str(ROOT / "scripts" / "qgis_process"), "run", algorithm, "--"]
        arguments += [f"{name}={value}" for name, value in parameters.items()]
        started = time.perf_counter()
        result = subprocess.run(arguments, capture_output=True, text=True)
        self.timings[step] = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"{step} ({algorithm}) failed:\n{result.stdout}\n{result.stderr}")
        print(f"  {step:<34} {self.timings[step]:6.1f} s", flush=True)

    def path(self, name):
        return self.products / name


def run_workflow(run, sample_dir, year_a, year_b):
    """ATBD Figure 2 from two Sentinel-2 years and the year-A reference layers."""
    reference = sample_dir / "reference"
    imd_a, ibu_a = reference / f"IMD_{year_a}_010m.tif", reference / f"IBU_{year_a}_010m.tif"
    clc_a, clc_b = reference / f"CLCplus_{year_a}_010m.tif", reference / f"CLCplus_{year_b}_010m.tif"
    pair = f"{year_a % 100:02d}{year_b % 100:02d}"
    p = run.path
    # The products share the reference layers' EEA grid, so the PP stacks are clipped to it.
    xmin, ymin, xmax, ymax = Grid.of_dataset(open_raster(imd_a)).bounds
    extent = f"{xmin},{xmax},{ymin},{ymax} [EPSG:3035]"

    for year in (year_a, year_b):
        run(f"preprocess {year}", "imperviousness:preprocess", INPUT=sample_dir / "s2" / str(year),
            START_DATE=f"{year}-01-01", END_DATE=f"{year}-12-31", EXTENT=extent,
            TARGET_CRS="EPSG:3035", OUTPUT=p(f"PP_{year}_010m.tif"))
    pp_a, pp_b = p(f"PP_{year_a}_010m.tif"), p(f"PP_{year_b}_010m.tif")

    run("rmsd", "imperviousness:rmsd", INPUT_A=pp_a, INPUT_B=pp_b, OUTPUT=p(f"RMSD_{pair}_010m.tif"))
    chm = p(f"CHM_{pair}_010m.tif")
    run("change mask", "imperviousness:changemask", INPUT=p(f"RMSD_{pair}_010m.tif"), OUTPUT=chm,
        OUTPUT_THRESHOLDS=p(f"CHM_{pair}_thresholds.json"))
    for resolution in (20, 100):
        run(f"change mask at {resolution} m", "imperviousness:aggregate", INPUT=chm, METHOD=MEAN,
            RESOLUTION=resolution, SCALE=100, STYLE=STYLE_CHM,
            OUTPUT=p(f"CHM_{pair}_{resolution:03d}m.tif"))

    for target, raw, confidence, shipped in (("IMD", "RIMD", "IMDCL", SHIPPED_IMD),
                                             ("IBU", "RIBUD", "IBUCL", SHIPPED_IBU)):
        run(f"predict {raw} {year_b}", "imperviousness:predict", INPUT=pp_b, SHIPPED_TARGET=shipped,
            OUTPUT=p(f"{raw}_{year_b}_010m.tif"), OUTPUT_SD=p(f"{raw}_{year_b}_sd_010m.tif"),
            OUTPUT_CONFIDENCE=p(f"{confidence}_{year_b}_010m.tif"))
    ibu_b = p(f"IBU_{year_b}_010m.tif")
    run("built-up", "imperviousness:builtup", INPUT=p(f"RIBUD_{year_b}_010m.tif"), OUTPUT=ibu_b)
    run("share of built-up", "imperviousness:aggregate", INPUT=ibu_b, METHOD=MEAN, RESOLUTION=100,
        SCALE=100, STYLE=STYLE_SBU, OUTPUT=p(f"SBU_{year_b}_100m.tif"))

    mask_a, mask_b = p(f"IMD_MSK_{year_a}_010m.tif"), p(f"IMD_MSK_{year_b}_010m.tif")
    run(f"sealing mask {year_a}", "imperviousness:sealingmask", IMPERVIOUSNESS=imd_a,
        CLCPLUS=clc_a, OUTPUT=mask_a)
    run(f"sealing mask {year_b}", "imperviousness:sealingmask",
        IMPERVIOUSNESS=p(f"RIMD_{year_b}_010m.tif"), CLCPLUS=clc_b, OUTPUT=mask_b)
    calibration = p(f"IMD_calibration_{year_a}.json")
    run("calibrate", "imperviousness:calibrate", IMD_A=imd_a, SEALING_MASK_A=mask_a, PP_A=pp_a,
        IBU_A=ibu_a, OUTPUT=calibration)
    imd_b = p(f"IMD_{year_b}_010m.tif")
    run("apply calibration", "imperviousness:applycalibration", RAW_IMD=p(f"RIMD_{year_b}_010m.tif"),
        SEALING_MASK_B=mask_b, PP_B=pp_b, CALIBRATION=calibration, OUTPUT=imd_b)
    run("IMD at 100 m", "imperviousness:aggregate", INPUT=imd_b, METHOD=MEAN, RESOLUTION=100,
        OUTPUT=p(f"IMD_{year_b}_100m.tif"))

    # Change layers: (status A, status B, binary?, resolution, continuous name, classified name)
    changes = [(imd_a, imd_b, False, 20, "IMDC", "IMCC"), (imd_a, imd_b, False, 100, "IMDC", "IMCC"),
               (ibu_a, ibu_b, True, 20, "IBUDC", "IBUC"), (ibu_a, ibu_b, True, 100, "SBUC", "SBCC")]
    for status_a, status_b, binary, resolution, continuous, classified in changes:
        real = p(f"{continuous}_{pair}_{resolution:03d}m.tif")
        support = p(f"{continuous}S_{pair}_{resolution:03d}m.tif")
        run(f"{continuous} {resolution} m", "imperviousness:changecontinuous", STATUS_A=status_a,
            STATUS_B=status_b, CHANGE_MASK=chm, RESOLUTION=resolution, BINARY_STATUS=binary,
            OUTPUT=real, OUTPUT_SUPPORT=support)
        for change, name in ((real, classified), (support, f"{classified}S")):
            run(f"{name} {resolution} m", "imperviousness:classifychange", STATUS_A=status_a,
                CHANGE=change, BINARY_STATUS=binary, OUTPUT=p(f"{name}_{pair}_{resolution:03d}m.tif"))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", nargs="?", default=str(ROOT / "build" / "demo"))
    args = parser.parse_args()
    output = pathlib.Path(args.output).resolve()
    sample_dir = output / "sample"
    products = output / "products"
    products.mkdir(parents=True, exist_ok=True)
    run = Run(products)

    print(f"HRL Imperviousness demo -> {output}")
    started = time.perf_counter()
    sample = generate_sample(sample_dir)
    run.timings["sample data"] = time.perf_counter() - started
    print(f"  {'sample data':<34} {run.timings['sample data']:6.1f} s", flush=True)
    year_a, year_b = sample["years"]
    run_workflow(run, sample_dir, year_a, year_b)

    total = sum(run.timings.values())
    print(f"\nTimings (total {total:.1f} s):")
    for step, seconds in sorted(run.timings.items(), key=lambda item: -item[1])[:8]:
        print(f"  {step:<34} {seconds:6.1f} s  {100 * seconds / total:5.1f} %")
    tifs = sorted(products.glob("*.tif"))
    print(f"\n{len(tifs)} rasters in {products}:")
    print("  " + "\n  ".join(" ".join(path.name for path in tifs[i:i + 4]) for i in range(0, len(tifs), 4)))
    (output / "demo_timings.json").write_text(json.dumps(run.timings, indent=2))


if __name__ == "__main__":
    main()
