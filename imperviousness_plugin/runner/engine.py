"""The tile runner: one graph of graph.py over many processing tiles on a Dask cluster.

Stages. Each step's scope (runner/steps.py) cuts the graph into levels: the "tile" steps of one
level run together as one Dask task per processing tile (on the tile's halo window, then cut to
its core); a "cell" step (the change mask) runs once per EEA 100 km cell on the mosaic of the
tiles' outputs, an "area" step (the calibration, publish) once on the whole area's mosaics. A tile
step that reads a cell or area step's output belongs to the next level. Every output is cut to
its tile's core and written atomically to tiles/<tile>/; a VRT per output (mosaic/) joins them.

Operation. A manifest (manifest.json) records every task's state, inputs and output checksums; a
re-run skips a task only when the run's inputs are the same by content (runner/identity.py: a
changed file at the same path starts the run afresh) and every output the task must keep is
recorded and still matches its checksum, publish's included (the products, report and delivery
it writes into the output folder). A task recomputed with other bytes than it had recomputes every
later task too. A mosaic is built from every planned tile's output or not at all. A failing task
is retried RETRIES times, then reported; the other tiles go on, and the steps that need the failed tile are not run.
Cancellation stops submitting, cancels the running tasks and removes their scratch folders.
"""

import json
import os
import shutil
import time
from dataclasses import dataclass, field

from osgeo import gdal

from ..core.errors import Cancelled, ImperviousnessError
from ..core.io import atomic, profiles
from ..core.io.digest import file_sha256
from ..core.io.grid import Grid, window_from_bounds
from ..core.io.raster import write_copy
from ..graph import Step
from .identity import identify
from .steps import predict_models, step_function
from .tiling import area_bounds, area_grid, eea_cells, halo_pixels, processing_tiles, requested_cells

MANIFEST = "manifest.json"
# The runner's own folders in OUTPUT_FOLDER; everything else there is publish's.
RUNNER_FOLDERS = ("tiles", "mosaic", "cells", "area", ".scratch")


@dataclass
class RunOptions:
    tile_size: float = 100_000.0
    extent: tuple = None
    tiles: tuple = ()
    halo_m: float = 0.0
    retries: int = 2
    reference: str = "IMD_A"          # the model input whose grid the products share
    calibration_per_tile: bool = False   # fit the IMD calibration on each tile's core, not once


@dataclass
class RunReport:
    computed: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)


def levels(steps, scope):
    """{child_id: level}: a tile step reading a cell/area step's output is one level later.
    `scope(step)` is the step's scope in this run."""
    level = {}
    by_id = {step.child_id: step for step in steps}
    for step in steps:
        candidates = [0]
        for source in step.sources():
            bump = scope(by_id[source]) != "tile"
            candidates.append(level[source] + (1 if bump else 0))
        level[step.child_id] = max(candidates)
    return level


def resolve_expressions(step, inputs):
    """The step's parameters with expressions evaluated from the model inputs."""
    return {name: (value[2](inputs) if isinstance(value, tuple) and value[0] == "expr" else value)
            for name, value in step.parameters.items()}


def is_raster(value):
    return (isinstance(value, str) and os.path.isfile(value)
            and gdal.OpenEx(value, gdal.OF_RASTER) is not None)


def crop_to(source, target, bounds, profile=profiles.PRODUCT, folder=None, renames=None):
    """`source` cut to `bounds` grown outward to its pixel size, written as GeoTIFF atomically in
    the creation `profile` (the tile runner's outputs: the analysis product's, as single runs).

    With `folder`, metadata values naming files under it (e.g. the calibration file that
    applycalibration records) become relative to it, so that runs into two folders give equal bytes;
    `renames` maps a task's scratch files to where they are kept (relative to `folder`).
    """
    renames = renames or {}
    dataset = gdal.Open(source)
    cut = window_from_bounds(Grid.of_dataset(dataset), bounds)
    view = gdal.Translate("", dataset, format="VRT", srcWin=[cut.col, cut.row, cut.width, cut.height])
    if folder is not None:   # metadata set on the in-memory view before the copy: no old bytes in the file
        for item in [view] + [view.GetRasterBand(i) for i in range(1, view.RasterCount + 1)]:
            for key, value in (item.GetMetadata() or {}).items():
                if value in renames:
                    item.SetMetadataItem(key, renames[value])
                elif value.startswith(folder + os.sep):
                    item.SetMetadataItem(key, os.path.relpath(value, folder))
    write_copy(view, target, profile)


def build_mosaic(target, sources):
    """A VRT of `sources` (one grid), keeping the band descriptions BuildVRT drops. Every source
    must be in it: BuildVRT silently leaves out a file it cannot open."""
    sources = sorted(sources)
    missing = [path for path in sources if not os.path.isfile(path)]
    if missing:
        raise ImperviousnessError(f"Cannot build the mosaic {target}: {len(missing)} of {len(sources)} "
                                  f"tile outputs are missing ({', '.join(missing[:3])}).")
    first = gdal.Open(sources[0])
    with atomic.atomic_path(target) as temporary:
        mosaic = gdal.BuildVRT(temporary, sources)
        if mosaic is None:
            raise ImperviousnessError(f"Cannot build the mosaic {target}.")
        listed = {os.path.abspath(path) for path in mosaic.GetFileList() or []} - {os.path.abspath(temporary)}
        if listed != {os.path.abspath(path) for path in sources}:
            raise ImperviousnessError(f"The mosaic {target} would hold {len(listed)} of the "
                                      f"{len(sources)} planned tiles.")
        for index in range(1, first.RasterCount + 1):
            mosaic.GetRasterBand(index).SetDescription(first.GetRasterBand(index).GetDescription())
        mosaic = None


def output_name(child_id, output, suffix):
    return f"{child_id}.{output}{suffix}"


def published_files(folder):
    """{relative path: sha256} of the files publish wrote into the output folder: all but the
    runner's own folders and manifest."""
    files = {}
    for root, folders, names in os.walk(folder):
        if root == folder:
            folders[:] = [name for name in folders if name not in RUNNER_FOLDERS]
        folders.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            relative = os.path.relpath(path, folder)
            if relative != MANIFEST and not name.startswith("."):
                files[relative] = file_sha256(path)
    return files


# -- the tasks that run on the workers ------------------------------------------------------------

def run_task(task):
    """Run `task["steps"]` in a scratch folder, keep the outputs cut to `task["core"]`.

    Parameter values: ("input", path) is a raster cut to the read window, ("local", child, output)
    an output of an earlier step of this task; anything else is used as is.
    Returns {"outputs": {relative path: sha256}, "seconds": s, "memory": peak RSS bytes}.
    """
    import resource
    started = time.perf_counter()
    gdal.UseExceptions()
    os.makedirs(task["scratch_root"], exist_ok=True)
    # One name per task (a retry replaces the folder of an attempt that died with its worker).
    scratch = os.path.join(task["scratch_root"], task["key"].replace("/", "_"))
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    try:
        produced = {}
        for index, (child_id, algorithm, parameters) in enumerate(task["steps"]):
            # A step fitted per tile (the calibration) sees the tile's core only, not its halo.
            on_core = child_id in task.get("on_core", ())
            resolved = {}
            for name, value in parameters.items():
                source = None
                if isinstance(value, tuple) and value[0] == "input":
                    source = value[1]
                elif isinstance(value, tuple) and value[0] == "local":
                    source = produced[(value[1], value[2])]
                    if not (on_core and source.endswith(".tif")):
                        resolved[name] = source
                        continue
                else:
                    resolved[name] = value
                    continue
                # A GeoTIFF, not a VRT of the (VRT) mosaic: GDAL 3.6 crashes copying such nests.
                path = os.path.join(scratch, f"input_{index}_{name}.tif")
                crop_to(source, path, task["core"] if on_core else task["read"], profiles.TILE_CROP)
                resolved[name] = path
            function = step_function(algorithm)
            outputs = {name: os.path.join(scratch, output_name(child_id, name, suffix))
                       for name, suffix in function.outputs.items()}
            function.run(resolved, outputs, None, **({"read": task["read"]} if function.window else {}))
            produced.update({(child_id, name): path for name, path in outputs.items()})
        kept = {}
        renames = {produced[(child_id, name)]: relative for child_id, name, relative in task["keep"]}
        for child_id, name, relative in task["keep"]:
            target = os.path.join(task["folder"], relative)
            source = produced[(child_id, name)]
            if source.endswith(".tif"):
                crop_to(source, target, task["core"], folder=task["folder"], renames=renames)
            else:   # JSON: paths under the run folder relative to it (as for the rasters)
                with open(source, encoding="utf-8") as handle:
                    text = handle.read()
                prefix = json.dumps(task["folder"] + os.sep)[1:-1]
                atomic.write_text(target, text.replace(prefix, ""))
            kept[relative] = file_sha256(target)
        if any(step_function(algorithm).publishes for _, algorithm, _ in task["steps"]):
            kept.update(published_files(task["folder"]))
        return {"outputs": kept, "seconds": time.perf_counter() - started,
                "memory": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- the client side ------------------------------------------------------------------------------

class TileRunner:
    """Plans and submits the graph's tasks; `client` is a dask.distributed Client."""

    def __init__(self, graph, inputs, folder, options=None):
        self.graph = graph
        self.inputs = dict(inputs)
        self.folder = os.path.abspath(folder)
        self.options = options or RunOptions()
        if self.options.reference not in self.inputs:
            raise ImperviousnessError(f"The tile runner needs the model input {self.options.reference}.")
        self.grid, window = area_grid(self.inputs[self.options.reference],
                                      area_bounds(self.options.extent, self.options.tiles))
        self.steps = [step for step in graph.steps]
        halo = halo_pixels(self.options.halo_m, self.grid.geotransform[1], self.unet_layouts())
        # TILES: exactly the cells given, not the box around them (the grid is the box's, so
        # that each tile sits where it sits in a run over the box).
        wanted = requested_cells(self.options.tiles)
        self.cells = [(code, bounds) for code, bounds in eea_cells(self.grid) if not wanted or code in wanted]
        kept_cells = [bounds for _, bounds in self.cells]
        self.tiles = [tile for tile in processing_tiles(self.grid, self.options.tile_size, halo)
                      if not wanted or _inside_any(self.grid.bounds(tile.core), kept_cells)]
        if not self.tiles:
            raise ImperviousnessError(f"None of the tiles {', '.join(self.options.tiles)} overlaps the "
                                      f"reference layer {self.inputs[self.options.reference]}.")
        self.changed = False   # a task of this run wrote other bytes than the manifest had
        self.level = levels(self.steps, self.scope)
        self.by_id = {step.child_id: step for step in self.steps}
        self.raster_inputs = {name for name, value in self.inputs.items() if is_raster(value)}
        self.files = {}        # (child_id, output) -> mosaic or area file
        self.manifest = self._load_manifest()

    def scope(self, step):
        """Where `step` runs: its registry scope, or "tile" for a calibration fitted per tile."""
        if step.algorithm == "calibrate" and self.options.calibration_per_tile:
            return "tile"
        return step_function(step.algorithm).scope

    def unet_layouts(self):
        """[(tile, overlap)] of the U-Net models the graph's predict steps run (their contracts)."""
        from ..core.unet.contract import DEFAULT_OVERLAP, DEFAULT_TILE_SIZE, load_contract
        layouts = set()
        for step in self.steps:
            if step.algorithm != "predict":
                continue
            parameters = resolve_expressions(step, self.inputs)
            models = parameters.get("MODELS")
            if isinstance(models, tuple) and models[0] == "param":
                parameters["MODELS"] = self.inputs.get(models[1])
            elif isinstance(models, tuple):   # a model trained in the same graph: not known yet
                layouts.add((DEFAULT_TILE_SIZE, DEFAULT_OVERLAP))
                continue
            for path in predict_models(parameters):
                contract = load_contract(path)
                layouts.add((contract.tile_size, contract.overlap))
        return sorted(layouts) or [(DEFAULT_TILE_SIZE, DEFAULT_OVERLAP)]

    # manifest ------------------------------------------------------------------------------------

    def _fingerprint(self):
        return {"graph": self.graph.name, "inputs": {k: v if not isinstance(v, (list, tuple)) else list(v)
                                                      for k, v in sorted(self.inputs.items())},
                "content": {k: identify(v) for k, v in sorted(self.inputs.items()) if k != "OUTPUT_FOLDER"},
                "tile_size": self.options.tile_size, "extent": list(self.options.extent or []),
                "tiles": list(self.options.tiles), "halo_m": self.options.halo_m,
                "calibration_per_tile": self.options.calibration_per_tile}

    def _load_manifest(self):
        path = os.path.join(self.folder, MANIFEST)
        fingerprint = json.loads(json.dumps(self._fingerprint()))
        try:
            with open(path, encoding="utf-8") as handle:
                manifest = json.load(handle)
        except (OSError, ValueError):
            manifest = None
        if not manifest or manifest.get("run") != fingerprint:
            manifest = {"run": fingerprint, "tasks": {}}
        return manifest

    def _save_manifest(self):
        atomic.write_json(os.path.join(self.folder, MANIFEST), self.manifest)

    def _finished(self, task):
        """True when the manifest records `task` done with outputs that are all still there: every
        file it keeps (and, for publish, at least one file) recorded, each matching its checksum."""
        if self.changed:
            return False
        entry = self.manifest["tasks"].get(task["key"])
        if not entry or entry.get("state") != "done" or not entry.get("outputs"):
            return False
        outputs = entry["outputs"]
        if any(relative not in outputs for _, _, relative in task["keep"]):
            return False
        return all(os.path.isfile(os.path.join(self.folder, relative))
                   and file_sha256(os.path.join(self.folder, relative)) == digest
                   for relative, digest in outputs.items())

    # planning ------------------------------------------------------------------------------------

    def _tile_steps(self, level):
        return [step for step in self.steps if self.level[step.child_id] == level and self.scope(step) == "tile"]

    def _reduce_steps(self, level):
        return [step for step in self.steps if self.level[step.child_id] == level and self.scope(step) != "tile"]

    def _value(self, value, local_ids):
        if isinstance(value, tuple) and value[0] == "param":
            resolved = self.inputs.get(value[1])
            if value[1] in self.raster_inputs:
                return ("input", resolved)
            return resolved
        if isinstance(value, tuple) and value[0] == "child":
            if value[1] in local_ids:
                return ("local", value[1], value[2])
            path = self.files[(value[1], value[2])]
            return ("input", path) if path and path.endswith(".vrt") else path
        return value

    def _task(self, key, steps, read, core, keep):
        local_ids = {step.child_id for step in steps}
        planned = [(step.child_id, step.algorithm,
                    {name: self._value(value, local_ids)
                     for name, value in resolve_expressions(step, self.inputs).items()})
                   for step in steps]
        if self.options.tiles:   # publish delivers the cells asked for, not the box around them
            for child_id, algorithm, parameters in planned:
                if step_function(algorithm).publishes:
                    parameters["DELIVERY_TILES"] = sorted(requested_cells(self.options.tiles))
        on_core = [step.child_id for step in steps if step.algorithm == "calibrate" and self.scope(step) == "tile"]
        return {"key": key, "steps": planned, "read": read, "core": core, "keep": keep, "on_core": on_core,
                "folder": self.folder, "scratch_root": os.path.join(self.folder, ".scratch")}

    def tile_tasks(self, level):
        steps = self._tile_steps(level)
        if not steps:
            return []
        tasks = []
        for tile in self.tiles:
            keep = [(step.child_id, name, os.path.join("tiles", tile.tile_id, output_name(step.child_id, name, suffix)))
                    for step in steps for name, suffix in step_function(step.algorithm).outputs.items()]
            tasks.append(self._task(f"{tile.tile_id}/level{level}", steps, self.grid.bounds(tile.halo),
                                    self.grid.bounds(tile.core), keep))
        return tasks

    def reduce_tasks(self, step):
        scope = self.scope(step)
        outputs = step_function(step.algorithm).outputs
        area = self.grid.bounds(_whole(self.grid))
        if scope == "area":
            keep = [(step.child_id, name, os.path.join("area", output_name(step.child_id, name, suffix)))
                    for name, suffix in outputs.items()]
            return [self._task(f"area/{step.child_id}", [step], area, area, keep)]
        return [self._task(f"{code}/{step.child_id}", [step], bounds, bounds,
                           [(step.child_id, name, os.path.join("cells", code, output_name(step.child_id, name, suffix)))
                            for name, suffix in outputs.items()])
                for code, bounds in self.cells]

    def _register_outputs(self, tasks):
        """Mosaics (VRT) of the raster outputs of `tasks`, merged JSON of their JSON outputs."""
        grouped = {}
        for task in tasks:
            for child_id, name, relative in task["keep"]:
                grouped.setdefault((child_id, name), []).append(os.path.join(self.folder, relative))
        for (child_id, name), paths in grouped.items():
            if paths[0].endswith(".tif"):
                target = os.path.join(self.folder, "mosaic", f"{child_id}.{name}.vrt")
                build_mosaic(target, paths)
            elif len(paths) == 1:
                target = paths[0]
            else:
                target = self._merge_records(child_id, name, paths)
            self.files[(child_id, name)] = target

    def _merge_records(self, child_id, name, paths):
        """One JSON of the per-cell records ({"tiles": [...]}, the change mask's thresholds) or of
        the per-tile calibrations, in task order. Per-tile calibrations are an index for the user,
        not one calibration: nothing downstream reads them (returns None)."""
        target = os.path.join(self.folder, "area", f"{child_id}.{name}.json")
        records, per_tile = [], False
        for path in paths:
            with open(path, encoding="utf-8") as handle:
                content = json.load(handle)
            if "tiles" in content:
                records.extend(content["tiles"])
            else:
                per_tile = True
                relative = os.path.relpath(path, self.folder)
                records.append({"tile_id": relative.split(os.sep)[1], "file": relative, **content})
        atomic.write_json(target, {"tiles": records})
        return None if per_tile else target

    # running -------------------------------------------------------------------------------------

    def run(self, client, progress=None, cancelled=None):
        """Run every level; returns a RunReport. `progress(done, total, key)` after each task;
        `cancelled()` is polled between completions."""
        from distributed import as_completed
        report = RunReport()
        plan = []
        for level in range(max(self.level.values()) + 1):
            plan.append(("tile", level, None))
            plan.extend(("reduce", level, step) for step in self._reduce_steps(level))
        total = sum(len(self.tiles) if kind == "tile" else (len(self.cells) if self.scope(step) == "cell" else 1)
                    for kind, level, step in plan if kind != "tile" or self._tile_steps(level))
        done = 0
        for kind, level, step in plan:
            tasks = self.tile_tasks(level) if kind == "tile" else self.reduce_tasks(step)
            if not tasks:
                continue
            pending = []
            for task in tasks:
                if self._finished(task):
                    report.skipped.append(task["key"])
                    done += 1
                else:
                    pending.append(task)
            futures = {}
            for task in pending:
                if cancelled and cancelled():
                    break
                future = client.submit(run_task, task, key=f"imperviousness-{task['key']}-{time.time_ns()}",
                                       retries=self.options.retries, pure=False)
                futures[future] = task
            try:
                for future in as_completed(list(futures)):
                    task = futures[future]
                    if future.status == "finished":
                        result = future.result()
                        before = self.manifest["tasks"].get(task["key"], {})
                        if before.get("outputs") != result["outputs"]:
                            self.changed = True   # what reads these outputs must run again
                        self.manifest["tasks"][task["key"]] = {
                            "state": "done", "outputs": result["outputs"],
                            "inputs": _task_inputs(task), "seconds": round(result["seconds"], 3)}
                        report.computed.append(task["key"])
                        report.seconds[task["key"]] = result["seconds"]
                        report.memory[task["key"]] = result["memory"]
                    else:
                        error = future.exception()
                        self.manifest["tasks"][task["key"]] = {"state": "failed", "error": str(error),
                                                               "inputs": _task_inputs(task)}
                        report.failed[task["key"]] = str(error)
                    self._save_manifest()
                    done += 1
                    if progress:
                        progress(done, total, task["key"])
                    if cancelled and cancelled():
                        raise Cancelled()
            except Cancelled:
                client.cancel(list(futures))
                _drain(client)
                shutil.rmtree(os.path.join(self.folder, ".scratch"), ignore_errors=True)
                self._save_manifest()
                raise
            if len(futures) < len(pending):
                raise Cancelled()
            if report.failed:
                return report   # the later levels need every tile of this one
            self._register_outputs(tasks)
        shutil.rmtree(os.path.join(self.folder, ".scratch"), ignore_errors=True)
        return report


def _drain(client, timeout=120):
    """Wait until the cluster runs no task: a cancelled task already running finishes (Dask does
    not stop running Python code) before its scratch folder is removed."""
    deadline = time.monotonic() + timeout
    while (any(client.processing().values()) or _executing(client)) and time.monotonic() < deadline:
        time.sleep(0.2)


def _executing(client):
    """Tasks still running Python code on the workers: the scheduler forgets a cancelled task at
    once (client.processing() is empty) while its worker thread goes on writing its scratch."""
    return sum(client.run(lambda dask_worker: len(getattr(dask_worker, "active_threads", {}))).values())


def _inside_any(bounds, cells):
    """True when the centre of `bounds` lies in one of `cells` (bounds)."""
    x, y = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    return any(c[0] <= x < c[2] and c[1] <= y < c[3] for c in cells)


def _whole(grid):
    from ..core.io.raster import Window
    return Window(0, 0, grid.width, grid.height)


def _task_inputs(task):
    """The task's inputs as recorded in the manifest: each step's parameters (paths and values)."""
    return {child_id: {name: (list(value) if isinstance(value, tuple) else value)
                       for name, value in parameters.items()}
            for child_id, _, parameters in task["steps"]}
