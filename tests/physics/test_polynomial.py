"""Polynomial bases against numpy.polynomial, the Hermite initialisation, fits of known curves.

Tolerances: Horner and Clenshaw in float64 have a backward error of a few
ulps per step, so on |x| <= 1 the absolute error is bounded by about
``4 (n + 1) eps sum|c_k|``; we allow ``1e-13`` relative to ``sum|c_k|``
(about 450 ulps) at degrees up to 30.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.polynomial.chebyshev as npc
import numpy.polynomial.hermite_e as nphe
import numpy.polynomial.polynomial as npp
import pytest
import scipy.special
import torch

from photonn.activations import (
    ChebyshevActivation,
    EOModulator,
    FourierActivation,
    HermiteActivation,
    PowerActivation,
    TropicalActivation,
    fit_polynomial,
)
from photonn.functional import (
    chebyshev_series,
    eo_modulator,
    fourier_series,
    hermite_e_series,
    hermite_variance_preserving_coeffs,
    oe_converter,
    power_series,
    saturable_absorber,
    soa_gain,
    soa_saturation_power,
    tropical_series,
)

DEGREES = [0, 1, 2, 5, 12, 22, 30]


def _coeffs(n, seed):
    return np.random.default_rng(seed).standard_normal(n + 1)


def _x(lo=-1.0, hi=1.0, m=257):
    return np.linspace(lo, hi, m)


@pytest.mark.parametrize("n", DEGREES)
def test_power_matches_numpy_polyval(n):
    c, x = _coeffs(n, n), _x()
    got = power_series(torch.tensor(x), torch.tensor(c)).numpy()
    np.testing.assert_allclose(got, npp.polyval(x, c), rtol=0, atol=1e-13 * np.abs(c).sum())


@pytest.mark.parametrize("n", DEGREES)
def test_chebyshev_matches_numpy_chebval(n):
    c, x = _coeffs(n, 100 + n), _x()
    got = chebyshev_series(torch.tensor(x), torch.tensor(c)).numpy()
    np.testing.assert_allclose(got, npc.chebval(x, c), rtol=0, atol=1e-13 * np.abs(c).sum())


@pytest.mark.parametrize("n", DEGREES)
def test_hermite_e_matches_numpy_hermeval(n):
    # He_k grows like sqrt(k!) x^k: compare on [-3, 3] relative to the reference's scale
    c, x = _coeffs(n, 200 + n), _x(-3, 3)
    ref = nphe.hermeval(x, c)
    got = hermite_e_series(torch.tensor(x), torch.tensor(c), normalized=False).numpy()
    scale = nphe.hermeval(np.abs(x), np.abs(c)).max() + 1.0
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13 * scale)
    # the He_k / k! basis is numpy's with coefficients c_k / k!
    fact = np.array([math.factorial(k) for k in range(n + 1)], dtype=float)
    got_n = hermite_e_series(torch.tensor(x), torch.tensor(c), normalized=True).numpy()
    ref_n = nphe.hermeval(x, c / fact)
    scale_n = nphe.hermeval(np.abs(x), np.abs(c) / fact).max() + 1.0
    np.testing.assert_allclose(got_n, ref_n, rtol=0, atol=1e-13 * scale_n)


@pytest.mark.parametrize("n", [1, 3, 8, 20])
def test_fourier_matches_direct_sum(n):
    rng = np.random.default_rng(n)
    a, b, w = rng.standard_normal(n + 1), rng.standard_normal(n), 1.7
    x = _x(-4, 4)
    k = np.arange(1, n + 1)
    ref = a[0] + (a[1:] * np.cos(np.outer(w * x, k)) + b * np.sin(np.outer(w * x, k))).sum(1)
    got = fourier_series(torch.tensor(x), torch.tensor(a), torch.tensor(b), w).numpy()
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13 * (np.abs(a).sum() + np.abs(b).sum()))


@pytest.mark.parametrize("n", [1, 4, 9])
def test_tropical_matches_max_plus_definition(n):
    c, x = _coeffs(n, 300 + n), _x(-3, 3)
    ref = np.max(c[None, :] + np.outer(x, np.arange(n + 1)), axis=1)
    got = tropical_series(torch.tensor(x), torch.tensor(c)).numpy()
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-14 * (np.abs(ref).max() + 1))


def test_per_channel_coefficients_broadcast():
    c = torch.tensor(np.random.default_rng(0).standard_normal((3, 5)))
    x = torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(4, 3)
    got = chebyshev_series(x, c)
    for ch in range(3):
        np.testing.assert_allclose(got[:, ch].numpy(), npc.chebval(x[:, ch].numpy(), c[ch].numpy()))


def test_modules_match_numpy_classes_on_their_interval():
    rng = np.random.default_rng(5)
    c = rng.standard_normal(11)
    x = np.linspace(-3, 7, 101)
    xt = torch.tensor(x)
    cheb = ChebyshevActivation(10, c, (-3.0, 7.0), dtype=torch.float64)
    ref = npc.Chebyshev(c, domain=[-3, 7])(x)
    np.testing.assert_allclose(cheb(xt).detach().numpy(), ref, atol=1e-13 * np.abs(c).sum())
    power = PowerActivation(10, c, dtype=torch.float64)
    np.testing.assert_allclose(
        power(xt).detach().numpy(), npp.polyval(x, c), rtol=1e-13, atol=1e-13
    )
    herm = HermiteActivation(10, c, dtype=torch.float64)
    fact = np.array([math.factorial(k) for k in range(11)], dtype=float)
    np.testing.assert_allclose(
        herm(xt).detach().numpy(), nphe.hermeval(x, c / fact), rtol=1e-12, atol=1e-12
    )


def test_default_inits_are_identity_or_relu():
    x = torch.linspace(-2, 3, 41, dtype=torch.float64)
    for m in (
        PowerActivation(4, dtype=torch.float64),
        ChebyshevActivation(4, interval=(-2.0, 3.0), dtype=torch.float64),
        HermiteActivation(4, init="identity", dtype=torch.float64),
    ):
        torch.testing.assert_close(m(x), x, rtol=0, atol=1e-14)
    torch.testing.assert_close(TropicalActivation(5, dtype=torch.float64)(x), torch.relu(x))


@pytest.mark.parametrize("n", [5, 6, 8, 12, 22])
def test_hermite_variance_preserving_init_exact_moment(n):
    """E[F(X)^2] for X ~ N(0,1), by Gauss-HermiteE quadrature (exact for degree 2n)."""
    nodes, weights = nphe.hermegauss(n + 2)
    weights = weights / math.sqrt(2 * math.pi)
    f = hermite_e_series(torch.tensor(nodes), hermite_variance_preserving_coeffs(n)).numpy()
    second = float((weights * f**2).sum())
    # closed form e^{-1} sum_{k<n} 1/k!, within 1/n! of 1
    closed = math.exp(-1) * sum(1 / math.factorial(k) for k in range(n))
    assert second == pytest.approx(closed, rel=1e-12)
    assert abs(second - 1.0) <= max(1.0 / math.factorial(n), 1e-13)  # 1e-13: quadrature round-off


def test_hermite_variance_preserving_init_monte_carlo(gen):
    m = HermiteActivation(8, dtype=torch.float64)
    x = torch.randn(200_000, generator=gen, dtype=torch.float64)
    y2 = m(x).detach() ** 2
    mean, sem = y2.mean().item(), (y2.std() / math.sqrt(x.numel())).item()
    assert abs(mean - 1.0) < 5 * sem + 1e-4, (mean, sem)


def test_fourier_default_init_unit_mean_square():
    m = FourierActivation(6, dtype=torch.float64)
    x = torch.linspace(-math.pi, math.pi, 4097, dtype=torch.float64)[:-1]  # one period
    assert (m(x).detach() ** 2).mean().item() == pytest.approx(1.0, rel=1e-12)


# ---------------------------------------------------------------- fits of known curves


def test_minimax_abs_quadratic_is_x2_plus_one_eighth():
    """Best uniform quadratic approximation of |x| on [-1, 1]: x^2 + 1/8, error 1/8."""
    m = fit_polynomial(torch.abs, 2, (-1, 1), basis="power", method="minimax")
    np.testing.assert_allclose(m.coefficients.detach().double().numpy(), [0.125, 0, 1], atol=1e-6)
    assert m.max_error == pytest.approx(0.125, abs=1e-6)


def test_minimax_exp_linear_classical_values():
    """Linear minimax of e^x on [-1, 1]: slope sinh(1), error 0.27880 (Chebyshev alternation)."""
    m = fit_polynomial(torch.exp, 1, (-1, 1), basis="power", method="minimax", dtype=torch.float64)
    # alternation at -1, x1, 1: slope (e - 1/e)/2, e^x1 = slope, e(1) = -e(x1)
    s = math.sinh(1.0)
    x1 = math.log(s)
    c0 = (math.e - s * x1) / 2
    err = math.e - c0 - s
    np.testing.assert_allclose(m.coefficients.detach().numpy(), [c0, s], atol=1e-6)
    assert m.max_error == pytest.approx(abs(err), abs=1e-6)
    assert abs(err) == pytest.approx(0.27880, abs=1e-5)


@pytest.mark.parametrize("basis", ["chebyshev", "power", "hermite"])
@pytest.mark.parametrize("method", ["lsq", "minimax"])
def test_fit_recovers_a_polynomial_exactly(basis, method):
    c = np.array([2.0, -1.0, 0.5, 3.0])

    def cubic(x):
        return 2.0 - x + 0.5 * x**2 + 3.0 * x**3

    m = fit_polynomial(cubic, 3, (-2, 1.5), basis=basis, method=method, dtype=torch.float64)
    assert m.max_error < 1e-8
    x = torch.linspace(-2, 1.5, 11, dtype=torch.float64)
    torch.testing.assert_close(m(x), torch.tensor(npp.polyval(x.numpy(), c)), rtol=1e-9, atol=1e-9)


def test_chebyshev_fit_of_entire_function_converges_geometrically():
    """cos^2 of an EO modulator over one V_pi: an entire function, error ~ rho^-n."""
    eo = EOModulator(v_pi=3.5)
    errs = [fit_polynomial(eo, n, (0.0, 3.5)).max_error for n in (4, 8, 16)]
    assert errs[0] > 1e-3 and errs[1] < 1e-4 and errs[2] < 1e-12, errs


def _slope_error(m, fn, lo, hi):
    x = torch.linspace(lo, hi, 2001, dtype=torch.float64, requires_grad=True)
    (dp,) = torch.autograd.grad(m.evaluate(x).sum(), x)
    (df,) = torch.autograd.grad(fn(x).sum(), x)
    return (dp - df).abs().max().item()


def test_fit_matching_derivatives():
    """sin on [0, pi], degree 7: errors within a few times the Chebyshev interpolation bound
    (pi/2)^8 / (2^7 8!) = 7.2e-6, and matching the slope lowers the slope error."""
    bound = (math.pi / 2) ** 8 / (2**7 * math.factorial(8))
    m = fit_polynomial(torch.sin, 7, (0.0, math.pi), match_derivative=True, dtype=torch.float64)
    f = fit_polynomial(torch.sin, 7, (0.0, math.pi), dtype=torch.float64)
    assert m.max_error < 4 * bound and f.max_error < 4 * bound
    assert not hasattr(f, "max_derivative_error")
    assert m.max_derivative_error == pytest.approx(_slope_error(m, torch.sin, 0, math.pi), rel=0.05)
    assert m.max_derivative_error < 0.5 * _slope_error(f, torch.sin, 0, math.pi)


def test_fit_from_samples_and_samples_with_slopes():
    x = np.linspace(-1, 1, 50)
    m = fit_polynomial((x, np.tanh(x)), 9, method="minimax", dtype=torch.float64)
    assert m.interval == (-1.0, 1.0)
    assert m.max_error < 1e-5  # Chebyshev bound for tanh, degree 9: ~ 1e-5
    md = fit_polynomial((x, np.tanh(x), 1 - np.tanh(x) ** 2), 9, match_derivative=True)
    assert md.max_derivative_error < 1e-4


def test_relu_lsq_fit_error_scales_with_range():
    """LSQ fits of ReLU on [-B, B]: error proportional to B (ReLU is homogeneous)."""
    e1 = fit_polynomial(torch.relu, 8, (-1, 1)).max_error
    e10 = fit_polynomial(torch.relu, 8, (-10, 10)).max_error
    assert e10 == pytest.approx(10 * e1, rel=1e-6)


# ---------------------------------------------------------------- device curves


def test_eo_modulator_transfer_points():
    v = torch.tensor([0.0, 1.0, 2.0, 4.0], dtype=torch.float64)
    t = eo_modulator(v, v_pi=2.0)
    torch.testing.assert_close(t, torch.tensor([1.0, 0.5, 0.0, 1.0], dtype=torch.float64))
    t = eo_modulator(v, 2.0, v_bias=-1.0, insertion_loss_db=3.0, extinction_ratio_db=20.0)
    tmax, e = 10**-0.3, 0.01
    ref = tmax * ((1 - e) * np.cos(np.pi * (v.numpy() - 1) / 4) ** 2 + e)
    np.testing.assert_allclose(t.numpy(), ref, rtol=1e-14)


def test_saturable_absorber_limits():
    i = torch.tensor([0.0, 1e-9, 1.0, 1e9], dtype=torch.float64)
    out = saturable_absorber(i, 1.0, modulation_depth=0.3, nonsaturable_loss=0.05)
    t = out[1:] / i[1:]
    assert t[0].item() == pytest.approx(0.65, rel=1e-8)  # small signal 1 - a_ns - dT
    assert t[1].item() == pytest.approx(1 - 0.05 - 0.15, rel=1e-14)  # half the depth at I_sat
    assert t[2].item() == pytest.approx(0.95, rel=1e-8)  # bleached


def test_soa_gain_matches_lambert_w():
    """G = G0 exp(-(G-1)P/Psat) has the closed form G = W(p G0 e^p) / p, p = P/Psat."""
    g0_db, psat = 20.0, 10e-3
    p_in = torch.logspace(-7, 0, 30, dtype=torch.float64)
    g = soa_gain(p_in, g0_db, psat).numpy()
    p = p_in.numpy() / psat
    ref = scipy.special.lambertw(p * 100.0 * np.exp(p)).real / p
    np.testing.assert_allclose(g, ref, rtol=1e-12)
    # 3 dB output saturation power of the datasheet: gain halved at P_out = P_sat,out
    psat_out = 5e-3
    psat_model = soa_saturation_power(g0_db, psat_out)
    g_half = 50.0
    p_in_half = torch.tensor([psat_out / g_half], dtype=torch.float64)
    assert soa_gain(p_in_half, g0_db, psat_model).item() == pytest.approx(g_half, rel=1e-12)


def test_oe_converter_against_composition():
    p = torch.linspace(0, 2e-3, 9, dtype=torch.float64)
    r, z, vpi, vb, tap = 0.9, 5e3, 3.0, 0.5, 0.2
    out = oe_converter(p, r, z, vpi, vb, tap)
    ref = (1 - tap) * p * eo_modulator(r * z * tap * p, vpi, vb)
    torch.testing.assert_close(out, ref, rtol=1e-14, atol=0)
