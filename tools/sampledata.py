"""Deterministic synthetic sample data: a small world with a known truth, seen by Sentinel-2.

The world is a square of `size` x `size` pixels of 10 m in EPSG:32633 (UTM 33N, like real
Sentinel-2 tile T33SVV over Malta), upper-left corner at x = 453000, y = 3977000, observed in two
years A and B (default 2018 and 2021). Everything is derived from one integer seed, and the same
seed gives byte-identical files.

The truth is a map of sub-pixel cover labels (2 m cells, 5 x 5 per 10 m pixel) for each year; the
10 m cover fractions are their block means. Covers (`COVERS`):

    water        sea along the east coast (the coast line is a smooth random curve)
    paved        roads (three straight main roads), streets, yards, parking, driveways
    roof         buildings: dense urban core (block grid with courtyards), residential houses
                 with gardens (26 m plots off the pixel grid, so many pixels are mixed), large
                 industrial halls, scattered farmsteads
    bare         rocky shore, a limestone quarry, fallow parcels, gardens, industrial lots
    grass        Mediterranean grassland (green in winter/spring, dry in summer), gardens
    winter_crop  cropland sown in autumn, peak in March, harvested in June
    summer_crop  irrigated cropland, June to September, peak in early August
    broadleaf    broadleaved deciduous forest (leaves on from late April to November)
    conifer      a pine plantation (evergreen needle-leaved)
    shrub        evergreen shrub (garrigue / maquis) on the coastal slope and in patches

Imperviousness density IMD = paved + roof fraction; built-up density = roof fraction; built-up
IBU = built-up density >= 10 % (the SPEC's IBU threshold applied to the true built-up density).

Real changes between year A and year B, everything else is unchanged (only the phenology of
each parcel shifts by a few days from year to year, and the sensor, clouds and noise differ):

    1 new construction  a cropland parcel (winter crop) in A becomes apartment blocks with
                        parking and streets in B: IMD 60..100 % in every pixel, built-up.
    2 demolition        an industrial hall (IMD ~100 %) in A is cleared to grass (~80 %) and
                        bare soil in B (IMD 0): a large loss.
    3 crop rotation     a winter-crop field in A is a summer-crop field in B: the NDVI curve
                        changes completely, the imperviousness stays 0 (must not count as
                        imperviousness change); a 30 m margin around it holds no sealed surface.

At the default size the regions are 160 x 160 m, 150 x 150 m and 160 x 200 m (they scale with
`size`): together about 0.9 % of the world, less than the 1 % above the change mask's 99th
percentile, so each region holds pixels above the upper threshold (checked with this repository's
preprocess + RMSD: construction and rotation fully, demolition ~80 % (its grass part) above it).

Spectra: every cover has an end-member surface reflectance for the ten bands B02 B03 B04 B05
B06 B07 B08 B8A B11 B12 (`endmember_reflectance`); vegetated covers mix a green-canopy and a
background spectrum with a greenness (fraction of green cover) that follows a phenology curve
over the day of the year (`greenness`). Pixels are linear mixtures of their cover fractions,
times a static brightness texture, with a small per-date gain and sensor noise.

Acquisitions (`acquisition_plan`): about 34 dates a year (every ~10.6 days with jitter),
alternating S2A/S2B, processing baselines cycling 02.09, 04.00, 03.00, 05.09. Clouds are smooth
random blobs (opacity with soft edges; cloud spectrum flat, 0.35..0.75), with shadows displaced
north-north-west and darkened, thin cirrus on some dates, two fully cloudy dates per year, about
40 % clear dates, and a no-data triangle in the upper-left corner on one or two dates.
SCL (20 m) is classified from the 20 m means: 0 no data, 3 cloud shadow, 4 vegetation
(NDVI >= 0.4), 5 not vegetated, 6 water, 7 unclassified (cloud edges with opacity 0.2..0.45 and
0.3 % of clear pixels at random), 8 cloud medium (0.45..0.7), 9 cloud high (>= 0.7), 10 thin
cirrus. Digital numbers: DN = round(reflectance x 10000), plus 1000 for baselines >= 04.00
(BOA_ADD_OFFSET = -1000); reflectance is clipped to [0.0001, 5] first so a valid pixel never has
DN 0 (no data) and the offset is exactly +1000 everywhere.

Reference layers (EPSG:3035, 10 m, on the EEA grid, covering the part of the world fully inside
the UTM footprint): the truth's cover fractions are warped with GDAL's area-weighted average,
then IMD = round-half-even(100 x (paved + roof)), IBU = roof >= 0.10. CLCplus Backbone is drawn
as a 10 m sealed-class map shows roads and buildings: 1 (sealed) where sealed objects at least
6 m across (a morphological opening of the 2 m truth, which drops driveways, paths and slivers a
10 m sensor does not resolve) cover at least 20 % of the pixel, or sealed surfaces cover at least
50 % of it, in the dense core, the residential ring, farmsteads and along every road alike; else
the dominant other component (2 conifer, 3 broadleaf, 5 shrub, 6 grass, 7 crops, 9 bare,
10 water). So the class holds most low-density pixels of roads and houses, and misses the
thin-paving slivers at their edges; change regions are warped by majority (mode).
"""

import datetime
import json
import math
import os
import shutil
import uuid
import zipfile
from dataclasses import dataclass, field

import numpy as np
from osgeo import gdal, osr
from scipy import ndimage

from imperviousness_plugin.core.errors import ImperviousnessError
from imperviousness_plugin.core.io import profiles
from imperviousness_plugin.core.io.encoding import IBU_THRESHOLD, NODATA
from imperviousness_plugin.core.kernels import ndvi_model

gdal.UseExceptions()
osr.UseExceptions()

DEFAULT_SEED = 2021
DEFAULT_SIZE = 300
DEFAULT_YEARS = (2018, 2021)
UTM_EPSG = 32633
EEA_EPSG = 3035
UTM_ORIGIN = (453000.0, 3977000.0)         # upper-left corner of the world (x, y)
TILE = "T33SVV"                             # the MGRS tile of this footprint (Malta)
RELATIVE_ORBIT = "R079"
LAYOUTS = ("safe", "safe_zip", "plain")
BASELINE_CYCLE = ("02.09", "04.00", "03.00", "05.09")
BOA_ADD_OFFSET = -1000
QUANTIFICATION = 10000

BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
BANDS_10M = ("B02", "B03", "B04", "B08")
BANDS_20M = ("B05", "B06", "B07", "B8A", "B11", "B12")
_BAND_INDEX = {band: index for index, band in enumerate(BANDS)}

COVERS = ("water", "paved", "roof", "bare", "grass", "winter_crop", "summer_crop",
          "broadleaf", "conifer", "shrub")
(WATER, PAVED, ROOF, BARE, GRASS, WINTER_CROP, SUMMER_CROP,
 BROADLEAF, CONIFER, SHRUB) = range(len(COVERS))
VEGETATED = ("grass", "winter_crop", "summer_crop", "broadleaf", "conifer", "shrub")

CHANGE_REGIONS = {"new_construction": 1, "demolition": 2, "crop_rotation": 3}

# CLCplus Backbone codes of the non-sealed covers (crops are summed before the majority).
CLCPLUS_SEALED = 1
CLCPLUS_CODES = {"conifer": 2, "broadleaf": 3, "shrub": 5, "grass": 6, "crops": 7,
                 "bare": 9, "water": 10}
# The 10 m sealed class (eea_layers): sealed objects >= 6 m across (3 cells of 2 m) covering at
# least 20 % of the pixel, or sealed surfaces covering most of it.
SEALED_OBJECT_CELLS = 3
SEALED_VISIBLE_MIN = 0.20
SEALED_MAJORITY = 0.50
IBU_MIN_BUILT_UP = IBU_THRESHOLD / 100   # the IBU definition (SPEC 8), as a roof fraction
NODATA_BYTE = NODATA

# ----------------------------------------------------------------------------------------------
# Spectra and phenology (public: the model-training simulation reuses them)
# ----------------------------------------------------------------------------------------------

#                           B02    B03    B04    B05    B06    B07    B08    B8A    B11    B12
_SPECTRA = {
    "water":           (0.070, 0.060, 0.030, 0.020, 0.012, 0.010, 0.008, 0.007, 0.004, 0.003),
    "paved":           (0.080, 0.090, 0.100, 0.110, 0.120, 0.128, 0.133, 0.138, 0.160, 0.150),
    "roof":            (0.130, 0.150, 0.180, 0.200, 0.215, 0.228, 0.238, 0.246, 0.280, 0.260),
    "bare":            (0.090, 0.120, 0.160, 0.190, 0.210, 0.228, 0.240, 0.250, 0.330, 0.280),
    # backgrounds of vegetated covers
    "soil":            (0.070, 0.100, 0.150, 0.175, 0.190, 0.202, 0.210, 0.220, 0.300, 0.250),
    "dry_grass":       (0.060, 0.090, 0.120, 0.150, 0.180, 0.200, 0.220, 0.230, 0.320, 0.240),
    "litter":          (0.040, 0.060, 0.070, 0.090, 0.130, 0.150, 0.170, 0.180, 0.240, 0.160),
    "rock":            (0.100, 0.130, 0.170, 0.200, 0.220, 0.236, 0.250, 0.260, 0.320, 0.270),
    # green canopies
    "green_leaf":      (0.025, 0.060, 0.025, 0.090, 0.280, 0.360, 0.400, 0.420, 0.190, 0.090),
    "green_broadleaf": (0.020, 0.050, 0.020, 0.080, 0.260, 0.340, 0.380, 0.400, 0.170, 0.080),
    "green_conifer":   (0.015, 0.035, 0.018, 0.060, 0.170, 0.210, 0.230, 0.240, 0.120, 0.060),
    "green_shrub":     (0.030, 0.060, 0.040, 0.090, 0.200, 0.250, 0.280, 0.290, 0.200, 0.110),
}
# vegetated cover -> (background spectrum, green spectrum)
_VEGETATION = {
    "grass": ("dry_grass", "green_leaf"),
    "winter_crop": ("soil", "green_leaf"),
    "summer_crop": ("soil", "green_leaf"),
    "broadleaf": ("litter", "green_broadleaf"),
    "conifer": ("litter", "green_conifer"),
    "shrub": ("rock", "green_shrub"),
}
# Phenology of the green fraction over tau (0 on 1 January, 1 on 31 December):
#   bump:   gmin + amp * exp(-0.5 |d / width|^p), d the circular distance to the peak
#   season: gmin + amp * leaf-on logistic * leaf-off logistic
#   cosine: base + amp * cos(2 pi (tau - peak))
_PHENOLOGY = {
    "grass": ("bump", 0.15, 0.60, 0.13, 0.17, 2.5),          # green Dec..Apr, dry in summer
    "winter_crop": ("bump", 0.03, 0.90, 0.19, 0.12, 3.0),    # sown Nov, peak mid-March, cut June
    "summer_crop": ("bump", 0.03, 0.90, 0.58, 0.085, 3.0),   # June..September, peak early Aug
    "broadleaf": ("season", 0.25, 0.65, 0.30, 0.83, 0.025),  # leaves on late April..November
    "conifer": ("cosine", 0.78, 0.05, 0.45),
    "shrub": ("cosine", 0.50, 0.10, 0.20),
}
_CLOUD_SHAPE = np.array((1.00, 0.98, 0.97, 0.96, 0.95, 0.95, 0.94, 0.94, 0.80, 0.65))
_CIRRUS_SPECTRUM = np.array((0.50, 0.48, 0.46, 0.45, 0.44, 0.44, 0.43, 0.43, 0.30, 0.22))


def _cover_name(cover):
    if isinstance(cover, (int, np.integer)):
        return COVERS[int(cover)]
    if cover not in COVERS:
        raise ImperviousnessError(f"Unknown cover {cover!r}; covers are {', '.join(COVERS)}.")
    return cover


def greenness(cover, tau):
    """Fraction of green canopy of a cover at tau = (day_of_year - 1) / days_in_year.

    `tau` may be a number or an array (any shape); non-vegetated covers have greenness 0.
    """
    cover = _cover_name(cover)
    tau = np.asarray(tau, dtype=np.float64)
    if cover not in _PHENOLOGY:
        return np.zeros_like(tau)
    kind, *p = _PHENOLOGY[cover]
    if kind == "bump":
        gmin, amp, peak, width, power = p
        d = (tau - peak + 0.5) % 1.0 - 0.5
        return gmin + amp * np.exp(-0.5 * np.abs(d / width) ** power)
    if kind == "season":
        gmin, amp, on, off, k = p
        t = tau % 1.0
        return gmin + amp / (1.0 + np.exp(-(t - on) / k)) / (1.0 + np.exp((t - off) / k))
    base, amp, peak = p
    return base + amp * np.cos(2.0 * np.pi * (tau - peak))


def endmember_reflectance(cover, tau=0.5):
    """Surface reflectance (..., 10 bands in `BANDS` order) of a pure cover at tau.

    Vegetated covers are background + greenness(tau) x (green canopy - background); the others
    do not depend on tau. `tau` may be an array: the result has shape tau.shape + (10,).
    """
    cover = _cover_name(cover)
    tau = np.asarray(tau, dtype=np.float64)
    if cover in _VEGETATION:
        background, green = (np.array(_SPECTRA[name]) for name in _VEGETATION[cover])
        g = greenness(cover, tau)[..., None]
        return background + g * (green - background)
    return np.broadcast_to(np.array(_SPECTRA[cover]), tau.shape + (len(BANDS),)).copy()


def endmember_table(tau=0.5):
    """All covers' reflectances at one tau: array (len(COVERS), 10)."""
    return np.stack([endmember_reflectance(cover, float(tau)) for cover in COVERS])


def ndvi(reflectance):
    """NDVI of reflectances (..., 10) in `BANDS` order."""
    reflectance = np.asarray(reflectance)
    red, nir = reflectance[..., _BAND_INDEX["B04"]], reflectance[..., _BAND_INDEX["B08"]]
    return (nir - red) / (nir + red)


def ndvi_curve(cover, tau):
    """NDVI of a pure cover over tau (array like tau)."""
    return ndvi(endmember_reflectance(cover, tau))


def day_fraction(date):
    """tau = (day_of_year - 1) / days_in_year, as in SPEC section 4 (the plugin's own rule)."""
    return float(ndvi_model.day_fraction([date])[0])


def _leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# ----------------------------------------------------------------------------------------------
# The world
# ----------------------------------------------------------------------------------------------

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


# ----------------------------------------------------------------------------------------------
# Acquisitions
# ----------------------------------------------------------------------------------------------


@dataclass
class AcquisitionPlan:
    """What one acquisition will look like (date, platform, baseline, cloud situation)."""

    year: int
    index: int
    date: datetime.date
    spacecraft: str
    baseline: str
    kind: str                  # clear, partial, heavy, full
    cloud_cover: float         # target fraction of the area under cloud (opacity > 0)
    cirrus: bool
    nodata_strip: bool


@dataclass
class Acquisition:
    """One simulated Sentinel-2 L2A acquisition (digital numbers as written to disk)."""

    date: datetime.date
    spacecraft: str
    baseline: str
    bands: dict                # band -> uint16 DN; 10 m bands (H, W), 20 m bands (H/2, W/2)
    scl: np.ndarray            # uint8 (H/2, W/2)
    geotransform_10m: tuple
    crs_wkt: str
    year: int = None
    index: int = None
    kind: str = "clear"
    cloud_cover: float = 0.0
    nodata_strip: bool = False
    tile: str = TILE
    masks: dict = field(default_factory=dict, repr=False)  # truth at 20 m (cloud opacity, ...)

    @property
    def geotransform_20m(self):
        gt = self.geotransform_10m
        return (gt[0], 2 * gt[1], 0.0, gt[3], 0.0, 2 * gt[5])

    @property
    def boa_add_offset(self):
        return BOA_ADD_OFFSET if baseline_has_offset(self.baseline) else 0

    @property
    def sensing_time(self):
        return f"{self.date:%Y%m%d}T{'095031' if self.spacecraft == 'S2A' else '095029'}"

    @property
    def absolute_orbit(self):
        launch = datetime.date(2015, 6, 23) if self.spacecraft == "S2A" \
            else datetime.date(2017, 3, 7)
        return int((self.date - launch).days * 14.3) + 1

    @property
    def product_name(self):
        baseline = self.baseline.replace(".", "")
        return (f"{self.spacecraft}_MSIL2A_{self.sensing_time}_N{baseline}_{RELATIVE_ORBIT}_"
                f"{self.tile}_{self.date:%Y%m%d}T120000")

    @property
    def granule_name(self):
        return f"L2A_{self.tile}_A{self.absolute_orbit:06d}_{self.sensing_time}"

    @property
    def plain_name(self):
        return f"{self.spacecraft}_{self.date:%Y%m%d}"

    def reflectance(self, band):
        """Surface reflectance (float32) of a band; NaN where DN = 0 (no data)."""
        dn = self.bands[band]
        values = (dn.astype(np.float32) + self.boa_add_offset) / QUANTIFICATION
        return np.where(dn == 0, np.float32(np.nan), values)


def baseline_has_offset(baseline):
    """True for processing baselines >= 04.00 (BOA_ADD_OFFSET = -1000)."""
    return tuple(int(part) for part in str(baseline).split(".")) >= (4, 0)


def acquisition_plan(world, year):
    """The deterministic list of AcquisitionPlan of one year."""
    if year not in world.truth:
        raise ImperviousnessError(f"The sample world has no year {year} (years {world.years}).")
    rng = np.random.default_rng(np.random.SeedSequence([world.seed, year, 2]))
    days = 366 if _leap(year) else 365
    first = datetime.date(year, 1, 1)
    if world.n_dates is None:
        step = 10.6
        offsets, k = [], 0
        start = rng.uniform(1.0, 6.0)
        while True:
            day = int(round(start + k * step + rng.uniform(-2.0, 2.0)))
            if day > days - 2:
                break
            offsets.append(day)
            k += 1
    else:
        step = days / world.n_dates
        offsets = [int(round((k + 0.5) * step + rng.uniform(-0.25, 0.25) * step))
                   for k in range(world.n_dates)]
    offsets = sorted(set(min(max(day, 0), days - 1) for day in offsets))
    count = len(offsets)

    # About 40 % clear, 40 % partly cloudy, 15 % heavily clouded, and two fully cloudy dates.
    n_heavy = int(round(0.15 * count))
    n_partial = int(round(0.40 * count))
    n_clear = max(0, count - 2 - n_heavy - n_partial)
    kinds = ["full"] * 2 + ["heavy"] * n_heavy + ["partial"] * n_partial + ["clear"] * n_clear
    kinds = [str(kind) for kind in rng.permutation(np.array(kinds[:count]))]
    candidates = [i for i in range(count) if kinds[i] != "full"]
    n_strips = 1 + int(rng.random() < 0.5)
    strips = set(int(i) for i in rng.choice(candidates, size=n_strips, replace=False))
    plans = []
    for index, day in enumerate(offsets):
        kind = str(kinds[index])
        cover = {"clear": 0.0, "partial": rng.uniform(0.05, 0.5),
                 "heavy": rng.uniform(0.5, 0.9), "full": 1.0}[kind]
        cirrus = kind != "full" and bool(rng.random() < 0.25)
        plans.append(AcquisitionPlan(
            year, index, first + datetime.timedelta(days=day), "S2A" if index % 2 == 0 else "S2B",
            BASELINE_CYCLE[index % len(BASELINE_CYCLE)], kind, round(float(cover), 4), cirrus,
            index in strips))
    return plans


@dataclass
class EndmemberLibrary:
    """Spectra and phenology that replace the defaults in one World's simulation.

    Used to vary the end-members of simulated training data (the model-training simulation):
    `spectra` maps names of the spectra table (covers, and the backgrounds / green canopies of
    vegetated covers: soil, dry_grass, litter, rock, green_leaf, green_broadleaf, green_conifer,
    green_shrub) to 10 reflectances in `BANDS` order; `greenness` maps vegetated covers to a
    function of tau (array) giving the green fraction. Missing entries keep the defaults; a World
    without a library (the default) simulates exactly as before.
    """

    spectra: dict = field(default_factory=dict)
    greenness: dict = field(default_factory=dict)

    def spectrum(self, name):
        return tuple(self.spectra.get(name, _SPECTRA[name]))

    def green(self, cover, tau):
        function = self.greenness.get(cover)
        return greenness(cover, tau) if function is None else np.asarray(function(tau))


def default_spectra():
    """A copy of the default spectra table {name: 10 reflectances in BANDS order}."""
    return {name: tuple(values) for name, values in _SPECTRA.items()}


def _spectrum(world, name):
    library = getattr(world, "endmembers", None)
    return _SPECTRA[name] if library is None else library.spectrum(name)


def _greenness(world, cover, tau):
    library = getattr(world, "endmembers", None)
    return greenness(cover, tau) if library is None else library.green(cover, tau)


def _year_cache(world, year):
    key = ("base", year)
    if key not in world._cache:
        truth = world.truth[year]
        fractions = truth.fractions
        static = np.zeros((len(BANDS),) + fractions.shape[1:], dtype=np.float32)
        vegetation = []
        for index, cover in enumerate(COVERS):
            if not fractions[index].any():
                continue
            if cover in _VEGETATION:
                background, green = (np.array(_spectrum(world, name), dtype=np.float32)
                                     for name in _VEGETATION[cover])
                vegetation.append((cover, index, green - background))
            else:
                background = np.array(_spectrum(world, cover), dtype=np.float32)
            static += fractions[index][None] * background[:, None, None]
        world._cache[key] = (static, vegetation)
    return world._cache[key]


def surface_reflectance(world, year, date):
    """Cloud-free, noise-free surface reflectance (10, H, W) float32 of the truth at a date."""
    truth = world.truth[year]
    static, vegetation = _year_cache(world, year)
    tau = day_fraction(date)
    reflectance = static.copy()
    days = 366 if _leap(year) else 365
    local_tau = tau - truth.phenology_shift.astype(np.float64) / days
    for cover, index, difference in vegetation:
        green = (truth.fractions[index] * _greenness(world, cover, local_tau)).astype(np.float32)
        reflectance += green[None] * difference[:, None, None]
    reflectance *= world.brightness[None]
    return reflectance


def _shift(array, dr, dc):
    """out[r, c] = array[r - dr, c - dc], zero outside."""
    out = np.zeros_like(array)
    h, w = array.shape
    src_r = slice(max(0, -dr), min(h, h - dr))
    dst_r = slice(max(0, dr), min(h, h + dr))
    src_c = slice(max(0, -dc), min(w, w - dc))
    dst_c = slice(max(0, dc), min(w, w + dc))
    out[dst_r, dst_c] = array[src_r, src_c]
    return out


def _mean2(array):
    """2 x 2 block mean of the last two axes."""
    *lead, h, w = array.shape
    return array.reshape(*lead, h // 2, 2, w // 2, 2).mean(axis=(-3, -1))


def simulate_acquisition(world, plan, baseline=None):
    """Simulate one acquisition of `plan` (an AcquisitionPlan, or (year, index)).

    `baseline` overrides the plan's processing baseline; everything else (clouds, noise) is
    the same, so the DN differ by exactly the BOA offset.
    """
    if not isinstance(plan, AcquisitionPlan):
        year, index = plan
        plan = acquisition_plan(world, year)[index]
    baseline = plan.baseline if baseline is None else str(baseline)
    n, h2 = world.size, world.size // 2
    rng = np.random.default_rng(np.random.SeedSequence([world.seed, plan.year, plan.index, 3]))

    reflectance = surface_reflectance(world, plan.year, plan.date)
    gain = (1.0 + 0.01 * rng.standard_normal(len(BANDS))).astype(np.float32)
    reflectance *= gain[:, None, None]
    noise = rng.standard_normal(reflectance.shape, dtype=np.float32)
    reflectance += noise * (np.float32(0.002) + np.float32(0.01) * reflectance)

    opacity = np.zeros((n, n), dtype=np.float32)
    cirrus = np.zeros((n, n), dtype=np.float32)
    shadow = np.zeros((n, n), dtype=np.float32)
    level = rng.uniform(0.35, 0.75)
    sigma = max(4.0, n / 15.0)
    if plan.kind == "full":
        opacity = np.clip(0.86 + 0.1 * smooth_field(rng, (n, n), sigma), 0.5, 1.0).astype(np.float32)
    elif plan.cloud_cover > 0:
        blobs = smooth_field(rng, (n, n), sigma)
        threshold = np.quantile(blobs, 1.0 - plan.cloud_cover)
        opacity = (np.clip((blobs - threshold) / 0.8, 0.0, 1.0) ** 0.6).astype(np.float32)
        distance = rng.uniform(8.0, 25.0) * n / 300.0
        azimuth = math.radians(rng.uniform(-40.0, -20.0))   # shadows fall north-north-west
        dr = int(round(-distance * math.cos(azimuth)))
        dc = int(round(distance * math.sin(azimuth)))
        shadow = np.clip(1.5 * _shift(opacity, dr, dc), 0.0, 1.0)
    if plan.cirrus:
        veil = smooth_field(rng, (n, n), 2 * sigma)
        cirrus = (0.2 * np.clip((veil - 0.3) / 1.0, 0.0, 1.0)).astype(np.float32)

    reflectance *= (1.0 - 0.6 * shadow)[None]
    cloud_spectrum = (level * _CLOUD_SHAPE).astype(np.float32)[:, None, None]
    cirrus_spectrum = _CIRRUS_SPECTRUM.astype(np.float32)[:, None, None]
    reflectance += cirrus[None] * (cirrus_spectrum - reflectance)
    reflectance += opacity[None] * (cloud_spectrum - reflectance)

    # 20 m: means of 2 x 2; SCL classified from the 20 m means.
    opacity20, cirrus20, shadow20 = _mean2(opacity), _mean2(cirrus), _mean2(shadow)
    red20 = _mean2(reflectance[_BAND_INDEX["B04"]])
    nir20 = _mean2(reflectance[_BAND_INDEX["B08"]])
    water20 = _mean2(world.truth[plan.year].fractions[WATER])
    ndvi20 = (nir20 - red20) / np.maximum(nir20 + red20, 1e-6)
    scl = np.where(ndvi20 >= 0.4, 4, 5).astype(np.uint8)
    scl[water20 >= 0.5] = 6
    scl[rng.random((h2, h2)) < 0.003] = 7
    scl[(shadow20 >= 0.35) & (opacity20 < 0.2) & (cirrus20 < 0.06)] = 3
    scl[cirrus20 >= 0.06] = 10
    scl[opacity20 >= 0.2] = 7
    scl[opacity20 >= 0.45] = 8
    scl[opacity20 >= 0.7] = 9
    nodata20 = np.zeros((h2, h2), dtype=bool)
    if plan.nodata_strip:
        leg = int(round(0.2 * h2))
        nodata20 = (np.arange(h2)[:, None] + np.arange(h2)[None, :]) < leg
        scl[nodata20] = 0
    nodata10 = _up2(nodata20)

    offset = -BOA_ADD_OFFSET if baseline_has_offset(baseline) else 0
    bands = {}
    for index, band in enumerate(BANDS):
        values = reflectance[index] if band in BANDS_10M else _mean2(reflectance[index])
        dn = np.rint(np.clip(values, 1e-4, 5.0) * QUANTIFICATION).astype(np.uint16) + offset
        dn = dn.astype(np.uint16)
        dn[nodata10 if band in BANDS_10M else nodata20] = 0
        bands[band] = dn
    masks = {"cloud_opacity": opacity20.astype(np.float32), "cirrus": cirrus20.astype(np.float32),
             "shadow": shadow20.astype(np.float32), "nodata": nodata20}
    return Acquisition(plan.date, plan.spacecraft, baseline, bands, scl,
                       world.geotransform_10m, world.crs_wkt, plan.year, plan.index, plan.kind,
                       plan.cloud_cover, plan.nodata_strip, TILE, masks)


def _up2(array):
    return np.repeat(np.repeat(array, 2, axis=0), 2, axis=1)


def simulate_acquisitions(world, year, baseline=None):
    """All acquisitions of one year (list of Acquisition), in date order."""
    return [simulate_acquisition(world, plan, baseline) for plan in acquisition_plan(world, year)]


# ----------------------------------------------------------------------------------------------
# Writing acquisitions
# ----------------------------------------------------------------------------------------------

_GDAL_TYPES = {np.dtype("uint8"): gdal.GDT_Byte, np.dtype("uint16"): gdal.GDT_UInt16,
               np.dtype("float32"): gdal.GDT_Float32}


def _mem_dataset(array, geotransform, crs_wkt):
    dtype = _GDAL_TYPES[array.dtype]
    bands = 1 if array.ndim == 2 else array.shape[0]
    h, w = array.shape[-2:]
    dataset = gdal.GetDriverByName("MEM").Create("", w, h, bands, dtype)
    dataset.SetGeoTransform(tuple(float(v) for v in geotransform))
    dataset.SetProjection(crs_wkt)
    for index in range(bands):
        dataset.GetRasterBand(index + 1).WriteArray(array if array.ndim == 2 else array[index])
    return dataset


def jp2_bytes(array, geotransform, crs_wkt):
    """Lossless JPEG 2000 (GDAL JP2OpenJPEG, reversible) with embedded georeferencing."""
    source = _mem_dataset(array, geotransform, crs_wkt)
    path = f"/vsimem/sampledata_{uuid.uuid4().hex}.jp2"
    try:
        gdal.GetDriverByName("JP2OpenJPEG").CreateCopy(
            path, source, options=["REVERSIBLE=YES", "QUALITY=100", "YCC=NO"]).FlushCache()
        handle = gdal.VSIFOpenL(path, "rb")
        gdal.VSIFSeekL(handle, 0, 2)
        length = gdal.VSIFTellL(handle)
        gdal.VSIFSeekL(handle, 0, 0)
        data = gdal.VSIFReadL(1, length, handle)
        gdal.VSIFCloseL(handle)
        check = gdal.Open(path)
        if check is None or not np.array_equal(check.ReadAsArray(), array) \
                or check.GetGeoTransform() != tuple(float(v) for v in geotransform):
            raise ImperviousnessError("JPEG 2000 encoding was not lossless.")
        check = None
    finally:
        for name in gdal.ReadDir("/vsimem/") or []:
            if name.startswith(os.path.basename(path)):
                gdal.Unlink("/vsimem/" + name)
    return bytes(data)


def write_gtiff(path, array, geotransform, crs_wkt, nodata=None, description=None,
                options=None):
    """Write one band as a tiled, DEFLATE-compressed GeoTIFF."""
    dtype = _GDAL_TYPES[array.dtype]
    h, w = array.shape
    dataset = gdal.GetDriverByName("GTiff").Create(
        str(path), w, h, 1, dtype, options=options or profiles.SAMPLE.creation_options())
    dataset.SetGeoTransform(tuple(float(v) for v in geotransform))
    dataset.SetProjection(crs_wkt)
    band = dataset.GetRasterBand(1)
    if nodata is not None:
        band.SetNoDataValue(nodata)
    if description:
        band.SetDescription(description)
    band.WriteArray(array)
    dataset.FlushCache()
    dataset = None
    return str(path)


def _safe_members(acq):
    """(relative path, bytes) of every file of the SAFE product, sorted."""
    granule = f"GRANULE/{acq.granule_name}/IMG_DATA"
    members = []
    for band in BANDS_10M:
        members.append((f"{granule}/R10m/{acq.tile}_{acq.sensing_time}_{band}_10m.jp2",
                        acq.bands[band], acq.geotransform_10m))
    for band in BANDS_20M + ("SCL",):
        array = acq.scl if band == "SCL" else acq.bands[band]
        members.append((f"{granule}/R20m/{acq.tile}_{acq.sensing_time}_{band}_20m.jp2",
                        array, acq.geotransform_20m))
    files = [(relative, jp2_bytes(array, gt, acq.crs_wkt)) for relative, array, gt in members]
    image_files = [relative[:-4] for relative, _, _ in members]
    files.append(("MTD_MSIL2A.xml", mtd_msil2a_xml(acq, image_files).encode("utf-8")))
    return sorted(files)


def mtd_msil2a_xml(acq, image_files=()):
    """A minimal but realistic MTD_MSIL2A.xml (processing baseline, quantification, offsets)."""
    start = f"{acq.date:%Y-%m-%d}T{acq.sensing_time[9:11]}:{acq.sensing_time[11:13]}:" \
            f"{acq.sensing_time[13:15]}.024Z"
    spacecraft = "Sentinel-2A" if acq.spacecraft == "S2A" else "Sentinel-2B"
    band_names = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11",
                  "B12")
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        '<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/'
        'User_Product_Level-2A.xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">',
        "  <n1:General_Info>",
        "    <Product_Info>",
        f"      <PRODUCT_START_TIME>{start}</PRODUCT_START_TIME>",
        f"      <PRODUCT_STOP_TIME>{start}</PRODUCT_STOP_TIME>",
        f"      <PRODUCT_URI>{acq.product_name}.SAFE</PRODUCT_URI>",
        "      <PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL>",
        "      <PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE>",
        f"      <PROCESSING_BASELINE>{acq.baseline}</PROCESSING_BASELINE>",
        f"      <GENERATION_TIME>{acq.date:%Y-%m-%d}T12:00:00.000000Z</GENERATION_TIME>",
        "      <PREVIEW_IMAGE_URL>Not applicable</PREVIEW_IMAGE_URL>",
        "      <PREVIEW_GEO_INFO>Not applicable</PREVIEW_GEO_INFO>",
        f'      <Datatake datatakeIdentifier="G{acq.spacecraft}_{acq.sensing_time}_'
        f'{acq.absolute_orbit:06d}_N{acq.baseline}">',
        f"        <SPACECRAFT_NAME>{spacecraft}</SPACECRAFT_NAME>",
        "        <DATATAKE_TYPE>INS-NOBS</DATATAKE_TYPE>",
        f"        <DATATAKE_SENSING_START>{start}</DATATAKE_SENSING_START>",
        f"        <SENSING_ORBIT_NUMBER>{int(RELATIVE_ORBIT[1:])}</SENSING_ORBIT_NUMBER>",
        "        <SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION>",
        "      </Datatake>",
        '      <Query_Options completeSingleTile="true">',
        "        <PRODUCT_FORMAT>SAFE_COMPACT</PRODUCT_FORMAT>",
        "      </Query_Options>",
        "      <Product_Organisation>",
        "        <Granule_List>",
        f'          <Granule datastripIdentifier="S2_OPER_MSI_L2A_DS_SYNT_{acq.date:%Y%m%d}'
        f'T120000_S{acq.sensing_time}_N{acq.baseline}" granuleIdentifier="S2_OPER_MSI_L2A_TL_'
        f'SYNT_{acq.date:%Y%m%d}T120000_A{acq.absolute_orbit:06d}_{acq.tile}_N{acq.baseline}" '
        'imageFormat="JPEG2000">',
    ]
    lines += [f"            <IMAGE_FILE>{name}</IMAGE_FILE>" for name in image_files]
    lines += [
        "          </Granule>",
        "        </Granule_List>",
        "      </Product_Organisation>",
        "    </Product_Info>",
        "    <Product_Image_Characteristics>",
        "      <Special_Values>",
        "        <SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT>",
        "        <SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX>",
        "      </Special_Values>",
        "      <Special_Values>",
        "        <SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT>",
        "        <SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX>",
        "      </Special_Values>",
        "      <QUANTIFICATION_VALUES_LIST>",
        f'        <BOA_QUANTIFICATION_VALUE unit="none">{QUANTIFICATION}'
        "</BOA_QUANTIFICATION_VALUE>",
        '        <AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE>',
        '        <WVP_QUANTIFICATION_VALUE unit="cm">1000.0</WVP_QUANTIFICATION_VALUE>',
        "      </QUANTIFICATION_VALUES_LIST>",
    ]
    if baseline_has_offset(acq.baseline):
        lines.append("      <BOA_ADD_OFFSET_VALUES_LIST>")
        lines += [f'        <BOA_ADD_OFFSET band_id="{band_id}">{BOA_ADD_OFFSET}</BOA_ADD_OFFSET>'
                  for band_id in range(13)]
        lines.append("      </BOA_ADD_OFFSET_VALUES_LIST>")
    lines.append("      <Spectral_Information_List>")
    lines += [f'        <Spectral_Information bandId="{band_id}" physicalBand="{name}"/>'
              for band_id, name in enumerate(band_names)]
    lines += [
        "      </Spectral_Information_List>",
        "    </Product_Image_Characteristics>",
        "  </n1:General_Info>",
        "  <n1:Quality_Indicators_Info>",
        f"    <Cloud_Coverage_Assessment>{100.0 * acq.cloud_cover:.1f}"
        "</Cloud_Coverage_Assessment>",
        "  </n1:Quality_Indicators_Info>",
        "</n1:Level-2A_User_Product>",
        "",
    ]
    return "\n".join(lines)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def write_acquisition(acq, root, layout="plain"):
    """Write one acquisition under `root` as 'safe', 'safe_zip' or 'plain'; return its path.

    safe:     <root>/<product>.SAFE/ with MTD_MSIL2A.xml and GRANULE/<granule>/IMG_DATA/R10m|R20m
              /<tile>_<time>_<band>_<res>m.jp2 (lossless JPEG 2000)
    safe_zip: <root>/<product>.SAFE.zip holding the same tree under <product>.SAFE/
    plain:    <root>/<S2A|S2B>_<YYYYMMDD>/B02.tif ... B12.tif, B8A.tif, SCL.tif, metadata.json
    """
    if layout not in LAYOUTS:
        raise ImperviousnessError(f"Unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}.")
    os.makedirs(root, exist_ok=True)
    if layout == "plain":
        path = os.path.join(root, acq.plain_name)
        _remove(path)
        os.makedirs(path)
        for band in BANDS:
            gt = acq.geotransform_10m if band in BANDS_10M else acq.geotransform_20m
            write_gtiff(os.path.join(path, f"{band}.tif"), acq.bands[band], gt, acq.crs_wkt,
                        description=band)
        write_gtiff(os.path.join(path, "SCL.tif"), acq.scl, acq.geotransform_20m, acq.crs_wkt,
                    description="SCL")
        metadata = {"processing_baseline": acq.baseline}
        if baseline_has_offset(acq.baseline):
            metadata["boa_add_offset"] = BOA_ADD_OFFSET
        with open(os.path.join(path, "metadata.json"), "w", encoding="utf-8") as stream:
            json.dump(metadata, stream, indent=2, sort_keys=True)
            stream.write("\n")
        return path

    top = f"{acq.product_name}.SAFE"
    members = _safe_members(acq)
    if layout == "safe":
        path = os.path.join(root, top)
        _remove(path)
        for relative, data in members:
            target = os.path.join(path, *relative.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as stream:
                stream.write(data)
        return path

    path = os.path.join(root, top + ".zip")
    _remove(path)
    entries = {}
    for relative, data in members:
        parts = f"{top}/{relative}".split("/")
        for depth in range(1, len(parts)):
            entries["/".join(parts[:depth]) + "/"] = None
        entries[f"{top}/{relative}"] = data
    stamp = (acq.date.year, acq.date.month, acq.date.day, 12, 0, 0)
    with zipfile.ZipFile(path + ".part", "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3
            info.compress_type = zipfile.ZIP_STORED
            if entries[name] is None:
                info.external_attr = (0o40755 << 16) | 0x10
                archive.writestr(info, b"")
            else:
                info.external_attr = 0o644 << 16
                archive.writestr(info, entries[name])
    os.replace(path + ".part", path)
    return path


# ----------------------------------------------------------------------------------------------
# Reference and truth layers on the EEA grid
# ----------------------------------------------------------------------------------------------


def eea_grid(world):
    """Geotransform and (rows, cols) of the EPSG:3035 10 m grid, aligned to multiples of 10 m,
    covering the largest rectangle whose pixels lie fully inside the UTM footprint."""
    transform = osr.CoordinateTransformation(_srs(UTM_EPSG), _srs(EEA_EPSG))
    xmin, ymin, xmax, ymax = world.bounds
    t = np.linspace(0.0, 1.0, 65)

    def edge(xs, ys):
        return np.array(transform.TransformPoints(list(zip(xs.tolist(), ys.tolist()))))[:, :2]

    left = edge(np.full_like(t, xmin), ymin + t * (ymax - ymin))
    right = edge(np.full_like(t, xmax), ymin + t * (ymax - ymin))
    bottom = edge(xmin + t * (xmax - xmin), np.full_like(t, ymin))
    top = edge(xmin + t * (xmax - xmin), np.full_like(t, ymax))
    x0 = math.ceil(left[:, 0].max() / 10.0) * 10.0
    x1 = math.floor(right[:, 0].min() / 10.0) * 10.0
    y0 = math.ceil(bottom[:, 1].max() / 10.0) * 10.0
    y1 = math.floor(top[:, 1].min() / 10.0) * 10.0
    # one pixel of margin against the curvature between the densified points
    x0, x1, y0, y1 = x0 + 10.0, x1 - 10.0, y0 + 10.0, y1 - 10.0
    cols, rows = int(round((x1 - x0) / 10.0)), int(round((y1 - y0) / 10.0))
    return (x0, 10.0, 0.0, y1, 0.0, -10.0), (rows, cols)


def _warp(world, array, geotransform, shape, algorithm):
    source = _mem_dataset(array, world.geotransform_10m, world.crs_wkt)
    rows, cols = shape
    x0, y1 = geotransform[0], geotransform[3]
    bounds = (x0, y1 - 10.0 * rows, x0 + 10.0 * cols, y1)
    warped = gdal.Warp("", source, format="MEM", dstSRS=_srs(EEA_EPSG).ExportToWkt(),
                       outputBounds=bounds, width=cols, height=rows, resampleAlg=algorithm,
                       multithread=False)
    if tuple(warped.GetGeoTransform()) != tuple(geotransform):
        raise ImperviousnessError("Internal error: the warped grid is not the EEA grid.")
    return warped.ReadAsArray()


def eea_layers(world, year):
    """IMD (0..100), IBU (0/1) and CLCplus of one year on the EEA grid (uint8 arrays)."""
    gt, shape = eea_grid(world)
    truth = world.truth[year]
    stack = np.concatenate([truth.fractions, truth.visible_sealed[None]])
    warped = _warp(world, stack, gt, shape, "average").astype(np.float64).reshape((len(COVERS) + 1,) + shape)
    fractions, visible = warped[:-1], warped[-1]
    imd = np.rint(100.0 * (fractions[PAVED] + fractions[ROOF])).clip(0, 100).astype(np.uint8)
    ibu = (fractions[ROOF] >= IBU_MIN_BUILT_UP).astype(np.uint8)
    groups = [("conifer", fractions[CONIFER]), ("broadleaf", fractions[BROADLEAF]),
              ("shrub", fractions[SHRUB]), ("grass", fractions[GRASS]),
              ("crops", fractions[WINTER_CROP] + fractions[SUMMER_CROP]),
              ("bare", fractions[BARE]), ("water", fractions[WATER])]
    codes = np.array([CLCPLUS_CODES[name] for name, _ in groups], dtype=np.uint8)
    clcplus = codes[np.argmax(np.stack([values for _, values in groups]), axis=0)]
    # A 10 m sealed class as a map of roads and buildings shows it: every pixel where sealed
    # objects a 10 m sensor resolves cover >= 20 %, or sealed surfaces cover most of the pixel;
    # in the dense core, the residential ring, farmsteads and along every road alike.
    sealed = (visible >= SEALED_VISIBLE_MIN) | (fractions[PAVED] + fractions[ROOF] >= SEALED_MAJORITY)
    clcplus[sealed] = CLCPLUS_SEALED
    return {"IMD": imd, "IBU": ibu, "CLCplus": clcplus}


def eea_change_regions(world):
    gt, shape = eea_grid(world)
    return _warp(world, world.change_regions, gt, shape, "mode").astype(np.uint8)


# ----------------------------------------------------------------------------------------------
# The sample
# ----------------------------------------------------------------------------------------------


def _layout_cycle(layouts, year, years):
    if layouts is None:
        return ("safe", "safe_zip", "plain") if year == years[0] else ("plain",)
    if isinstance(layouts, str):
        layouts = (layouts,)
    if isinstance(layouts, dict):
        cycle = layouts.get(year, layouts.get(str(year)))
        if cycle is None:
            cycle = ("safe", "safe_zip", "plain") if year == years[0] else ("plain",)
        if isinstance(cycle, str):
            cycle = (cycle,)
        layouts = cycle
    layouts = tuple(layouts)
    for layout in layouts:
        if layout not in LAYOUTS:
            raise ImperviousnessError(f"Unknown layout {layout!r}; use {', '.join(LAYOUTS)}.")
    if not layouts:
        raise ImperviousnessError("No layout given.")
    return layouts


def _bbox(mask):
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    return {"row0": int(rows.min()), "row1": int(rows.max()) + 1,
            "col0": int(cols.min()), "col1": int(cols.max()) + 1}


def generate_sample(out_dir, size=DEFAULT_SIZE, years=DEFAULT_YEARS, seed=DEFAULT_SEED,
                    layouts=None, n_dates=None):
    """Write the sample (acquisitions, reference, truth, sample.json) and return its description.

    `layouts`: None (year A cycles safe, safe_zip, plain; year B plain), a sequence of layouts
    cycled in every year, or a dict year -> layout(s).
    """
    out_dir = os.path.abspath(str(out_dir))
    owned = [os.path.join(out_dir, name) for name in ("s2", "reference", "truth")]
    if any(os.path.exists(path) for path in owned):
        if not os.path.exists(os.path.join(out_dir, "sample.json")):
            raise ImperviousnessError(
                f"{out_dir} already holds s2/, reference/ or truth/ but no sample.json; choose an "
                "empty folder or a previous sample folder.")
        for path in owned + [os.path.join(out_dir, "sample.json")]:
            _remove(path)
    os.makedirs(out_dir, exist_ok=True)

    world = simulate_world(size, years, seed, n_dates)
    years = world.years
    description = {
        "generator": "tools.sampledata",
        "format_version": 1,
        "seed": world.seed,
        "size": world.size,
        "years": list(years),
        "utm_grid": {"crs": f"EPSG:{UTM_EPSG}", "geotransform_10m": list(world.geotransform_10m),
                     "shape_10m": [world.size, world.size],
                     "geotransform_20m": list(world.geotransform_20m),
                     "shape_20m": [world.size // 2, world.size // 2], "tile": TILE},
        "covers": list(COVERS),
        "acquisitions": {},
    }

    for year in years:
        cycle = _layout_cycle(layouts, year, years)
        root = os.path.join(out_dir, "s2", str(year))
        records = []
        for plan in acquisition_plan(world, year):
            acq = simulate_acquisition(world, plan)
            layout = cycle[plan.index % len(cycle)]
            path = write_acquisition(acq, root, layout)
            records.append({
                "date": acq.date.isoformat(), "spacecraft": acq.spacecraft,
                "baseline": acq.baseline, "boa_add_offset": acq.boa_add_offset,
                "layout": layout, "path": os.path.relpath(path, out_dir).replace(os.sep, "/"),
                "kind": plan.kind, "cloud_cover": plan.cloud_cover, "cirrus": plan.cirrus,
                "nodata_strip": plan.nodata_strip})
        description["acquisitions"][str(year)] = records

    gt, shape = eea_grid(world)
    wkt = _srs(EEA_EPSG).ExportToWkt()
    year_a, year_b = years
    reference_dir = os.path.join(out_dir, "reference")
    truth_dir = os.path.join(out_dir, "truth")
    utm_dir = os.path.join(truth_dir, "utm")
    for folder in (reference_dir, truth_dir, utm_dir):
        os.makedirs(folder, exist_ok=True)
    layers = {year: eea_layers(world, year) for year in years}
    written = []

    def put(folder, name, array, geotransform, crs, description_text, nodata=NODATA_BYTE):
        path = os.path.join(folder, name)
        write_gtiff(path, array, geotransform, crs, nodata=nodata, description=description_text)
        written.append(os.path.relpath(path, out_dir).replace(os.sep, "/"))

    put(reference_dir, f"IMD_{year_a}_010m.tif", layers[year_a]["IMD"], gt, wkt,
        f"IMD {year_a} imperviousness density (%)")
    put(reference_dir, f"IBU_{year_a}_010m.tif", layers[year_a]["IBU"], gt, wkt,
        f"IBU {year_a} built-up (0/1)")
    for year in years:
        put(reference_dir, f"CLCplus_{year}_010m.tif", layers[year]["CLCplus"], gt, wkt,
            f"CLCplus Backbone {year}")
    put(truth_dir, f"IMD_{year_b}_010m.tif", layers[year_b]["IMD"], gt, wkt,
        f"IMD {year_b} imperviousness density (%)")
    put(truth_dir, f"IBU_{year_b}_010m.tif", layers[year_b]["IBU"], gt, wkt,
        f"IBU {year_b} built-up (0/1)")
    regions_eea = eea_change_regions(world)
    put(truth_dir, "change_regions_010m.tif", regions_eea, gt, wkt,
        "change regions: 0 unchanged, 1 new construction, 2 demolition, 3 crop rotation")
    utm_wkt = world.crs_wkt
    for year in years:
        truth = world.truth[year]
        put(utm_dir, f"IMD_{year}_010m_utm.tif", truth.imd_percent, world.geotransform_10m,
            utm_wkt, f"IMD {year} (%)")
        put(utm_dir, f"IBU_{year}_010m_utm.tif", truth.ibu, world.geotransform_10m, utm_wkt,
            f"IBU {year} (0/1)")
        put(utm_dir, f"COVER_{year}_010m_utm.tif", truth.dominant, world.geotransform_10m,
            utm_wkt, "dominant cover: " + ", ".join(f"{i} {c}" for i, c in enumerate(COVERS)))
    put(utm_dir, "change_regions_010m_utm.tif", world.change_regions, world.geotransform_10m,
        utm_wkt, "change regions: 0 unchanged, 1 new construction, 2 demolition, 3 crop rotation")

    description["eea_grid"] = {"crs": f"EPSG:{EEA_EPSG}", "geotransform": list(gt),
                               "shape": list(shape)}
    x0, y0 = UTM_ORIGIN
    regions = {}
    for name, (r0, r1, c0, c1) in world.regions.items():
        code = CHANGE_REGIONS[name]
        regions[name] = {
            "code": code,
            "utm_pixel_bbox": {"row0": r0, "row1": r1, "col0": c0, "col1": c1},
            "utm_bbox": [x0 + 10.0 * c0, y0 - 10.0 * r1, x0 + 10.0 * c1, y0 - 10.0 * r0],
            "eea_pixel_bbox": _bbox(regions_eea == code),
        }
    description["regions"] = regions
    description["rules"] = {
        "imd": "paved + roof fraction, percent rounded half to even",
        "ibu": f"roof (built-up) fraction >= {IBU_MIN_BUILT_UP}",
        "clcplus": f"1 sealed where sealed objects >= {2 * SEALED_OBJECT_CELLS} m across (opening of "
                   f"the 2 m truth) cover >= {100 * SEALED_VISIBLE_MIN:g} % of the pixel or sealed "
                   f"surfaces cover >= {100 * SEALED_MAJORITY:g} %, else the dominant of "
                   "2 conifer, 3 broadleaf, 5 shrub, 6 grass, 7 crops, 9 bare, 10 water",
        "eea_warp": "fractions averaged (GDAL 'average'), change regions by 'mode'",
        "dn": "round(reflectance * 10000) (+1000 for baselines >= 04.00); 0 = no data",
    }
    description["files"] = sorted(written)
    with open(os.path.join(out_dir, "sample.json"), "w", encoding="utf-8") as stream:
        json.dump(description, stream, indent=2, sort_keys=True)
        stream.write("\n")
    return description


# ----------------------------------------------------------------------------------------------
# Benchmark year (large, simple content)
# ----------------------------------------------------------------------------------------------

BENCHMARK_ORIGIN = (4700000.0, 1500000.0)   # EPSG:3035 upper-left corner, a 100 km tile corner
# Upper-left corner of Sentinel-2 tile 33TWL's grid (EPSG:32633), as Earth Search's COGs have it.
BENCHMARK_UTM_ORIGIN = (499980.0, 5000040.0)


def generate_benchmark_year(out_dir, size=2000, n_dates=60, seed=DEFAULT_SEED, year=2021,
                            origin=None, zlevel=1, epsg=EEA_EPSG):
    """Write one year of plain-folder acquisitions for the benchmark, on an `epsg` grid.

    The content is simple (blocky parcels of eight covers with phenology, noise, blobby clouds
    with SCL), generated and written band by band so memory stays around ten arrays of
    size x size. Files are tiled (256 px) DEFLATE GeoTIFF, the layout of Earth Search's
    Sentinel-2 COGs. Baselines alternate 03.00 / 04.00. `origin` defaults to an EEA 100 km tile
    corner for EPSG:3035 and to tile 33TWL's corner otherwise. Returns `out_dir`.
    """
    if origin is None:
        origin = BENCHMARK_ORIGIN if int(epsg) == EEA_EPSG else BENCHMARK_UTM_ORIGIN
    size, n_dates = int(size), int(n_dates)
    if size < 20 or size % 2:
        raise ImperviousnessError(f"The benchmark size must be even and >= 20 (got {size}).")
    if not 1 <= n_dates <= 366:
        raise ImperviousnessError(f"n_dates must be 1..366 (got {n_dates}).")
    x0, y0 = float(origin[0]), float(origin[1])
    if x0 % 20 or y0 % 20:
        raise ImperviousnessError("The benchmark origin must be a multiple of 20 m.")
    out_dir = os.path.abspath(str(out_dir))
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 99]))
    wkt = _srs(int(epsg)).ExportToWkt()
    gt10 = (x0, 10.0, 0.0, y0, 0.0, -10.0)
    gt20 = (x0, 20.0, 0.0, y0, 0.0, -20.0)

    # Parcels of 100 m x 100 m whose cover follows a smooth field (quantile classes).
    covers = np.array([WATER, PAVED, ROOF, BARE, WINTER_CROP, SUMMER_CROP, GRASS, BROADLEAF,
                       SHRUB], dtype=np.uint8)
    shares = np.cumsum([0.05, 0.08, 0.08, 0.06, 0.20, 0.13, 0.20, 0.14])
    cells = -(-size // 10)
    level = smooth_field(rng, (cells, cells), 3.0) + 0.6 * rng.standard_normal((cells, cells))
    classes = np.searchsorted(np.quantile(level, shares), level)
    parcels = covers[classes]
    cover10 = np.repeat(np.repeat(parcels, 10, axis=0), 10, axis=1)[:size, :size]
    cover10 = np.ascontiguousarray(cover10)
    cover20 = np.ascontiguousarray(cover10[::2, ::2])
    noise_pool = np.rint(rng.normal(0.0, 25.0, size * size + 4099)).astype(np.int16)
    low = max(8, size // 16)

    year_start = datetime.date(year, 1, 1)
    days = 366 if _leap(year) else 365
    step = days / n_dates
    options = profiles.SAMPLE.creation_options(zlevel=zlevel)
    used = set()
    for k in range(n_dates):
        day = int(min(days - 1, max(0, round((k + 0.5) * step + rng.uniform(-0.3, 0.3) * step))))
        while day in used:
            day = (day + 1) % days
        used.add(day)
        date = year_start + datetime.timedelta(days=day)
        tau = day_fraction(date)
        spacecraft = "S2A" if k % 2 == 0 else "S2B"
        baseline = "04.00" if k % 2 else "03.00"
        offset = -BOA_ADD_OFFSET if baseline_has_offset(baseline) else 0
        table = np.stack([endmember_reflectance(COVERS[c], tau) for c in range(len(COVERS))])
        cover_fraction = float(rng.choice([0.0, 0.0, 0.1, 0.3, 0.6, 1.0]))
        opacity = None
        if cover_fraction > 0:
            blobs = smooth_field(rng, (low, low), 2.0)
            threshold = np.quantile(blobs, 1.0 - cover_fraction) if cover_fraction < 1 else -99
            small = np.clip((blobs - threshold) / 0.8, 0.0, 1.0).astype(np.float32)
            opacity = ndimage.zoom(small, size / low, order=1, grid_mode=True,
                                   mode="nearest")[:size, :size]
            if opacity.shape != (size, size):
                opacity = np.pad(opacity, ((0, size - opacity.shape[0]),
                                           (0, size - opacity.shape[1])), mode="edge")
        cloud_level = np.float32(rng.uniform(3500.0, 7500.0))
        folder = os.path.join(out_dir, f"{spacecraft}_{date:%Y%m%d}")
        _remove(folder)
        os.makedirs(folder)
        for band in BANDS + ("SCL",):
            ten = band in BANDS_10M
            cover = cover10 if ten else cover20
            n = cover.size
            a = None if opacity is None else (opacity if ten else opacity[::2, ::2])
            if band == "SCL":
                green = np.array([greenness(c, tau) if c in _VEGETATION else 0.0
                                  for c in COVERS])
                lut = np.where(green >= 0.35, 4, 5).astype(np.uint8)
                lut[WATER] = 6
                out = lut[cover]
                if a is not None:
                    out[a >= 0.2] = 7
                    out[a >= 0.45] = 8
                    out[a >= 0.7] = 9
                write_gtiff(os.path.join(folder, "SCL.tif"), out, gt20, wkt, description="SCL",
                            options=options)
                continue
            lut = (table[:, _BAND_INDEX[band]] * QUANTIFICATION).astype(np.float32)
            start = int(rng.integers(0, noise_pool.size - n))
            values = lut[cover]
            values += noise_pool[start:start + n].reshape(cover.shape)
            if a is not None:
                values += a * (cloud_level * np.float32(_CLOUD_SHAPE[_BAND_INDEX[band]]) - values)
            np.clip(values, 1.0, 50000.0, out=values)
            dn = np.rint(values).astype(np.uint16)
            if offset:
                dn += np.uint16(offset)
            write_gtiff(os.path.join(folder, f"{band}.tif"), dn, gt10 if ten else gt20, wkt,
                        description=band, options=options)
            del values, dn
        metadata = {"processing_baseline": baseline}
        if offset:
            metadata["boa_add_offset"] = BOA_ADD_OFFSET
        with open(os.path.join(folder, "metadata.json"), "w", encoding="utf-8") as stream:
            json.dump(metadata, stream, indent=2, sort_keys=True)
            stream.write("\n")
    return out_dir


# ----------------------------------------------------------------------------------------------
# Two overlapping tiles in two UTM zones (pre-processing across tiles)
# ----------------------------------------------------------------------------------------------

TILE_PAIR_LONLAT = (18.0, 45.0)   # on the border of UTM zones 33 and 34
TILE_PAIR_EPSG = (32633, 32634)


def tile_pair_dn(band_index, x, y, tau):
    """Cloud-free DN of a band at EPSG:3035 coordinates (x, y) on a day fraction tau.

    A smooth ground field with a seasonal green-up, the same for every tile that sees the
    point; integers after rounding, as stored DN are.
    """
    ground = 900.0 + 110.0 * band_index + 350.0 * np.sin(x / 170.0 + band_index) * np.cos(y / 230.0)
    green = 0.5 + 0.5 * np.sin((x + y) / 300.0)
    season = math.sin(math.pi * tau) ** 2
    sign = 1.0 if BANDS[band_index] in ("B06", "B07", "B08", "B8A") else -0.4
    return np.rint(ground + sign * 1500.0 * season * green)


def tile_pair_cloud(date_index, x, y, centre):
    """True where the cloud of datatake `date_index` covers EPSG:3035 point (x, y).

    The cloud (160 m radius) starts 300 m west of the pair's `centre` and drifts east.
    """
    cx = centre[0] - 300.0 + 90.0 * date_index
    cy = centre[1] + 100.0 - 60.0 * (date_index % 5)
    return (x - cx) ** 2 + (y - cy) ** 2 < 160.0 ** 2


def generate_tile_pair(out_dir, size=60, n_dates=8, year=2021, overlap=0.5):
    """Two overlapping tiles, EPSG:32633 and EPSG:32634, around 18 E 45 N, as plain folders.

    Writes out_dir/T33/<S2x_YYYYMMDD>/ and out_dir/T34/... (size x size px at 10 m, 20 m bands
    and SCL at 20 m, baseline 03.00). The ground and the clouds are functions of EPSG:3035
    coordinates (`tile_pair_dn`, `tile_pair_cloud`), so both tiles see the same scene, and on a
    shared datatake the same clouds. Datatake k (date k of n_dates) is seen by both tiles when k
    is even, by T33 only when k % 4 == 1 and by T34 only when k % 4 == 3. Datatake 2 ends inside
    T33 (the edge of its swath): T33 has no data (DN 0, SCL 0) east of the pair's centre on that
    date, so T34 has more observations there. The tiles overlap over `overlap` of their width.
    Returns {"T33": folder, "T34": folder, "dates": {tile: dates}, "centre": (x, y) in 3035}.
    """
    if size < 8 or size % 2:
        raise ImperviousnessError(f"The tile size must be even and >= 8 (got {size}).")
    wgs84 = osr.SpatialReference()
    wgs84.ImportFromEPSG(4326)
    wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    laea = _srs(EEA_EPSG)
    centre = osr.CoordinateTransformation(wgs84, laea).TransformPoint(*TILE_PAIR_LONLAT)
    half = size * 10.0 / 2
    shift = size * 10.0 * (1.0 - overlap) / 2
    days = 366 if _leap(year) else 365
    dates = [datetime.date(year, 1, 1) + datetime.timedelta(days=int((k + 0.5) * days / n_dates))
             for k in range(n_dates)]
    out = {"dates": {}, "centre": (centre[0], centre[1])}
    for name, epsg, side in (("T33", TILE_PAIR_EPSG[0], -1.0), ("T34", TILE_PAIR_EPSG[1], 1.0)):
        utm = _srs(epsg)
        to_utm = osr.CoordinateTransformation(laea, utm)
        cx, cy, _ = to_utm.TransformPoint(centre[0] + side * shift, centre[1])
        x0, y0 = round((cx - half) / 20.0) * 20.0, round((cy + half) / 20.0) * 20.0
        to_laea = osr.CoordinateTransformation(utm, laea)
        grids = {}
        for pixel in (10.0, 20.0):
            n = int(size * 10.0 / pixel)
            cols, rows = np.meshgrid(np.arange(n) + 0.5, np.arange(n) + 0.5)
            points = np.column_stack([x0 + cols.ravel() * pixel, y0 - rows.ravel() * pixel])
            laea_xy = np.array(to_laea.TransformPoints(points))[:, :2]
            grids[pixel] = (laea_xy[:, 0].reshape(n, n), laea_xy[:, 1].reshape(n, n),
                            (x0, pixel, 0.0, y0, 0.0, -pixel))
        folder = os.path.join(out_dir, name)
        seen = [k for k in range(n_dates)
                if k % 2 == 0 or (k % 4 == 1 and name == "T33") or (k % 4 == 3 and name == "T34")]
        for k in seen:
            tau = day_fraction(dates[k])
            path = os.path.join(folder, f"{'S2A' if k % 2 == 0 else 'S2B'}_{dates[k]:%Y%m%d}")
            _remove(path)
            os.makedirs(path)
            for band in BANDS + ("SCL",):
                x, y, gt = grids[10.0 if band in BANDS_10M else 20.0]
                cloud = tile_pair_cloud(k, x, y, centre)
                swath_end = (x > centre[0]) if (name == "T33" and k == 2) else False
                if band == "SCL":
                    array = np.where(cloud, 9, 4).astype(np.uint8)
                else:
                    index = _BAND_INDEX[band]
                    dn = tile_pair_dn(index, x, y, tau)
                    array = np.where(cloud, 7000 + 100 * index, dn).astype(np.uint16)
                array[swath_end] = 0
                write_gtiff(os.path.join(path, f"{band}.tif"), array, gt, utm.ExportToWkt(),
                            description=band)
        out[name] = folder
        out["dates"][name] = [dates[k] for k in seen]
    return out
