"""Weighted quantile by selection, without a full sort, compiled with numba when installed.

The vectorised path of ``quantiles.py`` sorts 32-bit keys with numpy; numpy 1.24 sorts them
with SIMD code on AVX-512 CPUs only, and on an AVX2-only CPU that path is ~4x slower (10x its
per-pixel reference instead of 42x). Selection needs no sort: per pixel, the valid observations
are gathered and a weighted three-way quickselect keeps only the part of the values that holds
the answer (expected linear time; T is ~100). Compiled with ``nogil``, chunks run in parallel
in the kernels' worker threads.

It returns exactly what the sorting path returns when every code weight is an integer (sums of
integer weights are exact in float64 in any order): the smallest value whose cumulative weight
reaches ``q * W - 1e-12 * W`` (at least half the smallest positive weight). ``quantiles.py``
uses it only then, and only for integer values of at most 32 bits or float32 values.
"""

import numpy as np

try:  # numba is an optional accelerator: without it the sorting path is used
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None

AVAILABLE = numba is not None


def _weighted_select(vals, wts, n, threshold):
    """Smallest value whose cumulative weight (over values <= it) reaches `threshold`.

    vals, wts: work arrays of which the first n entries are the pixel's valid observations
    (reordered in place). Each round splits vals[lo:hi] around a median-of-three pivot with
    branch-free swaps (the comparisons of noisy values are unpredictable, so branches would
    cost more than the moves): smaller values to the front, with their weight and the weight
    of the values equal to the pivot summed on the way.
    """
    lo, hi = 0, n
    below = 0.0   # weight of the observations known to be smaller than vals[lo:hi]
    while hi - lo > 1:
        a, b, c = vals[lo], vals[(lo + hi) // 2], vals[hi - 1]
        pivot = max(min(a, b), min(max(a, b), c))
        store = lo
        w_less = 0.0
        w_equal = 0.0
        for i in range(lo, hi):
            x, w = vals[i], wts[i]
            less = x < pivot
            w_less += w * less
            w_equal += w * (x == pivot)
            vals[i], wts[i] = vals[store], wts[store]
            vals[store], wts[store] = x, w
            store += less
        if below + w_less >= threshold:
            hi = store
        elif below + w_less + w_equal >= threshold:
            return pivot
        else:
            # The answer is above the pivot: move the larger values to the front of the rest.
            below += w_less + w_equal
            first = store
            for i in range(first, hi):
                x, w = vals[i], wts[i]
                more = x > pivot
                vals[i], wts[i] = vals[store], wts[store]
                vals[store], wts[store] = x, w
                store += more
            lo, hi = first, store
    return vals[lo]


_TILE = 64
"""Pixels copied together into a (pixels, T) work tile: reading the (T, N) input row by row
keeps the accesses sequential (gathering one pixel's T values at a time strides over T rows,
which costs more than the selection itself)."""


def _select_chunk(values, codes, table, qs, rel_eps, half_wmin, out, start, stop):
    """out[j, p] for pixels p in [start, stop): values, codes (T, N); table: 16 weights."""
    T = values.shape[0]
    tile_v = np.empty((_TILE, T), np.float64)
    tile_w = np.empty((_TILE, T), np.float64)
    keep_v = np.empty(T, np.float64)
    keep_w = np.empty(T, np.float64)
    vals = np.empty(T, np.float64)
    wts = np.empty(T, np.float64)
    for first in range(start, stop, _TILE):
        m = min(_TILE, stop - first)
        for t in range(T):
            for k in range(m):
                tile_v[k, t] = values[t, first + k]
                tile_w[k, t] = table[codes[t, first + k]]
        for k in range(m):
            n = 0
            total = 0.0
            for t in range(T):
                x, w = tile_v[k, t], tile_w[k, t]
                valid = w > 0.0 and x == x   # x == x: not NaN
                keep_v[n], keep_w[n] = x, w   # overwritten unless valid (branch-free)
                total += w * valid
                n += valid
            for j in range(qs.shape[0]):
                if n == 0:
                    out[j, first + k] = np.nan
                    continue
                threshold = max(qs[j] * total - rel_eps * total, half_wmin)
                vals[:n] = keep_v[:n]
                wts[:n] = keep_w[:n]
                out[j, first + k] = _weighted_select(vals, wts, n, threshold)


if AVAILABLE:
    _weighted_select = numba.njit(nogil=True, cache=True)(_weighted_select)
    _select_chunk = numba.njit(nogil=True, cache=True)(_select_chunk)


def select_chunk(values, codes, table, qs, rel_eps, half_wmin, out, start, stop):
    """Compiled `_select_chunk` (callers check AVAILABLE first)."""
    _select_chunk(values, codes, table, qs, rel_eps, half_wmin, out, start, stop)

