"""The data-encoded cavity (Savinson et al. 2025): scatterer, Neumann series, direct solve.

References and bounds:

* ``S = expm(i Sym(P))`` is symmetric and unitary: from the eigendecomposition in
  float64 both hold to a few ulps times N (bound 1e-12 at N = 40), and it equals
  ``torch.linalg.matrix_exp`` (an independent algorithm) to 1e-12.
* The series and the dense solve are two independent computations of
  ``1/2 (I - rTST)^-1 s``; in complex128 with ``tol = 1e-14`` they agree to
  1e-12 relative (the bound plus the solve's rounding, ``N eps ||A|| ||A^-1||``
  with ``||A^-1|| <= 1/(1-r)``).
* After ``K`` terms the error is at most ``r^K / (2 (1 - r)) ||s||`` (the norm of
  ``r TST`` is at most ``r``); checked for several K and r against the direct
  solve, in complex128 where rounding is far below the bound.
* Gradients: ``gradcheck`` in complex128 for the series (its hand-written adjoint
  backward) and the direct solve, w.r.t. t, S and s, and through ``P`` and the
  phases.
"""

from __future__ import annotations

import pytest
import torch

from photonn.functional.cavity import (
    cavity_direct,
    cavity_matrix,
    cavity_neumann,
    neumann_bound,
    neumann_terms,
    safe_solve,
    symmetric_unitary,
)


def _system(B=3, sys=(2, 2), N=8, seed=0, dtype=torch.complex128):
    g = torch.Generator().manual_seed(seed)
    P = torch.randn(*sys, N, N, dtype=torch.float64, generator=g)
    S = symmetric_unitary(P).to(dtype)
    ph = torch.randn(B, *sys, N, dtype=torch.float64, generator=g)
    t = torch.polar(torch.ones_like(ph), ph).to(dtype)
    s = torch.randn(*sys, N, dtype=dtype, generator=g)
    return P, S, t, s


def test_scatterer_is_symmetric_unitary_and_equals_expm():
    g = torch.Generator().manual_seed(1)
    P = torch.randn(3, 40, 40, dtype=torch.float64, generator=g)
    S = symmetric_unitary(P)
    eye = torch.eye(40, dtype=torch.complex128)
    assert (S - S.mT).abs().max() < 1e-12
    assert (S @ S.mH - eye).abs().max() < 1e-12
    ref = torch.linalg.matrix_exp(1j * (0.5 * (P + P.mT)).to(torch.complex128))
    assert (S - ref).abs().max() < 1e-12
    # float32 input: still computed in float64
    assert symmetric_unitary(P.float()).dtype == torch.complex128


def test_neumann_equals_direct():
    _, S, t, s = _system(N=12)
    en = cavity_neumann(t, S, s, 0.5, tol=1e-14)
    ed = cavity_direct(t, S, s, 0.5)
    assert (en - ed).abs().max() / ed.abs().max() < 1e-12
    # the authors' form (2I - TST)^-1 s at r = 1/2
    A = 2 * torch.eye(12, dtype=S.dtype) - t.unsqueeze(-1) * S * t.unsqueeze(-2)
    authors = torch.linalg.solve(A, s.expand_as(t).unsqueeze(-1)).squeeze(-1)
    assert (en - authors).abs().max() / authors.abs().max() < 1e-12


@pytest.mark.parametrize("r", [0.3, 0.5, 0.9])
@pytest.mark.parametrize("terms", [1, 3, 10])
def test_truncation_bound_holds(r, terms):
    _, S, t, s = _system(N=10, seed=2)
    ed = cavity_direct(t, S, s, r)
    ek = cavity_neumann(t, S, s, r, terms=terms)
    err = (ek - ed).norm(dim=-1) / s.norm(dim=-1)
    bound = neumann_bound(r, terms)
    assert float(err.max()) <= bound * (1 + 1e-9)
    assert float(err.max()) > 1e-3 * bound  # the bound is not vacuous
    assert neumann_bound(r, neumann_terms(r, 1e-7)) <= 1e-7 / 2


def test_complex64_series_against_complex128_direct():
    """complex64, default tolerance: within 1e-5 relative of the complex128 answer."""
    _, S, t, s = _system(B=4, sys=(3, 1), N=50, seed=3)
    ref = cavity_direct(t, S, s, 0.5)
    e64 = cavity_neumann(t.to(torch.complex64), S.to(torch.complex64), s.to(torch.complex64))
    assert ((e64.to(ref.dtype) - ref).abs().max() / ref.abs().max()) < 1e-5


def test_gradcheck_both_solvers():
    _, S, t, s = _system(B=2, sys=(2,), N=5, seed=4)
    args = tuple(v.clone().requires_grad_() for v in (t, S, s))
    assert torch.autograd.gradcheck(lambda a, b, c: cavity_neumann(a, b, c, 0.6, terms=80), args)
    assert torch.autograd.gradcheck(lambda a, b, c: cavity_direct(a, b, c, 0.6), args)


def test_gradcheck_through_parameters():
    P, _, t, s = _system(B=2, sys=(2,), N=5, seed=5)
    x = t.angle().clone().requires_grad_()
    P = P.clone().requires_grad_()

    def scores(P, x):
        tt = torch.polar(torch.ones_like(x), x)
        return cavity_neumann(tt, symmetric_unitary(P), s, 0.5, terms=80).sum(-1).abs() ** 2

    assert torch.autograd.gradcheck(scores, (P, x))


def test_backward_memory_does_not_grow_with_terms():
    """The series saves t, S, x and S(tx) only: autograd keeps nothing per term."""
    _, S, t, s = _system(B=2, sys=(1,), N=6)
    t.requires_grad_(True)
    out = cavity_neumann(t, S, s, 0.5, terms=200)
    saved = out.grad_fn.next_functions
    # the graph is one custom node, not 200 matmul nodes
    nodes, stack = set(), [out.grad_fn]
    while stack:
        n = stack.pop()
        if n is None or n in nodes:
            continue
        nodes.add(n)
        stack += [f for f, _ in n.next_functions]
    assert len(nodes) < 15, len(nodes)
    assert saved is not None


def test_safe_solve_is_correct_on_two_threads():
    """PITFALLS 1: batched MKL solves of size >= ~152 are wrong (or hang) on 2 threads.

    ``safe_solve`` must give the right answer, forward and backward, whatever the
    thread count. Size 196, batch 4: the reproducer of the pitfall.
    """
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        g = torch.Generator().manual_seed(0)
        n = 196
        A = (
            torch.eye(n, dtype=torch.complex64)
            + 0.3 * torch.randn(4, n, n, dtype=torch.complex64, generator=g) / n**0.5
        )
        b = torch.randn(4, n, 1, dtype=torch.complex64, generator=g)
        A.requires_grad_(True)
        x = safe_solve(A, b)
        assert float((A @ x - b).detach().abs().max()) < 1e-4
        x.abs().sum().backward()
        assert torch.isfinite(A.grad).all()
        # the cavity's dense path at the model's size
        _, S, t, s = _system(B=4, sys=(1,), N=196, seed=6, dtype=torch.complex64)
        E = cavity_direct(t, S, s)
        M = cavity_matrix(t, S)
        resid = (M @ (2 * E).unsqueeze(-1)).squeeze(-1) - s
        assert float(resid.abs().max()) < 1e-4
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(old)


@pytest.mark.parametrize(
    "kw, error, match",
    [
        ({"reflectivity": 1.0}, ValueError, r"reflectivity must be in \(0, 1\)"),
        ({"reflectivity": 0.0}, ValueError, r"reflectivity must be a finite number > 0"),
        ({"terms": 0}, ValueError, r"terms must be an int >= 1"),
    ],
)
def test_bad_arguments(kw, error, match):
    _, S, t, s = _system()
    with pytest.raises(error, match=match):
        cavity_neumann(t, S, s, **kw)


def test_bad_shapes():
    _, S, t, s = _system()
    with pytest.raises(ValueError, match="t must end in"):
        cavity_neumann(t[..., :-1], S, s)
    with pytest.raises(ValueError, match="s must have shape"):
        cavity_neumann(t, S, s[0])
    with pytest.raises(TypeError, match="share one complex dtype"):
        cavity_neumann(t.to(torch.complex64), S, s)
    with pytest.raises(TypeError, match="P must be a real"):
        symmetric_unitary(S)


def test_eigenbasis_series_equals_the_dense_scatterer():
    """cavity_neumann_sym applies S = Q e^{i lam} Q^T without forming S: same field."""
    from photonn.functional.cavity import cavity_neumann_sym, sym_eigh

    P, S, t, s = _system(N=12, seed=7)
    ref = cavity_neumann(t, S, s, 0.5, tol=1e-14)
    out = cavity_neumann_sym(t, P, s, 0.5, tol=1e-14)
    assert (out - ref).abs().max() / ref.abs().max() < 1e-12
    cached = cavity_neumann_sym(t, P, s, 0.5, tol=1e-14, eig=sym_eigh(P))
    assert torch.equal(cached, out)
    with pytest.raises(ValueError, match="eig= is for a fixed P"):
        cavity_neumann_sym(t, P.clone().requires_grad_(), s, eig=sym_eigh(P))


def test_gradcheck_eigenbasis_series():
    """The Daleckii-Krein gradient with respect to P, and those w.r.t. the phases and s."""
    from photonn.functional.cavity import cavity_neumann_sym

    P, _, t, s = _system(B=2, sys=(2,), N=5, seed=8)
    x = t.angle().clone().requires_grad_()
    args = (P.clone().requires_grad_(), x, s.clone().requires_grad_())

    def f(P, x, s):
        return cavity_neumann_sym(torch.polar(torch.ones_like(x), x), P, s, 0.6, terms=80)

    assert torch.autograd.gradcheck(f, args)


def test_eigenbasis_gradient_survives_degenerate_eigenvalues():
    """Equal eigenvalues: the divided differences become derivatives (no 0/0)."""
    from photonn.functional.cavity import cavity_neumann_sym

    g = torch.Generator().manual_seed(9)
    Q, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64, generator=g))
    lam = torch.tensor([0.3, 0.3, 0.3, -1.0, 2.0, 2.0], dtype=torch.float64)
    P = (Q * lam) @ Q.T
    P.requires_grad_(True)
    t = torch.polar(
        torch.ones(3, 6, dtype=torch.float64), torch.randn(3, 6, generator=g, dtype=torch.float64)
    )
    s = torch.randn(6, dtype=torch.complex128, generator=g)
    cavity_neumann_sym(t, P, s).abs().pow(2).sum().backward()
    ref = P.detach().clone().requires_grad_(True)
    cavity_neumann(t, symmetric_unitary(ref), s).abs().pow(2).sum().backward()
    assert torch.isfinite(P.grad).all()
    # autograd through eigh is undefined here; compare with a finite difference instead
    d = torch.randn(6, 6, dtype=torch.float64, generator=g)
    d = d + d.T
    h = 1e-6
    fp = cavity_neumann_sym(t, P.detach() + h * d, s).abs().pow(2).sum()
    fm = cavity_neumann_sym(t, P.detach() - h * d, s).abs().pow(2).sum()
    assert float((fp - fm) / (2 * h)) == pytest.approx(float((P.grad * d).sum()), rel=1e-6)
