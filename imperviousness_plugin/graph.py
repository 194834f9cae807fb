"""The graphs of the shipped models (ATBD Figure 2), defined once, without QGIS.

Each graph is a list of steps: an algorithm id of the provider, its parameters (a static value,
the model input `param(name)`, another step's output `child(step, output)` or an expression
`expr(qgis, python)`) and where it sits in the Graphical Modeler. tools/build_models.py turns a
graph into a .model3 file; the tile runner (imperviousness_plugin/runner) executes the same steps
on Dask workers through the registry of core calls (runner/steps.py). Enum parameters are given by
option name ("mean"); build_models turns them into the indices the .model3 stores.

Every layer of the full graph is handed to `imperviousness:publish`, which writes the HRL-named
product set (QGIS 3.22 models cannot name intermediate outputs by expression).
"""

from dataclasses import dataclass, field

from .core.products.publish import PRODUCTS
from .steps.catalogue import (AGGREGATE, ALIGNGRID, APPLYCALIBRATION, BUILTUP, CALIBRATE, CHANGECONTINUOUS,
                              CHANGEMASK, CLASSIFYCHANGE, MODEL, PREDICT, PREPROCESS, PUBLISH, RMSD, SEALINGMASK,
                              TRAINMODEL, step as catalogue_step)

TEMPORARY = "TEMPORARY_OUTPUT"   # QgsProcessing.TEMPORARY_OUTPUT
# Publish parameters that are not products (the reference layers and the side files).
PUBLISH_EXTRA = (PUBLISH.CALIBRATION, PUBLISH.THRESHOLDS, PUBLISH.IMD_A, PUBLISH.IBU_A)
TEXT_PARAMETERS = (MODEL.S2_A, MODEL.S2_B, MODEL.YEAR_A, MODEL.YEAR_B)
YEARS = {"A": MODEL.YEAR_A, "B": MODEL.YEAR_B}
S2 = {"A": MODEL.S2_A, "B": MODEL.S2_B}


PERCENT = 100   # SCALE turning a 0/1 layer into a percentage (SBU, CHM at R)


def param(name):
    return ("param", name)


def child(child_id, output):
    return ("child", child_id, output)


def expr(text, python):
    """An expression: `text` for QGIS, `python(inputs)` the same value from the model inputs."""
    return ("expr", text, python)


def year_date(year, month_day):
    key = YEARS[year]
    return expr(f"to_string(@{key}) || '-{month_day}'", lambda inputs: f"{inputs[key]}-{month_day}")


@dataclass
class Step:
    child_id: str
    algorithm: str          # the provider's algorithm name, e.g. "aggregate"
    description: str
    column: int
    row: int
    parameters: dict

    def sources(self):
        """The ids of the steps this one reads."""
        return {value[1] for value in self.parameters.values()
                if isinstance(value, tuple) and value[0] == "child"}


@dataclass
class Graph:
    """A model's name, texts and steps, in the order they are added to the .model3."""

    name: str
    description: str
    help_text: str
    steps: list = field(default_factory=list)

    def child(self, child_id, algorithm, description, column, row, parameters):
        """Add a step; `algorithm` is a catalogue entry or its id. Parameter names and enum option
        names are checked against the catalogue here, without QGIS."""
        entry = catalogue_step(algorithm if isinstance(algorithm, str) else algorithm.id)
        for name, value in parameters.items():
            parameter = entry.parameter(name)
            if parameter.kind == "enum" and isinstance(value, str):
                parameter.index(value)
        self.steps.append(Step(child_id, entry.id, description, column, row, dict(parameters)))
        return child_id

    def step(self, child_id):
        return next(step for step in self.steps if step.child_id == child_id)


# -- graph pieces (ATBD Figure 2) ----------------------------------------------------------------

def add_alignment(graph, names, row=2):
    """imperviousness:aligngrid on each named model input: {name: the layer padded outward to
    whole kilometres}. The graph reads these instead of the inputs, so the PP stacks (computed on
    the aligned reference's extent) and every product have their origin and extent on the 1 km
    grid (the EEA QC tool's origin check); the pixels inside are the inputs' own."""
    aligned = {}
    for offset, name in enumerate(names):
        child_id = graph.child(f"align_{name.lower()}", ALIGNGRID, f"{name} on the 1 km grid", 0,
                               row + offset, {ALIGNGRID.INPUT: param(name)})
        aligned[name] = child(child_id, ALIGNGRID.OUTPUT)
    return aligned


def add_pp_alignment(graph, year, pp, grid, column, row):
    """The PP stack padded onto the aligned reference's grid (the models' steps need PP and the
    reference on one grid)."""
    return child(graph.child(f"align_pp_{year.lower()}", ALIGNGRID, f"PP year {year} on the 1 km grid",
                             column, row, {ALIGNGRID.INPUT: pp, ALIGNGRID.GRID: grid}), ALIGNGRID.OUTPUT)


def add_preprocess(graph, year, extent, grid, row):
    """PP of one year written straight onto `grid` (the aligned reference; its scenes searched
    over the reference layer `extent`): pixels outside the scenes are nodata, as in every
    product, and no padding step copies the stack."""
    return child(graph.child(
        f"preprocess_{year.lower()}", PREPROCESS, f"Pre-process year {year} (PP)", 0, row,
        {PREPROCESS.INPUT: param(S2[year]),
         PREPROCESS.START_DATE: year_date(year, "01-01"), PREPROCESS.END_DATE: year_date(year, "12-31"),
         PREPROCESS.EXTENT: param(extent), PREPROCESS.GRID: grid,
         PREPROCESS.TARGET_CRS: PREPROCESS.default(PREPROCESS.TARGET_CRS),
         PREPROCESS.OUTPUT: TEMPORARY}), PREPROCESS.OUTPUT)


def add_change_graph(graph, pp_a, pp_b, imd_a, imd_b, ibu_a, ibu_b):
    """RMSD, CHM (+ 20 m, 100 m) and the 16 change layers; returns the publish sources."""
    graph.child("rmsd", RMSD, "RMSD A-B", 1, 0, {RMSD.INPUT_A: pp_a, RMSD.INPUT_B: pp_b})
    graph.child("changemask", CHANGEMASK, "Change mask (CHM)", 1, 1,
                {CHANGEMASK.INPUT: child("rmsd", RMSD.OUTPUT)})
    chm = child("changemask", CHANGEMASK.OUTPUT)
    publish = {PUBLISH.RMSD: child("rmsd", RMSD.OUTPUT), PUBLISH.CHM: chm,
               PUBLISH.THRESHOLDS: child("changemask", CHANGEMASK.OUTPUT_THRESHOLDS)}
    for row, resolution in ((2, 20), (3, 100)):
        child_id = graph.child(
            f"chm_{resolution}", AGGREGATE, f"CHM at {resolution} m", 1, row,
            {AGGREGATE.INPUT: chm, AGGREGATE.METHOD: "mean", AGGREGATE.RESOLUTION: resolution,
             AGGREGATE.SCALE: PERCENT, AGGREGATE.STYLE: "chm_percent"})
        publish[PUBLISH.parameter(f"CHM_{resolution}").name] = child(child_id, AGGREGATE.OUTPUT)
    changes = [(imd_a, imd_b, False, 20, "IMDC", "IMCC"), (imd_a, imd_b, False, 100, "IMDC", "IMCC"),
               (ibu_a, ibu_b, True, 20, "IBUDC", "IBUC"), (ibu_a, ibu_b, True, 100, "SBUC", "SBCC")]
    for row, (status_a, status_b, binary, resolution, continuous, classified) in enumerate(changes):
        change_id = graph.child(
            f"{continuous.lower()}_{resolution}", CHANGECONTINUOUS,
            f"{continuous} / {continuous}S {resolution} m", 3, 2 * row,
            {CHANGECONTINUOUS.STATUS_A: status_a, CHANGECONTINUOUS.STATUS_B: status_b,
             CHANGECONTINUOUS.CHANGE_MASK: chm, CHANGECONTINUOUS.RESOLUTION: resolution,
             CHANGECONTINUOUS.BINARY_STATUS: binary})
        publish[PUBLISH.parameter(f"{continuous}_{resolution}").name] = child(change_id, CHANGECONTINUOUS.OUTPUT)
        publish[PUBLISH.parameter(f"{continuous}S_{resolution}").name] = child(
            change_id, CHANGECONTINUOUS.OUTPUT_SUPPORT)
        for offset, (output, name) in enumerate(((CHANGECONTINUOUS.OUTPUT, classified),
                                                 (CHANGECONTINUOUS.OUTPUT_SUPPORT, f"{classified}S"))):
            class_id = graph.child(
                f"{name.lower()}_{resolution}", CLASSIFYCHANGE, f"{name} {resolution} m", 4,
                2 * row + offset,
                {CLASSIFYCHANGE.STATUS_A: status_a, CLASSIFYCHANGE.CHANGE: child(change_id, output),
                 CLASSIFYCHANGE.BINARY_STATUS: binary})
            publish[PUBLISH.parameter(f"{name}_{resolution}").name] = child(class_id, CLASSIFYCHANGE.OUTPUT)
    return publish


def add_imd_graph(graph, pp_a, pp_b, aligned, models=None):
    """RIMD (+ SD, IMDCL), sealing masks, calibration, IMD_B and IMD_B 100 m; `aligned`: the
    aligned IMD_A, IBU_A, CLCPLUS_A and CLCPLUS_B (add_alignment)."""
    graph.child("predict_imd", PREDICT, "U-Net RIMD (year B)", 2, 0,
                {PREDICT.INPUT: pp_b, PREDICT.MODELS: models or param(MODEL.MODELS_IMD),
                 PREDICT.SHIPPED_TARGET: "IMD", PREDICT.OUTPUT_SD: TEMPORARY,
                 PREDICT.OUTPUT_CONFIDENCE: TEMPORARY})
    rimd = child("predict_imd", PREDICT.OUTPUT)
    graph.child("sealingmask_a", SEALINGMASK, "Sealing mask year A", 2, 1,
                {SEALINGMASK.IMPERVIOUSNESS: aligned[MODEL.IMD_A], SEALINGMASK.CLCPLUS: aligned[MODEL.CLCPLUS_A]})
    graph.child("sealingmask_b", SEALINGMASK, "Sealing mask year B", 2, 2,
                {SEALINGMASK.IMPERVIOUSNESS: rimd, SEALINGMASK.CLCPLUS: aligned[MODEL.CLCPLUS_B]})
    graph.child("calibrate", CALIBRATE, "IMD calibration (year A)", 2, 3,
                {CALIBRATE.IMD_A: aligned[MODEL.IMD_A],
                 CALIBRATE.SEALING_MASK_A: child("sealingmask_a", SEALINGMASK.OUTPUT),
                 CALIBRATE.PP_A: pp_a, CALIBRATE.IBU_A: aligned[MODEL.IBU_A]})
    graph.child("applycalibration", APPLYCALIBRATION, "IMD year B", 2, 4,
                {APPLYCALIBRATION.RAW_IMD: rimd,
                 APPLYCALIBRATION.SEALING_MASK_B: child("sealingmask_b", SEALINGMASK.OUTPUT),
                 APPLYCALIBRATION.PP_B: pp_b, APPLYCALIBRATION.CALIBRATION: child("calibrate", CALIBRATE.OUTPUT)})
    imd_b = child("applycalibration", APPLYCALIBRATION.OUTPUT)
    graph.child("imd_100", AGGREGATE, "IMD year B at 100 m", 2, 5,
                {AGGREGATE.INPUT: imd_b, AGGREGATE.METHOD: "mean", AGGREGATE.RESOLUTION: 100})
    return {PUBLISH.RIMD: rimd, PUBLISH.RIMD_SD: child("predict_imd", PREDICT.OUTPUT_SD),
            PUBLISH.IMDCL: child("predict_imd", PREDICT.OUTPUT_CONFIDENCE),
            PUBLISH.IMD_MSK_A: child("sealingmask_a", SEALINGMASK.OUTPUT),
            PUBLISH.IMD_MSK_B: child("sealingmask_b", SEALINGMASK.OUTPUT),
            PUBLISH.CALIBRATION: child("calibrate", CALIBRATE.OUTPUT), PUBLISH.IMD_B: imd_b,
            PUBLISH.IMD_B_100: child("imd_100", AGGREGATE.OUTPUT)}


def add_ibu_graph(graph, pp_b, models=None):
    """RIBUD (+ SD, IBUCL), IBU_B and SBU_B."""
    graph.child("predict_ibu", PREDICT, "U-Net RIBUD (year B)", 2, 6,
                {PREDICT.INPUT: pp_b, PREDICT.MODELS: models or param(MODEL.MODELS_IBU),
                 PREDICT.SHIPPED_TARGET: "IBU", PREDICT.OUTPUT_SD: TEMPORARY,
                 PREDICT.OUTPUT_CONFIDENCE: TEMPORARY})
    graph.child("builtup", BUILTUP, "IBU year B", 2, 7, {BUILTUP.INPUT: child("predict_ibu", PREDICT.OUTPUT)})
    graph.child("sbu", AGGREGATE, "SBU year B (100 m)", 2, 8,
                {AGGREGATE.INPUT: child("builtup", BUILTUP.OUTPUT), AGGREGATE.METHOD: "mean",
                 AGGREGATE.RESOLUTION: 100, AGGREGATE.SCALE: PERCENT, AGGREGATE.STYLE: "sbu"})
    return {PUBLISH.RIBUD: child("predict_ibu", PREDICT.OUTPUT),
            PUBLISH.RIBUD_SD: child("predict_ibu", PREDICT.OUTPUT_SD),
            PUBLISH.IBUCL: child("predict_ibu", PREDICT.OUTPUT_CONFIDENCE),
            PUBLISH.IBU_B: child("builtup", BUILTUP.OUTPUT), PUBLISH.SBU_B: child("sbu", AGGREGATE.OUTPUT)}


def add_training(graph, pp_a, aligned):
    """imperviousness:trainmodel for IMD (IMD_A + CLCplus_A) and IBU (IBU_A) on the PP of year A;
    each writes an ensemble (its default number of members) that the predictors take whole."""
    graph.child("train_imd", TRAINMODEL, "Train the IMD U-Net on year A", 2, 10,
                {TRAINMODEL.INPUT: pp_a, TRAINMODEL.REFERENCE: aligned[MODEL.IMD_A], TRAINMODEL.TARGET: "IMD",
                 TRAINMODEL.CLCPLUS: aligned[MODEL.CLCPLUS_A], TRAINMODEL.INIT_MODEL: param(MODEL.INIT_MODEL_IMD),
                 TRAINMODEL.STEPS: param(MODEL.TRAIN_STEPS), TRAINMODEL.PATCH_SIZE: param(MODEL.TRAIN_PATCH_SIZE)})
    graph.child("train_ibu", TRAINMODEL, "Train the IBU U-Net on year A", 2, 11,
                {TRAINMODEL.INPUT: pp_a, TRAINMODEL.REFERENCE: aligned[MODEL.IBU_A], TRAINMODEL.TARGET: "IBU",
                 TRAINMODEL.INIT_MODEL: param(MODEL.INIT_MODEL_IBU), TRAINMODEL.STEPS: param(MODEL.TRAIN_STEPS),
                 TRAINMODEL.PATCH_SIZE: param(MODEL.TRAIN_PATCH_SIZE)})
    return {"IMD": child("train_imd", TRAINMODEL.OUTPUT_MEMBERS), "IBU": child("train_ibu", TRAINMODEL.OUTPUT_MEMBERS)}


def _run_parameter_lines(inputs, names):
    return "\n".join(f"{name}={inputs.get(name, '')}" for name in names)


def add_publish(graph, sources, run_parameters, models=()):
    """imperviousness:publish with every product, the years, the run parameters and the folder.

    `models`: the targets whose MODELS_<target> model parameter lists the .onnx files, or a dict
    target -> source (e.g. the trained model of a trainmodel child).
    """
    if not isinstance(models, dict):
        models = {target: param(MODEL.parameter(f"MODELS_{target}").name) for target in models}
    extra = {PUBLISH.parameter(f"MODELS_{target}").name: source for target, source in models.items()}
    unknown = set(sources) - set(PRODUCTS) - set(PUBLISH_EXTRA)
    if unknown:
        raise ValueError(f"imperviousness:publish has no parameter {sorted(unknown)}")
    # The run parameters as 'NAME=value' lines built by an expression over the model's variables.
    # Layer parameters are left out: 3.22 expressions see no file name for them (publish adds the
    # reference layers it receives itself).
    names = [name for name in run_parameters if name in TEXT_PARAMETERS] + [MODEL.OUTPUT_FOLDER]
    lines = ", char(10), ".join(f"'{name}=', @{name}" for name in names)
    graph.child("publish", PUBLISH, "Publish HRL products and report", 5, 0,
                {PUBLISH.YEAR_A: param(MODEL.YEAR_A), PUBLISH.YEAR_B: param(MODEL.YEAR_B),
                 PUBLISH.OUTPUT_FOLDER: param(MODEL.OUTPUT_FOLDER),
                 PUBLISH.RUN_PARAMETERS: expr(f"concat({lines})",
                                              lambda inputs: _run_parameter_lines(inputs, names)),
                 **sources, **extra})


# -- the models ----------------------------------------------------------------------------------

REFERENCE_LAYERS = (MODEL.IMD_A, MODEL.IBU_A, MODEL.CLCPLUS_A, MODEL.CLCPLUS_B)
FULL_INPUTS = [MODEL.S2_A, MODEL.S2_B, MODEL.YEAR_A, MODEL.YEAR_B, *REFERENCE_LAYERS,
               MODEL.MODELS_IMD, MODEL.MODELS_IBU, MODEL.OUTPUT_FOLDER]


def full_graph(train_first=False, from_pp=False):
    """ATBD Figure 2; with train_first the U-Nets are trained on year A before predicting year B;
    with from_pp the graph starts from existing PP stacks instead of Sentinel-2 folders."""
    models_text = ("U-Net IMD and IBU models trained on the PP of year A against IMD_A (+ CLCplus_A) "
                   "and IBU_A first (TRAIN_STEPS steps, optionally from INIT_MODEL_IMD / "
                   "INIT_MODEL_IBU), then RIMD / RIBUD of year B" if train_first else
                   "U-Net RIMD / RIBUD (shipped ensemble or your .onnx models)")
    graph = Graph(
        "hrl_imperviousness" + ("_train" if train_first else "") + ("_pp" if from_pp else ""),
        "HRL Imperviousness A to B" + (", training on year A first" if train_first else "")
        + (", from existing PP stacks" if from_pp else ""),
        "The whole HRL Imperviousness A-to-B workflow (ATBD Figure 2): "
        + ("existing PP stacks of both years (on the grid of IMD_A)" if from_pp
           else "PP of both years") + ", RMSD, "
        f"change mask, {models_text}, IMD calibration, "
        "IMD_B, IBU_B, SBU_B, the 20 m and 100 m change layers, confidence; published with HRL "
        "names, QML styles and report.html into OUTPUT_FOLDER. The input layers are padded outward "
        "with nodata to whole kilometres (imperviousness:aligngrid) and the PP stacks are "
        + ("padded onto that grid" if from_pp else "computed on that grid") +
        ", so that every product shares one EEA grid whose origin and extent lie on the 1 km grid.")
    if from_pp:
        aligned = add_alignment(graph, REFERENCE_LAYERS, row=0)
        pp_a = add_pp_alignment(graph, "A", param(MODEL.PP_A), aligned[MODEL.IMD_A], 0, 4)
        pp_b = add_pp_alignment(graph, "B", param(MODEL.PP_B), aligned[MODEL.IMD_A], 0, 5)
    else:
        aligned = add_alignment(graph, REFERENCE_LAYERS)
        pp_a = add_preprocess(graph, "A", MODEL.IMD_A, aligned[MODEL.IMD_A], 0)
        pp_b = add_preprocess(graph, "B", MODEL.IMD_A, aligned[MODEL.IMD_A], 1)
    # publish reads the reference layers for the report only (year-A statistics, the inputs'
    # file names): the user's files, whose pixels the aligned copies hold unchanged.
    sources = {PUBLISH.PP_A: pp_a, PUBLISH.PP_B: pp_b, PUBLISH.IMD_A: param(MODEL.IMD_A),
               PUBLISH.IBU_A: param(MODEL.IBU_A)}
    trained = add_training(graph, pp_a, aligned) if train_first else {}
    sources.update(add_imd_graph(graph, pp_a, pp_b, aligned, trained.get("IMD")))
    sources.update(add_ibu_graph(graph, pp_b, trained.get("IBU")))
    sources.update(add_change_graph(graph, pp_a, pp_b, aligned[MODEL.IMD_A],
                                    child("applycalibration", APPLYCALIBRATION.OUTPUT),
                                    aligned[MODEL.IBU_A], child("builtup", BUILTUP.OUTPUT)))
    add_publish(graph, sources, FULL_INPUTS, models=trained or ("IMD", "IBU"))
    return graph


def imd_graph():
    graph = Graph(
        "hrl_imd", "HRL IMD of year B",
        "IMD of year B: PP of both years on the extent of IMD_A, padded to whole kilometres, "
        "U-Net RIMD, sealing masks, calibration on year A, "
        "IMD_B at 10 m and 100 m and IMDCL, published with HRL names, styles and a report.")
    aligned = add_alignment(graph, REFERENCE_LAYERS)
    pp_a = add_preprocess(graph, "A", MODEL.IMD_A, aligned[MODEL.IMD_A], 0)
    pp_b = add_preprocess(graph, "B", MODEL.IMD_A, aligned[MODEL.IMD_A], 1)
    sources = {PUBLISH.PP_A: pp_a, PUBLISH.PP_B: pp_b, PUBLISH.IMD_A: param(MODEL.IMD_A)}
    sources.update(add_imd_graph(graph, pp_a, pp_b, aligned))
    add_publish(graph, sources, [MODEL.S2_A, MODEL.S2_B, MODEL.YEAR_A, MODEL.YEAR_B, *REFERENCE_LAYERS,
                                 MODEL.MODELS_IMD, MODEL.OUTPUT_FOLDER], models=("IMD",))
    return graph


def ibu_graph():
    graph = Graph(
        "hrl_ibu", "HRL IBU of year B",
        "IBU of year B: PP of year B on the extent of IBU_A, padded to whole kilometres, U-Net "
        "RIBUD, IBU_B, SBU_B and IBUCL, "
        "published with HRL names, styles and a report (year-A built-up share from IBU_A).")
    pp_b = add_preprocess(graph, "B", MODEL.IBU_A, add_alignment(graph, (MODEL.IBU_A,))[MODEL.IBU_A], 1)
    sources = {PUBLISH.PP_B: pp_b, PUBLISH.IBU_A: param(MODEL.IBU_A)}
    sources.update(add_ibu_graph(graph, pp_b))
    add_publish(graph, sources, [MODEL.S2_B, MODEL.YEAR_A, MODEL.YEAR_B, MODEL.IBU_A, MODEL.MODELS_IBU,
                                 MODEL.OUTPUT_FOLDER], models=("IBU",))
    return graph


def change_graph():
    graph = Graph(
        "hrl_change", "HRL change layers from existing PP stacks and status layers",
        "The change layers from existing PP stacks of both years and the status layers of both "
        "years: RMSD, CHM (10, 20, 100 m), IMDC(S)/IMCC(S) at 20 and 100 m, IBUDC(S)/IBUC(S) at "
        "20 m, SBUC(S)/SBCC(S) at 100 m, published with HRL names, styles and a report. The "
        "input layers are first padded outward to whole kilometres (imperviousness:aligngrid).")
    names = (MODEL.PP_A, MODEL.PP_B, MODEL.IMD_A, MODEL.IMD_B, MODEL.IBU_A, MODEL.IBU_B)
    layers = add_alignment(graph, names, row=0)
    sources = {PUBLISH.IMD_A: param(MODEL.IMD_A), PUBLISH.IBU_A: param(MODEL.IBU_A)}
    sources.update(add_change_graph(graph, *(layers[name] for name in names)))
    add_publish(graph, sources, [*names, MODEL.YEAR_A, MODEL.YEAR_B, MODEL.OUTPUT_FOLDER])
    return graph
