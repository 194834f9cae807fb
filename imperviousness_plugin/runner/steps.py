"""The registry of core calls: algorithm name -> the core function a graph step runs, without QGIS.

The algorithms (imperviousness_plugin/algorithms) call the same core functions with the values
their QGIS parameters resolve to; here the values come from the graph (graph.py) as plain Python
values: files as paths, enums as option names, numbers and booleans as such. A parameter the graph
leaves out gets the core function's own default, which is also the algorithm's default.

`scope` says where a step runs in the tile runner: "tile" on each processing tile's window (with
its halo), "cell" once per EEA 100 km cell (the change mask: its thresholds and patches are per
cell, SPEC 5), "area" once over the whole area (the calibration fitted once; publish).
"""

import datetime
import os
from dataclasses import dataclass, field

from osgeo import gdal, osr

from ..core.change.aggregate import aggregate_raster
from ..core.change.layers import run_builtup, run_change_continuous, run_classify_change
from ..core.errors import ImperviousnessError
from ..core.features.changemask import ChangeMaskOptions, run_changemask
from ..core.features.preprocess import PreprocessOptions, parse_scl_weights, run_preprocess
from ..core.features.rmsd import run_rmsd
from ..core.io.align import run_align_grid
from ..core.io.stac import is_stac_url
from ..core.products.publish import publish
from ..core.status.calibration import run_apply_calibration, run_calibrate
from ..core.status.sealing_mask import SealedSource, run_sealing_mask
from ..core.unet.predict import run_predict, shipped_models


@dataclass
class StepFunction:
    run: object                     # run(parameters, outputs, feedback)
    outputs: dict = field(default_factory=lambda: {"OUTPUT": ".tif"})   # name -> file suffix
    scope: str = "tile"
    window: bool = False            # run(..., read=the task's read bounds)
    publishes: bool = False         # writes into the run's output folder (its files are recorded)


def _number(parameters, name, default):
    value = parameters.get(name)
    return default if value in (None, "") else float(value)


def _date(text):
    return datetime.date.fromisoformat(str(text)) if text else None


def raster_bounds(path):
    """(xmin, ymin, xmax, ymax, crs wkt) of a raster file."""
    dataset = gdal.Open(str(path))
    if dataset is None:
        raise ImperviousnessError(f"Cannot open the raster {path}.")
    x0, px, _, y1, _, py = dataset.GetGeoTransform()
    x1, y0 = x0 + px * dataset.RasterXSize, y1 + py * dataset.RasterYSize
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), dataset.GetProjection()


def preprocess(parameters, outputs, feedback):
    if is_stac_url(str(parameters["INPUT"])):
        raise ImperviousnessError("The tile runner reads Sentinel-2 from folders; fetch a STAC "
                                  "collection first (imperviousness:preprocess with CACHE_FOLDER).")
    options = PreprocessOptions(start_date=_date(parameters.get("START_DATE")),
                                end_date=_date(parameters.get("END_DATE")),
                                pixel_size=_number(parameters, "PIXEL_SIZE", 10.0))
    options.harmonic_order = int(_number(parameters, "HARMONIC_ORDER", options.harmonic_order))
    if parameters.get("SCL_WEIGHTS"):
        options.scl_weights = parse_scl_weights(parameters["SCL_WEIGHTS"])
    if parameters.get("TARGET_CRS"):
        srs = osr.SpatialReference()
        if srs.SetFromUserInput(str(parameters["TARGET_CRS"])) != 0:
            raise ImperviousnessError(f"TARGET_CRS: unknown CRS {parameters['TARGET_CRS']!r}.")
        options.target_crs_wkt = srs.ExportToWkt()
    if parameters.get("EXTENT"):   # a layer (the model passes IMD_A): its bounds and CRS
        options.extent, options.extent_crs_wkt = raster_bounds(parameters["EXTENT"])
    run_preprocess(parameters["INPUT"], outputs["OUTPUT"], options, feedback)


def aligngrid(parameters, outputs, feedback, read):
    """imperviousness:aligngrid in a tile task: onto GRID as in the single run; without GRID onto
    the tile's read window `read`. That window lies on the area grid, which tiling.area_grid pads
    outward to whole kilometres as aligngrid pads the input in the single run: padding the input
    (cut to the window) onto it gives the single run's pixels there. Padding the window itself to
    whole km would move its origin off the area's U-Net layout."""
    nodata = _number(parameters, "NODATA", None)
    if parameters.get("GRID"):
        run_align_grid(parameters["INPUT"], outputs["OUTPUT"], grid_path=parameters["GRID"],
                       feedback=feedback, nodata=nodata)
        return
    pixel = gdal.Open(str(parameters["INPUT"])).GetGeoTransform()[1]
    run_align_grid(parameters["INPUT"], outputs["OUTPUT"], alignment=pixel, bounds=read, feedback=feedback,
                   nodata=nodata)


def rmsd(parameters, outputs, feedback):
    run_rmsd(parameters["INPUT_A"], parameters["INPUT_B"], outputs["OUTPUT"],
             parameters.get("METHOD", "curve"), feedback)


def changemask(parameters, outputs, feedback):
    options = ChangeMaskOptions()
    for name in ("LOWER_PERCENTILE", "UPPER_PERCENTILE", "MIN_SIZE", "LOWER_THRESHOLD", "UPPER_THRESHOLD"):
        if parameters.get(name) not in (None, ""):
            setattr(options, name.lower(), float(parameters[name]))
    run_changemask(parameters["INPUT"], outputs["OUTPUT"], options, outputs.get("OUTPUT_THRESHOLDS"),
                   feedback)


def predict_models(parameters):
    """The .onnx files a predict step runs: MODELS (a list or ';'-separated), else the shipped ones."""
    models = parameters.get("MODELS") or shipped_models(parameters.get("SHIPPED_TARGET", "IMD"))
    if isinstance(models, str):
        models = [path for path in models.split(";") if path]
    return list(models)


def predict(parameters, outputs, feedback):
    run_predict(parameters["INPUT"], predict_models(parameters), outputs["OUTPUT"], output_sd_path=outputs.get("OUTPUT_SD"),
                output_confidence_path=outputs.get("OUTPUT_CONFIDENCE"),
                tta=parameters.get("TTA", "auto"), feedback=feedback)


def sealingmask(parameters, outputs, feedback):
    run_sealing_mask(parameters["IMPERVIOUSNESS"], SealedSource(parameters["CLCPLUS"], "raster"),
                     outputs["OUTPUT"], threshold=_number(parameters, "THRESHOLD", 90.0),
                     combine=parameters.get("COMBINE", "union"), feedback=feedback)


def calibrate(parameters, outputs, feedback):
    run_calibrate(parameters["IMD_A"], parameters["SEALING_MASK_A"], parameters["PP_A"],
                  parameters["IBU_A"], outputs["OUTPUT"], feedback=feedback)


def applycalibration(parameters, outputs, feedback):
    run_apply_calibration(parameters["RAW_IMD"], parameters["SEALING_MASK_B"], parameters["PP_B"],
                          parameters["CALIBRATION"], outputs["OUTPUT"], feedback=feedback)


def builtup(parameters, outputs, feedback):
    run_builtup(parameters["INPUT"], outputs["OUTPUT"], threshold=_number(parameters, "THRESHOLD", 10.0),
                feedback=feedback)


def aggregate(parameters, outputs, feedback):
    style = parameters.get("STYLE", "auto")
    aggregate_raster(parameters["INPUT"], outputs["OUTPUT"], float(parameters["RESOLUTION"]),
                     method=parameters.get("METHOD", "mean"),
                     min_valid_fraction=_number(parameters, "MIN_VALID_FRACTION", 0.5),
                     scale=_number(parameters, "SCALE", 1.0),
                     product=None if style == "none" else style, feedback=feedback)


def changecontinuous(parameters, outputs, feedback):
    run_change_continuous(parameters["STATUS_A"], parameters["STATUS_B"], parameters["CHANGE_MASK"],
                          outputs["OUTPUT"], outputs["OUTPUT_SUPPORT"],
                          resolution=float(parameters.get("RESOLUTION", 20)),
                          binary_status=bool(parameters.get("BINARY_STATUS", False)), feedback=feedback)


def classifychange(parameters, outputs, feedback):
    run_classify_change(parameters["STATUS_A"], parameters["CHANGE"], outputs["OUTPUT"],
                        binary_status=bool(parameters.get("BINARY_STATUS", False)), feedback=feedback)


def publish_products(parameters, outputs, feedback):
    """imperviousness:publish: the HRL product set, report and EEA delivery into OUTPUT_FOLDER."""
    from ..core.products.publish import PRODUCTS, SIDE_FILES
    layers = {name: parameters[name] for name in PRODUCTS if parameters.get(name)}
    side_files = {name: parameters[name] for name in SIDE_FILES if parameters.get(name)}
    reference = {name: parameters[name] for name in ("IMD_A", "IBU_A") if parameters.get(name)}
    models = {}
    for target, raw in (("IMD", "RIMD"), ("IBU", "RIBUD")):
        given = parameters.get(f"MODELS_{target}")
        if given or raw in layers:
            models[target] = list(given) if given else shipped_models(target)
    folder = parameters["OUTPUT_FOLDER"]
    run_parameters = dict(line.split("=", 1) for line in str(parameters.get("RUN_PARAMETERS", "")).splitlines()
                          if "=" in line)
    run_parameters.update({name: os.path.basename(path) for name, path in reference.items()})
    run_parameters["OUTPUT_FOLDER"] = "."
    publish(layers, folder, int(parameters["YEAR_A"]), int(parameters["YEAR_B"]), side_files=side_files,
            models=models, reference=reference, parameters=run_parameters, feedback=feedback,
            delivery_folder=os.path.join(folder, "delivery"), delivery_tiles=parameters.get("DELIVERY_TILES"))


STEPS = {
    "aligngrid": StepFunction(aligngrid, window=True),
    "preprocess": StepFunction(preprocess),
    "rmsd": StepFunction(rmsd),
    "changemask": StepFunction(changemask, {"OUTPUT": ".tif", "OUTPUT_THRESHOLDS": ".json"}, "cell"),
    "predict": StepFunction(predict, {"OUTPUT": ".tif", "OUTPUT_SD": ".tif", "OUTPUT_CONFIDENCE": ".tif"}),
    "sealingmask": StepFunction(sealingmask),
    "calibrate": StepFunction(calibrate, {"OUTPUT": ".json"}, "area"),
    "applycalibration": StepFunction(applycalibration),
    "builtup": StepFunction(builtup),
    "aggregate": StepFunction(aggregate),
    "changecontinuous": StepFunction(changecontinuous, {"OUTPUT": ".tif", "OUTPUT_SUPPORT": ".tif"}),
    "classifychange": StepFunction(classifychange),
    "publish": StepFunction(publish_products, {}, "area", publishes=True),
}


def step_function(algorithm):
    try:
        return STEPS[algorithm]
    except KeyError:
        raise ImperviousnessError(f"The tile runner cannot run imperviousness:{algorithm} "
                                  f"(it runs {', '.join(sorted(STEPS))}).") from None
