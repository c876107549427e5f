"""``SVDLinear``: a general matrix on chip, ``W = s * U Sigma V^H`` with two meshes."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import complex_dtype, complex_tensor, positive_int, real_of
from .._module import ComplexModule
from ..functional.unitary import svd_decompose
from .mesh import MZIMesh

__all__ = ["SVDLinear"]


class SVDLinear(ComplexModule):
    """A linear layer of two MZI meshes and a column of attenuators (Miller 2013).

    ``y = scale * U [diag(sigma) 0] V^H x`` with ``V^H`` an ``in_features``-mode mesh,
    ``sigma = cos(attenuation_theta)`` the amplitude transmissions of ``k =
    min(in, out)`` MZI attenuators (``|sigma| <= 1``, passive) and ``U`` an
    ``out_features``-mode mesh. ``scale`` is the global (electronic) gain, a learnable
    real parameter.

    Args:
        in_features, out_features: mode counts.
        layout: mesh layout of both meshes.
        init: ``"identity"`` or ``"haar"`` (needs ``generator``) for both meshes.
        dtype: complex dtype.

    Shapes: complex ``(..., in_features)`` -> ``(..., out_features)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        layout: str = "clements",
        *,
        init: str = "identity",
        generator: torch.Generator | None = None,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        self.dtype = complex_dtype(dtype)
        kw = dict(init=init, generator=generator, dtype=dtype, device=device)
        self.mesh_in = MZIMesh(in_features, layout, **kw)
        self.mesh_out = MZIMesh(out_features, layout, **kw)
        self.k = min(in_features, out_features)
        rdt = real_of(dtype)
        self.attenuation_theta = nn.Parameter(torch.zeros(self.k, dtype=rdt, device=device))
        self.scale = nn.Parameter(torch.ones((), dtype=rdt, device=device))

    @classmethod
    def from_matrix(cls, W: torch.Tensor, layout: str = "clements", *, dtype=None, device=None):
        """A layer whose :meth:`matrix` is ``W`` (real or complex ``(out, in)``).

        Uses ``torch.linalg.svd``; the largest singular value becomes ``scale`` and
        the attenuators carry ``sigma / scale`` (all passive).
        """
        if not isinstance(W, torch.Tensor) or W.ndim != 2:
            raise ValueError(f"W must be a 2-D tensor (out, in), got {getattr(W, 'shape', W)!r}")
        dtype = dtype or (W.dtype if W.is_complex() else torch.complex128)
        f = svd_decompose(W.to(torch.complex128))
        layer = cls(W.shape[1], W.shape[0], layout, dtype=dtype, device=device or W.device)
        layer.mesh_in.program(f.Vh)
        layer.mesh_out.program(f.U)
        with torch.no_grad():
            layer.attenuation_theta.copy_(torch.arccos(f.sigma.clamp(0, 1)).to(layer.scale))
            layer.scale.fill_(f.scale)
        return layer

    @property
    def sigma(self) -> torch.Tensor:
        """Amplitude transmissions of the attenuators ``(k,)``."""
        return torch.cos(self.attenuation_theta)

    def matrix(self, *, ideal: bool = False) -> torch.Tensor:
        """The ``(out, in)`` matrix, with the meshes' errors unless ``ideal=True``."""
        U = self.mesh_out.matrix(ideal=ideal)
        V = self.mesh_in.matrix(ideal=ideal)
        return self.scale * (U[:, : self.k] * self.sigma.to(self.dtype)) @ V[: self.k]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        complex_tensor(x, "x")
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"x must have last dimension {self.in_features}, got shape {tuple(x.shape)}"
            )
        if x.dtype != self.dtype:
            raise TypeError(f"x is {x.dtype} but this layer was built for {self.dtype}")
        if x.numel() // self.in_features > max(self.in_features, self.out_features):
            return x @ self.matrix().transpose(-1, -2)
        h = self.mesh_in(x)[..., : self.k] * self.sigma.to(self.dtype)
        if self.out_features > self.k:
            pad = torch.zeros(
                *h.shape[:-1], self.out_features - self.k, dtype=h.dtype, device=h.device
            )
            h = torch.cat([h, pad], -1)
        return self.scale * self.mesh_out(h)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"
