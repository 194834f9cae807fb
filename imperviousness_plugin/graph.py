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

TEMPORARY = "TEMPORARY_OUTPUT"   # QgsProcessing.TEMPORARY_OUTPUT
# Publish parameters that are not products (the reference layers and the side files).
PUBLISH_EXTRA = ("CALIBRATION", "THRESHOLDS", "IMD_A", "IBU_A")
TEXT_PARAMETERS = ("S2_A", "S2_B", "YEAR_A", "YEAR_B")


def param(name):
    return ("param", name)


def child(child_id, output):
    return ("child", child_id, output)


def expr(text, python):
    """An expression: `text` for QGIS, `python(inputs)` the same value from the model inputs."""
    return ("expr", text, python)


def year_date(year, month_day):
    key = f"YEAR_{year}"
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
        self.steps.append(Step(child_id, algorithm, description, column, row, dict(parameters)))
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
        child_id = graph.child(f"align_{name.lower()}", "aligngrid", f"{name} on the 1 km grid", 0,
                               row + offset, {"INPUT": param(name)})
        aligned[name] = child(child_id, "OUTPUT")
    return aligned


def add_pp_alignment(graph, year, pp, grid, column, row):
    """The PP stack padded onto the aligned reference's grid (the models' steps need PP and the
    reference on one grid)."""
    return child(graph.child(f"align_pp_{year.lower()}", "aligngrid", f"PP year {year} on the 1 km grid",
                             column, row, {"INPUT": pp, "GRID": grid}), "OUTPUT")


def add_preprocess(graph, year, extent, grid, row):
    """PP of one year on the extent of the reference layer `extent`, padded onto `grid` (the
    aligned reference): pixels outside the reference stay nodata, as in every product."""
    pp = child(graph.child(
        f"preprocess_{year.lower()}", "preprocess", f"Pre-process year {year} (PP)", 0, row,
        {"INPUT": param(f"S2_{year}"), "START_DATE": year_date(year, "01-01"),
         "END_DATE": year_date(year, "12-31"), "EXTENT": param(extent),
         "TARGET_CRS": "EPSG:3035", "OUTPUT": TEMPORARY}), "OUTPUT")
    return add_pp_alignment(graph, year, pp, grid, 1, 4 + row)


def add_change_graph(graph, pp_a, pp_b, imd_a, imd_b, ibu_a, ibu_b):
    """RMSD, CHM (+ 20 m, 100 m) and the 16 change layers; returns the publish sources."""
    graph.child("rmsd", "rmsd", "RMSD A-B", 1, 0, {"INPUT_A": pp_a, "INPUT_B": pp_b})
    graph.child("changemask", "changemask", "Change mask (CHM)", 1, 1,
                {"INPUT": child("rmsd", "OUTPUT")})
    chm = child("changemask", "OUTPUT")
    publish = {"RMSD": child("rmsd", "OUTPUT"), "CHM": chm,
               "THRESHOLDS": child("changemask", "OUTPUT_THRESHOLDS")}
    for row, resolution in ((2, 20), (3, 100)):
        child_id = graph.child(
            f"chm_{resolution}", "aggregate", f"CHM at {resolution} m", 1, row,
            {"INPUT": chm, "METHOD": "mean", "RESOLUTION": resolution, "SCALE": 100,
             "STYLE": "chm_percent"})
        publish[f"CHM_{resolution}"] = child(child_id, "OUTPUT")
    changes = [(imd_a, imd_b, False, 20, "IMDC", "IMCC"), (imd_a, imd_b, False, 100, "IMDC", "IMCC"),
               (ibu_a, ibu_b, True, 20, "IBUDC", "IBUC"), (ibu_a, ibu_b, True, 100, "SBUC", "SBCC")]
    for row, (status_a, status_b, binary, resolution, continuous, classified) in enumerate(changes):
        change_id = graph.child(
            f"{continuous.lower()}_{resolution}", "changecontinuous",
            f"{continuous} / {continuous}S {resolution} m", 3, 2 * row,
            {"STATUS_A": status_a, "STATUS_B": status_b, "CHANGE_MASK": chm,
             "RESOLUTION": resolution, "BINARY_STATUS": binary})
        publish[f"{continuous}_{resolution}"] = child(change_id, "OUTPUT")
        publish[f"{continuous}S_{resolution}"] = child(change_id, "OUTPUT_SUPPORT")
        for offset, (output, name) in enumerate((("OUTPUT", classified),
                                                 ("OUTPUT_SUPPORT", f"{classified}S"))):
            class_id = graph.child(
                f"{name.lower()}_{resolution}", "classifychange", f"{name} {resolution} m", 4,
                2 * row + offset,
                {"STATUS_A": status_a, "CHANGE": child(change_id, output), "BINARY_STATUS": binary})
            publish[f"{name}_{resolution}"] = child(class_id, "OUTPUT")
    return publish


def add_imd_graph(graph, pp_a, pp_b, aligned, models=None):
    """RIMD (+ SD, IMDCL), sealing masks, calibration, IMD_B and IMD_B 100 m; `aligned`: the
    aligned IMD_A, IBU_A, CLCPLUS_A and CLCPLUS_B (add_alignment)."""
    graph.child("predict_imd", "predict", "U-Net RIMD (year B)", 2, 0,
                {"INPUT": pp_b, "MODELS": models or param("MODELS_IMD"), "SHIPPED_TARGET": "IMD",
                 "OUTPUT_SD": TEMPORARY, "OUTPUT_CONFIDENCE": TEMPORARY})
    rimd = child("predict_imd", "OUTPUT")
    graph.child("sealingmask_a", "sealingmask", "Sealing mask year A", 2, 1,
                {"IMPERVIOUSNESS": aligned["IMD_A"], "CLCPLUS": aligned["CLCPLUS_A"]})
    graph.child("sealingmask_b", "sealingmask", "Sealing mask year B", 2, 2,
                {"IMPERVIOUSNESS": rimd, "CLCPLUS": aligned["CLCPLUS_B"]})
    graph.child("calibrate", "calibrate", "IMD calibration (year A)", 2, 3,
                {"IMD_A": aligned["IMD_A"], "SEALING_MASK_A": child("sealingmask_a", "OUTPUT"),
                 "PP_A": pp_a, "IBU_A": aligned["IBU_A"]})
    graph.child("applycalibration", "applycalibration", "IMD year B", 2, 4,
                {"RAW_IMD": rimd, "SEALING_MASK_B": child("sealingmask_b", "OUTPUT"), "PP_B": pp_b,
                 "CALIBRATION": child("calibrate", "OUTPUT")})
    imd_b = child("applycalibration", "OUTPUT")
    graph.child("imd_100", "aggregate", "IMD year B at 100 m", 2, 5,
                {"INPUT": imd_b, "METHOD": "mean", "RESOLUTION": 100})
    return {"RIMD": rimd, "RIMD_SD": child("predict_imd", "OUTPUT_SD"),
            "IMDCL": child("predict_imd", "OUTPUT_CONFIDENCE"),
            "IMD_MSK_A": child("sealingmask_a", "OUTPUT"), "IMD_MSK_B": child("sealingmask_b", "OUTPUT"),
            "CALIBRATION": child("calibrate", "OUTPUT"), "IMD_B": imd_b,
            "IMD_B_100": child("imd_100", "OUTPUT")}


def add_ibu_graph(graph, pp_b, models=None):
    """RIBUD (+ SD, IBUCL), IBU_B and SBU_B."""
    graph.child("predict_ibu", "predict", "U-Net RIBUD (year B)", 2, 6,
                {"INPUT": pp_b, "MODELS": models or param("MODELS_IBU"), "SHIPPED_TARGET": "IBU",
                 "OUTPUT_SD": TEMPORARY, "OUTPUT_CONFIDENCE": TEMPORARY})
    graph.child("builtup", "builtup", "IBU year B", 2, 7, {"INPUT": child("predict_ibu", "OUTPUT")})
    graph.child("sbu", "aggregate", "SBU year B (100 m)", 2, 8,
                {"INPUT": child("builtup", "OUTPUT"), "METHOD": "mean", "RESOLUTION": 100,
                 "SCALE": 100, "STYLE": "sbu"})
    return {"RIBUD": child("predict_ibu", "OUTPUT"), "RIBUD_SD": child("predict_ibu", "OUTPUT_SD"),
            "IBUCL": child("predict_ibu", "OUTPUT_CONFIDENCE"), "IBU_B": child("builtup", "OUTPUT"),
            "SBU_B": child("sbu", "OUTPUT")}


def add_training(graph, pp_a, aligned):
    """imperviousness:trainmodel for IMD (IMD_A + CLCplus_A) and IBU (IBU_A) on the PP of year A;
    each writes an ensemble (its default number of members) that the predictors take whole."""
    graph.child("train_imd", "trainmodel", "Train the IMD U-Net on year A", 2, 10,
                {"INPUT": pp_a, "REFERENCE": aligned["IMD_A"], "TARGET": "IMD",
                 "CLCPLUS": aligned["CLCPLUS_A"], "INIT_MODEL": param("INIT_MODEL_IMD"),
                 "STEPS": param("TRAIN_STEPS"), "PATCH_SIZE": param("TRAIN_PATCH_SIZE")})
    graph.child("train_ibu", "trainmodel", "Train the IBU U-Net on year A", 2, 11,
                {"INPUT": pp_a, "REFERENCE": aligned["IBU_A"], "TARGET": "IBU",
                 "INIT_MODEL": param("INIT_MODEL_IBU"), "STEPS": param("TRAIN_STEPS"),
                 "PATCH_SIZE": param("TRAIN_PATCH_SIZE")})
    return {"IMD": child("train_imd", "OUTPUT_MEMBERS"), "IBU": child("train_ibu", "OUTPUT_MEMBERS")}


def _run_parameter_lines(inputs, names):
    return "\n".join(f"{name}={inputs.get(name, '')}" for name in names)


def add_publish(graph, sources, run_parameters, models=()):
    """imperviousness:publish with every product, the years, the run parameters and the folder.

    `models`: the targets whose MODELS_<target> model parameter lists the .onnx files, or a dict
    target -> source (e.g. the trained model of a trainmodel child).
    """
    if not isinstance(models, dict):
        models = {target: param(f"MODELS_{target}") for target in models}
    extra = {f"MODELS_{target}": source for target, source in models.items()}
    unknown = set(sources) - set(PRODUCTS) - set(PUBLISH_EXTRA)
    if unknown:
        raise ValueError(f"imperviousness:publish has no parameter {sorted(unknown)}")
    # The run parameters as 'NAME=value' lines built by an expression over the model's variables.
    # Layer parameters are left out: 3.22 expressions see no file name for them (publish adds the
    # reference layers it receives itself).
    names = [name for name in run_parameters if name in TEXT_PARAMETERS] + ["OUTPUT_FOLDER"]
    lines = ", char(10), ".join(f"'{name}=', @{name}" for name in names)
    graph.child("publish", "publish", "Publish HRL products and report", 5, 0,
                {"YEAR_A": param("YEAR_A"), "YEAR_B": param("YEAR_B"),
                 "OUTPUT_FOLDER": param("OUTPUT_FOLDER"),
                 "RUN_PARAMETERS": expr(f"concat({lines})",
                                        lambda inputs: _run_parameter_lines(inputs, names)),
                 **sources, **extra})


# -- the models ----------------------------------------------------------------------------------

REFERENCE_LAYERS = ("IMD_A", "IBU_A", "CLCPLUS_A", "CLCPLUS_B")
FULL_INPUTS = ["S2_A", "S2_B", "YEAR_A", "YEAR_B", "IMD_A", "IBU_A", "CLCPLUS_A", "CLCPLUS_B",
               "MODELS_IMD", "MODELS_IBU", "OUTPUT_FOLDER"]


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
        "names, QML styles and report.html into OUTPUT_FOLDER. The PP stacks are computed on the "
        "extent of IMD_A; the input layers and the PP stacks are padded outward with nodata to "
        "whole kilometres (imperviousness:aligngrid), so that every product shares one EEA grid "
        "whose origin and extent lie on the 1 km grid.")
    if from_pp:
        aligned = add_alignment(graph, REFERENCE_LAYERS, row=0)
        pp_a = add_pp_alignment(graph, "A", param("PP_A"), aligned["IMD_A"], 0, 4)
        pp_b = add_pp_alignment(graph, "B", param("PP_B"), aligned["IMD_A"], 0, 5)
    else:
        aligned = add_alignment(graph, REFERENCE_LAYERS)
        pp_a = add_preprocess(graph, "A", "IMD_A", aligned["IMD_A"], 0)
        pp_b = add_preprocess(graph, "B", "IMD_A", aligned["IMD_A"], 1)
    # publish reads the reference layers for the report only (year-A statistics, the inputs'
    # file names): the user's files, whose pixels the aligned copies hold unchanged.
    sources = {"PP_A": pp_a, "PP_B": pp_b, "IMD_A": param("IMD_A"), "IBU_A": param("IBU_A")}
    trained = add_training(graph, pp_a, aligned) if train_first else {}
    sources.update(add_imd_graph(graph, pp_a, pp_b, aligned, trained.get("IMD")))
    sources.update(add_ibu_graph(graph, pp_b, trained.get("IBU")))
    sources.update(add_change_graph(graph, pp_a, pp_b, aligned["IMD_A"], child("applycalibration", "OUTPUT"),
                                    aligned["IBU_A"], child("builtup", "OUTPUT")))
    add_publish(graph, sources, FULL_INPUTS, models=trained or ("IMD", "IBU"))
    return graph


def imd_graph():
    graph = Graph(
        "hrl_imd", "HRL IMD of year B",
        "IMD of year B: PP of both years on the extent of IMD_A, padded to whole kilometres, "
        "U-Net RIMD, sealing masks, calibration on year A, "
        "IMD_B at 10 m and 100 m and IMDCL, published with HRL names, styles and a report.")
    aligned = add_alignment(graph, REFERENCE_LAYERS)
    pp_a = add_preprocess(graph, "A", "IMD_A", aligned["IMD_A"], 0)
    pp_b = add_preprocess(graph, "B", "IMD_A", aligned["IMD_A"], 1)
    sources = {"PP_A": pp_a, "PP_B": pp_b, "IMD_A": param("IMD_A")}
    sources.update(add_imd_graph(graph, pp_a, pp_b, aligned))
    add_publish(graph, sources, ["S2_A", "S2_B", "YEAR_A", "YEAR_B", "IMD_A", "IBU_A", "CLCPLUS_A",
                                 "CLCPLUS_B", "MODELS_IMD", "OUTPUT_FOLDER"], models=("IMD",))
    return graph


def ibu_graph():
    graph = Graph(
        "hrl_ibu", "HRL IBU of year B",
        "IBU of year B: PP of year B on the extent of IBU_A, padded to whole kilometres, U-Net "
        "RIBUD, IBU_B, SBU_B and IBUCL, "
        "published with HRL names, styles and a report (year-A built-up share from IBU_A).")
    pp_b = add_preprocess(graph, "B", "IBU_A", add_alignment(graph, ("IBU_A",))["IBU_A"], 1)
    sources = {"PP_B": pp_b, "IBU_A": param("IBU_A")}
    sources.update(add_ibu_graph(graph, pp_b))
    add_publish(graph, sources, ["S2_B", "YEAR_A", "YEAR_B", "IBU_A", "MODELS_IBU", "OUTPUT_FOLDER"],
                models=("IBU",))
    return graph


def change_graph():
    graph = Graph(
        "hrl_change", "HRL change layers from existing PP stacks and status layers",
        "The change layers from existing PP stacks of both years and the status layers of both "
        "years: RMSD, CHM (10, 20, 100 m), IMDC(S)/IMCC(S) at 20 and 100 m, IBUDC(S)/IBUC(S) at "
        "20 m, SBUC(S)/SBCC(S) at 100 m, published with HRL names, styles and a report. The "
        "input layers are first padded outward to whole kilometres (imperviousness:aligngrid).")
    layers = add_alignment(graph, ("PP_A", "PP_B", "IMD_A", "IMD_B", "IBU_A", "IBU_B"), row=0)
    sources = {"IMD_A": param("IMD_A"), "IBU_A": param("IBU_A")}
    sources.update(add_change_graph(graph, layers["PP_A"], layers["PP_B"], layers["IMD_A"],
                                    layers["IMD_B"], layers["IBU_A"], layers["IBU_B"]))
    add_publish(graph, sources, ["PP_A", "PP_B", "IMD_A", "IMD_B", "IBU_A", "IBU_B", "YEAR_A",
                                 "YEAR_B", "OUTPUT_FOLDER"])
    return graph
