"""Fit a polynomial activation to a measured or modelled device curve.

:func:`fit_polynomial` solves the fit in the Chebyshev basis of the interval
(well conditioned at any degree), by least squares or by discrete minimax
(a linear programme: minimise ``max |p(x_i) - y_i|``), optionally matching
the derivative too, then returns a :class:`PolynomialActivation` in the basis
asked for, valid on that interval, with its measured ``max_error``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.polynomial.chebyshev as npc
import numpy.polynomial.hermite_e as nphe
import numpy.polynomial.polynomial as npp
import torch

from .._checks import finite_float, one_of, positive_int
from ..functional.polynomial import check_interval
from .base import PolynomialActivation, check_degree, real_dtype
from .curves import load_curve
from .families import ChebyshevActivation, HermiteActivation, PowerActivation

BASES = ("chebyshev", "power", "hermite")
METHODS = ("lsq", "minimax")


def _lobatto(m: int, a: float, b: float) -> np.ndarray:
    """``m`` Chebyshev-Lobatto points (extrema of T_{m-1}, both ends included) on [a, b]."""
    t = np.cos(np.pi * np.arange(m) / (m - 1))[::-1]
    return 0.5 * (a + b) + 0.5 * (b - a) * t


def _call(fn, x: np.ndarray, want_derivative: bool):
    """``fn`` on a float64 tensor, returning y (and dy/dx by autograd) as numpy arrays."""
    xt = torch.as_tensor(x, dtype=torch.float64)
    with torch.enable_grad():
        if want_derivative:
            xt = xt.clone().requires_grad_(True)
        try:
            y = fn(xt)
        except (RuntimeError, TypeError):
            # a float32-only callable (e.g. a module built in float32, or with dtype=float32)
            xt32 = xt.detach().to(torch.float32).requires_grad_(want_derivative)
            y = fn(xt32)
            xt = xt32
        if not isinstance(y, torch.Tensor) or y.shape != xt.shape:
            raise ValueError(
                "the curve to fit must map a 1-D tensor of inputs to a tensor of the same shape"
            )
        dy = None
        if want_derivative:
            if not y.requires_grad:
                raise ValueError(
                    "match_derivative=True needs a curve differentiable by autograd, or samples "
                    "(x, y, dydx)"
                )
            (dy,) = torch.autograd.grad(y.sum(), xt)
            dy = dy.detach().to(torch.float64).numpy()
    return y.detach().to(torch.float64).numpy(), dy


def _samples(obj, interval, want_derivative: bool):
    arrays = [np.asarray(v, dtype=np.float64).reshape(-1) for v in obj]
    if len(arrays) not in (2, 3):
        raise ValueError("samples must be a pair (x, y) or a triple (x, y, dydx)")
    if want_derivative and len(arrays) != 3:
        raise ValueError("match_derivative=True with samples needs (x, y, dydx)")
    n = arrays[0].size
    if any(a.size != n for a in arrays):
        raise ValueError(f"sample arrays must have equal lengths, got {[a.size for a in arrays]}")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ValueError("samples must be finite (no NaN or Inf)")
    x = arrays[0]
    if interval is None:
        if n < 2 or x.min() == x.max():
            raise ValueError("samples must span an interval: give at least two distinct x")
        interval = (float(x.min()), float(x.max()))
    a, b = check_interval(interval)
    keep = (x >= a) & (x <= b)
    arrays = [v[keep] for v in arrays]
    return arrays[0], arrays[1], (arrays[2] if want_derivative else None), (a, b)


def _derivative_matrix(t: np.ndarray, degree: int, scale: float) -> np.ndarray:
    if degree == 0:
        return np.zeros((t.size, 1))
    dcoef = npc.chebder(np.eye(degree + 1), axis=0)  # (degree, degree + 1)
    return npc.chebvander(t, degree - 1) @ dcoef * scale


def _solve(A: np.ndarray, rhs: np.ndarray, method: str) -> np.ndarray:
    if method == "lsq":
        return np.linalg.lstsq(A, rhs, rcond=None)[0]
    from scipy.optimize import linprog

    m, k = A.shape
    ones = np.ones((m, 1))
    a_ub = np.block([[A, -ones], [-A, -ones]])
    b_ub = np.concatenate([rhs, -rhs])
    cost = np.zeros(k + 1)
    cost[-1] = 1.0
    bounds = [(None, None)] * k + [(0, None)]
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if res.status != 0:
        raise RuntimeError(f"minimax fit failed ({res.message}); try method='lsq'")
    return res.x[:k]


def _to_module(cheb: np.ndarray, basis: str, interval, **kw) -> PolynomialActivation:
    a, b = interval
    degree = cheb.size - 1
    if basis == "chebyshev":
        return ChebyshevActivation(degree, cheb, interval, dtype=torch.float64, **kw)
    series = npc.Chebyshev(cheb, domain=[a, b])
    if basis == "power":
        coef = series.convert(kind=npp.Polynomial).coef
        coef = np.pad(coef, (0, degree + 1 - coef.size))
        return PowerActivation(degree, coef, interval, dtype=torch.float64, **kw)
    coef = series.convert(kind=nphe.HermiteE).coef
    coef = np.pad(coef, (0, degree + 1 - coef.size))
    scaled = coef * np.array([math.factorial(k) for k in range(degree + 1)], dtype=np.float64)
    return HermiteActivation(degree, scaled, interval, dtype=torch.float64, **kw)


def fit_polynomial(
    fn_or_samples,
    degree: int,
    interval=None,
    basis: str = "chebyshev",
    method: str = "lsq",
    *,
    match_derivative: bool = False,
    derivative_weight: float = 1.0,
    n_samples: int | None = None,
    bound: float | None = None,
    trainable: bool = True,
    dtype: torch.dtype = torch.float32,
    device=None,
) -> PolynomialActivation:
    """Fit a degree-``degree`` polynomial activation to a curve on ``interval``.

    Args:
        fn_or_samples: a callable on tensors (a device module, ``torch.relu``,
            ...), a pair of sample arrays ``(x, y)`` (or ``(x, y, dydx)``), or
            the path of a CSV/HDF5 curve (see :func:`load_curve`).
        degree: polynomial degree (>= 0).
        interval: valid input range ``(low, high)``; required for a callable,
            the samples' span by default. Samples outside it are ignored.
        basis: ``"chebyshev"`` (default), ``"power"`` or ``"hermite"``
            (``He_k/k!``) for the returned module; the fit itself is solved in
            the Chebyshev basis and converted (power conversion is
            ill-conditioned at high degree on wide intervals).
        method: ``"lsq"`` (least squares) or ``"minimax"`` (smallest maximum
            error on the sample points, by linear programming).
        match_derivative: also fit ``dy/dx`` (by autograd for a callable),
            weighted by ``derivative_weight``.
        n_samples: Chebyshev-Lobatto points for a callable (default
            ``max(64 (degree + 1), 2049)``).
        bound, trainable: passed to the returned module.
        dtype: real dtype of the returned coefficients (default ``torch.float32``;
            the fit itself is solved in float64).
        device: where the returned module's coefficients live.

    Returns:
        The activation module, with ``max_error`` (largest ``|p - y|`` on a
        grid four times denser than the fit points for a callable, on the
        samples otherwise) and, when matching derivatives,
        ``max_derivative_error``.
    """
    degree = check_degree(degree)
    real_dtype(dtype)
    one_of(basis, set(BASES), "basis")
    one_of(method, set(METHODS), "method")
    w = finite_float(derivative_weight, "derivative_weight")
    if isinstance(fn_or_samples, (str, Path)):
        fn_or_samples = load_curve(fn_or_samples)
    if callable(fn_or_samples):
        if interval is None:
            raise ValueError("interval=(low, high) is required to fit a callable")
        a, b = check_interval(interval)
        m = positive_int(n_samples, "n_samples") if n_samples else max(64 * (degree + 1), 2049)
        m = 4 * ((m + 2) // 4) + 1  # odd, and holding cos(pi/4): symmetric extrema are nodes
        x = _lobatto(m, a, b)
        y, dy = _call(fn_or_samples, x, match_derivative)
        x_check = np.union1d(x, np.linspace(a, b, 4 * m))
        y_check, dy_check = _call(fn_or_samples, x_check, match_derivative)
    elif isinstance(fn_or_samples, (tuple, list)):
        x, y, dy, (a, b) = _samples(fn_or_samples, interval, match_derivative)
        x_check, y_check, dy_check = x, y, dy
    else:
        raise TypeError(
            "fn_or_samples must be a callable, a pair of arrays (x, y) or a curve file path, "
            f"got {type(fn_or_samples).__name__}"
        )
    if not (np.isfinite(y).all() and (dy is None or np.isfinite(dy).all())):
        raise ValueError(f"the curve is not finite on the interval ({a}, {b})")
    if x.size < degree + 1:
        raise ValueError(
            f"a degree-{degree} fit needs at least {degree + 1} points in ({a}, {b}), got {x.size}"
        )
    t = (2.0 * x - (a + b)) / (b - a)
    A, rhs = npc.chebvander(t, degree), y
    if match_derivative:
        D = _derivative_matrix(t, degree, 2.0 / (b - a))
        A, rhs = np.vstack([A, w * D]), np.concatenate([y, w * dy])
    cheb = _solve(A, rhs, method)
    module = _to_module(cheb, basis, (a, b), bound=bound, trainable=trainable)
    with torch.no_grad():
        xc = torch.as_tensor(x_check, dtype=torch.float64)
        module.max_error = float(np.max(np.abs(module.evaluate(xc).numpy() - y_check)))
    if match_derivative:
        xc = xc.clone().requires_grad_(True)
        with torch.enable_grad():
            (dp,) = torch.autograd.grad(module.evaluate(xc).sum(), xc)
        module.max_derivative_error = float(np.max(np.abs(dp.numpy() - dy_check)))
    return module.to(dtype=dtype, device=device)
