#!/usr/bin/env python3
"""Build the shipped Graphical Modeler models (models/*.model3) with the PyQGIS model API.

The models are generated, not hand-edited, so that they are valid by construction: the graph of
ATBD Figure 2 with the provider's algorithm ids, parameter names and enum indices, all taken from
the algorithm classes (declared once there). Every layer is computed into a temporary file and handed to `imperviousness:publish`,
which writes the HRL-named product set, the QML styles and the report into OUTPUT_FOLDER
(QGIS 3.22 models cannot name intermediate outputs by expression).

Usage: .venv/bin/python tools/build_models.py [output folder, default models/]
"""

import os
import pathlib
import sys

# A fixed Qt hash seed keeps the XML attribute order, so re-running gives identical files.
os.environ.setdefault("QT_HASH_SEED", "0")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (QgsApplication, QgsProcessing, QgsProcessingModelAlgorithm,
                       QgsProcessingModelChildAlgorithm, QgsProcessingModelChildParameterSource,
                       QgsProcessingModelParameter, QgsProcessingParameterFile,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterLayer)
from qgis.PyQt.QtCore import QPointF

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Parameter names and enum indices come from the algorithms themselves (declared once there).
from imperviousness_plugin.algorithms import (  # noqa: E402 (after the environment is set)
    AggregateAlgorithm as Aggregate, ApplyCalibrationAlgorithm as ApplyCalibration,
    BuiltupAlgorithm as Builtup, CalibrateAlgorithm as Calibrate,
    ChangeContinuousAlgorithm as ChangeContinuous, ChangeMaskAlgorithm as ChangeMask,
    ClassifyChangeAlgorithm as ClassifyChange, PredictAlgorithm as Predict,
    PreprocessAlgorithm as Preprocess, PublishAlgorithm as Publish, RmsdAlgorithm as Rmsd,
    SealingMaskAlgorithm as SealingMask, TrainModelAlgorithm as TrainModel)
from imperviousness_plugin.core.products.publish import PRODUCTS  # noqa: E402

GROUP = "HRL Imperviousness models"


def param(name):
    return ("param", name)


def child(child_id, output):
    return ("child", child_id, output)


def expr(text):
    return ("expr", text)


def _source(value):
    if isinstance(value, tuple) and value and value[0] == "param":
        return QgsProcessingModelChildParameterSource.fromModelParameter(value[1])
    if isinstance(value, tuple) and value and value[0] == "child":
        return QgsProcessingModelChildParameterSource.fromChildOutput(value[1], value[2])
    if isinstance(value, tuple) and value and value[0] == "expr":
        return QgsProcessingModelChildParameterSource.fromExpression(value[1])
    return QgsProcessingModelChildParameterSource.fromStaticValue(value)


class ModelBuilder:
    """A QgsProcessingModelAlgorithm filled parameter by parameter and child by child."""

    def __init__(self, name, description, help_text):
        self.model = QgsProcessingModelAlgorithm(name, GROUP, "models")
        self.model.setHelpContent({"ALG_DESC": help_text, "ALG_CREATOR": "HRL Imperviousness plugin"})
        self.model.setName(name)
        self.description = description
        self.parameter_count = 0
        self.child_count = 0
        self.parameter_order = []  # workflow order: the order the builders add parameters in

    def parameter(self, definition):
        component = QgsProcessingModelParameter(definition.name())
        component.setPosition(QPointF(120 + 220 * (self.parameter_count % 6),
                                      60 + 90 * (self.parameter_count // 6)))
        self.parameter_count += 1
        self.model.addModelParameter(definition, component)
        self.parameter_order.append(definition.name())

    def child(self, child_id, algorithm, description, column, row, parameters):
        """A child running `algorithm` (one of the provider's classes) with `parameters`
        (parameter name -> static value, param(), child() or expr())."""
        algorithm_id = f"imperviousness:{algorithm.NAME}"
        component = QgsProcessingModelChildAlgorithm(algorithm_id)
        component.setChildId(child_id)
        component.setDescription(description)
        component.setPosition(QPointF(150 + 280 * column, 260 + 70 * row))
        for name, value in parameters.items():
            component.addParameterSources(name, [_source(value)])
        # Every other input gets its default explicitly, so the model validates in the Modeler.
        algorithm = QgsApplication.processingRegistry().algorithmById(algorithm_id)
        for definition in algorithm.parameterDefinitions():
            if (definition.name() not in parameters and not definition.isDestination()
                    and definition.defaultValue() is not None):
                component.addParameterSources(definition.name(), [_source(definition.defaultValue())])
        self.model.addChildAlgorithm(component)
        self.child_count += 1
        return child_id

    def save(self, folder):
        path = pathlib.Path(folder) / f"{self.model.name()}.model3"
        # Saved as the model's parameterOrder, which QGIS (3.14+) applies when it loads the file:
        # without it the dialogs list the inputs alphabetically (parameters are stored in a map).
        self.model.setParameterOrder(self.parameter_order)
        if not self.model.toFile(str(path)):
            raise RuntimeError(f"could not write {path}")
        return path


# -- model parameters ---------------------------------------------------------------------------

def add_years(builder):
    builder.parameter(QgsProcessingParameterNumber(
        "YEAR_A", "Year A (reference year of IMD_A, IBU_A)", QgsProcessingParameterNumber.Integer, 2018))
    builder.parameter(QgsProcessingParameterNumber(
        "YEAR_B", "Year B (new status year)", QgsProcessingParameterNumber.Integer, 2021))


def add_s2(builder, years):
    for year in years:
        builder.parameter(QgsProcessingParameterFile(
            f"S2_{year}", f"Sentinel-2 L2A of year {year}: folder, or STAC collection URL",
            behavior=QgsProcessingParameterFile.Folder))


def add_layer(builder, name, description, optional=False):
    builder.parameter(QgsProcessingParameterRasterLayer(name, description, optional=optional))


def add_models(builder, target):
    builder.parameter(QgsProcessingParameterMultipleLayers(
        f"MODELS_{target}", f"{target} U-Net models (.onnx; empty: the shipped ensemble)",
        QgsProcessing.TypeFile, optional=True))


def add_output_folder(builder):
    builder.parameter(QgsProcessingParameterFile(
        "OUTPUT_FOLDER", "Output folder (HRL products, styles and report)",
        behavior=QgsProcessingParameterFile.Folder))


# -- graph pieces (ATBD Figure 2) ------------------------------------------------------------

def add_preprocess(builder, year, extent_layer, row):
    """PP of one year; the extent is the reference layer's, so products share its EEA grid."""
    key = f"@YEAR_{year}"
    return child(builder.child(
        f"preprocess_{year.lower()}", Preprocess, f"Pre-process year {year} (PP)", 0, row,
        {Preprocess.INPUT: param(f"S2_{year}"),
         Preprocess.START_DATE: expr(f"to_string({key}) || '-01-01'"),
         Preprocess.END_DATE: expr(f"to_string({key}) || '-12-31'"),
         Preprocess.EXTENT: param(extent_layer), Preprocess.TARGET_CRS: "EPSG:3035",
         Preprocess.OUTPUT: QgsProcessing.TEMPORARY_OUTPUT}), Preprocess.OUTPUT)


def add_change_graph(builder, pp_a, pp_b, imd_a, imd_b, ibu_a, ibu_b):
    """RMSD, CHM (+ 20 m, 100 m) and the 16 change layers; returns the publish sources."""
    builder.child("rmsd", Rmsd, "RMSD A-B", 1, 0, {Rmsd.INPUT_A: pp_a, Rmsd.INPUT_B: pp_b})
    builder.child("changemask", ChangeMask, "Change mask (CHM)", 1, 1,
                  {ChangeMask.INPUT: child("rmsd", Rmsd.OUTPUT)})
    chm = child("changemask", ChangeMask.OUTPUT)
    publish = {"RMSD": child("rmsd", Rmsd.OUTPUT), "CHM": chm,
               Publish.THRESHOLDS: child("changemask", ChangeMask.OUTPUT_THRESHOLDS)}
    for row, resolution in ((2, 20), (3, 100)):
        child_id = builder.child(
            f"chm_{resolution}", Aggregate, f"CHM at {resolution} m", 1, row,
            {Aggregate.INPUT: chm, Aggregate.METHOD: Aggregate.MEAN, Aggregate.RESOLUTION: resolution,
             Aggregate.SCALE: 100, Aggregate.STYLE: Aggregate.STYLE_CHM})
        publish[f"CHM_{resolution}"] = child(child_id, Aggregate.OUTPUT)
    changes = [(imd_a, imd_b, False, 20, "IMDC", "IMCC"), (imd_a, imd_b, False, 100, "IMDC", "IMCC"),
               (ibu_a, ibu_b, True, 20, "IBUDC", "IBUC"), (ibu_a, ibu_b, True, 100, "SBUC", "SBCC")]
    for row, (status_a, status_b, binary, resolution, continuous, classified) in enumerate(changes):
        change_id = builder.child(
            f"{continuous.lower()}_{resolution}", ChangeContinuous,
            f"{continuous} / {continuous}S {resolution} m", 3, 2 * row,
            {ChangeContinuous.STATUS_A: status_a, ChangeContinuous.STATUS_B: status_b,
             ChangeContinuous.CHANGE_MASK: chm, ChangeContinuous.RESOLUTION: resolution,
             ChangeContinuous.BINARY_STATUS: binary})
        publish[f"{continuous}_{resolution}"] = child(change_id, ChangeContinuous.OUTPUT)
        publish[f"{continuous}S_{resolution}"] = child(change_id, ChangeContinuous.OUTPUT_SUPPORT)
        for offset, (output, name) in enumerate(((ChangeContinuous.OUTPUT, classified),
                                                 (ChangeContinuous.OUTPUT_SUPPORT, f"{classified}S"))):
            class_id = builder.child(
                f"{name.lower()}_{resolution}", ClassifyChange, f"{name} {resolution} m", 4,
                2 * row + offset,
                {ClassifyChange.STATUS_A: status_a, ClassifyChange.CHANGE: child(change_id, output),
                 ClassifyChange.BINARY_STATUS: binary})
            publish[f"{name}_{resolution}"] = child(class_id, ClassifyChange.OUTPUT)
    return publish


def add_imd_graph(builder, pp_a, pp_b, models=None):
    """RIMD (+ SD, IMDCL), sealing masks, calibration, IMD_B and IMD_B 100 m."""
    builder.child("predict_imd", Predict, "U-Net RIMD (year B)", 2, 0,
                  {Predict.INPUT: pp_b, Predict.MODELS: models or param("MODELS_IMD"),
                   Predict.SHIPPED_TARGET: Predict.SHIPPED_IMD,
                   Predict.OUTPUT_SD: QgsProcessing.TEMPORARY_OUTPUT,
                   Predict.OUTPUT_CONFIDENCE: QgsProcessing.TEMPORARY_OUTPUT})
    rimd = child("predict_imd", Predict.OUTPUT)
    builder.child("sealingmask_a", SealingMask, "Sealing mask year A", 2, 1,
                  {SealingMask.IMPERVIOUSNESS: param("IMD_A"), SealingMask.CLCPLUS: param("CLCPLUS_A")})
    builder.child("sealingmask_b", SealingMask, "Sealing mask year B", 2, 2,
                  {SealingMask.IMPERVIOUSNESS: rimd, SealingMask.CLCPLUS: param("CLCPLUS_B")})
    builder.child("calibrate", Calibrate, "IMD calibration (year A)", 2, 3,
                  {Calibrate.IMD_A: param("IMD_A"),
                   Calibrate.SEALING_MASK_A: child("sealingmask_a", SealingMask.OUTPUT),
                   Calibrate.PP_A: pp_a, Calibrate.IBU_A: param("IBU_A")})
    builder.child("applycalibration", ApplyCalibration, "IMD year B", 2, 4,
                  {ApplyCalibration.RAW_IMD: rimd,
                   ApplyCalibration.SEALING_MASK_B: child("sealingmask_b", SealingMask.OUTPUT),
                   ApplyCalibration.PP_B: pp_b,
                   ApplyCalibration.CALIBRATION: child("calibrate", Calibrate.OUTPUT)})
    imd_b = child("applycalibration", ApplyCalibration.OUTPUT)
    builder.child("imd_100", Aggregate, "IMD year B at 100 m", 2, 5,
                  {Aggregate.INPUT: imd_b, Aggregate.METHOD: Aggregate.MEAN, Aggregate.RESOLUTION: 100})
    return {"RIMD": rimd, "RIMD_SD": child("predict_imd", Predict.OUTPUT_SD),
            "IMDCL": child("predict_imd", Predict.OUTPUT_CONFIDENCE),
            "IMD_MSK_A": child("sealingmask_a", SealingMask.OUTPUT),
            "IMD_MSK_B": child("sealingmask_b", SealingMask.OUTPUT),
            Publish.CALIBRATION: child("calibrate", Calibrate.OUTPUT), "IMD_B": imd_b,
            "IMD_B_100": child("imd_100", Aggregate.OUTPUT)}


def add_ibu_graph(builder, pp_b, models=None):
    """RIBUD (+ SD, IBUCL), IBU_B and SBU_B."""
    builder.child("predict_ibu", Predict, "U-Net RIBUD (year B)", 2, 6,
                  {Predict.INPUT: pp_b, Predict.MODELS: models or param("MODELS_IBU"),
                   Predict.SHIPPED_TARGET: Predict.SHIPPED_IBU,
                   Predict.OUTPUT_SD: QgsProcessing.TEMPORARY_OUTPUT,
                   Predict.OUTPUT_CONFIDENCE: QgsProcessing.TEMPORARY_OUTPUT})
    builder.child("builtup", Builtup, "IBU year B", 2, 7,
                  {Builtup.INPUT: child("predict_ibu", Predict.OUTPUT)})
    builder.child("sbu", Aggregate, "SBU year B (100 m)", 2, 8,
                  {Aggregate.INPUT: child("builtup", Builtup.OUTPUT), Aggregate.METHOD: Aggregate.MEAN,
                   Aggregate.RESOLUTION: 100, Aggregate.SCALE: 100, Aggregate.STYLE: Aggregate.STYLE_SBU})
    return {"RIBUD": child("predict_ibu", Predict.OUTPUT),
            "RIBUD_SD": child("predict_ibu", Predict.OUTPUT_SD),
            "IBUCL": child("predict_ibu", Predict.OUTPUT_CONFIDENCE),
            "IBU_B": child("builtup", Builtup.OUTPUT), "SBU_B": child("sbu", Aggregate.OUTPUT)}


TEXT_PARAMETERS = ("S2_A", "S2_B", "YEAR_A", "YEAR_B")


def add_publish(builder, sources, run_parameters, models=()):
    """imperviousness:publish with every product, the years, the run parameters and the folder.

    `models`: the targets whose MODELS_<target> model parameter lists the .onnx files, or a dict
    target -> source (e.g. the trained model of a trainmodel child).
    """
    if not isinstance(models, dict):
        models = {target: param(f"MODELS_{target}") for target in models}
    model_parameters = {"IMD": Publish.MODELS_IMD, "IBU": Publish.MODELS_IBU}
    extra = {model_parameters[target]: source for target, source in models.items()}
    # The run parameters as 'NAME=value' lines built by an expression over the model's variables.
    # Layer parameters are left out: 3.22 expressions see no file name for them (publish adds the
    # reference layers it receives itself).
    unknown = set(sources) - set(PRODUCTS) - {Publish.CALIBRATION, Publish.THRESHOLDS, Publish.IMD_A, Publish.IBU_A}
    if unknown:
        raise ValueError(f"imperviousness:publish has no parameter {sorted(unknown)}")
    texts = [name for name in run_parameters if name in TEXT_PARAMETERS]
    lines = ", char(10), ".join(f"'{name}=', @{name}" for name in texts + ["OUTPUT_FOLDER"])
    builder.child("publish", Publish, "Publish HRL products and report", 5, 0,
                  {Publish.YEAR_A: param("YEAR_A"), Publish.YEAR_B: param("YEAR_B"),
                   Publish.OUTPUT_FOLDER: param("OUTPUT_FOLDER"),
                   Publish.RUN_PARAMETERS: expr(f"concat({lines})"), **sources, **extra})


# -- the four models ----------------------------------------------------------------------------

def build_full(train_first=False, from_pp=False):
    """ATBD Figure 2; with train_first the U-Nets are trained on year A before predicting year B;
    with from_pp the graph starts from existing PP stacks instead of Sentinel-2 folders."""
    models_text = ("U-Net IMD and IBU models trained on the PP of year A against IMD_A (+ CLCplus_A) "
                   "and IBU_A first (TRAIN_STEPS steps, optionally from INIT_MODEL_IMD / "
                   "INIT_MODEL_IBU), then RIMD / RIBUD of year B" if train_first else
                   "U-Net RIMD / RIBUD (shipped ensemble or your .onnx models)")
    name = "hrl_imperviousness" + ("_train" if train_first else "") + ("_pp" if from_pp else "")
    builder = ModelBuilder(
        name, "HRL Imperviousness A to B" + (", training on year A first" if train_first else "")
        + (", from existing PP stacks" if from_pp else ""),
        "The whole HRL Imperviousness A-to-B workflow (ATBD Figure 2): "
        + ("existing PP stacks of both years (on the grid of IMD_A)" if from_pp
           else "PP of both years") + ", RMSD, "
        f"change mask, {models_text}, IMD calibration, "
        "IMD_B, IBU_B, SBU_B, the 20 m and 100 m change layers, confidence; published with HRL "
        "names, QML styles and report.html into OUTPUT_FOLDER. The PP stacks are computed on the "
        "extent of IMD_A so that every product shares its EEA grid.")
    if not from_pp:
        add_s2(builder, ("A", "B"))
    add_years(builder)
    layers = [("PP_A", "PP stack of year A"), ("PP_B", "PP stack of year B")] if from_pp else []
    for layer, description in layers + [("IMD_A", "IMD of year A (10 m, 0..100)"),
                                        ("IBU_A", "IBU of year A (10 m, 0/1)"),
                                        ("CLCPLUS_A", "CLCplus Backbone of year A"),
                                        ("CLCPLUS_B", "CLCplus Backbone of year B")]:
        add_layer(builder, layer, description)
    if train_first:
        add_training_parameters(builder)
    else:
        add_models(builder, "IMD")
        add_models(builder, "IBU")
    add_output_folder(builder)
    if from_pp:
        pp_a, pp_b = param("PP_A"), param("PP_B")
    else:
        pp_a = add_preprocess(builder, "A", "IMD_A", 0)
        pp_b = add_preprocess(builder, "B", "IMD_A", 1)
    sources = {"PP_A": pp_a, "PP_B": pp_b, Publish.IMD_A: param("IMD_A"), Publish.IBU_A: param("IBU_A")}
    trained = add_training(builder, pp_a) if train_first else {}
    sources.update(add_imd_graph(builder, pp_a, pp_b, trained.get("IMD")))
    sources.update(add_ibu_graph(builder, pp_b, trained.get("IBU")))
    sources.update(add_change_graph(builder, pp_a, pp_b, param("IMD_A"),
                                    child("applycalibration", ApplyCalibration.OUTPUT),
                                    param("IBU_A"), child("builtup", Builtup.OUTPUT)))
    add_publish(builder, sources, ["S2_A", "S2_B", "YEAR_A", "YEAR_B", "IMD_A", "IBU_A",
                                   "CLCPLUS_A", "CLCPLUS_B", "MODELS_IMD", "MODELS_IBU",
                                   "OUTPUT_FOLDER"], models=trained or ("IMD", "IBU"))
    return builder


def add_training_parameters(builder):
    builder.parameter(QgsProcessingParameterNumber(
        "TRAIN_STEPS", "Training steps per model", QgsProcessingParameterNumber.Integer, 600,
        minValue=1))
    builder.parameter(QgsProcessingParameterNumber(
        "TRAIN_PATCH_SIZE", "Training patch size (px, multiple of 8)",
        QgsProcessingParameterNumber.Integer, 128, minValue=16))
    for target in ("IMD", "IBU"):
        builder.parameter(QgsProcessingParameterFile(
            f"INIT_MODEL_{target}", f"Start the {target} model from this .onnx (transfer learning)",
            extension="onnx", optional=True))


def add_training(builder, pp_a):
    """imperviousness:trainmodel for IMD (IMD_A + CLCplus_A) and IBU (IBU_A) on the PP of year A."""
    builder.child("train_imd", TrainModel, "Train the IMD U-Net on year A", 2, 10,
                  {TrainModel.INPUT: pp_a, TrainModel.REFERENCE: param("IMD_A"),
                   TrainModel.TARGET: TrainModel.TARGET_IMD, TrainModel.CLCPLUS: param("CLCPLUS_A"),
                   TrainModel.INIT_MODEL: param("INIT_MODEL_IMD"), TrainModel.STEPS: param("TRAIN_STEPS"),
                   TrainModel.PATCH_SIZE: param("TRAIN_PATCH_SIZE")})
    builder.child("train_ibu", TrainModel, "Train the IBU U-Net on year A", 2, 11,
                  {TrainModel.INPUT: pp_a, TrainModel.REFERENCE: param("IBU_A"),
                   TrainModel.TARGET: TrainModel.TARGET_IBU,
                   TrainModel.INIT_MODEL: param("INIT_MODEL_IBU"), TrainModel.STEPS: param("TRAIN_STEPS"),
                   TrainModel.PATCH_SIZE: param("TRAIN_PATCH_SIZE")})
    return {"IMD": child("train_imd", TrainModel.OUTPUT), "IBU": child("train_ibu", TrainModel.OUTPUT)}


def build_full_train_first():
    return build_full(train_first=True)


def build_full_from_pp():
    return build_full(from_pp=True)


def build_imd():
    builder = ModelBuilder(
        "hrl_imd", "HRL IMD of year B",
        "IMD of year B: PP of both years, U-Net RIMD, sealing masks, calibration on year A, "
        "IMD_B at 10 m and 100 m and IMDCL, published with HRL names, styles and a report.")
    add_s2(builder, ("A", "B"))
    add_years(builder)
    for name, description in (("IMD_A", "IMD of year A (10 m, 0..100)"),
                              ("IBU_A", "IBU of year A (10 m, 0/1)"),
                              ("CLCPLUS_A", "CLCplus Backbone of year A"),
                              ("CLCPLUS_B", "CLCplus Backbone of year B")):
        add_layer(builder, name, description)
    add_models(builder, "IMD")
    add_output_folder(builder)
    pp_a = add_preprocess(builder, "A", "IMD_A", 0)
    pp_b = add_preprocess(builder, "B", "IMD_A", 1)
    sources = {"PP_A": pp_a, "PP_B": pp_b, Publish.IMD_A: param("IMD_A")}
    sources.update(add_imd_graph(builder, pp_a, pp_b))
    add_publish(builder, sources, ["S2_A", "S2_B", "YEAR_A", "YEAR_B", "IMD_A", "IBU_A",
                                   "CLCPLUS_A", "CLCPLUS_B", "MODELS_IMD", "OUTPUT_FOLDER"],
                models=("IMD",))
    return builder


def build_ibu():
    builder = ModelBuilder(
        "hrl_ibu", "HRL IBU of year B",
        "IBU of year B: PP of year B on the extent of IBU_A, U-Net RIBUD, IBU_B, SBU_B and IBUCL, "
        "published with HRL names, styles and a report (year-A built-up share from IBU_A).")
    add_s2(builder, ("B",))
    add_years(builder)
    add_layer(builder, "IBU_A", "IBU of year A (10 m, 0/1; sets the extent)")
    add_models(builder, "IBU")
    add_output_folder(builder)
    pp_b = add_preprocess(builder, "B", "IBU_A", 1)
    sources = {"PP_B": pp_b, Publish.IBU_A: param("IBU_A")}
    sources.update(add_ibu_graph(builder, pp_b))
    add_publish(builder, sources, ["S2_B", "YEAR_A", "YEAR_B", "IBU_A", "MODELS_IBU",
                                   "OUTPUT_FOLDER"], models=("IBU",))
    return builder


def build_change():
    builder = ModelBuilder(
        "hrl_change", "HRL change layers from existing PP stacks and status layers",
        "The change layers from existing PP stacks of both years and the status layers of both "
        "years: RMSD, CHM (10, 20, 100 m), IMDC(S)/IMCC(S) at 20 and 100 m, IBUDC(S)/IBUC(S) at "
        "20 m, SBUC(S)/SBCC(S) at 100 m, published with HRL names, styles and a report.")
    add_years(builder)
    for name, description in (("PP_A", "PP stack of year A"), ("PP_B", "PP stack of year B"),
                              ("IMD_A", "IMD of year A (10 m)"), ("IMD_B", "IMD of year B (10 m)"),
                              ("IBU_A", "IBU of year A (10 m)"), ("IBU_B", "IBU of year B (10 m)")):
        add_layer(builder, name, description)
    add_output_folder(builder)
    sources = {Publish.IMD_A: param("IMD_A"), Publish.IBU_A: param("IBU_A")}
    sources.update(add_change_graph(builder, param("PP_A"), param("PP_B"), param("IMD_A"),
                                    param("IMD_B"), param("IBU_A"), param("IBU_B")))
    add_publish(builder, sources, ["PP_A", "PP_B", "IMD_A", "IMD_B", "IBU_A", "IBU_B", "YEAR_A",
                                   "YEAR_B", "OUTPUT_FOLDER"])
    return builder


BUILDERS = (build_full, build_full_train_first, build_full_from_pp, build_imd, build_ibu, build_change)


def main():
    folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "models")
    folder.mkdir(parents=True, exist_ok=True)
    application = QgsApplication([], False)
    application.initQgis()
    from imperviousness_plugin.provider import ImperviousnessProvider
    provider = ImperviousnessProvider()  # keep a reference: the registry does not own it in Python
    QgsApplication.processingRegistry().addProvider(provider)
    for build in BUILDERS:
        print(build().save(folder))
    application.exitQgis()


if __name__ == "__main__":
    main()
