"""Benchmark: the tile runner on the 2 x 2 tile test area (issue 15).

The generated sample of tests/test_runtiles.py (112 x 108 px, tiles of 1 km) runs on a
LocalCluster of 1 and of 2 worker processes (one thread each, 127.0.0.1); printed: wall time of
each, their ratio, the per-task times and worker peak memory (for the README's capacity plan) and
the scheduler overhead per task (the round trip of 200 empty tasks). The cluster's start-up is
not counted. On this 2-core machine, 2 workers can at most halve the time of the tile levels;
the cell and area steps (change mask, calibration, publish) run once.
"""

import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import machine_line  # noqa: E402

TILE_SIZE = 1000.0


def _nothing(value):
    return value


def overhead_per_task(client, count=200):
    """Seconds per empty task, submitted and gathered one batch at a time."""
    client.gather(client.map(_nothing, range(10), pure=False))   # warm up
    started = time.perf_counter()
    client.gather(client.map(_nothing, range(count), pure=False))
    return (time.perf_counter() - started) / count


def run_with(workers, inputs, folder):
    from distributed import Client, LocalCluster

    from imperviousness_plugin.runner import RunOptions, run_tiles
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        started = time.perf_counter()
        _, report = run_tiles(inputs, folder, RunOptions(tile_size=TILE_SIZE), client=client)
        wall = time.perf_counter() - started
        overhead = overhead_per_task(client)
    assert not report.failed, report.failed
    return wall, overhead, report


def main():
    from tools.sampledata import generate_sample
    print(machine_line(), flush=True)
    with tempfile.TemporaryDirectory() as temporary:
        root = pathlib.Path(temporary)
        generate_sample(root / "sample", size=120)
        reference = root / "sample" / "reference"
        inputs = {"S2_A": str(root / "sample/s2/2018"), "S2_B": str(root / "sample/s2/2021"),
                  "YEAR_A": 2018, "YEAR_B": 2021, "IMD_A": str(reference / "IMD_2018_010m.tif"),
                  "IBU_A": str(reference / "IBU_2018_010m.tif"),
                  "CLCPLUS_A": str(reference / "CLCplus_2018_010m.tif"),
                  "CLCPLUS_B": str(reference / "CLCplus_2021_010m.tif")}
        results = {workers: run_with(workers, inputs, root / f"run{workers}") for workers in (1, 2)}
    for workers, (wall, overhead, report) in results.items():
        print(f"{workers} worker(s): {wall:.1f} s wall for {len(report.computed)} tasks; "
              f"scheduler overhead {overhead * 1000:.2f} ms per task")
    print(f"ratio 1 worker / 2 workers: {results[1][0] / results[2][0]:.2f}")
    _, _, report = results[2]
    for key in sorted(report.seconds):
        print(f"  {key:<32} {report.seconds[key]:6.2f} s, worker peak RSS "
              f"{report.memory[key] / 2 ** 20:6.0f} MiB")


if __name__ == "__main__":
    main()
