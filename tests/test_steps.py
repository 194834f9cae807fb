"""The step catalogue (imperviousness_plugin/steps): one definition read by adapters, graphs and runner."""

import gc

import pytest

from imperviousness_plugin import graph as graphs
from imperviousness_plugin.steps import catalogue
from imperviousness_plugin.steps.spec import Parameter, option_name


def test_catalogue_names_are_checked_attributes():
    assert catalogue.AGGREGATE.RESOLUTION == "RESOLUTION"
    assert catalogue.CALIBRATE.NEW_MINIMUM == "NEW_MINIMUM"   # an output
    with pytest.raises(AttributeError, match="aggregate has no parameter or output RESOLUTON"):
        catalogue.AGGREGATE.RESOLUTON


def test_enum_defaults_are_option_names_with_indices():
    style = catalogue.AGGREGATE.parameter(catalogue.AGGREGATE.STYLE)
    assert style.option_names == ["auto", "imd", "sbu", "chm_percent", "change", "none"]
    assert style.index("sbu") == 2 and style.option("2") == "sbu" and style.option(None) == "auto"
    with pytest.raises(ValueError, match="'sbux' is not one of"):
        style.index("sbux")
    with pytest.raises(ValueError, match="default 'x' is not one of"):
        Parameter("M", "enum", "M", "", default="x", options=("a", "b"))


def test_values_fill_the_catalogue_defaults_and_convert_plain_values():
    values = catalogue.AGGREGATE.values({"INPUT": "a.tif", "RESOLUTION": "20", "METHOD": 1})
    assert values == {"INPUT": "a.tif", "METHOD": "max", "RESOLUTION": 20.0, "MIN_VALID_FRACTION": 0.5,
                      "SCALE": 1.0, "STYLE": "auto"}
    assert catalogue.CHANGECONTINUOUS.values({"BINARY_STATUS": "true"})["BINARY_STATUS"] is True


def test_core_defaults_are_the_catalogue_defaults():
    """The catalogue imports the core's constants: the core function's keyword default is the
    algorithm's default (read from the function signatures, not repeated here)."""
    import inspect
    pairs = [(catalogue.BUILTUP, "THRESHOLD", "threshold"), (catalogue.SEALINGMASK, "THRESHOLD", "threshold"),
             (catalogue.SEALINGMASK, "COMBINE", "combine"), (catalogue.CONFIDENCE, "THRESHOLD", "threshold"),
             (catalogue.CALIBRATE, "MIN_SAMPLES", "min_samples"),
             (catalogue.AGGREGATE, "MIN_VALID_FRACTION", "min_valid_fraction")]
    for step, name, keyword in pairs:
        signature = inspect.signature(step.core_function())
        assert signature.parameters[keyword].default == step.default(name), (step.id, name)


def test_every_graph_step_names_catalogue_parameters_only():
    for build in (graphs.full_graph, graphs.imd_graph, graphs.ibu_graph, graphs.change_graph):
        for step in build().steps:
            entry = catalogue.step(step.algorithm)
            for name in step.parameters:
                entry.parameter(name)
    graph = graphs.Graph("g", "", "")
    with pytest.raises(KeyError, match="imperviousness:aggregate has no parameter RESOLUTON"):
        graph.child("a", catalogue.AGGREGATE, "", 0, 0, {"RESOLUTON": 20})
    with pytest.raises(ValueError, match="'median' is not one of"):
        graph.child("a", catalogue.AGGREGATE, "", 0, 0, {"METHOD": "median"})


def test_adapters_declare_exactly_the_catalogue(provider):
    """Each Processing algorithm's definitions are the catalogue's: names, order, defaults (enum by
    index), optional and advanced flags, and the outputs."""
    from imperviousness_plugin.algorithms import all_algorithms
    algorithms = all_algorithms()
    assert [algorithm.name() for algorithm in algorithms] == [
        step_id for step_id in catalogue.STEPS]
    for algorithm in algorithms:
        algorithm.initAlgorithm()
        entry = catalogue.step(algorithm.name())
        definitions = algorithm.parameterDefinitions()
        assert [d.name() for d in definitions] == [p.name for p in entry.parameters]
        for definition, parameter in zip(definitions, entry.parameters):
            expected = parameter.default
            if parameter.kind == "enum" and expected is not None:
                assert option_name(definition.options()[definition.defaultValue()]) == expected
            elif not parameter.is_destination and expected is not None:
                assert definition.defaultValue() == expected, (algorithm.name(), parameter.name)
            assert bool(definition.flags() & definition.FlagOptional) == parameter.optional
            assert bool(definition.flags() & definition.FlagAdvanced) == parameter.advanced
            assert definition.help() == parameter.help
        outputs = {output.name() for output in algorithm.outputDefinitions()}
        assert {item.name for item in entry.outputs} <= outputs
    # Destroy the unregistered algorithms while QGIS is still up (not at interpreter exit).
    del algorithm, definitions, definition, algorithms
    gc.collect()
