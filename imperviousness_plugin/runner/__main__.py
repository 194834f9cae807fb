"""Command line of the tile runner, for cluster nodes without QGIS.

    python -m imperviousness_plugin.runner --s2-a S2/2018 --s2-b S2/2021 --imd-a IMD_2018.tif \
        --ibu-a IBU_2018.tif --clcplus-a CLC_2018.tif --clcplus-b CLC_2021.tif \
        --tiles e47n14,e48n14 --scheduler tcp://head:8786 OUTPUT_FOLDER

Exit status 0 when every tile finished, 1 when some failed (listed), 2 on bad input.
"""

import argparse
import os
import sys

from ..core.errors import Cancelled, ImperviousnessError
from . import RunOptions, run_tiles


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m imperviousness_plugin.runner",
                                     description="The HRL Imperviousness A-to-B graph over many tiles on Dask.")
    for name in ("S2_A", "S2_B", "IMD_A", "IBU_A", "CLCPLUS_A", "CLCPLUS_B"):
        parser.add_argument(f"--{name.lower().replace('_', '-')}", dest=name, required=True)
    parser.add_argument("--year-a", dest="YEAR_A", type=int, default=2018)
    parser.add_argument("--year-b", dest="YEAR_B", type=int, default=2021)
    parser.add_argument("--models-imd", dest="MODELS_IMD", default="", help="';'-separated .onnx files")
    parser.add_argument("--models-ibu", dest="MODELS_IBU", default="", help="';'-separated .onnx files")
    parser.add_argument("--tiles", default="", help="EEA 100 km tile codes, comma-separated (e47n14,...)")
    parser.add_argument("--extent", default="", help="xmin,ymin,xmax,ymax in EPSG:3035")
    parser.add_argument("--tile-size", type=float, default=100_000.0, help="metres (divides 100 km)")
    parser.add_argument("--halo", type=float, default=0.0, help="extra halo in metres")
    parser.add_argument("--scheduler", default="", help="tcp://host:8786; empty: a LocalCluster")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--calibration-per-tile", action="store_true",
                        help="fit the IMD calibration on each processing tile (default: once over the area)")
    parser.add_argument("output_folder")
    return parser.parse_args(argv)


def model_inputs(arguments):
    # Absolute paths: workers on other machines see the same shared file system, not our cwd.
    inputs = {name: os.path.abspath(getattr(arguments, name))
              for name in ("S2_A", "S2_B", "IMD_A", "IBU_A", "CLCPLUS_A", "CLCPLUS_B")}
    inputs.update(YEAR_A=arguments.YEAR_A, YEAR_B=arguments.YEAR_B)
    for name in ("MODELS_IMD", "MODELS_IBU"):
        inputs[name] = [os.path.abspath(path) for path in getattr(arguments, name).split(";") if path] or None
    return inputs


def options_from(arguments):
    extent = None
    if arguments.extent:
        try:
            extent = tuple(float(value) for value in arguments.extent.split(","))
        except ValueError:
            extent = ()
        if len(extent) != 4:
            raise ImperviousnessError(f"--extent needs xmin,ymin,xmax,ymax, not {arguments.extent!r}.")
    tiles = tuple(code.strip() for code in arguments.tiles.split(",") if code.strip())
    return RunOptions(tile_size=arguments.tile_size, extent=extent, tiles=tiles, halo_m=arguments.halo,
                      retries=arguments.retries, calibration_per_tile=arguments.calibration_per_tile)


def main(argv=None):
    arguments = parse_arguments(argv)

    def progress(done, total, key):
        print(f"[{done}/{total}] {key}" if total else key, flush=True)

    try:
        _, report = run_tiles(model_inputs(arguments), arguments.output_folder, options_from(arguments),
                              scheduler=arguments.scheduler or None, workers=arguments.workers,
                              progress=progress)
    except ImperviousnessError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Cancelled:
        print("cancelled; finished tiles are kept and skipped by a re-run", file=sys.stderr)
        return 1
    print(f"computed {len(report.computed)} task(s), skipped {len(report.skipped)} finished one(s)")
    for key, error in report.failed.items():
        print(f"FAILED {key}: {error}", file=sys.stderr)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
