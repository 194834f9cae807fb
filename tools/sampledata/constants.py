"""Constants of the simulated world: its grid, tile, bands, covers and the reference layers' rules."""

from imperviousness_plugin.core.io.encoding import IBU_THRESHOLD, NODATA


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
