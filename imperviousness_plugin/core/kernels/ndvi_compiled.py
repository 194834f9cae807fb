"""The NDVI model fit per pixel, compiled with numba when installed (see ndvi_model.py).

The same computation as ``ndvi_model._FitPlan.run`` (the numpy path, used without numba), done
for tiles of _TILE pixels so that nothing leaves the caches: the pixels' normal equations in the
orthonormal basis (K(K+1)/2 sums and K right-hand sides, accumulated over the dates in date
order), the Cholesky factor with the same pivot floor, the solve and the linear coefficients,
each step as SIMD across the tile's pixels; the ridge fallback per pixel where a pixel may be
unstable; the published coefficients per pixel.

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


_DATES = 4
"""Dates loaded and added together: each sum of the tile's normal equations is loaded from and
stored to memory once per group of dates instead of once per date (the sums still add date
after date, so the result is the same)."""


def _load_dates(y, w, t0, dates, first, count, wt, wy):
    """Weights and weighted NDVI of dates [t0, t0 + dates) for pixels [first, first + count)
    into rows 0..dates-1 of wt, wy (padding pixels 0); returns 1 if a weight is negative, else 2
    if one is infinite, else 0.

    Branch-free on rows (1-D views), so that the loop vectorises: a NaN weight counts 0, an
    observation whose weighted NDVI is not finite (NaN or infinite NDVI) is ignored; bad
    weights are only counted (integer sums vectorise, min / max did not; the caller stops before
    solving)."""
    negative, infinite = 0, 0
    for d in range(dates):
        y_row, w_row = y[t0 + d, first:first + count], w[t0 + d, first:first + count]
        wt_row, wy_row = wt[d], wy[d]
        for j in range(count):
            weight = np.float64(w_row[j])
            negative += weight < 0.0     # NaN counts in neither
            infinite += weight == np.inf
            weight = weight if weight == weight else 0.0
            product = np.float64(y_row[j]) * weight
            keep = abs(product) < np.inf
            wt_row[j] = weight if keep else 0.0
            wy_row[j] = product if keep else 0.0
        for j in range(count, wt_row.shape[0]):
            wt_row[j] = 0.0
            wy_row[j] = 0.0
    return 1 if negative else (2 if infinite else 0)


def _add_dates(rows, factors, t0, dates, values):
    """rows[k] += factors[t, k] * values[t - t0] for the dates t of the group, in date order;
    groups of _DATES dates are added in one pass over each row (the same additions, in the same
    order, as one date at a time: only the loads and stores of the rows are saved)."""
    for k in range(rows.shape[0]):
        row = rows[k]
        if dates == 4:
            f0, f1, f2, f3 = factors[t0, k], factors[t0 + 1, k], factors[t0 + 2, k], factors[t0 + 3, k]
            v0, v1, v2, v3 = values[0], values[1], values[2], values[3]
            for j in range(row.shape[0]):
                row[j] = (((row[j] + f0 * v0[j]) + f1 * v1[j]) + f2 * v2[j]) + f3 * v3[j]
        else:
            for d in range(dates):
                f, v = factors[t0 + d, k], values[d]
                for j in range(row.shape[0]):
                    row[j] = row[j] + f * v[j]


def _fit_chunk(y, w, start, stop, qq, q, ii, jj, r_inv, order, ridge, pivot_floor, stable_eig, out):
    """Fit pixels [start, stop) of y, w (T, N) into out (K, N) float32; 0, or 1 (a negative
    weight) or 2 (an infinite weight). y, w are whole C-contiguous arrays, not column slices:
    with a known unit stride along the pixels the loads vectorise. qq (T, P): the products of
    basis pairs (ii, jj) per date; q (T, K) the orthonormal basis; r_inv (K, K) back to the
    linear coefficients.

    Pixels go in tiles of _TILE: the tile's normal equations are accumulated _DATES dates at a
    time, each sum a loop over the tile's pixels (SIMD across pixels, each pixel's sum in date
    order), then the tile is solved (_solve_tile)."""
    T = y.shape[0]
    K, P = q.shape[1], qq.shape[1]
    tile = _TILE
    M = np.empty((P, tile))
    B = np.empty((K, tile))
    wt = np.empty((_DATES, tile))
    wy = np.empty((_DATES, tile))
    m = np.empty(P)
    b = np.empty(K)
    work = np.empty((3, K, K))
    vectors = np.empty((2, K))
    tile_work = np.empty((P + 2 * K + 3, tile))
    for first in range(start, stop, tile):
        count = min(tile, stop - first)
        M[:] = 0.0
        B[:] = 0.0
        for t0 in range(0, T, _DATES):
            dates = min(_DATES, T - t0)
            status = _load_dates(y, w, t0, dates, first, count, wt, wy)
            if status:
                return status
            _add_dates(M, qq, t0, dates, wt)
            _add_dates(B, q, t0, dates, wy)
        _solve_tile(M, B, count, first, ii, jj, r_inv, order, ridge, pivot_floor, stable_eig, out,
                    tile_work, m, b, work, vectors)
    return 0


def _solve_tile(M, B, count, first, ii, jj, r_inv, order, ridge, pivot_floor, stable_eig, out,
                tile_work, m, b, work, vectors):
    """out[:, first + j] for the tile's pixels j < count from their normal equations M (P, tile),
    B (K, tile) (lower triangles packed row by row, as tril_indices orders them).

    The Cholesky factor, the solve and the linear coefficients of _solve_pixel, every operation
    the same and in the same order, but each done for the whole tile at once (SIMD across the
    pixels: the scalar per-pixel code cost more than accumulating 100 dates). Pixels that may be
    unstable (the cheap bound of _solve_pixel) are solved again by _solve_pixel itself, which
    applies the ridge where needed; pixels without weight get NaN."""
    K, P = B.shape[0], M.shape[0]
    tile = M.shape[1]
    L, G, LIN = tile_work[:P], tile_work[P:P + K], tile_work[P + K:P + 2 * K]
    floor, s, inv_piv = tile_work[P + 2 * K], tile_work[P + 2 * K + 1], tile_work[P + 2 * K + 2]
    tiny = np.finfo(np.float64).tiny
    wsum = M[0]   # Q_0 = 1
    L[:, :] = M
    for x in range(tile):
        floor[x] = max(pivot_floor * wsum[x], tiny)
    for j in range(K):   # _cholesky
        pj = j * (j + 1) // 2
        for i in range(j, K):
            pi = i * (i + 1) // 2
            s[:] = 0.0
            for k in range(j):
                a, c = L[pi + k], L[pj + k]
                for x in range(tile):
                    s[x] += a[x] * c[x]
            target = L[pi + j]
            for x in range(tile):
                target[x] -= s[x]
        d = L[pj + j]
        for x in range(tile):
            d[x] = np.sqrt(max(d[x], floor[x]))
        for i in range(j + 1, K):
            target = L[i * (i + 1) // 2 + j]
            for x in range(tile):
                target[x] /= d[x]
    for i in range(K):   # _solve, forward
        pi = i * (i + 1) // 2
        s[:] = 0.0
        for k in range(i):
            a, c = L[pi + k], G[k]
            for x in range(tile):
                s[x] += a[x] * c[x]
        gi, bi, d = G[i], B[i], L[pi + i]
        for x in range(tile):
            gi[x] = (bi[x] - s[x]) / d[x]
    for i in range(K - 1, -1, -1):   # _solve, backward
        s[:] = 0.0
        for k in range(i + 1, K):
            a, c = L[k * (k + 1) // 2 + i], G[k]
            for x in range(tile):
                s[x] += a[x] * c[x]
        gi, d = G[i], L[i * (i + 1) // 2 + i]
        for x in range(tile):
            gi[x] = (gi[x] - s[x]) / d[x]
    inv_piv[:] = 0.0
    for j in range(K):
        d = L[j * (j + 1) // 2 + j]
        for x in range(tile):
            inv_piv[x] += 1.0 / (d[x] * d[x])
    for i in range(K):   # lin = r_inv g
        s[:] = 0.0
        for j in range(K):
            factor, c = r_inv[i, j], G[j]
            for x in range(tile):
                s[x] += factor * c[x]
        LIN[i, :] = s
    for x in range(count):
        if ridge > 0 and wsum[x] > 0 and inv_piv[x] * wsum[x] * stable_eig > 1.0:
            for k in range(P):
                m[k] = M[k, x]
            for k in range(K):
                b[k] = B[k, x]
            _solve_pixel(m, b, ii, jj, r_inv, order, ridge, pivot_floor, stable_eig, out, first + x,
                         work, vectors)
        elif wsum[x] > 0:
            for k in range(K):
                vectors[1, k] = LIN[k, x]
            _publish(vectors[1], order, out, first + x)
        else:
            for k in range(K):
                out[k, first + x] = np.nan


def _solve_pixel(m, b, ii, jj, r_inv, order, ridge, pivot_floor, stable_eig, out, p, work, vectors):
    """out[:, p]: the published coefficients from the pixel's normal equations m (P), b (K);
    work (3, K, K) and vectors (2, K) are scratch space (no allocation per pixel)."""
    K = b.shape[0]
    P = m.shape[0]
    wsum = m[0]   # Q_0 = 1
    if not wsum > 0:
        for k in range(K):
            out[k, p] = np.nan
        return
    L = work[0]
    g = vectors[0]
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
            e = 1.0 / (wsum * _trace_inverse(L, K, work[1]))
            ramp = min(max(1.0 - e / stable_eig, 0.0), 1.0)
            if ramp > 0:   # unstable: Tikhonov on the non-constant coefficients
                lam = ridge * ramp * wsum
                for k in range(P):
                    L[ii[k], jj[k]] = m[k]
                for k in range(1, K):
                    L[k, k] += lam
                _cholesky(L, K, floor)
                _solve(L, K, b, g)
    lin = vectors[1]
    for i in range(K):
        s = 0.0
        for j in range(K):
            s += r_inv[i, j] * g[j]
        lin[i] = s
    _publish(lin, order, out, p)


def _publish(lin, order, out, p):
    """out[:, p]: the published coefficients (p, a, phi) of the linear ones (p, c, s)."""
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
    _load_dates = numba.njit(nogil=True, cache=True)(_load_dates)
    _add_dates = numba.njit(nogil=True, cache=True)(_add_dates)
    _publish = numba.njit(nogil=True, cache=True)(_publish)
    _solve_pixel = numba.njit(nogil=True, cache=True)(_solve_pixel)
    _solve_tile = numba.njit(nogil=True, cache=True)(_solve_tile)
    _fit_chunk = numba.njit(nogil=True, cache=True)(_fit_chunk)


def fit_chunk(y, w, start, stop, qq, q, ii, jj, r_inv, order, ridge, pivot_floor, stable_eig, out):
    """Compiled `_fit_chunk` (callers check AVAILABLE); returns its status."""
    return _fit_chunk(y, w, start, stop, qq, q, ii, jj, r_inv, order, ridge, pivot_floor, stable_eig,
                      out)
