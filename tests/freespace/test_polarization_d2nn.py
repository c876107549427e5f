"""PolarizationD2NN: channel routing by input polarization, shapes, training, bad input.

Break tests: swap the analyser angles' cos/sin in ``PolarizationD2NN.__init__``
and the routing tests fail; return no parameter gradients from
``photonn.functional.jones._JonesModulate.backward`` and the training test fails.
"""

from __future__ import annotations

import math

import pytest
import torch

from photonn import Grid
from photonn.models import PolarizationD2NN
from photonn.units import mm

GRID = Grid(32, 0.4 * mm)
LAM = 0.75 * mm
Z = 3 * mm


def _images(b=4, seed=0):
    return torch.rand(b, 16, 16, generator=torch.Generator().manual_seed(seed))


def test_identity_layers_route_x_and_y_to_their_analysers():
    """With identity modulators, x light reaches only the 0-deg analyser and y light only
    the 90-deg one."""
    m = PolarizationD2NN(GRID, LAM, 2, Z, num_classes=4, input_size=16, dtype=torch.complex128)
    x = _images()
    ex = m.channel_energies(x, "x")
    ey = m.channel_energies(x, "y")
    assert ex.shape == (4, 2, 4)
    assert (ex[:, 1].sum() / ex[:, 0].sum()).item() < 1e-28
    assert (ey[:, 0].sum() / ey[:, 1].sum()).item() < 1e-28
    # same layers, same geometry: both channels see the same pattern
    assert torch.allclose(ex[:, 0], ey[:, 1], rtol=1e-12)
    # a 45-deg input splits evenly
    e45 = m.channel_energies(x, math.pi / 4)
    assert torch.allclose(e45[:, 0], e45[:, 1], rtol=1e-12)


def test_half_wave_layer_swaps_channels():
    """Modulators set to half-wave plates at 45 deg swap the routing (x -> 90-deg channel)."""
    m = PolarizationD2NN(
        GRID, LAM, 1, Z, num_classes=4, input_size=16, learn_angle=False, dtype=torch.complex128
    )
    with torch.no_grad():
        m.masks[0].angle.fill_(math.pi / 4)
        m.masks[0].raw_slow.fill_(math.pi)
    e = m.channel_energies(_images(), "x")
    assert (e[:, 0].sum() / e[:, 1].sum()).item() < 1e-28


def test_training_reduces_the_loss():
    """Two tasks on one stack: x-polarized inputs classified on channel 0, y on channel 1.
    Five seeded Adam steps must lower the summed cross-entropy."""
    torch.manual_seed(0)
    m = PolarizationD2NN(
        GRID,
        LAM,
        2,
        Z,
        num_classes=4,
        input_size=16,
        init="uniform",
        generator=torch.Generator().manual_seed(1),
    )
    x = _images(8, seed=2)
    ya = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    yb = torch.tensor([3, 2, 1, 0, 3, 2, 1, 0])
    opt = torch.optim.Adam(m.parameters(), lr=0.1)
    ce = torch.nn.functional.cross_entropy

    def loss_fn():
        return ce(m(x, "x")[:, 0], ya) + ce(m(x, "y")[:, 1], yb)

    losses = []
    for _ in range(6):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.05, losses
    for mask in m.masks:
        assert mask.raw_fast.grad.abs().sum() > 0 and mask.angle.grad.abs().sum() > 0


def test_logits_shape_and_jones_vector_input():
    m = PolarizationD2NN(GRID, LAM, 1, Z, num_classes=3, input_size=16)
    x = _images(2)
    v = torch.tensor([[1, 0], [0, 1]], dtype=torch.complex64)
    out = m(x, v)
    assert out.shape == (2, 2, 3)
    assert torch.allclose(out[0], m(x[:1], "x")[0]) and torch.allclose(out[1], m(x[1:], "y")[0])


def test_bad_input():
    m = PolarizationD2NN(GRID, LAM, 1, Z, num_classes=3, input_size=16)
    with pytest.raises(ValueError, match="polarization must be"):
        m(_images(2), "z")
    with pytest.raises(ValueError, match=r"shape \(2,\) or \(2, 2\)"):
        m(_images(2), torch.ones(3, dtype=torch.complex64))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        m(_images(2) * 3, "x")
    with pytest.raises(ValueError, match="two angles"):
        PolarizationD2NN(GRID, LAM, 1, Z, analyser_angles=(0.0,))
