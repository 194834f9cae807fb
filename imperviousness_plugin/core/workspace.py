"""Reusable work buffers for the threaded numeric kernels (quantiles, NDVI fit)."""

import math

import numpy as np


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
