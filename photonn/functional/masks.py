"""Thin transmission masks as pure functions: phase, amplitude and complex masks.

A thin mask multiplies the field by its transmission ``t(x, y)``; phases are in
radians. These functions map unconstrained (learnable) values to physically
meaningful transmissions.
"""

from __future__ import annotations

import math

import torch

from .._checks import complex_tensor, positive_float

__all__ = [
    "TWO_PI",
    "phase_transmission",
    "bounded_phase",
    "wrap_phase",
    "passive_transmission",
    "apply_transmission",
]

TWO_PI = 2.0 * math.pi


def phase_transmission(phase: torch.Tensor) -> torch.Tensor:
    """``exp(i * phase)`` of a real phase [rad]; complex64 for float32, complex128 for float64."""
    return torch.polar(torch.ones_like(phase), phase)


def bounded_phase(raw: torch.Tensor, max_phase: float = TWO_PI) -> torch.Tensor:
    """``max_phase * sigmoid(raw)``: a smooth map of any real value into ``(0, max_phase)`` [rad].

    Used for devices with a limited phase range (e.g. a 3D-printed layer of
    bounded thickness, or an SLM whose stroke is below ``2 pi``).
    """
    m = positive_float(max_phase, "max_phase")
    return m * torch.sigmoid(raw)


def wrap_phase(phase: torch.Tensor) -> torch.Tensor:
    """``phase mod 2 pi`` in ``[0, 2 pi)``; the gradient passes through unchanged."""
    return torch.remainder(phase, TWO_PI)


def passive_transmission(t: torch.Tensor) -> torch.Tensor:
    """``t / sqrt(1 + |t|^2)``: a smooth map of any complex value into the unit disc.

    Keeps a learnable complex transmission passive (``|t| < 1``, no gain) while
    keeping its phase; differentiable everywhere, including ``t = 0``.
    """
    mag2 = t.real * t.real + t.imag * t.imag
    return t * torch.rsqrt(1.0 + mag2)


def apply_transmission(field: torch.Tensor, transmission: torch.Tensor) -> torch.Tensor:
    """``field * transmission`` (broadcast over leading dimensions), checked for complex input.

    Args:
        field: complex ``(..., ny, nx)``.
        transmission: real or complex ``(ny, nx)`` (or broadcastable).
    """
    complex_tensor(field)
    if transmission.shape[-2:] != field.shape[-2:]:
        raise ValueError(
            f"transmission has shape {tuple(transmission.shape)} but the field is "
            f"{tuple(field.shape)}; their last two dimensions must match"
        )
    return field * transmission
