"""The tile runner (SPEC 12): the graph of a shipped model over many tiles on a Dask cluster.

No QGIS here: workers run the numeric core with Python, GDAL, numpy and ONNX Runtime only.
"""

import contextlib

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
