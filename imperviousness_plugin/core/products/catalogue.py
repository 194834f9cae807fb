"""The one product catalogue: names, encodings, nodata, legends and the official EEA deliverables.

Everything the plugin says about a product lives here, once:

* LEGENDS / legend(): the value -> (colour, label) legend of every Byte encoding. The QML styles
  and the GDAL colour tables (styles.py), the report's maps (report.py) and the class names of the
  delivery's raster attribute tables (delivery.py) all come from it.
* PRODUCTS / SIDE_FILES / hrl_name(): the analysis products `imperviousness:publish` writes, under
  their HRL analysis names (IMD_2021_010m.tif, IMCC_1821_020m.tif, ...).
* OFFICIAL: the ten HRL Imperviousness products the EEA checks with its QC tool
  (eea/copernicus_quality_tools, product definitions at release 2.4.5, commit 9a546f8f), each
  with its resolution, valid values and the colour entries the tool's colour check compares.
  They were transcribed by hand from those definitions (the tool's code is not part of this
  project; tests/ runs it when a local copy of its repository exists).
* generation(): the delivery names of a pair of years. The definitions know two generations with
  the same classes, colours, LZW and 255 outside: 2018-2021 (clms_hrlnvlcc_*_s2021_*.json,
  *_c1821_*.json) and 2021-2024 (clms_nvlcc_*_s2024_*.json, *_c2021-2024_*.json). Any other pair
  is named by the newest pattern with its own years and flagged as having no EEA definition.

Palettes. Where a definition lists colours they are the official ones, and the analysis products
use them too: IMD (the official 0..100 ramp, transcribed value by value from the official colour
table IMD_2018_010m_malta.clr; the definition checks its anchors 0, 1, 50, 100), SBU, IBU, the
change encodings (IMDC, SBUC and the other continuous change layers) and the change classes
(IMCC, SBCC, IBUC and their support layers). Between the anchors a definition lists, the
legends ramp linearly (`anchored_ramp`). CHM, CHM at R and confidence have no official product:
project palettes in the same look. 255 (nodata) is black in the official tables (transparent in
ours: alpha 0, which a GeoTIFF colour map does not store) and absent from the QML legends.
"""

from dataclasses import dataclass
from typing import NamedTuple

from ..io.encoding import NODATA

NODATA_RGB = (0, 0, 0)
NONE_GREY = (240, 240, 240)

# -- legends ---------------------------------------------------------------------------------

# The official HRL IMD palette for 0..100 (value = index), transcribed from the IMD colour table.
IMD_RAMP = (
    (240, 240, 240), (255, 237, 195), (253, 232, 190), (251, 227, 186), (250, 222, 181),
    (249, 217, 177), (247, 213, 172), (244, 208, 168), (242, 203, 164), (241, 199, 160),
    (239, 194, 156), (237, 190, 152), (236, 186, 148), (235, 182, 144), (232, 178, 141),
    (230, 174, 137), (228, 170, 134), (227, 166, 130), (225, 162, 127), (223, 158, 123),
    (222, 155, 120), (220, 151, 117), (218, 148, 114), (217, 144, 111), (215, 141, 108),
    (213, 138, 105), (212, 135, 102), (210, 132, 100), (209, 128, 97), (207, 125, 94),
    (205, 122, 92), (204, 120, 89), (202, 117, 87), (201, 114, 84), (199, 111, 82),
    (198, 109, 80), (196, 106, 78), (194, 103, 75), (193, 101, 73), (191, 98, 71),
    (190, 96, 69), (188, 94, 67), (187, 91, 65), (185, 89, 63), (184, 87, 61),
    (182, 84, 59), (181, 82, 58), (180, 80, 56), (178, 78, 54), (177, 76, 52),
    (175, 74, 51), (174, 72, 49), (172, 70, 48), (171, 68, 46), (170, 67, 45),
    (168, 65, 43), (167, 63, 42), (165, 61, 40), (164, 59, 39), (163, 58, 37),
    (161, 56, 36), (160, 55, 35), (159, 53, 34), (157, 51, 32), (156, 50, 31),
    (155, 48, 30), (153, 47, 29), (152, 46, 28), (151, 44, 27), (149, 43, 26),
    (148, 42, 24), (147, 40, 23), (146, 39, 22), (144, 38, 20), (143, 36, 19),
    (142, 35, 19), (141, 34, 19), (139, 33, 18), (138, 32, 17), (137, 31, 16),
    (136, 29, 15), (134, 28, 14), (133, 27, 13), (132, 26, 13), (131, 25, 12),
    (130, 24, 11), (128, 23, 9), (127, 22, 9), (126, 20, 8), (125, 20, 7),
    (124, 19, 7), (123, 19, 6), (121, 18, 6), (120, 17, 6), (119, 16, 5),
    (118, 15, 4), (117, 15, 4), (116, 14, 3), (115, 13, 3), (114, 12, 2),
    (113, 12, 2),
)
IMD_UNCLASSIFIABLE = (254, (153, 153, 153), "unclassifiable")

# Colour entries of the QC definitions' colour checks (value: RGB), 255 aside.
IMD_COLOURS = {0: (240, 240, 240), 1: (255, 237, 195), 50: (175, 74, 51), 100: (113, 12, 2)}
SBU_COLOURS = {0: (240, 240, 240), 1: (251, 255, 214), 30: (255, 221, 0), 70: (255, 178, 0),
               100: (219, 106, 6)}
IBU_COLOURS = {0: (240, 240, 240), 1: (255, 178, 0)}
CHANGE_CLASS_COLOURS = {0: (240, 240, 240), 1: (255, 0, 0), 2: (0, 100, 0), 10: (156, 156, 156),
                        11: (255, 191, 0), 12: (64, 178, 0)}
IBUC_COLOURS = {code: CHANGE_CLASS_COLOURS[code] for code in (0, 1, 2, 10)}
CHANGE_COLOURS = {0: (3, 102, 0), 50: (63, 178, 0), 99: (127, 255, 0), 100: (178, 178, 178),
                  101: (255, 255, 0), 150: (255, 191, 0), 200: (255, 0, 0), 201: (240, 240, 240)}

# ATBD Table 5 codes with HRL IMCC-type labels and the official colours.
CHANGE_CLASSES = tuple((code, CHANGE_CLASS_COLOURS[code], label) for code, label in (
    (0, "unchanged, no imperviousness"),
    (1, "new cover (0 before, > 0 after)"),
    (2, "loss of cover (> 0 before, 0 after)"),
    (10, "unchanged imperviousness"),
    (11, "increased imperviousness"),
    (12, "decreased imperviousness"),
))


def anchored_ramp(anchors):
    """{value: rgb} for every integer from the first to the last anchor, linear between anchors."""
    values = sorted(anchors)
    ramp = {values[0]: tuple(anchors[values[0]])}
    for low, high in zip(values, values[1:]):
        for value in range(low + 1, high + 1):
            weight = (value - low) / (high - low)
            ramp[value] = tuple(int(round(a + (b - a) * weight))
                                for a, b in zip(anchors[low], anchors[high]))
    return ramp


def _percent_legend(ramp, unit="%"):
    return [(value, rgb, f"{value} {unit}") for value, rgb in sorted(ramp.items())]


def _change_label(value):
    if value == 100:
        return "0 (no change)"
    if value == 201:
        return "zero in both years"
    return f"{value - 100:+d} ({'decrease' if value < 100 else 'increase'})"


_LEGENDS = {
    "imd": lambda: _percent_legend(dict(enumerate(IMD_RAMP))) + [IMD_UNCLASSIFIABLE],
    "sbu": lambda: _percent_legend(anchored_ramp(SBU_COLOURS)),
    "ibu": lambda: [(0, IBU_COLOURS[0], "non built-up"), (1, IBU_COLOURS[1], "built-up")],
    "chm": lambda: [(0, NONE_GREY, "no change"), (1, (200, 0, 200), "change (CHM)")],
    "chm_percent": lambda: _percent_legend(anchored_ramp({0: NONE_GREY, 100: (122, 1, 119)}),
                                           "% flagged"),
    "confidence": lambda: _percent_legend(anchored_ramp(
        {50: (215, 25, 28), 75: (255, 255, 191), 100: (26, 150, 65)})),
    "change": lambda: [(value, rgb, _change_label(value))
                       for value, rgb in sorted(anchored_ramp(CHANGE_COLOURS).items())],
    "change_class": lambda: list(CHANGE_CLASSES),
    # the delivered IBUC (EEA definition): Table 5 without 11/12, which it delivers as 10
    "change_class_ibuc": lambda: [(code, rgb, "unchanged built-up (ATBD 10, 11 and 12)" if code == 10
                                   else label) for code, rgb, label in CHANGE_CLASSES
                                  if code in IBUC_COLOURS],
}
LEGENDS = tuple(_LEGENDS)


def legend(kind):
    """[(value, (r, g, b), label), ...] of a legend kind (LEGENDS), nodata (255) excluded."""
    if kind not in _LEGENDS:
        raise ValueError(f"unknown product type {kind!r}; use one of {', '.join(LEGENDS)}")
    return _LEGENDS[kind]()


def class_names(kind):
    """{value: class name} for a raster attribute table: the legend labels plus nodata."""
    names = {value: label for value, _, label in legend(kind)}
    names[NODATA] = "outside area / no data"
    return names


# Long legends drawn in QGIS (styles.py) with a handful of legend entries; the GDAL colour tables
# keep every value's colour.
# LEGEND_RAMPS: an interpolated ramp through labelled anchors, each in its legend colour. The
# change encodings' anchors are the official ones (CHANGE_COLOURS), between which the official
# legend is linear: QGIS draws every value in its official colour (to rounding).
LEGEND_RAMPS = {
    "change": ((0, "-100 (strong decrease)"), (50, "-50"), (99, "-1 (decrease)"), (100, "0 (no change)"),
               (101, "+1 (increase)"), (150, "+50"), (200, "+100 (strong increase)"),
               (201, "no imperviousness in both years")),
}
# LEGEND_CLASSES: classes of values, (last value of the class, label), the ranges following one
# another; each class is drawn in the legend colour of its middle value (project palettes).
LEGEND_CLASSES = {
    "confidence": ((69, "50-69 % (low)"), (89, "70-89 % (medium)"), (100, "90-100 % (high)")),
    "chm_percent": ((0, "0 % flagged"), (25, "1-25 % flagged"), (50, "26-50 % flagged"),
                    (75, "51-75 % flagged"), (100, "76-100 % flagged")),
}


def legend_classes(kind):
    """[(first, last, (r, g, b), label)] of a classed legend: each class in the colour of its
    middle value in the legend."""
    colours = {value: rgb for value, rgb, _ in legend(kind)}
    classes, first = [], min(colours)
    for last, label in LEGEND_CLASSES[kind]:
        classes.append((first, last, colours[(first + last) // 2], label))
        first = last + 1
    return classes


def legend_ramp(kind):
    """[(value, (r, g, b), label)] of the labelled anchors of a ramp legend."""
    colours = {value: rgb for value, rgb, _ in legend(kind)}
    return [(value, colours[value], label) for value, label in LEGEND_RAMPS[kind]]


# -- analysis products -------------------------------------------------------------------------

class Product(NamedTuple):
    """An analysis product: HRL file name pattern ({A}, {B} years, {pair} e.g. 1821), legend kind
    (None for the Float32 layers) and a description."""

    pattern: str
    legend: str
    description: str


# publish parameter name: product
PRODUCTS = {
    "PP_A": Product("PP_{A}_010m.tif", None, "pre-processed features of year A"),
    "PP_B": Product("PP_{B}_010m.tif", None, "pre-processed features of year B"),
    "RMSD": Product("RMSD_{pair}_010m.tif", None, "RMSD of the NDVI models"),
    "CHM": Product("CHM_{pair}_010m.tif", "chm", "change mask"),
    "CHM_20": Product("CHM_{pair}_020m.tif", "chm_percent", "change mask at 20 m (% flagged)"),
    "CHM_100": Product("CHM_{pair}_100m.tif", "chm_percent", "change mask at 100 m (% flagged)"),
    "RIMD": Product("RIMD_{B}_010m.tif", "imd", "raw IMD prediction (ensemble mean)"),
    "RIMD_SD": Product("RIMD_{B}_sd_010m.tif", None, "raw IMD ensemble standard deviation"),
    "IMDCL": Product("IMDCL_{B}_010m.tif", "confidence", "IMD confidence"),
    "RIBUD": Product("RIBUD_{B}_010m.tif", "imd", "raw built-up density (ensemble mean)"),
    "RIBUD_SD": Product("RIBUD_{B}_sd_010m.tif", None, "raw built-up ensemble standard deviation"),
    "IBUCL": Product("IBUCL_{B}_010m.tif", "confidence", "IBU confidence"),
    "IMD_MSK_A": Product("IMD_MSK_{A}_010m.tif", "chm", "sealing mask of year A"),
    "IMD_MSK_B": Product("IMD_MSK_{B}_010m.tif", "chm", "sealing mask of year B"),
    "IMD_B": Product("IMD_{B}_010m.tif", "imd", "imperviousness density"),
    "IMD_B_100": Product("IMD_{B}_100m.tif", "imd", "imperviousness density at 100 m"),
    "IBU_B": Product("IBU_{B}_010m.tif", "ibu", "impervious built-up"),
    "SBU_B": Product("SBU_{B}_100m.tif", "sbu", "share of built-up at 100 m"),
    "IMDC_20": Product("IMDC_{pair}_020m.tif", "change", "IMD real change at 20 m"),
    "IMDCS_20": Product("IMDCS_{pair}_020m.tif", "change", "IMD support change at 20 m"),
    "IMDC_100": Product("IMDC_{pair}_100m.tif", "change", "IMD real change at 100 m"),
    "IMDCS_100": Product("IMDCS_{pair}_100m.tif", "change", "IMD support change at 100 m"),
    "IBUDC_20": Product("IBUDC_{pair}_020m.tif", "change", "IBU real change at 20 m"),
    "IBUDCS_20": Product("IBUDCS_{pair}_020m.tif", "change", "IBU support change at 20 m"),
    "SBUC_100": Product("SBUC_{pair}_100m.tif", "change", "SBU real change at 100 m"),
    "SBUCS_100": Product("SBUCS_{pair}_100m.tif", "change", "SBU support change at 100 m"),
    "IMCC_20": Product("IMCC_{pair}_020m.tif", "change_class", "IMD change classes at 20 m"),
    "IMCCS_20": Product("IMCCS_{pair}_020m.tif", "change_class", "IMD support change classes at 20 m"),
    "IMCC_100": Product("IMCC_{pair}_100m.tif", "change_class", "IMD change classes at 100 m"),
    "IMCCS_100": Product("IMCCS_{pair}_100m.tif", "change_class", "IMD support change classes at 100 m"),
    "IBUC_20": Product("IBUC_{pair}_020m.tif", "change_class", "IBU change classes at 20 m"),
    "IBUCS_20": Product("IBUCS_{pair}_020m.tif", "change_class", "IBU support change classes at 20 m"),
    "SBCC_100": Product("SBCC_{pair}_100m.tif", "change_class", "SBU change classes at 100 m"),
    "SBCCS_100": Product("SBCCS_{pair}_100m.tif", "change_class", "SBU support change classes at 100 m"),
}
# parameter name: HRL file name pattern of the JSON side files
SIDE_FILES = {
    "CALIBRATION": "IMD_calibration_{A}.json",
    "THRESHOLDS": "CHM_{pair}_thresholds.json",
}


def pair_code(year_a, year_b):
    """The HRL two-digit year pair, e.g. 2018, 2021 -> '1821'."""
    return f"{int(year_a) % 100:02d}{int(year_b) % 100:02d}"


def hrl_name(product, year_a, year_b):
    """The HRL file name of a product parameter, e.g. ('IMCC_20', 2018, 2021) -> IMCC_1821_020m.tif."""
    pattern = PRODUCTS[product].pattern if product in PRODUCTS else SIDE_FILES[product]
    return pattern.format(A=int(year_a), B=int(year_b), pair=pair_code(year_a, year_b))


# -- the official EEA deliverables ---------------------------------------------------------------

DELIVERY_EPSG = 3035
DELIVERY_GRID = 1000         # the upper-left corner lies on whole multiples of this (m)
DELIVERY_TILE = 100000       # EEA 100 km tiles; the AOI code names the lower-left corner
RAT_COLUMNS = ("value", "count", "area_km2", "area_perc", "class_name")

STATUS_VALUES = tuple(range(101)) + (NODATA,)
BUILTUP_VALUES = (0, 1, NODATA)
CHANGE_VALUES = tuple(range(202)) + (NODATA,)
# ATBD Table 5, as the IMCC and SBCC definitions list it.
CLASS_VALUES = (0, 1, 2, 10, 11, 12, NODATA)
# Every EEA IBUC definition (2021, 2024) lists only 0, 1, 2, 10 and 255, while ATBD Table 5 (section
# 4.5.4) defines 11 and 12 for IBUC too. The analysis product IBUC keeps Table 5; the delivered
# file follows the EEA: 11 (increase) and 12 (decrease of built-up density) become 10 (unchanged
# built-up: built-up in both years).
IBUC_VALUES = (0, 1, 2, 10, NODATA)
IBUC_RECODE = {11: 10, 12: 10}


@dataclass(frozen=True)
class Generation:
    """The delivery names of one pair of years (SPEC 11)."""

    prefix: str          # "clms_hrlnvlcc" (2018-2021), "clms_nvlcc" (2021-2024 and later)
    year_a: int
    year_b: int
    defined: bool        # the QC tool has product definitions for these names

    def period(self, change):
        return f"c{self.year_a}-{self.year_b}" if change else f"s{self.year_b}"

    def definition_period(self, change):
        """The period as the QC tool's definition files name it (c1821 for 2018-2021)."""
        if change and self.prefix == "clms_hrlnvlcc":
            return f"c{self.year_a % 100:02d}{self.year_b % 100:02d}"
        return self.period(change)

    @property
    def note(self):
        """A line for the delivery's README."""
        if self.defined:
            return (f"Names, classes and colours follow the EEA QC tool's product definitions "
                    f"{self.prefix}_*_{self.period(False)}_*, *_{self.definition_period(True)}_* "
                    f"(eea/copernicus_quality_tools, commit 9a546f8f).")
        return (f"No EEA product definition exists yet for {self.year_a}-{self.year_b}: the files "
                f"follow the 2021-2024 pattern ({self.prefix}_<product>_{self.period(False)}, "
                f"_{self.period(True)}) with these years; the EEA may name them otherwise.")


GENERATIONS = {(2018, 2021): "clms_hrlnvlcc", (2021, 2024): "clms_nvlcc"}


def generation(year_a, year_b):
    """The Generation of YEAR_A/YEAR_B: 2018-2021 and 2021-2024 as the EEA defines them, any
    other pair with the newest pattern (clms_nvlcc) and its own years, not defined."""
    years = (int(year_a), int(year_b))
    prefix = GENERATIONS.get(years, "clms_nvlcc")
    return Generation(prefix, years[0], years[1], years in GENERATIONS)


@dataclass(frozen=True)
class Official:
    """One official product of the QC definitions: <prefix>_<code>_<period>_r<res>m_..."""

    code: str            # e.g. "imd"
    source: str          # the publish parameter (analysis product) it is cut from
    resolution: int      # metres
    change: bool         # change products name the period c<A>-<B>, status products s<B>
    valid_values: tuple
    colours: dict        # the colour check's entries, value -> (r, g, b)
    title: str
    legend_kind: str = None   # the delivered legend, when it differs from the analysis product's
    recode: tuple = ()        # ((analysis value, delivered value), ...): IBUC only

    @property
    def legend(self):
        return self.legend_kind or PRODUCTS[self.source].legend

    def period(self, year_a, year_b):
        return generation(year_a, year_b).period(self.change)

    def definition(self, year_a, year_b):
        """The QC tool's definition of this product, e.g. clms_hrlnvlcc_imcc_c1821_r20m."""
        names = generation(year_a, year_b)
        return f"{names.prefix}_{self.code}_{names.definition_period(self.change)}_r{self.resolution}m"

    def file_stem(self, year_a, year_b, aoi, version=1, release=0):
        """e.g. clms_hrlnvlcc_imd_s2021_r10m_e47n14_03035_v01_r00 (no extension)."""
        return (f"{generation(year_a, year_b).prefix}_{self.code}_{self.period(year_a, year_b)}_"
                f"r{self.resolution}m_{aoi}_{DELIVERY_EPSG:05d}_v{int(version):02d}_r{int(release):02d}")


# code, source, resolution, change, valid values, colour entries (255 black added), title,
# delivered legend, recode
OFFICIAL = tuple(Official(code, source, resolution, change, values,
                          {**colours, NODATA: NODATA_RGB}, title, *delivered)
                 for code, source, resolution, change, values, colours, title, *delivered in (
    ("imd", "IMD_B", 10, False, STATUS_VALUES, IMD_COLOURS, "Imperviousness Density"),
    ("imd", "IMD_B_100", 100, False, STATUS_VALUES, IMD_COLOURS, "Imperviousness Density"),
    ("ibu", "IBU_B", 10, False, BUILTUP_VALUES, IBU_COLOURS, "Impervious Built-up"),
    ("sbu", "SBU_B", 100, False, STATUS_VALUES, SBU_COLOURS, "Share of Built-up"),
    ("imdc", "IMDC_20", 20, True, CHANGE_VALUES, CHANGE_COLOURS, "Imperviousness Density Change"),
    ("imdc", "IMDC_100", 100, True, CHANGE_VALUES, CHANGE_COLOURS, "Imperviousness Density Change"),
    ("imcc", "IMCC_20", 20, True, CLASS_VALUES, CHANGE_CLASS_COLOURS,
     "Imperviousness Change Classification"),
    ("ibuc", "IBUC_20", 20, True, IBUC_VALUES, IBUC_COLOURS,
     "Impervious Built-up Change Classification", "change_class_ibuc", tuple(IBUC_RECODE.items())),
    ("sbuc", "SBUC_100", 100, True, CHANGE_VALUES, CHANGE_COLOURS, "Share of Built-up Change"),
    ("sbcc", "SBCC_100", 100, True, CLASS_VALUES, CHANGE_CLASS_COLOURS,
     "Share of Built-up Change Classification"),
))
