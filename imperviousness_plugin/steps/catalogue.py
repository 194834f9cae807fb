"""The step catalogue: every algorithm of the provider (SPEC 3), its parameters, outputs and core
function, without QGIS (what the adapters, graphs, model builder and tile runner read).

Labels and help sentences are the dialogs' and `qgis_process help`'s texts; defaults that the
core functions share are the core's constants, imported, so the core's default and the
algorithm's are one number. Parameter order is the dialogs' order.
"""

from ..core.change import aggregate, layers
from ..core.features import changemask, preprocess, rmsd
from ..core.io.encoding import IBU_THRESHOLD
from ..core.io.stac_http import Limits
from ..core.products.align import DEFAULT_ALIGNMENT
from ..core.products.publish import PRODUCTS
from ..core.status import calibration, sealing_mask
from ..core.unet import confidence, predict, training
from .spec import (Output, Step, boolean, crs, date, enum, extent, file, file_out, files, folder, folder_out,
                   integer, layer, number, raster, raster_out, rasters, string)

ALIGNGRID = Step("aligngrid", core="core.products.align:run_align_grid", parameters=(
    raster("INPUT", "Input layer",
           "The raster to pad, on a north-up grid whose origin is on whole pixels."),
    number("ALIGNMENT", "Alignment (metres)",
           "The edges of the output lie on whole multiples of this distance; the pixel size must "
           "divide it.",
           default=DEFAULT_ALIGNMENT, minimum=0.001, unit="m"),
    raster("GRID", "Pad onto the extent of",
           "A raster on the same pixels that covers the input: the output takes its extent "
           "instead of the ALIGNMENT rule.",
           optional=True),
    number("NODATA", "Nodata for a raster that declares none",
           "The padding value, declared as the output's nodata, when the input declares no nodata; "
           "empty: NaN for floating-point rasters, a refusal for integer ones.",
           optional=True),
    raster_out("OUTPUT", "Aligned layer", "The padded GeoTIFF."),
))
TRAIN_DEFAULTS = training.TrainOptions()   # the training's own defaults
STAC_LIMITS = Limits()   # the defaults of the STAC request limits

# The search and grid parameters preprocess shares with stacsearch (one STAC request).
SCENE_GRID = (
    folder("INPUT", "Sentinel-2 L2A acquisitions (folder) or STAC collection URL",
           "The folder of one year's acquisitions, acquisitions separated by ';', or a STAC "
           "collection URL (<api>/collections/<id>)."),
    number("MAX_CLOUD", "STAC: maximum scene cloud cover (%, empty: no filter)",
           "STAC items with a larger eo:cloud_cover are left out; empty keeps all.", minimum=0.0,
           maximum=100.0, optional=True, unit="%"),
    folder("CACHE_FOLDER", "STAC: cache folder (empty: ~/.cache/imperviousness/stac)",
           "Where the fetched windows are kept, so a later run reads nothing again.",
           optional=True, advanced=True),
    number("HTTP_TIMEOUT", "STAC: timeout of one request (s)",
           "Connect, read and total time of each request to the catalogue or image server.",
           default=STAC_LIMITS.timeout, minimum=1.0, advanced=True, unit="s"),
    integer("MAX_PAGES", "STAC: most search pages",
            "A search with more pages stops with an error naming the catalogue.",
            default=STAC_LIMITS.max_pages, minimum=1, advanced=True),
    integer("MAX_ITEMS", "STAC: most items",
            "A search returning more items stops with an error naming the catalogue.",
            default=STAC_LIMITS.max_items, minimum=1, advanced=True),
    number("SCENE_TIME_BUDGET", "STAC: time budget per scene (s)",
           "Fetching one scene's bands taking longer fails that scene, naming the URL.",
           default=STAC_LIMITS.scene_budget, minimum=1.0, advanced=True, unit="s"),
    date("START_DATE", "Start date", "Acquisitions before this date are left out.", optional=True),
    date("END_DATE", "End date", "Acquisitions after this date are left out.", optional=True),
    extent("EXTENT", "Extent", "The output is clipped to this extent (required with a STAC URL).",
           optional=True),
    crs("TARGET_CRS", "Target CRS (empty: the scenes' CRS)",
        "The output CRS; empty keeps the scenes' CRS.", default="EPSG:3035", optional=True),
    number("PIXEL_SIZE", "Pixel size (CRS units)",
           "The output pixel size in units of the output CRS.",
           default=10.0, minimum=0.001, unit="CRS units"),
)

PREPROCESS = Step("preprocess", core="core.features.preprocess:run_preprocess", parameters=SCENE_GRID + (
    raster("GRID", "Output grid (a raster: its CRS, pixels and extent)",
           "The output takes this raster's grid, overriding TARGET_CRS, PIXEL_SIZE and the "
           "clipping to EXTENT; pixels no scene covers are nodata. The models pass the IMD_A "
           "padded onto the kilometre grid, so that the PP stack needs no padding step.",
           optional=True, advanced=True),
    integer("HARMONIC_ORDER", "NDVI model order N (3N+1 coefficients)",
            "The order N of the NDVI time-series model.", default=3, minimum=1, maximum=10,
            advanced=True),
    string("SCL_WEIGHTS", "Weights of SCL classes 0 to 11",
           "Twelve comma-separated weights, one per SCL class 0 to 11.",
           default=",".join(map(str, preprocess.DEFAULT_SCL_WEIGHTS)), advanced=True),
    raster_out("OUTPUT", "PP stack", "The PP stack GeoTIFF."),
))

STACSEARCH = Step("stacsearch", core="core.io.stac:dry_run", parameters=SCENE_GRID + (
    file_out("OUTPUT", "Scene list",
             "The JSON list of the items that would be read, with the expected bytes.",
             file_filter="JSON files (*.json)"),
), outputs=(
    Output("EXPECTED_BYTES", "number", "Bytes the fetch would read"),
    Output("SCENES", "number", "Scenes found"),
))

RMSD = Step("rmsd", core="core.features.rmsd:run_rmsd", parameters=(
    raster("INPUT_A", "PP stack of year A", "The PP stack of year A."),
    raster("INPUT_B", "PP stack of year B", "The PP stack of year B, on the grid of INPUT_A."),
    enum("METHOD", "Method", "How the two curves are compared, described above.", default=rmsd.DEFAULT_METHOD,
         options=rmsd.METHODS),
    raster_out("OUTPUT", "RMSD", "The RMSD GeoTIFF."),
))

CHANGEMASK = Step("changemask", core="core.features.changemask:run_changemask", parameters=(
    raster("INPUT", "RMSD raster", "RMSD_A_B written by imperviousness:rmsd."),
    number("LOWER_PERCENTILE", "Lower threshold (percentile of the RMSD, %)",
           "The percentile of a tile's RMSD that starts a patch.",
           default=changemask.DEFAULT_LOWER_PERCENTILE, minimum=0.0,
           maximum=100.0, advanced=True, unit="%"),
    number("UPPER_PERCENTILE", "Upper threshold (percentile of the RMSD, %)",
           "The percentile of a tile's RMSD that one pixel of a kept patch must reach.",
           default=changemask.DEFAULT_UPPER_PERCENTILE, minimum=0.0, maximum=100.0, advanced=True, unit="%"),
    integer("MIN_SIZE", "Minimum patch size (pixels)",
            "Kept patches smaller than this many pixels are removed.",
            default=changemask.DEFAULT_MIN_SIZE, minimum=1,
            advanced=True, unit="px"),
    number("LOWER_THRESHOLD",
           "Absolute lower threshold (RMSD, NDVI units; replaces the percentile)",
           "An RMSD value used as the lower threshold in every tile instead of the percentile.",
           optional=True, advanced=True, unit="NDVI"),
    number("UPPER_THRESHOLD",
           "Absolute upper threshold (RMSD, NDVI units; replaces the percentile)",
           "An RMSD value used as the upper threshold in every tile instead of the percentile.",
           optional=True, advanced=True, unit="NDVI"),
    raster_out("OUTPUT", "Change mask", "The CHM GeoTIFF."),
    file_out("OUTPUT_THRESHOLDS", "Thresholds per tile",
             "The thresholds of every tile as a JSON or CSV file (by its extension).",
             file_filter="JSON (*.json);;CSV (*.csv)", optional=True),
))

PREDICT = Step("predict", core="core.unet.predict:run_predict", parameters=(
    raster("INPUT", "PP stack", "The PP stack written by imperviousness:preprocess."),
    files("MODELS", "Models (.onnx; empty: the shipped ensemble)",
          "The .onnx models of the ensemble, all of one target.", optional=True),
    enum("SHIPPED_TARGET", "Shipped ensemble to use when MODELS is empty",
         "The shipped ensemble used when MODELS is empty.", default="IMD", options=("IMD", "IBU")),
    enum("TTA", "Test-time augmentation",
         "The flipped and rotated variants of each tile added as predictions.", default="auto",
         options=predict.TTA_MODES, advanced=True),
    integer("BATCH_SIZE", "Tiles per ONNX Runtime call (0: automatic, 1 on CPU, 8 on GPU)",
            "The number of tiles per ONNX Runtime call, 0 for automatic.", default=0, minimum=0,
            maximum=64, advanced=True),
    integer("THREADS", "Threads (0: one per core)",
            "The number of ONNX Runtime threads, 0 for one per core.", default=0, minimum=0,
            maximum=256, advanced=True),
    raster_out("OUTPUT", "Raw density (RIMD / RIBUD)", "The raw density GeoTIFF."),
    raster_out("OUTPUT_SD", "Ensemble standard deviation",
               "The ensemble's standard deviation GeoTIFF.", optional=True),
    raster_out("OUTPUT_CONFIDENCE", "Confidence (IMDCL / IBUCL)", "The confidence GeoTIFF.",
               optional=True),
))

TRAINMODEL = Step("trainmodel", core="core.unet.training:run_train_model", parameters=(
    raster("INPUT", "PP stack of year A", "The PP stack of year A the model learns from."),
    layer("REFERENCE", "Reference (IMD of year A, or building footprints raster / polygons)",
          "The reference of year A for TARGET, described above."),
    enum("TARGET", "Target", "What the model predicts: imperviousness density or built-up share.",
         default="IMD", options=training.TARGETS),
    raster("CLCPLUS", "CLCplus Backbone of year A (IMD only, optional)",
           "The CLCplus Backbone of year A, removing reference pixels it contradicts (IMD only).",
           optional=True),
    file("INIT_MODEL", "Initial model (.onnx, transfer learning)",
         "An .onnx model of this plugin to start from (transfer learning).", extension="onnx",
         optional=True),
    integer("STEPS", "Training steps", "The number of optimiser steps.", default=TRAIN_DEFAULTS.steps, minimum=0),
    integer("PATCH_SIZE", "Patch size (px, multiple of 8)",
            "The side of the square training patches in pixels, a multiple of 8.",
            default=TRAIN_DEFAULTS.patch_size, minimum=16, maximum=512, advanced=True, unit="px"),
    integer("BATCH_SIZE", "Patches per step", "The number of patches per optimiser step.",
            default=TRAIN_DEFAULTS.batch_size, minimum=1, maximum=256, advanced=True),
    number("LEARNING_RATE", "Learning rate", "The initial learning rate of Adam.",
           default=TRAIN_DEFAULTS.learning_rate, minimum=1e-06, maximum=1.0, advanced=True),
    integer("SEED", "Random seed",
            "The seed of every random choice, so that a run can be repeated.", default=TRAIN_DEFAULTS.seed,
            advanced=True),
    integer("MEMBERS", "Ensemble members",
            "The number of networks trained and written as an ensemble (ATBD: up to 10).",
            default=TRAIN_DEFAULTS.members, minimum=1, maximum=10),
    integer("MAX_PATCHES", "Training patches per member (at most)",
            "The most training windows drawn and read per member; memory grows with it, not with the area.",
            default=TRAIN_DEFAULTS.max_patches, minimum=1, maximum=5000, advanced=True),
    enum("DEVICE", "Device", "Where PyTorch trains: auto (a CUDA GPU when there is one), cpu or cuda.",
         default=TRAIN_DEFAULTS.device, options=training.DEVICES, advanced=True),
    file_out("OUTPUT", "Model",
             "The trained .onnx model; with several members <name>_m1.onnx .. _mN.onnx beside it.",
             file_filter="ONNX model (*.onnx)"),
), outputs=(
    Output("OUTPUT_MEMBERS", "layers", "Ensemble members (.onnx)"),
    Output("VALIDATION_MAE_PP", "number", "Validation MAE (pp)"),
    Output("VALIDATION_F1_AT_10", "number", "Validation F1 at 10 %"),
    Output("HELD_OUT_MAE_PP", "number", "Held-out MAE of the ensemble (pp)"),
    Output("HELD_OUT_F1_AT_10", "number", "Held-out F1 at 10 % of the ensemble"),
    Output("BASELINE_MAE_PP", "number", "Held-out MAE of the baseline (pp)"),
    Output("BASELINE_F1_AT_10", "number", "Held-out F1 at 10 % of the baseline"),
))

SEALINGMASK = Step("sealingmask", core="core.status.sealing_mask:run_sealing_mask", parameters=(
    raster("IMPERVIOUSNESS", "Imperviousness (IMD_A or raw prediction RIMD_B, 0..100)",
           "The imperviousness layer whose density enters the mask."),
    layer("CLCPLUS", "CLCplus Backbone or other sealed-class layer (raster or polygons)",
          "The sealed-class layer: a raster of class codes or a polygon layer.",
          layer_types=("raster", "polygon")),
    string("SEALED_VALUES", "Sealed class code(s): codes, ranges a-b, patterns like 1*",
           "The class codes of the sealed class: codes, ranges and patterns.",
           default=sealing_mask.DEFAULT_SEALED_VALUES),
    string("SEALED_FIELD",
           "Field holding the class code (polygon layers; empty: every polygon is sealed)",
           "The attribute holding the class code of a polygon layer.", default="", optional=True),
    number("THRESHOLD", "Density joining the mask under union (percent of IMPERVIOUSNESS)",
           "Under union, pixels of at least this density join the sealed class in the mask.",
           default=sealing_mask.DEFAULT_THRESHOLD, minimum=0.001, maximum=100.0, advanced=True, unit="%"),
    number("OUTLINE_MIN", "Minimum density of the imperviousness outline (percent)",
           "Under intersection and outline, the density from which a pixel is inside the "
           "outline.",
           default=sealing_mask.DEFAULT_OUTLINE_MIN, minimum=0.0, maximum=100.0, advanced=True, unit="%"),
    enum("COMBINE", "Combination of density and sealed class",
         "How density and sealed class combine into the mask (union, intersection, outline).",
         default=sealing_mask.DEFAULT_COMBINE,
         options=sealing_mask.COMBINE_MODES),
    number("SEALED_SHARE", "Minimum share of a pixel in the sealed class (percent)",
           "The share of a pixel's area in the sealed class from which it counts as sealed.",
           default=sealing_mask.DEFAULT_SEALED_SHARE, minimum=0.001, maximum=100.0, advanced=True, unit="%"),
    raster_out("OUTPUT", "Sealing mask", "The sealing mask GeoTIFF."),
), outputs=(
    Output("MASK_PIXELS", "number", "Pixels in the mask"),
))

CALIBRATE = Step("calibrate", core="core.status.calibration:run_calibrate", parameters=(
    raster("IMD_A", "IMD of year A (0..100)", "The IMD product of year A."),
    raster("SEALING_MASK_A", "Sealing mask of year A",
           "The sealing mask of year A, from imperviousness:sealingmask with IMD_A."),
    raster("PP_A", "PP stack of year A (with NDVI_P0)",
           "The PP stack of year A, whose band NDVI_P0 is used."),
    raster("IBU_A", "IBU of year A (0/1)",
           "The IBU product of year A, selecting the high-density pixels."),
    number("SAMPLE_SPACING", "Sampling grid spacing (metres, multiple of the pixel size)",
           "The spacing of the regression's sampling grid in metres.",
           default=calibration.DEFAULT_SAMPLE_SPACING, minimum=0.001,
           advanced=True, unit="m"),
    number("HIGH_DENSITY_PERCENTILE",
           "Percentile of IMD_A in IBU_A giving the high-density maximum (%)",
           "The percentile P of IMD_A over the built-up pixels giving the maximum M.",
           default=calibration.DEFAULT_HIGH_DENSITY_PERCENTILE, minimum=0.001, maximum=100.0, advanced=True, unit="%"),
    integer("MIN_SAMPLES", "Minimum number of samples for the regression",
            "The fewest samples the regression accepts.",
            default=calibration.DEFAULT_MIN_SAMPLES, minimum=3, advanced=True),
    file_out("OUTPUT", "Calibration file", "The calibration JSON file.",
             file_filter="JSON files (*.json)"),
), outputs=(
    Output("INTERCEPT", "number", "Regression intercept a"),
    Output("SLOPE", "number", "Regression slope b"),
    Output("R_SQUARED", "number", "R squared of the regression"),
    Output("RESIDUAL_SD", "number", "Residual SD (percent)"),
    Output("SAMPLES", "number", "Samples on the sampling grid"),
    Output("HIGH_DENSITY_MAX", "number", "High-density maximum M"),
    Output("NEW_MINIMUM", "number", "New minimum m"),
))

APPLYCALIBRATION = Step("applycalibration", core="core.status.calibration:run_apply_calibration", parameters=(
    raster("RAW_IMD", "Raw IMD prediction of year B (RIMD)", "The raw prediction RIMD of year B."),
    raster("SEALING_MASK_B", "Sealing mask of year B",
           "The sealing mask of year B, from imperviousness:sealingmask with RAW_IMD."),
    raster("PP_B", "PP stack of year B (with NDVI_P0)",
           "The PP stack of year B, whose band NDVI_P0 is used."),
    file("CALIBRATION", "Calibration file (JSON)",
         "The calibration JSON file written by imperviousness:calibrate.", extension="json"),
    raster_out("OUTPUT", "IMD of year B", "The IMD GeoTIFF of year B."),
))

BUILTUP = Step("builtup", core="core.status.builtup:run_builtup", parameters=(
    raster("INPUT", "RIBUD (density 0..100)",
           "The raw built-up density RIBUD written by imperviousness:predict."),
    number("THRESHOLD", "Threshold (percent; built-up when RIBUD >= threshold)",
           "The density in percent from which a pixel is built-up.", default=IBU_THRESHOLD, minimum=0.0,
           maximum=100.0, unit="%"),
    raster_out("OUTPUT", "IBU", "The IBU GeoTIFF."),
))

CONFIDENCE = Step("confidence", core="core.unet.confidence:run_confidence", parameters=(
    rasters("PREDICTIONS", "Ensemble member predictions",
            "One raster per ensemble member, on one grid.", optional=True),
    raster("INPUT_SD", "SD of the binarised predictions (0..0.5)",
           "The population SD of the members' binarised predictions, instead of PREDICTIONS.",
           optional=True),
    number("THRESHOLD", "Binarisation threshold (percent)",
           "The density in percent from which a member's prediction counts as 1.",
           default=confidence.DEFAULT_THRESHOLD,
           minimum=0.0, maximum=100.0, advanced=True, unit="%"),
    raster_out("OUTPUT", "Confidence", "The confidence GeoTIFF."),
))

# STYLE options: "<core.products.styles product key> (explanation)"; "auto" and "none" are special.
AGGREGATE_STYLES = ("auto (mean_change: change legend; otherwise the input's colour table)",
                    "imd (IMD 0..100, official HRL palette)",
                    "sbu (SBU 0..100, share of built-up)",
                    "chm_percent (CHM at R 0..100, % of pixels flagged)",
                    "change (change 0..201, change + 100)",
                    "none")
AGGREGATE = Step("aggregate", core="core.change.aggregate:aggregate_raster", parameters=(
    raster("INPUT", "Input layer (10 m)",
           "The layer to aggregate, aligned to multiples of its pixel size."),
    enum("METHOD", "Method", "The aggregation rule, described above.", default="mean",
         options=aggregate.METHODS),
    number("RESOLUTION", "Output resolution R (metres, multiple of the input pixel size)",
           "The output cell size in metres, a whole multiple of the input pixel size.",
           default=100.0, minimum=0.001, unit="m"),
    number("MIN_VALID_FRACTION", "Minimum fraction of valid pixels per cell (0..1, mean rules)",
           "The share of valid pixels a cell needs under the mean rules, else it is nodata.",
           default=aggregate.DEFAULT_MIN_VALID_FRACTION, minimum=0.0, maximum=1.0, advanced=True),
    number("SCALE", "Scale factor applied before aggregating",
           "Multiplies the values before aggregating (> 0; 1 for mean_change): 100 turns a 0/1 "
           "layer into a percentage, e.g. SBU = mean of IBU x 100 at 100 m, CHM at R.",
           default=1.0, minimum=1e-09, advanced=True),
    enum("STYLE", "Legend (colour table and QML style)",
         "The colour table and the QML style written beside the output.", default="auto",
         options=AGGREGATE_STYLES),
    raster_out("OUTPUT", "Aggregated layer", "The aggregated GeoTIFF."),
))

CHANGECONTINUOUS = Step("changecontinuous", core="core.change.layers:run_change_continuous", parameters=(
    raster("STATUS_A", "Status of year A (10 m)",
           "The status layer of year A (IMD or IBU) at 10 m."),
    raster("STATUS_B", "Status of year B (10 m)",
           "The status layer of year B, of the same kind as STATUS_A."),
    raster("CHANGE_MASK", "Change mask CHM (10 m, 0/1)",
           "The change mask written by imperviousness:changemask."),
    number("RESOLUTION", "Output resolution R (metres)",
           "The output cell size in metres, a whole multiple of the pixel size.",
           default=float(layers.DEFAULT_CHANGE_RESOLUTION),
           minimum=0.001, unit="m"),
    boolean("BINARY_STATUS", "Status layers are binary 0/1 (IBU): count as 0/100 %",
            "Whether the status layers are 0/1 built-up layers, counted as 0/100 %.",
            default=False),
    number("LOSS_FACTOR", "Loss factor (smallest real decrease, percentage points)",
           "The smallest decrease in percentage points that counts as real change.",
           default=layers.DEFAULT_LOSS_FACTOR,
           minimum=0.0, advanced=True, unit="pp"),
    number("MIN_VALID_FRACTION", "Minimum fraction of valid pixels per cell (0..1)",
           "The share of valid pixels a cell needs, else it is nodata.",
           default=aggregate.DEFAULT_MIN_VALID_FRACTION, minimum=0.0,
           maximum=1.0, advanced=True),
    raster_out("OUTPUT", "Real change", "The real change GeoTIFF (IMDC, IBUDC, SBUC)."),
    raster_out("OUTPUT_SUPPORT", "Support change",
               "The support change GeoTIFF (IMDCS, IBUDCS, SBUCS)."),
    raster_out("OUTPUT_TOTAL", "Total change", "The total change GeoTIFF, real + support.",
               optional=True),
))

CLASSIFYCHANGE = Step("classifychange", core="core.change.layers:run_classify_change", parameters=(
    raster("STATUS_A", "Status of year A (10 m or at R)",
           "The status layer of year A at 10 m or already at R."),
    raster("CHANGE", "Change layer at R (change + 100, 201 = zero in both years)",
           "A change layer written by imperviousness:changecontinuous."),
    boolean("BINARY_STATUS", "Status is binary 0/1 (IBU): count as 0/100 %",
            "Whether the status is a 0/1 built-up layer, counted as 0/100 %.", default=False),
    number("MIN_VALID_FRACTION", "Minimum fraction of valid status pixels per cell (0..1)",
           "The share of valid status pixels a cell needs when STATUS_A is aggregated.",
           default=aggregate.DEFAULT_MIN_VALID_FRACTION, minimum=0.0, maximum=1.0, advanced=True),
    raster_out("OUTPUT", "Change classes", "The change classes GeoTIFF."),
))

# The product parameters are named after the products (core.products.publish.PRODUCTS).
PUBLISH = Step("publish", core="core.products.publish:publish", parameters=tuple(
    raster(name, f"{description} ({pattern})", f"The run's layer published as {pattern}.", optional=True)
    for name, (pattern, _, description) in PRODUCTS.items()) + (
    file("CALIBRATION", "IMD calibration file (JSON)",
         "The calibration file written by imperviousness:calibrate, copied and reported.",
         extension="json", optional=True),
    file("THRESHOLDS", "Change-mask thresholds (JSON)",
         "The per-tile thresholds written by imperviousness:changemask, copied and reported.",
         extension="json", optional=True),
    raster("IMD_A", "IMD of year A (statistics only)",
           "The IMD of year A, read for the year-A statistics only.", optional=True),
    raster("IBU_A", "IBU of year A (statistics only)",
           "The IBU of year A, read for the year-A statistics only.", optional=True),
    files("MODELS_IMD", "IMD models used (.onnx; provenance)",
          "The IMD models that ran, recorded with their provenance.", optional=True),
    files("MODELS_IBU", "IBU models used (.onnx; provenance)",
          "The IBU models that ran, recorded with their provenance.", optional=True),
    integer("YEAR_A", "Year A", "The first reference year, used in the file names.", default=2018,
            minimum=1900),
    integer("YEAR_B", "Year B", "The second reference year, used in the file names.", default=2021,
            minimum=1900),
    string("RUN_PARAMETERS", "Run parameters for the report (JSON or NAME=value lines)",
           "The run's parameters recorded in the report, as JSON or NAME=value lines.",
           optional=True, advanced=True),
    folder("OUTPUT_FOLDER", "Output folder (created when missing)",
           "The folder receiving the products, styles and report."),
    boolean("DELIVERY", "Write the official EEA delivery",
            "Also write the official EEA delivery (per 100 km tile, LZW, RAT, XML, zip).",
            default=True, optional=True),
    folder("DELIVERY_FOLDER", "EEA delivery folder (default: OUTPUT_FOLDER/delivery)",
           "The folder receiving the delivery zips; empty: OUTPUT_FOLDER/delivery.", optional=True),
    integer("DELIVERY_VERSION", "Delivery version (vNN of the file names)",
            "The version number vNN in the delivery file names.", default=1, minimum=1, maximum=99,
            optional=True, advanced=True),
    integer("DELIVERY_RELEASE", "Delivery release (rNN of the file names)",
            "The release number rNN in the delivery file names.", default=0, minimum=0, maximum=99,
            optional=True, advanced=True),
), outputs=(
    Output("OUTPUT_FOLDER", "folder", "Product folder"),
    Output("DELIVERY_FOLDER", "folder", "EEA delivery folder"),
    Output("REPORT", "file", "Report (HTML)"),
))

RUNTILES = Step("runtiles", core="runner:run_tiles", parameters=(
    folder("S2_A", "Sentinel-2 L2A of year A (folder)",
           "The folder of the year's acquisitions, readable by every worker."),
    folder("S2_B", "Sentinel-2 L2A of year B (folder)",
           "The folder of the year's acquisitions, readable by every worker."),
    integer("YEAR_A", "Year A", "The reference year.", default=2018),
    integer("YEAR_B", "Year B", "The reference year.", default=2021),
    raster("IMD_A", "IMD_A", "As in the model imperviousness:hrl_imperviousness."),
    raster("IBU_A", "IBU_A", "As in the model imperviousness:hrl_imperviousness."),
    raster("CLCPLUS_A", "CLCPLUS_A", "As in the model imperviousness:hrl_imperviousness."),
    raster("CLCPLUS_B", "CLCPLUS_B", "As in the model imperviousness:hrl_imperviousness."),
    files("MODELS_IMD", "MODELS_IMD (.onnx; empty: shipped)",
          "U-Net models; empty: the shipped ensemble.", optional=True),
    files("MODELS_IBU", "MODELS_IBU (.onnx; empty: shipped)",
          "U-Net models; empty: the shipped ensemble.", optional=True),
    string("TILES", "EEA 100 km tiles",
           "Comma-separated EEA tile codes such as e47n14; empty: EXTENT.", optional=True),
    extent("EXTENT", "Extent", "The area when TILES is empty; empty: the whole IMD_A.",
           optional=True),
    number("TILE_SIZE", "Processing tile size (m)",
           "A multiple of 100 m that divides 100 km: 100000 (EEA cells), 10000, 1000, ...",
           default=100000.0, minimum=100.0, unit="m"),
    number("HALO", "Extra halo (m)",
           "Read beyond what the U-Net layout needs (at least one U-Net tile, whole strides).",
           default=0.0, minimum=0.0, unit="m"),
    string("SCHEDULER", "Dask scheduler",
           "The address (tcp://host:8786) of a running scheduler; empty: a LocalCluster.",
           optional=True),
    integer("WORKERS", "LocalCluster workers",
            "Worker processes of the LocalCluster (one thread each).", default=2, minimum=1),
    integer("RETRIES", "Retries per task",
            "How often a failing task is retried before it is reported.", default=2, minimum=0),
    boolean("CALIBRATION_PER_TILE", "Calibration per tile",
            "Fit the IMD calibration on each processing tile's pixels instead of once over the "
            "area (for areas whose land cover differs strongly between tiles).",
            default=False),
    folder_out("OUTPUT_FOLDER", "Output folder",
               "Tiles, mosaics, products, report, delivery and manifest.json."),
), outputs=(
    Output("MOSAIC_FOLDER", "folder", "Mosaics (VRT)"),
))


# The inputs of the shipped models (tools/build_models.py adds them; graph.py reads them as
# param(MODEL.S2_A)). Labels are the full model's; a model may word one differently.
MODEL = Step("models", parameters=(
    folder("S2_A", "Sentinel-2 L2A of year A: folder, or STAC collection URL", ""),
    folder("S2_B", "Sentinel-2 L2A of year B: folder, or STAC collection URL", ""),
    integer("YEAR_A", "Year A (reference year of IMD_A, IBU_A)", "", default=2018),
    integer("YEAR_B", "Year B (new status year)", "", default=2021),
    raster("PP_A", "PP stack of year A", ""),
    raster("PP_B", "PP stack of year B", ""),
    raster("IMD_A", "IMD of year A (10 m, 0..100)", ""),
    raster("IBU_A", "IBU of year A (10 m, 0/1)", ""),
    raster("CLCPLUS_A", "CLCplus Backbone of year A", ""),
    raster("CLCPLUS_B", "CLCplus Backbone of year B", ""),
    raster("IMD_B", "IMD of year B (10 m)", ""),
    raster("IBU_B", "IBU of year B (10 m)", ""),
    files("MODELS_IMD", "IMD U-Net models (.onnx; empty: the shipped ensemble)", "", optional=True),
    files("MODELS_IBU", "IBU U-Net models (.onnx; empty: the shipped ensemble)", "", optional=True),
    integer("TRAIN_STEPS", "Training steps per model", "", default=600, minimum=1),
    integer("TRAIN_PATCH_SIZE", "Training patch size (px, multiple of 8)", "",
    default=128, minimum=16, unit="px"),
    file("INIT_MODEL_IMD", "Start the IMD model from this .onnx (transfer learning)", "", extension="onnx",
         optional=True),
    file("INIT_MODEL_IBU", "Start the IBU model from this .onnx (transfer learning)", "", extension="onnx",
         optional=True),
    folder("OUTPUT_FOLDER", "Output folder (HRL products, styles and report)", ""),
))


# Workflow order (the Toolbox and the README's algorithm table follow it).
STEPS = {step.id: step for step in (
    ALIGNGRID, PREPROCESS, STACSEARCH, RMSD, CHANGEMASK, PREDICT, TRAINMODEL, SEALINGMASK, CALIBRATE,
    APPLYCALIBRATION, BUILTUP, CONFIDENCE, AGGREGATE, CHANGECONTINUOUS, CLASSIFYCHANGE, PUBLISH, RUNTILES)}


def step(algorithm):
    """The catalogue entry of an algorithm id ("aggregate" or "imperviousness:aggregate")."""
    try:
        return STEPS[algorithm.split(":")[-1]]
    except KeyError:
        raise KeyError(f"no algorithm imperviousness:{algorithm}; the provider has {', '.join(STEPS)}") from None
