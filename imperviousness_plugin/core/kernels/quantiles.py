"""Weighted per-pixel quantiles of a time stack (SPEC section 4, "Weighted quantile definition").

Public API
----------
``weighted_quantile(values, codes, code_weights, q, *, threads=2)``

Definition (inverted CDF)
-------------------------
For the observations x_i of one pixel with weights w_i > 0 and W = sum(w_i), the q quantile is
the smallest x_i such that ``sum(w_j for x_j <= x_i) >= q * W``.  With equal weights this is
``numpy.quantile(x, q, method="inverted_cdf")``; ``q = 0`` gives the smallest value that has a
positive weight, ``q = 1`` the largest.  Observations whose value is NaN, whose code is
``INVALID_CODE`` (15) or whose code weight is 0 are ignored; a pixel without any positive weight
gets NaN.

Rounding of q * W.  ``q`` is a binary float and ``q * W`` is rounded, so a cumulative weight
that should reach ``q * W`` exactly may miss it by one ulp: ``100 * 0.07 == 7.000000000000001``
in float64, which makes ``numpy.quantile(range(100), 0.07, method="inverted_cdf")`` return the
8th smallest value instead of the 7th.  We compare ``cumulative >= q * W - 1e-12 * W``
(``_REL_EPS``): a cumulative weight within a relative 1e-12 of the threshold counts as reaching
it.  This gives the answer of the decimal q the user typed (the 7th value above), and the
tolerance is far below any weight difference that occurs in practice (weights are SCL class
weights such as 1, 5, 10, 50).  For the usual q (0, 0.2, 0.5, 0.9, 1) and integer weights the
result is identical to numpy's.

Hand-worked example (codes 4 -> weight 50, 9 -> weight 1, 15 -> invalid)::

    values  = [30, 10, 20, 40]        codes = [4, 9, 4, 15]
    sorted valid: 10 (w=1), 20 (w=50), 30 (w=50)        W = 101
    cumulative:    1,        51,        101
    q=0.2 -> threshold 20.2 -> 20      q=0 -> 10      q=1 -> 30      (40 is invalid)

Algorithm (why it is fast)
--------------------------
A per-pixel ``argsort`` + ``cumsum`` loop costs ~8 us per pixel at T=100 dates.  Here all
pixels of a chunk are processed at once, and the expensive ``argsort`` (which is needed to carry
each observation's weight along with its value) is replaced by a plain ``np.sort`` of 32-bit
integer *keys* that contain both the value and the weight information.  On CPUs with AVX-512
numpy (1.24 here) sorts 32-bit keys along the last axis with SIMD code, ~15x faster than
64-bit keys or an argsort (measured); elsewhere the gain over argsort is smaller.  The data are transposed to a C-contiguous ``(pixels, T)`` layout per chunk (with
OpenCV's blocked transpose when available), chunks are spread over ``threads`` worker threads
(numpy and OpenCV release the GIL), and several ``q`` share one sort.

* Integer values of <= 16 bits (and wider integers whose range in the call fits 27 bits):
  ``key = (value - offset) << wb | payload`` where the payload is the observation's integer
  weight when all code weights are integers that fit the ``wb = 31 - value_bits`` free bits,
  else its code (4 bits) looked up after the sort.  After sorting the keys of each pixel, the
  cumulative weight is one flat ``cumsum`` over the chunk and the threshold search is a single
  ``searchsorted`` (rows are made comparable with per-row base offsets), then the value is
  decoded from the selected key.  Exact.
* float32 (and float16, and float64 whose values are all exactly float32): the 32 bits of the
  value plus a 4-bit code do not fit 32 bits.  With m the order-preserving int32 image of the
  float bits (negative floats get their 31 low bits flipped), the keys
  ``m & ~15 | code`` are sorted: order by the top 28 bits of the value, then by code.  The
  cumulative weights are therefore exact at the boundaries of each 28-bit prefix group, and
  the selected key gives the exact prefix P of the answer.  Its 4 low bits are recovered from
  the pixel's observations in the group: ``d = m - P`` (as uint32) is <= 15 exactly for them,
  and lo = min(d), hi = max(d) take two reductions over T.  If lo == hi the group holds a
  single value and the answer is exact.  Otherwise (two different values within a relative
  ~1e-6 of each other in the selected group, rare) the code order inside the group may differ
  from the value order, and that pixel is recomputed with the exact argsort path.  NaN values
  get code 15 (weight 0).  -0.0 and +0.0 are equal values; either may be returned.
* Anything else (float64 values not representable in float32, integers with a huge range,
  pixels flagged above) goes through an exact vectorised ``argsort`` path, slower but correct.
* With numba installed (``STRATEGY = "auto"``), integer or float32 values with integer code
  weights skip the sort altogether: ``selection.py`` bisects each pixel's integer keys (the
  value, or the float's order-preserving int32 image) for the smallest key whose cumulative
  weight reaches the same integer threshold as ``_select_flat``, SIMD across pixels, with no
  transpose. Faster than the sort on AVX-512 CPUs and several times faster on AVX2-only ones,
  where numpy's sort has no SIMD code.

All paths give identical results (tests compare them with per-pixel references).
"""

from __future__ import annotations

import sys

import numpy as np

from ..errors import ImperviousnessError
from . import selection
from .workspace import check_threads, run_chunked

try:  # OpenCV is a dependency of the plugin core; it is only used to go faster.
    import cv2 as _cv2
except Exception:  # pragma: no cover - exercised only without OpenCV
    _cv2 = None

__all__ = ["INVALID_CODE", "N_CODES", "weighted_quantile"]

INVALID_CODE = 15
"""Code reserved for "this observation is invalid": its weight is forced to 0."""

N_CODES = 16

_REL_EPS = 1e-12
"""Relative tolerance on the threshold q * W (see module docstring)."""

_CHUNK_ELEMENTS = 1 << 19
"""Observations per chunk (pixels x T): ~2 MB per int32 work buffer (L3 cache); large enough
for two worker threads to rarely contend for the GIL."""

_LITTLE_ENDIAN = sys.byteorder == "little"

STRATEGY = "auto"
""""sort" (numpy sort of packed keys), "select" (numba bisection without a sort, selection.py)
or "auto": select when numba is installed (measured faster than the sort on AVX-512 CPUs, where
numpy's 32-bit sort has SIMD code, and more so on AVX2-only CPUs, where it has none)."""


def _use_selection():
    return STRATEGY != "sort" and selection.AVAILABLE


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------




def _transpose(src, dst):
    """C-contiguous transpose of a 2-D array into ``dst`` (OpenCV's blocked copy when possible)."""
    if _cv2 is not None and src.dtype in (np.int32, np.float32, np.uint8, np.int16, np.uint16):
        if src.strides[1] == src.itemsize and src.shape[0] > 0 and src.shape[1] > 0:
            res = _cv2.transpose(src, dst=dst)
            if res is not dst:  # pragma: no cover - OpenCV reallocated (should not happen)
                np.copyto(dst, res)
            return dst
    np.copyto(dst, src.T)
    return dst


def _lookup(table, idx_u8, out):
    """``out[...] = table[idx_u8]`` for a uint8 index array and a 256-entry table."""
    if _cv2 is not None and table.dtype in (np.uint8, np.int32, np.float64) and idx_u8.ndim == 2:
        res = _cv2.LUT(idx_u8, table, dst=out)
        if res is not out:  # pragma: no cover
            np.copyto(out, res)
        return out
    return np.take(table, idx_u8, out=out)


def _as_q_array(q):
    scalar = np.ndim(q) == 0
    try:
        qs = np.atleast_1d(np.asarray(q, dtype=np.float64)).ravel()
    except (TypeError, ValueError) as exc:
        raise ImperviousnessError(f"Quantile q must be a number or a list of numbers in [0, 1], got {q!r}.") from exc
    if qs.size == 0:
        raise ImperviousnessError("At least one quantile q is required.")
    if not np.all(np.isfinite(qs)) or np.any(qs < 0) or np.any(qs > 1):
        raise ImperviousnessError(f"Quantiles must lie in [0, 1], got {q!r}.")
    return qs, scalar


def _weight_table(code_weights):
    try:
        table = np.array(code_weights, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise ImperviousnessError(f"code_weights must be {N_CODES} numbers, got {code_weights!r}.") from exc
    if table.size != N_CODES:
        raise ImperviousnessError(
            f"code_weights must give one weight for each of the {N_CODES} codes 0..15, got {table.size}."
        )
    if not np.all(np.isfinite(table)) or np.any(table < 0):
        raise ImperviousnessError(f"Code weights must be finite and non-negative, got {table.tolist()}.")
    table[INVALID_CODE] = 0.0
    return table


# --------------------------------------------------------------------------------------------
# threshold search on cumulative weights
# --------------------------------------------------------------------------------------------


def _select_flat(C, n, T, qs, positions):
    """Integer flat cumulative weights ``C`` (n*T,), rows of length T.

    Fills ``positions[j]`` with the flat index of the selected observation for ``qs[j]``;
    returns the boolean mask of pixels with zero total weight.
    """
    ends = C[T - 1 :: T]
    base = np.empty_like(ends)
    base[0] = 0
    base[1:] = ends[:-1]
    W = ends - base
    Wf = W.astype(np.float64)
    empty = W == 0
    last = n * T - 1
    for j, q in enumerate(qs):
        thr = np.ceil(q * Wf - _REL_EPS * Wf)
        np.maximum(thr, 1.0, out=thr)  # q = 0: the first observation with a positive weight
        target = base + thr.astype(C.dtype)
        idx = np.searchsorted(C, target, side="left")
        np.minimum(idx, last, out=idx)  # only reached by empty pixels
        positions[j] = idx
    return empty


def _select_rows(C, T, qs, wmin_pos, positions):
    """Float cumulative weights per row ``C`` (n, T); same outputs as ``_select_flat``."""
    n = C.shape[0]
    W = C[:, -1]
    empty = ~(W > 0)
    rowbase = np.arange(n, dtype=np.intp) * T
    for j, q in enumerate(qs):
        thr = q * W - _REL_EPS * W
        np.maximum(thr, 0.5 * wmin_pos, out=thr)
        idx = np.argmax(C >= thr[:, None], axis=1)
        positions[j] = idx + rowbase
    return empty


# --------------------------------------------------------------------------------------------
# the three chunk kernels
# --------------------------------------------------------------------------------------------


def _exact_rows(vals_nt, w_nt, qs, wmin_pos):
    """Exact reference-like path: ``vals_nt`` (n, T) (NaN allowed), ``w_nt`` (n, T) float64.

    Returns float32 (len(qs), n).
    """
    n, T = vals_nt.shape
    w = np.array(w_nt, dtype=np.float64)
    if vals_nt.dtype.kind == "f":
        w[np.isnan(vals_nt)] = 0.0
    order = np.argsort(vals_nt, axis=1, kind="stable")
    ws = np.take_along_axis(w, order, axis=1)
    C = np.cumsum(ws, axis=1)
    positions = np.empty((len(qs), n), dtype=np.intp)
    empty = _select_rows(C, T, qs, wmin_pos, positions)
    out = np.empty((len(qs), n), dtype=np.float32)
    rows = np.arange(n)
    for j in range(len(qs)):
        col = positions[j] - rows * T
        out[j] = vals_nt[rows, order[rows, col]]
        out[j, empty] = np.nan
    return out


class _Plan:
    """Decisions taken once per call (value encoding, weight encoding, chunk size)."""

    def __init__(self, v2, table, T):
        self.T = T
        self.table = table
        pos = table[table > 0]
        self.wmin_pos = float(pos.min()) if pos.size else 1.0
        self.int_weights = bool(np.all(table == np.round(table))) and table.max() < 2**30
        dt = v2.dtype
        self.kind = "exact"
        if dt.kind in "iu":
            if dt.itemsize <= 2:
                self.offset = int(np.iinfo(dt).min)
                self.vbits = 8 * dt.itemsize
                self.kind = "int"
            elif v2.size:
                vmin, vmax = int(v2.min()), int(v2.max())
                vbits = max((vmax - vmin).bit_length(), 1)
                if vbits <= 27:
                    self.offset, self.vbits, self.kind = vmin, vbits, "int"
        elif dt.kind == "f":
            if dt.itemsize <= 4:
                self.kind = "float"
            elif v2.size and _exact_in_float32(v2):
                self.kind = "float"
        elif dt.kind == "b":
            self.offset, self.vbits, self.kind = 0, 1, "int"
        if self.kind == "int":
            self.wbits = 31 - self.vbits
            # payload = the integer weight itself (no lookup after the sort) when it fits
            self.weight_in_key = self.int_weights and table.max() < 2**self.wbits
            if not self.weight_in_key:
                self.wbits = 4
        self.chunk = max(16, _CHUNK_ELEMENTS // max(T, 1))
        # integer cumulative sums of a chunk: int32 when they cannot overflow
        wmax = float(table.max()) if table.size else 0.0
        self.cdtype = np.int32 if wmax * self.chunk * T < 2**31 - 1 else np.int64
        # 256-entry lookup tables indexed by the low byte of a key (code in the low 4 bits)
        self.lut_int = np.tile(table.astype(np.int32) if self.int_weights else np.zeros(16, np.int32), 16)
        self.lut_f64 = np.tile(table, 16)
        # Bisection sums integer weights in int32 and compares 31-bit keys (see selection.py).
        self.select = bool(_use_selection() and self.int_weights and wmax * T < 2**31
                           and self.kind in ("int", "float") and v2.dtype.itemsize <= 4)
        # code -> weight, uint8 when the weights allow (a quarter of the memory traffic)
        self.lut_select = np.tile(table.astype(np.uint8 if wmax < 256 else np.int32), 16)

    # -- weights after the sort, for keys with the code in the low 4 bits ----------------
    def _cumulative_from_codes(self, K, ws):
        n, T = K.shape
        low = ws.get("low", np.uint8, (n, T))
        if _LITTLE_ENDIAN and _cv2 is not None:
            # low byte of each key (its 4 low bits are the code): de-interleave channel 0
            res = _cv2.extractChannel(K.view(np.uint8).reshape(n, T, 4), 0, dst=low)
            if res is not low:  # pragma: no cover
                np.copyto(low, res)
        elif _LITTLE_ENDIAN:
            np.copyto(low, K.view(np.uint8)[:, ::4])
        else:  # pragma: no cover
            np.bitwise_and(K, 255, out=low, casting="unsafe")
        if self.int_weights:
            C = ws.get("C", self.cdtype, (n, T))
            if self.cdtype == np.int32:
                _lookup(self.lut_int, low, C)
            else:
                np.take(self.lut_int.astype(np.int64), low, out=C)
            Cf = C.reshape(-1)
            np.cumsum(Cf, out=Cf)
            return Cf, True
        Cw = ws.get("Cw", np.float64, (n, T))
        _lookup(self.lut_f64, low, Cw)
        np.cumsum(Cw, axis=1, out=Cw)
        return Cw, False

    def _select(self, C, flat, n, qs, ws):
        positions = ws.get("pos", np.intp, (len(qs), n))
        if flat:
            empty = _select_flat(C, n, self.T, qs, positions)
        else:
            empty = _select_rows(C, self.T, qs, self.wmin_pos, positions)
        return positions, empty

    # -- chunk kernels ----------------------------------------------------------------------
    def run(self, vv, cc, qs, out, ws):
        """vv, cc: (T, n) views of one chunk; out: (len(qs), n) float32 view."""
        if self.select:
            self._run_select(vv, cc, qs, out, ws)
        elif self.kind == "int":
            self._run_int(vv, cc, qs, out, ws)
        elif self.kind == "float":
            self._run_float(vv, cc, qs, out, ws)
        else:
            self._run_exact(vv, cc, qs, out)

    def _run_select(self, vv, cc, qs, out, ws):
        """Bisection without a sort (selection.py), on the values' integer keys."""
        T, n = vv.shape
        offset = 0
        if self.kind == "float":
            if vv.dtype != np.float32:   # float16, or float64 values that are all exactly float32
                vals = ws.get("val_tn", np.float32, (T, n))
                np.copyto(vals, vv, casting="unsafe")
                vv = vals
            vv = vv.view(np.int32)
        else:
            offset = self.offset
            if vv.dtype == np.bool_:
                vv = vv.view(np.uint8)
        weights = ws.get("w_tn", self.lut_select.dtype, (T, n))
        _lookup(self.lut_select, cc, weights)
        selected = ws.get("selected", np.int32, (len(qs), n))
        empty = ws.get("empty", np.bool_, (n,))
        selection.select_chunk(vv, weights, self.kind == "float", offset, qs, _REL_EPS, selected, empty)
        if self.kind == "float":   # the key back to the float's bits
            np.bitwise_xor(selected, np.bitwise_and(np.right_shift(selected, 31), np.int32(0x7FFFFFFF)),
                           out=selected)
            out[...] = selected.view(np.float32)
        else:
            out[...] = selected.astype(np.int64) + offset
        out[:, empty] = np.nan

    def _run_int(self, vv, cc, qs, out, ws):
        T, n = vv.shape
        wb = self.wbits
        key = ws.get("key_tn", np.int32, (T, n))
        if vv.dtype.itemsize <= 2:
            np.copyto(key, vv, casting="unsafe")
            if self.offset:
                np.subtract(key, np.int32(self.offset), out=key)
        elif vv.dtype.itemsize == 4:
            # value - offset lies in [0, 2**27), so wrap-around 32-bit arithmetic is exact
            # (uint32 values are reinterpreted as int32, the offset is taken modulo 2**32)
            offset32 = np.int64(self.offset).astype(np.int32)
            np.subtract(vv.view(np.int32), offset32, out=key)
        else:
            wide = np.uint64 if vv.dtype.kind == "u" else np.int64
            np.subtract(vv, wide(self.offset), out=key, dtype=wide, casting="unsafe")
        np.left_shift(key, wb, out=key)
        if self.weight_in_key:
            wtn = ws.get("w_tn", np.int32, (T, n))
            _lookup(self.lut_int, cc, wtn)
            np.bitwise_or(key, wtn, out=key)
        else:
            np.bitwise_or(key, cc, out=key)
        K = ws.get("key_nt", np.int32, (n, T))
        _transpose(key, K)
        K.sort(axis=1)
        if self.weight_in_key:
            C = ws.get("C", self.cdtype, (n, T))
            np.bitwise_and(K, (1 << wb) - 1, out=C, casting="unsafe")
            Cf = C.reshape(-1)
            np.cumsum(Cf, out=Cf)
            flat = True
        else:
            Cf, flat = self._cumulative_from_codes(K, ws)
        positions, empty = self._select(Cf, flat, n, qs, ws)
        Kf = K.reshape(-1)
        for j in range(len(qs)):
            sel = Kf[positions[j]].astype(np.int64)
            np.right_shift(sel, wb, out=sel)
            sel += self.offset
            out[j] = sel
            out[j, empty] = np.nan

    def _run_float(self, vv, cc, qs, out, ws):
        T, n = vv.shape
        if vv.dtype == np.float32:
            vals = vv
        else:  # float16, or float64 values that are all exactly float32
            vals = ws.get("val_tn", np.float32, (T, n))
            np.copyto(vals, vv, casting="unsafe")
        bits = vals.view(np.int32)
        m = ws.get("map_tn", np.int32, (T, n))
        np.right_shift(bits, 31, out=m)
        np.bitwise_and(m, np.int32(0x7FFFFFFF), out=m)
        np.bitwise_xor(m, bits, out=m)  # order-preserving signed int32 image of the float
        # NaN: code 15 (weight 0).  Where a zero-weight key sorts does not matter: the
        # cumulative weight does not grow there, so it is never selected.
        code = ws.get("code_tn", np.uint8, (T, n))
        np.isnan(vals, out=code.view(np.bool_))
        np.multiply(code, np.uint8(15), out=code)
        np.bitwise_or(code, cc, out=code)
        key = ws.get("key_tn", np.int32, (T, n))
        np.bitwise_and(m, np.int32(-16), out=key)  # keep the 28-bit prefix ...
        np.bitwise_or(key, code, out=key)  # ... and put the code in the low 4 bits
        K = ws.get("key_nt", np.int32, (n, T))
        _transpose(key, K)
        K.sort(axis=1)
        Cf, flat = self._cumulative_from_codes(K, ws)
        positions, empty = self._select(Cf, flat, n, qs, ws)
        Kf = K.reshape(-1)
        du = ws.get("du_tn", np.uint32, (T, n))
        redo = None
        for j in range(len(qs)):
            # The selected key gives the exact 28-bit prefix P of the answer; its low 4 bits
            # are recovered from the pixel's observations whose image m lies in [P, P + 15]:
            # d = m - P (as uint32) is <= 15 exactly for them.  lo = min d, hi = max d.
            P = np.bitwise_and(Kf[positions[j]], np.int32(-16))
            np.subtract(m, P[None, :], out=du.view(np.int32))
            lo = du.min(axis=0)
            np.subtract(np.uint32(15), du, out=du)
            hi = 15 - du.min(axis=0)
            ans = P + lo.astype(np.int32)
            np.bitwise_xor(ans, np.bitwise_and(np.right_shift(ans, 31), np.int32(0x7FFFFFFF)), out=ans)
            out[j] = ans.view(np.float32)
            out[j, empty] = np.nan
            # Several different values share the prefix: the order of the codes inside the
            # group is not the order of the values -> recompute that pixel exactly (rare).
            mixed = (lo != hi) & ~empty
            if mixed.any():
                redo = mixed if redo is None else (redo | mixed)
        if redo is not None:
            rows = np.flatnonzero(redo)
            sub_v = np.ascontiguousarray(vals[:, rows].T)
            sub_w = self.table[cc[:, rows].T]
            out[:, rows] = _exact_rows(sub_v, sub_w, qs, self.wmin_pos)

    def _run_exact(self, vv, cc, qs, out):
        vals = np.ascontiguousarray(vv.T)
        if vals.dtype.kind == "f" and vals.dtype.itemsize < 4:
            vals = vals.astype(np.float32)
        w = self.table[np.ascontiguousarray(cc.T)]
        out[...] = _exact_rows(vals, w, qs, self.wmin_pos)


def _exact_in_float32(v2):
    """True when every value of a float64 array is exactly a float32 (NaN and inf included)."""
    step = max(1, _CHUNK_ELEMENTS // max(v2.shape[0], 1))
    for s in range(0, v2.shape[1], step):
        blk = v2[:, s : s + step]
        back = blk.astype(np.float32).astype(np.float64)
        same = (back == blk) | (np.isnan(back) & np.isnan(blk))
        if not same.all():
            return False
    return True


# --------------------------------------------------------------------------------------------
# public function
# --------------------------------------------------------------------------------------------


def weighted_quantile(values, codes, code_weights, q, *, threads=2):
    """Weighted inverted-CDF quantile(s) of each pixel's time series.

    Parameters
    ----------
    values : array (T, ...) of any real dtype (int8/16/32/64, uint*, float16/32/64, bool)
        T observations per pixel along axis 0.  NaN values are ignored (weight 0).
    codes : uint8 array, same shape
        Class code of each observation, 0..15 (Sentinel-2 SCL 0..11; 12..15 invalid).
    code_weights : sequence of 16 non-negative floats
        Weight of each code; ``code_weights[INVALID_CODE]`` is forced to 0.
    q : float in [0, 1] or sequence of floats
        Quantile(s).  Several q share the sort.
    threads : int
        Worker threads (chunks of pixels are processed in parallel; numpy releases the GIL).

    Returns
    -------
    float32 array of shape ``values.shape[1:]`` for a scalar q, or ``(len(q),) +
    values.shape[1:]`` for a sequence.  NaN where a pixel has no positive weight.  Integer
    values beyond 2**24 are rounded to the nearest float32.

    Definition: the smallest x_i with ``sum(w_j for x_j <= x_i) >= q * W - 1e-12 * W`` where
    W is the pixel's total weight (see the module docstring for the tolerance and an example).

    >>> import numpy as np
    >>> vals = np.array([30, 10, 20, 40], dtype=np.int16)
    >>> codes = np.array([4, 9, 4, 15], dtype=np.uint8)
    >>> w = [0, 0, 0, 10, 50, 50, 50, 10, 5, 1, 1, 1, 0, 0, 0, 0]
    >>> weighted_quantile(vals, codes, w, [0, 0.2, 1]).tolist()
    [10.0, 20.0, 30.0]
    """
    qs, scalar_q = _as_q_array(q)
    table = _weight_table(code_weights)
    check_threads(threads)
    values = np.asarray(values)
    codes = np.asarray(codes)
    if values.ndim == 0:
        raise ImperviousnessError("values must have a time axis (shape (T, ...)).")
    if values.dtype.kind not in "iufb":
        raise ImperviousnessError(f"values must be real numbers, got dtype {values.dtype}.")
    if codes.shape != values.shape:
        raise ImperviousnessError(
            f"codes must have the same shape as values: {codes.shape} vs {values.shape}."
        )
    if codes.dtype.kind not in "iub":
        raise ImperviousnessError(f"codes must be integers 0..15, got dtype {codes.dtype}.")
    T = values.shape[0]
    if T == 0:
        raise ImperviousnessError("values has no observation (T = 0).")
    out_shape = values.shape[1:]
    N = int(np.prod(out_shape, dtype=np.int64))
    if codes.size and (codes.min() < 0 or codes.max() >= N_CODES):
        raise ImperviousnessError(
            f"codes must lie in 0..{N_CODES - 1}, found {int(codes.min())}..{int(codes.max())}."
        )
    if codes.dtype != np.uint8:
        codes = codes.astype(np.uint8)
    v2 = values.reshape(T, N)
    c2 = codes.reshape(T, N)
    out = np.empty((len(qs), N), dtype=np.float32)
    if N:
        plan = _Plan(v2, table, T)
        run_chunked(N, plan.chunk, threads,
                    lambda s, e, ws: plan.run(v2[:, s:e], c2[:, s:e], qs, out[:, s:e], ws))
    out = out.reshape((len(qs),) + out_shape)
    return out[0] if scalar_q else out
