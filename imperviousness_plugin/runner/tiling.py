"""Processing tiles of an area: cells of TILE_SIZE metres aligned to multiples of it (EPSG:3035),
each read with a halo so that every neighbourhood operation sees the pixels of one run.

The area grid is the reference layer's padded outward to whole kilometres (the models pad IMD_A
and their PP stacks so, imperviousness:aligngrid), cut to the requested extent or EEA 100 km
tiles. A tile size dividing 100 km keeps every tile inside one EEA cell (the change mask's unit);
a multiple of 1 km keeps tiles on the 1 km grid.

Halo. The U-Net predictor lays its tiles (T px, stride S = T - overlap) on a layout anchored at
the origin of the raster it is given, tapers every tile side but the raster's edges, and moves the
last tile back onto the far edge (core/unet/predict.py). A processing tile's read window therefore
starts on the area's stride lattice (a multiple of S from the area's origin) at least T px before
its core, and ends at least T + S px after it (or at the area's edges): every U-Net tile touching
the core then sits where it sits in one run over the area, with the same tapers and neighbours,
and the window's own first and last tiles (untapered, or moved back) do not touch the core. The
tile size and overlap are read from the contracts of the models the run uses.
"""

import math
from dataclasses import dataclass

from osgeo import gdal

from ..core.errors import ImperviousnessError
from ..core.features.changemask import EEA_TILE_SIZE_M
from ..core.products.align import DEFAULT_ALIGNMENT
from ..core.io.raster import Grid, Window, aligned_window, check_alignable, window_grid
from ..core.unet.contract import DEFAULT_OVERLAP, DEFAULT_TILE_SIZE



@dataclass(frozen=True)
class AreaGrid:
    """The reference grid cut to the area: geotransform and size in pixels."""

    geotransform: tuple
    width: int
    height: int
    crs_wkt: str

    def bounds(self, window):
        x0, px, _, y1, _, py = self.geotransform
        return (x0 + window.col * px, y1 + (window.row + window.height) * py,
                x0 + (window.col + window.width) * px, y1 + window.row * py)


@dataclass(frozen=True)
class ProcessingTile:
    tile_id: str
    core: Window      # on the area grid
    halo: Window      # the read window, on the area grid


def parse_tile_code(code):
    """'e47n14' -> the EEA 100 km cell's bounds (xmin, ymin, xmax, ymax) in EPSG:3035."""
    text = code.strip().lower()
    try:
        east, north = text[1:].split("n")
        if text[0] != "e":
            raise ValueError
        col, row = int(east), int(north)
    except ValueError:
        raise ImperviousnessError(f"Not an EEA 100 km tile code: {code!r} (expected e.g. 'e47n14').") from None
    size = EEA_TILE_SIZE_M
    return (col * size, row * size, (col + 1) * size, (row + 1) * size)


def area_bounds(extent=None, tiles=None):
    """The area from an extent (xmin, ymin, xmax, ymax) or EEA tile codes (the box around them:
    the runner keeps only the processing tiles inside the cells given); None: everything."""
    if tiles:
        cells = [parse_tile_code(code) for code in tiles]
        return (min(c[0] for c in cells), min(c[1] for c in cells),
                max(c[2] for c in cells), max(c[3] for c in cells))
    return tuple(extent) if extent else None


def requested_cells(codes):
    """The set of EEA tile codes asked for ('e47n14'), checked, lower case."""
    return {tile_code_of(code) for code in codes or ()}


def tile_code_of(code):
    xmin, ymin, _, _ = parse_tile_code(code)
    from ..core.products.delivery import tile_code
    return tile_code(int(xmin // EEA_TILE_SIZE_M), int(ymin // EEA_TILE_SIZE_M))


def area_grid(reference_path, bounds=None):
    """(AreaGrid, window of the area on the reference grid).

    The area is the reference's overlap with `bounds` grown outward to whole kilometres, on the
    reference's pixels: with no bounds exactly the grid imperviousness:aligngrid pads the
    reference to in the single run, so the products (and the U-Net layout anchored at the area's
    origin) are the single run's. The window may reach beyond the reference: the graph's
    aligngrid steps pad the inputs there with their nodata (runner/steps.py).
    """
    dataset = gdal.Open(str(reference_path))
    if dataset is None:
        raise ImperviousnessError(f"Cannot open the reference layer {reference_path}.")
    reference = Grid.of_dataset(dataset)
    check_alignable(reference, DEFAULT_ALIGNMENT, f"The reference layer {reference_path}")
    xmin, ymin, xmax, ymax = reference.bounds
    if bounds is not None:
        xmin, ymin = max(xmin, bounds[0]), max(ymin, bounds[1])
        xmax, ymax = min(xmax, bounds[2]), min(ymax, bounds[3])
    if xmin >= xmax or ymin >= ymax:
        raise ImperviousnessError(f"The area {bounds} does not overlap the reference layer {reference_path}.")
    window = aligned_window(reference, DEFAULT_ALIGNMENT, (xmin, ymin, xmax, ymax))
    grid = window_grid(reference, window)
    return AreaGrid(grid.geotransform, window.width, window.height, dataset.GetProjection()), window


def check_tile_size(tile_size):
    if tile_size <= 0 or tile_size % 100 or EEA_TILE_SIZE_M % tile_size:
        raise ImperviousnessError(
            f"TILE_SIZE must be a multiple of 100 m that divides 100 km (e.g. 1000, 10000, 100000), "
            f"not {tile_size:g}.")


def _cell_runs(origin, pixel, count, size):
    """[(cell index, first pixel, pixel count), ...] of pixels grouped by the cell of their centre."""
    runs = []
    for index in range(count):
        cell = math.floor((origin + (index + 0.5) * pixel) / size)
        if runs and runs[-1][0] == cell:
            runs[-1][2] += 1
        else:
            runs.append([cell, index, 1])
    return runs


@dataclass(frozen=True)
class Halo:
    """How far a read window reaches beyond its core, in pixels: `before` rounded down onto a
    lattice of `lattice` px from the area's origin, `after` as is."""

    before: int
    after: int
    lattice: int


def halo_pixels(halo_m, pixel, layouts=((DEFAULT_TILE_SIZE, DEFAULT_OVERLAP),)):
    """The Halo for U-Net `layouts` [(tile, overlap) of each model] and `halo_m` metres at least."""
    extra = math.ceil(halo_m / abs(pixel))
    strides = [tile - overlap for tile, overlap in layouts]
    reach = max([tile for tile, _ in layouts] + [extra])
    return Halo(before=reach, after=reach + max(strides), lattice=math.lcm(*strides))


def read_window(core, halo, width, height):
    """The core's read window on an area of width x height px (see Halo in the module doc)."""
    def span(start, length, size):
        first = max(0, (start - halo.before) // halo.lattice * halo.lattice)
        return first, min(size, start + length + halo.after)
    left, right = span(core.col, core.width, width)
    top, bottom = span(core.row, core.height, height)
    return Window(left, top, right - left, bottom - top)


def processing_tiles(grid, tile_size, halo):
    """The area's processing tiles, north to south, west to east, with their read windows."""
    check_tile_size(tile_size)
    x0, px, _, y1, _, py = grid.geotransform
    tiles = []
    for north, row, height in _cell_runs(y1, py, grid.height, tile_size):
        for east, col, width in _cell_runs(x0, px, grid.width, tile_size):
            core = Window(col, row, width, height)
            tile_id = f"x{int(east * tile_size)}_y{int(north * tile_size)}"
            tiles.append(ProcessingTile(tile_id, core, read_window(core, halo, grid.width, grid.height)))
    return tiles


def eea_cells(grid):
    """The EEA 100 km cells the area touches: [(code, bounds ∩ area)], as the change mask orders them."""
    from ..core.products.delivery import tile_code
    x0, px, _, y1, _, py = grid.geotransform
    cells = []
    for north, row, height in _cell_runs(y1, py, grid.height, EEA_TILE_SIZE_M):
        for east, col, width in _cell_runs(x0, px, grid.width, EEA_TILE_SIZE_M):
            cells.append((tile_code(east, north), grid.bounds(Window(col, row, width, height))))
    return cells
