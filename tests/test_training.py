"""imperviousness:trainmodel: export, training on a tiny stack, transfer learning, references."""

import os
import subprocess
import sys

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from imperviousness_plugin.core.unet import evaluation, sampling, training
from imperviousness_plugin.core.errors import ImperviousnessError
from imperviousness_plugin.core.unet.contract import ModelContract, default_features, load_contract
from imperviousness_plugin.core.unet.predict import load_ensemble, predict_arrays, run_predict
from imperviousness_plugin.core.features.preprocess import pp_band_names
from imperviousness_plugin.core.io.raster import Grid, Window

gdal.UseExceptions()
GEOTRANSFORM = (4700000.0, 10.0, 0.0, 1460000.0, 0.0, -10.0)
NAMES = pp_band_names(3)


def srs_wkt():
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3035)
    return srs.ExportToWkt()


def write_raster(path, arrays, dtype=gdal.GDT_Float32, nodata=None, descriptions=None,
                 geotransform=GEOTRANSFORM):
    arrays = np.asarray(arrays)
    if arrays.ndim == 2:
        arrays = arrays[None]
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), arrays.shape[2], arrays.shape[1],
                                                   arrays.shape[0], dtype)
    dataset.SetGeoTransform(geotransform)
    dataset.SetProjection(srs_wkt())
    for index in range(arrays.shape[0]):
        band = dataset.GetRasterBand(index + 1)
        if nodata is not None:
            band.SetNoDataValue(nodata)
        if descriptions:
            band.SetDescription(descriptions[index])
        band.WriteArray(arrays[index])
    dataset = None
    return str(path)


def tiny_stack(tmp_path, size=192, seed=0):
    """A PP stack whose bands depend on a known imperviousness density, and that density."""
    rng = np.random.default_rng(seed)
    density = np.clip(np.cumsum(np.cumsum(rng.normal(0, 0.02, (size, size)), 0), 1) + 0.3, 0, 1)
    bands = []
    for name in NAMES:
        if name.startswith("Q20_"):
            values = 0.05 + 0.15 * density + rng.normal(0, 0.01, density.shape)
        elif name in ("Q90_NDVI", "NDVI_P0"):
            values = 0.75 - 0.6 * density + rng.normal(0, 0.02, density.shape)
        elif name.startswith("NDVI_PHI"):
            values = rng.uniform(-np.pi, np.pi, density.shape)
        elif name == "NOBS":
            values = np.full(density.shape, 30.0)
        else:
            values = 0.1 * (1 - density) + rng.normal(0, 0.01, density.shape)
        bands.append(values.astype(np.float32))
    bands[0][:3, :3] = np.nan                             # some nodata
    pp = write_raster(tmp_path / "pp.tif", np.stack(bands), nodata=float("nan"), descriptions=NAMES)
    imd = np.rint(100 * density).astype(np.uint8)
    imd[-2:, -2:] = 255
    reference = write_raster(tmp_path / "imd.tif", imd, gdal.GDT_Byte, nodata=255)
    return pp, reference, density


def fast_options(**changes):
    values = dict(widths=(8, 8, 16, 16), steps=4, patch_size=32, batch_size=2, validate_every=2, seed=1,
                  threads=1, members=1, device="cpu")
    values.update(changes)
    return training.TrainOptions(**values)


def test_exported_graph_equals_the_torch_network(tmp_path):
    import torch
    spec = training.UNetSpec(21, (8, 12, 16, 24))
    module = training.build_module(spec, seed=5)
    contract = ModelContract("IMD", default_features(3), (0.0,) * 21, (1.0,) * 21,
                             alignment=spec.alignment, architecture=spec.as_json())
    path = training.save_onnx(training.export_onnx(module, contract), tmp_path / "m.onnx")
    x = np.random.default_rng(0).normal(size=(2, 21, 48, 40)).astype(np.float32)
    module.eval()
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()[:, 0]
    member = load_ensemble([path])[0]
    np.testing.assert_allclose(member.run(x), expected, atol=1e-5)
    assert load_contract(path).architecture == spec.as_json()
    # Deterministic: the same weights export to the same bytes.
    again = training.save_onnx(training.export_onnx(module, contract), tmp_path / "again.onnx")
    assert open(path, "rb").read() == open(again, "rb").read()


SHIPPED = sorted(__import__("pathlib").Path(__file__).resolve().parents[1].glob(
    "imperviousness_plugin/models/hrl_*_unet_m*.onnx"))


@pytest.mark.parametrize("shipped", SHIPPED, ids=lambda path: path.name)
def test_export_reproduces_the_shipped_models(shipped, tmp_path):
    """A shipped model (hand-built graph) and the export of the torch module holding its weights
    agree within 1e-5 in onnxruntime, with the same contract; the shipped file still loads."""
    import onnx
    import onnxruntime
    contract, spec, weights = training.read_onnx_weights(shipped)
    exported = training.save_onnx(training.export_onnx(training.build_module(spec, weights), contract),
                                  tmp_path / shipped.name)
    assert [p.key for p in onnx.load(exported).metadata_props] == \
        [p.key for p in onnx.load(str(shipped)).metadata_props]
    assert onnx.load(exported).opset_import[0].version == training.OPSET
    x = np.random.default_rng(1).normal(size=(3, spec.in_channels, 64, 72)).astype(np.float32)
    run = [onnxruntime.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"features": x})[0]
           for p in (shipped, exported)]
    assert run[0].shape == (3, 1, 64, 72) and np.ptp(run[0]) > 0.01
    np.testing.assert_allclose(run[1], run[0], atol=1e-5)
    # Exported weights read back under the shipped names, so either file is an INIT_MODEL.
    _, same_spec, again = training.read_onnx_weights(exported)
    assert same_spec == spec and all(np.array_equal(again[n], weights[n]) for n in weights)
    assert load_ensemble([str(shipped)])[0].contract.target == contract.target


def test_the_committed_toy_unet_is_the_export(tmp_path):
    """tests/data/toy_unet_3band.onnx (used without torch) is what the export writes today."""
    from toy_unet import UNET_FILE, export_toy_unet
    fresh = export_toy_unet(tmp_path / "toy.onnx")
    assert open(fresh, "rb").read() == UNET_FILE.read_bytes()


def test_train_a_few_steps_and_predict_with_the_model(tmp_path):
    pp, reference, density = tiny_stack(tmp_path)
    result = training.run_train_model(pp, reference, "IMD", tmp_path / "model.onnx", options=fast_options())
    train, validation, held = result["patches"]
    assert train > 0 and validation > 0 and held > 0
    contract = load_contract(tmp_path / "model.onnx")
    assert contract.target == "IMD" and contract.features == default_features(3)
    contract.check_bands(NAMES)
    assert contract.architecture["widths"] == [8, 8, 16, 16] and contract.alignment == 8
    assert contract.training["steps"] == 4 and "validation_metrics" in contract.training
    assert contract.training["patches"]["split"].startswith("spatial blocks of 2 x 2 patches")
    held_out = contract.training["held_out_metrics"]
    assert set(held_out["unet_ensemble"]["by_class"]) == {"0", "1-30", "31-80", "81-100"}
    assert held_out["baseline"]["method"].startswith("linear least squares")
    summary = run_predict(pp, [str(tmp_path / "model.onnx")], tmp_path / "rimd.tif", tta="none")
    assert summary["product"] == "RIMD"
    dataset = gdal.Open(str(tmp_path / "rimd.tif"))
    rimd = dataset.ReadAsArray()
    assert rimd[0, 0] == 255 and np.all(rimd[3:, 3:] <= 100)


def test_transfer_initialisation_starts_from_the_given_weights(tmp_path):
    pp, reference, _ = tiny_stack(tmp_path)
    training.run_train_model(pp, reference, "IMD", tmp_path / "init.onnx", options=fast_options(steps=3))
    init_contract, spec, init_weights = training.read_onnx_weights(tmp_path / "init.onnx")
    module = training.build_module(spec, init_weights)
    for name, values in training.module_weights(module).items():
        assert np.array_equal(values, init_weights[name]), name
    # Zero steps from INIT_MODEL: the exported model is the initial one, weights and normalisation.
    training.run_train_model(pp, reference, "IMD", tmp_path / "same.onnx", init_model=tmp_path / "init.onnx",
                             options=fast_options(steps=0, widths=(4, 4)))
    contract, same_spec, same_weights = training.read_onnx_weights(tmp_path / "same.onnx")
    assert same_spec.widths == spec.widths                  # the init model's architecture wins
    assert all(np.array_equal(same_weights[name], init_weights[name]) for name in init_weights)
    assert contract.mean == init_contract.mean and contract.std == init_contract.std
    assert contract.training["init_model"] == "init.onnx"
    # A few steps move the weights away from the start, but not far.
    training.run_train_model(pp, reference, "IMD", tmp_path / "tuned.onnx", init_model=tmp_path / "init.onnx",
                             options=fast_options(steps=3, learning_rate=1e-4))
    _, _, tuned = training.read_onnx_weights(tmp_path / "tuned.onnx")
    change = max(np.abs(tuned[n] - init_weights[n]).max() for n in init_weights)
    assert 0 < change < 0.05


def test_fit_learns_a_simple_relation():
    """More steps reduce the validation loss on a learnable target (the loop really trains)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 3, 32, 32)).astype(np.float32)
    y = (1 / (1 + np.exp(-2 * x[:, 0]))).astype(np.float32)
    w = np.ones((8, 32, 32), np.float32)
    train, validation = training.PatchSet(x[:6], y[:6], w[:6]), training.PatchSet(x[6:], y[6:], w[6:])
    spec = training.UNetSpec(3, (8, 8))
    result = training.fit_unet(train, validation, spec, fast_options(steps=150, learning_rate=1e-2,
                                                                     validate_every=25, batch_size=4))
    # Soft-label BCE cannot go below the targets' entropy: compare the gap to that floor.
    targets = validation.targets
    floor = float(np.mean(-(targets * np.log(targets) + (1 - targets) * np.log(1 - targets))))
    start = result.history[0]["validation_loss"]
    assert result.best_validation_loss - floor < 0.3 * (start - floor)
    assert result.validation_metrics["mae_pp"] < 8


def test_clcplus_removes_disagreeing_pixels(tmp_path):
    imd = write_raster(tmp_path / "imd.tif", np.array([[0, 0, 50, 50, 20, 255]], dtype=np.uint8),
                       gdal.GDT_Byte, nodata=255)
    clc = write_raster(tmp_path / "clc.tif", np.array([[1, 6, 1, 3, 3, 1]], dtype=np.uint8), gdal.GDT_Byte)
    grid = Grid(srs_wkt(), GEOTRANSFORM, 6, 1)
    density, valid = training.ReferenceReader(imd, "IMD", grid, clc).read(Window(0, 0, 6, 1))
    # 0 but sealed: out; 0 and grass: in; 50 and sealed: in; 50 but broadleaf: out;
    # 20 and broadleaf: in (below 30); nodata: out.
    assert valid.tolist() == [[False, True, True, False, True, False]]
    np.testing.assert_allclose(density[0, :5], [0, 0, 0.5, 0.5, 0.2])


def test_building_footprints_from_a_vector_layer(tmp_path):
    path = str(tmp_path / "buildings.gpkg")
    source = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3035)
    layer = source.CreateLayer("buildings", srs, ogr.wkbPolygon)
    x0, y1 = GEOTRANSFORM[0], GEOTRANSFORM[3]
    # A building of 16 m x 20 m from the corner of pixel (0, 0): pixels (row 0, cols 0..1) and
    # (row 1, cols 0..1) are covered fully in column 0 and 3/5 in column 1 (2 m sub-pixels).
    ring = ogr.CreateGeometryFromWkt(
        f"POLYGON(({x0} {y1}, {x0 + 16} {y1}, {x0 + 16} {y1 - 20}, {x0} {y1 - 20}, {x0} {y1}))")
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetGeometry(ring)
    layer.CreateFeature(feature)
    source = None
    grid = Grid(srs_wkt(), GEOTRANSFORM, 3, 3)
    reader = training.ReferenceReader(f"{path}|layername=buildings", "IBU", grid)
    density, valid = reader.read(Window(0, 0, 3, 3))
    np.testing.assert_allclose(density, [[1.0, 0.6, 0], [1.0, 0.6, 0], [0, 0, 0]], atol=1e-6)
    assert valid.all()
    with pytest.raises(ImperviousnessError, match="only trains IBU"):
        training.ReferenceReader(path, "IMD", grid)


def test_footprint_raster_on_a_finer_grid_gives_shares(tmp_path):
    fine = np.zeros((4, 4), dtype=np.uint8)
    fine[:2, :1] = 1                                       # 2 of the 4 fine pixels of pixel (0, 0)
    path = write_raster(tmp_path / "fp.tif", fine, gdal.GDT_Byte,
                        geotransform=(GEOTRANSFORM[0], 5.0, 0.0, GEOTRANSFORM[3], 0.0, -5.0))
    grid = Grid(srs_wkt(), GEOTRANSFORM, 2, 2)
    density, valid = training.ReferenceReader(path, "IBU", grid).read(Window(0, 0, 2, 2))
    np.testing.assert_allclose(density, [[0.5, 0.0], [0.0, 0.0]])


def test_density_metrics_hand_worked():
    predicted = np.array([0.0, 0.2, 0.5, 0.05, 0.15])
    truth = np.array([0.0, 0.1, 0.3, 0.2, 0.05])
    metrics = training.density_metrics(predicted, truth)
    assert metrics["mae_pp"] == pytest.approx((0 + 10 + 20 + 15 + 10) / 5)
    # >= 10 %: predicted T F... -> [F, T, T, F, T] vs truth [F, T, T, T, F]: TP 2, FP 1, FN 1.
    assert metrics["precision_at_10"] == pytest.approx(2 / 3)
    assert metrics["recall_at_10"] == pytest.approx(2 / 3)
    assert metrics["f1_at_10"] == pytest.approx(2 / 3)


def test_held_out_metrics_by_density_class_hand_worked():
    truth = np.array([0.0, 0.0, 0.2, 0.3, 0.5, 0.9, 1.0, 0.4])
    predicted = np.array([0.1, 0.0, 0.1, 0.3, 0.8, 0.8, 1.0, 0.0])
    valid = np.array([True] * 7 + [False])
    metrics = evaluation.held_out_metrics(predicted, truth, valid)
    assert metrics["pixels"] == 7 and metrics["mae_pp"] == pytest.approx((10 + 0 + 10 + 0 + 30 + 10 + 0) / 7)
    by_class = metrics["by_class"]
    assert by_class["0"] == {"pixels": 2, "mae_pp": pytest.approx(5), "rmse_pp": pytest.approx(np.sqrt(50)),
                             "bias_pp": pytest.approx(5)}
    assert by_class["1-30"]["pixels"] == 2 and by_class["1-30"]["bias_pp"] == pytest.approx(-5)
    assert by_class["31-80"] == {"pixels": 1, "mae_pp": pytest.approx(30), "rmse_pp": pytest.approx(30),
                                 "bias_pp": pytest.approx(30)}
    assert by_class["81-100"]["pixels"] == 2 and by_class["81-100"]["mae_pp"] == pytest.approx(5)
    # >= 10 %: predicted [T, F, T, T, T, T, T] vs truth [F, F, T, T, T, T, T]: TP 5, FP 1, FN 0.
    assert metrics["precision_at_10"] == pytest.approx(5 / 6) and metrics["recall_at_10"] == 1.0


def test_pixel_baselines_recover_known_relations():
    rng = np.random.default_rng(4)
    features = rng.normal(size=(4000, 3))
    linear = 0.3 + features @ np.array([0.1, -0.05, 0.0])
    baseline = evaluation.PixelBaseline("IMD").fit(features, linear)
    np.testing.assert_allclose(baseline.coefficients, [0.3, 0.1, -0.05, 0.0], atol=1e-10)
    # Logistic on soft labels: labels that are exactly sigmoid(x b) give b back (the log-loss
    # minimum), and predictions of patches (N, C, h, w) follow pixel by pixel, clipped to 0..1.
    beta = np.array([-1.0, 2.0, 0.5, -1.5])
    soft = 1 / (1 + np.exp(-(beta[0] + features @ beta[1:])))
    logistic = evaluation.PixelBaseline("IBU").fit(features, soft)
    np.testing.assert_allclose(logistic.coefficients, beta, atol=1e-6)
    patches = features[:32].T.reshape(1, 3, 4, 8)
    np.testing.assert_allclose(logistic.predict(patches)[0].ravel(), soft[:32], atol=1e-6)
    assert baseline.predict(patches * 100).min() == 0.0 and baseline.predict(patches * 100).max() == 1.0
    # Pixels are sampled from valid pixels only.
    inputs = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    weights = np.array([[[1, 0], [0, 0]], [[0, 0], [0, 1]]], np.float32)
    sampled, targets = evaluation.pixel_sample(inputs, np.ones((2, 2, 2)), weights, 10, 0)
    np.testing.assert_array_equal(sampled, [[0, 4, 8], [15, 19, 23]])


def test_the_run_warns_when_the_baseline_wins():
    better = {"mae_pp": 3.0, "f1_at_10": 0.9}
    worse = {"mae_pp": 5.0, "f1_at_10": 0.5}
    assert evaluation.compare(better, worse, "IMD") is None
    message = evaluation.compare(worse, better, "IMD")
    assert "does not beat the per-pixel baseline" in message and "MAE" in message and "STEPS" in message
    assert evaluation.compare(worse, better, "IBU").count("F1") == 1
    assert evaluation.compare(better, worse, "IBU") is None


def test_the_run_warns_about_a_density_class_the_baseline_wins():
    """The 10980 px run of issue 23: the U-Net wins over all pixels (1.24 against 3.25 pp) but
    loses in the mixed classes; a class under 1 % of the held-out pixels is not judged."""
    def metrics(mae, by_class):
        return {"pixels": 1000, "mae_pp": mae, "f1_at_10": 0.9,
                "by_class": {name: {"pixels": pixels, "mae_pp": value} for name, (pixels, value) in by_class.items()}}
    unet = metrics(1.24, {"0": (800, 0.10), "1-30": (9, 14.85), "31-80": (50, 10.41), "81-100": (141, 3.52)})
    baseline = metrics(3.25, {"0": (800, 2.83), "1-30": (9, 5.21), "31-80": (50, 5.36), "81-100": (141, 4.39)})
    message = evaluation.compare(unet, baseline, "IMD")
    assert message.startswith("The U-Net beats the per-pixel baseline over all held-out pixels but not")
    assert "31-80 %: U-Net 10.41, baseline 5.36" in message and "1-30" not in message
    assert "STEPS" in message
    unet["by_class"]["31-80"]["mae_pp"] = 5.0
    assert evaluation.compare(unet, baseline, "IMD") is None
    unet["by_class"]["31-80"]["mae_pp"], unet["f1_at_10"] = 10.41, 0.95
    assert evaluation.compare(unet, baseline, "IBU") is None   # IBU is judged by F1 alone


def test_training_starts_from_a_shipped_model(tmp_path):
    """INIT_MODEL = a shipped (hand-built) model: zero steps give back its weights exactly."""
    shipped = SHIPPED[0]
    pp, reference, _ = tiny_stack(tmp_path)
    training.run_train_model(pp, reference, "IMD", tmp_path / "same.onnx", init_model=shipped,
                             options=fast_options(steps=0))
    _, _, shipped_weights = training.read_onnx_weights(shipped)
    contract, _, weights = training.read_onnx_weights(tmp_path / "same.onnx")
    assert all(np.array_equal(weights[name], shipped_weights[name]) for name in shipped_weights)
    assert contract.mean == load_contract(shipped).mean


def test_missing_torch_gives_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImperviousnessError, match="needs PyTorch.*pip install torch"):
        training.require_torch()
    pp, reference, _ = tiny_stack(tmp_path)
    with pytest.raises(ImperviousnessError, match="PyTorch"):
        training.run_train_model(pp, reference, "IMD", tmp_path / "m.onnx", options=fast_options())
    assert not (tmp_path / "m.onnx").exists()


def test_the_plugin_does_not_import_torch():
    code = ("import sys; sys.path.insert(0, '.');"
            "import imperviousness_plugin.core.unet.training, imperviousness_plugin.core.unet.predict, "
            "imperviousness_plugin.core.unet.confidence, imperviousness_plugin.core.unet.contract;"
            "print('torch' in sys.modules, 'onnx' in sys.modules)")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert output.stdout.split() == ["False", "False"]


def test_patch_size_is_aligned_and_shrinks_on_small_areas():
    assert sampling.patch_size_for(2000, 1000, 128, 8) == 128
    assert sampling.patch_size_for(400, 400, 128, 8) == 64        # 400 // 6 = 66, aligned down
    assert sampling.patch_size_for(130, 500, 60, 8) == 32         # never below four alignments
    with pytest.raises(ImperviousnessError, match="too small to train"):
        sampling.patch_size_for(100, 500, 128, 8)


def test_survey_reads_window_means_and_valid_shares(tmp_path):
    imd = np.zeros((8, 12), dtype=np.uint8)
    imd[:4, :4] = 40                                    # window (0, 0): all 40 %
    imd[4:, 4:8] = 100
    imd[4:6, 4:8] = 255                                 # window (1, 1): half nodata, rest 100 %
    imd[:, 8:] = 255                                    # window (0, 2) and (1, 2): all nodata
    path = write_raster(tmp_path / "imd.tif", imd, gdal.GDT_Byte, nodata=255)
    reader = training.ReferenceReader(path, "IMD", Grid(srs_wkt(), GEOTRANSFORM, 12, 8))
    survey = sampling.survey_windows(reader, 12, 8, 4)
    np.testing.assert_allclose(survey.density, [[0.4, 0, 0], [0, 1.0, 0]])
    np.testing.assert_allclose(survey.valid_share, [[1, 1, 0], [1, 0.5, 0]])
    assert (survey.window(4).col, survey.window(4).row) == (4, 4)


def test_block_split_keeps_a_buffer_and_shares_the_held_out_blocks():
    eligible = np.ones((20, 20), dtype=bool)
    eligible[:, :3] = False                               # e.g. a nodata strip
    first = sampling.assign_roles((20, 20), eligible, 5, 100)
    second = sampling.assign_roles((20, 20), eligible, 5, 101)
    assert np.array_equal(first == sampling.HELD_OUT, second == sampling.HELD_OUT)
    assert not np.array_equal(first == sampling.VALIDATION, second == sampling.VALIDATION)
    for roles in (first, second):
        counts = np.bincount(roles.ravel(), minlength=4)
        assert counts[sampling.TRAIN] > 0 and counts[sampling.VALIDATION] > 0 and counts[sampling.HELD_OUT] > 0
        # No training window has a held-out or validation window among its 8 neighbours.
        train = np.argwhere(roles == sampling.TRAIN)
        other = np.argwhere((roles == sampling.VALIDATION) | (roles == sampling.HELD_OUT))
        distance = np.abs(train[:, None, :] - other[None, :, :]).max(axis=2)
        assert distance.min() >= 2
        # Held-out and validation blocks are whole blocks of 6 x 6 windows (20 // 3 = 6).
        assert sampling.block_size(20, 20) == 6
        held_blocks = {(r // 6, c // 6) for r, c in np.argwhere(roles == sampling.HELD_OUT)}
        assert all((roles[r * 6:(r + 1) * 6, c * 6:(c + 1) * 6] == sampling.HELD_OUT).all() for r, c in held_blocks)


def test_stratified_draw_balances_rare_classes():
    strata = np.array([0] * 90 + [1] * 8 + [2] * 2)
    chosen = sampling.stratified_draw(np.arange(100), strata, 12, seed=3)
    assert np.bincount(strata[chosen], minlength=3).tolist() == [5, 5, 2]   # 2 of class 2 exist
    assert np.array_equal(chosen, np.sort(chosen)) and len(set(chosen.tolist())) == 12
    assert np.array_equal(sampling.stratified_draw(np.arange(5), strata, 12, 3), np.arange(5))
    np.testing.assert_array_equal(sampling.density_class([0, 0.4, 0.6, 30.4, 30.6, 80, 81, 100]),
                                  [0, 0, 1, 1, 2, 2, 3, 3])


def test_only_the_drawn_windows_of_the_pp_stack_are_read(tmp_path, monkeypatch):
    """Bounded memory: the PP stack is read for the drawn windows only, never for all of them."""
    pp, reference, _ = tiny_stack(tmp_path, size=256)
    reads = []
    original = training.PatchSource.read

    def counting(self, survey, indices, *args, **kwargs):
        reads.append(len(indices))
        return original(self, survey, indices, *args, **kwargs)

    monkeypatch.setattr(training.PatchSource, "read", counting)
    result = training.run_train_model(pp, reference, "IMD", tmp_path / "m.onnx",
                                      options=fast_options(steps=1, max_patches=5))
    # 8 x 8 windows of 32 px; 5 training, 5 // 8 -> 1 validation and 1 held-out window read.
    assert reads == [1, 5, 1] and result["patches"] == (5, 1, 1)


def test_bad_requests(tmp_path):
    pp, reference, _ = tiny_stack(tmp_path, size=16)
    with pytest.raises(ImperviousnessError, match="TARGET must be IMD or IBU"):
        training.run_train_model(pp, reference, "XYZ", tmp_path / "m.onnx")
    with pytest.raises(ImperviousnessError, match="too small to train"):
        training.run_train_model(pp, reference, "IMD", tmp_path / "m.onnx",
                                 options=fast_options(patch_size=16, widths=(8, 8, 8, 8, 8)))


def test_processing_trainmodel(provider, tmp_path):
    """The default three members are written with the shipped naming and feed predict as an
    ensemble (SD from the members, no flips needed)."""
    import processing
    pp, reference, _ = tiny_stack(tmp_path)
    result = processing.run("imperviousness:trainmodel", {
        "INPUT": pp, "REFERENCE": reference, "TARGET": 0, "STEPS": 2, "PATCH_SIZE": 32, "BATCH_SIZE": 2,
        "DEVICE": 1, "OUTPUT": str(tmp_path / "imd.onnx")})
    members = result["OUTPUT_MEMBERS"]
    assert [os.path.basename(path) for path in members] == ["imd_m1.onnx", "imd_m2.onnx", "imd_m3.onnx"]
    assert result["OUTPUT"] == members[0] and not (tmp_path / "imd.onnx").exists()
    contracts = [load_contract(path) for path in members]
    assert [c.training["seed"] for c in contracts] == [0, 1, 2]
    assert all(c.target == "IMD" and c.training["device"]["device"] == "cpu" for c in contracts)
    # The ensemble's held-out metrics are the same in every member's contract; the members' own differ.
    ensembles = [c.training["held_out_metrics"]["unet_ensemble"] for c in contracts]
    assert ensembles[0] == ensembles[1] == ensembles[2]
    assert result["HELD_OUT_MAE_PP"] == pytest.approx(ensembles[0]["mae_pp"])
    assert result["BASELINE_MAE_PP"] == pytest.approx(
        contracts[0].training["held_out_metrics"]["baseline"]["mae_pp"])
    assert result["VALIDATION_MAE_PP"] >= 0
    # report.html shows the held-out table of the models it used.
    from imperviousness_plugin.core.products import report
    info = report.model_provenance(members[0])
    assert info["held_out"] == contracts[0].training["held_out_metrics"]
    table = report._held_out_html(info["held_out"])
    assert f"{ensembles[0]['by_class']['0']['mae_pp']:.2f}" in table and "baseline MAE (pp)" in table
    stack = gdal.Open(pp)
    densities, valid = predict_arrays({name: stack.GetRasterBand(i + 1).ReadAsArray()
                                       for i, name in enumerate(NAMES)},
                                      load_ensemble(members, NAMES))
    assert densities.shape == (3, 192, 192) and not valid[0, 0] and valid[10, 10]
    assert np.abs(densities[0] - densities[1])[valid].max() > 1e-4       # distinct members


def test_torch_threads_follow_the_qgis_thread_setting(provider):
    """The limit QGIS gives the run: the context's own (QGIS >= 3.28: a Processing run's thread
    setting, honoured as set) or, on 3.22, QGIS's global max-threads setting (-1: all cores).
    QGIS >= 3.34 stores the global setting as at least 2 ("anything less risks deadlocks within
    Qt", qgsapplication.cpp) and a new context copies the thread pool's count, so there the
    global setting 1 reads 2 and -1 reads the core count."""
    import torch
    from qgis.core import QgsApplication, QgsProcessingContext
    from qgis.PyQt.QtCore import QThread
    from imperviousness_plugin.algorithms.trainmodel import processing_threads
    context = QgsProcessingContext()
    if hasattr(context, "setMaximumThreads"):
        for threads in (1, 3):
            context.setMaximumThreads(threads)
            assert processing_threads(context) == threads
    previous = QgsApplication.maxThreads()
    try:
        QgsApplication.setMaxThreads(1)
        assert processing_threads(QgsProcessingContext()) == max(1, QgsApplication.maxThreads())
        if not hasattr(context, "setMaximumThreads"):
            assert processing_threads(QgsProcessingContext()) == 1
        QgsApplication.setMaxThreads(-1)                     # -1: all cores
        assert processing_threads(QgsProcessingContext()) in (None, QThread.idealThreadCount())
    finally:
        QgsApplication.setMaxThreads(previous)
    x = np.zeros((2, 3, 16, 16), np.float32)
    patches = training.PatchSet(x, np.zeros((2, 16, 16), np.float32), np.ones((2, 16, 16), np.float32))
    for threads in (1, 2):
        training.fit_unet(patches, patches, training.UNetSpec(3, (4, 4)), fast_options(steps=1, threads=threads))
        assert torch.get_num_threads() == threads


def test_cuda_is_refused_clearly_without_a_gpu(tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU: the refusal cannot be shown here")
    pp, reference, _ = tiny_stack(tmp_path)
    with pytest.raises(ImperviousnessError, match="DEVICE cuda was asked for, but PyTorch sees no CUDA GPU"):
        training.run_train_model(pp, reference, "IMD", tmp_path / "m.onnx", options=fast_options(device="cuda"))
    assert not list(tmp_path.glob("m*.onnx"))
    assert training.resolve_device(torch, "auto").type == "cpu"
    with pytest.raises(ImperviousnessError, match="DEVICE must be one of auto, cpu, cuda"):
        training.resolve_device(torch, "tpu")
