"""Microring resonators (Lorentzian versus the exact add-drop response) and the weight bank."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.onchip import MicroringWeightBank, ring_add_drop, ring_linewidth, ring_lorentzian

F64 = torch.float64


def test_lossless_add_drop_conserves_power():
    phase = torch.linspace(-math.pi, math.pi, 1001, dtype=F64)
    t, d = ring_add_drop(phase, 0.95, 0.9, 1.0)
    torch.testing.assert_close(t + d, torch.ones_like(t), rtol=0, atol=1e-12)
    # critical coupling of a symmetric lossless ring: full drop on resonance
    t, d = ring_add_drop(torch.zeros(1, dtype=F64), 0.97, 0.97)
    torch.testing.assert_close(d, torch.ones(1, dtype=F64), rtol=0, atol=1e-12)


def test_lorentzian_approximates_exact_response_near_resonance():
    """High finesse (r1 = r2 = r = 0.995, lossless, x = r^2): the Lorentzian against the
    exact Airy response within 3 linewidths.

    With ``s = 2 d / FWHM`` and ``phi = 2 pi d / FSR = s (1 - x) / sqrt(x)``, the exact
    drop is ``1 / (1 + 4 x sin^2(phi/2) / (1 - x)^2)`` and the Lorentzian ``1 / (1 + s^2)``.
    ``4 sin^2(phi/2) = phi^2 (1 - phi^2/12 + ...)``, so to leading order

        drop - lorentzian = (1 - x)^2 / (12 x) * s^4 / (1 + s^2)^2,

    and through = 1 - drop for both (lossless, symmetric). Over ``|s| <= 6`` this is at
    most ``(1 - x)^2 / (12 x) * 36^2 / 37^2 = 7.9e-6``; the next order is smaller by
    ``phi^2 <= 3.6e-3``. The test allows twice the bound, and the residual against the
    leading-order formula ``1e-2`` of the bound (about 3x the next order).
    """
    r1 = r2 = 0.995
    x = r1 * r2
    fsr = 1.0
    w = ring_linewidth(fsr, r1, r2)
    det = torch.linspace(-3 * w, 3 * w, 601, dtype=F64)
    t, d = ring_add_drop(2 * math.pi * det / fsr, r1, r2)
    tl, dl = ring_lorentzian(det, w)
    s = 2 * det / w
    predicted = (1 - x) ** 2 / (12 * x) * s**4 / (1 + s**2) ** 2
    bound = (1 - x) ** 2 / (12 * x) * 36**2 / 37**2
    assert bound == pytest.approx(7.9e-6, rel=0.01)
    assert (d - dl).abs().max() < 2 * bound
    assert (t - tl).abs().max() < 2 * bound
    assert ((d - dl) - predicted).abs().max() < 1e-2 * bound
    # half maximum exactly at +- FWHM/2 for the Lorentzian; for the exact response the
    # error there (s = 1) is (1 - x)^2 / (12 x) / 4 = 2.1e-6: allowed twice that
    _, dh = ring_add_drop(torch.tensor([math.pi * w / fsr], dtype=F64), r1, r2)
    assert dh.item() == pytest.approx(0.5, abs=2 * (1 - x) ** 2 / (48 * x))
    tl0, dl0 = ring_lorentzian(torch.tensor([w / 2]), w)
    assert dl0.item() == pytest.approx(0.5) and tl0.item() == pytest.approx(0.5)


def test_weight_bank_single_ring():
    bank = MicroringWeightBank(1, 1, [1550e-9], 0.1e-9, dtype=F64)
    for u in (0.0, 0.5, 1.0, 10.0):
        bank.set_tuning(torch.tensor([[u]], dtype=F64))
        lor = 1 / (1 + (2 * u) ** 2)
        assert bank.weights().item() == pytest.approx(lor - (1 - lor))
    bank.set_tuning(torch.zeros(1, 1, dtype=F64))
    assert bank.weights().item() == pytest.approx(1.0)


def test_weight_bank_cascade_reference():
    gen = torch.Generator().manual_seed(0)
    lams = [1550e-9 + 0.4e-9 * i for i in range(4)]
    bank = MicroringWeightBank(4, 3, lams, 0.2e-9, drop_peak=0.9, through_min=0.05, dtype=F64)
    bank.set_tuning(torch.randn(3, 4, generator=gen, dtype=F64))
    W = bank.weights()
    assert W.abs().max() <= 1
    ref = torch.empty(3, 4, dtype=F64)
    for j in range(3):
        for k in range(4):
            left, dropped = 1.0, 0.0
            for i in range(4):
                res = lams[i] + bank.tuning[j, i].item() * 0.2e-9
                t, d = ring_lorentzian(
                    torch.tensor(lams[k] - res, dtype=F64), 0.2e-9, drop_peak=0.9, through_min=0.05
                )
                dropped += left * d.item()
                left *= t.item()
            ref[j, k] = dropped - left
    torch.testing.assert_close(W, ref, rtol=0, atol=1e-12)
    p = torch.rand(5, 4, generator=gen, dtype=F64)
    torch.testing.assert_close(bank(p), p @ ref.T, rtol=0, atol=1e-12)
    W.sum().backward()
    assert bank.tuning.grad is not None and bank.tuning.grad.abs().sum() > 0


def test_weight_bank_exceptions():
    with pytest.raises(ValueError, match="wavelengths"):
        MicroringWeightBank(2, 1, [1550e-9], 1e-10)
    bank = MicroringWeightBank(2, 1, [1550e-9, 1551e-9], 1e-10)
    with pytest.raises(TypeError, match="real"):
        bank(torch.ones(2, dtype=torch.complex64))
    with pytest.raises(ValueError, match="r1"):
        ring_add_drop(torch.zeros(1), 1.2, 0.9)
