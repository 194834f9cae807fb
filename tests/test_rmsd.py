"""RMSD_A_B (ATBD 4.2.2): exact curve RMSD through the Gram matrix, Euclidean distance, checks."""

import math

import numpy as np
import pytest
from osgeo import gdal

from imperviousness_plugin.core.errors import ImperviousnessError
from imperviousness_plugin.core.io.raster import Grid, RasterWriter, Window
from imperviousness_plugin.core.features.rmsd import (gram_matrix, linear_coefficients,
                                             rmsd_from_coefficients, run_rmsd)
from rasters import epsg_wkt




LAEA = epsg_wkt(3035)
FINE_TAU = (np.arange(20000) + 0.5) / 20000.0   # midpoints of 20000 equal parts of the year


def curve(p, a, phi, tau):
    """The SPEC's NDVI model evaluated directly: Legendre series plus a_k sin(2 pi k tau + phi_k)."""
    values = np.polynomial.legendre.legval(2.0 * tau - 1.0, p)
    for k, (amplitude, phase) in enumerate(zip(a, phi), start=1):
        values = values + amplitude * np.sin(2.0 * np.pi * k * tau + phase)
    return values


def brute_force_rmsd(model_a, model_b):
    return math.sqrt(np.mean((curve(*model_b, FINE_TAU) - curve(*model_a, FINE_TAU)) ** 2))


def random_model(rng, order):
    return (rng.normal(0.0, 0.3, order + 1), rng.uniform(0.0, 0.4, order),
            rng.uniform(-math.pi, math.pi, order))


def euclidean_by_hand(model_a, model_b):
    (pa, aa, fa), (pb, ab, fb) = model_a, model_b
    return np.linalg.norm(np.concatenate([pb - pa, ab * np.sin(fb) - aa * np.sin(fa),
                                          ab * np.cos(fb) - aa * np.cos(fa)]))


def rmsd_of(model_a, model_b, order, method="curve"):
    return float(rmsd_from_coefficients(linear_coefficients(*model_a), linear_coefficients(*model_b),
                                        order, method))


# -------------------------------------------------------------------------------------------
# The numeric core


def test_gram_matrix_has_the_analytic_entries():
    gram = gram_matrix(3)       # columns 1, P1, P2, P3, cos1, sin1, cos2, sin2, cos3, sin3
    assert gram.shape == (10, 10)
    assert np.allclose(np.diag(gram), [1, 1 / 3, 1 / 5, 1 / 7] + [0.5] * 6, rtol=0, atol=1e-15)
    assert gram[1, 5] == pytest.approx(-1 / math.pi, abs=1e-15)       # P1 x sin(2 pi tau)
    assert gram[2, 4] == pytest.approx(3 / math.pi ** 2, abs=1e-15)   # P2 x cos(2 pi tau)
    assert gram[1, 4] == pytest.approx(0.0, abs=1e-15)                # odd x even about tau = 1/2
    assert np.allclose(gram[0, 1:], 0.0, atol=1e-15)                  # all but 1 average to 0
    assert np.allclose(gram[4:, 4:], np.eye(6) / 2, atol=1e-15)       # harmonics orthogonal
    assert np.array_equal(gram, gram.T)


def closed_form_gram(order):
    """The Gram matrix by hand: Legendre and harmonic blocks analytic, cross terms by parts.

    integral_0^1 q(tau) e^(i w tau) dtau = sum_j (-1)^j (q^(j)(1) - q^(j)(0)) / (i w)^(j+1) for a
    polynomial q and w = 2 pi k (e^(i w) = 1); q = P_n(2 tau - 1) kept in the Legendre basis.
    """
    size = 3 * order + 1
    gram = np.zeros((size, size))
    for n in range(order + 1):
        gram[n, n] = 1.0 / (2 * n + 1)
    for k in range(1, order + 1):
        cos_col, sin_col = order + 2 * k - 1, order + 2 * k
        gram[cos_col, cos_col] = gram[sin_col, sin_col] = 0.5
        omega = 2.0 * math.pi * k
        for n in range(order + 1):
            q, total = np.polynomial.Legendre.basis(n, domain=[0, 1]), 0j
            for j in range(n + 1):
                total += (-1) ** j * (q(1.0) - q(0.0)) / (1j * omega) ** (j + 1)
                q = q.deriv()
            gram[n, cos_col] = gram[cos_col, n] = total.real
            gram[n, sin_col] = gram[sin_col, n] = total.imag
    return gram


@pytest.mark.parametrize("order", range(1, 7))
def test_gram_matrix_equals_the_closed_form_to_machine_precision(order):
    # BLAS sums the 80 N quadrature terms in an order of its own: measured < 2e-15 with Debian
    # 12's OpenBLAS, 3.3e-15 (N = 6) with trixie's; 1e-14 is 45 ulps, well inside the worst-case
    # bound of such a sum (80 N ulps).
    assert np.abs(gram_matrix(order) - closed_form_gram(order)).max() < 1e-14


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_curve_rmsd_equals_the_brute_force_mean_over_the_year(order):
    rng = np.random.default_rng(order)
    for _ in range(20):
        model_a, model_b = random_model(rng, order), random_model(rng, order)
        assert rmsd_of(model_a, model_b, order) == pytest.approx(
            brute_force_rmsd(model_a, model_b), rel=1e-7)


def test_curve_rmsd_of_known_curves():
    # B - A = 0.3 sin(2 pi tau): RMS 0.3 / sqrt(2). B - A = 0.2 P1(x): RMS 0.2 / sqrt(3).
    zero = (np.zeros(2), np.zeros(1), np.zeros(1))
    assert rmsd_of(zero, (np.zeros(2), np.array([0.3]), np.array([0.0])), 1) == pytest.approx(
        0.3 / math.sqrt(2), rel=1e-14)
    assert rmsd_of(zero, (np.array([0.0, 0.2]), np.zeros(1), np.zeros(1)), 1) == pytest.approx(
        0.2 / math.sqrt(3), rel=1e-14)
    # P1 and sin(2 pi tau) are not orthogonal: the cross term -2 * 0.2 * 0.3 / pi counts.
    both = (np.array([0.0, 0.2]), np.array([0.3]), np.array([0.0]))
    expected = math.sqrt(0.04 / 3 + 0.09 / 2 - 2 * 0.2 * 0.3 / math.pi)
    assert rmsd_of(zero, both, 1) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("order", [1, 3])
def test_euclidean_distance_of_the_linear_coefficients(order):
    rng = np.random.default_rng(10 + order)
    for _ in range(20):
        model_a, model_b = random_model(rng, order), random_model(rng, order)
        assert rmsd_of(model_a, model_b, order, "euclidean") == pytest.approx(
            euclidean_by_hand(model_a, model_b), rel=1e-13)


def test_phase_wrap_around_does_not_distort_either_method():
    # phi = pi - e and -pi + e: the same curve up to 2e in phase, 2 pi apart as numbers.
    model_a = (np.array([0.5, 0.1]), np.array([0.3]), np.array([math.pi - 1e-6]))
    model_b = (np.array([0.5, 0.1]), np.array([0.3]), np.array([-math.pi + 1e-6]))
    for method in ("curve", "euclidean"):
        assert rmsd_of(model_a, model_b, 1, method) < 1e-6


# -------------------------------------------------------------------------------------------
# PP stacks on disk

QUANTILE_BANDS = ["Q20_B02", "Q20_B03", "Q20_B04", "Q20_B05", "Q20_B06", "Q20_B07", "Q20_B08",
                  "Q20_B8A", "Q20_B11", "Q20_B12", "Q90_NDVI"]


def random_coefficients(rng, order, shape):
    """(p (N+1, h, w), a (N, h, w), phi (N, h, w)) as Float32, as stored in a PP stack."""
    return (rng.normal(0.0, 0.3, (order + 1,) + shape).astype(np.float32),
            rng.uniform(0.0, 0.4, (order,) + shape).astype(np.float32),
            rng.uniform(-math.pi, math.pi, (order,) + shape).astype(np.float32))


def write_pp(path, coefficients, x0=4_700_000.0, y1=1_460_000.0, pixel=10.0, reverse=False):
    """A PP stack (SPEC section 4 band descriptions); `reverse` stores the coefficients backwards."""
    p, a, phi = coefficients
    order = a.shape[0]
    names = [f"NDVI_P{k}" for k in range(order + 1)]
    bands = list(p)
    for k in range(order):
        names += [f"NDVI_A{k + 1}", f"NDVI_PHI{k + 1}"]
        bands += [a[k], phi[k]]
    if reverse:
        names, bands = names[::-1], bands[::-1]
    height, width = p.shape[1:]
    names = QUANTILE_BANDS + names + ["NOBS"]
    bands = [np.full((height, width), 0.1, np.float32)] * 11 + bands + [np.full((height, width), 20.0, np.float32)]
    grid = Grid(LAEA, (x0, pixel, 0.0, y1, 0.0, -pixel), width, height)
    with RasterWriter(path, grid, len(names), np.float32, np.nan, names) as writer:
        writer.write(Window(0, 0, width, height), np.stack(bands))
    return str(path)


def read(path):
    dataset = gdal.Open(str(path))
    band = dataset.GetRasterBand(1)
    return band.ReadAsArray(), band.GetNoDataValue(), band.GetDescription(), band.DataType


def brute_force_raster(coef_a, coef_b, method="curve"):
    height, width = coef_a[0].shape[1:]
    out = np.empty((height, width))
    for row in range(height):
        for col in range(width):
            model_a = tuple(np.float64(c[:, row, col]) for c in coef_a)
            model_b = tuple(np.float64(c[:, row, col]) for c in coef_b)
            out[row, col] = (brute_force_rmsd(model_a, model_b) if method == "curve"
                             else euclidean_by_hand(model_a, model_b))
    return out


def test_run_rmsd_block_wise_equals_the_brute_force_and_propagates_nan(tmp_path):
    rng = np.random.default_rng(42)
    coef_a, coef_b = random_coefficients(rng, 2, (13, 11)), random_coefficients(rng, 2, (13, 11))
    coef_a[2][1, 3, 4] = np.nan         # A's PHI2 missing at (3, 4)
    coef_b[0][0, 9, 0] = np.nan         # B's P0 missing at (9, 0)
    coef_a[1][:, 12, :] = np.nan        # a whole row missing in A
    path_a = write_pp(tmp_path / "PP_2018.tif", coef_a)
    path_b = write_pp(tmp_path / "PP_2021.tif", coef_b, reverse=True)
    summary = run_rmsd(path_a, path_b, tmp_path / "RMSD.tif", block_size=4)
    rmsd, nodata, description, data_type = read(tmp_path / "RMSD.tif")
    missing = np.zeros((13, 11), dtype=bool)
    missing[3, 4] = missing[9, 0] = True
    missing[12, :] = True
    assert np.array_equal(np.isnan(rmsd), missing)
    assert summary["valid_pixels"] == 13 * 11 - missing.sum() and summary["order"] == 2
    expected = brute_force_raster(coef_a, coef_b)
    assert np.allclose(rmsd[~missing], expected[~missing], rtol=1e-6, atol=0)
    assert (rmsd[~missing] >= 0).all()
    assert math.isnan(nodata) and description == "RMSD" and data_type == gdal.GDT_Float32


def test_identical_stacks_give_zero(tmp_path):
    coefficients = random_coefficients(np.random.default_rng(1), 3, (8, 9))
    path = write_pp(tmp_path / "PP.tif", coefficients)
    for method in ("curve", "euclidean"):
        run_rmsd(path, path, tmp_path / f"RMSD_{method}.tif", method=method)
        assert (read(tmp_path / f"RMSD_{method}.tif")[0] == 0).all()


def test_stacks_on_different_grids_are_refused(tmp_path):
    coefficients = random_coefficients(np.random.default_rng(2), 1, (5, 5))
    path_a = write_pp(tmp_path / "A.tif", coefficients)
    path_b = write_pp(tmp_path / "B.tif", coefficients, x0=4_700_010.0)
    with pytest.raises(ImperviousnessError, match="different grids") as error:
        run_rmsd(path_a, path_b, tmp_path / "RMSD.tif")
    assert "A.tif" in str(error.value) and "B.tif" in str(error.value)
    assert "4700010.00" in str(error.value)
    assert not (tmp_path / "RMSD.tif").exists()


def test_stacks_of_different_model_orders_are_refused(tmp_path):
    rng = np.random.default_rng(3)
    path_a = write_pp(tmp_path / "A.tif", random_coefficients(rng, 3, (5, 5)))
    path_b = write_pp(tmp_path / "B.tif", random_coefficients(rng, 2, (5, 5)))
    with pytest.raises(ImperviousnessError, match="models differ") as error:
        run_rmsd(path_a, path_b, tmp_path / "RMSD.tif")
    message = str(error.value)
    assert "A.tif) has order 3" in message and "B.tif) has order 2" in message
    assert not (tmp_path / "RMSD.tif").exists()


def test_stacks_without_the_model_bands_are_refused(tmp_path):
    grid = Grid(LAEA, (0.0, 10.0, 0.0, 50.0, 0.0, -10.0), 5, 5)
    plain = tmp_path / "plain.tif"
    with RasterWriter(plain, grid, 1, np.float32, np.nan, ["IMD"]) as writer:
        writer.write(Window(0, 0, 5, 5), np.zeros((5, 5), np.float32))
    good = write_pp(tmp_path / "good.tif", random_coefficients(np.random.default_rng(4), 1, (5, 5)),
                    x0=0.0, y1=50.0)
    with pytest.raises(ImperviousnessError, match=r"INPUT_B \(.*plain.tif\) has no NDVI model"):
        run_rmsd(good, plain, tmp_path / "RMSD.tif")
    # A stack with NDVI_P0..P2 but no harmonic bands names what is missing.
    partial = tmp_path / "partial.tif"
    with RasterWriter(partial, grid, 3, np.float32, np.nan, ["NDVI_P0", "NDVI_P1", "NDVI_P2"]) as writer:
        writer.write(Window(0, 0, 5, 5), np.zeros((3, 5, 5), np.float32))
    with pytest.raises(ImperviousnessError, match="missing band.*NDVI_A1, NDVI_A2, NDVI_PHI1"):
        run_rmsd(partial, good, tmp_path / "RMSD.tif")
    with pytest.raises(ImperviousnessError, match="METHOD"):
        run_rmsd(good, good, tmp_path / "RMSD.tif", method="manhattan")


# -------------------------------------------------------------------------------------------
# Through QGIS Processing


def test_processing_run_with_both_methods(provider, tmp_path):
    import processing

    rng = np.random.default_rng(9)
    coef_a, coef_b = random_coefficients(rng, 3, (6, 7)), random_coefficients(rng, 3, (6, 7))
    coef_b[0][0, 2, 2] = np.nan
    path_a, path_b = write_pp(tmp_path / "A.tif", coef_a), write_pp(tmp_path / "B.tif", coef_b)
    for method, params in (("curve", {}), ("euclidean", {"METHOD": "euclidean"})):
        output = tmp_path / f"RMSD_{method}.tif"
        result = processing.run("imperviousness:rmsd", {"INPUT_A": path_a, "INPUT_B": path_b,
                                                        "OUTPUT": str(output), **params})
        rmsd = read(result["OUTPUT"])[0]
        expected = brute_force_raster(coef_a, coef_b, method)
        assert np.isnan(rmsd[2, 2]) and np.isnan(rmsd).sum() == 1
        valid = ~np.isnan(rmsd)
        assert np.allclose(rmsd[valid], expected[valid], rtol=1e-6, atol=0)
    # The two methods really differ.
    assert not np.allclose(read(tmp_path / "RMSD_curve.tif")[0][valid],
                           read(tmp_path / "RMSD_euclidean.tif")[0][valid])


def test_processing_errors_name_both_inputs(provider, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    rng = np.random.default_rng(5)
    path_a = write_pp(tmp_path / "A.tif", random_coefficients(rng, 1, (4, 4)))
    path_b = write_pp(tmp_path / "B.tif", random_coefficients(rng, 2, (4, 4)))
    with pytest.raises(QgsProcessingException, match="A.tif.*order 1.*B.tif.*order 2"):
        processing.run("imperviousness:rmsd", {"INPUT_A": path_a, "INPUT_B": path_b,
                                               "OUTPUT": str(tmp_path / "RMSD.tif")})
    assert not (tmp_path / "RMSD.tif").exists()


def test_qgis_process_runs_rmsd_then_changemask(qgis_process, tmp_path):
    rng = np.random.default_rng(6)
    shape = (60, 70)
    coef_a = random_coefficients(rng, 2, shape)
    coef_b = [c.copy() for c in coef_a]
    coef_b[0][:, 20:30, 30:42] += 0.5        # a block whose NDVI changed between the years
    coef_b[0] += rng.normal(0, 0.01, coef_b[0].shape).astype(np.float32)
    path_a, path_b = write_pp(tmp_path / "A.tif", coef_a), write_pp(tmp_path / "B.tif", coef_b)
    qgis_process("run", "imperviousness:rmsd", "--", f"INPUT_A={path_a}", f"INPUT_B={path_b}",
                 "METHOD=euclidean", f"OUTPUT={tmp_path / 'RMSD.tif'}")
    rmsd = read(tmp_path / "RMSD.tif")[0]
    assert np.allclose(rmsd, brute_force_raster(coef_a, coef_b, "euclidean"), rtol=1e-6)
    qgis_process("run", "imperviousness:changemask", "--", f"INPUT={tmp_path / 'RMSD.tif'}",
                 f"OUTPUT={tmp_path / 'CHM.tif'}", f"OUTPUT_THRESHOLDS={tmp_path / 't.csv'}")
    chm = read(tmp_path / "CHM.tif")[0]
    # 120 changed pixels are 2.9 % of the tile: the 97.5 % and 99 % thresholds flag only them.
    expected = np.zeros(shape, dtype=np.uint8)
    expected[20:30, 30:42] = 1
    assert chm.sum() <= 120 and chm[expected == 0].sum() == 0 and chm.sum() >= 0.025 * chm.size
    assert (tmp_path / "t.csv").read_text().startswith("tile_id,")


RMSD_IN_CHILD = """
import hashlib
import numpy as np
from imperviousness_plugin.core.features.rmsd import rmsd_from_coefficients
rng = np.random.default_rng(5)
a = rng.normal(0, 0.3, (200_000, 10))
b = a + rng.normal(0, 0.05, a.shape)
print(hashlib.sha256(rmsd_from_coefficients(a, b, 3).tobytes()).hexdigest())
"""


def test_rmsd_is_identical_across_processes_and_cpu_targets():
    """The float64 RMSD (before its float32 rounding, which hides most differences) in fresh
    processes as on an AVX2 CPU (numpy's AVX-512 code off, OpenBLAS's Haswell kernels) and as the
    machine runs it: the same bytes (np.linalg.cholesky gave different factors of G there)."""
    import os
    import pathlib
    import subprocess
    import sys
    root = str(pathlib.Path(__file__).resolve().parents[1])
    digests = set()
    for extra in ({}, {"NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL",
                       "OPENBLAS_CORETYPE": "Haswell"},
                  {"OPENBLAS_CORETYPE": "SkylakeX", "OPENBLAS_NUM_THREADS": "2"}):
        env = dict(os.environ, **extra, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        result = subprocess.run([sys.executable, "-c", RMSD_IN_CHILD], env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        digests.add(result.stdout.strip())
    assert len(digests) == 1, digests
