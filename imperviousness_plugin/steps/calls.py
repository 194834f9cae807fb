"""Plain parameter values to core arguments, where a step needs more than passing them on.

Shared by the Processing adapters (which first resolve QGIS values: layers to files, CRS to WKT,
extents to bounds) and the tile runner (whose values come from the graph as plain Python values),
so the mapping from parameter names to core options exists once.
"""

import datetime

from osgeo import osr

from ..core.errors import ImperviousnessError
from ..core.features.preprocess import PreprocessOptions, parse_scl_weights
from ..core.io.raster import Grid, open_raster
from ..core.unet.predict import shipped_models
from .catalogue import PREPROCESS


def _date(value):
    if value in (None, ""):
        return None
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


WKT_KEYWORDS = ("PROJCS", "GEOGCS", "GEOCCS", "COMPD_CS", "PROJCRS", "GEOGCRS", "GEODCRS", "COMPOUNDCRS",
                "BOUNDCRS")


def crs_wkt(text):
    """The WKT of a CRS given as a user string ("EPSG:3035", WKT, PROJ), None for empty."""
    if not text:
        return None
    if str(text).lstrip().upper().startswith(WKT_KEYWORDS):   # already WKT: kept as written
        return text
    srs = osr.SpatialReference()
    if srs.SetFromUserInput(str(text)) != 0:
        raise ImperviousnessError(f"{PREPROCESS.TARGET_CRS}: unknown CRS {text!r}.")
    return srs.ExportToWkt()


def preprocess_options(values):
    """PreprocessOptions from the values of PREPROCESS's parameters (PREPROCESS.values(...)):
    dates as dates or ISO text, TARGET_CRS as WKT or any CRS text, EXTENT as
    ((xmin, ymin, xmax, ymax), crs wkt) or None, GRID as a raster file or None; what stacsearch
    lacks keeps the core default."""
    options = PreprocessOptions(start_date=_date(values.get(PREPROCESS.START_DATE)),
                                end_date=_date(values.get(PREPROCESS.END_DATE)),
                                pixel_size=float(values[PREPROCESS.PIXEL_SIZE]))
    options.target_crs_wkt = crs_wkt(values.get(PREPROCESS.TARGET_CRS))
    if values.get(PREPROCESS.EXTENT):
        options.extent, options.extent_crs_wkt = values[PREPROCESS.EXTENT]
    if values.get(PREPROCESS.GRID):   # the grid's CRS and pixels win; its bounds are the extent
        grid = options.grid = Grid.of_dataset(open_raster(values[PREPROCESS.GRID]))
        options.target_crs_wkt, options.pixel_size = grid.crs_wkt, grid.pixel_size
        if options.extent is None:
            options.extent, options.extent_crs_wkt = grid.bounds, grid.crs_wkt
    if values.get(PREPROCESS.HARMONIC_ORDER) is not None:
        options.harmonic_order = int(values[PREPROCESS.HARMONIC_ORDER])
    if values.get(PREPROCESS.SCL_WEIGHTS):
        options.scl_weights = parse_scl_weights(values[PREPROCESS.SCL_WEIGHTS])
    return options


def models_or_shipped(models, target):
    """The .onnx files a prediction runs: `models` (a list, or ';'-separated text), or when none
    are given the ensemble shipped for `target` (IMD or IBU)."""
    if isinstance(models, str):
        models = [path for path in models.split(";") if path]
    return list(models) if models else shipped_models(target)
