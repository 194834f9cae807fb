"""Sentinel-2 tiles of one PP run: acquisitions grouped by grid, and the part of each to reduce.

A tile is every acquisition on one 10 m grid (one CRS, origin and size: a Sentinel-2 tile, or a
window of one cut the same way for every date). Each tile is reduced in its own grid; the finished
features are resampled once to the output grid (SPEC section 4).
"""

from dataclasses import dataclass

from ..errors import ImperviousnessError
from ..io.grid import TOLERANCE, Grid, Window, ceil_to, floor_to, transform_bounds, whole_multiple
from ..io.raster import open_raster
from ..io.sentinel2 import SCL

# Pixels of margin around the output footprint when it is reprojected into a tile, so that the
# nearest-neighbour resampling of every output pixel near the edge finds its source pixel.
REPROJECTION_MARGIN = 2


@dataclass
class Tile:
    """Acquisitions that share one 10 m grid, and the resolution factor of each band (1 or 2)."""

    grid: Grid
    acquisitions: list
    factors: dict   # band -> pixel size / the grid's pixel size (1 for 10 m, 2 for 20 m)

    @property
    def step(self):
        """Windows start and end on multiples of this many pixels (whole coarse pixels)."""
        return max(self.factors.values())

    def describe(self):
        return f"{len(self.acquisitions)} acquisitions on {self.grid.describe()}"


def acquisition_grids(acquisition, bands):
    """The finest grid of an acquisition's bands and each band's factor to it (clear errors)."""
    grids = {band: Grid.of_dataset(open_raster(acquisition.band_paths[band]))
             for band in tuple(bands) + (SCL,)}
    finest = min(grids.values(), key=lambda grid: grid.pixel_size)
    factors = {}
    for band, grid in grids.items():
        if not grid.covers_same_area(finest):
            raise ImperviousnessError(
                f"Band {band} of {acquisition.source} ({grid.describe()}) does not cover the "
                f"same area as its other bands ({finest.describe()}).")
        factor = grid.pixel_size / finest.pixel_size
        if not whole_multiple(factor) or round(factor) not in (1, 2):
            raise ImperviousnessError(
                f"Band {band} of {acquisition.source} has {grid.pixel_size:g} m pixels: bands "
                f"must be at the finest resolution ({finest.pixel_size:g} m) or twice it.")
        factors[band] = int(round(factor))
    coarse = [band for band, factor in factors.items() if factor > factors[SCL]]
    if coarse:
        raise ImperviousnessError(
            f"The SCL of {acquisition.source} is finer than its {', '.join(coarse)}: the SCL must "
            "be at the resolution of the coarsest band (20 m) so each band has its own SCL.")
    return finest, factors


def group_tiles(acquisitions, bands):
    """Acquisitions grouped by their 10 m grid, in `tile_order`."""
    tiles = []
    for acquisition in acquisitions:
        grid, factors = acquisition_grids(acquisition, bands)
        tile = next((tile for tile in tiles if tile.grid.same_as(grid)), None)
        if tile is None:
            tiles.append(Tile(grid, [acquisition], factors))
        elif tile.factors != factors:
            raise ImperviousnessError(
                f"The bands of {acquisition.source} have other resolutions than those of "
                f"{tile.acquisitions[0].source} on the same grid.")
        else:
            tile.acquisitions.append(acquisition)
    return sorted(tiles, key=tile_order)


def tile_order(tile):
    """The fixed tile order (ties of the overlap rule): EPSG code, then west, then north."""
    code = tile.grid.srs.GetAuthorityCode(None) if tile.grid.crs_wkt else None
    return (int(code) if code and code.isdigit() else 0, tile.grid.crs_wkt,
            tile.grid.geotransform[0], -tile.grid.geotransform[3])


def tile_window(tile, output):
    """The window of the tile's grid to reduce for the output grid, or None if it misses it.

    Whole coarse pixels only (the 20 m bands are reduced on their own pixels), with a margin
    when the output is reprojected or not aligned with the tile.
    """
    grid = tile.grid
    bounds = transform_bounds(output.bounds, output.crs_wkt, grid.crs_wkt)
    x0, px, _, y1, _, py = grid.geotransform
    col0 = (bounds[0] - x0) / px
    col1 = (bounds[2] - x0) / px
    row0 = (bounds[3] - y1) / py
    row1 = (bounds[1] - y1) / py
    aligned = grid.same_crs(output) and abs(output.pixel_size - px) <= TOLERANCE * px and all(
        whole_multiple(edge) for edge in (col0, col1, row0, row1))
    margin = 0 if aligned else REPROJECTION_MARGIN
    step = tile.step
    col0 = max(0, floor_to(col0 - margin, step, 1))
    row0 = max(0, floor_to(row0 - margin, step, 1))
    col1 = min(grid.width, ceil_to(col1 + margin, step, 1))
    row1 = min(grid.height, ceil_to(row1 + margin, step, 1))
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)


def tile_blocks(window, block_size):
    """Blocks of a tile window on the grid of block_size cells anchored at the tile's origin.

    Anchoring keeps every read aligned with the input files' internal tiling (256 or 512 px in
    Sentinel-2 COGs) when block_size is a multiple of it, so each input block is decoded once.
    """
    col_end, row_end = window.col + window.width, window.row + window.height
    for row in range(window.row - window.row % block_size, row_end, block_size):
        for col in range(window.col - window.col % block_size, col_end, block_size):
            c0, r0 = max(col, window.col), max(row, window.row)
            c1, r1 = min(col + block_size, col_end), min(row + block_size, row_end)
            yield Window(c0, r0, c1 - c0, r1 - r0)


def count_tile_blocks(window, block_size):
    first_col, first_row = window.col // block_size, window.row // block_size
    last_col = (window.col + window.width - 1) // block_size
    last_row = (window.row + window.height - 1) // block_size
    return (last_col - first_col + 1) * (last_row - first_row + 1)
