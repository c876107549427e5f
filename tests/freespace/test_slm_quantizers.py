"""The SLM's training-time quantisers: exact look-up-table levels in evaluation, the
gray level a controller would send, the default unchanged."""

from __future__ import annotations

import math

import pytest
import torch

from photonn import Grid
from photonn.freespace import SLM
from photonn.functional.quantizers import QUANTIZERS
from photonn.functional.slm import nearest_level
from photonn.training import QuantizerSchedule

LUT = 2 * math.pi * (torch.arange(16, dtype=torch.float64) / 16) ** 1.7  # non-linear


@pytest.mark.parametrize("quantizer", QUANTIZERS)
def test_evaluation_shows_the_table_phase_of_the_sent_gray_level(quantizer):
    g = torch.Generator().manual_seed(5)
    slm = SLM(Grid(12, 8e-6), lut=LUT, init="uniform", quantizer=quantizer, generator=g)
    slm.train()
    QuantizerSchedule(4).set(slm, 2)
    field = torch.ones(3, 12, 12, dtype=torch.complex64)
    out = slm(field)
    (out.real * torch.linspace(-1, 1, 12)).sum().backward()
    assert slm.phase.grad.abs().sum() > 0
    torch.optim.SGD(slm.parameters(), lr=0.5).step()
    slm.eval()
    with torch.no_grad():
        shown = slm.quantized_phase()
    gray = slm.gray_levels()
    assert torch.equal(shown, slm.lut[gray])  # exactly the level the controller shows
    assert slm.training is False


def test_default_is_the_straight_through_nearest_level():
    g = torch.Generator().manual_seed(6)
    slm = SLM(Grid(8, 8e-6), lut=LUT, init="uniform", generator=g)
    assert not hasattr(slm, "levels") and not hasattr(slm, "quant_log_step")
    phi = slm.quantized_phase()
    assert torch.equal(phi.detach(), slm.lut[nearest_level(slm.phase, slm.lut)])
    phi.sum().backward()
    assert torch.equal(slm.phase.grad, torch.ones_like(slm.phase))


def test_repeated_levels_are_refused_for_a_quantiser():
    lut = torch.tensor([0.0, 1.0, 2.0, 2 * math.pi], dtype=torch.float64)  # 2 pi == 0
    with pytest.raises(ValueError, match="twice"):
        SLM(Grid(4, 8e-6), lut=lut, quantizer="gumbel")
    SLM(Grid(4, 8e-6), lut=lut)  # the default takes it, as before
