"""The one grid module (core/io/grid.py): snapping, windows of bounds, alignment, one tolerance."""

from imperviousness_plugin.core.io import grid as grids
from imperviousness_plugin.core.io.grid import Grid, Window, aligned_window, ceil_to, floor_to, window_from_bounds

LAEA = ""   # the CRS plays no part in the arithmetic


def test_snapping_keeps_coordinates_on_the_lattice_up_to_float_noise():
    # (0.1 + 0.2) * 100 = 30.000000000000004: on the 10 m lattice up to noise, so it stays.
    assert floor_to((0.1 + 0.2) * 100, 10.0, 10.0) == 30.0
    assert ceil_to(30.000000000001, 10.0, 10.0) == 30.0
    assert floor_to(29.99999999999, 10.0, 10.0) == 30.0
    # A pixel-sized step away is never swallowed by the tolerance.
    assert floor_to(39.9, 10.0, 10.0) == 30.0 and ceil_to(30.1, 10.0, 10.0) == 40.0
    # In pixel units (step = whole pixels), as the Sentinel-2 tile windows use it.
    assert floor_to(511.9999999, 256, 1) == 512 and ceil_to(256.0000001, 256, 1) == 256
    assert isinstance(floor_to(300.5, 256, 1), int)


def test_one_tolerance_for_every_rule():
    """Grid.aligned, aligned_window and window_from_bounds treat an edge 1e-7 px off the
    lattice as on it, and an edge 1e-3 px off as off it."""
    assert grids.TOLERANCE == 1e-6
    near, far = 1e-7 * 10.0, 1e-3 * 10.0
    assert Grid.aligned(LAEA, (1000.0 + near, 0.0, 2000.0 - near, 1000.0), 10.0).width == 100
    assert Grid.aligned(LAEA, (1000.0 + far, 0.0, 2000.0 - far, 1000.0), 10.0).width == 100
    assert Grid.aligned(LAEA, (1000.0 - far, 0.0, 2000.0 + far, 1000.0), 10.0).width == 102
    grid = Grid(LAEA, (1000.0, 10.0, 0.0, 5000.0, 0.0, -10.0), 300, 300)
    assert aligned_window(grid, 1000.0, (1000.0 - near, 3000.0, 2000.0 + near, 4000.0)) == Window(0, 100, 100, 100)
    assert aligned_window(grid, 1000.0, (1000.0, 3000.0, 2000.0 + far, 4000.0)) == Window(0, 100, 200, 100)
    assert window_from_bounds(grid, (1100.0 + near, 3000.0, 1500.0 - near, 4000.0)) == Window(10, 100, 40, 100)
    assert window_from_bounds(grid, (1100.0 + far, 3000.0, 1500.0, 4000.0)) == Window(10, 100, 40, 100)
    assert window_from_bounds(grid, (1100.0 - far, 3000.0, 1500.0, 4000.0)) == Window(9, 100, 41, 100)


def test_window_from_bounds_is_clipped_to_the_grid():
    grid = Grid(LAEA, (1000.0, 10.0, 0.0, 5000.0, 0.0, -10.0), 300, 300)
    assert window_from_bounds(grid, (0.0, 0.0, 10000.0, 10000.0)) == Window(0, 0, 300, 300)
