"""The sample: the world, both years' acquisitions, the reference layers and the truth written to
a folder (generate_sample)."""

import json
import os

import numpy as np

from imperviousness_plugin.core.errors import ImperviousnessError
from .constants import (
    CHANGE_REGIONS, COVERS, DEFAULT_SEED, DEFAULT_SIZE, DEFAULT_YEARS, EEA_EPSG, IBU_MIN_BUILT_UP,
    LAYOUTS, NODATA_BYTE, SEALED_MAJORITY, SEALED_OBJECT_CELLS, SEALED_VISIBLE_MIN, TILE, UTM_EPSG,
    UTM_ORIGIN)
from .landscape import simulate_world, _srs
from .acquisitions import acquisition_plan, simulate_acquisition
from .layouts import _remove, write_acquisition, write_gtiff
from .reference import eea_change_regions, eea_grid, eea_layers


def _layout_cycle(layouts, year, years):
    if layouts is None:
        return ("safe", "safe_zip", "plain") if year == years[0] else ("plain",)
    if isinstance(layouts, str):
        layouts = (layouts,)
    if isinstance(layouts, dict):
        cycle = layouts.get(year, layouts.get(str(year)))
        if cycle is None:
            cycle = ("safe", "safe_zip", "plain") if year == years[0] else ("plain",)
        if isinstance(cycle, str):
            cycle = (cycle,)
        layouts = cycle
    layouts = tuple(layouts)
    for layout in layouts:
        if layout not in LAYOUTS:
            raise ImperviousnessError(f"Unknown layout {layout!r}; use {', '.join(LAYOUTS)}.")
    if not layouts:
        raise ImperviousnessError("No layout given.")
    return layouts


def _bbox(mask):
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    return {"row0": int(rows.min()), "row1": int(rows.max()) + 1,
            "col0": int(cols.min()), "col1": int(cols.max()) + 1}


def generate_sample(out_dir, size=DEFAULT_SIZE, years=DEFAULT_YEARS, seed=DEFAULT_SEED,
                    layouts=None, n_dates=None):
    """Write the sample (acquisitions, reference, truth, sample.json) and return its description.

    `layouts`: None (year A cycles safe, safe_zip, plain; year B plain), a sequence of layouts
    cycled in every year, or a dict year -> layout(s).
    """
    out_dir = os.path.abspath(str(out_dir))
    owned = [os.path.join(out_dir, name) for name in ("s2", "reference", "truth")]
    if any(os.path.exists(path) for path in owned):
        if not os.path.exists(os.path.join(out_dir, "sample.json")):
            raise ImperviousnessError(
                f"{out_dir} already holds s2/, reference/ or truth/ but no sample.json; choose an "
                "empty folder or a previous sample folder.")
        for path in owned + [os.path.join(out_dir, "sample.json")]:
            _remove(path)
    os.makedirs(out_dir, exist_ok=True)

    world = simulate_world(size, years, seed, n_dates)
    years = world.years
    description = {
        "generator": "tools.sampledata",
        "format_version": 1,
        "seed": world.seed,
        "size": world.size,
        "years": list(years),
        "utm_grid": {"crs": f"EPSG:{UTM_EPSG}", "geotransform_10m": list(world.geotransform_10m),
                     "shape_10m": [world.size, world.size],
                     "geotransform_20m": list(world.geotransform_20m),
                     "shape_20m": [world.size // 2, world.size // 2], "tile": TILE},
        "covers": list(COVERS),
        "acquisitions": {},
    }

    for year in years:
        cycle = _layout_cycle(layouts, year, years)
        root = os.path.join(out_dir, "s2", str(year))
        records = []
        for plan in acquisition_plan(world, year):
            acq = simulate_acquisition(world, plan)
            layout = cycle[plan.index % len(cycle)]
            path = write_acquisition(acq, root, layout)
            records.append({
                "date": acq.date.isoformat(), "spacecraft": acq.spacecraft,
                "baseline": acq.baseline, "boa_add_offset": acq.boa_add_offset,
                "layout": layout, "path": os.path.relpath(path, out_dir).replace(os.sep, "/"),
                "kind": plan.kind, "cloud_cover": plan.cloud_cover, "cirrus": plan.cirrus,
                "nodata_strip": plan.nodata_strip})
        description["acquisitions"][str(year)] = records

    gt, shape = eea_grid(world)
    wkt = _srs(EEA_EPSG).ExportToWkt()
    year_a, year_b = years
    reference_dir = os.path.join(out_dir, "reference")
    truth_dir = os.path.join(out_dir, "truth")
    utm_dir = os.path.join(truth_dir, "utm")
    for folder in (reference_dir, truth_dir, utm_dir):
        os.makedirs(folder, exist_ok=True)
    layers = {year: eea_layers(world, year) for year in years}
    written = []

    def put(folder, name, array, geotransform, crs, description_text, nodata=NODATA_BYTE):
        path = os.path.join(folder, name)
        write_gtiff(path, array, geotransform, crs, nodata=nodata, description=description_text)
        written.append(os.path.relpath(path, out_dir).replace(os.sep, "/"))

    put(reference_dir, f"IMD_{year_a}_010m.tif", layers[year_a]["IMD"], gt, wkt,
        f"IMD {year_a} imperviousness density (%)")
    put(reference_dir, f"IBU_{year_a}_010m.tif", layers[year_a]["IBU"], gt, wkt,
        f"IBU {year_a} built-up (0/1)")
    for year in years:
        put(reference_dir, f"CLCplus_{year}_010m.tif", layers[year]["CLCplus"], gt, wkt,
            f"CLCplus Backbone {year}")
    put(truth_dir, f"IMD_{year_b}_010m.tif", layers[year_b]["IMD"], gt, wkt,
        f"IMD {year_b} imperviousness density (%)")
    put(truth_dir, f"IBU_{year_b}_010m.tif", layers[year_b]["IBU"], gt, wkt,
        f"IBU {year_b} built-up (0/1)")
    regions_eea = eea_change_regions(world)
    put(truth_dir, "change_regions_010m.tif", regions_eea, gt, wkt,
        "change regions: 0 unchanged, 1 new construction, 2 demolition, 3 crop rotation")
    utm_wkt = world.crs_wkt
    for year in years:
        truth = world.truth[year]
        put(utm_dir, f"IMD_{year}_010m_utm.tif", truth.imd_percent, world.geotransform_10m,
            utm_wkt, f"IMD {year} (%)")
        put(utm_dir, f"IBU_{year}_010m_utm.tif", truth.ibu, world.geotransform_10m, utm_wkt,
            f"IBU {year} (0/1)")
        put(utm_dir, f"COVER_{year}_010m_utm.tif", truth.dominant, world.geotransform_10m,
            utm_wkt, "dominant cover: " + ", ".join(f"{i} {c}" for i, c in enumerate(COVERS)))
    put(utm_dir, "change_regions_010m_utm.tif", world.change_regions, world.geotransform_10m,
        utm_wkt, "change regions: 0 unchanged, 1 new construction, 2 demolition, 3 crop rotation")

    description["eea_grid"] = {"crs": f"EPSG:{EEA_EPSG}", "geotransform": list(gt),
                               "shape": list(shape)}
    x0, y0 = UTM_ORIGIN
    regions = {}
    for name, (r0, r1, c0, c1) in world.regions.items():
        code = CHANGE_REGIONS[name]
        regions[name] = {
            "code": code,
            "utm_pixel_bbox": {"row0": r0, "row1": r1, "col0": c0, "col1": c1},
            "utm_bbox": [x0 + 10.0 * c0, y0 - 10.0 * r1, x0 + 10.0 * c1, y0 - 10.0 * r0],
            "eea_pixel_bbox": _bbox(regions_eea == code),
        }
    description["regions"] = regions
    description["rules"] = {
        "imd": "paved + roof fraction, percent rounded half to even",
        "ibu": f"roof (built-up) fraction >= {IBU_MIN_BUILT_UP}",
        "clcplus": f"1 sealed where sealed objects >= {2 * SEALED_OBJECT_CELLS} m across (opening of "
                   f"the 2 m truth) cover >= {100 * SEALED_VISIBLE_MIN:g} % of the pixel or sealed "
                   f"surfaces cover >= {100 * SEALED_MAJORITY:g} %, else the dominant of "
                   "2 conifer, 3 broadleaf, 5 shrub, 6 grass, 7 crops, 9 bare, 10 water",
        "eea_warp": "fractions averaged (GDAL 'average'), change regions by 'mode'",
        "dn": "round(reflectance * 10000) (+1000 for baselines >= 04.00); 0 = no data",
    }
    description["files"] = sorted(written)
    with open(os.path.join(out_dir, "sample.json"), "w", encoding="utf-8") as stream:
        json.dump(description, stream, indent=2, sort_keys=True)
        stream.write("\n")
    return description
