"""Multi-operand microring neurons and the WDM bank from a profile: ring closed forms."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from photonn.devices import load_profile
from photonn.onchip import MORRLayer, microring_bank_from_profile, ring_add_drop, ring_linewidth

F64 = torch.float64
PROFILE = load_profile(Path(__file__).resolve().parents[2] / "devices" / "si_microring_bank.toml")


def lorentz_through(d, tmin):
    return 1 - (1 - tmin) / (1 + (2 * d) ** 2)


def test_single_ring_closed_form():
    g = torch.Generator().manual_seed(0)
    layer = MORRLayer(4, 3, through_min=0.1, generator=g, dtype=F64)
    x = torch.rand(5, 4, generator=g, dtype=F64)
    d = layer.bias.detach() + x @ layer.weight.detach().abs().T  # multi-operand detuning
    torch.testing.assert_close(layer(x).detach(), lorentz_through(d, 0.1), atol=1e-15, rtol=0)


def test_lorentzian_against_exact_all_pass_ring():
    """Near resonance the through port of an all-pass ring (ring_add_drop with r2 = 1)
    is the Lorentzian of its FWHM; the difference is O((FWHM / FSR)^2)."""
    r, a = 0.99, 0.995
    fsr = 1.0
    fwhm = ring_linewidth(fsr, r, 1.0, a)
    d = torch.linspace(-3, 3, 61, dtype=F64)  # in linewidths
    exact, _ = ring_add_drop(2 * math.pi * d * fwhm / fsr, r, 1.0, a)
    tmin = ((a - r) / (1 - r * a)) ** 2  # exact through on resonance
    layer = MORRLayer(1, 1, through_min=tmin, dtype=F64)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.zero_()
    y = layer(d[:, None]).detach()[:, 0]
    err = (y - exact).abs().max().item()
    assert err < 10 * (math.pi * fwhm / fsr) ** 2, err


def test_thermal_crosstalk():
    layer = MORRLayer(2, 3, crosstalk=0.1, generator=torch.Generator().manual_seed(1), dtype=F64)
    x = torch.rand(2, generator=torch.Generator().manual_seed(2), dtype=F64)
    tuned = layer.weight.detach().abs() @ x
    side = torch.stack([tuned[1], tuned[0] + tuned[2], tuned[1]])
    d = layer.bias.detach() + tuned + 0.1 * side
    torch.testing.assert_close(layer.detuning(x).detach(), d, atol=1e-15, rtol=0)


def test_channel_leakage():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(4, 2, generator=g, dtype=F64)
    iso = MORRLayer(2, 2, generator=torch.Generator().manual_seed(4), dtype=F64)
    leak = MORRLayer(
        2, 2, channel_spacing=2.0, generator=torch.Generator().manual_seed(4), dtype=F64
    )
    d = iso.detuning(x).detach()
    # channel 0 also passes ring 1 at offset -2 linewidths from its resting resonance
    want0 = lorentz_through(d[:, 0], 0) * lorentz_through(-2.0 - d[:, 1], 0)
    want1 = lorentz_through(d[:, 1], 0) * lorentz_through(2.0 - d[:, 0], 0)
    torch.testing.assert_close(leak(x).detach(), torch.stack([want0, want1], -1))
    far = MORRLayer(
        2, 2, channel_spacing=1e6, generator=torch.Generator().manual_seed(4), dtype=F64
    )
    torch.testing.assert_close(far(x), iso(x), atol=1e-11, rtol=0)


def test_from_profile_switches_and_gradients():
    full = MORRLayer.from_profile(PROFILE, in_features=3, out_features=2, dtype=F64)
    assert full.channel_spacing == pytest.approx(8.0) and full.crosstalk == 0.05
    assert full.through_min == 0.05
    bare = MORRLayer.from_profile(
        PROFILE, in_features=3, out_features=2, leakage=False, crosstalk=False
    )
    assert bare.channel_spacing is None and bare.crosstalk == 0
    y = full(torch.rand(4, 3, dtype=F64)).sum()
    y.backward()
    assert full.weight.grad.abs().sum() > 0 and full.bias.grad.abs().sum() > 0


def test_bank_from_profile():
    bank = microring_bank_from_profile(PROFILE, in_features=3, out_features=2, leakage=False)
    bank.set_tuning(torch.tensor([[0.0, 0.5, 3.0], [1.0, 0.0, 0.2]]))
    t = bank.tuning.detach().to(F64)
    lor = 1 / (1 + (2 * t) ** 2)
    want = 0.9 * lor - (1 - 0.95 * lor)  # drop - through of isolated rings
    torch.testing.assert_close(bank.weights().detach().to(F64), want, atol=1e-6, rtol=0)


def test_bad_input():
    with pytest.raises(ValueError, match="crosstalk"):
        MORRLayer(2, 2, crosstalk=1.5)
    with pytest.raises(ValueError, match="last dimension 2"):
        MORRLayer(2, 2)(torch.ones(3))
    with pytest.raises(TypeError, match="real"):
        MORRLayer(2, 2)(torch.ones(2, dtype=torch.complex64))
    with pytest.raises(ValueError, match="microring_bank"):
        MORRLayer.from_profile("si_thermo_optic_mzi", in_features=2, out_features=2)
