"""Benchmark: one whole Sentinel-2 tile through the whole A-to-B graph (issue 21).

`make bench-tile` (not part of `make bench` or `make test`; a small size of the same code runs in
tests/test_bench_tile.py).

Data, generated once into BENCH_TILE_ROOT (default build/bench/tile_<size>px): both years of a
Sentinel-2 tile in UTM (EPSG:32633, tile 33TWL's corner) as plain acquisition folders of tiled
DEFLATE GeoTIFFs (Earth Search's COG layout, tools.sampledata.generate_benchmark_year), DISTINCT
distinct acquisitions per year linked (symlinks) into DATES dated folders, each date showing the
distinct acquisition nearest to it in the year, so the disk holds DISTINCT acquisitions but the
graph reads DATES; and IMD_A, IBU_A, CLCplus_A and CLCplus_B on the EEA grid (EPSG:3035, 10 m)
over the tile's footprint grown outward to whole kilometres (as the EEA's tiles are), derived
from the clearest acquisition's NDVI (low NDVI and not water: sealed). Pixels outside the footprint
are nodata.

Run: `scripts/qgis_process run imperviousness:hrl_imperviousness` on it, the whole graph in one
process, as a user runs it. A probe thread follows that process: the model's "Prepare algorithm"
lines (stdout, line-buffered) mark the steps; per step it records wall time, CPU time
(utime + stime of all threads), peak RSS (VmHWM, reset at each step through /proc/PID/clear_refs;
where the kernel refuses, the sampled RSS), bytes written (/proc/PID/io wchar) and the scratch
folder (the process's TMPDIR, where the model's intermediate outputs go) at its peak, and prints
the table with each step's share of the total. Before starting it checks the free disk space
against an estimate of inputs + outputs + scratch and refuses with the figures when it lacks.
"""

import argparse
import datetime
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import machine_line  # noqa: E402

SIZE = 10980
DISTINCT = 4   # the decoding work is per date read (DATES); distinct ones only cost generation
DATES = 60
YEARS = (2018, 2021)
UTM_EPSG = 32633
EEA_EPSG = 3035
KM = 1000.0
# Disk needed, in bytes per input pixel (10 m) of the tile. An acquisition of
# generate_benchmark_year takes 6.0 B/px at 10980 px (6.7 at 2196; 11 bands, DEFLATE). The run's
# scratch peak plus its products took 348 B/px on the whole 10980 px tile (24.0 GiB of scratch at
# its peak + 15.1 GiB of products: the two PP stacks of 23 Float32 bands, preprocess's native
# scratch, the Byte products); 360 leaves a margin.
ACQUISITION_BYTES_PER_PX = 6.5
RUN_BYTES_PER_PX = 360.0
# Every algorithm of the provider logs "[step time] <id> <s> s" when it ends (algorithms/base.py).
STEP_END = re.compile(r"\[step time\] (?:imperviousness:)?(\S+) ")
# qgis_process's progress ("0...10...20") shares lines with the log: strip it from notes.
PROGRESS = re.compile(r"^(?:\.|(?:100|[1-9]0|0)(?=[.\[A-Z\d]|$))*")
# qgis_process's own lines (start-up messages, the inputs it lists): not a step's note.
NOT_A_NOTE = re.compile(r"^(?:QStandardPaths|<string>|-+$|Inputs$|Results$|[A-Z0-9_]+:\s)")
QGIS_PROCESS = ROOT / "scripts" / "qgis_process"


# -- data ------------------------------------------------------------------------------------------

def bytes_needed(size, distinct, years=YEARS):
    """(input bytes, run bytes) the benchmark needs on disk for a tile of size x size px."""
    pixels = float(size) * size
    return (ACQUISITION_BYTES_PER_PX * pixels * distinct * len(years), RUN_BYTES_PER_PX * pixels)


def check_space(folder, needed, free=None):
    """Refuse (SystemExit with the figures) when `folder`'s file system has less than `needed`."""
    folder = pathlib.Path(folder)
    probe = folder
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free if free is None else free
    if free < needed:
        raise SystemExit(
            f"bench_tile: not enough disk space under {folder}: needs about {needed / 2 ** 30:.1f} GiB "
            f"(inputs not yet generated + outputs + scratch of the run), {free / 2 ** 30:.1f} GiB free. "
            "Free some space, or set BENCH_TILE_ROOT to a larger disk, or run a smaller size "
            "(--size).")


def _dates(year, count):
    """`count` distinct dates spread over `year`."""
    start = datetime.date(year, 1, 1)
    days = (datetime.date(year + 1, 1, 1) - start).days
    return [start + datetime.timedelta(days=int((k + 0.5) * days / count)) for k in range(count)]


def _acquisition_date(folder):
    return datetime.datetime.strptime(folder.name.split("_")[1], "%Y%m%d").date()


def link_dates(distinct_folder, year_folder, year, dates):
    """`dates` dated acquisition folders under `year_folder`, each holding symlinks to the files
    of the distinct acquisition nearest in time (its own metadata.json, so baselines match)."""
    sources = sorted(path for path in pathlib.Path(distinct_folder).iterdir() if path.is_dir())
    year_folder.mkdir(parents=True, exist_ok=True)
    for index, date in enumerate(_dates(year, dates)):
        source = min(sources, key=lambda path: abs((_acquisition_date(path) - date).days))
        folder = year_folder / f"{'S2A' if index % 2 == 0 else 'S2B'}_{date:%Y%m%d}"
        folder.mkdir(exist_ok=True)
        for item in source.iterdir():
            link = folder / item.name
            if not link.is_symlink():
                link.symlink_to(item.resolve())


def _footprint_grid(size):
    """(geotransform, width, height) of the EEA 10 m grid over the UTM tile's footprint, grown
    outward to whole kilometres."""
    from osgeo import osr

    from tools.sampledata import BENCHMARK_UTM_ORIGIN
    utm, laea = osr.SpatialReference(), osr.SpatialReference()
    utm.ImportFromEPSG(UTM_EPSG)
    laea.ImportFromEPSG(EEA_EPSG)
    for srs in (utm, laea):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    x0, y0 = BENCHMARK_UTM_ORIGIN
    side = size * 10.0
    transform = osr.CoordinateTransformation(utm, laea)
    edge = [(x0 + side * t, y0 - side * s) for t in (0, 0.5, 1) for s in (0, 0.5, 1)]
    points = [transform.TransformPoint(x, y)[:2] for x, y in edge]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    left, right = (min(xs) // KM) * KM, -(-max(xs) // KM) * KM
    bottom, top = (min(ys) // KM) * KM, -(-max(ys) // KM) * KM
    return (left, 10.0, 0.0, top, 0.0, -10.0), int((right - left) / 10), int((top - bottom) / 10), laea


def _clear_share(folder):
    """Share of clear pixels (SCL vegetation, bare soil, water) of an acquisition, read at 1/10."""
    import numpy as np
    from osgeo import gdal
    dataset = gdal.Open(str(folder / "SCL.tif"))
    scl = dataset.ReadAsArray(buf_xsize=max(1, dataset.RasterXSize // 10),
                              buf_ysize=max(1, dataset.RasterYSize // 10))
    return float(np.isin(scl, (4, 5, 6)).mean())


def write_reference(distinct_folder, reference_folder, size, year):
    """IMD, IBU, CLCplus of year A (and CLCplus of B, the same) on the EEA grid over the tile,
    from the NDVI of the clearest distinct acquisition; nodata outside the tile."""
    import numpy as np
    from osgeo import gdal

    from tools.sampledata import NODATA_BYTE, write_gtiff
    gdal.UseExceptions()
    geotransform, width, height, laea = _footprint_grid(size)
    sources = sorted(path for path in pathlib.Path(distinct_folder).iterdir() if path.is_dir())
    summer = max(sources, key=_clear_share)
    bounds = (geotransform[0], geotransform[3] - 10.0 * height,
              geotransform[0] + 10.0 * width, geotransform[3])

    def warped(band):
        dataset = gdal.Warp("", str(summer / f"{band}.tif"), format="MEM", dstSRS=laea.ExportToWkt(),
                            outputBounds=bounds, xRes=10.0, yRes=10.0, resampleAlg="near",
                            dstNodata=0, multithread=True)
        return dataset.ReadAsArray().astype(np.float32)

    red, nir = warped("B04"), warped("B08")
    outside = nir == 0
    ndvi = (nir - red) / np.maximum(nir + red, 1.0)
    water = ndvi < 0
    # By cover, as its NDVI on that date tells it: paved and roofs (NDVI ~0.14) 100 %, bare soil
    # and crops in the soil stage (~0.2) 60 %, green covers 0; sealed (CLCplus class 1) and
    # built-up where >= 60 %. Annual NDVI differs by cover (paved and bare stay flat), so the
    # calibration's regression inside the sealing mask sees density fall as NDVI rises.
    imd = np.where(ndvi < 0.17, 100, np.where(ndvi < 0.3, 60, 0)).astype(np.uint8)
    imd[water] = 0
    del red, nir, ndvi
    wkt = laea.ExportToWkt()
    reference_folder.mkdir(parents=True, exist_ok=True)
    layers = {}
    ibu = (imd >= 60).astype(np.uint8)
    clc = np.full(imd.shape, 6, np.uint8)   # permanent herbaceous
    clc[imd >= 60] = 1                       # sealed
    clc[water] = 10
    for name, array in ((f"IMD_{year}_010m", imd), (f"IBU_{year}_010m", ibu),
                        (f"CLCplus_{year}_010m", clc)):
        array[outside] = NODATA_BYTE
        layers[name] = write_gtiff(reference_folder / f"{name}.tif", array, geotransform, wkt,
                                   nodata=NODATA_BYTE, description=name.split("_")[0])
    return layers


def generate(root, size=SIZE, distinct=DISTINCT, dates=DATES, years=YEARS):
    """The tile pair under `root` (once: a `done` file marks it); returns the model's inputs."""
    from osgeo import gdal

    from tools.sampledata import generate_benchmark_year
    root = pathlib.Path(root)
    year_a, year_b = years
    reference = root / "reference"
    inputs = {"S2_A": str(root / "s2" / str(year_a)), "S2_B": str(root / "s2" / str(year_b)),
              "YEAR_A": year_a, "YEAR_B": year_b,
              "IMD_A": str(reference / f"IMD_{year_a}_010m.tif"),
              "IBU_A": str(reference / f"IBU_{year_a}_010m.tif"),
              "CLCPLUS_A": str(reference / f"CLCplus_{year_a}_010m.tif"),
              "CLCPLUS_B": str(reference / f"CLCplus_{year_b}_010m.tif")}
    if (root / "done").exists():
        return inputs
    gdal.SetConfigOption("GDAL_NUM_THREADS", "ALL_CPUS")   # parallel DEFLATE while writing
    for year in years:
        distinct_folder = root / "distinct" / str(year)
        if not (distinct_folder / "done").exists():
            generate_benchmark_year(str(distinct_folder), size=size, n_dates=distinct, year=year,
                                    epsg=UTM_EPSG, seed=year)
            (distinct_folder / "done").write_text("ok")
        link_dates(distinct_folder, root / "s2" / str(year), year, dates)
    layers = write_reference(root / "distinct" / str(year_a), reference, size, year_a)
    shutil.copyfile(layers[f"CLCplus_{year_a}_010m"], inputs["CLCPLUS_B"])
    (root / "done").write_text(json.dumps({"size": size, "distinct": distinct, "dates": dates}))
    return inputs


# -- run -------------------------------------------------------------------------------------------

def folder_bytes(folder):
    """Bytes of the files under `folder` (apparent sizes; files vanishing meanwhile are skipped)."""
    total = 0
    for path, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(path, name)).st_size
            except OSError:
                pass
    return total


class ProcessProbe:
    """Samples one process: CPU seconds, RSS, VmHWM (resettable), bytes written, a scratch folder."""

    def __init__(self, pid, scratch):
        self.pid, self.scratch = pid, scratch
        self.clock_ticks = os.sysconf("SC_CLK_TCK")

    def _read(self, name):
        with open(f"/proc/{self.pid}/{name}", encoding="ascii") as handle:
            return handle.read()

    def cpu_seconds(self):
        fields = self._read("stat").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.clock_ticks   # utime + stime, all threads

    def memory(self):
        """(current RSS, VmHWM) in bytes."""
        values = {}
        for line in self._read("status").splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                values[key] = int(value.split()[0]) * 1024
        return values.get("VmRSS", 0), values.get("VmHWM", 0)

    def written(self):
        for line in self._read("io").splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
        return 0

    def reset_peak(self):
        """Start VmHWM afresh (Linux >= 4.0); False where the kernel does not let us."""
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w", encoding="ascii") as handle:
                handle.write("5")
            return True
        except OSError:
            return False


class StepRecorder:
    """Per step of the model run: wall, CPU, peak RSS, peak scratch, bytes written."""

    def __init__(self, probe, interval=0.5):
        self.probe, self.interval = probe, interval
        self.rows, self.current = [], None
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _snapshot(self):
        rss, _ = self.probe.memory()
        return {"wall": time.perf_counter(), "cpu": self.probe.cpu_seconds(),
                "written": self.probe.written(), "rss": rss}

    def begin(self, name):
        """Close the running step (if any) and start measuring the next one."""
        with self.lock:
            self._close()
            start = self._snapshot()
            resettable = self.probe.reset_peak()
            scratch = folder_bytes(self.probe.scratch)
            self.current = {"step": name, "note": "", "start": start, "resettable": resettable,
                            "peak_rss": start["rss"], "peak_scratch": scratch}
        if not self.thread.is_alive():
            self.thread.start()

    def log_line(self, line):
        """A line of the run's log: ends a step ("[step time]") or notes what it does."""
        match = STEP_END.search(line)
        with self.lock:
            if self.current is None:
                return
            text = PROGRESS.sub("", line).strip()
            if not match and text and not self.current["note"] and not NOT_A_NOTE.match(text):
                self.current["note"] = text[:48]
            if match:
                self.current["step"] = match.group(1)
        if match:
            self.begin("(between steps)")

    def _close(self):
        if self.current is None:
            return
        try:
            end = self._snapshot()
            _, hwm = self.probe.memory()
        except OSError:   # the process has ended: its last samples stand
            end, hwm = self.current.get("last", self.current["start"]), 0
        row, start = self.current, self.current["start"]
        peak = max(row["peak_rss"], hwm if row["resettable"] else 0)
        self.rows.append({"step": row["step"], "note": row["note"], "wall": end["wall"] - start["wall"],
                          "cpu": end["cpu"] - start["cpu"], "peak_rss": peak,
                          "peak_scratch": row["peak_scratch"],
                          "written": end["written"] - start["written"]})
        self.current = None

    def _sample(self):
        while not self.stopped.wait(self.interval):
            with self.lock:
                if self.current is None:
                    continue
                try:
                    snapshot = self._snapshot()
                except OSError:
                    return
                self.current["last"] = snapshot
                self.current["peak_rss"] = max(self.current["peak_rss"], snapshot["rss"])
                self.current["peak_scratch"] = max(self.current["peak_scratch"],
                                                   folder_bytes(self.probe.scratch))

    def finish(self):
        with self.lock:
            self._close()
        self.stopped.set()
        return self.rows


def model_arguments(inputs, output_folder):
    return ["run", "imperviousness:hrl_imperviousness", "--"] + [
        f"{name}={value}" for name, value in inputs.items()] + [f"OUTPUT_FOLDER={output_folder}"]


def run_model(inputs, work, log=None, env=None):
    """Run the model through qgis_process with a probe; returns (rows, seconds, bytes of the
    products, bytes left in the scratch folder). `env` adds variables to the run's environment."""
    work = pathlib.Path(work)
    scratch, output = work / "scratch", work / "products"
    for folder in (scratch, output):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    env = dict(os.environ, **(env or {}), TMPDIR=str(scratch), PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    command = ["stdbuf", "-oL", "-eL", str(QGIS_PROCESS)] + model_arguments(inputs, output)
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, bufsize=1)
    recorder = StepRecorder(ProcessProbe(process.pid, scratch))
    recorder.begin("(start-up)")
    tail = []
    for line in process.stdout:
        tail = (tail + [line])[-60:]
        if log is not None:
            log.write(line)
            log.flush()
        recorder.log_line(line)
    code = process.wait()
    rows = [row for row in recorder.finish() if row["step"] != "(between steps)" or row["wall"] > 0.5]
    seconds = time.perf_counter() - started
    if code:
        raise RuntimeError(f"qgis_process failed with exit code {code}:\n{''.join(tail)}")
    leftover = folder_bytes(scratch)
    return rows, seconds, folder_bytes(output), leftover


def print_table(rows, seconds, output_bytes, leftover, stream=sys.stdout):
    total_wall = sum(row["wall"] for row in rows) or 1.0
    gib = 2 ** 30
    print(f"{'step':<18} {'what':<48} {'wall s':>8} {'CPU s':>8} {'CPU/wall':>8} {'peak RSS MiB':>12} "
          f"{'scratch peak GiB':>16} {'written GiB':>11} {'share':>6}", file=stream)
    for row in rows:
        print(f"{row['step']:<18} {row['note']:<48} {row['wall']:8.1f} {row['cpu']:8.1f} "
              f"{row['cpu'] / max(row['wall'], 1e-9):8.2f} {row['peak_rss'] / 2 ** 20:12.0f} "
              f"{row['peak_scratch'] / gib:16.2f} {row['written'] / gib:11.2f} "
              f"{100 * row['wall'] / total_wall:5.1f}%", file=stream)
    print(f"{'total':<67} {seconds:8.1f} {sum(r['cpu'] for r in rows):8.1f} {'':8} "
          f"{max(r['peak_rss'] for r in rows) / 2 ** 20:12.0f} "
          f"{max(r['peak_scratch'] for r in rows) / gib:16.2f} "
          f"{sum(r['written'] for r in rows) / gib:11.2f} 100.0%", file=stream)
    print(f"final products {output_bytes / gib:.2f} GiB; scratch left after the run "
          f"{leftover / gib:.2f} GiB", file=stream)


def uptime():
    with open("/proc/loadavg", encoding="ascii") as handle:
        return " ".join(handle.read().split()[:3])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--distinct", type=int, default=DISTINCT)
    parser.add_argument("--dates", type=int, default=DATES)
    parser.add_argument("--root", default=os.environ.get("BENCH_TILE_ROOT"))
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the products and scratch folder")
    args = parser.parse_args(argv)
    root = pathlib.Path(args.root or ROOT / "build" / "bench" / f"tile_{args.size}px")
    inputs_needed, run_needed = bytes_needed(args.size, args.distinct)
    check_space(root, (0 if (root / "done").exists() else inputs_needed)
                + (0 if args.generate_only else run_needed))
    print(machine_line(), flush=True)
    started = time.perf_counter()
    inputs = generate(root, args.size, args.distinct, args.dates)
    print(f"data: {args.size} x {args.size} px, {args.distinct} distinct acquisitions per year as "
          f"{args.dates} dates, {folder_bytes(root / 'distinct') / 2 ** 30:.2f} GiB "
          f"(generated or found in {time.perf_counter() - started:.0f} s)", flush=True)
    if args.generate_only:
        return None
    print(f"load average before: {uptime()}", flush=True)
    work = root / "run"
    with open(root / "run.log", "w", encoding="utf-8") as log:
        rows, seconds, output_bytes, leftover = run_model(inputs, work, log)
    print(f"load average after: {uptime()}", flush=True)
    print_table(rows, seconds, output_bytes, leftover)
    print(machine_line(), flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return {"rows": rows, "seconds": seconds, "output_bytes": output_bytes, "leftover": leftover}


if __name__ == "__main__":
    main()
