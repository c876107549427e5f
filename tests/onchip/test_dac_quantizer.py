"""The DAC's training-time quantiser: the default is the straight-through estimator of
before, bit for bit; another quantiser's change never moves theta by pi."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.functional.mzi_errors import quantize_mzi_phases
from photonn.functional.quantizers import QUANTIZERS
from photonn.onchip import DAC, MeshImperfections, MZIMesh


def test_default_quantizer_is_the_old_straight_through_dac():
    g = torch.Generator().manual_seed(0)
    theta = 10 * torch.rand(40, generator=g) - 5
    phi = 10 * torch.rand(40, generator=g) - 5
    dac = DAC(5, "heater", 3.1 * math.pi)
    assert dac.quantizer_name == "ste" and dac.output is False
    got = dac.quantize_mzi(theta, phi, training=True)
    want = quantize_mzi_phases(theta, phi, 5, law="heater", max_phase=3.1 * math.pi)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


@pytest.mark.parametrize("quantizer", [q for q in QUANTIZERS if q != "ste"])
def test_a_level_reached_across_two_pi_keeps_theta_on_its_branch(quantizer):
    """float32: remainder(2 theta, 2 pi) of a tiny negative theta is 2 pi itself, which
    the DAC rounds to level 0; the change (-2 pi) must wrap to 0, not move theta by pi
    (which flips the sign of the MZI's block)."""
    mesh = MZIMesh(4)
    dac = DAC(4, "heater", 4 * math.pi, quantizer)
    mesh.imperfections = MeshImperfections(dac=dac)
    with torch.no_grad():
        mesh.theta.fill_(-1.0e-7)
        mesh.phi.fill_(-1.0e-7)
    mesh.eval()
    with torch.no_grad():
        theta, phi = mesh.effective_phases()
    assert theta.abs().max() < 0.1 and phi.abs().max() < 0.1


def test_levels_of_the_heater_law():
    dac = DAC(3, "heater", 2.5 * math.pi)
    k = torch.arange(8, dtype=torch.float64)
    lv = 2.5 * math.pi * (k / 7) ** 2
    assert torch.equal(dac.levels(), lv[lv < 2 * math.pi])
    assert torch.allclose(DAC(3).levels(), k * 2 * math.pi / 8)
