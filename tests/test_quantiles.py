"""Tests of the weighted quantile kernel against independent per-pixel references."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imperviousness_plugin.core.kernels.quantiles as quantiles_module
from imperviousness_plugin.core.errors import ImperviousnessError
from imperviousness_plugin.core.kernels.quantiles import INVALID_CODE, weighted_quantile

SCL_WEIGHTS = [0, 0, 0, 10, 50, 50, 50, 10, 5, 1, 1, 1, 0, 0, 0, 0]
QS = [0.0, 0.2, 0.5, 0.9, 1.0]


# ---------------------------------------------------------------------------------------------
# independent references
# ---------------------------------------------------------------------------------------------


def ref_numpy(values, codes, weights, qs):
    """Per pixel: numpy's inverted-CDF quantile of the values repeated by their integer weight."""
    values = np.asarray(values)
    T = values.shape[0]
    flat_v = values.reshape(T, -1)
    flat_c = np.asarray(codes).reshape(T, -1)
    table = np.asarray(weights, dtype=np.int64).copy()
    table[INVALID_CODE] = 0
    out = np.full((len(qs), flat_v.shape[1]), np.nan)
    for p in range(flat_v.shape[1]):
        x = flat_v[:, p].astype(np.float64)
        w = table[flat_c[:, p]]
        keep = (w > 0) & ~np.isnan(x)
        if keep.any():
            out[:, p] = np.quantile(np.repeat(x[keep], w[keep]), qs, method="inverted_cdf")
    return out.reshape((len(qs),) + values.shape[1:])


def ref_fraction(x, w, q):
    """Exact rational definition: smallest x_i with sum(w_j, x_j <= x_i) >= q * W (q as decimal)."""
    pairs = sorted((float(a), Fraction(b)) for a, b in zip(x, w) if b > 0 and not math.isnan(a))
    if not pairs:
        return math.nan
    total = sum(b for _, b in pairs)
    target = Fraction(str(q)) * total
    cum = Fraction(0)
    for value, weight in pairs:
        cum += weight
        if cum >= target:
            return value
    raise AssertionError("unreachable")


def assert_same(actual, expected):
    actual = np.asarray(actual)
    assert actual.dtype == np.float32
    np.testing.assert_array_equal(actual, np.asarray(expected, dtype=np.float32))


@pytest.fixture(autouse=True, params=["sort", "select"])
def strategy(request):
    """Every test runs with both exact algorithms: the sort of packed keys (numpy) and the
    bisection without a sort (numba), which "auto" picks when numba is installed."""
    saved = quantiles_module.STRATEGY
    quantiles_module.STRATEGY = request.param
    yield request.param
    quantiles_module.STRATEGY = saved


def test_selection_is_installed_and_chosen_with_and_without_avx512(strategy, monkeypatch):
    """"auto" picks the bisection (numba) on every CPU: it beats numpy's AVX-512 sort too
    (README Performance); "sort" keeps the sorting path."""
    from numpy.core._multiarray_umath import __cpu_features__
    from imperviousness_plugin.core.kernels import selection
    assert selection.AVAILABLE, "numba (requirements.txt) is not installed"
    values, codes = np.arange(20, dtype=np.int16).reshape(10, 2), np.full((10, 2), 4, np.uint8)
    for chosen_strategy, chosen in (("auto", True), ("sort", False)):
        monkeypatch.setattr(quantiles_module, "STRATEGY", chosen_strategy)
        for avx512 in (True, False):
            monkeypatch.setitem(__cpu_features__, "AVX512_SKX", avx512)
            plan = quantiles_module._Plan(values, quantiles_module._weight_table(SCL_WEIGHTS), 10)
            assert plan.select is chosen
            assert_same(weighted_quantile(values, codes, SCL_WEIGHTS, 0.2), [2, 3])


# ---------------------------------------------------------------------------------------------
# worked examples
# ---------------------------------------------------------------------------------------------


def test_hand_worked_example():
    # sorted valid: 10 (w=1), 20 (w=50), 30 (w=50); 40 has the invalid code 15. W = 101.
    values = np.array([30, 10, 20, 40], dtype=np.int16)
    codes = np.array([4, 9, 4, 15], dtype=np.uint8)
    got = weighted_quantile(values, codes, SCL_WEIGHTS, [0, 0.005, 0.01, 0.2, 0.5, 0.505, 0.6, 1])
    # thresholds 0 -> 10; 0.505 -> 10 (cum 1 >= 0.505); 1.01 -> 20; 20.2 -> 20; 50.5 -> 20;
    # 51.005 -> 30; 60.6 -> 30; 101 -> 30
    assert_same(got, [10, 10, 20, 20, 20, 30, 30, 30])


def test_scalar_q_and_equal_weights_match_numpy():
    x = np.array([5.0, 1.0, 4.0, 2.0, 3.0], dtype=np.float32)
    codes = np.full(5, 4, dtype=np.uint8)
    for q in [0, 0.1, 0.2, 0.21, 0.4, 0.5, 0.59, 0.6, 0.8, 0.99, 1]:
        got = weighted_quantile(x, codes, SCL_WEIGHTS, q)
        assert got.shape == ()
        assert got == np.quantile(x, q, method="inverted_cdf"), q


def test_rounding_of_q_times_w_uses_decimal_q():
    # 100 * 0.07 == 7.000000000000001: numpy picks the 8th value, the definition the 7th.
    x = np.arange(100, dtype=np.int16)
    codes = np.full(100, 5, dtype=np.uint8)
    got = weighted_quantile(x, codes, SCL_WEIGHTS, 0.07)
    assert 100 * 0.07 > 7
    assert got == ref_fraction(x, [1] * 100, 0.07) == 6
    assert np.quantile(x, 0.07, method="inverted_cdf") == 7  # numpy's rounding artefact


def test_invalid_code_weight_is_forced_to_zero():
    x = np.array([100, 1, 2, 3], dtype=np.uint16)
    codes = np.array([15, 4, 4, 4], dtype=np.uint8)
    weights = list(SCL_WEIGHTS)
    weights[15] = 1000.0  # must be ignored
    assert_same(weighted_quantile(x, codes, weights, [0, 1]), [1, 3])
    only_invalid = weighted_quantile(x, np.full(4, 15, np.uint8), weights, 0.5)
    assert np.isnan(only_invalid)


def test_q0_skips_zero_weight_observations():
    x = np.array([-7, 3, 9, -20], dtype=np.int16)
    codes = np.array([9, 4, 0, 1], dtype=np.uint8)  # codes 0 and 1 have weight 0
    assert_same(weighted_quantile(x, codes, SCL_WEIGHTS, [0, 1]), [-7, 3])


# ---------------------------------------------------------------------------------------------
# random comparisons with the numpy reference
# ---------------------------------------------------------------------------------------------


def _random_case(rng, dtype, shape, low, high, nan_fraction=0.0):
    values = rng.integers(low, high + 1, size=shape)
    if np.dtype(dtype).kind == "f":
        values = values.astype(dtype) / dtype(4)  # ties and negative fractions
        values[rng.random(shape) < nan_fraction] = np.nan
    else:
        values = values.astype(dtype)
    codes = rng.integers(0, 16, size=shape).astype(np.uint8)
    # some fully masked pixels
    flat_codes = codes.reshape(shape[0], -1)
    flat_codes[:, :3] = rng.choice([0, 1, 2, 12, 15], size=(shape[0], 3))
    return values, codes


@pytest.mark.parametrize(
    "dtype,low,high",
    [
        (np.int16, -6, 6),
        (np.int16, -32768, 32767),
        (np.uint16, 0, 5),
        (np.uint16, 0, 65535),
        (np.uint8, 0, 255),
        (np.int8, -128, 127),
        (np.float32, -8, 8),
        (np.float64, -8, 8),
        (np.int32, -5, 5),
        (np.int32, -(2**31), 2**31 - 1),  # range too wide for the 32-bit keys: exact path
        (np.uint32, 10**9, 10**9 + 20),
        (np.uint32, 4 * 10**9, 4 * 10**9 + 2000),  # offset beyond the int32 range
        (np.int64, -(10**12), -(10**12) + 9),
    ],
)
def test_matches_numpy_reference_with_ties(dtype, low, high):
    rng = np.random.default_rng(abs(hash((np.dtype(dtype).str, low))) % 2**32)
    values, codes = _random_case(rng, dtype, (23, 9, 13), low, high, nan_fraction=0.1)
    got = weighted_quantile(values, codes, SCL_WEIGHTS, QS)
    expected = ref_numpy(values, codes, SCL_WEIGHTS, QS)
    assert got.shape == (len(QS), 9, 13)
    assert np.isnan(got[:, 0, :3]).all()  # fully masked pixels
    assert_same(got, expected)


def test_float32_with_negatives_nan_and_infinities():
    rng = np.random.default_rng(3)
    values = rng.normal(0, 1, size=(40, 500)).astype(np.float32)
    values[rng.random(values.shape) < 0.05] = -np.inf
    values[rng.random(values.shape) < 0.05] = np.inf
    values[rng.random(values.shape) < 0.2] = np.nan
    codes = rng.integers(0, 13, size=values.shape).astype(np.uint8)
    got = weighted_quantile(values, codes, SCL_WEIGHTS, QS)
    assert_same(got, ref_numpy(values, codes, SCL_WEIGHTS, QS))


def test_float32_values_closer_than_key_resolution():
    # Values that differ only in their last mantissa bits (the 4 bits the float keys drop),
    # around 1.0, around 0 (denormals, -0.0 / +0.0) and negative values.
    rng = np.random.default_rng(4)
    base = np.array([1.0, -1.0, 0.0, 1e-38, -3.5], dtype=np.float32)
    pool = []
    for b in base:
        bits = np.array([b], dtype=np.float32).view(np.int32)[0]
        for k in range(-20, 21):
            pool.append(np.array([bits + k], dtype=np.int32).view(np.float32)[0])
    pool += [np.float32(-0.0), np.float32(0.0), np.float32(1.4e-45), np.float32(-1.4e-45)]
    pool = np.array([p for p in pool if np.isfinite(p)], dtype=np.float32)
    values = rng.choice(pool, size=(30, 2000)).astype(np.float32)
    codes = rng.integers(0, 12, size=values.shape).astype(np.uint8)
    got = weighted_quantile(values, codes, SCL_WEIGHTS, QS)
    assert_same(got, ref_numpy(values, codes, SCL_WEIGHTS, QS))


def test_float64_not_representable_in_float32_uses_exact_path():
    rng = np.random.default_rng(5)
    values = rng.normal(size=(15, 300))  # float64 with full mantissas
    values[rng.random(values.shape) < 0.1] = np.nan
    codes = rng.integers(0, 12, size=values.shape).astype(np.uint8)
    got = weighted_quantile(values, codes, SCL_WEIGHTS, QS)
    # float32 output: the selected float64 value rounded to float32
    assert_same(got, ref_numpy(values, codes, SCL_WEIGHTS, QS).astype(np.float32))


def test_shape_t_only_and_q_sequences():
    x = np.array([3, 1, 2], dtype=np.int16)
    codes = np.array([4, 4, 4], dtype=np.uint8)
    assert weighted_quantile(x, codes, SCL_WEIGHTS, 0.5).shape == ()
    assert weighted_quantile(x, codes, SCL_WEIGHTS, [0.5]).shape == (1,)
    assert weighted_quantile(x, codes, SCL_WEIGHTS, (0.0, 1.0)).tolist() == [1.0, 3.0]
    assert weighted_quantile(x, codes, SCL_WEIGHTS, np.array([0.5, 0.2])).shape == (2,)
    stack = np.zeros((3, 4, 5, 6), np.int16)
    assert weighted_quantile(stack, np.zeros(stack.shape, np.uint8) + 4, SCL_WEIGHTS, 0.3).shape == (4, 5, 6)


def test_non_integer_weights():
    # weights that are exact binary fractions -> the integer reference with weights x 4
    weights = [0, 0, 0, 2.5, 12.5, 12.5, 12.5, 2.5, 1.25, 0.25, 0.25, 0.25, 0, 0, 0, 0]
    as_int = [int(w * 4) for w in weights]
    rng = np.random.default_rng(6)
    for dtype in (np.int16, np.float32):
        values, codes = _random_case(rng, dtype, (31, 700), -9, 9, nan_fraction=0.1)
        got = weighted_quantile(values, codes, weights, QS)
        assert_same(got, ref_numpy(values, codes, as_int, QS))


def test_non_dyadic_weights_against_fraction_reference():
    weights = [0, 0, 0, 0.1, 0.3, 0.7, 0.2, 0.1, 0.05, 0.01, 0.01, 0.01, 0, 0, 0, 0]
    rng = np.random.default_rng(7)
    values = rng.integers(-4, 5, size=(25, 300)).astype(np.int16)
    codes = rng.integers(0, 16, size=values.shape).astype(np.uint8)
    qs = [0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1]
    got = weighted_quantile(values, codes, weights, qs)
    table = list(weights)
    table[15] = 0
    for p in range(values.shape[1]):
        # Fraction(str(w)) makes the reference use the decimal weights exactly
        w = [Fraction(str(table[c])) for c in codes[:, p]]
        for j, q in enumerate(qs):
            expected = ref_fraction(values[:, p], w, q)
            assert (math.isnan(expected) and math.isnan(got[j, p])) or got[j, p] == expected, (p, q)


def test_large_integer_weights_use_wide_accumulators():
    weights = [0, 0, 0, 10**6, 5 * 10**6, 3, 7, 40000, 65536, 1, 1, 1, 0, 0, 0, 0]
    rng = np.random.default_rng(8)
    values, codes = _random_case(rng, np.int16, (50, 200), -50, 50)
    got = weighted_quantile(values, codes, weights, QS)
    table = list(weights)
    table[15] = 0
    expected = [[ref_fraction(values[:, p], [table[c] for c in codes[:, p]], q) for p in range(200)] for q in QS]
    assert_same(got, expected)


def test_threads_chunks_and_fallback_give_identical_results(monkeypatch):
    rng = np.random.default_rng(9)
    ints, codes = _random_case(rng, np.int16, (20, 3001), -300, 300)
    floats = rng.normal(size=(20, 3001)).astype(np.float32)
    floats[rng.random(floats.shape) < 0.1] = np.nan
    base_int = weighted_quantile(ints, codes, SCL_WEIGHTS, QS, threads=1)
    base_float = weighted_quantile(floats, codes, SCL_WEIGHTS, QS, threads=1)
    assert_same(base_int, ref_numpy(ints, codes, SCL_WEIGHTS, QS))
    assert_same(base_float, ref_numpy(floats, codes, SCL_WEIGHTS, QS))
    monkeypatch.setattr(quantiles_module, "_CHUNK_ELEMENTS", 20 * 37)  # many small chunks
    for threads in (1, 2, 3):
        assert_same(weighted_quantile(ints, codes, SCL_WEIGHTS, QS, threads=threads), base_int)
        assert_same(weighted_quantile(floats, codes, SCL_WEIGHTS, QS, threads=threads), base_float)
    monkeypatch.setattr(quantiles_module, "_cv2", None)  # pure numpy fallback
    assert_same(weighted_quantile(ints, codes, SCL_WEIGHTS, QS, threads=2), base_int)
    assert_same(weighted_quantile(floats, codes, SCL_WEIGHTS, QS, threads=2), base_float)


def test_non_contiguous_input_and_other_code_dtypes():
    rng = np.random.default_rng(10)
    values, codes = _random_case(rng, np.int16, (12, 40, 30), -5, 5)
    view = values[:, ::2, ::3]
    cview = codes[:, ::2, ::3].astype(np.int32)
    got = weighted_quantile(view, cview, SCL_WEIGHTS, QS)
    assert_same(got, ref_numpy(view, cview, SCL_WEIGHTS, QS))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    T=st.integers(1, 12),
    n=st.integers(1, 6),
    dtype=st.sampled_from([np.int16, np.uint16, np.float32, np.int32]),
)
def test_property_matches_reference(data, T, n, dtype):
    if np.dtype(dtype).kind == "f":
        elem = st.floats(-3, 3, width=32) | st.sampled_from([0.5, -0.5, 0.0, -0.0, float("nan")])
    elif np.dtype(dtype).kind == "u":
        elem = st.integers(0, 6)
    else:
        elem = st.integers(-4, 4)
    values = np.array(data.draw(st.lists(elem, min_size=T * n, max_size=T * n)), dtype=dtype).reshape(T, n)
    codes = np.array(data.draw(st.lists(st.integers(0, 15), min_size=T * n, max_size=T * n)), np.uint8)
    codes = codes.reshape(T, n)
    weights = data.draw(st.lists(st.integers(0, 60), min_size=16, max_size=16))
    qs = data.draw(st.lists(st.sampled_from(QS + [0.25, 0.75, 0.1]), min_size=1, max_size=4))
    got = weighted_quantile(values, codes, weights, qs)
    assert_same(got, ref_numpy(values, codes, weights, qs))


# ---------------------------------------------------------------------------------------------
# argument errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(q=1.5), "Quantiles must lie in"),
        (dict(q=-0.1), "Quantiles must lie in"),
        (dict(q=[]), "At least one"),
        (dict(q=float("nan")), "Quantiles must lie in"),
        (dict(code_weights=[1] * 15), "each of the 16 codes"),
        (dict(code_weights=[-1] + [1] * 15), "non-negative"),
        (dict(codes=np.full((3, 2), 16, np.uint8)), "0..15"),
        (dict(codes=np.zeros((3, 3), np.uint8)), "same shape"),
        (dict(values=np.zeros((0, 2), np.int16), codes=np.zeros((0, 2), np.uint8)), "T = 0"),
        (dict(values=np.array(["a"] * 6).reshape(3, 2)), "real numbers"),
        (dict(threads=0), "threads"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = dict(values=np.zeros((3, 2), np.int16), codes=np.zeros((3, 2), np.uint8),
                code_weights=SCL_WEIGHTS, q=0.5)
    args.update(kwargs)
    with pytest.raises(ImperviousnessError, match=match):
        weighted_quantile(args.pop("values"), args.pop("codes"), args.pop("code_weights"), args.pop("q"), **args)


def test_docstring_example():
    import doctest

    assert doctest.testmod(quantiles_module).failed == 0
