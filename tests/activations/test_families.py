"""Polynomial families, device modules, CCP, registry: smoke, shape, exception, gradcheck."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from photonn.activations import (
    CCP,
    ChebyshevActivation,
    EOModulator,
    FourierActivation,
    HermiteActivation,
    Lambda,
    OEConverter,
    PolynomialActivation,
    PolyNorm,
    PolyReLU,
    PowerActivation,
    SaturableAbsorber,
    SOAGain,
    TropicalActivation,
    get_activation,
)
from photonn.functional import soa_gain

F64 = torch.float64
FAMILIES = [
    lambda: PowerActivation(4, dtype=F64),
    lambda: ChebyshevActivation(6, interval=(-2.0, 3.0), dtype=F64),
    lambda: HermiteActivation(6, dtype=F64),
    lambda: FourierActivation(3, dtype=F64),
    lambda: TropicalActivation(3, coefficients=[0.3, -0.2, 0.1, -0.5], dtype=F64),
    lambda: PolyReLU(3, dtype=F64),
    lambda: PolyNorm(3, dtype=F64),
]


@pytest.mark.parametrize("make", FAMILIES)
def test_shared_interface_and_shape(make):
    m = make()
    assert isinstance(m, PolynomialActivation)
    assert isinstance(m.degree, int) and m.degree >= 1
    assert isinstance(m.coefficients, nn.Parameter)
    lo, hi = m.interval
    assert lo < hi and m.bound == max(abs(lo), abs(hi))
    x = torch.randn(2, 3, 5, dtype=F64)
    y = m(x)
    assert y.shape == x.shape and y.dtype == F64
    assert not any(isinstance(v, torch.Tensor) for v in vars(m).values())  # stateless
    assert f"degree={m.degree}" in repr(m)


@pytest.mark.parametrize("make", FAMILIES)
def test_gradcheck_input_and_coefficients(make):
    m = make()
    # keep away from the kinks of ReLU/max, where the function is not differentiable
    x = (torch.rand(7, 4, dtype=F64, generator=torch.Generator().manual_seed(3)) + 0.2) * 1.3
    x = torch.where(torch.arange(28).reshape(7, 4) % 2 == 0, x, -x).requires_grad_(True)
    c = m.coefficients.detach().clone().requires_grad_(True)

    def f(x, c):
        return torch.func.functional_call(m, {"coefficients": c}, (x,))

    assert torch.autograd.gradcheck(f, (x, c), eps=1e-6, atol=1e-7)


def test_polyrelu_polynorm_defaults_of_the_paper():
    """Order (here: degree) 3, weights 1/3, bias 0 (Zhuo et al. 2024)."""
    for cls in (PolyReLU, PolyNorm):
        m = cls()
        assert m.degree == 3 and cls(degree=2).degree == 2
        with pytest.raises(TypeError, match="order"):
            cls(order=3)  # one keyword for the highest power across the families: degree
        torch.testing.assert_close(m.coefficients.detach(), torch.tensor([0, 1 / 3, 1 / 3, 1 / 3]))
    x = torch.randn(4, 8, dtype=F64)
    r = torch.relu(x)
    torch.testing.assert_close(PolyReLU(dtype=F64)(x), (r + r**2 + r**3) / 3)

    def rms(u):
        return u / torch.sqrt((u**2).mean(-1, keepdim=True) + 1e-6)

    torch.testing.assert_close(PolyNorm(dtype=F64)(x), (rms(x) + rms(x**2) + rms(x**3)) / 3)


def test_ccp_is_the_pi_net_recursion_and_a_degree_n_polynomial(gen):
    m = CCP(5, 6, 3, degree=3, generator=gen, dtype=F64)
    z = torch.randn(4, 5, dtype=F64, generator=gen)
    U, C, beta = m.U.detach(), m.C.detach(), m.beta.detach()
    x1 = z @ U[0].T
    x2 = (z @ U[1].T) * x1 + x1
    x3 = (z @ U[2].T) * x2 + x2
    torch.testing.assert_close(m(z), x3 @ C.T + beta)
    # along a line z = s v, the output is a polynomial of degree 3 in s: 4th difference = 0
    v = torch.randn(1, 5, dtype=F64, generator=gen)
    s = torch.arange(5, dtype=F64).reshape(5, 1)
    y = m(s * v).detach()
    d4 = y[4] - 4 * y[3] + 6 * y[2] - 4 * y[1] + y[0]
    d3 = y[3] - 3 * y[2] + 3 * y[1] - y[0]
    assert d4.abs().max() < 1e-12 * y.abs().max() and d3.abs().max() > 1e-6
    with pytest.raises(ValueError, match="expects inputs"):
        m(torch.randn(2, 4, dtype=F64))


def test_ccp_gradcheck(gen):
    m = CCP(3, 4, 2, degree=2, generator=gen, dtype=F64)
    z = torch.randn(2, 3, dtype=F64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(m, (z,))


def test_device_modules_gradcheck():
    cases = [
        (EOModulator(2.0, 0.3), torch.linspace(0.1, 1.9, 6, dtype=F64)),
        (SaturableAbsorber(1.0, 0.3, 0.05), torch.linspace(0.1, 5, 6, dtype=F64)),
        (SOAGain(20.0, 1e-2), torch.logspace(-5, -1, 6, dtype=F64)),
        (OEConverter(0.9, 5e3, 3.0, 0.2, 0.1), torch.linspace(0, 5e-3, 6, dtype=F64)),
    ]
    for m, x in cases:
        lo, hi = m.interval
        assert lo < hi
        assert m(x).shape == x.shape
        assert torch.autograd.gradcheck(m, (x.clone().requires_grad_(True),)), m


def test_soa_implicit_gradient_matches_finite_difference():
    p = torch.tensor([3e-3], dtype=F64, requires_grad=True)
    (g,) = torch.autograd.grad(soa_gain(p, 20.0, 1e-2).sum(), p)
    h = 1e-9
    fd = (soa_gain(p.detach() + h, 20.0, 1e-2) - soa_gain(p.detach() - h, 20.0, 1e-2)) / (2 * h)
    # analytic: dG/dP = -G (G - 1) / (P_sat (1 + G P / P_sat))
    G = soa_gain(p.detach(), 20.0, 1e-2)
    ana = -G * (G - 1) / (1e-2 * (1 + G * p.detach() / 1e-2))
    torch.testing.assert_close(g, ana, rtol=1e-10, atol=0)
    torch.testing.assert_close(g, fd, rtol=1e-5, atol=0)


def test_get_activation_names_classes_modules_and_functions():
    assert isinstance(get_activation("relu"), nn.ReLU)
    h = get_activation("Hermite", degree=5)
    assert isinstance(h, HermiteActivation) and h.degree == 5
    assert isinstance(get_activation(ChebyshevActivation, degree=3), ChebyshevActivation)
    m = PolyNorm()
    assert get_activation(m) is m
    lam = get_activation(torch.tanh)
    assert isinstance(lam, Lambda)
    x = torch.randn(5)
    torch.testing.assert_close(lam(x), torch.tanh(x))
    with pytest.raises(ValueError, match="unknown activation 'swishy'"):
        get_activation("swishy")
    with pytest.raises(TypeError):
        get_activation(3)
    with pytest.raises(TypeError):
        get_activation(m, degree=2)


def test_bad_arguments_raise_early():
    with pytest.raises(ValueError, match="interval"):
        ChebyshevActivation(3, interval=(1.0, -1.0))
    with pytest.raises(ValueError, match="4 entries"):
        PowerActivation(3, coefficients=[1.0, 2.0])
    with pytest.raises(TypeError, match="degree must be an int"):
        HermiteActivation(2.5)
    with pytest.raises(ValueError, match="init"):
        HermiteActivation(4, init="xavier")
    with pytest.raises(ValueError, match="finite"):
        PowerActivation(1, coefficients=[0.0, math.nan])
    with pytest.raises(ValueError, match="v_pi"):
        EOModulator(-1.0)
    with pytest.raises(ValueError, match="modulation_depth"):
        SaturableAbsorber(1.0, 0.8, 0.5)
    with pytest.raises(ValueError, match="tap"):
        OEConverter(1.0, 1e3, 2.0, tap=1.5)
    with pytest.raises(ValueError, match="small_signal_gain_db"):
        SOAGain(-3.0, 1e-3)
    with pytest.raises(TypeError, match="real"):
        ChebyshevActivation(3)(torch.ones(2, dtype=torch.complex64))
