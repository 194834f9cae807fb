"""core/features/blockreader.py: BlockStream reads the windows of real GeoTIFFs exactly.

The stream learns each band's data type from the first acquisition's file before any reader
thread opens it. GDAL >= 3.8 (QGIS 3.40/3.44 on Debian trixie) invalidates a band whose dataset
has been released, so that probe must hold its dataset (the chained
open_raster(path).GetRasterBand(1).DataType of before raised TypeError there).
"""

import datetime
import gc

import numpy as np

from imperviousness_plugin.core.features.blockreader import BlockStream
from imperviousness_plugin.core.io.raster import Window
from imperviousness_plugin.core.io.sentinel2 import Acquisition
from rasters import write_raster


def test_block_stream_reads_every_window_of_every_acquisition(tmp_path):
    rng = np.random.default_rng(7)
    values = {}
    acquisitions = []
    for day in (1, 2, 3):
        red = rng.integers(0, 10000, (20, 24), dtype=np.uint16)
        swir = rng.integers(0, 10000, (10, 12), dtype=np.uint16)   # a 20 m band: half the grid
        paths = {"B04": write_raster(tmp_path / f"B04_{day}.tif", red),
                 "B11": write_raster(tmp_path / f"B11_{day}.tif", swir, pixel=20.0)}
        values[day] = {"B04": red, "B11": swir}
        acquisitions.append(Acquisition(str(tmp_path / f"S2_{day}"), datetime.date(2021, 5, day), paths))
    gc.collect()    # nothing of the writers alive: the stream opens every file itself
    windows = [Window(0, 0, 24, 10), Window(0, 10, 24, 10)]
    with BlockStream(acquisitions, ("B04", "B11"), {"B04": 1, "B11": 2}, threads=2) as stream:
        seen = [(window, {band: array.copy() for band, array in arrays.items()})
                for window, arrays in stream.stream(windows)]
    assert [window for window, _ in seen] == windows
    for window, arrays in seen:
        assert arrays["B04"].dtype == np.uint16 and arrays["B11"].dtype == np.uint16
        rows = slice(window.row, window.row + window.height)
        half = slice(window.row // 2, (window.row + window.height) // 2)
        np.testing.assert_array_equal(arrays["B04"], np.stack([values[d]["B04"][rows] for d in (1, 2, 3)]))
        np.testing.assert_array_equal(arrays["B11"], np.stack([values[d]["B11"][half] for d in (1, 2, 3)]))
