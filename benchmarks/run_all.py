"""`make bench`: every benchmark of the project, one after the other."""

import importlib
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def main():
    # bench_tile (a whole Sentinel-2 tile, about an hour) runs on its own: `make bench-tile`.
    names = sys.argv[1:] or sorted(path.stem for path in HERE.glob("bench_*.py") if path.stem != "bench_tile")
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(name).main()


if __name__ == "__main__":
    main()
