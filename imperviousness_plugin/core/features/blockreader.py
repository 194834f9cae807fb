"""Streaming reads of a tile's time series: each input block decoded once, in parallel threads.

Decoding (DEFLATE GeoTIFF, JPEG 2000) is the floor of the pre-processing's run time. GDAL
releases the GIL while it decodes, so `threads` reader threads decode the acquisitions of a block
side by side while the kernels reduce the previous block: at most `depth` blocks are read ahead
(a bounded queue), so memory stays a few blocks whatever the raster size.

GDAL datasets must not be shared between threads: every reader thread opens its own handles
(once, on first use). After each read the band's blocks are dropped from GDAL's block cache when
the read covered whole internal blocks of the file (nothing left there would be read again), so
the cache does not grow to its 5 %-of-RAM default with data that is never reused.
"""

import collections
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..io.raster import Window, gdal_array_dtype, open_raster, read_window


class _ThreadDatasets(threading.local):
    def __init__(self):
        self.datasets = {}


class BlockStream:
    """Iterate (window, {band: (T, h, w) array}) over the windows of one tile, read ahead.

    `acquisitions` share one grid; `factors[band]` is the band's pixel size over the grid's
    (1 or 2): a 20 m band is read at 20 m over window / 2. Arrays have the data type of the first
    acquisition's band (GDAL converts the others as it decodes them). Use as a context manager.
    """

    def __init__(self, acquisitions, bands, factors, threads=2, depth=1):
        self.acquisitions = acquisitions
        self.bands = tuple(bands)
        self.factors = factors
        self.depth = max(0, int(depth))
        first = acquisitions[0].band_paths
        self._dtypes = {band: _band_dtype(first[band]) for band in self.bands}
        # One single-thread executor per reader: acquisition i is always read by reader
        # i % threads, so each reader opens (and keeps decoding buffers for) only its share of
        # the files, and the memory does not depend on how the blocks were dealt out.
        self._executors = [ThreadPoolExecutor(max_workers=1, thread_name_prefix="pp-read")
                           for _ in range(max(1, int(threads)))]
        self._local = _ThreadDatasets()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for executor in self._executors:
            executor.shutdown(wait=True, cancel_futures=True)
        return False

    def stream(self, windows):
        """Yield (window, arrays) in order; reading runs `depth` windows ahead of the consumer.

        The arrays of a block are valid until the consumer asks for the next one: their memory
        is then reused for a block read later (fresh arrays for every block cost page faults
        and let the heap grow).
        """
        pending = collections.deque()
        free = []
        windows = iter(windows)
        for window in windows:
            pending.append(self._submit(window, free.pop() if free else {}))
            if len(pending) > self.depth:
                window, arrays, buffers, futures = pending.popleft()
                yield self._collect(window, arrays, futures)
                free.append(buffers)
        while pending:
            window, arrays, buffers, futures = pending.popleft()
            yield self._collect(window, arrays, futures)
            free.append(buffers)

    def _submit(self, window, buffers):
        """Start reading a window into `buffers` ({band: flat array}, grown when too small)."""
        arrays = {}
        for band in self.bands:
            factor = self.factors[band]
            shape = (len(self.acquisitions), window.height // factor, window.width // factor)
            size = shape[0] * shape[1] * shape[2]
            if band not in buffers or buffers[band].size < size:
                buffers[band] = np.empty(size, dtype=self._dtypes[band])
            arrays[band] = buffers[band][:size].reshape(shape)
        readers = self._executors
        futures = [readers[index % len(readers)].submit(self._read_acquisition, index, window, arrays)
                   for index in range(len(self.acquisitions))]
        return window, arrays, buffers, futures

    def _collect(self, window, arrays, futures):
        for future in futures:
            future.result()
        return window, arrays

    def _dataset(self, index, band):
        key = (index, band)
        dataset = self._local.datasets.get(key)
        if dataset is None:
            dataset = open_raster(self.acquisitions[index].band_paths[band])
            self._local.datasets[key] = dataset
        return dataset

    def _read_acquisition(self, index, window, arrays):
        for band in self.bands:
            factor = self.factors[band]
            sub = Window(window.col // factor, window.row // factor,
                         window.width // factor, window.height // factor)
            dataset = self._dataset(index, band)
            name = self.acquisitions[index].band_paths[band]
            read_window(dataset, sub, name=name, out=arrays[band][index])   # decoded in place
            _drop_whole_blocks(dataset, sub)


def _band_dtype(path):
    """The numpy data type of band 1 of the raster at `path`.

    The dataset is held in a name while its band is used: GDAL >= 3.8 invalidates a band whose
    dataset has been released (a chained open(...).GetRasterBand(1).DataType fails there).
    """
    dataset = open_raster(path)
    return gdal_array_dtype(dataset.GetRasterBand(1).DataType)


def _drop_whole_blocks(dataset, window):
    """Free GDAL's cached blocks of the band when the window covered whole blocks only."""
    band = dataset.GetRasterBand(1)
    block_w, block_h = band.GetBlockSize()
    edge_w = window.col + window.width == dataset.RasterXSize
    edge_h = window.row + window.height == dataset.RasterYSize
    whole = (window.col % block_w == 0 and window.row % block_h == 0
             and (window.width % block_w == 0 or edge_w) and (window.height % block_h == 0 or edge_h))
    if whole:
        band.FlushCache()


class BackgroundWriter:
    """Writes blocks on one thread, so compressing a block overlaps the work on the next one.

    write(*args) runs in submission order on the writer thread (GDAL releases the GIL while it
    compresses); at most `depth` blocks wait, and a write error is raised at the next submit or
    on exit. On exit every started write has finished, so the dataset can be closed. Use as a
    context manager inside the writer's own `with`.
    """

    def __init__(self, write, depth=1):
        self._write = write
        self.depth = depth
        self._pending = collections.deque()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pp-write")

    def __enter__(self):
        return self

    def submit(self, *args):
        self._pending.append(self._executor.submit(self._write, *args))
        while len(self._pending) > self.depth:
            self._pending.popleft().result()

    def __exit__(self, exc_type, exc, traceback):
        self._executor.shutdown(wait=True, cancel_futures=exc_type is not None)
        if exc_type is None:
            while self._pending:
                self._pending.popleft().result()
        return False
