"""Real Sentinel-2 L2A data (../shared/data/s2, Antwerp port, real SCL and clouds).

The netCDF time series is laid out as plain acquisition folders, pre-processed by the core, and
its quantiles, NDVI quantile and NOBS are checked against an independent per-pixel computation:
integer weights make `np.quantile(np.repeat(x, w), q, method="inverted_cdf")` an exact reference.
"""

import datetime

import numpy as np
import pytest
from osgeo import gdal

from imperviousness_plugin.core.features.preprocess import (DEFAULT_SCL_WEIGHTS, PreprocessOptions,
                                                   pp_band_names, run_preprocess)

BANDS = ("B02", "B03", "B04", "B08")


def netcdf_stack(path, variable):
    dataset = gdal.Open(f'NETCDF:"{path}":{variable}')
    days = [int(v) for v in dataset.GetMetadataItem("NETCDF_DIM_t_VALUES").strip("{}").split(",")]
    dates = [datetime.date(1990, 1, 1) + datetime.timedelta(days=d) for d in days]
    return dataset, dates, dataset.ReadAsArray()


@pytest.fixture(scope="module")
def antwerp(shared_data, tmp_path_factory):
    """Plain acquisition folders written from the real netCDF (one per date)."""
    source = shared_data / "s2" / "antwerp_l2a_2023q4_scl.nc"
    root = tmp_path_factory.mktemp("antwerp")
    stacks = {}
    for band in BANDS + ("SCL",):
        dataset, dates, stacks[band] = netcdf_stack(source, f"S2-L2A-{band}")
        for index, date in enumerate(dates):
            folder = root / f"S2_{date:%Y%m%d}"
            folder.mkdir(exist_ok=True)
            out = gdal.GetDriverByName("GTiff").Create(
                str(folder / f"{band}.tif"), dataset.RasterXSize, dataset.RasterYSize, 1,
                gdal.GDT_UInt16 if band != "SCL" else gdal.GDT_Byte)
            out.SetGeoTransform(dataset.GetGeoTransform())
            out.SetProjection(dataset.GetProjection())
            out.GetRasterBand(1).WriteArray(stacks[band][index])
            out = None
    return root, dates, stacks


def reference_quantile(values, weights, q):
    keep = weights > 0
    if not keep.any():
        return np.nan
    return np.quantile(np.repeat(values[keep], weights[keep].astype(int)), q, method="inverted_cdf")


def test_real_time_series_quantiles_and_nobs_match_an_independent_computation(antwerp, tmp_path):
    root, dates, stacks = antwerp
    output = tmp_path / "PP_antwerp.tif"
    run_preprocess(str(root), str(output), PreprocessOptions(bands=BANDS, harmonic_order=1))
    result = gdal.Open(str(output))
    names = pp_band_names(1, BANDS)
    pp = {name: result.GetRasterBand(i + 1).ReadAsArray() for i, name in enumerate(names)}
    assert [result.GetRasterBand(i + 1).GetDescription() for i in range(len(names))] == names

    scl = stacks["SCL"].astype(int)
    table = np.array(DEFAULT_SCL_WEIGHTS + (0,) * 4)
    weights = np.where(scl <= 11, table[np.clip(scl, 0, 15)], 0)
    assert (scl >= 8).mean() > 0.2, "the real series is expected to be heavily clouded"
    np.testing.assert_array_equal(pp["NOBS"], (weights > 0).sum(axis=0))

    red, nir = stacks["B04"].astype(float), stacks["B08"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = np.where((red > 0) & (nir > 0) & (red + nir > 0), (nir - red) / (nir + red), np.nan)
    height, width = scl.shape[1:]
    rng = np.random.default_rng(0)
    pixels = [(r, c) for r, c in zip(rng.integers(0, height, 300), rng.integers(0, width, 300))]
    for row, col in pixels:
        w = weights[:, row, col]
        for band in BANDS:
            dn = stacks[band][:, row, col].astype(float)
            expected = reference_quantile(dn, np.where(dn > 0, w, 0), 0.2) / 10000.0
            np.testing.assert_allclose(pp[f"Q20_{band}"][row, col], expected, rtol=1e-6, equal_nan=True)
        v = ndvi[:, row, col]
        expected = reference_quantile(np.nan_to_num(v), np.where(np.isnan(v), 0, w), 0.9)
        np.testing.assert_allclose(pp["Q90_NDVI"][row, col], expected, rtol=1e-5, equal_nan=True)
    # Surface reflectances in the physical range; the NDVI quantile within [-1, 1].
    assert 0.0 < np.nanmedian(pp["Q20_B04"]) < 0.3
    assert np.nanmin(pp["Q90_NDVI"]) >= -1 and np.nanmax(pp["Q90_NDVI"]) <= 1
