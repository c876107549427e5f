"""Do an encoding's mixed partial derivatives vanish? The universality condition, by autograd.

Savinson et al. (2025, arXiv:2509.05420) prove that a physical network whose
encoded field ``f(x)`` is a multivariate nonlinearity is universal when no
partial derivative of ``f``, of any order, vanishes identically.
``exp(i sum_k x_k)`` satisfies it: every mixed partial is ``i^k exp(i sum x)``.
``sum_k exp(i x_k)`` (each input in its own mode, the modes never mixed) does
not: every mixed partial over two or more different inputs is exactly zero.
And an *isomorphic* network (the input in the field amplitude, linear optics,
intensity readout) is a polynomial of degree 2 in ``x``: its third derivatives
vanish.

:func:`nondegeneracy` computes ``d^k f / dx_{i1} ... dx_{ik}`` at sample points
for ``k = 1..max_order`` over index tuples ``i1 < ... < ik`` (distinct inputs,
the *mixed* partials; ``distinct=False`` takes multisets ``i1 <= ... <= ik``,
pure powers included), sampling at most ``max_tuples`` tuples per order when
there are more, and reports which orders vanish.

Method: nested forward-mode AD (``torch.func.jvp``), one level per index. The
tuples are stacked along the batch axis (row ``t * B + s`` is tuple ``t`` at
sample ``s``, its ``j``-th tangent the unit vector ``e_{i_j}``), so one nested
call evaluates every tuple of an order at once, for every output component
(forward mode carries the whole output; reverse mode would need one backward
pass per real output component and level). The cost of order ``k`` is about
``2^k`` evaluations of ``f`` on ``tuples * B`` rows. Measured on the shared
2-core CPU (one thread, complex128): a 4-replica phase encoder on 6 inputs times
a common phase ``exp(i sum x)`` (24 output components), 8 samples, every tuple
of orders 1-4 (56 tuples): nested ``jvp`` 0.18 s, nested
``torch.autograd.grad(create_graph=True)`` (one backward per real output
component and level) 0.39 s, equal to rounding. Forward mode is also the
simpler code (no graph to keep, no loop over outputs).

Requirements on ``f``: it maps a real batch ``(B', N)`` to a tensor
``(B', ...)`` (real or complex, any trailing shape), each row depending only on
its own input row (true of every batched model), and all its operations support
forward-mode AD. ``torch.linalg.solve``, FFTs, ``matrix_exp`` and the
elementwise functions do; a custom ``autograd.Function`` without ``jvp`` does
not. E.g. :mod:`photonn.functional.cavity`'s Neumann solver, and its guarded
batched solve on more than one CPU thread, are such Functions: check
``photonn.models.MultivariatePNN`` with ``solver="direct"`` under
``torch.set_num_threads(1)``.

Vanishing: a derivative vanishes when ``|d| <= tol * scale`` at every sample
and output component, ``scale = max |f(x)|`` over the samples (the field
scale). The derivative of order ``k`` carries the units of ``f / x^k``: give
inputs of order-one scale (data normalised to about ``[-1, 1]``), and prefer
float64 samples and a complex128 model, since the default ``tol`` follows the
output's precision (``1e-5`` in single, ``1e-10`` in double precision).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .._checks import positive_int, tensor

__all__ = ["Nondegeneracy", "nondegeneracy"]

# the rows of one nested evaluation (tuples * samples), to bound memory
_MAX_ROWS = 4096
_DEFAULT_TOL = {torch.float32: 1e-5, torch.complex64: 1e-5, torch.float64: 1e-10}
_DEFAULT_TOL[torch.complex128] = 1e-10


@dataclass(frozen=True)
class Nondegeneracy:
    """The result of :func:`nondegeneracy`; one entry per order ``k = 1..max_order``.

    Attributes:
        orders: ``(1, ..., max_order)``.
        max_abs: per order, the largest ``|d^k f|`` over samples, index tuples and
            output components (in the units of ``f / x^k``).
        relative: ``max_abs / scale``.
        weakest: per order, the smallest over the checked tuples of the tuple's
            largest ``|d^k f|`` (over samples and outputs), relative to ``scale``:
            the tuple closest to vanishing.
        tuples_checked: per order, the index tuples evaluated.
        tuples_total: per order, the index tuples that exist (``C(N, k)``
            distinct, ``C(N + k - 1, k)`` multisets).
        degenerate: per order, the checked tuples whose derivative vanishes at
            every sample and output (``|d| <= tol * scale``).
        vanishing: the orders at which *every* checked tuple vanishes.
        scale: ``max |f(x)|`` over the samples.
        tol: the relative tolerance used.
        samples: ``B``, the sample points. inputs: ``N``.
        distinct: tuples of distinct indices (mixed partials) or multisets.
    """

    orders: tuple[int, ...]
    max_abs: tuple[float, ...]
    relative: tuple[float, ...]
    weakest: tuple[float, ...]
    tuples_checked: tuple[int, ...]
    tuples_total: tuple[int, ...]
    degenerate: tuple[tuple[tuple[int, ...], ...], ...]
    vanishing: tuple[int, ...]
    scale: float
    tol: float
    samples: int
    inputs: int
    distinct: bool

    @property
    def passes(self) -> bool:
        """No checked derivative vanishes identically (at every sample and output)."""
        return not any(self.degenerate)

    def __str__(self) -> str:
        kind = "mixed partials (distinct inputs)" if self.distinct else "partials (multisets)"
        lines = [
            f"nondegeneracy: {kind} of f at {self.samples} sample(s), N = {self.inputs} inputs; "
            f"field scale {self.scale:.3g}, vanishing below {self.tol:.1e} x scale"
        ]
        for i, k in enumerate(self.orders):
            n_bad = len(self.degenerate[i])
            if k in self.vanishing:
                verdict = "VANISHES"
            elif n_bad:
                verdict = f"{n_bad} tuple(s) vanish, e.g. {self.degenerate[i][0]}"
            else:
                verdict = "ok"
            lines.append(
                f"  order {k}: {self.tuples_checked[i]}/{self.tuples_total[i]} tuples, "
                f"max |d| {self.max_abs[i]:.3g} (relative {self.relative[i]:.3g}), "
                f"weakest tuple {self.weakest[i]:.3g}: {verdict}"
            )
        if self.passes:
            lines.append(f"  no derivative up to order {self.orders[-1]} vanishes")
        else:
            lines.append(f"  degenerate; orders that vanish entirely: {list(self.vanishing)}")
        return "\n".join(lines)


def _tuples(n: int, k: int, distinct: bool, max_tuples: int, generator) -> tuple[list, int]:
    """Index tuples of order ``k`` (all, or ``max_tuples`` drawn), and how many exist."""
    total = math.comb(n, k) if distinct else math.comb(n + k - 1, k)
    if total <= max_tuples:
        it = itertools.combinations if distinct else itertools.combinations_with_replacement
        return [tuple(t) for t in it(range(n), k)], total
    if distinct:
        idx = torch.rand(max_tuples, n, generator=generator).argsort(-1)[:, :k]
    else:
        idx = torch.randint(n, (max_tuples, k), generator=generator)
    idx = torch.unique(idx.sort(-1).values, dim=0)
    return [tuple(int(v) for v in row) for row in idx.tolist()], total


def _directional(fn: Callable, v: torch.Tensor) -> Callable:
    def g(x):
        return torch.func.jvp(fn, (x,), (v,))[1]

    return g


def _derivative(f: Callable, x: torch.Tensor, tuples: list) -> torch.Tensor:
    """``|d^k f|`` per tuple: the largest over samples and outputs, ``(len(tuples),)``."""
    B, N = x.shape
    idx = torch.tensor(tuples, dtype=torch.long, device=x.device)  # (T, k)
    T, k = idx.shape
    X = x.repeat(T, 1)  # row t * B + s: tuple t at sample s
    eye = torch.eye(N, dtype=x.dtype, device=x.device)
    fn = f
    for j in range(k):
        fn = _directional(fn, eye[idx[:, j]].repeat_interleave(B, dim=0))
    d = fn(X)
    return d.abs().reshape(T, -1).amax(-1)


def nondegeneracy(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    max_order: int = 3,
    tol: float | None = None,
    max_tuples: int = 64,
    distinct: bool = True,
    generator: torch.Generator | None = None,
) -> Nondegeneracy:
    """The mixed partial derivatives of ``f`` up to ``max_order`` at the points ``x``.

    Args:
        f: a callable (an encoder, ``lambda x: model.field(x)``, a model) mapping a
            real batch ``(B', N)`` to a real or complex tensor ``(B', ...)``, row by
            row, forward-differentiable (see the module docstring).
        x: the sample points, real floating ``(B, N)`` or ``(N,)`` (one point);
            use float64 for a tight check.
        max_order: the highest order ``k``; with ``distinct=True`` at most ``N``.
        tol: a derivative vanishes when ``|d| <= tol * max|f(x)|``; default
            ``1e-5`` for single- and ``1e-10`` for double-precision outputs.
        max_tuples: the most index tuples evaluated per order; when more exist,
            that many are drawn at random (with ``generator``; duplicates dropped).
        distinct: ``True`` (default): tuples of distinct indices, the mixed
            partials; ``False``: multisets, repeated indices (pure powers) too.
        generator: draws the tuples when there are too many (``None``: torch's
            global generator).

    Returns:
        A :class:`Nondegeneracy` (``print`` it for a table; ``.vanishing`` lists
        the orders whose derivatives all vanish, ``.passes`` is True when none does).

    Raises:
        TypeError, ValueError: bad ``x``, arguments, or an output without the batch axis.
        RuntimeError: ``f`` does not support forward-mode AD (the message says why).

    Example:
        >>> import torch
        >>> x = torch.rand(4, 3, dtype=torch.float64)
        >>> nondegeneracy(lambda x: torch.exp(1j * x.sum(-1, keepdim=True)), x).passes
        True
        >>> nondegeneracy(lambda x: torch.exp(1j * x).sum(-1), x).vanishing
        (2, 3)
    """
    if not callable(f):
        raise TypeError(f"f must be callable (x (B, N) -> field (B, ...)), got {f!r}")
    tensor(x, "x (the sample points)")
    if not x.is_floating_point():
        raise TypeError(f"x must be real floating point (float64 preferred), got {x.dtype}")
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(
            f"x must have shape (B, N) or (N,) with B, N > 0, got {tuple(x.shape)}; flatten "
            "image inputs and reshape them inside f"
        )
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x holds NaN or Inf values; choose finite sample points")
    B, N = x.shape
    max_order = positive_int(max_order, "max_order")
    max_tuples = positive_int(max_tuples, "max_tuples")
    if not isinstance(distinct, bool):
        raise TypeError(f"distinct must be a bool, got {distinct!r}")
    if distinct and max_order > N:
        raise ValueError(
            f"max_order = {max_order} exceeds the N = {N} inputs: a mixed partial over distinct "
            "inputs has order at most N; lower max_order or pass distinct=False (repeated indices)"
        )
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    x = x.detach()
    with torch.no_grad():
        out = f(x)
    if not isinstance(out, torch.Tensor) or out.ndim == 0 or out.shape[0] != B:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"f must map x (B, N) = {(B, N)} to a tensor (B, ...) with the batch axis first, "
            f"got {shape}"
        )
    if tol is None:
        tol = _DEFAULT_TOL.get(out.dtype, 1e-10)
    elif isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise ValueError(f"tol must be a number >= 0 (relative to max |f(x)|), got {tol!r}")
    scale = float(out.abs().max())
    chunk = max(1, _MAX_ROWS // B)
    fields = {k: [] for k in ("max_abs", "weakest", "checked", "total", "degenerate")}
    vanishing = []
    for k in range(1, max_order + 1):
        tuples, total = _tuples(N, k, distinct, max_tuples, generator)
        per = []
        with torch.no_grad(), warnings.catch_warnings():
            # torch scripts its forward-AD decompositions on first use (torch.jit.script is
            # deprecated in torch 2.13): a notice about torch itself, not about f
            warnings.filterwarnings(
                "ignore", "`torch.jit.script` is deprecated", DeprecationWarning
            )
            for s in range(0, len(tuples), chunk):
                try:
                    per.append(_derivative(f, x, tuples[s : s + chunk]))
                except RuntimeError as exc:
                    raise RuntimeError(
                        "nondegeneracy differentiates f in forward mode (torch.func.jvp), which "
                        f"an operation in f does not support: {exc}. Use forward-differentiable "
                        "operations (for photonn.models.MultivariatePNN: solver='direct' under "
                        "torch.set_num_threads(1))"
                    ) from exc
        per = torch.cat(per).to(torch.float64).cpu()
        bad = per <= tol * scale
        fields["max_abs"].append(float(per.max()))
        fields["weakest"].append(float(per.min()) / scale if scale > 0 else 0.0)
        fields["checked"].append(len(tuples))
        fields["total"].append(total)
        fields["degenerate"].append(tuple(t for t, v in zip(tuples, bad.tolist()) if v))
        if bool(bad.all()):
            vanishing.append(k)
    rel = tuple(m / scale if scale > 0 else 0.0 for m in fields["max_abs"])
    return Nondegeneracy(
        orders=tuple(range(1, max_order + 1)),
        max_abs=tuple(fields["max_abs"]),
        relative=rel,
        weakest=tuple(fields["weakest"]),
        tuples_checked=tuple(fields["checked"]),
        tuples_total=tuple(fields["total"]),
        degenerate=tuple(fields["degenerate"]),
        vanishing=tuple(vanishing),
        scale=scale,
        tol=float(tol),
        samples=B,
        inputs=N,
        distinct=distinct,
    )
