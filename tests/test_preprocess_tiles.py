"""preprocess at tile scale (issue 10): each tile reduced in its own grid, 20 m bands at 20 m,
features resampled once (bilinear, phases through their linear coefficients, NOBS nearest), several tiles and UTM zones merged by the documented rule."""

import dataclasses
import os

import numpy as np
import pytest
from osgeo import gdal, osr

from tools import sampledata
from imperviousness_plugin.core.errors import Cancelled, ImperviousnessError
from imperviousness_plugin.core.features.preprocess import (DEFAULT_SCL_WEIGHTS, PreprocessOptions,
                                                            pp_band_names, run_preprocess)
from imperviousness_plugin.core.io.raster import Grid
from imperviousness_plugin.core.kernels.ndvi_model import day_fraction, fit_ndvi_model
from imperviousness_plugin.core.kernels.quantiles import INVALID_CODE, weighted_quantile
from feedback import Feedback
from rasters import epsg_wkt

YEAR = 2021
NAMES = pp_band_names(3)
TABLE = np.array(DEFAULT_SCL_WEIGHTS + (0,) * 4, dtype=float)
EEA_GT = (4700000.0, 10.0, 0.0, 1500000.0, 0.0, -10.0)


def read_pp(path):
    return gdal.Open(str(path)).ReadAsArray()


def write_year(root, acquisitions):
    for acquisition in acquisitions:
        sampledata.write_acquisition(acquisition, str(root), "plain")
    return str(root)


def up2(array):
    return np.repeat(np.repeat(array, 2, axis=-2), 2, axis=-1)


def reference_quantile(values, weights, q):
    """Inverted-CDF weighted quantile of one pixel by repeating each value `weight` times."""
    keep = weights > 0
    if not keep.any():
        return np.nan
    return np.quantile(np.repeat(values[keep], weights[keep].astype(int)), q, method="inverted_cdf")


@pytest.fixture(scope="module")
def eea_year(tmp_path_factory):
    """The sample year on an EPSG:3035 grid aligned to the EEA grid (its 20 m pixels too)."""
    world = sampledata.simulate_world(size=100, n_dates=10)
    acquisitions = [dataclasses.replace(acquisition, crs_wkt=epsg_wkt(3035), geotransform_10m=EEA_GT)
                    for acquisition in sampledata.simulate_acquisitions(world, YEAR)]
    root = write_year(tmp_path_factory.mktemp("eea"), acquisitions)
    output = tmp_path_factory.mktemp("eea_pp") / "PP.tif"
    run_preprocess(root, str(output), PreprocessOptions(target_crs_wkt=epsg_wkt(3035)))
    return acquisitions, root, output


def harmonised(acquisitions, band):
    return np.stack([a.bands[band].astype(np.int32) + a.boa_add_offset for a in acquisitions])


def test_10m_features_equal_the_10m_reduction_with_scl_by_nearest(eea_year):
    """On EPSG:3035-aligned input, the 10 m bands, Q90_NDVI, the NDVI model and NOBS are those
    of the 10 m series weighted by the 20 m SCL repeated 2 x 2 (what preprocess computed before
    issue 10, where the SCL was warped onto the 10 m grid by nearest)."""
    acquisitions, _, output = eea_year
    pp = read_pp(output)
    assert Grid.of_dataset(gdal.Open(str(output))).geotransform == EEA_GT
    scl10 = up2(np.stack([a.scl for a in acquisitions])).astype(int)
    weights = TABLE[scl10]
    for band in sampledata.BANDS_10M:
        dn = np.stack([a.bands[band] for a in acquisitions])
        codes = np.where(dn == 0, INVALID_CODE, scl10).astype(np.uint8)
        expected = weighted_quantile(harmonised(acquisitions, band), codes, TABLE, 0.2) / 10000.0
        np.testing.assert_array_equal(pp[NAMES.index(f"Q20_{band}")], expected.astype(np.float32))
    red, nir = harmonised(acquisitions, "B04"), harmonised(acquisitions, "B08")
    valid = (np.stack([a.bands["B04"] for a in acquisitions]) > 0) \
        & (np.stack([a.bands["B08"] for a in acquisitions]) > 0) & (red + nir != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = np.where(valid, (nir - red) / (nir + red).astype(np.float32), np.nan).astype(np.float32)
    ndvi_weights = np.where(valid, weights, 0.0)
    # Independent per-pixel reference for the NDVI quantile on a sample of pixels.
    rng = np.random.default_rng(1)
    for row, col in zip(rng.integers(0, 100, 150), rng.integers(0, 100, 150)):
        expected = reference_quantile(np.nan_to_num(ndvi[:, row, col]), ndvi_weights[:, row, col], 0.9)
        np.testing.assert_array_equal(pp[NAMES.index("Q90_NDVI"), row, col], np.float32(expected))
    tau = day_fraction([a.date for a in acquisitions])
    np.testing.assert_array_equal(pp[NAMES.index("NDVI_P0"):NAMES.index("NOBS")],
                                  fit_ndvi_model(ndvi, ndvi_weights, tau, 3))
    # NOBS counts the observations of the 10 m grid with a positive weight.
    np.testing.assert_array_equal(pp[NAMES.index("NOBS")], (weights > 0).sum(axis=0))


def test_20m_quantiles_are_quantiles_of_the_native_20m_values_repeated_2x2(eea_year):
    acquisitions, _, output = eea_year
    pp = read_pp(output)
    scl = np.stack([a.scl for a in acquisitions]).astype(int)
    for band in sampledata.BANDS_20M:
        dn = np.stack([a.bands[band] for a in acquisitions])
        values = harmonised(acquisitions, band)
        weights = np.where(dn > 0, TABLE[scl], 0.0)
        expected = np.array([[reference_quantile(values[:, r, c], weights[:, r, c], 0.2)
                              for c in range(dn.shape[2])] for r in range(dn.shape[1])]) / 10000.0
        np.testing.assert_array_equal(pp[NAMES.index(f"Q20_{band}")], up2(expected).astype(np.float32))


def test_no_cloudy_20m_value_reaches_a_clear_pixels_20m_quantile(tmp_path):
    """A cloud edge on the 20 m grid: the east half is cloudy (SCL 9, bright DN) on every date,
    the west half clear. Each clear 20 m pixel's quantile is one of its own clear values, also
    next to the edge (interpolating 20 m bands before weighting mixed cloudy DN into them)."""
    world = sampledata.simulate_world(size=100, n_dates=6)
    acquisitions = []
    rng = np.random.default_rng(7)
    clear_dn = {}
    for index, acquisition in enumerate(sampledata.simulate_acquisitions(world, YEAR)):
        scl = np.full((50, 50), 4, np.uint8)
        scl[:, 25:] = 9
        bands = dict(acquisition.bands)
        for band in sampledata.BANDS_20M:
            dn = rng.integers(1100, 1300, (50, 50)).astype(np.uint16)
            dn[:, 25:] = 9000
            bands[band] = dn
            clear_dn.setdefault(band, []).append(dn[:, :25].astype(int) + acquisition.boa_add_offset)
        acquisitions.append(dataclasses.replace(acquisition, scl=scl, bands=bands,
                                                crs_wkt=epsg_wkt(3035), geotransform_10m=EEA_GT))
    root = write_year(tmp_path / "edge", acquisitions)
    pp = read_pp(run_and_return(root, tmp_path / "PP.tif", target_crs_wkt=epsg_wkt(3035)))
    for band in sampledata.BANDS_20M:
        q20 = pp[NAMES.index(f"Q20_{band}")]
        own = np.stack(clear_dn[band])
        expected = np.quantile(own, 0.2, axis=0, method="inverted_cdf") / 10000.0
        np.testing.assert_array_equal(q20[:, :50], up2(expected).astype(np.float32))
        assert q20[:, :50].max() < 0.13 and q20[:, 50:].min() > 0.75   # cloud: 0.8 or 0.9


def run_and_return(inputs, output, **options):
    run_preprocess(inputs, str(output), PreprocessOptions(**options))
    return output


def test_features_are_resampled_once_bilinearly_with_phases_through_linear_coefficients(tmp_path):
    """UTM scenes to EPSG:3035: each feature but NOBS is the bilinear interpolation of the native
    features at the output pixel's centre, the harmonics interpolated as (c, s) = (a sin phi,
    a cos phi) and turned back into amplitude and phase; NOBS is the native count under the
    centre. Reference: numpy's bilinear weights at the exactly transformed pixel centres."""
    world = sampledata.simulate_world(size=100, n_dates=6)
    root = write_year(tmp_path / "utm", sampledata.simulate_acquisitions(world, YEAR))
    native = read_pp(run_and_return(root, tmp_path / "native.tif")).astype(np.float64)
    laea_path = run_and_return(root, tmp_path / "laea.tif", target_crs_wkt=epsg_wkt(3035))
    laea, grid = read_pp(laea_path), Grid.of_dataset(gdal.Open(str(laea_path)))
    x0, px, _, y1, _, py = grid.geotransform
    cols, rows = np.meshgrid(np.arange(grid.width) + 0.5, np.arange(grid.height) + 0.5)
    points = np.column_stack([x0 + cols.ravel() * px, y1 + rows.ravel() * py])
    to_utm = osr.CoordinateTransformation(grid.srs, Grid(world.crs_wkt, (0, 1, 0, 0, 0, -1), 1, 1).srs)
    utm = np.array(to_utm.TransformPoints(points))
    # Source position in pixel units, measured from the centre of the first native pixel.
    fx = (utm[:, 0] - world.geotransform_10m[0]) / 10.0 - 0.5
    fy = (world.geotransform_10m[3] - utm[:, 1]) / 10.0 - 0.5
    c0, r0 = np.floor(fx).astype(int), np.floor(fy).astype(int)
    wx, wy = fx - c0, fy - r0
    interior = (c0 >= 0) & (c0 < 99) & (r0 >= 0) & (r0 < 99)   # all four neighbours inside
    linear = native.copy()
    for k in (1, 2, 3):
        a, phi = native[NAMES.index(f"NDVI_A{k}")], native[NAMES.index(f"NDVI_PHI{k}")]
        linear[NAMES.index(f"NDVI_A{k}")], linear[NAMES.index(f"NDVI_PHI{k}")] = a * np.sin(phi), a * np.cos(phi)
    c, r, wx, wy = c0[interior], r0[interior], wx[interior], wy[interior]
    expected = (linear[:, r, c] * (1 - wx) * (1 - wy) + linear[:, r, c + 1] * wx * (1 - wy)
                + linear[:, r + 1, c] * (1 - wx) * wy + linear[:, r + 1, c + 1] * wx * wy)
    for k in (1, 2, 3):
        ia, ip = NAMES.index(f"NDVI_A{k}"), NAMES.index(f"NDVI_PHI{k}")
        expected[ia], expected[ip] = np.hypot(expected[ia], expected[ip]), np.arctan2(expected[ia], expected[ip])
    flat = laea.reshape(laea.shape[0], -1)[:, interior].astype(np.float64)
    phases = [NAMES.index(f"NDVI_PHI{k}") for k in (1, 2, 3)]
    others = [index for index in range(len(NAMES) - 1) if index not in phases]
    # GDAL computes the weights in float32 arithmetic: agreement to a few 1e-6 of the values.
    np.testing.assert_allclose(flat[others], expected[others], rtol=1e-4, atol=2e-5)
    # Phases compared on the circle, where the amplitude makes them meaningful.
    amplitude = expected[[NAMES.index(f"NDVI_A{k}") for k in (1, 2, 3)]]
    turn = np.angle(np.exp(1j * (flat[phases] - expected[phases])))
    assert np.abs(turn[amplitude > 1e-3]).max() < 1e-2
    # NOBS is a count: the native count under the centre, never a blend.
    nearest_col, nearest_row = np.floor(fx + 0.5).astype(int)[interior], np.floor(fy + 0.5).astype(int)[interior]
    np.testing.assert_array_equal(flat[-1], native[-1][nearest_row, nearest_col])
    assert interior.sum() > 0.8 * 100 * 100


@pytest.fixture(scope="module")
def tile_pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("pair")
    return sampledata.generate_tile_pair(str(root), size=60, n_dates=8)


def test_two_tiles_in_two_utm_zones_merge_by_most_observations(tile_pair, tmp_path):
    both = f"{tile_pair['T33']};{tile_pair['T34']}"
    target = epsg_wkt(3035)
    summary = run_preprocess(both, str(tmp_path / "both.tif"), PreprocessOptions(target_crs_wkt=target))
    assert summary["tiles"] == 2
    merged = read_pp(tmp_path / "both.tif")
    grid = summary["grid"]
    singles = {}
    for name in ("T33", "T34"):
        run_preprocess(tile_pair[name], str(tmp_path / f"{name}.tif"), PreprocessOptions(
            target_crs_wkt=target, extent=grid.bounds, extent_crs_wkt=target))
        single_grid = Grid.of_dataset(gdal.Open(str(tmp_path / f"{name}.tif")))
        # Each single-tile output, placed on the merged grid (same CRS, aligned).
        col = round((single_grid.geotransform[0] - grid.geotransform[0]) / 10)
        row = round((grid.geotransform[3] - single_grid.geotransform[3]) / 10)
        placed = np.full(merged.shape, np.nan, np.float32)
        placed[-1] = -1
        placed[:, row:row + single_grid.height, col:col + single_grid.width] = read_pp(tmp_path / f"{name}.tif")
        singles[name] = placed
    a, b = singles["T33"], singles["T34"]
    # Every pixel under a tile has observations there (NOBS 0 outside the tile's footprint).
    covered_a, covered_b = a[-1] > 0, b[-1] > 0
    overlap = covered_a & covered_b
    assert overlap.sum() > 500 and (covered_a & ~covered_b).any() and (covered_b & ~covered_a).any()
    # The rule: the tile with more observations; T33 (EPSG 32633 first) on a tie.
    take_b = covered_b & (~covered_a | (b[-1] > a[-1]))
    expected = np.where(take_b[None], b, a)
    covered = covered_a | covered_b
    np.testing.assert_array_equal(merged[:, covered], expected[:, covered])
    assert (take_b & overlap).any() and (~take_b & overlap).any()
    # No gap: every pixel under either tile has observations; none anywhere else.
    assert (merged[-1][covered] > 0).all() and np.isfinite(merged[:-1][:, covered]).all()
    assert (merged[-1][~covered] == 0).all()
    # A datatake two tiles share is never counted twice: NOBS <= the datatakes of the winner.
    assert merged[-1].max() == max(len(dates) for dates in tile_pair["dates"].values())
    # No seam: across the line where the winning tile changes, neighbouring values differ little
    # more than neighbours inside one tile (the ground is one smooth field seen by both tiles;
    # the bilinear weights near a tile's edge renormalise over fewer pixels, hence the margin).
    q = merged[NAMES.index("Q20_B04")]
    step = np.abs(np.diff(q, axis=1))
    switch = (take_b[:, 1:] != take_b[:, :-1]) & covered[:, 1:] & covered[:, :-1]
    inside = ~switch & covered[:, 1:] & covered[:, :-1]
    assert switch.any() and np.nanmax(step[switch]) <= 1.25 * np.nanmax(step[inside])


def test_several_crs_without_a_target_crs_is_a_clear_error(tile_pair, tmp_path):
    with pytest.raises(ImperviousnessError, match="differ in CRS.*Give a target CRS"):
        run_preprocess(f"{tile_pair['T33']};{tile_pair['T34']}", str(tmp_path / "x.tif"))
    assert not (tmp_path / "x.tif").exists()


def test_block_size_and_threads_do_not_change_the_result(tile_pair, tmp_path):
    both = f"{tile_pair['T33']};{tile_pair['T34']}"
    outputs = []
    for index, (block, threads) in enumerate(((512, 2), (16, 1), (22, 3))):
        path = tmp_path / f"pp{index}.tif"
        run_preprocess(both, str(path), PreprocessOptions(target_crs_wkt=epsg_wkt(3035),
                                                          block_size=block, threads=threads))
        outputs.append(read_pp(path))
    for other in outputs[1:]:
        np.testing.assert_array_equal(other, outputs[0])
    # The tiles' intermediate features are removed: only the outputs are left.
    assert sorted(os.listdir(tmp_path)) == ["pp0.tif", "pp1.tif", "pp2.tif"]


def test_cancellation_while_merging_tiles_leaves_no_file(tile_pair, tmp_path):
    """Cancelled after the tiles' reduction (progress steps of the merge pass): neither the
    output nor a tile's intermediate features are left behind."""
    both = f"{tile_pair['T33']};{tile_pair['T34']}"
    options = PreprocessOptions(target_crs_wkt=epsg_wkt(3035), block_size=32)
    complete = Feedback()
    run_preprocess(both, str(tmp_path / "done.tif"), options, complete)
    reduction_steps = 2 * 4   # two 60 x 60 px tiles in blocks of 32 px
    assert len(complete.progress) > reduction_steps + 1 and complete.progress[-1] == 100.0
    (tmp_path / "done.tif").unlink()
    for limit in (2, reduction_steps + 1):
        with pytest.raises(Cancelled):
            run_preprocess(both, str(tmp_path / "pp.tif"), options, Feedback(progress=limit))
        assert os.listdir(tmp_path) == []
