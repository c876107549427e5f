"""Photodetection of on-chip fields: coherent (``|E|^2``), balanced and incoherent."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import (
    COMPLEX_DTYPES,
    check_device,
    complex_tensor,
    input_dtype,
    one_of,
    optional_dtype,
    positive_float,
)

__all__ = [
    "coherent_detection",
    "balanced_detection",
    "incoherent_detection",
    "Photodetector",
]


def coherent_detection(field: torch.Tensor, responsivity: float = 1.0) -> torch.Tensor:
    """Photocurrent ``R |E|^2`` per mode [A] for fields in sqrt(W); real, same shape."""
    complex_tensor(field)
    return positive_float(responsivity, "responsivity") * (field.real**2 + field.imag**2)


def balanced_detection(
    plus: torch.Tensor, minus: torch.Tensor, responsivity: float = 1.0
) -> torch.Tensor:
    """Balanced pair ``R (|E+|^2 - |E-|^2)``; for the two outputs of a 50:50 coupler fed
    with a signal and a local oscillator this is ``2 R Re(...)`` (homodyne)."""
    if plus.shape != minus.shape:
        raise ValueError(
            f"plus and minus must match, got {tuple(plus.shape)} and {tuple(minus.shape)}"
        )
    return coherent_detection(plus, responsivity) - coherent_detection(minus, responsivity)


def incoherent_detection(
    field: torch.Tensor, dim: int = -2, responsivity: float = 1.0
) -> torch.Tensor:
    """Sum of powers over mutually incoherent components (WDM channels, time slots) along
    ``dim``: ``R sum |E|^2``; cross terms between them average out."""
    return coherent_detection(field, responsivity).sum(dim)


class Photodetector(nn.Module):
    """Photodiodes on the output waveguides.

    Args:
        kind: ``"coherent"`` (``R |E|^2`` per mode), ``"balanced"`` (the last axis of
            ``2 n`` modes is split in halves: ``R (|E[:n]|^2 - |E[n:]|^2)``) or
            ``"incoherent"`` (``R sum |E|^2`` over axis ``dim``).
        responsivity: [A/W].
        dim: the incoherent axis for ``"incoherent"``.
        dtype: ``None`` (default: any complex field) or the complex dtype fields must have.
        device: accepted like every element's; the detector holds no tensor.
    """

    def __init__(
        self,
        kind: str = "coherent",
        responsivity: float = 1.0,
        dim: int = -2,
        *,
        dtype=None,
        device=None,
    ):
        super().__init__()
        self.dtype = optional_dtype(dtype, COMPLEX_DTYPES)
        check_device(device)
        self.kind = one_of(kind, ("coherent", "balanced", "incoherent"), "kind")
        self.responsivity = positive_float(responsivity, "responsivity")
        self.dim = int(dim)

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        input_dtype(self, field, self.dtype, "field")
        if self.kind == "coherent":
            return coherent_detection(field, self.responsivity)
        if self.kind == "incoherent":
            return incoherent_detection(field, self.dim, self.responsivity)
        n = field.shape[-1]
        if n % 2:
            raise ValueError(f"balanced detection needs an even number of modes, got {n}")
        return balanced_detection(field[..., : n // 2], field[..., n // 2 :], self.responsivity)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, responsivity={self.responsivity}"
