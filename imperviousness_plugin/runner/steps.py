"""The registry of core calls: algorithm name -> the core function a graph step runs, without QGIS.

The algorithms (imperviousness_plugin/algorithms) call the same core functions with the values
their QGIS parameters resolve to; here the values come from the graph (graph.py) as plain Python
values: files as paths, enums as option names, numbers and booleans as such. Every step reads them
through its catalogue entry (steps/catalogue.py): a parameter the graph leaves out gets the
catalogue's default, which is the algorithm's and the core function's default.

`scope` says where a step runs in the tile runner: "tile" on each processing tile's window (with
its halo), "cell" once per EEA 100 km cell (the change mask: its thresholds and patches are per
cell, SPEC 5), "area" once over the whole area (the calibration fitted once; publish).
"""

import os
from dataclasses import dataclass, field

from osgeo import gdal

from ..core.change.aggregate import aggregate_raster
from ..core.change.layers import run_change_continuous, run_classify_change
from ..core.errors import ImperviousnessError
from ..core.features.changemask import ChangeMaskOptions, run_changemask
from ..core.features.preprocess import run_preprocess
from ..core.features.rmsd import run_rmsd
from ..core.products.align import run_align_grid
from ..core.io.stac import is_stac_url
from ..core.products.publish import publish
from ..core.status.builtup import run_builtup
from ..core.status.calibration import run_apply_calibration, run_calibrate
from ..core.status.sealing_mask import SealedSource, run_sealing_mask
from ..core.products.publish import PRODUCTS, SIDE_FILES
from ..core.unet.predict import run_predict
from ..steps.calls import models_or_shipped, preprocess_options
from ..steps.catalogue import (AGGREGATE, ALIGNGRID, APPLYCALIBRATION, BUILTUP, CALIBRATE, CHANGECONTINUOUS,
                               CHANGEMASK, CLASSIFYCHANGE, PREDICT, PREPROCESS, PUBLISH, RMSD, SEALINGMASK)


@dataclass
class StepFunction:
    run: object                     # run(parameters, outputs, feedback)
    outputs: dict = field(default_factory=dict)   # name -> file suffix
    scope: str = "tile"
    window: bool = False            # run(..., read=the task's read bounds)
    publishes: bool = False         # writes into the run's output folder (its files are recorded)


def raster_bounds(path):
    """(xmin, ymin, xmax, ymax, crs wkt) of a raster file."""
    dataset = gdal.Open(str(path))
    if dataset is None:
        raise ImperviousnessError(f"Cannot open the raster {path}.")
    x0, px, _, y1, _, py = dataset.GetGeoTransform()
    x1, y0 = x0 + px * dataset.RasterXSize, y1 + py * dataset.RasterYSize
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), dataset.GetProjection()


def preprocess(parameters, outputs, feedback):
    values = PREPROCESS.values(parameters)
    if is_stac_url(str(values[PREPROCESS.INPUT])):
        raise ImperviousnessError("The tile runner reads Sentinel-2 from folders; fetch a STAC "
                                  "collection first (imperviousness:preprocess with CACHE_FOLDER).")
    if values[PREPROCESS.EXTENT]:   # a layer (the model passes IMD_A): its bounds and CRS
        values[PREPROCESS.EXTENT] = raster_bounds(values[PREPROCESS.EXTENT])
    run_preprocess(values[PREPROCESS.INPUT], outputs[PREPROCESS.OUTPUT], preprocess_options(values), feedback)


def aligngrid(parameters, outputs, feedback, read):
    """imperviousness:aligngrid in a tile task: onto GRID as in the single run; without GRID onto
    the tile's read window `read`. That window lies on the area grid, which tiling.area_grid pads
    outward to whole kilometres as aligngrid pads the input in the single run: padding the input
    (cut to the window) onto it gives the single run's pixels there. Padding the window itself to
    whole km would move its origin off the area's U-Net layout."""
    values = ALIGNGRID.values(parameters)
    if values[ALIGNGRID.GRID]:
        run_align_grid(values[ALIGNGRID.INPUT], outputs[ALIGNGRID.OUTPUT], grid_path=values[ALIGNGRID.GRID],
                       feedback=feedback, nodata=values[ALIGNGRID.NODATA])
        return
    pixel = gdal.Open(str(values[ALIGNGRID.INPUT])).GetGeoTransform()[1]
    run_align_grid(values[ALIGNGRID.INPUT], outputs[ALIGNGRID.OUTPUT], alignment=pixel, bounds=read,
                   feedback=feedback, nodata=values[ALIGNGRID.NODATA])


def rmsd(parameters, outputs, feedback):
    values = RMSD.values(parameters)
    run_rmsd(values[RMSD.INPUT_A], values[RMSD.INPUT_B], outputs[RMSD.OUTPUT], values[RMSD.METHOD], feedback)


def changemask(parameters, outputs, feedback):
    values = CHANGEMASK.values(parameters)
    options = ChangeMaskOptions()
    for name in (CHANGEMASK.LOWER_PERCENTILE, CHANGEMASK.UPPER_PERCENTILE, CHANGEMASK.MIN_SIZE,
                 CHANGEMASK.LOWER_THRESHOLD, CHANGEMASK.UPPER_THRESHOLD):
        setattr(options, name.lower(), values[name])   # the option fields are named after the parameters
    run_changemask(values[CHANGEMASK.INPUT], outputs[CHANGEMASK.OUTPUT], options,
                   outputs.get(CHANGEMASK.OUTPUT_THRESHOLDS), feedback)


def predict_models(parameters):
    """The .onnx files a predict step runs: MODELS (a list or ';'-separated), else the shipped ones."""
    values = PREDICT.values(parameters)
    return models_or_shipped(values[PREDICT.MODELS], values[PREDICT.SHIPPED_TARGET])


def predict(parameters, outputs, feedback):
    values = PREDICT.values(parameters)
    run_predict(values[PREDICT.INPUT], predict_models(parameters), outputs[PREDICT.OUTPUT],
                output_sd_path=outputs.get(PREDICT.OUTPUT_SD),
                output_confidence_path=outputs.get(PREDICT.OUTPUT_CONFIDENCE),
                tta=values[PREDICT.TTA], feedback=feedback)


def sealingmask(parameters, outputs, feedback):
    values = SEALINGMASK.values(parameters)
    run_sealing_mask(values[SEALINGMASK.IMPERVIOUSNESS], SealedSource(values[SEALINGMASK.CLCPLUS], "raster"),
                     outputs[SEALINGMASK.OUTPUT], threshold=values[SEALINGMASK.THRESHOLD],
                     combine=values[SEALINGMASK.COMBINE], feedback=feedback)


def calibrate(parameters, outputs, feedback):
    values = CALIBRATE.values(parameters)
    run_calibrate(values[CALIBRATE.IMD_A], values[CALIBRATE.SEALING_MASK_A], values[CALIBRATE.PP_A],
                  values[CALIBRATE.IBU_A], outputs[CALIBRATE.OUTPUT], feedback=feedback)


def applycalibration(parameters, outputs, feedback):
    values = APPLYCALIBRATION.values(parameters)
    run_apply_calibration(values[APPLYCALIBRATION.RAW_IMD], values[APPLYCALIBRATION.SEALING_MASK_B],
                          values[APPLYCALIBRATION.PP_B], values[APPLYCALIBRATION.CALIBRATION],
                          outputs[APPLYCALIBRATION.OUTPUT], feedback=feedback)


def builtup(parameters, outputs, feedback):
    values = BUILTUP.values(parameters)
    run_builtup(values[BUILTUP.INPUT], outputs[BUILTUP.OUTPUT], threshold=values[BUILTUP.THRESHOLD],
                feedback=feedback)


def aggregate(parameters, outputs, feedback):
    values = AGGREGATE.values(parameters)
    style = values[AGGREGATE.STYLE]
    aggregate_raster(values[AGGREGATE.INPUT], outputs[AGGREGATE.OUTPUT], values[AGGREGATE.RESOLUTION],
                     method=values[AGGREGATE.METHOD], min_valid_fraction=values[AGGREGATE.MIN_VALID_FRACTION],
                     scale=values[AGGREGATE.SCALE], product=None if style == "none" else style, feedback=feedback)


def changecontinuous(parameters, outputs, feedback):
    values = CHANGECONTINUOUS.values(parameters)
    run_change_continuous(values[CHANGECONTINUOUS.STATUS_A], values[CHANGECONTINUOUS.STATUS_B],
                          values[CHANGECONTINUOUS.CHANGE_MASK], outputs[CHANGECONTINUOUS.OUTPUT],
                          outputs[CHANGECONTINUOUS.OUTPUT_SUPPORT], resolution=values[CHANGECONTINUOUS.RESOLUTION],
                          binary_status=values[CHANGECONTINUOUS.BINARY_STATUS], feedback=feedback)


def classifychange(parameters, outputs, feedback):
    values = CLASSIFYCHANGE.values(parameters)
    run_classify_change(values[CLASSIFYCHANGE.STATUS_A], values[CLASSIFYCHANGE.CHANGE], outputs[CLASSIFYCHANGE.OUTPUT],
                        binary_status=values[CLASSIFYCHANGE.BINARY_STATUS], feedback=feedback)


def publish_products(parameters, outputs, feedback):
    """imperviousness:publish: the HRL product set, report and EEA delivery into OUTPUT_FOLDER."""
    values = PUBLISH.values(parameters)
    layers = {name: values[name] for name in PRODUCTS if values[name]}
    side_files = {name: values[name] for name in SIDE_FILES if values[name]}
    reference = {name: values[name] for name in (PUBLISH.IMD_A, PUBLISH.IBU_A) if values[name]}
    models = {}
    for target, raw, given in (("IMD", PUBLISH.RIMD, PUBLISH.MODELS_IMD), ("IBU", PUBLISH.RIBUD, PUBLISH.MODELS_IBU)):
        if values[given] or raw in layers:   # no model given: the shipped ensemble ran
            models[target] = models_or_shipped(values[given], target)
    folder = values[PUBLISH.OUTPUT_FOLDER]
    run_parameters = dict(line.split("=", 1) for line in str(values[PUBLISH.RUN_PARAMETERS] or "").splitlines()
                          if "=" in line)
    run_parameters.update({name: os.path.basename(path) for name, path in reference.items()})
    run_parameters[PUBLISH.OUTPUT_FOLDER] = "."
    publish(layers, folder, values[PUBLISH.YEAR_A], values[PUBLISH.YEAR_B], side_files=side_files,
            models=models, reference=reference, parameters=run_parameters, feedback=feedback,
            delivery_folder=os.path.join(folder, "delivery"), delivery_tiles=parameters.get("DELIVERY_TILES"))


def _outputs(step, *names):
    """name -> file suffix of the outputs the tile runner writes: OUTPUT and `names` (rasters
    .tif, files the first extension of their filter)."""
    suffixes = {}
    for name in (step.OUTPUT,) + names:
        parameter = step.parameter(name)
        suffixes[name] = (".tif" if parameter.kind == "raster_out"
                          else "." + parameter.file_filter.split("*.", 1)[1].split(")", 1)[0])
    return suffixes


STEPS = {
    ALIGNGRID.id: StepFunction(aligngrid, _outputs(ALIGNGRID), window=True),
    PREPROCESS.id: StepFunction(preprocess, _outputs(PREPROCESS)),
    RMSD.id: StepFunction(rmsd, _outputs(RMSD)),
    CHANGEMASK.id: StepFunction(changemask, _outputs(CHANGEMASK, CHANGEMASK.OUTPUT_THRESHOLDS), "cell"),
    PREDICT.id: StepFunction(predict, _outputs(PREDICT, PREDICT.OUTPUT_SD, PREDICT.OUTPUT_CONFIDENCE)),
    SEALINGMASK.id: StepFunction(sealingmask, _outputs(SEALINGMASK)),
    CALIBRATE.id: StepFunction(calibrate, _outputs(CALIBRATE), "area"),
    APPLYCALIBRATION.id: StepFunction(applycalibration, _outputs(APPLYCALIBRATION)),
    BUILTUP.id: StepFunction(builtup, _outputs(BUILTUP)),
    AGGREGATE.id: StepFunction(aggregate, _outputs(AGGREGATE)),
    CHANGECONTINUOUS.id: StepFunction(changecontinuous, _outputs(CHANGECONTINUOUS, CHANGECONTINUOUS.OUTPUT_SUPPORT)),
    CLASSIFYCHANGE.id: StepFunction(classifychange, _outputs(CLASSIFYCHANGE)),
    PUBLISH.id: StepFunction(publish_products, {}, "area", publishes=True),
}


def step_function(algorithm):
    try:
        return STEPS[algorithm]
    except KeyError:
        raise ImperviousnessError(f"The tile runner cannot run imperviousness:{algorithm} "
                                  f"(it runs {', '.join(sorted(STEPS))}).") from None
