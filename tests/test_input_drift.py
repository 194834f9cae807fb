"""predict warns when its input is unlike the models' training data (issue 13).

Real PP stacks from the sample simulator (full year, a quarter of a year) and the shipped
ensembles; a PP stack whose features are shifted by 5 training SD; expectations computed
independently from the contract's normalisation with numpy.
"""

import datetime

import numpy as np
import pytest
from osgeo import gdal

from imperviousness_plugin.core.features.preprocess import PreprocessOptions, run_preprocess
from imperviousness_plugin.core.io.raster import RasterInput
from imperviousness_plugin.core.products.summary import run_warnings
from imperviousness_plugin.core.unet.drift import SHARE_LIMIT, Z_LIMIT, check_input
from imperviousness_plugin.core.unet.predict import load_ensemble, run_predict, shipped_models
from tools import sampledata
from feedback import Feedback

gdal.UseExceptions()
YEAR = 2021


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    """PP stacks of one simulated year (size 100, the default ~34 dates): whole year, Jan..Mar."""
    root = tmp_path_factory.mktemp("drift")
    world = sampledata.simulate_world(size=100)
    for acquisition in sampledata.simulate_acquisitions(world, YEAR):
        sampledata.write_acquisition(acquisition, str(root / "s2"), "plain")
    paths = {"year": str(root / "PP_year.tif"), "quarter": str(root / "PP_quarter.tif")}
    run_preprocess(str(root / "s2"), paths["year"], PreprocessOptions())
    run_preprocess(str(root / "s2"), paths["quarter"], PreprocessOptions(
        start_date=datetime.date(YEAR, 1, 1), end_date=datetime.date(YEAR, 3, 31)))
    return root, paths


def read_bands(path):
    """{band description: array} of a PP stack."""
    dataset = gdal.Open(path)
    return {dataset.GetRasterBand(i + 1).GetDescription(): dataset.GetRasterBand(i + 1).ReadAsArray()
            for i in range(dataset.RasterCount)}


def members():
    return load_ensemble(shipped_models("IMD"))


def test_silent_on_a_full_year_of_the_sample(stacks):
    _, paths = stacks
    check = check_input(RasterInput(paths["year"], "PP"), members())
    assert check["warnings"] == []
    assert check["season"]["days"] >= 330
    assert check["observations"]["share_below"] <= SHARE_LIMIT
    for group in check["normalisations"]:
        assert max(group["shares"].values()) <= SHARE_LIMIT


def test_fires_on_a_quarter_year(stacks):
    _, paths = stacks
    feedback = Feedback()
    check = check_input(RasterInput(paths["quarter"], "PP"), members())
    assert check["season"]["days"] < 90
    assert any("covers only" in warning and "extrapolates" in warning for warning in check["warnings"])
    assert any("trainmodel" in warning for warning in check["warnings"])
    # ~8 dates, a third of them clear: every pixel has fewer than the 10 coefficients' worth.
    nobs = read_bands(paths["quarter"])["NOBS"]
    assert check["observations"]["needed"] == 10
    assert check["observations"]["share_below"] == pytest.approx(float((nobs < 10).mean()))
    assert any("fewer than 10 clear observations" in warning for warning in check["warnings"])
    # predict pushes the warnings through feedback and records them in the product.
    output = stacks[0] / "RIMD_quarter.tif"
    summary = run_predict(paths["quarter"], shipped_models("IMD"), str(output), feedback=feedback)
    assert summary["input_check"]["warnings"] == check["warnings"]
    assert any("covers only" in message for message in feedback.warnings)
    assert "covers only" in gdal.Open(str(output)).GetMetadataItem("INPUT_WARNINGS")
    # The report's summary lists them, naming the product.
    listed = run_warnings({"RIMD": str(output)})
    assert listed == [f"RIMD: {warning}" for warning in check["warnings"]]


def test_fires_on_features_shifted_by_five_sd(stacks, tmp_path):
    _, paths = stacks
    contract = members()[0].contract
    shifted_feature = "Q20_B04"
    index = contract.feature_names.index(shifted_feature)
    bands = read_bands(paths["year"])
    values = bands[shifted_feature]
    shifted = gdal.GetDriverByName("GTiff").CreateCopy(str(tmp_path / "shifted.tif"), gdal.Open(paths["year"]))
    number = list(bands).index(shifted_feature) + 1
    shifted.GetRasterBand(number).WriteArray(values + 5.0 * contract.std[index])
    shifted.FlushCache()
    del shifted
    check = check_input(RasterInput(str(tmp_path / "shifted.tif"), "PP"), members())
    # Independent share: |z| > 4 after the shift, from the contract's mean and SD with numpy.
    z = (values + 5.0 * contract.std[index] - contract.mean[index]) / contract.std[index]
    valid = np.all([np.isfinite(bands[band]) for band in contract.bands], axis=0)
    expected = float((np.abs(z[valid]) > Z_LIMIT).mean())
    group = next(group for group in check["normalisations"] if contract.source.endswith(group["models"][0]))
    assert group["shares"][shifted_feature] == pytest.approx(expected, abs=1e-9)
    assert expected > 0.5
    assert shifted_feature in group["flagged"]
    assert any(shifted_feature in warning and "trainmodel" in warning for warning in check["warnings"])
