"""The U-Net ensembles shipped in models/: contracts, size, recorded and re-measured accuracy."""

import json
import pathlib

import numpy as np
import pytest

from imperviousness_plugin.core.unet.contract import default_features, load_contract
from imperviousness_plugin.core.unet.predict import load_ensemble, predict_arrays, shipped_models
from imperviousness_plugin.core.features.preprocess import pp_band_names
from imperviousness_plugin.core.unet.training import density_metrics

ROOT = pathlib.Path(__file__).resolve().parents[1]
EVALUATION = json.loads((ROOT / "models" / "evaluation.json").read_text())


@pytest.mark.parametrize("target", ["IMD", "IBU"])
def test_each_ensemble_has_three_small_members_with_valid_contracts(target):
    paths = shipped_models(target)
    assert len(paths) >= 3
    for path in paths:
        assert pathlib.Path(path).stat().st_size < 2 * 1024 * 1024
        contract = load_contract(path)
        assert contract.target == target
        assert contract.features == default_features(3)
        contract.check_bands(pp_band_names(3))
        assert (contract.tile_size, contract.overlap, contract.alignment) == (256, 64, 8)
        assert contract.training["data"].startswith("SIMULATED TRAINING DATA")
        assert contract.training["held_out_metrics_ensemble"]["mae_pp"] > 0
    assert len(load_ensemble(paths, pp_band_names(3))) == len(paths)


def test_readme_states_the_simulation_and_the_table():
    readme = (ROOT / "models" / "README.md").read_text()
    assert "trained on simulated data" in readme
    ensemble = EVALUATION["held_out"]["IMD"]["unet_ensemble"]
    assert f"{ensemble['mae_pp']:.2f}" in readme
    assert not EVALUATION["quick"]


def test_recorded_held_out_accuracy_beats_both_baselines():
    imd, ibu = EVALUATION["held_out"]["IMD"], EVALUATION["held_out"]["IBU"]
    for baseline in ("ndvi_p0_linear", "gradient_boosting"):
        assert imd["unet_ensemble"]["mae_pp"] < imd[baseline]["mae_pp"]
        assert ibu["unet_ensemble"]["f1_at_10"] > ibu[baseline]["f1_at_10"]
    assert EVALUATION["data"]["held_pixels"] > 500_000


def test_recorded_sample_check_is_sensible():
    sample = EVALUATION["sample_check"]
    assert sample["IMD"]["unet_ensemble"]["mae_pp"] < 10.0
    assert sample["IBU"]["unet_ensemble"]["f1_at_10"] > 0.6


def test_held_out_gozo_chunk_re_simulated(shared_data):
    """Re-simulate the most built-up held-out chunk of Gozo from the real layers and predict it."""
    from tools import training_data as td
    layers = td.malta_layers(shared_data)
    gozo = [tuple(origin) for origin in EVALUATION["data"]["held_out_origins"] if td.is_gozo(*origin)]
    row, col = max(gozo, key=lambda rc: (layers.imd[rc[0]:rc[0] + 256, rc[1]:rc[1] + 256] % 255).mean())
    seed = 10_000 + (row // 256) * 100 + col // 256            # as tools/train_shipped_models.py
    chunk = td.simulate_malta_chunk(layers, row, col, seed, td.real_endmembers(shared_data))
    bands = chunk.bands()
    imd_densities, valid = predict_arrays(bands, load_ensemble(shipped_models("IMD")))
    ibu_densities, _ = predict_arrays(bands, load_ensemble(shipped_models("IBU")))
    mask = valid & chunk.land
    unet_imd = density_metrics(imd_densities.mean(axis=0), chunk.imd, mask)
    unet_ibu = density_metrics(ibu_densities.mean(axis=0), chunk.built_up, mask)
    intercept, slope = (EVALUATION["baselines"]["IMD"]["ndvi_p0_linear"][key] for key in ("intercept", "slope"))
    linear = np.clip(intercept + slope * bands["NDVI_P0"], 0.0, 1.0)
    linear_imd = density_metrics(linear, chunk.imd, mask)
    assert chunk.imd[mask].mean() > 0.05                       # a chunk with a town in it
    assert unet_imd["mae_pp"] < 0.6 * linear_imd["mae_pp"]
    assert unet_imd["mae_pp"] < 6.0
    assert unet_ibu["f1_at_10"] > 0.6


def test_qgis_process_uses_the_shipped_ensemble_when_no_model_is_given(qgis_process, tmp_path):
    from osgeo import gdal, osr
    names = pp_band_names(3)
    dataset = gdal.GetDriverByName("GTiff").Create(str(tmp_path / "pp.tif"), 40, 30, len(names), gdal.GDT_Float32)
    dataset.SetGeoTransform((4700000.0, 10.0, 0.0, 1460000.0, 0.0, -10.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3035)
    dataset.SetProjection(srs.ExportToWkt())
    rng = np.random.default_rng(0)
    for index, name in enumerate(names, start=1):
        dataset.GetRasterBand(index).SetDescription(name)
        dataset.GetRasterBand(index).WriteArray(rng.uniform(0.05, 0.3, (30, 40)).astype(np.float32))
    dataset = None
    qgis_process("run", "imperviousness:predict", "--", f"INPUT={tmp_path / 'pp.tif'}", "SHIPPED_TARGET=1",
                 f"OUTPUT={tmp_path / 'RIBUD.tif'}", f"OUTPUT_CONFIDENCE={tmp_path / 'IBUCL.tif'}")
    output = gdal.Open(str(tmp_path / "RIBUD.tif"))
    assert "RIBUD" in output.GetRasterBand(1).GetDescription()
    assert output.GetMetadataItem("MODELS") == ";".join(pathlib.Path(p).name for p in shipped_models("IBU"))
    values = output.ReadAsArray()
    assert values.max() <= 100
    confidence = gdal.Open(str(tmp_path / "IBUCL.tif")).ReadAsArray()
    assert confidence.min() >= 50 and confidence.max() <= 100
