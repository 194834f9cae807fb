"""IMD_B of a finished run under each reading of the sealing mask, against the sample's truth.

The demo (scripts/demo.py) and tests/test_end_to_end.py run the model with the default reading
(COMBINE = union: sealed class OR density >= 90 %). This tool re-runs the IMD calibration chain
of that run (sealing masks of both years, calibration on year A, IMD_B) from the run's own
RIMD_B and PP stacks and the sample's reference layers (padded onto the run's grid as the model
pads them), once per reading, and compares each IMD_B
with the sample's truth IMD of year B:

* impervious area (IMD > 0) and sealed area (density-weighted) in ha, next to the truth's;
* MAE (percentage points) over the truly impervious pixels (truth IMD > 0, both valid);
* the pixels of the truth's impervious area that IMD_B sets to 0 (omission).

The union's IMD_B must be byte-identical to the run's own IMD_B (checked), so the other rows
differ from the run only by the reading.
"""

import os

import numpy as np
from osgeo import gdal

from imperviousness_plugin.core.products.align import run_align_grid
from imperviousness_plugin.core.products.publish import hrl_name
from imperviousness_plugin.core.status.calibration import run_imd_calibration

gdal.UseExceptions()

READINGS = {
    "union (default)": {"combine": "union"},
    "intersection (before issue 13)": {"combine": "intersection", "sealed_share": 90.0},
    "outline (RIMD_B >= 1 %, class ignored)": {"combine": "outline"},
}


def _array(path):
    dataset = gdal.Open(str(path))
    return dataset.GetRasterBand(1).ReadAsArray(), abs(dataset.GetGeoTransform()[1] * dataset.GetGeoTransform()[5])


def score(imd_path, truth_path):
    """Area, truth area, MAE over truly impervious pixels, omitted pixels (a dict)."""
    imd, pixel_area = _array(imd_path)
    truth, _ = _array(truth_path)
    valid = (imd <= 100) & (truth <= 100)
    impervious = valid & (truth > 0)
    error = np.abs(imd[impervious].astype(np.int64) - truth[impervious].astype(np.int64))
    return {"area_ha": float((valid & (imd > 0)).sum() * pixel_area / 1e4),
            "sealed_ha": float(imd[valid].astype(np.int64).sum() / 100.0 * pixel_area / 1e4),
            "truth_sealed_ha": float(truth[valid].astype(np.int64).sum() / 100.0 * pixel_area / 1e4),
            "truth_area_ha": float(impervious.sum() * pixel_area / 1e4),
            "mae_impervious": float(error.mean()),
            "omitted_pixels": int((impervious & (imd == 0)).sum()),
            "impervious_pixels": int(impervious.sum())}


def compare_readings(sample_dir, products, year_a, year_b, work_dir):
    """{reading: score} for every reading in READINGS (see the module docstring)."""
    def product(name):
        return os.path.join(str(products), hrl_name(name, year_a, year_b))

    def on_run_grid(*parts):
        """A sample layer padded onto the run's grid, as the model pads its inputs (aligngrid)."""
        target = os.path.join(str(work_dir), "aligned", parts[-1])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        run_align_grid(os.path.join(str(sample_dir), *parts), target, grid_path=product("RIMD"))
        return target

    imd_a = on_run_grid("reference", f"IMD_{year_a}_010m.tif")
    ibu_a = on_run_grid("reference", f"IBU_{year_a}_010m.tif")
    clcplus_a = on_run_grid("reference", f"CLCplus_{year_a}_010m.tif")
    clcplus_b = on_run_grid("reference", f"CLCplus_{year_b}_010m.tif")
    truth = on_run_grid("truth", f"IMD_{year_b}_010m.tif")
    results = {}
    for label, options in READINGS.items():
        out = os.path.join(str(work_dir), options["combine"])
        chain = run_imd_calibration(imd_a, ibu_a, product("PP_A"), clcplus_a, product("RIMD"), product("PP_B"),
                                    clcplus_b, out, year_a, year_b, **options)
        results[label] = score(chain["imd_b"], truth)
        results[label]["new_minimum"] = chain["calibration_result"].new_minimum
        results[label]["mask_b_pixels"] = chain["mask_b_stats"]["mask"]
        if options["combine"] == "union" and not np.array_equal(_array(chain["imd_b"])[0],
                                                                 _array(product("IMD_B"))[0]):
            raise AssertionError("The default reading does not reproduce the run's IMD_B.")
    results["raw prediction RIMD_B (no calibration)"] = score(product("RIMD"), truth)
    return results


def format_table(results):
    lines = ["| reading | impervious area (truth) | sealed area (truth) | MAE on truly impervious "
             "pixels | truly impervious pixels set to 0 |", "|---|---|---|---|---|"]
    for label, row in results.items():
        lines.append(f"| {label} | {row['area_ha']:.1f} ha ({row['truth_area_ha']:.1f}) | "
                     f"{row['sealed_ha']:.1f} ha ({row['truth_sealed_ha']:.1f}) | "
                     f"{row['mae_impervious']:.2f} points | {row['omitted_pixels']} of "
                     f"{row['impervious_pixels']} |")
    return "\n".join(lines)
