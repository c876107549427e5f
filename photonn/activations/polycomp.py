"""Polynomial composition activations PolyReLU and PolyNorm (Zhuo et al. 2024).

``PolyReLU(x) = sum_{i=1..r} a_i ReLU(x)^i + b`` and
``PolyNorm(x) = sum_{i=1..r} a_i N(x^i) + b`` with ``N(u) = u / sqrt(mean(u^2) + eps)``
over the last dimension (an RMS normalisation without weight). Defaults as in
the paper: order ``r = 3``, weights ``a_i = 1/r``, bias ``b = 0``. Both store
``coefficients = (b, a_1, ..., a_r)`` so that they share the
:class:`~photonn.activations.PolynomialActivation` interface.
"""

from __future__ import annotations

import torch

from .._checks import positive_float
from .base import PolynomialActivation, as_coefficients, check_degree


def _init(order: int, coefficients, dtype) -> torch.Tensor:
    if coefficients is None:
        c = torch.full((order + 1,), 1.0 / order, dtype=dtype)
        c[0] = 0.0
        return c
    return as_coefficients(coefficients, order + 1, dtype)


class PolyReLU(PolynomialActivation):
    """``sum_i a_i ReLU(x)^i + b``, evaluated by Horner's rule in ``ReLU(x)``."""

    def __init__(
        self, order: int = 3, coefficients=None, interval=(-1.0, 1.0), *, dtype=None, **kw
    ):
        order = check_degree(order, 1)
        super().__init__(
            order, _init(order, coefficients, dtype or torch.get_default_dtype()), interval, **kw
        )

    def evaluate(self, x):
        r = torch.relu(x)
        c = self.coefficients
        y = c[self.degree] * r
        for i in range(self.degree - 1, 0, -1):
            y = (y + c[i]) * r
        return y + c[0]


class PolyNorm(PolynomialActivation):
    """``sum_i a_i x^i / rms(x^i) + b``, RMS over the last dimension (``eps`` guards 0)."""

    def __init__(
        self,
        order: int = 3,
        coefficients=None,
        interval=(-1.0, 1.0),
        *,
        eps: float = 1e-6,
        dtype=None,
        **kw,
    ):
        order = check_degree(order, 1)
        super().__init__(
            order, _init(order, coefficients, dtype or torch.get_default_dtype()), interval, **kw
        )
        self.eps = positive_float(eps, "eps")

    def evaluate(self, x):
        c = self.coefficients
        y = torch.zeros_like(x) + c[0]
        p = x
        for i in range(1, self.degree + 1):
            if i > 1:
                p = p * x
            y = y + c[i] * p * torch.rsqrt(p.pow(2).mean(-1, keepdim=True) + self.eps)
        return y
