"""IsomorphicPNN (input in the field, a unitary, intensities, linear readout): shapes, the
unitary and power conservation, the exact quadratic form, degree <= 2 (finite differences and
nondegeneracy), every quadratic reachable, errors and gradcheck."""

from __future__ import annotations

import pytest
import torch

from photonn.encoding import nondegeneracy
from photonn.models import IsomorphicPNN

C128, F64 = torch.complex128, torch.float64
TOL = 1e-12  # complex128, a few small GEMMs and one matrix exponential


def _x(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64) * 2 - 1


def _model(seed=0, **kw):
    kw.setdefault("dtype", C128)
    return IsomorphicPNN(3, 2, generator=torch.Generator().manual_seed(seed), **kw)


def _z(x):
    return torch.cat([x, torch.ones_like(x[:, :1])], -1)


def test_smoke_and_shapes():
    m = IsomorphicPNN(3)  # default: one output, complex64, global generator
    y = m(torch.rand(5, 3))
    assert y.shape == (5, 1) and y.dtype == torch.float32
    m = _model(n_modes=6)
    x = _x(4, 3)
    assert m(x).shape == (4, 2) and m.field(x).shape == (4, 6) and m.intensities(x).shape == (4, 6)
    assert m.unitary().shape == (6, 6) and m.input_matrix().shape == (6, 4)
    i = _model(readout="intensity", reference=False)
    assert i.n_modes == 3 and i.weight is None
    torch.testing.assert_close(i(x), i.intensities(x)[:, :2], rtol=0, atol=0)
    assert "readout='intensity'" in repr(i)


def test_unitary_and_power_conservation():
    """``U U^H = I``; the detected power equals the launched power ``sum |w x|^2 + |e0|^2``."""
    m = _model(seed=1, n_modes=5)
    U = m.unitary()
    torch.testing.assert_close(U @ U.mH, torch.eye(5, dtype=C128), rtol=0, atol=TOL)
    x = _x(7, 3, seed=1)
    launched = m.input_field(x).abs().square().sum(-1)
    w = torch.view_as_complex(m.input_weight.detach())
    e0 = torch.view_as_complex(m.reference_amplitude.detach())
    torch.testing.assert_close(
        launched, (w * x).abs().square().sum(-1) + e0.abs() ** 2, rtol=TOL, atol=TOL
    )
    torch.testing.assert_close(m.intensities(x).sum(-1), launched, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("kw", [{}, {"reference": False}, {"readout": "intensity"}])
def test_output_is_the_quadratic_form(kw):
    m = _model(seed=2, **kw)
    x = _x(9, 3, seed=2)
    z = _z(x) if m.reference else x
    Q, c = m.quadratic_form()
    assert Q.shape == (2, z.shape[-1], z.shape[-1])
    torch.testing.assert_close(Q, Q.mT, rtol=0, atol=TOL)
    ref = torch.einsum("bk,okl,bl->bo", z, Q, z) + c
    torch.testing.assert_close(m(x), ref, rtol=TOL, atol=TOL)


def test_degree_at_most_two_along_any_line():
    """``t -> y(x0 + t v)`` is a quadratic: its third finite difference is zero to rounding,
    and without the reference the output is homogeneous, ``y(s x) - c = s^2 (y(x) - c)``."""
    m = _model(seed=3)
    x0, v = _x(1, 3, seed=3), _x(1, 3, seed=4)
    ys = [m(x0 + t * v) for t in (0.0, 1.0, 2.0, 3.0)]
    third = ys[3] - 3 * ys[2] + 3 * ys[1] - ys[0]
    assert float(third.detach().abs().max()) < 1e-13
    h = _model(seed=3, reference=False)
    c = h.bias
    torch.testing.assert_close(h(2.5 * x0) - c, 2.5**2 * (h(x0) - c), rtol=TOL, atol=TOL)


def test_nondegeneracy_third_order_vanishes():
    m = _model(seed=4)
    r = nondegeneracy(m, _x(5, 3, seed=5), max_order=3)
    assert r.vanishing == (3,) and r.degenerate[:2] == ((), ()), str(r)
    assert nondegeneracy(m.field, _x(5, 3), max_order=2).vanishing == (2,)  # the field is linear


def test_every_quadratic_is_reachable():
    """Program ``Q = V diag(lam) V^T`` (any real symmetric form on ``z = [x, 1]``): ``U = V^T``
    (through its skew-Hermitian logarithm), unit input weights, readout ``lam``."""
    g = torch.Generator().manual_seed(6)
    A = torch.randn(4, 4, generator=g, dtype=F64)
    Q = A + A.T
    lam, V = torch.linalg.eigh(Q)
    U = V.T.to(C128)
    ev, W = torch.linalg.eig(U)  # unitary, distinct eigenvalues: W unitary
    K = W @ torch.diag(1j * ev.angle()) @ W.mH  # skew-Hermitian, expm(K) = U
    m = IsomorphicPNN(3, 1, dtype=C128, generator=g)
    with torch.no_grad():
        m.generator_matrix.copy_(torch.view_as_real(K))  # (P - P^H) / 2 = K
        m.input_weight.copy_(torch.tensor([[1.0, 0.0]] * 3, dtype=F64))
        m.reference_amplitude.copy_(torch.tensor([1.0, 0.0], dtype=F64))
        m.weight.copy_(lam[None])
        m.bias.zero_()
    torch.testing.assert_close(m.unitary(), U, rtol=0, atol=1e-10)
    x = _x(6, 3, seed=7)
    z = _z(x)
    torch.testing.assert_close(m(x)[:, 0], ((z @ Q) * z).sum(-1), rtol=1e-10, atol=1e-10)


def test_generator_reproduces_the_model():
    a, b = _model(seed=8).state_dict(), _model(seed=8).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_errors():
    m = _model()
    with pytest.raises(TypeError, match="real floating-point"):
        m(torch.ones(2, 3, dtype=C128))
    with pytest.raises(TypeError, match="real floating-point"):
        m(torch.ones(2, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        m(torch.ones(2, 4, dtype=F64))
    with pytest.raises(ValueError, match="modes >= 4"):
        IsomorphicPNN(3, n_modes=3)
    with pytest.raises(ValueError, match="readout='linear'"):
        IsomorphicPNN(3, 5, readout="intensity")
    with pytest.raises(ValueError, match="readout"):
        IsomorphicPNN(3, readout="softmax")
    with pytest.raises(TypeError, match="reference"):
        IsomorphicPNN(3, reference=1)
    with pytest.raises(TypeError, match="Generator"):
        IsomorphicPNN(3, generator=0)
    with pytest.raises(TypeError, match="complex64 or torch.complex128"):
        IsomorphicPNN(3, dtype=torch.float32)
    with pytest.raises(TypeError, match="choose the precision"):
        m.to(torch.float32)


def test_gradcheck():
    m = _model(seed=9)
    names = [n for n, _ in m.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in m.parameters())
    x = _x(2, 3, seed=9).requires_grad_(True)

    def f(x, *ps):
        return torch.func.functional_call(m, dict(zip(names, ps)), (x,))

    assert torch.autograd.gradcheck(f, (x, *params))


def test_n_modes_and_its_deprecated_name_modes():
    """``IsomorphicPNN(n_modes=)``; ``modes=`` and ``.modes`` still work, with a warning."""
    with pytest.warns(DeprecationWarning, match=r"IsomorphicPNN\(modes=...\) is deprecated"):
        old = _model(modes=5)
    assert old.n_modes == 5 and old.unitary().shape == (5, 5)
    with pytest.warns(DeprecationWarning, match=r"IsomorphicPNN.modes is deprecated"):
        assert old.modes == 5
