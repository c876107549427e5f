"""nondegeneracy: mixed partial derivatives by nested forward-mode autograd, against closed
forms (``exp(i c.x)``, ``sum_k exp(i x_k)``, polynomials), on the encoders and the cavity
model (the isomorphic model: tests/models/test_isomorphic.py), tuple sampling, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.encoding import AmplitudeEncoder, Nondegeneracy, PhaseEncoder, nondegeneracy
from photonn.encoding.nondegeneracy import _tuples

C128, F64 = torch.complex128, torch.float64


def _x(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64) * 2 - 1


def exp_of_sum(x):
    """``exp(i sum_k x_k)``: every mixed partial is ``i^k exp(i sum x)``, modulus 1."""
    return torch.exp(1j * x.sum(-1, keepdim=True))


def sum_of_exp(x):
    """``sum_k exp(i x_k)``: every mixed partial over two or more inputs is 0."""
    return torch.exp(1j * x).sum(-1, keepdim=True)


def test_exp_of_sum_passes_orders_1_to_4():
    r = nondegeneracy(exp_of_sum, _x(5, 4), max_order=4)
    assert isinstance(r, Nondegeneracy)
    assert r.passes and r.vanishing == () and r.orders == (1, 2, 3, 4)
    assert r.tuples_checked == r.tuples_total == (4, 6, 4, 1)
    # |i^k exp(i sum x)| = 1 = the field scale, to rounding
    for rel, weak in zip(r.relative, r.weakest):
        assert rel == pytest.approx(1.0, abs=1e-14) and weak == pytest.approx(1.0, abs=1e-14)
    assert r.scale == pytest.approx(1.0, abs=1e-15)


def test_sum_of_exp_is_flagged_from_order_2():
    r = nondegeneracy(sum_of_exp, _x(5, 4), max_order=4)
    assert not r.passes and r.vanishing == (2, 3, 4)
    assert r.degenerate[0] == () and len(r.degenerate[1]) == 6
    assert r.max_abs[1:] == (0.0, 0.0, 0.0)  # exactly: the modes never meet
    text = str(r)
    assert "order 2" in text and "VANISHES" in text and "[2, 3, 4]" in text


def test_values_against_the_closed_form():
    """``f = exp(i c.x)``: ``|d f / dx_i1 ... dx_ik| = prod_j c_ij``; the largest over tuples
    is the product of the k largest ``c``, the weakest that of the k smallest."""
    c = torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=F64)
    r = nondegeneracy(lambda x: torch.exp(1j * (x @ c))[:, None], _x(3, 4), max_order=4)
    srt = sorted(c.tolist())
    for k in range(1, 5):
        assert r.max_abs[k - 1] == pytest.approx(math.prod(srt[-k:]), rel=1e-13)
        assert r.weakest[k - 1] == pytest.approx(math.prod(srt[:k]), rel=1e-13)


def test_a_polynomial_of_degree_2_vanishes_from_order_3():
    """Real output, any trailing shape: ``(x0 + 2 x1 x2, x3^2 - x0 x3)``."""

    def f(x):
        return torch.stack([x[:, 0] + 2 * x[:, 1] * x[:, 2], x[:, 3] ** 2 - x[:, 0] * x[:, 3]], -1)

    r = nondegeneracy(f, _x(6, 4), max_order=3)
    assert r.vanishing == (3,) and r.degenerate[0] == ()
    # mixed order 2: only (1, 2) and (0, 3) are non-zero
    assert set(r.degenerate[1]) == {(0, 1), (0, 2), (1, 3), (2, 3)}
    assert r.max_abs[1] == pytest.approx(2.0, rel=1e-14)


def test_repeated_indices_see_the_pure_powers():
    """With ``distinct=False`` the pure partials of ``sum exp(i x_k)`` do not vanish, the mixed
    ones do: no order vanishes entirely, yet the function is degenerate."""
    r = nondegeneracy(sum_of_exp, _x(4, 3), max_order=3, distinct=False)
    assert r.vanishing == () and not r.passes
    assert r.tuples_total == (3, 6, 10)
    assert (0, 0) not in r.degenerate[1] and (0, 1) in r.degenerate[1]
    assert (1, 1, 1) not in r.degenerate[2] and (0, 0, 1) in r.degenerate[2]


def test_the_phase_encoder_alone_is_degenerate():
    """Each mode depends on one input, whatever the replicas: it is ``sum_k exp(i x_k)``-like;
    the mixing is the optics' job (the cavity below)."""
    enc = PhaseEncoder(3, (4,), dtype=C128, generator=torch.Generator().manual_seed(1))
    assert nondegeneracy(enc, _x(4, 3)).vanishing == (2, 3)
    amp = AmplitudeEncoder(3, (2,), dtype=F64, generator=torch.Generator().manual_seed(2))
    assert nondegeneracy(amp, _x(4, 3)).vanishing == (2, 3)
    # a single point (N,) is a batch of one
    assert nondegeneracy(enc, _x(3)).samples == 1


def test_multivariate_pnn_field_passes():
    """The cavity field of a tiny ``MultivariatePNN`` (direct solver: forward-differentiable on
    one thread, which conftest sets) has no vanishing mixed partial up to order 4."""
    mv = pytest.importorskip(
        "photonn.models.multivariate", reason="photonn/models/multivariate.py is not in this tree"
    )
    model = mv.MultivariatePNN(
        4, 2, 1, solver="direct", generator=torch.Generator().manual_seed(3), dtype=C128
    )
    r = nondegeneracy(lambda x: model.field(x), _x(3, 4), max_order=4)
    assert r.passes, str(r)
    # the authors' a ~ N(0, 0.1^2) makes order k scale like 0.1^k (weakest order 4: 3e-8);
    # with slopes of unit scale every order is far from the threshold
    with torch.no_grad():
        model.a.normal_(generator=torch.Generator().manual_seed(4))
    r = nondegeneracy(lambda x: model.field(x), _x(3, 4), max_order=4)
    assert r.passes and min(r.weakest) > 1e4 * r.tol, str(r)
    model.solver = "neumann"  # a custom autograd.Function without a forward-mode rule
    with pytest.raises(RuntimeError, match="solver='direct'"):
        nondegeneracy(lambda x: model.field(x), _x(3, 4), max_order=1)


def test_tuple_sampling_is_bounded_and_reproducible():
    x = _x(2, 10)
    r = nondegeneracy(exp_of_sum, x, max_order=3, max_tuples=16, generator=torch.Generator())
    assert r.tuples_total == (10, 45, 120)
    assert r.tuples_checked[0] == 10 and r.tuples_checked[1] <= 16 and r.tuples_checked[2] <= 16
    again = lambda: nondegeneracy(  # noqa: E731
        sum_of_exp, x, max_order=3, max_tuples=8, generator=torch.Generator().manual_seed(5)
    )
    assert again() == again()
    tuples, total = _tuples(10, 3, True, 16, torch.Generator().manual_seed(6))
    assert total == 120 and 10 <= len(tuples) <= 16 and len(set(tuples)) == len(tuples)
    assert all(len(set(t)) == 3 and list(t) == sorted(t) for t in tuples)
    multi, total = _tuples(10, 3, False, 16, torch.Generator().manual_seed(6))
    assert total == math.comb(12, 3) and all(list(t) == sorted(t) for t in multi)


def test_tolerance_decides_what_vanishes():
    """``f = exp(i 1e-3 sum x)``: order-3 partials are 1e-9 of the field, below a tolerance
    of 1e-8, above the default 1e-10."""

    def f(x):
        return torch.exp(1e-3j * x.sum(-1, keepdim=True))

    assert nondegeneracy(f, _x(3, 3)).passes  # default 1e-10 in double precision
    assert nondegeneracy(f, _x(3, 3), tol=1e-8).vanishing == (3,)
    single = nondegeneracy(lambda x: sum_of_exp(x).to(torch.complex64), _x(3, 3))
    assert single.tol == 1e-5


def test_bad_input():
    with pytest.raises(TypeError, match="callable"):
        nondegeneracy(3, _x(2, 3))
    with pytest.raises(TypeError, match="torch.Tensor"):
        nondegeneracy(exp_of_sum, [[0.0, 1.0]])
    with pytest.raises(TypeError, match="real floating point"):
        nondegeneracy(exp_of_sum, torch.ones(2, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"\(B, N\)"):
        nondegeneracy(exp_of_sum, torch.ones(2, 3, 4, dtype=F64))
    with pytest.raises(ValueError, match="NaN"):
        nondegeneracy(exp_of_sum, torch.full((2, 3), float("nan"), dtype=F64))
    with pytest.raises(ValueError, match="distinct=False"):
        nondegeneracy(exp_of_sum, _x(2, 3), max_order=4)
    with pytest.raises(ValueError, match="batch axis first"):
        nondegeneracy(lambda x: x.sum(), _x(2, 3))
    with pytest.raises(ValueError, match="tol"):
        nondegeneracy(exp_of_sum, _x(2, 3), tol=-1.0)
    with pytest.raises(ValueError, match="max_tuples"):
        nondegeneracy(exp_of_sum, _x(2, 3), max_tuples=0)
    with pytest.raises(TypeError, match="Generator"):
        nondegeneracy(exp_of_sum, _x(2, 3), generator=1)
