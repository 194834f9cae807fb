"""The world: the truth's cover labels (2 m cells) and fractions (10 m) of each year, the change
regions, the brightness texture."""

from dataclasses import dataclass, field

import numpy as np
from osgeo import osr
from scipy import ndimage

from imperviousness_plugin.core.errors import ImperviousnessError
from .constants import (
    BARE, BROADLEAF, CHANGE_REGIONS, CONIFER, COVERS, DEFAULT_SEED, DEFAULT_SIZE, DEFAULT_YEARS,
    GRASS, IBU_MIN_BUILT_UP, PAVED, ROOF, SEALED_OBJECT_CELLS, SHRUB, SUMMER_CROP, UTM_EPSG,
    UTM_ORIGIN, WATER, WINTER_CROP)
from .spectra import EndmemberLibrary, _cover_name  # noqa: F401 (World.endmembers annotation)

osr.UseExceptions()


_SUB = 5  # sub-pixels (2 m) per 10 m pixel edge


@dataclass
class YearTruth:
    """The truth of one year at 10 m on the UTM grid."""

    year: int
    fractions: np.ndarray          # (len(COVERS), H, W) float32, summing to 1
    phenology_shift: np.ndarray    # (H, W) float32, days added to the phenology of each parcel
    visible_sealed: np.ndarray = None   # (H, W) float32, share of sealed objects >= 6 m across

    def fraction(self, cover):
        return self.fractions[COVERS.index(_cover_name(cover))]

    @property
    def imd(self):
        """Imperviousness density 0..1 (paved + roof)."""
        return self.fractions[PAVED] + self.fractions[ROOF]

    @property
    def built_up(self):
        """Built-up (building) density 0..1."""
        return self.fractions[ROOF]

    @property
    def ibu(self):
        """Built-up binary (uint8): built-up density >= 10 %."""
        return (self.fractions[ROOF] >= IBU_MIN_BUILT_UP).astype(np.uint8)

    @property
    def imd_percent(self):
        return np.rint(100.0 * self.imd).astype(np.uint8)

    @property
    def dominant(self):
        """Index into COVERS of the largest fraction per pixel (uint8)."""
        return np.argmax(self.fractions, axis=0).astype(np.uint8)


@dataclass
class World:
    """The synthetic world: grid, per-year truth, change regions."""

    size: int
    seed: int
    years: tuple
    truth: dict                    # year -> YearTruth
    change_regions: np.ndarray     # (H, W) uint8: 0 unchanged, 1 new construction, 2, 3
    regions: dict                  # name -> (row0, row1, col0, col1), 10 m pixels, end exclusive
    brightness: np.ndarray         # (H, W) float32 static multiplicative texture
    n_dates: int = None            # None: the default cadence (~34 dates a year)
    _cache: dict = field(default_factory=dict, repr=False)
    endmembers: "EndmemberLibrary" = None   # None: the default spectra and phenology

    @property
    def geotransform_10m(self):
        return (UTM_ORIGIN[0], 10.0, 0.0, UTM_ORIGIN[1], 0.0, -10.0)

    @property
    def geotransform_20m(self):
        return (UTM_ORIGIN[0], 20.0, 0.0, UTM_ORIGIN[1], 0.0, -20.0)

    @property
    def crs_wkt(self):
        return _srs(UTM_EPSG).ExportToWkt()

    @property
    def bounds(self):
        """(xmin, ymin, xmax, ymax) of the UTM footprint."""
        x0, y0 = UTM_ORIGIN
        return (x0, y0 - 10.0 * self.size, x0 + 10.0 * self.size, y0)


def _srs(epsg):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def smooth_field(rng, shape, sigma):
    """Gaussian random field, mean 0, standard deviation 1 (float64)."""
    noise = rng.standard_normal(shape)
    field_ = ndimage.gaussian_filter(noise, sigma, mode="reflect")
    return (field_ - field_.mean()) / (field_.std() + 1e-12)


def random_cuts(rng, n, low, high):
    """Increasing cut positions in [0, n) with random spacing in [low, high]."""
    cuts, position = [], 0.0
    while True:
        position += rng.uniform(low, high)
        if position >= n:
            return np.array(cuts)
        cuts.append(position)


def _up(array):
    """10 m array to the 2 m sub-pixel grid."""
    return np.repeat(np.repeat(array, _SUB, axis=0), _SUB, axis=1)


def _region_boxes(n, rng):
    """Change regions (row0, row1, col0, col1) in 10 m pixels, scaled with the world size."""
    def box(row, col, height, width):
        jitter_r, jitter_c = rng.uniform(-0.01, 0.01, 2)
        r0 = int(round((row + jitter_r) * n))
        c0 = int(round((col + jitter_c) * n))
        return (r0, r0 + max(4, int(round(height * n))), c0, c0 + max(4, int(round(width * n))))

    return {
        "new_construction": box(0.13, 0.21, 0.055, 0.055),
        "demolition": box(0.66, 0.15, 0.05, 0.05),
        "crop_rotation": box(0.25, 0.10, 0.055, 0.065),
    }


def _base_layout(n, rng):
    """The unchanged landscape as sub-pixel cover labels (n*5, n*5) and the parcel map (n, n)."""
    m = n * _SUB
    coords = (np.arange(m) + 0.5) / _SUB            # sub-pixel centres in 10 m pixel units
    Y, X = coords[:, None], coords[None, :]

    # Agricultural parcels everywhere first.
    row_cuts, col_cuts = random_cuts(rng, n, 14, 32), random_cuts(rng, n, 14, 32)
    n_pr, n_pc = len(row_cuts) + 1, len(col_cuts) + 1
    parcel_types = rng.choice(
        np.array([WINTER_CROP, SUMMER_CROP, GRASS, BARE, SHRUB], dtype=np.uint8),
        size=(n_pr, n_pc), p=[0.35, 0.20, 0.25, 0.08, 0.12])
    pr = np.searchsorted(row_cuts, coords, side="right")
    pc = np.searchsorted(col_cuts, coords, side="right")
    labels = parcel_types[pr[:, None], pc[None, :]]
    centres = np.arange(n) + 0.5
    parcel_id = (np.searchsorted(row_cuts, centres, side="right")[:, None] * n_pc
                 + np.searchsorted(col_cuts, centres, side="right")[None, :])

    f_forest = _up(smooth_field(rng, (n, n), n / 12))
    f_shrub = _up(smooth_field(rng, (n, n), n / 20))
    f_edge = _up(smooth_field(rng, (n, n), n / 30))
    coast_noise = ndimage.gaussian_filter1d(rng.standard_normal(m), m / 25, mode="reflect")
    coast_noise /= coast_noise.std() + 1e-12
    coast_phase = rng.uniform(0, 2 * np.pi)

    # Garrigue patches, and shrub on the coastal slope in the south-east.
    labels[f_shrub > 1.2] = SHRUB
    coast = n * (0.87 + 0.03 * np.sin(2 * np.pi * 1.3 * coords / n + coast_phase)) \
        + 0.015 * n * coast_noise
    coast = coast[:, None]
    slope = (X > coast - 0.13 * n) & (Y > 0.58 * n) & (f_shrub > -0.4)
    labels[slope] = SHRUB

    # Broadleaved forest in the north-east, a pine plantation north of the town.
    forest = (f_forest > 0.2) & (Y < 0.36 * n) & (X >= 0.48 * n) & (X < 0.84 * n)
    labels[forest] = BROADLEAF
    pines = (Y >= 0.03 * n) & (Y < 0.12 * n) & (X >= 0.37 * n) & (X < 0.47 * n) & (f_edge > -1.2)
    labels[pines] = CONIFER

    # A limestone quarry in the south.
    labels[(Y >= 0.86 * n) & (Y < 0.96 * n) & (X >= 0.45 * n) & (X < 0.62 * n)] = BARE

    # Scattered farmsteads: a building of 10..20 m on a paved yard, off the pixel grid.
    for _ in range(max(4, n * n // 2500)):
        y, x = rng.uniform(0.02 * n, 0.98 * n, 2)
        h, w = rng.uniform(1.0, 2.0, 2)
        margin = rng.uniform(0.4, 1.2)
        yard = (slice(int((y - margin) * _SUB), int((y + h + margin) * _SUB)),
                slice(int((x - margin) * _SUB), int((x + w + margin) * _SUB)))
        labels[yard] = PAVED
        labels[int(y * _SUB):int((y + h) * _SUB), int(x * _SUB):int((x + w) * _SUB)] = ROOF

    # The town: dense core and a residential ring around it.
    cr, cc = (0.40 + rng.uniform(-0.02, 0.02)) * n, (0.42 + rng.uniform(-0.02, 0.02)) * n
    distance = np.hypot(Y - cr, X - cc) / n + 0.02 * f_edge
    core = distance < 0.12
    residential = (distance >= 0.12) & (distance < 0.25)

    plot = 2.6      # 26 m plots, not aligned with the pixels: houses straddle pixel edges
    n_plots = int(n / plot) + 2
    plot_i = (coords // plot).astype(np.int64)
    house_size = rng.uniform(0.8, 1.5, (n_plots, n_plots))
    empty = rng.random((n_plots, n_plots)) < 0.12
    garden = rng.choice(np.array([GRASS, SHRUB, BROADLEAF, BARE], dtype=np.uint8),
                        size=(n_plots, n_plots), p=[0.55, 0.15, 0.22, 0.08])
    qy, qx = np.mod(Y, plot), np.mod(X, plot)
    hs = house_size[plot_i[:, None], plot_i[None, :]]
    house = (qy >= 0.7) & (qy < 0.7 + hs) & (qx >= 0.7) & (qx < 0.7 + hs) \
        & ~empty[plot_i[:, None], plot_i[None, :]]
    drive = (qx >= 0.7) & (qx < 1.0) & (qy < 0.7)
    res_street = (np.mod(Y, 12.0) < 0.8) | (np.mod(X, 12.0) < 0.8)
    res_labels = garden[plot_i[:, None], plot_i[None, :]].copy()
    res_labels[house] = ROOF
    res_labels[drive] = PAVED
    res_labels[res_street] = PAVED
    labels[residential] = res_labels[residential]

    block = 9.0
    n_blocks = int(n / block) + 2
    block_i = (coords // block).astype(np.int64)
    court_h = rng.uniform(0.0, 2.2, (n_blocks, n_blocks))
    court_w = rng.uniform(0.0, 2.2, (n_blocks, n_blocks))
    court_green = rng.random((n_blocks, n_blocks)) < 0.5
    by, bx = np.mod(Y, block), np.mod(X, block)
    bi, bj = block_i[:, None], block_i[None, :]
    court = (np.abs(by - 5.1) < court_h[bi, bj]) & (np.abs(bx - 5.1) < court_w[bi, bj])
    core_labels = np.full((m, m), ROOF, dtype=np.uint8)
    core_labels[court] = np.where(court_green[bi, bj], GRASS, PAVED)[court]
    core_labels[(by < 1.2) | (bx < 1.2)] = PAVED
    labels[core] = core_labels[core]

    # Industrial estate in the south-west: halls on paved yards, a few bare lots.
    r0, r1, c0, c1 = 0.62 * n, 0.80 * n, 0.08 * n, 0.34 * n
    industrial = (Y >= r0) & (Y < r1) & (X >= c0) & (X < c1)
    lot = 8.0
    n_lots = int(n / lot) + 2
    lot_r = np.clip(((coords - r0) // lot).astype(np.int64), 0, n_lots - 1)
    lot_c = np.clip(((coords - c0) // lot).astype(np.int64), 0, n_lots - 1)
    hall_h = rng.uniform(3.0, 6.5, (n_lots, n_lots))
    hall_w = rng.uniform(4.0, 6.5, (n_lots, n_lots))
    bare_lot = rng.random((n_lots, n_lots)) < 0.25
    li, lj = lot_r[:, None], lot_c[None, :]
    ly, lx = np.mod(Y - r0, lot), np.mod(X - c0, lot)
    hall = (ly >= 1.0) & (ly < 1.0 + hall_h[li, lj]) & (lx >= 1.0) & (lx < 1.0 + hall_w[li, lj])
    ind_labels = np.full((m, m), PAVED, dtype=np.uint8)
    ind_labels[bare_lot[li, lj] & (ly >= 7.0)] = BARE
    ind_labels[hall] = ROOF
    labels[industrial] = ind_labels[industrial]

    # Main roads, 14 m wide: east-west, north-south, and a diagonal to the north-east.
    road_row, road_col = 0.55 * n, 0.30 * n
    roads = (np.abs(Y - road_row) < 0.7) | (np.abs(X - road_col) < 0.7)
    p0 = np.array([road_row, road_col])
    p1 = np.array([-0.02 * n, 0.76 * n])
    direction = (p1 - p0) / np.hypot(*(p1 - p0))
    along = (Y - p0[0]) * direction[0] + (X - p0[1]) * direction[1]
    across = np.abs((Y - p0[0]) * direction[1] - (X - p0[1]) * direction[0])
    roads |= (across < 0.6) & (along >= 0)
    labels[roads] = PAVED

    # Rocky shore and the sea.
    labels[(X > coast - 1.5) & (X <= coast)] = BARE
    labels[X > coast] = WATER
    return labels, parcel_id


def _visible_sealed(labels, n):
    """Share of each 10 m pixel covered by sealed objects (paved, roof) at least 6 m across.

    A morphological opening of the 2 m sealed labels with a 6 m square keeps roads, streets,
    buildings and yards and drops what a 10 m sensor does not resolve (3 m driveways, paths,
    slivers along parcel edges); the 10 m sealed class (`eea_layers`) is drawn from it.
    """
    sealed = (labels == PAVED) | (labels == ROOF)
    visible = ndimage.binary_opening(sealed, structure=np.ones((SEALED_OBJECT_CELLS,) * 2, bool))
    return visible.reshape(n, _SUB, n, _SUB).mean(axis=(1, 3)).astype(np.float32)


def _fractions(labels, n):
    fractions = np.empty((len(COVERS), n, n), dtype=np.float32)
    blocks = labels.reshape(n, _SUB, n, _SUB)
    for index in range(len(COVERS)):
        fractions[index] = (blocks == index).mean(axis=(1, 3))
    return fractions


def simulate_world(size=DEFAULT_SIZE, years=DEFAULT_YEARS, seed=DEFAULT_SEED, n_dates=None):
    """Build the synthetic world: per-year truth and change regions, all from `seed`.

    `size` (even, >= 100) is the edge in 10 m pixels; `years` the two years A < B; `n_dates`
    the number of acquisitions per year (None: about 34, every ~10.6 days).
    """
    size, seed = int(size), int(seed)
    years = tuple(int(year) for year in years)
    if size < 100 or size % 2:
        raise ImperviousnessError(f"The sample world size must be even and at least 100 pixels "
                                  f"(got {size}).")
    if len(years) != 2 or years[0] >= years[1]:
        raise ImperviousnessError(f"Two increasing years are needed (got {years}).")
    if n_dates is not None and not 4 <= int(n_dates) <= 120:
        raise ImperviousnessError(f"n_dates must be between 4 and 120 (got {n_dates}).")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    labels, parcel_id = _base_layout(size, rng)
    boxes = _region_boxes(size, rng)
    brightness = (1.0 + 0.04 * np.clip(smooth_field(rng, (size, size), 2.0), -2.5, 2.5)
                  ).astype(np.float32)

    # A 30 m field margin without any sealed surface around the crop-rotation field, so that
    # its imperviousness is 0 in both years even after warping to another grid.
    r0, r1, c0, c1 = boxes["crop_rotation"]
    margin = (slice(max(0, r0 - 3) * _SUB, (r1 + 3) * _SUB),
              slice(max(0, c0 - 3) * _SUB, (c1 + 3) * _SUB))
    around = labels[margin]
    around[(around == PAVED) | (around == ROOF)] = GRASS

    year_labels = {year: labels.copy() for year in years}
    year_a, year_b = years
    m = size * _SUB
    coords = (np.arange(m) + 0.5) / _SUB
    Y, X = coords[:, None], coords[None, :]
    change = np.zeros((size, size), dtype=np.uint8)
    for name, (r0, r1, c0, c1) in boxes.items():
        rows, cols = slice(r0 * _SUB, r1 * _SUB), slice(c0 * _SUB, c1 * _SUB)
        ly, lx = Y[rows] - r0, X[:, cols] - c0
        if name == "crop_rotation":
            year_labels[year_a][rows, cols] = WINTER_CROP
            year_labels[year_b][rows, cols] = SUMMER_CROP
        elif name == "new_construction":
            year_labels[year_a][rows, cols] = WINTER_CROP
            # Apartment blocks 40 x 25 m on parking; 2 m green strips; every pixel >= 60 % IMD.
            new = np.full((ly.shape[0], lx.shape[1]), PAVED, dtype=np.uint8)
            new[(np.mod(ly, 6.0) >= 1.0) & (np.mod(ly, 6.0) < 5.0)
                & (np.mod(lx, 4.0) >= 1.0) & (np.mod(lx, 4.0) < 3.5)] = ROOF
            new[(np.mod(ly, 6.0) < 0.2) & (np.mod(lx, 4.0) < 3.0)] = GRASS
            year_labels[year_b][rows, cols] = new
        else:  # demolition: an industrial hall on a paved yard, then grass and bare soil
            hall = np.full((ly.shape[0], lx.shape[1]), PAVED, dtype=np.uint8)
            hall[(ly >= 0.6) & (ly < r1 - r0 - 0.6) & (lx >= 0.6) & (lx < c1 - c0 - 0.6)] = ROOF
            year_labels[year_a][rows, cols] = hall
            cleared = np.where(_up(smooth_field(rng, (r1 - r0, c1 - c0), 2.0)) > -0.8,
                               GRASS, BARE).astype(np.uint8)
            year_labels[year_b][rows, cols] = cleared
        change[r0:r1, c0:c1] = CHANGE_REGIONS[name]

    # Phenology shifts: per parcel and year, a few days (weather), same field map both years.
    truth = {}
    n_parcels = int(parcel_id.max()) + 1
    for year in years:
        shifts = rng.normal(0.0, 4.0, n_parcels).astype(np.float32)
        truth[year] = YearTruth(year, _fractions(year_labels[year], size), shifts[parcel_id],
                                _visible_sealed(year_labels[year], size))
    return World(size, seed, years, truth, change, boxes, brightness,
                 None if n_dates is None else int(n_dates))
