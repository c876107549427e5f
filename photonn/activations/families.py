"""Learnable polynomial activation families: power, Chebyshev, Hermite, Fourier, tropical.

All share the :class:`PolynomialActivation` interface (``degree``,
``coefficients``, ``interval``, ``bound``) and the keywords ``dtype`` (real,
default ``torch.float32``) and ``device`` of the coefficients, and evaluate by Horner or Clenshaw
recurrences (:mod:`photonn.functional.polynomial`). Coefficients are ordered
low to high. Without explicit ``coefficients`` each family starts as the
identity on its interval (tropical: ReLU; Hermite: the variance-preserving
initialisation of Khalfaoui-Hassani & Kesselheim 2025).
"""

from __future__ import annotations

import math

import torch

from .._checks import one_of, positive_float
from ..functional.polynomial import (
    chebyshev_series,
    check_interval,
    fourier_series,
    hermite_e_series,
    hermite_variance_preserving_coeffs,
    power_series,
    to_unit_interval,
    tropical_series,
)
from .base import PolynomialActivation, as_coefficients, check_degree, real_dtype


class PowerActivation(PolynomialActivation):
    """``f(x) = sum_k c_k x^k`` (Horner). Default: the identity ``c = (0, 1, 0, ...)``.

    The monomial basis is ill-conditioned at high degree on wide intervals;
    prefer :class:`ChebyshevActivation` there.
    """

    def __init__(
        self,
        degree: int = 3,
        coefficients=None,
        interval=(-1.0, 1.0),
        *,
        dtype=torch.float32,
        device=None,
        **kw,
    ):
        degree = check_degree(degree, 1 if coefficients is None else 0)
        dtype = real_dtype(dtype)
        if coefficients is None:
            c = torch.zeros(degree + 1, dtype=dtype)
            c[1] = 1.0
        else:
            c = as_coefficients(coefficients, degree + 1, dtype)
        super().__init__(degree, c.to(device), interval, **kw)

    def evaluate(self, x):
        return power_series(x, self.coefficients)


class ChebyshevActivation(PolynomialActivation):
    """``f(x) = sum_k c_k T_k(t)``, ``t = (2x - a - b) / (b - a)`` mapping ``interval`` to [-1, 1].

    Clenshaw's recurrence; the natural basis for fits on an interval (near
    minimax, well conditioned at any degree). Equals
    ``numpy.polynomial.Chebyshev(c, domain=interval)(x)``.
    """

    def __init__(
        self,
        degree: int = 3,
        coefficients=None,
        interval=(-1.0, 1.0),
        *,
        dtype=torch.float32,
        device=None,
        **kw,
    ):
        degree = check_degree(degree, 1 if coefficients is None else 0)
        dtype = real_dtype(dtype)
        a, b = check_interval(interval)
        if coefficients is None:
            c = torch.zeros(degree + 1, dtype=dtype)
            c[0], c[1] = (a + b) / 2, (b - a) / 2
        else:
            c = as_coefficients(coefficients, degree + 1, dtype)
        super().__init__(degree, c.to(device), (a, b), **kw)

    def evaluate(self, x):
        return chebyshev_series(to_unit_interval(x, self.interval), self.coefficients)


class HermiteActivation(PolynomialActivation):
    """``f(x) = sum_k c_k He_k(x) / k!`` (probabilists' Hermite, Clenshaw).

    ``init="variance_preserving"`` (default) sets ``c_0 = sqrt(1 - 1/n!)/sqrt(e)``
    and ``c_k = 1/sqrt(e)``, so that ``E[f(X)^2] ~ 1`` for ``X ~ N(0, 1)``
    (Khalfaoui-Hassani & Kesselheim 2025); ``init="identity"`` sets ``c_1 = 1``.
    The default interval ``(-3, 3)`` holds 99.7 % of a unit normal input.
    """

    def __init__(
        self,
        degree: int = 8,
        coefficients=None,
        interval=(-3.0, 3.0),
        *,
        init: str = "variance_preserving",
        dtype=torch.float32,
        device=None,
        **kw,
    ):
        degree = check_degree(degree, 1 if coefficients is None else 0)
        dtype = real_dtype(dtype)
        if coefficients is None:
            one_of(init, {"variance_preserving", "identity"}, "init")
            if init == "variance_preserving":
                c = hermite_variance_preserving_coeffs(degree, dtype=dtype)
            else:
                c = torch.zeros(degree + 1, dtype=dtype)
                c[1] = 1.0
        else:
            c = as_coefficients(coefficients, degree + 1, dtype)
        super().__init__(degree, c.to(device), interval, **kw)

    def evaluate(self, x):
        return hermite_e_series(x, self.coefficients, normalized=True)


class FourierActivation(PolynomialActivation):
    """Trigonometric polynomial ``a_0 + sum_k a_k cos(k w x) + b_k sin(k w x)``.

    ``coefficients = (a_0, a_1..a_n, b_1..b_n)`` (length ``2n + 1``); the
    fundamental ``w = 2 pi / (b - a)`` makes ``interval`` one period. The default
    initialisation ``a_0 = 0``, ``a_k = b_k = 1 / sqrt(n)`` has unit mean square
    over a period (the Fourier analogue of the variance-preserving init).
    """

    def __init__(
        self,
        degree: int = 4,
        coefficients=None,
        interval=(-math.pi, math.pi),
        *,
        dtype=torch.float32,
        device=None,
        **kw,
    ):
        degree = check_degree(degree, 1)
        dtype = real_dtype(dtype)
        a, b = check_interval(interval)
        if coefficients is None:
            c = torch.full((2 * degree + 1,), 1.0 / math.sqrt(degree), dtype=dtype)
            c[0] = 0.0
        else:
            c = as_coefficients(coefficients, 2 * degree + 1, dtype)
        super().__init__(degree, c.to(device), (a, b), **kw)
        self.omega = 2.0 * math.pi / (b - a)

    def evaluate(self, x):
        n = self.degree
        c = self.coefficients
        return fourier_series(x, c[: n + 1], c[n + 1 :], self.omega)


class TropicalActivation(PolynomialActivation):
    """Tropical polynomial ``f(x) = s * max_k (c_k + k x)``, ``k = 0..n`` (tropical Horner).

    A convex piecewise-linear function with at most ``n + 1`` pieces
    (Khalfaoui-Hassani & Kesselheim 2025). Default ``c = 0`` and ``s = 1/n``:
    exactly ReLU at initialisation.
    """

    def __init__(
        self,
        degree: int = 4,
        coefficients=None,
        interval=(-1.0, 1.0),
        *,
        scale: float | None = None,
        dtype=torch.float32,
        device=None,
        **kw,
    ):
        degree = check_degree(degree, 1)
        dtype = real_dtype(dtype)
        c = (
            torch.zeros(degree + 1, dtype=dtype)
            if coefficients is None
            else as_coefficients(coefficients, degree + 1, dtype)
        )
        super().__init__(degree, c.to(device), interval, **kw)
        self.scale = 1.0 / degree if scale is None else positive_float(scale, "scale")

    def evaluate(self, x):
        return self.scale * tropical_series(x, self.coefficients)
