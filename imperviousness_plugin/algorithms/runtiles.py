"""imperviousness:runtiles: the whole A-to-B graph over many tiles on a Dask cluster (SPEC 12)."""

import os
import re
import signal
import subprocess
import threading
import time

from qgis.core import QgsCoordinateReferenceSystem, QgsProcessingException

from ..runner import worker_python
from ..runner.tiling import check_tile_size
from ..steps import catalogue
from .base import Group, ImperviousnessAlgorithm


class RunTilesAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.RUNTILES
    DISPLAY_NAME = "Run the A-to-B graph over many tiles (Dask)"
    GROUP = Group.TILES
    ATBD = "Fig. 2"
    SUMMARY = "hrl_imperviousness per processing tile on a Dask cluster; manifest, re-runs skip finished tiles"
    DESCRIPTION = (
        "Runs the graph of the model imperviousness:hrl_imperviousness (the same steps, parameters "
        "and results) over an area, one Dask task per processing tile: on a LocalCluster of WORKERS "
        "processes on this machine, or on the cluster whose scheduler is SCHEDULER "
        "(tcp://host:8786; its workers need this plugin's Python packages, not QGIS).\n\n"
        "Area: exactly the EEA 100 km tiles in TILES (e.g. e47n14,e49n16: those two cells, not the box "
        "around them), else EXTENT, else the whole "
        "IMD_A, always on the grid of IMD_A padded outward to whole kilometres (as the model "
        "pads it). Processing tiles are cells of TILE_SIZE metres "
        "(dividing 100 km), read with a halo so that the results do not depend on the tiling; the "
        "change mask runs per EEA 100 km cell and the calibration is fitted once over the area "
        "(or, with CALIBRATION_PER_TILE, once per processing tile on the tile's own pixels; the "
        "calibrations are then listed in area/calibrate.OUTPUT.json and the report has none).\n\n"
        "OUTPUT_FOLDER receives tiles/<tile>/ (each tile's outputs), mosaic/ (one VRT per output), "
        "the published HRL product set, report and EEA delivery (as the model writes them) and "
        "manifest.json (each task's state, inputs and output checksums, the inputs' content). A "
        "re-run into the same folder skips only the tasks whose recorded outputs are all still "
        "there and match, publish's products and delivery included; an input changed at the same "
        "path runs everything again, a missing output is rebuilt. A failing tile is retried "
        "RETRIES times, then reported; the others go on.")

    LAYERS = (STEP.IMD_A, STEP.IBU_A, STEP.CLCPLUS_A, STEP.CLCPLUS_B)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        arguments = [f"--{name.lower().replace('_', '-')}={self.parameterAsFile(parameters, name, context)}"
                     for name in (self.S2_A, self.S2_B)]
        arguments += [f"--{name.lower().replace('_', '-')}={self.parameterAsInt(parameters, name, context)}"
                      for name in (self.YEAR_A, self.YEAR_B)]
        arguments += [f"--{name.lower().replace('_', '-')}={self.raster_path(parameters, name, context)}"
                      for name in self.LAYERS]
        for name in (self.MODELS_IMD, self.MODELS_IBU):
            if parameters.get(name):
                models = ";".join(self.parameterAsFileList(parameters, name, context))
                arguments.append(f"--{name.lower().replace('_', '-')}={models}")
        tile_size = self.parameterAsDouble(parameters, self.TILE_SIZE, context)
        self.run_core(check_tile_size, tile_size)
        arguments += [f"--tile-size={tile_size:g}",
                      f"--halo={self.parameterAsDouble(parameters, self.HALO, context):g}",
                      f"--retries={self.parameterAsInt(parameters, self.RETRIES, context)}",
                      f"--workers={self.parameterAsInt(parameters, self.WORKERS, context)}",
                      f"--scheduler={self.parameterAsString(parameters, self.SCHEDULER, context).strip()}",
                      f"--tiles={self.parameterAsString(parameters, self.TILES, context)}"]
        if self.parameterAsBool(parameters, self.CALIBRATION_PER_TILE, context):
            arguments.append("--calibration-per-tile")
        if parameters.get(self.EXTENT) and not self.parameterAsString(parameters, self.TILES, context).strip():
            extent = self.parameterAsExtent(parameters, self.EXTENT, context,
                                            QgsCoordinateReferenceSystem("EPSG:3035"))
            if not extent.isNull():
                arguments.append(f"--extent={extent.xMinimum()!r},{extent.yMinimum()!r},"
                                 f"{extent.xMaximum()!r},{extent.yMaximum()!r}")
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        self._run_cli(arguments + [folder], feedback)
        return {self.OUTPUT_FOLDER: folder, self.MOSAIC_FOLDER: os.path.join(folder, "mosaic")}

    def _run_cli(self, arguments, feedback):
        """The runner's command line in its own Python process: QGIS's executable cannot start
        Dask's worker processes. Its lines are the progress; cancelling interrupts it."""
        command = [worker_python(), "-m", "imperviousness_plugin.runner", *arguments]
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [package_root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        feedback.pushInfo(" ".join(command))
        # An argument list, no shell: the plugin's own runner module in the worker Python.
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,  # nosec B603
                                   text=True, env=env)
        lines = []
        watcher = threading.Thread(target=self._cancel_watch, args=(process, feedback), daemon=True)
        watcher.start()
        for line in process.stdout:
            line = line.rstrip()
            lines.append(line)
            match = re.match(r"\[(\d+)/(\d+)\] ", line)
            if match:
                feedback.setProgress(100.0 * int(match.group(1)) / int(match.group(2)))
            if match or "dashboard" in line.lower() or line.startswith(("computed", "FAILED", "error")):
                feedback.pushInfo(line)
        if process.wait() != 0:
            if feedback.isCanceled():
                raise QgsProcessingException(self.tr("Cancelled; finished tiles are kept for a re-run."))
            raise QgsProcessingException(self.tr("The tile runner failed:\n") + "\n".join(
                line for line in lines if line.startswith(("FAILED", "error")) or "Error" in line))

    @staticmethod
    def _cancel_watch(process, feedback):
        while process.poll() is None:
            if feedback.isCanceled():
                process.send_signal(signal.SIGINT)
                return
            time.sleep(0.5)
