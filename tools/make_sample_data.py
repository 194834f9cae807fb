#!/usr/bin/env python3
"""Write the deterministic synthetic sample data (or a large benchmark year).

    python tools/make_sample_data.py OUT_DIR [--size 300] [--seed 2021] [--dates N]
    python tools/make_sample_data.py --bench-year OUT_DIR [--size 2000] [--dates 60] [--seed S]

The sample (see tools/sampledata/) holds Sentinel-2 L2A acquisitions of two
years in the three layouts (.SAFE, .SAFE.zip, plain folders) under OUT_DIR/s2/<year>/, reference
layers (IMD, IBU, CLCplus) under OUT_DIR/reference/, the truth under OUT_DIR/truth/ and a
description in OUT_DIR/sample.json. The benchmark year is plain folders on an EPSG:3035 grid.
"""

import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from imperviousness_plugin.core.errors import ImperviousnessError  # noqa: E402
from tools.sampledata import (  # noqa: E402
    DEFAULT_SEED, DEFAULT_SIZE, generate_benchmark_year, generate_sample)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", nargs="?", help="folder of the sample")
    parser.add_argument("--bench-year", metavar="OUT_DIR",
                        help="write a benchmark year of plain folders here instead")
    parser.add_argument("--size", type=int, default=None,
                        help=f"edge in 10 m pixels (sample {DEFAULT_SIZE}, benchmark 2000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--dates", type=int, default=None,
                        help="acquisitions per year (sample: about 34; benchmark: 60)")
    parser.add_argument("--years", type=int, nargs=2, default=None, metavar=("A", "B"),
                        help="the two years of the sample (default 2018 2021)")
    args = parser.parse_args(argv)
    if bool(args.out_dir) == bool(args.bench_year):
        parser.error("give either OUT_DIR or --bench-year OUT_DIR")
    started = time.perf_counter()
    try:
        if args.bench_year:
            path = generate_benchmark_year(args.bench_year, size=args.size or 2000,
                                           n_dates=args.dates or 60, seed=args.seed)
            print(f"benchmark year written to {path} in {time.perf_counter() - started:.1f} s")
            return 0
        kwargs = {"size": args.size or DEFAULT_SIZE, "seed": args.seed, "n_dates": args.dates}
        if args.years:
            kwargs["years"] = tuple(args.years)
        sample = generate_sample(args.out_dir, **kwargs)
    except ImperviousnessError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{year}: {len(items)} acquisitions"
                       for year, items in sample["acquisitions"].items())
    print(f"sample written to {pathlib.Path(args.out_dir).resolve()} in "
          f"{time.perf_counter() - started:.1f} s ({counts}; seed {sample['seed']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
