"""Zernike polynomials in Noll's ordering and normalisation (J. Opt. Soc. Am. 66, 207, 1976).

``Z_j`` on the unit disk ``rho <= 1``: ``sqrt(n+1) R_n^0(rho)`` for ``m = 0`` and
``sqrt(2(n+1)) R_n^|m|(rho) cos(m theta)`` (even ``j``) or ``sin(|m| theta)`` (odd
``j``) otherwise, so that ``(1/pi) integral_disk Z_i Z_j = delta_ij``: a coefficient is
the rms of its term over the pupil. ``theta`` is measured from the x axis towards y.
"""

from __future__ import annotations

import math

import torch

from .._checks import finite_float, positive_float


def noll_to_nm(j: int) -> tuple[int, int]:
    """Radial order ``n`` and signed azimuthal frequency ``m`` of Noll index ``j >= 1``
    (``m < 0``: a ``sin`` term). ``j = 1`` piston, 2/3 tilts, 4 defocus, 5/6
    astigmatism, 7/8 coma, 11 spherical aberration."""
    if isinstance(j, bool) or not isinstance(j, int):
        raise TypeError(f"Noll index must be an int, got {type(j).__name__} {j!r}")
    if j < 1:
        raise ValueError(f"Noll index must be >= 1 (1 is piston), got {j}")
    n, j1 = 0, j - 1
    while j1 > n:
        n += 1
        j1 -= n
    m = (-1) ** j * ((n % 2) + 2 * ((j1 + ((n + 1) % 2)) // 2))
    return n, m


def _radial(n: int, m: int, rho: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(rho)
    for s in range((n - m) // 2 + 1):
        c = (-1) ** s * math.factorial(n - s)
        c /= math.factorial(s) * math.factorial((n + m) // 2 - s) * math.factorial((n - m) // 2 - s)
        out = out + c * rho ** (n - 2 * s)
    return out


def zernike(grid, j: int, radius: float, *, center=(0.0, 0.0), device=None) -> torch.Tensor:
    """Noll-normalised Zernike polynomial ``Z_j`` on a pupil of ``radius`` [m].

    Args:
        grid: :class:`photonn.Grid`.
        j: Noll index (>= 1).
        radius: pupil radius [m]; the polynomial is zero outside it.
        center: ``(cy, cx)`` of the pupil [m].
        device: where to build it.

    Returns:
        real float64 ``(ny, nx)``.
    """
    n, m = noll_to_nm(j)
    a = positive_float(radius, "radius")
    cy, cx = (finite_float(c, "center") for c in center)
    Y, X = grid.meshgrid(device=device)
    X, Y = (X - cx) / a, (Y - cy) / a
    rho = torch.sqrt(X * X + Y * Y)
    inside = rho <= 1.0
    am = abs(m)
    z = math.sqrt(n + 1) * _radial(n, am, rho)
    if m != 0:
        th = torch.atan2(Y, X)
        z = math.sqrt(2) * z * (torch.cos(am * th) if m > 0 else torch.sin(am * th))
    return torch.where(inside, z, torch.zeros_like(z))


def zernike_basis(grid, indices, radius: float, *, center=(0.0, 0.0), device=None):
    """``Z_j`` for every Noll index in ``indices``: real float64 ``(J, ny, nx)``."""
    indices = list(indices)
    if not indices:
        raise ValueError("indices must name at least one Noll index (e.g. range(2, 12))")
    return torch.stack([zernike(grid, j, radius, center=center, device=device) for j in indices])


def zernike_phase(coefficients: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Phase screen ``sum_j c_j Z_j`` [rad]: ``coefficients (..., J)`` [rad rms],
    ``basis (J, ny, nx)`` -> real ``(..., ny, nx)``. Differentiable in ``coefficients``."""
    if coefficients.shape[-1] != basis.shape[0]:
        raise ValueError(
            f"coefficients have {coefficients.shape[-1]} terms but the basis has "
            f"{basis.shape[0]}; give one coefficient per Noll index"
        )
    return torch.tensordot(coefficients, basis.to(coefficients.dtype), dims=([-1], [0]))
