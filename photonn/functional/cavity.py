"""A multiply-scattering cavity whose phases carry the data (Savinson et al. 2025).

Light enters a cavity through a partially reflecting mirror of reflectivity
``r``, passes a phase screen ``T = diag(t)`` (the encoded data, ``|t| <= 1``),
a scatterer ``S`` (unitary), the screen again, and returns. The steady-state
field at the screen is

    E = 1/2 (I - r T S T)^-1 s,

``s`` the injected field. With ``r = 1/2`` this is the authors' ``(2I - TST)^-1 s``.
The field is a nonlinear (multivariate) function of the phases, though the
optics is linear.

Solvers:

* :func:`cavity_neumann`: ``E = 1/2 sum_k (r T S T)^k s``, as batched GEMMs
  (``S`` is shared by the batch, ``T`` is diagonal). Since ``||T S T|| <= 1``,
  the tail after ``K`` terms is at most ``r^K / (1 - r) ||s||``: the number of
  terms follows from the tolerance, with no convergence check (and no host
  synchronisation). The backward pass is implicit: one adjoint solve (the same
  series with ``S^T``) and one outer-product GEMM, nothing saved per term, so
  memory does not grow with the number of terms. It is differentiable once:
  a second derivative raises (use ``solver="direct"`` for higher derivatives).
* :func:`cavity_direct`: the dense matrix ``I - r T S T`` built and solved per
  system (``torch.linalg.solve``), for reference. Batched solves go through
  :func:`~photonn.functional.linalg.safe_solve` (see its docstring for the MKL pitfall it avoids).

:func:`symmetric_unitary` builds ``S = expm(i Sym(P))`` from a real matrix in
float64, by the eigendecomposition of the real symmetric ``Sym(P)``.

Shapes: ``t`` is ``(*batch, *sys, N)``; ``S`` is ``(*sys, N, N)`` and ``s`` is
``(*sys, N)``, shared by the batch dimensions (e.g. ``sys = (classes, replicas)``).
"""

from __future__ import annotations

import math

import torch
from torch.autograd.function import once_differentiable

from .._checks import positive_float
from .linalg import _threads, safe_solve

__all__ = [
    "cavity_direct",
    "cavity_neumann",
    "cavity_neumann_sym",
    "sym_eigh",
    "neumann_terms",
    "neumann_bound",
    "safe_solve",
    "symmetric_unitary",
]


def symmetric_unitary(P: torch.Tensor) -> torch.Tensor:
    """``S = expm(i Sym(P))`` with ``Sym(P) = (P + P^T) / 2``, in complex128.

    ``Sym(P)`` is real symmetric, so ``Sym(P) = Q diag(lam) Q^T`` with ``Q``
    real orthogonal and ``S = Q diag(exp(i lam)) Q^T``, exactly symmetric and
    unitary up to float64 rounding. Differentiable (through ``eigh``; the
    eigenvalues of a random ``P`` are distinct).

    Args:
        P: real tensor ``(..., N, N)`` (any float dtype; computed in float64).

    Returns:
        complex128 tensor ``(..., N, N)``.
    """
    if not isinstance(P, torch.Tensor) or P.is_complex() or not P.is_floating_point():
        raise TypeError("P must be a real floating-point tensor (..., N, N)")
    if P.ndim < 2 or P.shape[-1] != P.shape[-2]:
        raise ValueError(f"P must be square in its last two axes, got {tuple(P.shape)}")
    p = P.to(torch.float64)
    lam, Q = torch.linalg.eigh(0.5 * (p + p.mT))
    Qc = Q.to(torch.complex128)
    return (Qc * torch.polar(torch.ones_like(lam), lam).unsqueeze(-2)) @ Qc.mT


def neumann_terms(reflectivity: float, tol: float) -> int:
    """Terms ``K`` of the Neumann series for a tail ``r^K / (1 - r)`` of at most ``tol``."""
    r = _reflectivity(reflectivity)
    tol = positive_float(tol, "tol")
    return max(1, math.ceil(math.log(tol * (1.0 - r)) / math.log(r)))


def neumann_bound(reflectivity: float, terms: int) -> float:
    """Bound on ``||E_exact - E_K|| / ||s||`` after ``terms`` terms: ``r^K / (2 (1 - r))``.

    (The factor 1/2 is the cavity's input coupling in ``E = 1/2 (I - rTST)^-1 s``.)
    """
    r = _reflectivity(reflectivity)
    return r**terms / (2.0 * (1.0 - r))


def _terms(r: float, dtype: torch.dtype, tol: float | None, terms: int | None) -> int:
    """The number of series terms: given, or from ``tol`` (default 1e-6 for complex64,
    1e-14 for complex128)."""
    if terms is None:
        if tol is None:
            tol = 1e-6 if dtype == torch.complex64 else 1e-14
        return neumann_terms(r, tol)
    if isinstance(terms, bool) or not isinstance(terms, int) or terms < 1:
        raise ValueError(f"terms must be an int >= 1, got {terms!r}")
    return terms


def _reflectivity(r) -> float:
    r = positive_float(r, "reflectivity")
    if not r < 1.0:
        raise ValueError(f"reflectivity must be in (0, 1), got {r}")
    return r


# -- internal layout: (*sys, N, B), one GEMM per system over the batch columns ------------
def _to_cols(v: torch.Tensor, nsys: int) -> torch.Tensor:
    """``(*batch, *sys, N)`` -> ``(*sys, N, B)`` with ``B = prod(batch)``."""
    nb = v.ndim - nsys - 1
    batch = math.prod(v.shape[:nb])
    v = v.reshape(batch, *v.shape[nb:])
    # contiguous: every term multiplies and feeds GEMMs with it (a strided view costs a
    # copy per use)
    return v.movedim(0, -1).contiguous()


def _from_cols(v: torch.Tensor, batch_shape) -> torch.Tensor:
    return v.movedim(-1, 0).reshape(*batch_shape, *v.shape[:-1])


def _series(t, S, src, r: float, terms: int):
    """``x = sum_{k < terms} (r t S t)^k src`` and ``u = S (t x)`` (to the series' accuracy).

    All in column layout: ``t, src`` ``(*sys, N, B)`` (``src`` may have ``B = 1``),
    ``S`` ``(*sys, N, N)``.
    """
    y = src.expand_as(t) if src.shape[-1] != t.shape[-1] else src
    x = y.clone()
    u = None
    for _ in range(terms - 1):
        w = S @ (t * y)
        u = w if u is None else u + w
        y = (r * t) * w
        x = x + y
    w = S @ (t * y)  # the last term's image: u then equals S (t x) to rounding
    u = w if u is None else u + w
    return x, u


class _Neumann(torch.autograd.Function):
    """``x = (I - r T S T)^-1 s`` by the series; the backward is the adjoint series.

    With ``A = I - r D S D`` (``D = diag(t)``) and the incoming gradient ``g``
    (PyTorch's conjugate-Wirtinger convention):

    * ``g_s = A^-H g = conj((A^T)^-1 conj(g))``: the same series with ``S^T``;
    * ``g_S = r (conj(t) g_s) (t x)^H``, summed over the batch (one GEMM);
    * ``g_t = r [g_s conj(S (t x)) + conj(x) conj(S^T (t conj(g_s)))]``; both
      images come out of the two series for free.
    """

    @staticmethod
    def forward(ctx, t, S, src, r, terms):
        x, u = _series(t, S, src, r, terms)
        ctx.save_for_backward(t, S, x, u)
        ctx.r, ctx.terms = r, terms
        ctx.src_cols = src.shape[-1]
        return x

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        t, S, x, u = ctx.saved_tensors
        r, terms = ctx.r, ctx.terms
        St = S.mT
        z, v = _series(t, St, g.conj(), r, terms)  # z = (A^T)^-1 conj(g), v = S^T (t z)
        gs = z.conj()
        g_t = g_S = g_src = None
        if ctx.needs_input_grad[0]:
            g_t = r * (gs * u.conj() + (x * v).conj())
        if ctx.needs_input_grad[1]:
            g_S = r * ((t.conj() * gs) @ (t * x).mH)
        if ctx.needs_input_grad[2]:
            g_src = gs.sum(-1, keepdim=True) if ctx.src_cols == 1 else gs
        return g_t, g_S, g_src, None, None


# -- the same series with S = expm(i Sym(P)) applied in its eigenbasis ----------------------
def _real_gemm(Q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``Q @ v`` for a real ``Q (*sys, N, N)`` and a complex ``v (*sys, N, B)``: one real GEMM
    on the interleaved real view (``(*sys, N, 2B)``), a quarter of a complex GEMM's work."""
    vr = torch.view_as_real(v.contiguous()).flatten(-2)
    return torch.view_as_complex((Q @ vr).unflatten(-1, (-1, 2)))


def _eig_apply(Q, Qt, e, v):
    """``S v`` with ``S = Q diag(e) Q^T``: two real GEMMs and a diagonal."""
    return _real_gemm(Q, e * _real_gemm(Qt, v))


def _series_eig(t, Q, Qt, e, src, r: float, terms: int):
    """:func:`_series` with ``S = Q diag(e) Q^T`` (symmetric, so ``S^T = S``).

    The recurrence runs on ``a_k = t y_k``: ``w_k = S a_k``, ``a_{k+1} = r t^2 w_k``,
    so a term costs the two GEMMs, one diagonal, one product and one sum. Then
    ``x = y_0 + r t sum_{k < K-1} w_k`` and ``u = S (t x) = sum_{k < K} w_k``.
    """
    y0 = src.expand_as(t) if src.shape[-1] != t.shape[-1] else src
    rt2 = (r * t) * t
    a = t * y0
    acc = None  # sum of w_0 .. w_{K-2}
    w = _eig_apply(Q, Qt, e, a)
    for _ in range(terms - 1):
        acc = w if acc is None else acc + w
        a = rt2 * w
        w = _eig_apply(Q, Qt, e, a)
    if acc is None:
        return y0.clone(), w
    return y0 + (r * t) * acc, acc + w


def _daleckii_krein(lam: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """``Re(F ∘ conj(H))`` with the divided differences of ``f(lam) = e^{i lam}``.

    ``F_ij = (e^{i lam_i} - e^{i lam_j}) / (lam_i - lam_j)`` (``i e^{i lam_i}`` on the
    diagonal) is ``i m_ij sinc((lam_i - lam_j) / 2)`` with ``m_ij = h_i h_j``,
    ``h = e^{i lam / 2}``: no division, exact for equal or close eigenvalues. Then
    ``Re(i m conj(H)) = Re(m) Im(H) - Im(m) Re(H)``, with ``Re(m)`` and ``Im(m)`` from
    outer products of ``cos(lam/2)`` and ``sin(lam/2)``: real arithmetic only.
    """
    c, s = torch.cos(0.5 * lam), torch.sin(0.5 * lam)
    c_i, c_j, s_i, s_j = c.unsqueeze(-1), c.unsqueeze(-2), s.unsqueeze(-1), s.unsqueeze(-2)
    m_re = c_i * c_j - s_i * s_j
    m_im = s_i * c_j + c_i * s_j
    sinc = torch.sinc((lam.unsqueeze(-1) - lam.unsqueeze(-2)) / (2 * math.pi))
    return (m_re * H.imag - m_im * H.real) * sinc


class _NeumannSym(torch.autograd.Function):
    """The series with ``S = expm(i Sym(P))`` built from ``eigh(Sym(P))`` in float64.

    ``S = Q diag(e^{i lam}) Q^T`` is never formed: each term applies it as two real
    GEMMs. The backward needs no derivative of ``eigh`` by autograd: the gradient
    with respect to ``S`` is the low-rank ``G = r U V^H`` (``U = conj(t) g_s``,
    ``V = t x``, summed over the batch), and by the Daleckii-Krein formula the
    gradient with respect to ``A = Sym(P)`` is ``Q Re(F ∘ conj(Q^T G Q)) Q^T``
    with the divided differences ``F`` of ``e^{i lam}``; ``Q^T G Q = r (Q^T U)(Q^T V)^H``
    costs two thin GEMMs, so the backward adds two ``N^3`` real GEMMs to the
    adjoint series. It runs in the precision of ``t`` (the forward's ``eigh`` is
    float64).
    """

    @staticmethod
    def forward(ctx, t, P, src, r, terms, eig):
        real = torch.float32 if t.dtype == torch.complex64 else torch.float64
        lam64, Q64 = sym_eigh(P) if eig is None else eig
        Q = Q64.to(real)
        Qt = Q.mT.contiguous()
        e = torch.polar(torch.ones_like(lam64), lam64).to(t.dtype).unsqueeze(-1)
        x, u = _series_eig(t, Q, Qt, e, src, r, terms)
        ctx.save_for_backward(t, Q, Qt, e, lam64.to(real), x, u)
        ctx.r, ctx.terms, ctx.src_cols = r, terms, src.shape[-1]
        ctx.p_dtype = P.dtype
        return x

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        t, Q, Qt, e, lam, x, u = ctx.saved_tensors
        r, terms = ctx.r, ctx.terms
        z, v = _series_eig(t, Q, Qt, e, g.contiguous().conj(), r, terms)
        gs = z.conj()
        g_t = g_P = g_src = None
        if ctx.needs_input_grad[0]:
            g_t = r * (gs * u.conj() + (x * v).conj())
        if ctx.needs_input_grad[1]:
            qu = _real_gemm(Qt, t.conj() * gs)  # Q^T U, (*sys, N, B)
            qv = _real_gemm(Qt, t * x)  # Q^T V
            H = r * (qu @ qv.mH)  # Q^T G_S Q, (*sys, N, N)
            GK = _daleckii_krein(lam, H)
            GA = Q @ GK @ Qt
            g_P = (0.5 * (GA + GA.mT)).to(ctx.p_dtype)
        if ctx.needs_input_grad[2]:
            g_src = gs.sum(-1, keepdim=True) if ctx.src_cols == 1 else gs
        return g_t, g_P, g_src, None, None, None


def sym_eigh(P: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(lam, Q)`` of ``Sym(P) = (P + P^T)/2`` in float64: ``expm(i Sym(P)) = Q e^{i lam} Q^T``.

    On CPU the decomposition runs on one thread: LAPACK's tridiagonal steps gain
    little from a second thread at N ~ 200, and lose much when the cores are shared
    (measured: 62 ms on one thread, 123 ms on two on a loaded 2-core machine).
    """
    p = P.detach().to(torch.float64)
    a = 0.5 * (p + p.mT)
    if a.device.type != "cpu":
        return torch.linalg.eigh(a)
    with _threads(1):
        return torch.linalg.eigh(a)


def cavity_neumann_sym(
    t: torch.Tensor,
    P: torch.Tensor,
    source: torch.Tensor,
    reflectivity: float = 0.5,
    *,
    tol: float | None = None,
    terms: int | None = None,
    eig: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """:func:`cavity_neumann` with the scatterer given as ``P``: ``S = expm(i Sym(P))``.

    ``S`` is built from the eigendecomposition of ``Sym(P)`` in float64 inside the
    solve and applied in its eigenbasis (see :class:`_NeumannSym`); the gradient
    with respect to ``P`` comes from the Daleckii-Krein formula, not from
    differentiating ``eigh``. Same result as
    ``cavity_neumann(t, symmetric_unitary(P).to(t.dtype), source, ...)``, faster.

    Args:
        t: ``(*batch, *sys, N)`` complex, ``|t| <= 1``.
        P: ``(*sys, N, N)`` real.
        source: ``(*sys, N)`` complex, the dtype of ``t``.
        reflectivity, tol, terms: as :func:`cavity_neumann`.
        eig: ``sym_eigh(P)`` computed once, for a fixed ``P`` (then ``P`` gets no
            gradient); ``None`` decomposes ``Sym(P)`` in every call.
    """
    if not isinstance(P, torch.Tensor) or P.is_complex() or not P.is_floating_point():
        raise TypeError("P must be a real floating-point tensor (*sys, N, N)")
    if P.ndim < 2 or P.shape[-1] != P.shape[-2]:
        raise ValueError(f"P must be square in its last two axes, got {tuple(P.shape)}")
    probe = torch.empty(0, dtype=t.dtype if t.is_complex() else torch.complex64)
    nsys = _check(t, probe.new_empty(P.shape), source)
    r = _reflectivity(reflectivity)
    terms = _terms(r, t.dtype, tol, terms)
    batch_shape = t.shape[: t.ndim - nsys - 1]
    if eig is not None and P.requires_grad:
        raise ValueError("eig= is for a fixed P: P must not require grad when it is given")
    x = _NeumannSym.apply(_to_cols(t, nsys), P, source.unsqueeze(-1), r, terms, eig)
    return 0.5 * _from_cols(x, batch_shape)


def _check(t, S, src):
    for name, v in (("t", t), ("S", S), ("s", src)):
        if not isinstance(v, torch.Tensor) or not v.is_complex():
            raise TypeError(f"{name} must be a complex tensor")
    if S.ndim < 2 or S.shape[-1] != S.shape[-2]:
        raise ValueError(f"S must be (..., N, N), got {tuple(S.shape)}")
    n = S.shape[-1]
    nsys = S.ndim - 2
    if src.shape != S.shape[:-1]:
        raise ValueError(
            f"s must have shape {tuple(S.shape[:-1])} (S without its last axis), "
            f"got {tuple(src.shape)}"
        )
    if t.ndim < nsys + 1 or t.shape[-nsys - 1 :] != S.shape[:-1]:
        raise ValueError(
            f"t must end in {tuple(S.shape[:-1])} (the systems and N = {n}), got {tuple(t.shape)}"
        )
    if not (t.dtype == S.dtype == src.dtype):
        raise TypeError(
            f"t, S and s must share one complex dtype, got {t.dtype}, {S.dtype}, {src.dtype}"
        )
    return nsys


def cavity_neumann(
    t: torch.Tensor,
    S: torch.Tensor,
    source: torch.Tensor,
    reflectivity: float = 0.5,
    *,
    tol: float | None = None,
    terms: int | None = None,
) -> torch.Tensor:
    """The cavity field ``E = 1/2 (I - r T S T)^-1 s`` by its Neumann series.

    Args:
        t: phase-screen transmissions ``(*batch, *sys, N)``, ``|t| <= 1``
            (e.g. ``exp(i (a x + b))``).
        S: scatterers ``(*sys, N, N)``, ``||S|| <= 1`` (unitary for a lossless cavity).
        source: injected fields ``(*sys, N)``.
        reflectivity: ``r`` in ``(0, 1)``.
        tol: bound on ``||E - E_K|| / ||s||`` (:func:`neumann_bound`); default
            ``1e-6`` for complex64 (22 terms at ``r = 1/2``: the scores of the
            cavity model then differ from a dense complex128 solve by ~1e-6, see
            ``benchmarks/results/multivariate.md``) and ``1e-14`` for complex128.
        terms: the number of terms instead of ``tol``.

    Returns:
        ``E`` of shape ``(*batch, *sys, N)``.
    """
    nsys = _check(t, S, source)
    r = _reflectivity(reflectivity)
    terms = _terms(r, t.dtype, tol, terms)
    batch_shape = t.shape[: t.ndim - nsys - 1]
    tc = _to_cols(t, nsys)
    src = source.unsqueeze(-1)
    x = _Neumann.apply(tc, S, src, r, terms)
    return 0.5 * _from_cols(x, batch_shape)


# -- the direct reference ---------------------------------------------------------------
def cavity_matrix(t: torch.Tensor, S: torch.Tensor, reflectivity: float = 0.5) -> torch.Tensor:
    """``I - r T S T`` of shape ``(*batch, *sys, N, N)`` (dense; for reference and tests)."""
    r = _reflectivity(reflectivity)
    n = S.shape[-1]
    eye = torch.eye(n, dtype=S.dtype, device=S.device)
    return eye - r * (t.unsqueeze(-1) * S * t.unsqueeze(-2))


def cavity_direct(
    t: torch.Tensor, S: torch.Tensor, source: torch.Tensor, reflectivity: float = 0.5
) -> torch.Tensor:
    """The cavity field ``E = 1/2 (I - r T S T)^-1 s`` by a dense solve per system (reference).

    Same arguments and shapes as :func:`cavity_neumann`.
    """
    _check(t, S, source)
    A = cavity_matrix(t, S, reflectivity)
    b = source.expand(A.shape[:-1]).unsqueeze(-1)
    return 0.5 * safe_solve(A, b).squeeze(-1)
