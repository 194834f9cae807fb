"""Tests of the NDVI polynomial + harmonic model (fit, evaluation, basis, dates)."""

import datetime as dt

import numpy as np
import pytest
import scipy.linalg
from numpy.polynomial import legendre

import imperviousness_plugin.core.kernels.ndvi_model as ndvi_module
from imperviousness_plugin.core.errors import ImperviousnessError
from imperviousness_plugin.core.kernels.ndvi_model import (
    coefficient_names,
    day_fraction,
    design_matrix,
    evaluate_ndvi_model,
    fit_ndvi_model,
)

# ---------------------------------------------------------------------------------------------
# helpers (independent of the module under test)
# ---------------------------------------------------------------------------------------------


def model_values(pub, tau, order):
    """f(tau) from published coefficients, written directly from the SPEC formula."""
    x = 2 * np.asarray(tau) - 1
    f = legendre.legval(x, pub[: order + 1])
    for k in range(1, order + 1):
        a, phi = pub[order + 2 * k - 1], pub[order + 2 * k]
        f = f + a * np.sin(2 * np.pi * k * np.asarray(tau) + phi)
    return f


def lstsq_published(tau, y, w, order):
    """Per-pixel np.linalg.lstsq on the sqrt-weighted system, converted to the published form."""
    x = 2 * tau - 1
    cols = [legendre.legval(x, np.eye(order + 1)[k]) for k in range(order + 1)]
    for k in range(1, order + 1):
        cols += [np.cos(2 * np.pi * k * tau), np.sin(2 * np.pi * k * tau)]
    A = np.stack(cols, axis=1)
    keep = (w > 0) & np.isfinite(y)
    sw = np.sqrt(w[keep])
    lin = np.linalg.lstsq(A[keep] * sw[:, None], y[keep] * sw, rcond=None)[0]
    c, s = lin[order + 1 :: 2], lin[order + 2 :: 2]
    pub = list(lin[: order + 1])
    for ck, sk in zip(c, s):
        pub += [np.hypot(ck, sk), np.arctan2(ck, sk)]
    return np.array(pub)


def random_published(rng, order, n):
    p = rng.uniform(-0.15, 0.15, size=(order + 1, n))
    p[0] = rng.uniform(0.1, 0.7, size=n)
    amp = rng.uniform(0.05, 0.2, size=(order, n))
    phase = rng.uniform(-np.pi, np.pi, size=(order, n))
    harm = np.empty((2 * order, n))
    harm[0::2], harm[1::2] = amp, phase
    return np.concatenate([p, harm])


def irregular_tau(rng, T, year=2021):
    days = np.sort(rng.choice(np.arange(365), size=T, replace=False))
    dates = [dt.date(year, 1, 1) + dt.timedelta(days=int(d)) for d in days]
    return day_fraction(dates)


def angle_diff(a, b):
    return np.angle(np.exp(1j * (np.asarray(a) - np.asarray(b))))


# ---------------------------------------------------------------------------------------------
# dates, basis, names
# ---------------------------------------------------------------------------------------------


def test_day_fraction_regular_and_leap_years():
    tau = day_fraction([dt.date(2021, 1, 1), dt.date(2021, 3, 1), dt.date(2021, 12, 31),
                        dt.date(2020, 3, 1), dt.date(2020, 12, 31), dt.date(2000, 12, 31),
                        dt.date(1900, 12, 31)])
    assert tau.dtype == np.float64
    np.testing.assert_allclose(tau, [0, 59 / 365, 364 / 365, 60 / 366, 365 / 366, 365 / 366, 364 / 365],
                               rtol=0, atol=1e-15)


def test_day_fraction_accepts_datetimes():
    tau = day_fraction([dt.datetime(2021, 7, 2, 10, 30), np.datetime64("2024-12-31")])
    np.testing.assert_allclose(tau, [182 / 365, 365 / 366])
    with pytest.raises(ImperviousnessError):
        day_fraction(["2021-01-01"])


def test_coefficient_names():
    assert coefficient_names(3) == ["NDVI_P0", "NDVI_P1", "NDVI_P2", "NDVI_P3", "NDVI_A1", "NDVI_PHI1",
                                    "NDVI_A2", "NDVI_PHI2", "NDVI_A3", "NDVI_PHI3"]
    assert coefficient_names(1) == ["NDVI_P0", "NDVI_P1", "NDVI_A1", "NDVI_PHI1"]
    assert len(coefficient_names(4)) == 13


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_design_matrix_columns(order):
    tau = np.linspace(0, 1, 37, endpoint=False)
    A = design_matrix(tau, order)
    assert A.shape == (37, 3 * order + 1) and A.dtype == np.float64
    x = 2 * tau - 1
    for k in range(order + 1):
        np.testing.assert_allclose(A[:, k], legendre.legval(x, np.eye(order + 1)[k]), atol=1e-13)
    for k in range(1, order + 1):
        np.testing.assert_allclose(A[:, order + 2 * k - 1], np.cos(2 * np.pi * k * tau), atol=1e-13)
        np.testing.assert_allclose(A[:, order + 2 * k], np.sin(2 * np.pi * k * tau), atol=1e-13)


@pytest.mark.parametrize("order", [1, 3])
def test_evaluate_matches_spec_formula(order):
    rng = np.random.default_rng(1)
    pub = random_published(rng, order, 4)
    tau = rng.random(50)
    got = evaluate_ndvi_model(pub, tau, order)
    assert got.shape == (50, 4)
    for p in range(4):
        np.testing.assert_allclose(got[:, p], model_values(pub[:, p], tau, order), atol=1e-12)
    grid = evaluate_ndvi_model(pub.reshape(-1, 2, 2), tau, order)
    assert grid.shape == (50, 2, 2)


# ---------------------------------------------------------------------------------------------
# fitting
# ---------------------------------------------------------------------------------------------


def _synthetic(order, seed, T=70, n=400, noise=0.0):
    """Known coefficients, irregular dates, gaps (weight 0 / NaN NDVI), SCL-like weights."""
    rng = np.random.default_rng(seed)
    tau = irregular_tau(rng, T)
    truth = random_published(rng, order, n)
    clean = np.stack([model_values(truth[:, p], tau, order) for p in range(n)], axis=1)
    ndvi = (clean + rng.normal(0, noise, size=clean.shape)).astype(np.float32)
    weights = rng.choice([0, 1, 5, 10, 50], p=[0.25, 0.1, 0.1, 0.15, 0.4], size=(T, n)).astype(np.float32)
    ndvi[rng.random((T, n)) < 0.1] = np.nan  # missing NDVI -> ignored whatever its weight
    ndvi[0, :] = 99.0  # garbage with weight 0 must not matter
    weights[0, :] = 0
    return tau, truth, ndvi, weights


def assert_coefficients_close(coef, truth, order, atol, phase_atol):
    np.testing.assert_allclose(coef[: order + 1], truth[: order + 1], rtol=0, atol=atol)  # p_k
    np.testing.assert_allclose(coef[order + 1 :: 2], truth[order + 1 :: 2], rtol=0, atol=atol)  # a_k
    assert np.abs(angle_diff(coef[order + 2 :: 2], truth[order + 2 :: 2])).max() < phase_atol  # phi_k


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_recovers_known_coefficients_exactly_without_noise(order):
    tau, truth, ndvi, weights = _synthetic(order, seed=10 + order)
    coef = fit_ndvi_model(ndvi, weights, tau, order)
    assert coef.shape == (3 * order + 1, 400) and coef.dtype == np.float32
    # only float32 rounding of the NDVI, amplified by the conditioning of the basis
    assert_coefficients_close(coef, truth, order, atol=1e-4 if order < 4 else 5e-4, phase_atol=5e-3)


# Small noise: the tolerance is 0.01 NDVI for p_k and a_k and 0.1 rad for phi_k (amplitudes
# >= 0.05).  The noise level shrinks with the order because the raw basis gets nearly
# collinear (cond(G) ~ 11, 4e2, 4e4, 1e7): coefficient errors are ~ noise / sqrt(n_obs * e_min).
@pytest.mark.parametrize("order,noise", [(1, 2e-3), (2, 3e-4), (3, 3e-5), (4, 1e-6)])
def test_recovers_known_coefficients_with_gaps_and_small_noise(order, noise):
    tau, truth, ndvi, weights = _synthetic(order, seed=20 + order, noise=noise)
    coef = fit_ndvi_model(ndvi, weights, tau, order)
    assert_coefficients_close(coef, truth, order, atol=0.01, phase_atol=0.1)


def test_curve_and_p0_are_well_determined_with_realistic_noise():
    order = 3
    tau, truth, ndvi, weights = _synthetic(order, seed=30, noise=0.01)
    coef = fit_ndvi_model(ndvi, weights, tau, order)
    grid = (np.arange(365) + 0.5) / 365
    fitted = evaluate_ndvi_model(coef, grid, order)
    expected = np.stack([model_values(truth[:, p], grid, order) for p in range(truth.shape[1])], axis=1)
    rms = np.sqrt(((fitted - expected) ** 2).mean(axis=0))
    # a 10-parameter fit of ~45 unequally weighted observations with noise 0.01
    assert np.median(rms) < 0.01 and np.quantile(rms, 0.95) < 0.03
    np.testing.assert_allclose(coef[0], truth[0], rtol=0, atol=0.02)
    assert np.median(np.abs(coef[0] - truth[0])) < 0.005


def test_phase_convention_single_harmonic():
    tau = np.linspace(0, 1, 48, endpoint=False)
    a, phi = 0.25, 2.0
    ndvi = (0.4 + a * np.sin(2 * np.pi * tau + phi)).astype(np.float32)[:, None]
    coef = fit_ndvi_model(ndvi, np.ones_like(ndvi), tau, order=1, ridge=0)[:, 0]
    np.testing.assert_allclose(coef, [0.4, 0, a, phi], atol=1e-5)


@pytest.mark.parametrize("order", [1, 3, 4])
def test_equals_per_pixel_weighted_lstsq_on_well_observed_pixels(order):
    rng = np.random.default_rng(20 + order)
    T, n = 60, 150
    tau = irregular_tau(rng, T, year=2020)
    ndvi = rng.uniform(-0.2, 0.9, size=(T, n)).astype(np.float32)
    ndvi[rng.random((T, n)) < 0.15] = np.nan
    weights = rng.choice([0, 1, 5, 10, 50], size=(T, n)).astype(np.float64)
    plain = fit_ndvi_model(ndvi, weights, tau, order, ridge=0)
    default = fit_ndvi_model(ndvi, weights, tau, order)
    # The fallback leaves stable pixels untouched.  Stability, independently of any basis: the
    # smallest generalised eigenvalue of (normal matrix / W, annual Gram matrix) >= 1e-4.
    grid = (np.arange(20000) + 0.5) / 20000
    B = design_matrix(grid, order)
    gram = B.T @ B / grid.size
    A = design_matrix(tau, order)
    valid_w = np.where(np.isnan(ndvi), 0, weights)
    e_min = np.array([scipy.linalg.eigh(A.T @ (A * w[:, None]) / w.sum(), gram, eigvals_only=True)[0]
                      for w in valid_w.T])
    stable = e_min >= 1e-4
    assert stable.sum() >= 20
    np.testing.assert_array_equal(default[:, stable], plain[:, stable])
    K = order + 1
    for p in range(n):
        expected = lstsq_published(tau, ndvi[:, p].astype(np.float64), weights[:, p], order)
        got = plain[:, p].astype(np.float64)
        tol = 2e-5 * max(1.0, np.abs(expected).max())  # float32 output
        np.testing.assert_allclose(got[:K], expected[:K], rtol=0, atol=tol, err_msg=str(p))
        np.testing.assert_allclose(got[K::2], expected[K::2], rtol=0, atol=tol, err_msg=str(p))
        big = expected[K::2] > 1e-2
        assert np.abs(angle_diff(got[K + 1 :: 2], expected[K + 1 :: 2])[big]).max(initial=0) < 1e-3


def test_fallback_is_the_documented_tikhonov_solution():
    # one-season coverage (all dates between April and June): unstable for order 3
    order, ridge = 3, 0.1  # the default ridge
    rng = np.random.default_rng(60)
    tau = np.sort(rng.uniform(0.25, 0.5, size=25))
    ndvi = rng.uniform(0.2, 0.8, size=(25, 20)).astype(np.float32)
    weights = rng.choice([1.0, 10.0, 50.0], size=(25, 20))
    coef = fit_ndvi_model(ndvi, weights, tau, order)
    # independent reference: minimise sum w (f - y)^2 + ridge W integral (f - p0)^2 in the raw
    # basis, the integral by a fine midpoint rule
    grid = (np.arange(20000) + 0.5) / 20000
    B = design_matrix(grid, order)
    gram = B.T @ B / grid.size
    gram[0, :] = gram[:, 0] = 0.0
    A = design_matrix(tau, order)
    for p in range(20):
        w, y = weights[:, p], ndvi[:, p].astype(np.float64)
        lin = np.linalg.solve(A.T @ (A * w[:, None]) + ridge * w.sum() * gram, A.T @ (w * y))
        expected = np.concatenate([lin[: order + 1],
                                   np.stack([np.hypot(lin[order + 1 :: 2], lin[order + 2 :: 2]),
                                             np.arctan2(lin[order + 1 :: 2], lin[order + 2 :: 2])], 1).ravel()])
        np.testing.assert_allclose(coef[:, p], expected, rtol=2e-4, atol=2e-4, err_msg=str(p))
        curve = evaluate_ndvi_model(coef[:, p], grid, order)
        assert np.abs(curve).max() < 1.5  # bounded, no wild extrapolation over the rest of the year
    plain = fit_ndvi_model(ndvi, weights, tau, order, ridge=0)
    assert not np.allclose(plain, coef, atol=0.01)  # the fallback did change these pixels


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_p0_is_the_annual_mean_of_the_fitted_curve(order):
    rng = np.random.default_rng(30 + order)
    T, n = 40, 60
    tau = irregular_tau(rng, T)
    ndvi = rng.uniform(0, 0.8, size=(T, n)).astype(np.float32)
    weights = rng.choice([0, 1, 10, 50], size=(T, n)).astype(np.float32)
    weights[:, :10] = 0
    weights[:3, :10] = 10  # a few pixels with 3 observations: ridge fallback
    coef = fit_ndvi_model(ndvi, weights, tau, order)
    grid = (np.arange(200000) + 0.5) / 200000  # midpoint rule over [0, 1)
    curve = evaluate_ndvi_model(coef, grid, order)
    np.testing.assert_allclose(curve.mean(axis=0), coef[0], rtol=0, atol=1e-5)


def test_no_observation_gives_nan_and_one_observation_gives_its_value():
    tau = np.linspace(0.02, 0.97, 12)
    ndvi = np.full((12, 5), 0.3, dtype=np.float32)
    weights = np.zeros((12, 5), dtype=np.float32)
    ndvi[:, 1] = np.nan  # pixel 1: weights but no valid NDVI
    weights[:, 1] = 50
    weights[4, 2] = 10  # pixel 2: one observation
    ndvi[4, 2] = 0.62
    weights[[1, 9], 3] = [5, 50]  # pixel 3: two observations
    ndvi[[1, 9], 3] = [0.2, 0.5]
    weights[:, 4] = 1  # pixel 4: all observations
    for order in (1, 3):
        coef = fit_ndvi_model(ndvi, weights, tau, order)
        assert np.isnan(coef[:, 0]).all() and np.isnan(coef[:, 1]).all()
        assert np.isfinite(coef[:, 2:]).all()
        shape = list(range(1, order + 1)) + list(range(order + 1, 3 * order + 1, 2))  # p_k, a_k
        assert coef[0, 2] == pytest.approx(0.62, abs=1e-6)
        np.testing.assert_allclose(coef[shape, 2], 0, atol=1e-6)  # no seasonal shape from one point
        assert 0.2 <= coef[0, 3] <= 0.5
        assert coef[0, 4] == pytest.approx(0.3, abs=1e-6)  # constant series: p0 = the value ...
        np.testing.assert_allclose(coef[shape, 4], 0, atol=1e-6)  # ... and nothing else


def test_never_inf_on_degenerate_pixels():
    rng = np.random.default_rng(40)
    tau = np.full(30, 0.5)  # every observation on the same day
    tau[:2] = [0.5 + 1e-9, 0.5 - 1e-9]
    ndvi = rng.uniform(-1, 1, size=(30, 50)).astype(np.float32)
    weights = rng.choice([0, 1e-30, 1, 1e30], size=(30, 50))
    for ridge in (0, 1e-3):
        coef = fit_ndvi_model(ndvi, weights, tau, 3, ridge=ridge)
        assert not np.isinf(coef).any()
        has_obs = weights.sum(axis=0) > 0
        assert np.isfinite(coef[:, has_obs]).all()


def test_threads_and_chunks_give_identical_results(monkeypatch):
    rng = np.random.default_rng(50)
    T = 25
    tau = irregular_tau(rng, T)
    ndvi = rng.uniform(0, 1, size=(T, 30, 41)).astype(np.float32)
    weights = rng.choice([0, 1, 50], size=(T, 30, 41)).astype(np.float32)
    base = fit_ndvi_model(ndvi, weights, tau, 3, threads=1)
    assert base.shape == (10, 30, 41)
    monkeypatch.setattr(ndvi_module, "_CHUNK_PIXELS", 97)
    for threads in (1, 2, 3):
        np.testing.assert_array_equal(fit_ndvi_model(ndvi, weights, tau, 3, threads=threads), base)
    # worker threads are used when BLAS is single-threaded (or not a detectable OpenBLAS)
    monkeypatch.setattr(ndvi_module, "_openblas_threads", lambda: 0)
    for threads in (2, 3):
        np.testing.assert_array_equal(fit_ndvi_model(ndvi, weights, tau, 3, threads=threads), base)
    flat = fit_ndvi_model(ndvi.reshape(T, -1), weights.reshape(T, -1), tau, 3)
    np.testing.assert_array_equal(flat.reshape(base.shape), base)


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(order=-1), "non-negative integer"),
        (dict(order=2.5), "non-negative integer"),
        (dict(ridge=-1), "ridge"),
        (dict(ridge=float("inf")), "ridge"),
        (dict(threads=0), "threads"),
        (dict(tau=np.zeros(3)), "one value per date"),
        (dict(weights=np.ones((5, 3))), "same shape"),
        (dict(weights=-np.ones((4, 3))), "non-negative"),
        (dict(weights=np.full((4, 3), np.inf)), "finite"),
    ],
)
def test_bad_arguments(change, match):
    args = dict(ndvi=np.zeros((4, 3), np.float32), weights=np.ones((4, 3)), tau=np.linspace(0, 0.9, 4),
                order=1, ridge=1e-3, threads=2)
    args.update(change)
    with pytest.raises(ImperviousnessError, match=match):
        fit_ndvi_model(args.pop("ndvi"), args.pop("weights"), args.pop("tau"), args.pop("order"), **args)


def test_evaluate_checks_coefficient_count():
    with pytest.raises(ImperviousnessError, match="10 coefficients"):
        evaluate_ndvi_model(np.zeros((4, 2)), [0.1], 3)


@pytest.fixture
def openblas():
    """OpenBLAS's (get, set) thread functions. The thread limiting under test only exists for
    OpenBLAS (Debian's numpy uses it); with another BLAS numpy there is nothing to limit."""
    api = ndvi_module._openblas_api()
    if api is None:
        pytest.skip("numpy is linked to a BLAS other than OpenBLAS: no BLAS threads to limit")
    return api


def test_blas_thread_setting_is_restored(openblas):
    get, _ = openblas
    before = get()
    rng = np.random.default_rng(70)
    ndvi = rng.uniform(0, 1, size=(20, 5000)).astype(np.float32)
    weights = np.ones_like(ndvi)
    for threads in (1, 2):
        fit_ndvi_model(ndvi, weights, np.linspace(0, 0.95, 20), 2, threads=threads)
        assert get() == before
    with pytest.raises(ImperviousnessError):
        fit_ndvi_model(ndvi, -weights, np.linspace(0, 0.95, 20), 2, threads=2)
    assert get() == before


def test_nan_weight_is_zero_weight_and_nan_ndvi_is_ignored():
    rng = np.random.default_rng(80)
    tau = np.sort(rng.uniform(0, 1, size=40))
    ndvi = rng.uniform(0, 0.9, size=(40, 30)).astype(np.float32)
    weights = rng.choice([1.0, 10.0, 50.0], size=(40, 30))
    nan_w = weights.copy()
    nan_w[::3] = np.nan
    zero_w = weights.copy()
    zero_w[::3] = 0
    np.testing.assert_array_equal(fit_ndvi_model(ndvi, nan_w, tau, 2), fit_ndvi_model(ndvi, zero_w, tau, 2))
    garbage = ndvi.copy()
    garbage[::3] = np.nan
    np.testing.assert_array_equal(fit_ndvi_model(garbage, weights, tau, 2), fit_ndvi_model(ndvi, zero_w, tau, 2))


def test_single_threaded_blas_context_nests_and_restores(openblas):
    get, _ = openblas
    before = get()
    rng = np.random.default_rng(90)
    ndvi = rng.uniform(0, 1, size=(20, 3000)).astype(np.float32)
    weights = np.ones_like(ndvi)
    tau = np.linspace(0, 0.95, 20)
    expected = fit_ndvi_model(ndvi, weights, tau, 2, threads=1)
    with ndvi_module._single_threaded_blas():
        assert get() == 1
        with ndvi_module._single_threaded_blas():  # nested
            assert get() == 1
        assert get() == 1
        np.testing.assert_array_equal(fit_ndvi_model(ndvi, weights, tau, 2, threads=2), expected)
    assert get() == before


# ---------------------------------------------------------------------------------------------
# the compiled kernel (numba) against the numpy path, and across processes and CPU targets
# ---------------------------------------------------------------------------------------------

def hard_block(seed=60, T=37, shape=(23, 57)):
    """NDVI and SCL-like weights with the cases that take every branch: well observed pixels,
    one-season pixels (ridge), no observation, single observations, NaN NDVI and NaN weights."""
    rng = np.random.default_rng(seed)
    tau = irregular_tau(rng, T)
    ndvi = (0.4 + 0.3 * np.sin(2 * np.pi * tau)[:, None, None]
            + 0.05 * rng.standard_normal((T,) + shape)).astype(np.float32)
    weights = rng.choice(np.array([0, 1, 5, 10, 50], np.float32), size=(T,) + shape)
    weights[:, :4] *= (tau < 0.3)[:, None, None]           # one season
    weights[:, 4, :10] = 0                                  # no observation
    weights[:-1, 5, :10] = 0                                # a single observation
    ndvi[rng.uniform(size=ndvi.shape) < 0.02] = np.nan
    weights[rng.uniform(size=weights.shape) < 0.01] = np.nan
    return ndvi, weights, tau


@pytest.mark.skipif(not ndvi_module._compiled.AVAILABLE, reason="numba is not installed")
@pytest.mark.parametrize("order", [1, 3])
def test_compiled_kernel_equals_the_numpy_path(order, monkeypatch):
    ndvi, weights, tau = hard_block()
    compiled = fit_ndvi_model(ndvi, weights, tau, order, threads=2)
    monkeypatch.setattr(ndvi_module._compiled, "AVAILABLE", False)
    numpy_path = fit_ndvi_model(ndvi, weights, tau, order, threads=2)
    assert np.isnan(compiled[:, 4, :10]).all() and np.isfinite(compiled[:, 5:, :]).any()
    # Same sums in the same order (dates in order, no BLAS, no fused multiply-add): equal to the
    # last bit here; the documented tolerance is float64 rounding, at most 1 float32 ulp.
    np.testing.assert_array_max_ulp(compiled, numpy_path, maxulp=1)
    assert (np.isnan(compiled) == np.isnan(numpy_path)).all()


@pytest.mark.skipif(not ndvi_module._compiled.AVAILABLE, reason="numba is not installed")
@pytest.mark.parametrize("weights,match", [(-1.0, "non-negative"), (np.inf, "finite")])
def test_compiled_kernel_refuses_bad_weights(weights, match):
    ndvi, good, tau = hard_block()
    good[3, 7, 9] = weights
    with pytest.raises(ImperviousnessError, match=match):
        fit_ndvi_model(ndvi, good, tau, 3)


@pytest.mark.skipif(not ndvi_module._compiled.AVAILABLE, reason="numba is not installed")
@pytest.mark.parametrize("order,ridge", [(3, 0.1), (3, 0.0), (1, 0.1)])
def test_tile_solve_equals_the_per_pixel_solve(order, ridge):
    """The Cholesky factor, solve and coefficients done for a whole tile of pixels at once (SIMD
    across pixels) give the bytes of the scalar per-pixel solve, on normal equations with every
    case: well observed, one season (ridge), a single observation, no observation."""
    compiled = ndvi_module._compiled
    ndvi, weights, tau = hard_block(seed=65, T=41, shape=(8, 64))
    plan = ndvi_module._FitPlan(tau, order, ridge)
    wv = np.nan_to_num(weights.reshape(41, -1).astype(np.float64))
    wy = np.nan_to_num(ndvi.reshape(41, -1).astype(np.float64)) * wv
    M, B = plan.QQ_T @ wv, plan.Q_T @ wy     # any normal equations will do (rounding irrelevant)
    K, P, n = plan.K, M.shape[0], M.shape[1]
    assert (M[0] == 0).any() and n % compiled._TILE == 0
    floor, eig = ndvi_module._PIVOT_FLOOR, ndvi_module._STABLE_EIG
    work, vectors, m, b = np.empty((3, K, K)), np.empty((2, K)), np.empty(P), np.empty(K)
    per_pixel = np.empty((K, n), np.float32)
    for p in range(n):
        compiled._solve_pixel(M[:, p].copy(), B[:, p].copy(), plan.ii, plan.jj, plan.R_inv, order,
                              ridge, floor, eig, per_pixel, p, work, vectors)
    tiled = np.empty((K, n), np.float32)
    tile = compiled._TILE
    for first in range(0, n, tile):
        compiled._solve_tile(np.ascontiguousarray(M[:, first:first + tile]),
                             np.ascontiguousarray(B[:, first:first + tile]), tile, first, plan.ii,
                             plan.jj, plan.R_inv, order, ridge, floor, eig, tiled,
                             np.empty((P + 2 * K + 3, tile)), m, b, work, vectors)
    assert np.isnan(per_pixel[:, M[0] == 0]).all()
    assert tiled.tobytes() == per_pixel.tobytes()


@pytest.mark.skipif(not ndvi_module._compiled.AVAILABLE, reason="numba is not installed")
def test_compiled_kernel_takes_strided_and_integer_inputs():
    """A view with gaps (a column slice of a larger array) and integer weights give the result of
    the same values as contiguous float arrays (the kernel reads whole C-contiguous arrays)."""
    ndvi, weights, tau = hard_block(seed=66, T=29, shape=(30, 70))
    weights = np.nan_to_num(weights).astype(np.uint8)
    strided_ndvi, strided_weights = ndvi[:, 3:27, 5:66], weights[:, 3:27, 5:66]
    assert not strided_ndvi.flags.c_contiguous
    expected = fit_ndvi_model(strided_ndvi.copy(), strided_weights.astype(np.float32), tau, 3)
    assert fit_ndvi_model(strided_ndvi, strided_weights, tau, 3).tobytes() == expected.tobytes()


FIT_IN_CHILD = """
import hashlib, sys
import numpy as np
sys.path.insert(0, {tests!r})
from test_ndvi_model import hard_block
from imperviousness_plugin.core.kernels.ndvi_model import fit_ndvi_model
ndvi, weights, tau = hard_block(seed=61, T=61, shape=(64, 150))
print(hashlib.sha256(fit_ndvi_model(ndvi, weights, tau, 3, threads=2).tobytes()).hexdigest())
"""


def test_fit_is_identical_across_processes_and_cpu_targets():
    """The PP must not depend on the process or the CPU (SPEC 10): the fit in fresh processes,
    one with numpy's AVX-512 code off, numba compiled for Haswell and OpenBLAS's Haswell kernels
    (an AVX2 CPU; numpy's float64 sin/cos and LAPACK's Cholesky differed there before), one as the machine
    runs it, with BLAS threads as in qgis_process, gives the same bytes."""
    import os
    import pathlib
    import subprocess
    import sys
    tests = str(pathlib.Path(__file__).parent)
    digests = set()
    for extra in ({}, {"NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512CD AVX512_SKX AVX512_CLX "
                                                   "AVX512_CNL AVX512_ICL", "NUMBA_CPU_NAME": "haswell",
                   # without the features numba keeps the host's AVX-512 on a "haswell" CPU
                   "NUMBA_CPU_FEATURES": "+avx2",
                   "OPENBLAS_CORETYPE": "Haswell"},
                  {"OPENBLAS_NUM_THREADS": "2"}):
        result = subprocess.run([sys.executable, "-c", FIT_IN_CHILD.format(tests=tests)],
                                env=dict(os.environ, **extra), capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        digests.add(result.stdout.strip())
    assert len(digests) == 1, digests
