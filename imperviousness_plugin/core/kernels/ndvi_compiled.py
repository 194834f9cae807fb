"""The NDVI model fit per pixel, compiled with numba when installed (see ndvi_model.py).

The same computation as ``ndvi_model._FitPlan.run`` (the numpy path, used without numba), done
pixel by pixel so that nothing leaves the caches: the pixel's normal equations in the
orthonormal basis (K(K+1)/2 sums and K right-hand sides, accumulated over its dates in date
order, dates with weight 0 skipped), the Cholesky factor with the same pivot floor, the ridge
fallback where the pixel is unstable, back to the linear then the published coefficients.

Deterministic across processes and CPUs: plain loops without BLAS and without fastmath, so
every sum is added in date order (vectorisation runs across the sums, never inside one) and no
multiply-add is fused; the result depends neither on the host program's BLAS (qgis_process links
GSL's CBLAS) nor on AVX2 / AVX-512. It equals the numpy path to float64 rounding (the numpy
path's einsum adds in another order), i.e. within 1 float32 ulp on almost every coefficient.
"""

import numpy as np

try:  # numba is an optional accelerator: without it ndvi_model's numpy path is used
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None

AVAILABLE = numba is not None

_TILE = 64
"""Pixels accumulated together: their normal equations (55 x 64 float64 at order 3, 28 KB) stay
in the L1/L2 cache over the dates."""


def _cholesky(L, K, floor):
    """In place: the lower triangle of L (K x K) becomes its Cholesky factor (pivots >= floor)."""
    for j in range(K):
        for i in range(j, K):
            s = 0.0
            for k in range(j):
                s += L[i, k] * L[j, k]
            L[i, j] -= s
        d = np.sqrt(max(L[j, j], floor))
        L[j, j] = d
        for i in range(j + 1, K):
            L[i, j] /= d


def _solve(L, K, b, x):
    """x = (L L^T)^-1 b."""
    for i in range(K):
        s = 0.0
        for k in range(i):
            s += L[i, k] * x[k]
        x[i] = (b[i] - s) / L[i, i]
    for i in range(K - 1, -1, -1):
        s = 0.0
        for k in range(i + 1, K):
            s += L[k, i] * x[k]
        x[i] = (x[i] - s) / L[i, i]


def _trace_inverse(L, K, X):
    """trace((L L^T)^-1) = |L^-1|_F^2; X (K x K) is work space."""
    total = 0.0
    for i in range(K):
        for j in range(i):
            s = 0.0
            for k in range(j, i):
                s += L[i, k] * X[k, j]
            X[i, j] = -s / L[i, i]
        X[i, i] = 1.0 / L[i, i]
        for j in range(i + 1):
            total += X[i, j] * X[i, j]
    return total


def _load_date(y, w, t, first, count, wt, wy):
    """The weights and weighted NDVI of date t for pixels [first, first + count) into wt, wy
    (padding pixels 0); 0, or 1 (a negative weight) or 2 (an infinite weight)."""
    for j in range(count):
        weight = np.float64(w[t, first + j])
        if weight != weight:          # NaN weight: 0
            weight = 0.0
        if weight < 0:
            return 1
        if weight == np.inf:
            return 2
        product = np.float64(y[t, first + j]) * weight
        if not np.isfinite(product):  # NaN / infinite NDVI: the observation is ignored
            weight, product = 0.0, 0.0
        wt[j], wy[j] = weight, product
    for j in range(count, wt.shape[0]):
        wt[j], wy[j] = 0.0, 0.0
    return 0


def _fit_chunk(y, w, qq, q, ii, jj, r_inv, order, ridge, pivot_floor, stable_eig, out):
    """Fit every pixel of y, w (T, n) into out (K, n) float32; 0, or 1 (a negative weight) or
    2 (an infinite weight). qq (T, P): the products of basis pairs (ii, jj) per date; q (T, K)
    the orthonormal basis; r_inv (K, K) back to the linear coefficients.

    Pixels go in tiles of _TILE: the tile's normal equations are accumulated date by date, each
    sum a loop over the tile's pixels (SIMD across pixels, each pixel's sum in date order), then
    each pixel is solved on its own."""
    T, n = y.shape
    K, P = q.shape[1], qq.shape[1]
    tile = _TILE
    M = np.empty((P, tile))
    B = np.empty((K, tile))
    wt = np.empty(tile)
    wy = np.empty(tile)
    m = np.empty(P)
    b = np.empty(K)
    for first in range(0, n, tile):
        count = min(tile, n - first)
        M[:] = 0.0
        B[:] = 0.0
        for t in range(T):
            status = _load_date(y, w, t, first, count, wt, wy)
            if status:
                return status
            for k in range(P):
                factor, row = qq[t, k], M[k]
                for j in range(tile):
                    row[j] += factor * wt[j]
            for k in range(K):
                factor, row = q[t, k], B[k]
                for j in range(tile):
                    row[j] += factor * wy[j]
        for j in range(count):
            for k in range(P):
                m[k] = M[k, j]
            for k in range(K):
                b[k] = B[k, j]
            _solve_pixel(m, b, ii, jj, r_inv, order, ridge, pivot_floor, stable_eig, out, first + j)
    return 0


def _solve_pixel(m, b, ii, jj, r_inv, order, ridge, pivot_floor, stable_eig, out, p):
    """out[:, p]: the published coefficients from the pixel's normal equations m (P), b (K)."""
    K = b.shape[0]
    P = m.shape[0]
    wsum = m[0]   # Q_0 = 1
    if not wsum > 0:
        for k in range(K):
            out[k, p] = np.nan
        return
    L = np.empty((K, K))
    g = np.empty(K)
    floor = max(pivot_floor * wsum, np.finfo(np.float64).tiny)
    for k in range(P):
        L[ii[k], jj[k]] = m[k]
    _cholesky(L, K, floor)
    _solve(L, K, b, g)
    if ridge > 0:
        inv_piv = 0.0
        for j in range(K):
            inv_piv += 1.0 / (L[j, j] * L[j, j])
        if inv_piv * wsum * stable_eig > 1.0:
            e = 1.0 / (wsum * _trace_inverse(L, K, np.empty((K, K))))
            ramp = min(max(1.0 - e / stable_eig, 0.0), 1.0)
            if ramp > 0:   # unstable: Tikhonov on the non-constant coefficients
                lam = ridge * ramp * wsum
                for k in range(P):
                    L[ii[k], jj[k]] = m[k]
                for k in range(1, K):
                    L[k, k] += lam
                _cholesky(L, K, floor)
                _solve(L, K, b, g)
    lin = np.empty(K)
    for i in range(K):
        s = 0.0
        for j in range(K):
            s += r_inv[i, j] * g[j]
        lin[i] = s
    for k in range(order + 1):
        _store(out, k, p, lin[k])
    for k in range(order):
        c, s = lin[order + 1 + 2 * k], lin[order + 2 + 2 * k]
        _store(out, order + 1 + 2 * k, p, np.sqrt(c * c + s * s))
        _store(out, order + 2 + 2 * k, p, np.arctan2(c, s))


def _store(out, k, p, value):
    """float32, never inf (an overflow becomes NaN, as in the numpy path)."""
    single = np.float32(value)
    out[k, p] = single if np.isfinite(single) else np.nan


if AVAILABLE:
    _cholesky = numba.njit(nogil=True, cache=True)(_cholesky)
    _solve = numba.njit(nogil=True, cache=True)(_solve)
    _trace_inverse = numba.njit(nogil=True, cache=True)(_trace_inverse)
    _store = numba.njit(nogil=True, cache=True)(_store)
    _load_date = numba.njit(nogil=True, cache=True)(_load_date)
    _solve_pixel = numba.njit(nogil=True, cache=True)(_solve_pixel)
    _fit_chunk = numba.njit(nogil=True, cache=True)(_fit_chunk)


def fit_chunk(y, w, qq, q, ii, jj, r_inv, order, ridge, pivot_floor, stable_eig, out):
    """Compiled `_fit_chunk` (callers check AVAILABLE); returns its status."""
    return _fit_chunk(y, w, qq, q, ii, jj, r_inv, order, ridge, pivot_floor, stable_eig, out)
