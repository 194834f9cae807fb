"""NDVI time-series model: Legendre polynomial + harmonics, fitted per pixel (SPEC section 4).

With tau = (day_of_year - 1) / days_in_year (0 on 1 January) and x = 2 tau - 1::

    f(tau) = p0 + sum_{k=1..N} p_k P_k(x) + sum_{k=1..N} a_k sin(2 pi k tau + phi_k)

P_k are the Legendre polynomials.  The model is fitted by weighted least squares as a linear
problem in (p_0..p_N, c_1, s_1, .., c_N, s_N) with the basis
``1, P_1(x) .. P_N(x), cos(2 pi tau), sin(2 pi tau), .., cos(2 pi N tau), sin(2 pi N tau)``
and converted to the published form: ``a_k = hypot(c_k, s_k)``, ``phi_k = atan2(c_k, s_k)``
(because a sin(t + phi) = a cos(phi) sin(t) + a sin(phi) cos(t)).  Every P_k (k >= 1) and
every harmonic integrates to 0 over tau in [0, 1), so ``p0`` is the mean of the fitted curve
over the year (the ATBD's NDVI_p0).

Published coefficient order (band order, see ``coefficient_names``)::

    NDVI_P0 NDVI_P1 .. NDVI_PN NDVI_A1 NDVI_PHI1 .. NDVI_AN NDVI_PHIN

Conditioning: the raw basis is nearly collinear over one year (low Legendre polynomials and
low harmonics approximate each other): the condition number of its annual Gram matrix G is
~11 for N=1, ~4e2 for N=2, ~4e4 for N=3 and ~1e7 for N=4.  The fit is therefore done in the
equivalent basis ``Q = A R^-1`` that is orthonormal over the year (``G = R^T R``, Q_0 = 1) and
converted back with ``c = R^-1 g``.  The published coefficients of noisy data are much less
certain than the fitted curve itself (for N=3, noise along the weakest coefficient direction
is amplified ~1/sqrt(2.5e-5 * n_obs)); the curve and p0 are well determined.

Speed: all pixels of a raster block share the same dates, hence the same design matrix
(T x K, K = 3N + 1).  The normal equations of every pixel are built at once with two BLAS
products, ``M = (Q_i * Q_j)^T @ W`` for the K(K+1)/2 distinct pairs (i >= j) and
``b = Q^T @ (W * y)``, and the K x K systems are solved by a Cholesky factorisation written
with numpy operations *vectorised over pixels* (K is small, the pixel count is large), in
chunks of ``_CHUNK_PIXELS`` pixels.  On the 2-core test machine (T=100, N=3) this is ~40x
faster than a per-pixel weighted ``lstsq`` loop with one worker thread, ~52x with two when
OpenBLAS runs single-threaded (see ``fit_ndvi_model``, ``threads``).
"""

from __future__ import annotations

import calendar
import contextlib
import ctypes
import datetime as _dt
import functools
import math
import threading
from numbers import Integral

import numpy as np

from ..errors import ImperviousnessError
from . import ndvi_compiled as _compiled
from .workspace import check_threads, run_chunked

__all__ = [
    "day_fraction",
    "design_matrix",
    "coefficient_names",
    "fit_ndvi_model",
    "evaluate_ndvi_model",
]

_CHUNK_PIXELS = 4096
"""Pixels per work chunk (a few MB of float64 work arrays)."""

_STABLE_EIG = 1e-5
"""Stability threshold on the smallest eigenvalue of a pixel's normal matrix (orthonormal
basis, divided by the pixel's total weight); below it the ridge fallback ramps in."""

_PIVOT_FLOOR = 1e-10
"""Smallest Cholesky pivot, relative to the pixel's total weight (see ``fit_ndvi_model``)."""


# --------------------------------------------------------------------------------------------
# BLAS threads
# --------------------------------------------------------------------------------------------

_blas_state = {"lock": threading.Lock(), "depth": 0, "saved": None, "api": None}


def _openblas_api():
    """(get, set) of the process's OpenBLAS thread count, or None (other BLAS, or not found)."""
    if _blas_state["api"] is None:
        api = False
        try:
            with open("/proc/self/maps") as fh:  # Linux: the BLAS libraries numpy loaded
                paths = sorted({line.split()[-1] for line in fh if "blas" in line.lower() and ".so" in line})
        except OSError:
            paths = []
        for path in paths:
            try:
                lib = ctypes.CDLL(path)
                get, set_ = lib.openblas_get_num_threads, lib.openblas_set_num_threads
            except (OSError, AttributeError):
                continue
            get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
            api = (get, set_)
            break
        _blas_state["api"] = api
    return _blas_state["api"] or None


def _openblas_threads():
    """Current OpenBLAS thread count (0 when numpy's BLAS is not a detectable OpenBLAS)."""
    api = _openblas_api()
    return int(api[0]()) if api else 0


@contextlib.contextmanager
def _single_threaded_blas():
    """Limit numpy's OpenBLAS to one thread for the duration of a fit (restored on exit).

    ``threadpoolctl`` is used when installed; otherwise the OpenBLAS library loaded by numpy
    is found through /proc/self/maps (Linux).  With any other BLAS nothing is changed.
    Nested or concurrent uses share one limitation.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        return
    api = _openblas_api()
    if api is None:
        yield
        return
    get, set_ = api
    with _blas_state["lock"]:
        if _blas_state["depth"] == 0:
            _blas_state["saved"] = get()
            set_(1)
        _blas_state["depth"] += 1
    try:
        yield
    finally:
        with _blas_state["lock"]:
            _blas_state["depth"] -= 1
            if _blas_state["depth"] == 0:
                set_(_blas_state["saved"])


# --------------------------------------------------------------------------------------------
# basis
# --------------------------------------------------------------------------------------------


def day_fraction(dates):
    """Fraction of the year of each date: ``tau = (day_of_year - 1) / days_in_year``.

    ``days_in_year`` is 366 in leap years, so tau is 0 on 1 January and < 1 on 31 December.
    ``dates`` is a sequence of ``datetime.date`` (or ``datetime.datetime`` /
    ``numpy.datetime64``).  Returns float64 (T,).
    """
    out = []
    for d in dates:
        if isinstance(d, np.datetime64):
            d = d.astype("datetime64[D]").item()
        if not isinstance(d, _dt.date):
            raise ImperviousnessError(f"Expected a date, got {d!r}.")
        doy = d.timetuple().tm_yday
        leap = calendar.isleap(d.year)
        out.append((doy - 1) / (366.0 if leap else 365.0))
    return np.asarray(out, dtype=np.float64)


def _check_order(order):
    if isinstance(order, bool) or not isinstance(order, Integral) or order < 0:
        raise ImperviousnessError(f"The NDVI model order must be a non-negative integer, got {order!r}.")
    return int(order)


def coefficient_names(order):
    """Band descriptions of the 3N+1 coefficients, in the published order."""
    n = _check_order(order)
    names = [f"NDVI_P{k}" for k in range(n + 1)]
    for k in range(1, n + 1):
        names += [f"NDVI_A{k}", f"NDVI_PHI{k}"]
    return names


def design_matrix(tau, order):
    """Linear basis (T, 3N+1) float64.

    Columns: ``1, P_1(x) .. P_N(x)`` (Legendre, x = 2 tau - 1), then for k = 1..N
    ``cos(2 pi k tau), sin(2 pi k tau)``.
    """
    n = _check_order(order)
    tau = np.asarray(tau, dtype=np.float64)
    if tau.ndim != 1:
        raise ImperviousnessError(f"tau must be a 1-D sequence of year fractions, got shape {tau.shape}.")
    if not np.all(np.isfinite(tau)):
        raise ImperviousnessError("tau contains non-finite values.")
    T = tau.shape[0]
    A = np.empty((T, 3 * n + 1), dtype=np.float64)
    x = 2.0 * tau - 1.0
    A[:, 0] = 1.0
    p_prev, p_cur = np.ones_like(x), x
    for k in range(1, n + 1):
        A[:, k] = p_cur
        # Bonnet recursion: (k+1) P_{k+1} = (2k+1) x P_k - k P_{k-1}
        p_prev, p_cur = p_cur, ((2 * k + 1) * x * p_cur - k * p_prev) / (k + 1)
    for k in range(1, n + 1):
        # math's (the C library's) cos and sin, not numpy's: numpy 1.24 computes float64 sin/cos
        # with SIMD code on AVX-512 CPUs that rounds differently from its AVX2 code, and every
        # coefficient of the PP would then depend on the CPU (SPEC 10).
        angles = [2.0 * math.pi * k * value for value in tau.tolist()]
        A[:, n + 2 * k - 1] = [math.cos(angle) for angle in angles]
        A[:, n + 2 * k] = [math.sin(angle) for angle in angles]
    return A


# Small dense linear algebra of the fit plan in plain Python with exactly rounded sums
# (math.fsum): LAPACK / BLAS results depend on the CPU kernels OpenBLAS picks (measured: its
# Haswell and SkylakeX kernels give different Cholesky factors of the same 10 x 10 matrix), and on
# which BLAS the host program loaded; these matrices are at most 13 x 13 (order 4).

def matmul_exact(a, b):
    """a @ b for small float64 matrices, each entry an exactly rounded sum."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    rows, inner = a.shape
    out = np.empty((rows, b.shape[1]))
    columns = [b[:, j].tolist() for j in range(b.shape[1])]
    for i in range(rows):
        row = a[i].tolist()
        for j, column in enumerate(columns):
            out[i, j] = math.fsum(x * y for x, y in zip(row, column))
    return out


def cholesky_exact(G):
    """Lower Cholesky factor of a small SPD matrix (sums exactly rounded)."""
    K = G.shape[0]
    L = np.zeros((K, K))
    for j in range(K):
        L[j, j] = math.sqrt(G[j, j] - math.fsum(L[j, k] * L[j, k] for k in range(j)))
        for i in range(j + 1, K):
            L[i, j] = (G[i, j] - math.fsum(L[i, k] * L[j, k] for k in range(j))) / L[j, j]
    return L


def _upper_inverse_exact(R):
    """Inverse of a small upper triangular matrix (sums exactly rounded)."""
    K = R.shape[0]
    X = np.zeros((K, K))
    for j in range(K):
        X[j, j] = 1.0 / R[j, j]
        for i in range(j - 1, -1, -1):
            X[i, j] = -math.fsum(R[i, k] * X[k, j] for k in range(i + 1, j + 1)) / R[i, i]
    return X


# --------------------------------------------------------------------------------------------
# conversions between the linear and the published parameters
# --------------------------------------------------------------------------------------------


def linear_to_published(lin, n):
    """(K, ...) linear (p, c1, s1, ..) -> published (p, a1, phi1, ..)."""
    pub = np.empty_like(lin)
    pub[: n + 1] = lin[: n + 1]
    c = lin[n + 1 :: 2]
    s = lin[n + 2 :: 2]
    pub[n + 1 :: 2] = np.sqrt(c * c + s * s)  # hypot, 4x faster (no overflow at these scales)
    pub[n + 2 :: 2] = np.arctan2(c, s)
    return pub


def published_to_linear(pub, n):
    """(K, ...) published (p, a1, phi1, ..) -> linear (p, c1, s1, ..)."""
    lin = np.empty_like(pub)
    lin[: n + 1] = pub[: n + 1]
    a = pub[n + 1 :: 2]
    phi = pub[n + 2 :: 2]
    lin[n + 1 :: 2] = a * np.sin(phi)  # c_k (cos term)
    lin[n + 2 :: 2] = a * np.cos(phi)  # s_k (sin term)
    return lin


def evaluate_ndvi_model(coefficients, tau, order):
    """Evaluate the model.  ``coefficients`` (3N+1, ...) in the published order.

    Returns float64 (len(tau), ...).
    """
    n = _check_order(order)
    coef = np.asarray(coefficients, dtype=np.float64)
    K = 3 * n + 1
    if coef.ndim == 0 or coef.shape[0] != K:
        raise ImperviousnessError(
            f"An order-{n} NDVI model has {K} coefficients, got an array of shape {coef.shape}."
        )
    A = design_matrix(tau, n)
    lin = published_to_linear(coef.reshape(K, -1), n)
    return (A @ lin).reshape((A.shape[0],) + coef.shape[1:])


# --------------------------------------------------------------------------------------------
# batched solver
# --------------------------------------------------------------------------------------------


def _cholesky_batched(M, floor):
    """In-place Cholesky factorisation of many small SPD matrices, vectorised over pixels.

    M: (K, K, n) with the lower triangle filled; on return its lower triangle holds L with
    M = L L^T.  Pivots are clamped to ``floor`` (n,) > 0 so L is always invertible.
    """
    K = M.shape[0]
    L = M
    for j in range(K):
        if j:
            # L[j:, j] -= sum_k<j L[j:, k] * L[j, k]
            L[j:, j] -= np.einsum("ikn,kn->in", L[j:, :j], L[j, :j])
        d = L[j, j]
        np.maximum(d, floor, out=d)
        np.sqrt(d, out=d)
        if j + 1 < K:
            L[j + 1 :, j] /= d
    return L


def _cho_solve_batched(L, b):
    """Solve L L^T x = b in place (b: (K, n)), vectorised over pixels."""
    K = L.shape[0]
    for i in range(K):  # forward substitution L z = b
        if i:
            b[i] -= np.einsum("kn,kn->n", L[i, :i], b[:i])
        b[i] /= L[i, i]
    for i in range(K - 1, -1, -1):  # back substitution L^T x = z
        if i + 1 < K:
            b[i] -= np.einsum("kn,kn->n", L[i + 1 :, i], b[i + 1 :])
        b[i] /= L[i, i]
    return b


def _trace_inverse_batched(L):
    """trace((L L^T)^-1) = |L^-1|_F^2 for many small lower-triangular L (K, K, n)."""
    K, _, n = L.shape
    X = np.zeros((K, K, n))  # rows of L^-1 (lower triangular)
    for i in range(K):
        X[i, i] = 1.0
        if i:
            X[i, :i] = -np.einsum("kn,kjn->jn", L[i, :i], X[:i, :i])
        X[i, : i + 1] /= L[i, i]
    return np.einsum("ijn,ijn->n", X, X)


def annual_gram(order):
    """Gram matrix G_ij = integral over tau in [0, 1) of basis_i * basis_j (K x K float64).

    Gauss-Legendre quadrature with 256 nodes: exact for the polynomial products and accurate to
    rounding for the harmonics of the orders used here.
    """
    return _annual_gram(_check_order(order)).copy()


@functools.lru_cache(maxsize=16)
def _annual_gram(n):
    nodes, wq = np.polynomial.legendre.leggauss(256)
    tau = 0.5 * (nodes + 1.0)
    A = design_matrix(tau, n)
    return matmul_exact((A * (0.5 * wq)[:, None]).T, A)


class _FitPlan:
    def __init__(self, tau, order, ridge):
        self.n = order
        A = design_matrix(tau, order)
        T, K = A.shape
        self.K = K
        # Orthonormalised basis Q = A R^-1 with G = R^T R (annual Gram matrix): Q_0 = 1 and the
        # other Q_k are zero-mean and orthonormal over the year.  The linear coefficients are
        # c = R^-1 g.  Solving in this basis keeps the normal matrices well conditioned (the raw
        # Legendre + harmonic basis is nearly collinear: cond(G) ~ 4e4 for N=3, 1e7 for N=4).
        R = cholesky_exact(annual_gram(order)).T
        R[0, 1:] = 0.0  # exactly 0 in theory (the other basis functions have zero mean)
        self.R_inv = _upper_inverse_exact(R)
        Q = matmul_exact(A, self.R_inv)
        self.ii, self.jj = np.tril_indices(K)  # pairs i >= j
        self.QQ_T = np.ascontiguousarray((Q[:, self.ii] * Q[:, self.jj]).T)  # (P, T)
        self.Q_T = np.ascontiguousarray(Q.T)  # (K, T)
        self.QQ_T_by_date = np.ascontiguousarray(self.QQ_T.T)  # (T, P): one row per date
        self.Q_T_by_date = np.ascontiguousarray(Q)  # (T, K)
        self.ridge = float(ridge)

    def run_compiled(self, y, w, start, stop, out):
        """The numba kernel on pixels [start, stop) of the whole C-contiguous y, w (T, N) and
        out (K, N)."""
        status = _compiled.fit_chunk(y, w, start, stop, self.QQ_T_by_date, self.Q_T_by_date, self.ii,
                                     self.jj, self.R_inv, self.n, self.ridge, _PIVOT_FLOOR, _STABLE_EIG,
                                     out)
        if status == 1:
            raise ImperviousnessError("Observation weights must be non-negative.")
        if status == 2:
            raise ImperviousnessError("Observation weights must be finite.")

    def run(self, y, w, out, ws):
        """y, w: (T, n) views of one chunk; out: (K, n) float32 view; ws: work buffers."""
        K = self.K
        T, n = y.shape
        wv = ws.get("wv", np.float64, (T, n))
        np.copyto(wv, w, casting="unsafe")
        lo, hi = wv.min(), wv.max()
        if np.isnan(lo) or np.isnan(hi):  # NaN weight -> 0
            np.fmax(wv, 0.0, out=wv)
            lo, hi = wv.min(), wv.max()
        if lo < 0:
            raise ImperviousnessError("Observation weights must be non-negative.")
        if hi == np.inf:
            raise ImperviousnessError("Observation weights must be finite.")
        wy = ws.get("wy", np.float64, (T, n))
        np.copyto(wy, y, casting="unsafe")
        np.multiply(wy, wv, out=wy)
        bad = ws.get("bad", np.bool_, (T, n))
        np.isfinite(wy, out=bad)
        np.logical_not(bad, out=bad)
        bad_at = np.flatnonzero(bad)
        if bad_at.size:  # NaN (or infinite) NDVI: the observation is ignored
            wv.reshape(-1)[bad_at] = 0.0
            wy.reshape(-1)[bad_at] = 0.0
        Mp = ws.get("Mp", np.float64, (self.QQ_T.shape[0], n))
        b = ws.get("b", np.float64, (K, n))
        # (P, n) distinct entries of the normal matrices and (K, n) right-hand sides. numpy's
        # own loops, not BLAS: the cblas_dgemm numpy calls is whichever the process loaded first
        # (qgis_process links GSL's reference CBLAS), and BLAS libraries round differently, so
        # BLAS products would make the PP depend on the host program (SPEC 10: deterministic).
        np.einsum("pt,tn->pn", self.QQ_T, wv, out=Mp)
        np.einsum("kt,tn->kn", self.Q_T, wy, out=b)
        wsum = Mp[0].copy()  # sum of the weights (Q_0 = 1)
        M = ws.get("M", np.float64, (K, K, n))
        M[self.ii, self.jj] = Mp  # lower triangles (the upper one is never read)
        floor = np.maximum(_PIVOT_FLOOR * wsum, np.finfo(np.float64).tiny)
        with np.errstate(all="ignore"):
            L = _cholesky_batched(M, floor)
            g = _cho_solve_batched(L, b.copy())
            if self.ridge > 0:
                # e = 1 / trace((D/W)^-1) <= smallest eigenvalue of D/W <= K e.  As the
                # diagonal of L^-1 is 1/L_jj, e <= 1 / (W sum_j 1/L_jj^2): only pixels with
                # that cheap bound below the threshold need the full trace.
                inv_piv = np.square(np.einsum("jjn->jn", L))  # new array (einsum gives a view)
                np.reciprocal(inv_piv, out=inv_piv)
                maybe = np.flatnonzero((wsum > 0) & (inv_piv.sum(axis=0) * wsum * _STABLE_EIG > 1.0))
                if maybe.size:
                    e = 1.0 / (wsum[maybe] * _trace_inverse_batched(L[:, :, maybe]))
                    ramp = np.clip(1.0 - e / _STABLE_EIG, 0.0, 1.0)
                    keep = ramp > 0
                    sel, ramp = maybe[keep], ramp[keep]
                else:
                    sel = maybe
                if sel.size:  # unstable pixels: Tikhonov on the non-constant coefficients
                    Ms = np.empty((K, K, sel.size))
                    Ms[self.ii, self.jj] = Mp[:, sel]
                    lam = self.ridge * ramp * wsum[sel]
                    for k in range(1, K):
                        Ms[k, k] += lam
                    Ls = _cholesky_batched(Ms, floor[sel])
                    g[:, sel] = _cho_solve_batched(Ls, b[:, sel].copy())
            lin = np.einsum("ij,jn->in", self.R_inv, g)  # not BLAS, see above
            pub = linear_to_published(lin, self.n)
        pub[:, ~(wsum > 0)] = np.nan
        out[...] = pub
        bad = ~np.isfinite(out)  # float32 overflow safety net: never inf
        if bad.any():
            out[bad] = np.nan




def fit_ndvi_model(ndvi, weights, tau, order=3, *, ridge=0.1, threads=2):
    """Weighted least-squares fit of the NDVI model for every pixel.

    Parameters
    ----------
    ndvi : array (T, ...) float (NaN = missing observation)
    weights : array (T, ...) non-negative (NaN or a NaN ndvi => weight 0)
    tau : (T,) year fractions of the dates (``day_fraction``)
    order : N, the model has 3N+1 coefficients
    ridge : Tikhonov factor (>= 0) of the fallback for unstable pixels, see below
    threads : worker threads for the chunks of pixels, used when numpy's BLAS runs single-
        threaded (OpenBLAS started with ``OPENBLAS_NUM_THREADS=1``) or is not a detectable
        OpenBLAS.  With a multi-threaded OpenBLAS (numpy's default) one worker is used and
        OpenBLAS is limited to one thread for the call: there, several workers calling BLAS
        concurrently did not scale on the 2-core test machine (not even after limiting
        OpenBLAS to one thread at run time), and letting OpenBLAS parallelise one worker's
        small products was slower.  Measured: ~40x the per-pixel lstsq reference with one
        worker, ~52x with two workers and ``OPENBLAS_NUM_THREADS=1``.

    Returns
    -------
    float32 (3N+1, ...) in the published order of ``coefficient_names(order)``; NaN for pixels
    whose total weight is 0.  Never inf.

    Stable pixels get the plain weighted least-squares solution.  Fallback for unstable pixels
    (SPEC: "documented fallback, never inf"): with fewer than 3N+1 observations with a positive
    weight, or all of them in part of the year, the normal equations are singular or nearly so
    and the plain solution is undefined or extrapolates wildly.  For each pixel, with W its total
    weight and D its normal matrix in the orthonormal basis Q (see the module docstring), the
    smallest eigenvalue of D / W is bracketed by ``e = W / trace(D^-1)`` (e <= smallest
    eigenvalue <= K e), computed from the Cholesky factor.  Where ``e < 1e-5`` (``_STABLE_EIG``)
    the fit instead minimises::

        sum_t w_t (f(tau_t) - y_t)^2  +  lambda * integral_0^1 (f(tau) - p0)^2 dtau,
        lambda = ridge * W * (1 - e / 1e-5)

    a Tikhonov penalty on every coefficient except p0 (on the orthonormalised coefficients
    g_1..g_K-1, i.e. on the seasonal part of the curve), ramped in continuously as the pixel
    becomes unstable.  Why this form:

    * it is unit-free (it scales like the data term) and makes the system positive definite for
      every pixel with a positive weight, so the result is always finite;
    * p0 is not penalised: a single observation gives the constant curve p0 = that value, and
      with few observations p0 stays near their weighted mean instead of diverging; for
      observations crowded in part of the year the curve elsewhere is kept bounded;
    * stable pixels are not biased at all.  A constant penalty on every pixel would be wrong
      here: because the raw basis is nearly collinear, even a 0.1 % shrink of the curve of a
      well-observed pixel moves its published coefficients by tens of percent (N=3), and a
      penalty on the raw coefficients (identity matrix) would wipe out the nearly cancelling
      Legendre / harmonic combinations altogether.  Well-observed Sentinel-2 years have
      e >~ 1e-3 (N=3); one-season coverage gives e < 1e-7.

    The default ``ridge=0.1`` keeps one-season or few-date curves within the NDVI range in
    tests (one season of pure noise: ridge 1e-3 lets the curve swing to +-1.1 elsewhere in
    the year, 0.1 to [0.16, 1.25], 1 to [0.44, 0.69] while under-fitting smooth data); it only
    affects unstable pixels.  ``ridge=0`` disables the fallback (pure weighted least squares);
    Cholesky pivots are then
    still clamped to 1e-10 * W so a singular pixel gets a finite (non-unique) solution.  A pixel
    without observations gets NaN.
    """
    n_order = _check_order(order)
    try:
        ridge = float(ridge)
    except (TypeError, ValueError) as exc:
        raise ImperviousnessError(f"ridge must be a number >= 0, got {ridge!r}.") from exc
    if not np.isfinite(ridge) or ridge < 0:
        raise ImperviousnessError(f"ridge must be a finite number >= 0, got {ridge!r}.")
    check_threads(threads)
    ndvi = np.asarray(ndvi)
    weights = np.asarray(weights)
    if ndvi.ndim == 0:
        raise ImperviousnessError("ndvi must have a time axis (shape (T, ...)).")
    if weights.shape != ndvi.shape:
        raise ImperviousnessError(
            f"weights must have the same shape as ndvi: {weights.shape} vs {ndvi.shape}."
        )
    if ndvi.dtype.kind not in "fiu" or weights.dtype.kind not in "fiub":
        raise ImperviousnessError("ndvi and weights must be real numbers.")
    tau = np.asarray(tau, dtype=np.float64)
    T = ndvi.shape[0]
    if tau.shape != (T,):
        raise ImperviousnessError(f"tau must have one value per date ({T}), got shape {tau.shape}.")
    plan = _FitPlan(tau, n_order, ridge)
    out_shape = ndvi.shape[1:]
    N = int(np.prod(out_shape, dtype=np.int64))
    y2 = ndvi.reshape(T, N)
    w2 = weights.reshape(T, N)
    out = np.empty((plan.K, N), dtype=np.float32)
    if N and _compiled.AVAILABLE:
        # The compiled kernel calls no BLAS: every worker runs, whatever numpy's BLAS. It takes
        # the whole arrays (C-contiguous; a copy only where the input is not) and a pixel range.
        y2, w2 = np.ascontiguousarray(y2), np.ascontiguousarray(w2)
        run_chunked(N, _CHUNK_PIXELS, int(threads),
                    lambda s, e, ws: plan.run_compiled(y2, w2, s, e, out))
    elif N:
        workers = int(threads)
        limit = contextlib.nullcontext()
        if _openblas_threads() > 1:
            # numpy's OpenBLAS is multi-threaded (its default): one worker, OpenBLAS limited to
            # one thread for the call (see ``threads`` above for the measurements).
            workers, limit = 1, _single_threaded_blas()
        with limit:
            run_chunked(N, _CHUNK_PIXELS, workers,
                        lambda s, e, ws: plan.run(y2[:, s:e], w2[:, s:e], out[:, s:e], ws))
    return out.reshape((plan.K,) + out_shape)
