"""imperviousness:predict: tiling, seam blending, ensembles, TTA, nodata, outputs (SPEC 2, 8)."""

import numpy as np
import onnx
import pytest
from osgeo import gdal

from imperviousness_plugin.core.errors import Cancelled
from imperviousness_plugin.core.unet.contract import Feature, ModelContract
from imperviousness_plugin.core.unet.predict import (blend_profile, load_ensemble, predict_arrays, run_predict,
                                                tile_origins)
from feedback import Feedback
from toy_unet import BANDS, GEOTRANSFORM, MEAN, STD, conv_model, random_bands, write_pp

gdal.UseExceptions()


def whole_image(path, bands, transform=None):
    """The plain reference: the model run once on the whole image (features by hand)."""
    import onnxruntime as ort
    features = np.stack([(bands[b] - MEAN[i]) / STD[i] for i, b in enumerate(BANDS)])
    valid = np.all(np.isfinite(features), axis=0)
    features = np.where(valid, features, 0.0).astype(np.float32)[None]
    forward, inverse = transform or (lambda a: a, lambda a: a)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    output = session.run(None, {"features": np.ascontiguousarray(forward(features))})[0][:, 0]
    return inverse(output)[0], valid


def test_tile_origins_hand_worked():
    assert tile_origins(100, 256, 192) == [0]           # smaller than a tile: one padded tile
    assert tile_origins(256, 256, 192) == [0]
    assert tile_origins(300, 256, 192) == [0, 44]       # last tile moved back onto the edge
    assert tile_origins(448, 256, 192) == [0, 192]
    assert tile_origins(641, 256, 192) == [0, 192, 384, 385]


def test_blend_profiles_are_a_partition_of_unity_with_zero_margins():
    tile, overlap, stride = 256, 64, 192
    first = blend_profile(tile, overlap, False, True)
    second = blend_profile(tile, overlap, True, False)
    assert first[:stride].tolist() == [1.0] * stride
    assert second[:16].tolist() == [0.0] * 16 and first[-16:].tolist() == [0.0] * 16
    np.testing.assert_allclose(first[stride:] + second[:overlap], 1.0, atol=1e-12)
    assert np.all(np.diff(second[:overlap]) >= 0)


def test_tiled_prediction_equals_the_whole_image(tmp_path):
    """Receptive radius 3 fits in the zero margin (16 px), so blending reproduces the whole image."""
    path = conv_model(tmp_path / "conv.onnx", seed=3)
    bands = random_bands(523, 601)                     # odd sizes, more than two tiles each way
    members = load_ensemble([path], BANDS)
    expected, expected_valid = whole_image(path, bands)
    for chunk_width in (None, 192, 384):               # one chunk, and column chunks
        densities, valid = predict_arrays(bands, members, chunk_width=chunk_width)
        assert densities.shape == (1, 523, 601)
        np.testing.assert_array_equal(valid, expected_valid)
        np.testing.assert_allclose(densities[0], expected, atol=2e-6)


def test_batch_size_does_not_change_the_result(tmp_path):
    path = conv_model(tmp_path / "conv.onnx", seed=4)
    bands = random_bands(300, 700, holes=False)
    members = load_ensemble([path], BANDS)
    one, _ = predict_arrays(bands, members, batch_size=1)
    four, _ = predict_arrays(bands, members, batch_size=4)
    np.testing.assert_allclose(one, four, atol=1e-6)


def test_parallel_tiles_give_the_bytes_of_one_tile_at_a_time(tmp_path, monkeypatch):
    """Tiles inferred on several threads while the next strip is read and prepared: the blending
    order is fixed, so the files equal those of one tile at a time on multi-thread sessions."""
    import imperviousness_plugin.core.unet.predict as predict_module
    paths = [conv_model(tmp_path / f"m{k}.onnx", seed=30 + k) for k in range(3)]
    pp = write_pp(tmp_path / "pp.tif", random_bands(700, 650))
    outputs = {}
    for parallel in (False, True):
        monkeypatch.setattr(predict_module, "PARALLEL_TILES", parallel)
        assert predict_module.inference_threads(3) == ((1, 3) if parallel else (3, 1))
        folder = tmp_path / str(parallel)
        folder.mkdir()
        names = ("r.tif", "sd.tif", "cl.tif")
        run_predict(pp, paths, *(folder / name for name in names), threads=3, chunk_width=384)
        outputs[parallel] = [gdal.Open(str(folder / name)).ReadAsArray().tobytes() for name in names]
    assert outputs[True] == outputs[False]


def test_worker_count_does_not_change_the_densities(tmp_path):
    from imperviousness_plugin.core.unet.predict import array_reader, predict_windows
    members = load_ensemble([conv_model(tmp_path / f"m{k}.onnx", seed=40 + k) for k in range(2)], BANDS)
    read, width, height = array_reader(random_bands(500, 450))
    results = []
    for workers in (1, 2, 5):
        blocks = list(predict_windows(read, width, height, members, tta="flips", batch_size=2,
                                      workers=workers))
        results.append([(window, densities.tobytes(), valid.tobytes()) for window, densities, valid in blocks])
    assert results[0] == results[1] == results[2]


def test_small_raster_gets_one_padded_tile(tmp_path):
    path = conv_model(tmp_path / "conv.onnx", seed=5)
    bands = random_bands(37, 90, holes=False)
    densities, valid = predict_arrays(bands, load_ensemble([path], BANDS))
    # The model sees the raster padded with nodata (features 0): the same as the whole image
    # padded with zeros up to the tile, cropped.
    padded = {b: np.pad(v, ((0, 256 - 37), (0, 256 - 90)), constant_values=np.nan) for b, v in bands.items()}
    expected, _ = whole_image(path, padded)
    assert valid.all()
    np.testing.assert_allclose(densities[0], expected[:37, :90], atol=2e-6)


def unet_model(path):
    """A random-weight U-Net of the plugin's architecture, exported by torch once (tests/data)."""
    import shutil
    from toy_unet import UNET_FILE
    return shutil.copyfile(UNET_FILE, path)


def test_unet_tiles_blend_without_seams(tmp_path):
    """A real U-Net sees the tile edges; blending must keep the result close to the whole image
    and far closer than hard cuts in the middle of the overlaps (the visible-seam tiling)."""
    path = str(unet_model(tmp_path / "unet.onnx"))
    bands = random_bands(456, 520, holes=False)
    members = load_ensemble([path], BANDS)
    expected, _ = whole_image(path, bands)
    blended, _ = predict_arrays(bands, members)
    # Plain reference without blending: tiles pasted in order, each overwriting the previous.
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    features = np.stack([(bands[b] - MEAN[i]) / STD[i] for i, b in enumerate(BANDS)]).astype(np.float32)
    rows, cols = tile_origins(456, 256, 192), tile_origins(520, 256, 192)
    pasted = np.zeros((456, 520), np.float32)
    for oy in rows:
        for ox in cols:
            pasted[oy:oy + 256, ox:ox + 256] = session.run(
                None, {"features": features[None, :, oy:oy + 256, ox:ox + 256]})[0][0, 0]
    blended_error = np.abs(blended[0] - expected)
    pasted_error = np.abs(pasted - expected)
    assert pasted_error.max() > 0.02                   # the tile edges do matter for this U-Net
    assert blended_error.max() < 0.25 * pasted_error.max()
    assert blended_error.mean() < 0.1 * pasted_error.mean()
    # Where a pasted tile begins (column 192) its edge shows as a seam; blended, it does not.
    assert pasted_error[:, 192].mean() > 0.01
    assert blended_error[:, 192].mean() < 0.05 * pasted_error[:, 192].mean()


def test_ensemble_mean_and_sd_against_numpy(tmp_path):
    paths = [conv_model(tmp_path / f"m{k}.onnx", seed=10 + k) for k in range(3)]
    bands = random_bands(300, 280)
    pp = write_pp(tmp_path / "pp.tif", bands)
    summary = run_predict(pp, paths, tmp_path / "rimd.tif", tmp_path / "sd.tif", tta="auto")
    assert summary["variants"] == ["identity"] and summary["members"] == 3
    members = np.stack([whole_image(path, bands)[0] for path in paths]).astype(np.float64)
    valid = whole_image(paths[0], bands)[1]
    mean, sd = members.mean(axis=0), np.sqrt(((members - members.mean(axis=0)) ** 2).mean(axis=0))
    output = gdal.Open(str(tmp_path / "rimd.tif"))
    band = output.GetRasterBand(1)
    rimd = band.ReadAsArray()
    assert band.DataType == gdal.GDT_Byte and band.GetNoDataValue() == 255
    assert band.GetColorTable() is not None and "RIMD" in band.GetDescription()
    assert (tmp_path / "rimd.qml").exists()
    assert output.GetGeoTransform() == GEOTRANSFORM
    assert np.all(rimd[~valid] == 255)
    expected = np.rint(100 * mean)
    unsure = np.abs(100 * mean - np.floor(100 * mean) - 0.5) < 1e-3   # float ties of the rounding
    assert np.array_equal(rimd[valid & ~unsure], expected[valid & ~unsure].astype(np.uint8))
    sd_dataset = gdal.Open(str(tmp_path / "sd.tif"))
    sd_band = sd_dataset.GetRasterBand(1)
    sd_out = sd_band.ReadAsArray()
    assert sd_band.DataType == gdal.GDT_Float32 and np.isnan(sd_band.GetNoDataValue())
    assert np.all(np.isnan(sd_out[~valid]))
    np.testing.assert_allclose(sd_out[valid], sd[valid], atol=2e-6)


def test_ibu_models_write_ribud(tmp_path):
    path = conv_model(tmp_path / "ibu.onnx", seed=2, target="IBU")
    pp = write_pp(tmp_path / "pp.tif", random_bands(40, 40, holes=False))
    run_predict(pp, [path], tmp_path / "ribud.tif", tta="none")
    dataset = gdal.Open(str(tmp_path / "ribud.tif"))
    assert "RIBUD" in dataset.GetRasterBand(1).GetDescription()


def test_flip_augmentation_predicts_flipped_tiles(tmp_path):
    path = conv_model(tmp_path / "conv.onnx", seed=8)
    bands = random_bands(300, 320, holes=False)
    members = load_ensemble([path], BANDS)
    densities, _ = predict_arrays(bands, members, tta="flips")
    assert densities.shape[0] == 4
    flips = [lambda a: a, lambda a: a[..., ::-1], lambda a: a[..., ::-1, :], lambda a: a[..., ::-1, ::-1]]
    for index, flip in enumerate(flips):
        expected, _ = whole_image(path, bands, (flip, flip))
        np.testing.assert_allclose(densities[index], expected, atol=2e-6)
    # The asymmetric kernels make the variants differ, so a single model gets a non-zero SD.
    assert np.abs(densities[1] - densities[0]).mean() > 1e-3
    dihedral, _ = predict_arrays(bands, members, tta="dihedral")
    assert dihedral.shape[0] == 8
    transpose = (lambda a: np.swapaxes(a, -1, -2), lambda a: np.swapaxes(a, -1, -2))
    np.testing.assert_allclose(dihedral[4], whole_image(path, bands, transpose)[0], atol=2e-6)


def test_cancellation_leaves_no_output(tmp_path):
    path = conv_model(tmp_path / "conv.onnx", seed=1)
    pp = write_pp(tmp_path / "pp.tif", random_bands(600, 300, holes=False))
    with pytest.raises(Cancelled):
        run_predict(pp, [path], tmp_path / "rimd.tif", tmp_path / "sd.tif", feedback=Feedback(checks=3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conv.onnx", "pp.tif"]


def test_processing_predict_with_sd_and_confidence(provider, tmp_path):
    import processing
    paths = [conv_model(tmp_path / f"m{k}.onnx", seed=20 + k) for k in range(2)]
    bands = random_bands(64, 70)
    pp = write_pp(tmp_path / "pp.tif", bands)
    result = processing.run("imperviousness:predict", {
        "INPUT": pp, "MODELS": paths, "OUTPUT": str(tmp_path / "RIMD.tif"),
        "OUTPUT_SD": str(tmp_path / "RIMD_sd.tif"), "OUTPUT_CONFIDENCE": str(tmp_path / "IMDCL.tif")})
    assert set(result) >= {"OUTPUT", "OUTPUT_SD", "OUTPUT_CONFIDENCE"}
    # Smaller than a tile: the reference is the whole image padded with nodata to the tile.
    padded = {b: np.pad(v, ((0, 256 - 64), (0, 256 - 70)), constant_values=np.nan) for b, v in bands.items()}
    members = np.stack([whole_image(path, padded)[0][:64, :70] for path in paths])
    valid = whole_image(paths[0], padded)[1][:64, :70]
    votes = members >= 0.5
    expected_cl = np.rint(100 - 100 * votes.std(axis=0))
    confidence = gdal.Open(result["OUTPUT_CONFIDENCE"]).ReadAsArray()
    assert np.array_equal(confidence[valid], expected_cl[valid].astype(np.uint8))
    assert set(np.unique(confidence[valid])) <= {50, 100}
    assert np.all(confidence[~valid] == 255)


def test_qgis_process_predict_with_two_models(qgis_process, tmp_path):
    paths = [conv_model(tmp_path / f"m{k}.onnx", seed=30 + k) for k in range(2)]
    pp = write_pp(tmp_path / "pp.tif", random_bands(50, 60, holes=False))
    qgis_process("run", "imperviousness:predict", "--", f"INPUT={pp}", f"MODELS={paths[0]}",
                 f"MODELS={paths[1]}", f"OUTPUT={tmp_path / 'RIMD.tif'}", f"OUTPUT_SD={tmp_path / 'sd.tif'}")
    dataset = gdal.Open(str(tmp_path / "RIMD.tif"))
    assert dataset.GetMetadataItem("PREDICTIONS") == "2"
    padded = {b: np.pad(v, ((0, 256 - 50), (0, 256 - 60)), constant_values=np.nan)
              for b, v in random_bands(50, 60, holes=False).items()}
    members = np.stack([whole_image(path, padded)[0][:50, :60] for path in paths])
    np.testing.assert_allclose(gdal.Open(str(tmp_path / "sd.tif")).ReadAsArray(), members.std(axis=0),
                               atol=2e-6)
