"""``ZernikeAberration``: a pupil phase screen made of Zernike terms, optionally trainable."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import real_of
from ..functional.zernike import noll_to_nm, zernike_basis, zernike_phase
from ._element import GridElement

__all__ = ["ZernikeAberration"]


class ZernikeAberration(GridElement):
    """Aberration ``t = exp(i sum_j c_j Z_j)`` over a circular pupil (1 outside it).

    ``Z_j`` are Noll-normalised Zernike polynomials (:mod:`photonn.functional.zernike`),
    so ``c_j`` is the rms phase [rad] of term ``j`` over the pupil (the rms wavefront
    error is ``c_j wavelength / (2 pi)``). With ``trainable=True`` the coefficients are
    an ``nn.Parameter`` (aberration retrieval, adaptive-optics correction); otherwise a
    buffer.

    Args:
        grid: :class:`photonn.Grid`.
        radius: pupil radius [m].
        indices: Noll indices of the terms (default ``range(2, 12)``: tilts to primary
            spherical; piston changes nothing measurable).
        coefficients: initial ``c_j`` [rad], one per index (default zeros).
        trainable: learn the coefficients (default True).
        center: ``(cy, cx)`` of the pupil [m].
        dtype: complex dtype of the fields (complex64 default); coefficients and basis
            are the matching real dtype.
        device: where to build them.

    Shapes:
        field ``(..., ny, nx)`` complex -> same.
    """

    def __init__(
        self,
        grid,
        radius: float,
        indices=range(2, 12),
        *,
        coefficients=None,
        trainable: bool = True,
        center=(0.0, 0.0),
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__(grid, dtype=dtype, device=device)
        self.indices = tuple(indices)
        for j in self.indices:
            noll_to_nm(j)
        basis = zernike_basis(grid, self.indices, radius, center=center, device=device)
        self.register_buffer("basis", basis.to(real_of(dtype)), persistent=False)
        rdt = real_of(dtype)
        if coefficients is None:
            c = torch.zeros(len(self.indices), dtype=rdt)
        else:
            c = torch.as_tensor(coefficients, dtype=torch.float64).detach().clone()
            if c.shape != (len(self.indices),):
                raise ValueError(
                    f"coefficients have shape {tuple(c.shape)}, expected ({len(self.indices)},): "
                    f"one per Noll index {self.indices}"
                )
            if not bool(torch.isfinite(c).all()):
                raise ValueError(f"coefficients must be finite, got {c.tolist()}")
            c = c.to(rdt)
        c = c.to(device)
        if trainable:
            self.coefficients = nn.Parameter(c)
        else:
            self.register_buffer("coefficients", c)
        self.radius = float(radius)

    def phase(self) -> torch.Tensor:
        """Phase screen [rad], real ``(ny, nx)``."""
        return zernike_phase(self.coefficients, self.basis)

    def transmission(self) -> torch.Tensor:
        """Complex ``(ny, nx)`` transmission ``exp(i phase)``."""
        return torch.polar(torch.ones_like(self.basis[0]), self.phase())

    def extra_repr(self) -> str:
        return f"grid={self.grid}, radius={self.radius:.6g}, indices={self.indices}"
