"""The tile runner (SPEC 12): the graph of a shipped model over many tiles on a Dask cluster.

No QGIS here: workers run the numeric core with Python, GDAL, numpy and ONNX Runtime only.
"""

import contextlib
import os
import sys

from ..graph import full_graph
from .engine import RunOptions, RunReport, TileRunner

__all__ = ["RunOptions", "RunReport", "TileRunner", "cluster_client", "run_tiles"]


@contextlib.contextmanager
def cluster_client(scheduler=None, workers=2):
    """A dask.distributed Client: of the scheduler at `scheduler` (tcp://host:8786), else of a
    LocalCluster of `workers` single-threaded worker processes on 127.0.0.1."""
    from distributed import Client, LocalCluster
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        yield client


def worker_python():
    """The Python interpreter for a runner process started from QGIS (whose own executable is
    qgis.bin / qgis_process.bin): $IMPERVIOUSNESS_PYTHON, else the virtual environment whose
    site-packages QGIS was given, else python3."""
    if os.environ.get("IMPERVIOUSNESS_PYTHON"):
        return os.environ["IMPERVIOUSNESS_PYTHON"]
    for entry in sys.path:
        root = os.path.dirname(os.path.dirname(os.path.dirname(entry)))
        if entry.endswith("site-packages") and os.path.isfile(os.path.join(root, "pyvenv.cfg")):
            return os.path.join(root, "bin", "python")
    if "python" in os.path.basename(sys.executable):
        return sys.executable
    return "/usr/bin/python3"


def run_tiles(inputs, folder, options=None, scheduler=None, workers=2, progress=None, cancelled=None,
              graph=None, client=None):
    """Run the whole A-to-B graph (graph.full_graph) over the area; returns (runner, RunReport)."""
    runner = TileRunner(graph or full_graph(), dict(inputs, OUTPUT_FOLDER=str(folder)), folder, options)
    if client is not None:
        return runner, runner.run(client, progress, cancelled)
    with cluster_client(scheduler, workers) as own:
        if progress:
            progress(0, 0, f"Dask dashboard: {own.dashboard_link}")
        return runner, runner.run(own, progress, cancelled)
