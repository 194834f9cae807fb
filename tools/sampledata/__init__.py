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

The package, one module per section (this docstring is the whole description):

    constants     the world's grid, tile, bands, covers, defaults, reference-layer rules
    spectra       end-member spectra, phenology, NDVI, EndmemberLibrary
    landscape     the world: the truth of each year (World, YearTruth, simulate_world)
    acquisitions  the acquisition plan, each acquisition's digital numbers and SCL
    layouts       writing acquisitions: JPEG 2000 / GeoTIFF bands, SAFE, zipped SAFE, plain
    reference     the reference and truth layers on the EEA grid
    sample        generate_sample: everything above written to a folder
    benchmark     generate_benchmark_year: one large year of simple content
    tile_pair     generate_tile_pair: two overlapping tiles in two UTM zones

Every name callers use is imported here, so `from tools.sampledata import X` and
`tools.sampledata.X` keep working.
"""

from .constants import (  # noqa: F401
    BANDS, BANDS_10M, BANDS_20M, BARE, BASELINE_CYCLE, BOA_ADD_OFFSET, BROADLEAF, CHANGE_REGIONS,
    CLCPLUS_CODES, CLCPLUS_SEALED, CONIFER, COVERS, DEFAULT_SEED, DEFAULT_SIZE, DEFAULT_YEARS,
    EEA_EPSG, GRASS, IBU_MIN_BUILT_UP, LAYOUTS, NODATA_BYTE, PAVED, QUANTIFICATION, RELATIVE_ORBIT,
    ROOF, SEALED_MAJORITY, SEALED_OBJECT_CELLS, SEALED_VISIBLE_MIN, SHRUB, SUMMER_CROP, TILE,
    UTM_EPSG, UTM_ORIGIN, VEGETATED, WATER, WINTER_CROP)
from .spectra import (  # noqa: F401
    day_fraction, default_spectra, endmember_reflectance, endmember_table,
    EndmemberLibrary, greenness, ndvi, ndvi_curve)
from .landscape import (  # noqa: F401
    random_cuts, simulate_world, smooth_field, _srs, _visible_sealed, World, YearTruth)
from .acquisitions import (  # noqa: F401
    Acquisition, acquisition_plan, AcquisitionPlan, baseline_has_offset, simulate_acquisition,
    simulate_acquisitions, surface_reflectance)
from .layouts import jp2_bytes, mtd_msil2a_xml, write_acquisition, write_gtiff  # noqa: F401
from .reference import eea_change_regions, eea_grid, eea_layers  # noqa: F401
from .sample import generate_sample  # noqa: F401
from .benchmark import BENCHMARK_ORIGIN, BENCHMARK_UTM_ORIGIN, generate_benchmark_year  # noqa: F401
from .tile_pair import (  # noqa: F401
    generate_tile_pair, tile_pair_cloud, tile_pair_dn, TILE_PAIR_EPSG, TILE_PAIR_LONLAT)
