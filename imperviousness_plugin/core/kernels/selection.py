"""Weighted quantile by bisection on the values, without a sort, compiled with numba when installed.

The vectorised path of ``quantiles.py`` sorts 32-bit keys with numpy; numpy 1.24 sorts them
with SIMD code on AVX-512 CPUs only, and the passes around the sort (keys, transpose, cumulative
weights, search) cost more than the sort itself. Here no observation is moved: for each pixel
the answer is the smallest integer key K (the value's order-preserving integer image) whose
cumulative weight ``sum(w_i for key_i <= K)`` reaches the integer threshold
``max(ceil(q * W - 1e-12 * W), 1)`` (the same as the sorting path's, see quantiles.py). That
cumulative weight is a step function of K that only rises at observed keys, so the smallest K
that reaches the threshold is an observed key: bisection over [smallest, largest valid key] finds
it exactly in at most 32 rounds (16 for 16-bit DN), each a pass of compares and adds over the
pixel's T observations.

Pixels are processed side by side in tiles of ``_TILE``: the (T, N) input is copied row by row
into a small (T, tile) work array (sequential reads), and every round runs the same loop over the
tile's pixels for each date, which the compiler turns into SIMD compares and adds (AVX2 or
AVX-512 alike). Compiled with ``nogil``, chunks run in parallel in the kernels' worker threads.

Exact for integer code weights whose sum over T fits int32 (callers check); values are integers
of at most 32 bits whose range fits 31 bits (given with their offset) or float32 bit patterns
(given as int32, NaN ignored).
"""

import numpy as np

try:  # numba is an optional accelerator: without it the sorting path is used
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None

AVAILABLE = numba is not None

_TILE = 128
"""Pixels bisected together: the (T, tile) int32 keys and weights (100 KB at T = 100) stay in
the L2 cache over the rounds, and each date's row is a sequential read of 128 values."""


def _load_tile(values, weights, is_float, offset, first, m, key, weight, total):
    """Keys and weights of pixels [first, first + m) into key, weight (T, _TILE) and each
    pixel's total weight; returns the smallest and largest key with a positive weight.

    Each step is its own loop over a row of the tile, over arrays that cannot alias, so that the
    compiler vectorises it. Padding pixels get weight 0.
    """
    T = values.shape[0]
    big = np.int32(0x7FFFFFFF)
    low, high = big, -big - 1
    total[:] = 0
    key[:, m:] = 0
    weight[:, m:] = 0
    for t in range(T):
        source, codes_weight = values[t, first:first + m], weights[t, first:first + m]
        row_key, row_weight = key[t], weight[t]
        for k in range(m):
            row_weight[k] = codes_weight[k]
        if is_float:
            for k in range(m):
                bits = np.int32(source[k])
                # order-preserving image of the float: negative floats get their 31 low bits flipped
                row_key[k] = bits ^ ((bits >> 31) & big)
            for k in range(m):   # NaN is ignored
                row_weight[k] = 0 if (np.int32(source[k]) & big) > 0x7F800000 else row_weight[k]
        else:
            for k in range(m):
                row_key[k] = np.int32(np.int64(source[k]) - offset)
        for k in range(_TILE):
            total[k] += row_weight[k]
        for k in range(_TILE):
            low = min(low, row_key[k] if row_weight[k] > 0 else big)
        for k in range(_TILE):
            high = max(high, row_key[k] if row_weight[k] > 0 else -big - 1)
    return low, high


def _select_chunk(values, weights, is_float, offset, qs, rel_eps, selected, empty):
    """selected[j, p]: the key of quantile qs[j] of pixel p; empty[p]: the pixel has no weight.

    values, weights (the observations' code weights, integers): (T, n).
    """
    T, n = values.shape
    key = np.empty((T, _TILE), np.int32)
    weight = np.empty((T, _TILE), np.int32)
    total = np.empty(_TILE, np.int32)
    a = np.empty(_TILE, np.int64)
    b = np.empty(_TILE, np.int64)
    mid = np.empty(_TILE, np.int32)
    threshold = np.empty(_TILE, np.int32)
    below = np.empty(_TILE, np.int32)
    for first in range(0, n, _TILE):
        m = min(_TILE, n - first)
        low, high = _load_tile(values, weights, is_float, offset, first, m, key, weight, total)
        # The answer of every pixel lies in [low, high] (the tile's valid keys): bisect that.
        span = max(np.int64(high) - np.int64(low), 0)
        rounds = 0
        while span > 0:
            span >>= 1
            rounds += 1
        for j in range(qs.shape[0]):
            for k in range(_TILE):
                W = np.float64(total[k])
                threshold[k] = np.int32(max(np.ceil(qs[j] * W - rel_eps * W), 1.0))
                a[k] = low
                b[k] = high
            for _ in range(rounds):
                for k in range(_TILE):
                    mid[k] = np.int32(a[k] + ((b[k] - a[k]) >> 1))
                    below[k] = 0
                for t in range(T):
                    row_key, row_weight = key[t], weight[t]
                    for k in range(_TILE):   # SIMD: the weight where key <= mid, else 0
                        below[k] += row_weight[k] & -np.int32(row_key[k] <= mid[k])
                for k in range(_TILE):
                    if below[k] >= threshold[k]:
                        b[k] = mid[k]
                    else:
                        a[k] = np.int64(mid[k]) + 1
            for k in range(m):
                selected[j, first + k] = np.int32(a[k])
        for k in range(m):
            empty[first + k] = total[k] == 0


if AVAILABLE:
    _load_tile = numba.njit(nogil=True, cache=True)(_load_tile)
    _select_chunk = numba.njit(nogil=True, cache=True)(_select_chunk)


def select_chunk(values, weights, is_float, offset, qs, rel_eps, selected, empty):
    """Compiled `_select_chunk` (callers check AVAILABLE)."""
    _select_chunk(values, weights, is_float, offset, qs, rel_eps, selected, empty)
