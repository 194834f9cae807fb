"""The model contract stored in .onnx metadata: round trip, feature computation, clear errors."""

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from imperviousness_plugin.core.errors import ImperviousnessError
from imperviousness_plugin.core.unet.contract import (PREFIX, Feature, ModelContract, attach_contract,
                                                       default_features, load_contract, providers,
                                                       session_options)
from imperviousness_plugin.core.unet.predict import load_ensemble
from imperviousness_plugin.core.features.preprocess import pp_band_names

BANDS = ("Q20_B04", "Q20_B08", "NDVI_A1", "NDVI_PHI1")
FEATURES = (Feature("Q20_B04", "identity", ("Q20_B04",)), Feature("Q20_B08", "identity", ("Q20_B08",)),
            Feature("C1", "amplitude_sin_phase", ("NDVI_A1", "NDVI_PHI1")),
            Feature("S1", "amplitude_cos_phase", ("NDVI_A1", "NDVI_PHI1")))


def contract(**changes):
    values = dict(target="IMD", features=FEATURES, mean=(0.1, 0.3, 0.0, 0.0), std=(0.05, 0.1, 0.2, 0.2),
                  architecture={"type": "test"}, training={"data": "unit test"})
    values.update(changes)
    return ModelContract(**values)


def write_model(path, model_contract, channels=None, input_name="features", output_name="density",
                spatial=("rows", "columns")):
    """A 1x1-convolution + sigmoid model with `channels` inputs carrying the contract."""
    channels = len(model_contract.features) if channels is None else channels
    weight = np.linspace(-1, 1, channels, dtype=np.float32).reshape(1, channels, 1, 1)
    graph = helper.make_graph(
        [helper.make_node("Conv", [input_name, "w"], ["logit"], kernel_shape=[1, 1]),
         helper.make_node("Sigmoid", ["logit"], [output_name])],
        "test", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["n", channels, *spatial])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["n", 1, *spatial])],
        [numpy_helper.from_array(weight, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if model_contract is not None:
        attach_contract(model, model_contract)
    onnx.save(model, str(path))
    return str(path)


def test_round_trip_keeps_every_field(tmp_path):
    original = contract(tile_size=128, overlap=32, alignment=8)
    loaded = load_contract(write_model(tmp_path / "m.onnx", original))
    assert loaded.target == "IMD" and loaded.product == "RIMD"
    assert loaded.features == FEATURES
    assert loaded.mean == original.mean and loaded.std == original.std
    assert (loaded.tile_size, loaded.overlap, loaded.alignment) == (128, 32, 8)
    assert loaded.training == {"data": "unit test"} and loaded.source == "m.onnx"
    assert loaded.bands == BANDS


def test_metadata_keys_are_plain_strings_with_json_values(tmp_path):
    model = onnx.load(write_model(tmp_path / "m.onnx", contract()))
    metadata = {p.key: p.value for p in model.metadata_props}
    assert metadata[PREFIX + "target"] == "IMD" and metadata[PREFIX + "tile_size"] == "256"
    features = json.loads(metadata[PREFIX + "features"])
    assert [f["name"] for f in features] == ["Q20_B04", "Q20_B08", "C1", "S1"]
    assert json.loads(metadata[PREFIX + "output"])["product"] == "RIMD"
    assert "round_half_even" in json.loads(metadata[PREFIX + "output"])["scale"]


def test_prepare_transforms_normalises_and_masks_nodata():
    model_contract = contract()
    a = np.array([[0.5, 0.2]], dtype=np.float32)
    phi = np.array([[np.pi / 6, np.pi]], dtype=np.float32)
    bands = {"Q20_B04": np.array([[0.15, np.nan]], dtype=np.float32),
             "Q20_B08": np.array([[0.4, 0.3]], dtype=np.float32), "NDVI_A1": a, "NDVI_PHI1": phi}
    features, valid = model_contract.prepare(bands)
    assert valid.tolist() == [[True, False]]
    # Hand-worked: (0.15 - 0.1) / 0.05 = 1; (0.4 - 0.3) / 0.1 = 1; 0.5 sin(30 deg) / 0.2 = 1.25;
    # 0.5 cos(30 deg) / 0.2 = 2.1651; the NaN pixel is filled with 0 in every channel.
    np.testing.assert_allclose(features[:, 0, 0], [1.0, 1.0, 1.25, 0.5 * np.cos(np.pi / 6) / 0.2], rtol=1e-5)
    assert features[:, 0, 1].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_default_features_match_the_pp_stack():
    features = default_features(3)
    names = pp_band_names(3)
    assert len(features) == 21
    used = {band for feature in features for band in feature.bands}
    assert used <= set(names) and "NOBS" not in used
    assert not any(feature.transform == "identity" and feature.bands[0].startswith("NDVI_PHI")
                   for feature in features)


def test_missing_band_is_named(tmp_path):
    model_contract = load_contract(write_model(tmp_path / "m.onnx", contract()))
    with pytest.raises(ImperviousnessError, match=r"NDVI_A1, NDVI_PHI1.*pp\.tif"):
        model_contract.check_bands(["Q20_B04", "Q20_B08", "NOBS"], "pp.tif")


def test_load_ensemble_checks_the_pp_bands(tmp_path):
    path = write_model(tmp_path / "m.onnx", contract())
    with pytest.raises(ImperviousnessError, match="needs the PP band.*NDVI_PHI1"):
        load_ensemble([path], ["Q20_B04", "Q20_B08", "NDVI_A1"], "INPUT (pp.tif)")
    assert len(load_ensemble([path], BANDS)) == 1


def test_channel_count_disagreeing_with_the_features(tmp_path):
    path = write_model(tmp_path / "m.onnx", contract(), channels=3)
    with pytest.raises(ImperviousnessError, match="expects 3 input channels but the contract lists 4"):
        load_contract(path)


def test_fixed_spatial_size_other_than_the_tile(tmp_path):
    path = write_model(tmp_path / "m.onnx", contract(), spatial=(128, 128))
    with pytest.raises(ImperviousnessError, match="128 pixels .* tile size is 256"):
        load_contract(path)


def test_input_name_disagreeing(tmp_path):
    path = write_model(tmp_path / "m.onnx", contract(), input_name="x")
    with pytest.raises(ImperviousnessError, match="names the input 'features' but the graph has 'x'"):
        load_contract(path)


def test_model_without_contract(tmp_path):
    path = write_model(tmp_path / "plain.onnx", None, channels=4)
    with pytest.raises(ImperviousnessError, match="plain.onnx carries no HRL model contract"):
        load_contract(path)


@pytest.mark.parametrize("changes,message", [
    ({"target": "XYZ"}, "unknown target 'XYZ'"),
    ({"mean": (0.0,)}, "1 means and 4 standard deviations for 4 features"),
    ({"std": (1.0, 1.0, 0.0, 1.0)}, "positive standard deviations"),
    ({"features": (Feature("x", "log", ("Q20_B04",)),), "mean": (0,), "std": (1,)}, "unknown transform 'log'"),
    ({"features": (Feature("x", "amplitude_sin_phase", ("NDVI_A1",)),), "mean": (0,), "std": (1,)},
     "needs 2 band"),
    ({"tile_size": 100}, "not a multiple of the alignment"),
    ({"overlap": 200}, "overlap 200"),
])
def test_inconsistent_contracts_are_refused(tmp_path, changes, message):
    with pytest.raises(ImperviousnessError, match=message):
        contract(**changes).validate()


def test_edited_metadata_is_validated_on_reading(tmp_path):
    path = write_model(tmp_path / "m.onnx", contract())
    model = onnx.load(path)
    for prop in model.metadata_props:
        if prop.key == PREFIX + "normalisation":
            prop.value = json.dumps({"mean": [0, 0, 0, 0], "std": [1, 1, 1]})
        if prop.key == PREFIX + "contract_version":
            version = prop
    onnx.save(model, path)
    with pytest.raises(ImperviousnessError, match="4 means and 3 standard deviations"):
        load_contract(path)
    version.value = "99"
    onnx.save(model, path)
    with pytest.raises(ImperviousnessError, match="contract version 99"):
        load_contract(path)


def test_unreadable_and_missing_files(tmp_path):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(ImperviousnessError, match="Cannot load model .*garbage.onnx"):
        load_contract(garbage)
    with pytest.raises(ImperviousnessError, match="does not exist"):
        load_contract(tmp_path / "absent.onnx")


def test_ensembles_must_share_target_and_tiling(tmp_path):
    imd = write_model(tmp_path / "imd.onnx", contract())
    ibu = write_model(tmp_path / "ibu.onnx", contract(target="IBU"))
    other = write_model(tmp_path / "other.onnx", contract(tile_size=128, overlap=32))
    with pytest.raises(ImperviousnessError, match="mix targets: imd.onnx predicts IMD but ibu.onnx predicts IBU"):
        load_ensemble([imd, ibu])
    with pytest.raises(ImperviousnessError, match="disagree on tiling"):
        load_ensemble([imd, other])
    with pytest.raises(ImperviousnessError, match="at least one"):
        load_ensemble([])


def test_session_options_are_tuned_for_cpu(monkeypatch):
    import os

    import onnxruntime as ort
    options = session_options()
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert options.intra_op_num_threads == os.cpu_count()
    assert session_options(3).intra_op_num_threads == 3
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    monkeypatch.setattr(ort, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert providers() == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert providers() == ["CPUExecutionProvider"]


def test_processing_refuses_a_model_whose_band_is_missing(provider, tmp_path):
    import processing
    from osgeo import gdal, osr
    from qgis.core import QgsProcessingException

    path = tmp_path / "pp.tif"
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), 8, 8, 2, gdal.GDT_Float32)
    dataset.SetGeoTransform((4700000.0, 10.0, 0.0, 1460000.0, 0.0, -10.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3035)
    dataset.SetProjection(srs.ExportToWkt())
    for index, name in enumerate(("Q20_B04", "Q20_B08"), start=1):
        dataset.GetRasterBand(index).SetDescription(name)
        dataset.GetRasterBand(index).Fill(0.2)
    dataset = None
    model = write_model(tmp_path / "m.onnx", contract())
    with pytest.raises(QgsProcessingException, match="NDVI_A1, NDVI_PHI1"):
        processing.run("imperviousness:predict", {"INPUT": str(path), "MODELS": [model],
                                                  "OUTPUT": str(tmp_path / "rimd.tif")})
    assert not (tmp_path / "rimd.tif").exists()
