"""Reusable work buffers for the threaded numeric kernels (quantiles, NDVI fit)."""

import math
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral

import numpy as np

from ..errors import ImperviousnessError


class Workspace:
    """Flat work buffers of one worker thread, reused from chunk to chunk.

    Fresh allocations of the same large arrays for every chunk cost page faults that show in the
    kernels' throughput; each worker keeps its own buffers, so no locking is needed.
    """

    def __init__(self):
        self._buffers = {}

    def get(self, name, dtype, shape):
        size = math.prod(shape)
        buffer = self._buffers.get(name)
        if buffer is None or buffer.dtype != np.dtype(dtype) or buffer.size < size:
            buffer = np.empty(max(size, 1), dtype)
            self._buffers[name] = buffer
        return buffer[:size].reshape(shape)


def run_chunked(count, chunk, workers, run_chunk):
    """Call run_chunk(start, stop, workspace) over [0, count) in chunks of `chunk` items.

    Chunks are dealt round-robin to `workers` threads (numpy releases the GIL in the sorts and
    BLAS products that dominate the kernels); each thread has its own Workspace.
    """
    starts = list(range(0, count, chunk))
    workers = max(1, min(int(workers), len(starts)))

    def work(worker_index):
        workspace = Workspace()
        for start in starts[worker_index::workers]:
            run_chunk(start, min(start + chunk, count), workspace)

    if workers == 1:
        work(0)
        return
    with ThreadPoolExecutor(max_workers=workers) as executor:
        for future in [executor.submit(work, index) for index in range(workers)]:
            future.result()


def check_threads(threads):
    """The kernels' `threads` argument: a positive integer (bool refused), else a clear error."""
    if isinstance(threads, bool) or not isinstance(threads, Integral) or threads < 1:
        raise ImperviousnessError(f"threads must be a positive integer, got {threads!r}.")
