"""Grid: construction, validation, coordinates, frequencies, padding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from photonn import Grid
from photonn.units import um


def test_scalar_spacing_means_square_pixels():
    g = Grid((4, 6), 2 * um)
    assert g.spacing == (2 * um, 2 * um)
    assert g.shape == (4, 6)
    assert g.extent == (8 * um, 12 * um)


def test_frozen_and_hashable():
    g = Grid(8, 1 * um)
    assert hash(g) == hash(Grid((8, 8), (1 * um, 1 * um)))
    assert g == Grid((8, 8), 1 * um)
    with pytest.raises(AttributeError):
        g.shape = (2, 2)
    assert {g: 1}[Grid(8, 1 * um)] == 1


@pytest.mark.parametrize(
    ("shape", "spacing", "exc", "match"),
    [
        ((0, 4), 1e-6, ValueError, "shape"),
        ((4.5, 4), 1e-6, TypeError, "shape"),
        ((4, 4, 4), 1e-6, ValueError, "pair"),
        ((4, 4), 0.0, ValueError, "spacing"),
        ((4, 4), -1e-6, ValueError, "spacing"),
        ((4, 4), float("nan"), ValueError, "spacing"),
        ((4, 4), "1um", TypeError, "spacing"),
    ],
)
def test_invalid_values_raise(shape, spacing, exc, match):
    with pytest.raises(exc, match=match):
        Grid(shape, spacing)


def test_coordinates_centre_at_n_over_2():
    for n in (7, 8):
        g = Grid(n, 1.0)
        x = g.x()
        assert x[n // 2] == 0
        assert torch.allclose(torch.diff(x), torch.ones(n - 1, dtype=torch.float64))
    Y, X = Grid((3, 5), (2.0, 1.0)).meshgrid()
    assert Y.shape == X.shape == (3, 5)
    assert Y[0, 0] == -2.0 and X[0, 0] == -2.0


def test_frequencies_match_numpy():
    g = Grid((6, 9), (0.5, 0.25))
    np.testing.assert_allclose(g.fx().numpy(), np.fft.fftfreq(9, 0.25))
    np.testing.assert_allclose(g.fy().numpy(), np.fft.fftfreq(6, 0.5))
    assert g.nyquist == (1.0, 2.0)


def test_padded():
    g = Grid((10, 20), 1 * um)
    assert g.padded(2).shape == (20, 40)
    assert g.padded(1.5).shape == (15, 30)
    assert g.padded((1, 2)).shape == (10, 40)
    assert g.padded(2).spacing == g.spacing
    with pytest.raises(ValueError, match="factor"):
        g.padded(0.5)


def test_check_field():
    g = Grid((4, 5), 1.0)
    g.check_field(torch.zeros(3, 4, 5))
    with pytest.raises(ValueError, match=r"\(4, 5\)"):
        g.check_field(torch.zeros(3, 5, 4))
