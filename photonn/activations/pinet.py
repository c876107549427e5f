"""The CCP polynomial layer of Pi-nets (Chrysos et al. 2020).

``x_1 = U_1 z``, ``x_n = (U_n z) * x_{n-1} + x_{n-1}`` for ``n = 2..N``, output
``C x_N + beta``: a polynomial of degree ``N`` in the input ``z`` built from
Hadamard products and skip connections, with ``N`` linear maps instead of
``O(d^N)`` tensor coefficients.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import positive_int
from ..functional.polynomial import check_interval
from .base import check_degree, real_dtype


class CCP(nn.Module):
    """Pi-net CCP layer: ``(..., in_features) -> (..., out_features)``, degree ``N`` in the input.

    ``U_n`` are ``(hidden, in_features)`` matrices without bias, ``C`` a linear
    map with bias ``beta``. ``interval`` is the declared valid range of the
    input entries (for monitoring); ``generator`` seeds the initialisation
    (uniform, +-1/sqrt(fan_in), as ``nn.Linear``; drawn on the CPU, then moved to
    ``device``). ``dtype``: real dtype of the weights (default ``torch.float32``).
    """

    def __init__(
        self,
        in_features: int,
        hidden: int,
        out_features: int,
        degree: int = 2,
        *,
        interval=(-1.0, 1.0),
        generator: torch.Generator | None = None,
        dtype=torch.float32,
        device=None,
    ):
        super().__init__()
        self.degree = check_degree(degree, 1)
        self.in_features = positive_int(in_features, "in_features")
        self.hidden = positive_int(hidden, "hidden")
        self.out_features = positive_int(out_features, "out_features")
        self.interval = check_interval(interval)
        dtype = real_dtype(dtype)
        ku = 1.0 / math.sqrt(in_features)
        kc = 1.0 / math.sqrt(hidden)

        def uni(shape, k):
            u = torch.rand(shape, generator=generator, dtype=dtype)
            return ((u * 2 - 1) * k).to(device)

        self.U = nn.Parameter(uni((self.degree, hidden, in_features), ku))
        self.C = nn.Parameter(uni((out_features, hidden), kc))
        self.beta = nn.Parameter(uni((out_features,), kc))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.shape[-1] != self.in_features:
            raise ValueError(
                f"CCP expects inputs (..., {self.in_features}), got shape {tuple(z.shape)}"
            )
        x = z @ self.U[0].T
        for n in range(1, self.degree):
            x = (z @ self.U[n].T) * x + x
        return x @ self.C.T + self.beta

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, hidden={self.hidden}, "
            f"out_features={self.out_features}, degree={self.degree}"
        )
