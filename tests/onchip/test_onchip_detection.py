"""Photodetection: coherent, balanced (homodyne reference) and incoherent."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.functional.mzi import mzi_matrix
from photonn.onchip import (
    Photodetector,
    balanced_detection,
    coherent_detection,
    incoherent_detection,
)

C128, F64 = torch.complex128, torch.float64


def test_coherent_and_incoherent():
    gen = torch.Generator().manual_seed(0)
    E = torch.randn(3, 4, 5, generator=gen, dtype=C128)
    torch.testing.assert_close(coherent_detection(E, 0.8), 0.8 * E.abs() ** 2)
    torch.testing.assert_close(incoherent_detection(E, dim=-2), (E.abs() ** 2).sum(-2))
    torch.testing.assert_close(Photodetector("incoherent", dim=0)(E), (E.abs() ** 2).sum(0))
    with pytest.raises(TypeError):
        coherent_detection(torch.ones(3))


def test_balanced_homodyne_through_a_50_50_mzi():
    """Signal a, local oscillator b into T(pi/4, phi): |o1|^2 - |o2|^2 = -2 Re(e^{i phi} a b*)."""
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(50, generator=gen, dtype=C128)
    b = torch.randn(50, generator=gen, dtype=C128)
    phi = torch.rand(50, generator=gen, dtype=F64) * 2 * math.pi
    T = mzi_matrix(torch.full((50,), math.pi / 4, dtype=F64), phi)
    out = (T @ torch.stack([a, b], -1).unsqueeze(-1)).squeeze(-1)
    i = balanced_detection(out[:, 0], out[:, 1])
    torch.testing.assert_close(i, -2 * (torch.exp(1j * phi) * a * b.conj()).real)
    det = Photodetector("balanced")
    torch.testing.assert_close(det(torch.cat([out[:, :1], out[:, 1:]], -1)), i[:, None])
    with pytest.raises(ValueError, match="even"):
        det(torch.ones(2, 3, dtype=C128))
