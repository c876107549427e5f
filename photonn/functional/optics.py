"""Thin elements as pure functions: lens phase and aperture masks."""

from __future__ import annotations

import math

import torch

from .._checks import finite_float, positive_float


def thin_lens_phase(grid, wavelength: float, focal_length: float, *, device=None) -> torch.Tensor:
    """Phase [rad] of a thin lens, ``-k (x^2 + y^2) / (2 f)``, float64 ``(ny, nx)``.

    A positive ``focal_length`` [m] focuses. Multiply a field by ``exp(i * phase)``.
    """
    lam = positive_float(wavelength, "wavelength")
    f = finite_float(focal_length, "focal_length")
    if f == 0:
        raise ValueError("focal_length must be non-zero")
    return -(2 * math.pi / lam) * grid.r2(device=device) / (2 * f)


def circular_aperture(grid, diameter: float, *, center=(0.0, 0.0), device=None) -> torch.Tensor:
    """Binary float64 mask ``(ny, nx)``: 1 inside a circle of ``diameter`` [m]."""
    D = positive_float(diameter, "diameter")
    Y, X = grid.meshgrid(device=device)
    return (((Y - center[0]) ** 2 + (X - center[1]) ** 2) <= (D / 2) ** 2).to(torch.float64)


def rect_aperture(grid, size, *, center=(0.0, 0.0), device=None) -> torch.Tensor:
    """Binary float64 mask ``(ny, nx)``: 1 inside a rectangle ``size = (h, w)`` [m] (or a square).

    A sample counts as inside when its centre lies within the rectangle
    (half-open: ``-h/2 <= y < h/2``), so a square of ``m`` pixels is exactly ``m`` samples.
    """
    if isinstance(size, (int, float)):
        size = (size, size)
    h = positive_float(size[0], "size[0]")
    w = positive_float(size[1], "size[1]")
    Y, X = grid.meshgrid(device=device)
    eps = 1e-9 * min(grid.dy, grid.dx)
    iy = ((Y - center[0]) >= -h / 2 - eps) & ((Y - center[0]) < h / 2 - eps)
    ix = ((X - center[1]) >= -w / 2 - eps) & ((X - center[1]) < w / 2 - eps)
    return (iy & ix).to(torch.float64)
