"""Analytic fields used as sources and as references in the physics tests."""

from __future__ import annotations

import math

import torch

from .._checks import complex_dtype, finite_float, positive_float


def gaussian_beam(
    grid, wavelength: float, waist: float, z: float = 0.0, *, dtype=torch.complex64, device=None
) -> torch.Tensor:
    """Paraxial TEM00 Gaussian beam at distance ``z`` from its waist.

    ``E = exp(ikz) / (1 + i z/zR) * exp(-r^2 / (w0^2 (1 + i z/zR)))`` with
    ``zR = pi w0^2 / lambda``: amplitude 1 on axis at the waist, width
    ``w(z)``, curvature ``R(z)`` and Gouy phase ``-atan(z/zR)`` included. It is
    the exact solution of the paraxial wave equation (the Fresnel integral).

    Args:
        grid: :class:`photonn.Grid`; the beam axis is at index ``n // 2``.
        wavelength: [m]. waist: 1/e field radius ``w0`` [m]. z: [m].
        dtype: ``torch.complex64`` (default, the dtype of the optical modules, so
            ``Propagator(grid, wl, z)(gaussian_beam(grid, wl, waist=w))`` works as is)
            or ``torch.complex128``. The field is computed in complex128 and cast once.
        device: where to build it.

    Returns:
        complex tensor ``(ny, nx)`` of ``dtype``.
    """
    lam = positive_float(wavelength, "wavelength")
    w0 = positive_float(waist, "waist")
    z = finite_float(z, "z")
    complex_dtype(dtype)
    zr = math.pi * w0**2 / lam
    q = complex(1.0, z / zr)
    r2 = grid.r2(device=device).to(torch.complex128)
    k = 2 * math.pi / lam
    carrier = complex(math.cos(k * z), math.sin(k * z))
    return (carrier / q * torch.exp(-r2 / (w0**2 * q))).to(dtype)
