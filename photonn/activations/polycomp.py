"""Polynomial composition activations PolyReLU and PolyNorm (Zhuo et al. 2024).

``PolyReLU(x) = sum_{i=1..r} a_i ReLU(x)^i + b`` and
``PolyNorm(x) = sum_{i=1..r} a_i N(x^i) + b`` with ``N(u) = u / sqrt(mean(u^2) + eps)``
over the last dimension (an RMS normalisation without weight). Defaults as in
the paper: degree (the paper's order) ``r = 3``, weights ``a_i = 1/r``, bias
``b = 0``. Both store ``coefficients = (b, a_1, ..., a_r)`` so that they share the
:class:`~photonn.activations.PolynomialActivation` interface (``degree`` is ``r``,
the same keyword as every other family).
"""

from __future__ import annotations

import torch

from .._checks import positive_float
from .base import PolynomialActivation, as_coefficients, check_degree, real_dtype


def _init(degree: int, coefficients, dtype, device) -> torch.Tensor:
    if coefficients is None:
        c = torch.full((degree + 1,), 1.0 / degree, dtype=dtype)
        c[0] = 0.0
    else:
        c = as_coefficients(coefficients, degree + 1, dtype)
    return c.to(device)


class PolyReLU(PolynomialActivation):
    """``sum_i a_i ReLU(x)^i + b``, evaluated by Horner's rule in ``ReLU(x)``.

    Args:
        degree: the highest power ``r`` (the paper's "order"; default 3).
        coefficients: ``(b, a_1, ..., a_r)`` (default ``(0, 1/r, ..., 1/r)``).
        interval: valid input range (default ``(-1, 1)``).
        dtype: real dtype of the coefficients (default ``torch.float32``).
        device: where to build them.
        bound, trainable: see :class:`~photonn.activations.PolynomialActivation`.
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
        degree = check_degree(degree, 1)
        c = _init(degree, coefficients, real_dtype(dtype), device)
        super().__init__(degree, c, interval, **kw)

    def evaluate(self, x):
        r = torch.relu(x)
        c = self.coefficients
        y = c[self.degree] * r
        for i in range(self.degree - 1, 0, -1):
            y = (y + c[i]) * r
        return y + c[0]


class PolyNorm(PolynomialActivation):
    """``sum_i a_i x^i / rms(x^i) + b``, RMS over the last dimension (``eps`` guards 0).

    Arguments as :class:`PolyReLU`, plus ``eps``.
    """

    def __init__(
        self,
        degree: int = 3,
        coefficients=None,
        interval=(-1.0, 1.0),
        *,
        eps: float = 1e-6,
        dtype=torch.float32,
        device=None,
        **kw,
    ):
        degree = check_degree(degree, 1)
        c = _init(degree, coefficients, real_dtype(dtype), device)
        super().__init__(degree, c, interval, **kw)
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
