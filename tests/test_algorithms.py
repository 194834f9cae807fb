"""The algorithm layer's shared contract (algorithms/base.py), through qgis_process and in-process.

- parameter names are class constants, enum options have named indices;
- enum parameters accept option names as well as indices (SPEC section 3);
- `qgis_process help` shows plain text: description, one sentence per parameter, defaults;
- an output at the path of an input or of another output, or with the extension of another
  format, is refused before anything is written, naming both parameters and the path.
"""

import hashlib
import os
import re

import numpy as np
import pytest
from osgeo import gdal

from rasters import write_raster

gdal.UseExceptions()
NODATA = 255
# 20 x 20 Byte pixels of 10 m on the EEA grid: 2 x 2 cells of 100 m.
VALUES = (np.arange(400).reshape(20, 20) * 7 % 101).astype(np.uint8)


def algorithms(provider):
    return [algorithm for algorithm in provider.algorithms() if algorithm.id() in ALGORITHM_IDS]


ALGORITHM_IDS = {f"imperviousness:{name}" for name in (
    "aligngrid", "preprocess", "stacsearch", "rmsd", "changemask", "predict", "trainmodel", "sealingmask",
    "calibrate",
    "applycalibration", "builtup", "confidence", "aggregate", "changecontinuous", "classifychange",
    "publish", "runtiles")}


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def listing(folder):
    """The folder's files; QGIS's .aux.xml statistics beside inputs are another issue's point."""
    return sorted(name for name in os.listdir(folder) if not name.endswith(".aux.xml"))


@pytest.fixture
def raster(tmp_path):
    return write_raster(tmp_path / "in.tif", VALUES, nodata=NODATA)


# -- declarations -------------------------------------------------------------------------------

def test_every_algorithm_is_registered(provider):
    assert {algorithm.id() for algorithm in algorithms(provider)} == ALGORITHM_IDS


def test_parameter_and_output_names_are_class_constants(provider):
    from imperviousness_plugin.core.products.publish import PRODUCTS
    for algorithm in algorithms(provider):
        names = {d.name() for d in algorithm.parameterDefinitions()}
        names |= {o.name() for o in algorithm.outputDefinitions()}
        # publish's product parameters are the product catalogue's keys; calibrate's numeric
        # outputs are declared, with their labels, in its NUMBERS table.
        names -= set(PRODUCTS) if algorithm.name() == "publish" else set()
        names -= {name for name, _ in getattr(algorithm, "NUMBERS", ())}
        for name in names:
            assert getattr(type(algorithm), name, None) == name, (algorithm.id(), name)


def test_enum_options_have_named_indices(provider):
    for algorithm in algorithms(provider):
        for definition in algorithm.parameterDefinitions():
            if definition.type() != "enum":
                continue
            options = getattr(type(algorithm), f"O_{definition.name()}")
            assert definition.options() == list(options), (algorithm.id(), definition.name())
            assert definition.usesStaticStrings() is False
            assert definition.defaultValue() in range(len(options))


def test_named_indices_point_at_their_options(provider):
    from imperviousness_plugin.algorithms import (AggregateAlgorithm, PredictAlgorithm,
                                                  RmsdAlgorithm, SealingMaskAlgorithm,
                                                  TrainModelAlgorithm)
    assert AggregateAlgorithm.O_METHOD[AggregateAlgorithm.METHOD_MEAN_CHANGE] == "mean_change"
    assert AggregateAlgorithm.O_STYLE[AggregateAlgorithm.STYLE_SBU].startswith("sbu (")
    assert AggregateAlgorithm.O_STYLE[AggregateAlgorithm.STYLE_CHM_PERCENT].startswith("chm_percent (")
    assert PredictAlgorithm.O_SHIPPED_TARGET[PredictAlgorithm.SHIPPED_TARGET_IBU] == "IBU"
    assert PredictAlgorithm.O_TTA[PredictAlgorithm.TTA_DIHEDRAL] == "dihedral"
    assert RmsdAlgorithm.O_METHOD[RmsdAlgorithm.METHOD_EUCLIDEAN] == "euclidean"
    assert SealingMaskAlgorithm.O_COMBINE[SealingMaskAlgorithm.COMBINE_UNION] == "union"
    assert TrainModelAlgorithm.O_TARGET[TrainModelAlgorithm.TARGET_IBU] == "IBU"


def test_groups_come_from_one_enum(provider):
    from imperviousness_plugin.algorithms.base import Group
    for algorithm in algorithms(provider):
        assert isinstance(algorithm.GROUP, Group)
        assert (algorithm.groupId(), algorithm.group()) == algorithm.GROUP.value


# -- enum option names ----------------------------------------------------------------------------

def test_every_enum_option_is_read_by_name_and_index(provider):
    from qgis.core import QgsProcessingContext

    from imperviousness_plugin.steps.spec import option_name
    context = QgsProcessingContext()
    for algorithm in algorithms(provider):
        for definition in algorithm.parameterDefinitions():
            if definition.type() != "enum":
                continue
            name = definition.name()
            for index, label in enumerate(definition.options()):
                for value in (index, str(index), option_name(label), option_name(label).upper(), label):
                    assert algorithm.parameterAsEnum({name: value}, name, context) == index, (
                        algorithm.id(), name, value)


def enum_cases(provider):
    """(algorithm id, enum parameter, a non-default option name, the required layer inputs)."""
    from imperviousness_plugin.steps.spec import option_name
    cases = []
    for algorithm in algorithms(provider):
        layers = [d.name() for d in algorithm.parameterDefinitions()
                  if d.type() in ("raster", "layer") and not d.flags() & d.FlagOptional]
        for definition in algorithm.parameterDefinitions():
            if definition.type() == "enum":
                last = option_name(definition.options()[-1])
                cases.append((algorithm.id(), definition.name(), last, layers))
    return cases


def test_qgis_process_accepts_every_enum_parameter_by_name(provider, qgis_process, raster, tmp_path):
    """Each enum given by name passes the parameter check and reaches the output guard (the run
    is then refused because OUTPUT names the input): nothing is computed or written."""
    cases = enum_cases(provider)
    assert len(cases) == 8                 # trainmodel DEVICE is the eighth (issue 23)
    before = digest(raster)
    for algorithm_id, parameter, name, layers in cases:
        arguments = [f"{layer}={raster}" for layer in layers] + [f"{parameter}={name}", f"OUTPUT={raster}"]
        result = qgis_process("run", algorithm_id, "--", *arguments, check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0 and "is not an option" not in output, (algorithm_id, output)
        assert "would replace the input" in output or "has the extension" in output, (algorithm_id, output)
        wrong = qgis_process("run", algorithm_id, "--", *arguments[:-2], f"{parameter}=no_such_option",
                             f"OUTPUT={tmp_path / 'x.tif'}", check=False)
        assert wrong.returncode != 0
        assert f"{parameter}: 'no_such_option' is not an option" in wrong.stdout + wrong.stderr
    assert digest(raster) == before and listing(tmp_path) == ["in.tif"]


def read(path):
    dataset = gdal.Open(str(path))   # kept referenced while its band is read
    return dataset.GetRasterBand(1).ReadAsArray()


def test_aggregate_by_name_equals_by_index_and_the_reference(qgis_process, raster, tmp_path):
    blocks = VALUES.reshape(2, 10, 2, 10).transpose(0, 2, 1, 3).reshape(2, 2, 100)
    references = {"mean": np.rint(blocks.mean(axis=2)), "max": blocks.max(axis=2)}
    for index, method in enumerate(("mean", "max")):
        paths = []
        for value in (method, str(index)):
            paths.append(tmp_path / f"{method}_{value}.tif")
            qgis_process("run", "imperviousness:aggregate", "--", f"INPUT={raster}",
                         f"METHOD={value}", "RESOLUTION=100", "STYLE=none", f"OUTPUT={paths[-1]}")
        assert read(paths[0]).tolist() == references[method].tolist()
        assert open(paths[0], "rb").read() == open(paths[1], "rb").read()
    # STYLE by name: the SBU legend's QML beside the output, as with its index.
    qgis_process("run", "imperviousness:aggregate", "--", f"INPUT={raster}", "STYLE=sbu",
                 f"OUTPUT={tmp_path / 'sbu_name.tif'}")
    qgis_process("run", "imperviousness:aggregate", "--", f"INPUT={raster}", "STYLE=2",
                 f"OUTPUT={tmp_path / 'sbu_index.tif'}")
    assert (tmp_path / "sbu_name.qml").read_bytes() == (tmp_path / "sbu_index.qml").read_bytes()


def test_sealingmask_combine_by_name(qgis_process, tmp_path):
    # sealed class = CLCplus code 1; union adds density >= THRESHOLD (90), intersection and outline
    # use the outline density >= OUTLINE_MIN (1).
    density = write_raster(tmp_path / "imd.tif", [[0, 5, 50], [80, 95, 2]], nodata=NODATA, dtype=np.uint8)
    clcplus = write_raster(tmp_path / "clc.tif", [[1, 1, 2], [1, 3, 3]], nodata=NODATA, dtype=np.uint8)
    expected = {"intersection": [[0, 1, 0], [1, 0, 0]], "union": [[1, 1, 0], [1, 1, 0]],
                "outline": [[0, 1, 1], [1, 1, 1]]}
    for combine, index in (("union", 1), ("intersection", 0), ("outline", 2)):
        for value in (combine, index):
            output = tmp_path / f"mask_{value}.tif"
            qgis_process("run", "imperviousness:sealingmask", "--", f"IMPERVIOUSNESS={density}",
                         f"CLCPLUS={clcplus}", f"COMBINE={value}", f"OUTPUT={output}")
            assert read(output).tolist() == expected[combine], value


# -- help -----------------------------------------------------------------------------------------

# HTML tags (qgis_process's own "<outputRaster>" type notation is not one).
HTML_TAG = re.compile(r"</?(b|i|p|br|html|body|h[1-6]|ul|ol|li|a|span|div|table|tr|td|em|strong|code|pre)\b[^>]*>",
                      re.IGNORECASE)


def test_qgis_process_help_is_plain_text_with_every_parameter(provider, qgis_process):
    """Every algorithm and every shipped model (QGIS would render a model's help as HTML)."""
    assert len(provider.algorithms()) == len(ALGORITHM_IDS) + 6
    for algorithm in provider.algorithms():
        text = qgis_process("help", algorithm.id()).stdout
        assert not HTML_TAG.search(text), (algorithm.id(), HTML_TAG.findall(text))
        description = text.split("Description\n----------------\n", 1)[1].split("\n----------------")[0]
        assert "\nParameters:\n" in description
        for definition in algorithm.parameterDefinitions():
            line = [row for row in description.splitlines() if row.startswith(f"- {definition.name()}: ")]
            assert len(line) == 1, (algorithm.id(), definition.name())
            assert line[0].split(": ", 1)[1].strip()[0].isupper()      # a sentence, not empty
    aggregate = qgis_process("help", "imperviousness:aggregate").stdout
    assert "- METHOD: The aggregation rule, described above. (one of: mean, max, mean_change; default: mean)" \
        in aggregate
    assert "- RESOLUTION: " in aggregate and "(default: 100)" in aggregate
    assert "(one of: auto, imd, sbu, chm_percent, change, none; default: auto)" in aggregate


def test_help_defaults_follow_the_definitions(provider):
    from imperviousness_plugin.core.features.changemask import DEFAULT_LOWER_PERCENTILE
    changemask = provider.algorithm("changemask")
    text = changemask.shortHelpString()
    assert f"- LOWER_PERCENTILE: " in text and f"(default: {DEFAULT_LOWER_PERCENTILE:g})" in text
    assert "- LOWER_THRESHOLD: " in text and "(optional)" in text
    assert "(default: yes)" not in text
    change = provider.algorithm("changecontinuous").shortHelpString()
    assert "- BINARY_STATUS: Whether the status layers are 0/1 built-up layers, counted as 0/100 %. " \
           "(default: no)" in change


# -- output guards --------------------------------------------------------------------------------

def refused(qgis_process, folder, protected, algorithm_id, *arguments):
    """Run, expect a refusal; the protected files keep their bytes and nothing new appears."""
    before = {path: digest(path) for path in protected}
    files = listing(folder)
    result = qgis_process("run", algorithm_id, "--", *arguments, check=False)
    assert result.returncode != 0
    assert {path: digest(path) for path in protected} == before
    assert listing(folder) == files
    return result.stdout + result.stderr


def test_output_equal_to_an_input_is_refused(qgis_process, raster, tmp_path):
    rmsd = write_raster(tmp_path / "rmsd.tif", VALUES.astype(np.float32) / 100, nodata=None)
    cases = [("imperviousness:aggregate", "INPUT", [f"INPUT={raster}"]),
             ("imperviousness:builtup", "INPUT", [f"INPUT={raster}"]),
             ("imperviousness:changemask", "INPUT", [f"INPUT={rmsd}"]),
             ("imperviousness:rmsd", "INPUT_B", [f"INPUT_A={rmsd}", f"INPUT_B={raster}"])]
    for algorithm_id, input_name, arguments in cases:
        target = arguments[-1].split("=", 1)[1]
        message = refused(qgis_process, tmp_path, [raster, rmsd], algorithm_id, *arguments,
                          f"OUTPUT={target}")
        assert f"OUTPUT would replace the input {input_name} ({target})" in message, message


def test_output_reaching_an_input_through_a_link_or_relative_path_is_refused(qgis_process, raster,
                                                                                tmp_path):
    os.symlink(raster, tmp_path / "link.tif")
    message = refused(qgis_process, tmp_path, [raster], "imperviousness:aggregate",
                      f"INPUT={raster}", f"OUTPUT={tmp_path / 'link.tif'}")
    assert f"OUTPUT would replace the input INPUT ({tmp_path / 'link.tif'})" in message
    relative = os.path.relpath(raster)
    message = refused(qgis_process, tmp_path, [raster], "imperviousness:aggregate",
                      f"INPUT={raster}", f"OUTPUT={relative}")
    assert f"OUTPUT would replace the input INPUT ({relative})" in message


def test_two_outputs_at_one_path_are_refused(qgis_process, raster, tmp_path):
    target = tmp_path / "C.tif"
    message = refused(qgis_process, tmp_path, [raster], "imperviousness:changecontinuous",
                      f"STATUS_A={raster}", f"STATUS_B={raster}", f"CHANGE_MASK={raster}",
                      f"OUTPUT={target}", f"OUTPUT_SUPPORT={tmp_path / '.' / 'C.tif'}")
    assert f"OUTPUT and OUTPUT_SUPPORT are the same file ({tmp_path / '.' / 'C.tif'})" in message


def test_model_file_replacing_its_initial_model_is_refused(qgis_process, raster, tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"not read: the run is refused first")
    message = refused(qgis_process, tmp_path, [raster, model], "imperviousness:trainmodel",
                      f"INPUT={raster}", f"REFERENCE={raster}", f"INIT_MODEL={model}",
                      f"OUTPUT={model}")
    assert f"OUTPUT would replace the input INIT_MODEL ({model})" in message


def test_output_extension_of_another_format_is_refused(qgis_process, raster, tmp_path):
    message = refused(qgis_process, tmp_path, [raster], "imperviousness:aggregate",
                      f"INPUT={raster}", f"OUTPUT={tmp_path / 'A.png'}")
    assert f"OUTPUT: {tmp_path / 'A.png'} has the extension .png; this output is written as .tif, .tiff only" \
        in message
    message = refused(qgis_process, tmp_path, [raster], "imperviousness:changemask",
                      f"INPUT={raster}", f"OUTPUT={tmp_path / 'chm.tif'}",
                      f"OUTPUT_THRESHOLDS={tmp_path / 't.txt'}")
    assert (f"OUTPUT_THRESHOLDS: {tmp_path / 't.txt'} has the extension .txt; this output is written as "
            ".json, .csv only") in message
    # The upper-case GeoTIFF extension is GeoTIFF too.
    qgis_process("run", "imperviousness:aggregate", "--", f"INPUT={raster}", f"OUTPUT={tmp_path / 'B.TIF'}")
    dataset = gdal.Open(str(tmp_path / "B.TIF"))
    assert dataset.GetDriver().ShortName == "GTiff"


def test_guard_also_holds_when_the_parameter_check_is_skipped(provider, raster):
    """QgsProcessingAlgorithm.run (how models run children) does not call checkParameterValues:
    prepareAlgorithm refuses too."""
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    from imperviousness_plugin.algorithms.base import real_path
    algorithm = provider.algorithm("aggregate").create()
    before = digest(raster)
    results, ok = algorithm.run({"INPUT": raster, "OUTPUT": raster}, QgsProcessingContext(),
                                QgsProcessingFeedback())
    assert not ok and digest(raster) == before
    assert real_path(f"{raster}|layername=x") == real_path(raster)


def test_guard_reads_layer_objects_and_output_definitions(provider, raster):
    """What the dialogs pass: a loaded layer and an output definition."""
    from qgis.core import QgsProcessingContext, QgsProcessingOutputLayerDefinition, QgsRasterLayer

    layer = QgsRasterLayer(raster, "in")
    ok, message = provider.algorithm("aggregate").checkParameterValues(
        {"INPUT": layer, "OUTPUT": QgsProcessingOutputLayerDefinition(raster)}, QgsProcessingContext())
    assert not ok and message == (f"OUTPUT would replace the input INPUT ({raster}); "
                                  "choose another output path.")
    ok, message = provider.algorithm("aggregate").checkParameterValues(
        {"INPUT": layer, "OUTPUT": QgsProcessingOutputLayerDefinition("TEMPORARY_OUTPUT")},
        QgsProcessingContext())
    assert ok, message


def test_tuning_parameters_are_advanced_and_labels_carry_units(provider):
    """The dialogs fold the tuning parameters away (FlagAdvanced); what a user sets first stays."""
    from qgis.core import QgsApplication

    from imperviousness_plugin import compat

    def advanced(algorithm_id):
        algorithm = QgsApplication.processingRegistry().algorithmById(algorithm_id)
        return {d.name() for d in algorithm.parameterDefinitions()
                if d.flags() & compat.ProcessingParameterFlag.Advanced}

    assert advanced("imperviousness:preprocess") == {
        "HARMONIC_ORDER", "SCL_WEIGHTS", "CACHE_FOLDER", "HTTP_TIMEOUT", "MAX_PAGES", "MAX_ITEMS",
        "SCENE_TIME_BUDGET", "GRID"}
    assert advanced("imperviousness:changemask") == {
        "LOWER_PERCENTILE", "UPPER_PERCENTILE", "MIN_SIZE", "LOWER_THRESHOLD", "UPPER_THRESHOLD"}
    assert advanced("imperviousness:calibrate") == {"SAMPLE_SPACING", "HIGH_DENSITY_PERCENTILE", "MIN_SAMPLES"}
    assert advanced("imperviousness:sealingmask") == {"THRESHOLD", "OUTLINE_MIN", "SEALED_SHARE"}
    assert advanced("imperviousness:aggregate") == {"MIN_VALID_FRACTION", "SCALE"}
    changemask = QgsApplication.processingRegistry().algorithmById("imperviousness:changemask")
    assert changemask.parameterDefinition("LOWER_PERCENTILE").description().endswith("%)")
    assert "NDVI units" in changemask.parameterDefinition("LOWER_THRESHOLD").description()
    assert not advanced("imperviousness:builtup")  # its threshold is the one thing to choose
