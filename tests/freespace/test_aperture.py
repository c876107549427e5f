"""Aperture: smoke, errors, shapes, physics, gradcheck."""

from __future__ import annotations

import math

import pytest
import torch

from photonn import Grid
from photonn.freespace import Aperture
from photonn.units import um

G = Grid((40, 48), 1 * um)


def test_shapes_and_values():
    x = torch.ones(2, 40, 48, dtype=torch.complex64)
    y = Aperture(G, 10 * um, shape="rect")(x)
    assert y.shape == x.shape and y.dtype == torch.complex64
    # a square of 10 pitches passes exactly 10 x 10 samples (half-open convention)
    assert float(y[0].abs().sum()) == 100
    rect = Aperture(G, (4 * um, 6 * um), shape="rect", center=(5 * um, -3 * um)).mask
    ys, xs = torch.nonzero(rect, as_tuple=True)
    assert rect.sum() == 24
    assert float(ys.double().mean() - 20) == pytest.approx(5 - 0.5)  # centre of 4 samples
    assert float(xs.double().mean() - 24) == pytest.approx(-3 - 0.5)


def test_circular_area_converges_to_pi_r2():
    g = Grid(400, 1 * um)
    D = 300 * um
    m = Aperture(g, D).mask
    # pixel-counting error of a disc is O(perimeter * pitch): below 1 % here
    assert float(m.sum()) == pytest.approx(math.pi * 150**2, rel=1e-2)
    assert float(m.sum()) > 0


def test_errors():
    with pytest.raises(ValueError, match="shape"):
        Aperture(G, 5 * um, shape="hexagon")
    with pytest.raises(ValueError, match="diameter"):
        Aperture(G, -1.0)
    with pytest.raises(ValueError, match="covers no sample"):
        Aperture(G, 1 * um, center=(1.0, 1.0))
    with pytest.raises(TypeError, match="complex"):
        Aperture(G, 5 * um)(torch.ones(40, 48))


def test_gradcheck():
    g = Grid((5, 6), 1 * um)
    ap = Aperture(g, 3 * um, dtype=torch.complex128)
    x = torch.randn(5, 6, dtype=torch.complex128, generator=torch.Generator().manual_seed(0))
    assert torch.autograd.gradcheck(ap, (x.requires_grad_(),))
