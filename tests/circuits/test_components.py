"""Component S-matrices: the conventions of docs/circuits.md, pinned."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.circuits import MODELS, Circuit
from photonn.devices import load_profile
from photonn.functional import circuits as F

WL = torch.linspace(1.5e-6, 1.6e-6, 11, dtype=torch.float64)
ARGS = {
    "straight": (10e-6,),
    "bend": (5e-6,),
    "ring_allpass": (0.1, 50e-6),
    "ring_add_drop": (0.1, 0.2, 50e-6),
}


@pytest.mark.parametrize("name", sorted(F.PORTS))
def test_every_component_is_reciprocal_passive_and_batched(name):
    fn = getattr(F, name)
    S = fn(WL, *ARGS.get(name, ()))
    n = len(F.PORTS[name])
    assert S.shape == (11, n, n) and S.dtype == torch.complex128
    assert (S - S.transpose(-1, -2)).abs().max() == 0
    assert torch.linalg.matrix_norm(S, ord=2).max() <= 1 + 1e-12
    assert MODELS[name].ports == F.PORTS[name]
    # a batch of settings broadcasts against the wavelengths
    S32 = fn(WL.to(torch.float32), *ARGS.get(name, ()))
    assert S32.dtype == torch.complex64


def test_straight_phase_is_plus_i_beta_l():
    L, lam0 = 12.3e-6, 1.55e-6
    t = F.straight(torch.tensor([lam0], dtype=torch.float64), L)[0, 1, 0]
    expected = complex(
        math.cos(2 * math.pi * 2.4 * L / lam0), math.sin(2 * math.pi * 2.4 * L / lam0)
    )
    assert abs(complex(t) - expected) < 1e-12
    # loss: 1 dB/mm over 3 mm is 3 dB
    t = F.straight(torch.tensor([lam0], dtype=torch.float64), 3e-3, loss_db_per_m=1000.0)[0, 1, 0]
    assert abs(20 * math.log10(abs(complex(t))) + 3) < 1e-12


def test_coupler_ports_and_the_plus_i_cross_term():
    S = F.coupler(torch.tensor([1.55e-6], dtype=torch.float64), 0.3)[0]
    t, x = math.sqrt(0.7), math.sqrt(0.3)
    assert abs(S[3, 0] - t) < 1e-15 and abs(S[2, 1] - t) < 1e-15  # through o1-o4, o2-o3
    assert abs(S[2, 0] - 1j * x) < 1e-15 and abs(S[3, 1] - 1j * x) < 1e-15  # cross +i
    assert S[1, 0] == 0 and S[3, 2] == 0 and S[0, 0] == 0  # same side, reflection: none
    # wavelength slope of the coupling
    S = F.coupler(torch.tensor([1.56e-6], dtype=torch.float64), 0.3, coupling_slope=1e6)[0]
    assert abs(abs(S[2, 0]) ** 2 - (0.3 + 1e6 * 0.01e-6)) < 1e-12


def test_gap_model_couples_less_at_larger_gaps():
    gaps = torch.tensor([150e-9, 200e-9, 250e-9], dtype=torch.float64)
    k = F.gap_coupling(gaps, 10e-6, 1e5, 50e-9)
    assert torch.all(k[1:] < k[:-1])
    assert abs(float(k[0]) - math.sin(1e5 * math.exp(-3) * 10e-6) ** 2) < 1e-15
    net = {
        "instances": {"dc": {"component": "coupler", "settings": {
            "gap": 150e-9, "coupling_length": 10e-6, "kappa0": 1e5, "gap_decay": 50e-9}}},
        "connections": {},
        "ports": {"a": "dc,o1", "b": "dc,o2", "c": "dc,o3", "d": "dc,o4"},
    }  # fmt: skip
    S = Circuit(net).s_matrix(1.55e-6)[0]
    assert abs(abs(S[2, 0]) ** 2 - float(k[0])) < 1e-12


def test_phase_shifter_from_heater_power_and_voltage_with_the_profile():
    prof = load_profile("si_thermo_optic_mzi")
    p_pi, R = prof["p_pi"], prof["heater_resistance"]

    def phase(**settings):
        net = {"instances": {"ps": {"component": "phase_shifter", "settings": settings}},
               "connections": {}, "ports": {"a": "ps,o1", "b": "ps,o2"}}  # fmt: skip
        return float(torch.angle(Circuit(net).s_matrix(1.55e-6)[0, 1, 0]))

    assert abs(phase(power=p_pi / 2, profile="si_thermo_optic_mzi") - math.pi / 2) < 1e-12
    v = math.sqrt(p_pi / 4 * R)  # P = V^2 / R = P_pi / 4 -> pi / 4
    assert abs(phase(voltage=v, profile="si_thermo_optic_mzi") - math.pi / 4) < 1e-12
    assert abs(phase(voltage=v, p_pi=p_pi, heater_resistance=R) - math.pi / 4) < 1e-12
    with pytest.raises(ValueError, match="needs p_pi"):
        phase(power=0.01)


def test_grating_bend_crossing_splitter_and_detector():
    lam = torch.tensor([1.55e-6, 1.55e-6 + 20e-9], dtype=torch.float64)
    g = F.grating_coupler(lam, 1.55e-6, 40e-9, peak_loss_db=3.0)[:, 1, 0].abs() ** 2
    assert abs(float(g[0]) - 10**-0.3) < 1e-12 and abs(float(g[1] / g[0]) - 0.5) < 1e-12
    b = F.bend(lam, 5e-6, 180.0, loss_db_per_90=0.1)[0, 1, 0]
    assert abs(20 * math.log10(abs(complex(b))) + 0.2) < 1e-12
    x = F.crossing(lam, 0.2, -30.0)[0]
    through_db = -0.2 + 10 * math.log10(1 - 4e-3)
    assert abs(20 * math.log10(abs(complex(x[2, 0]))) - through_db) < 1e-12
    assert abs(complex(x[1, 0]) - 1j * 10 ** (-30.2 / 20)) < 1e-15 and x[2, 0] == x[3, 1]
    lossless = F.crossing(lam, 0.0, -20.0)
    assert abs(float(torch.linalg.matrix_norm(lossless, ord=2).max()) - 1) < 1e-12
    s = F.mmi1x2(lam)[0]
    assert abs(abs(s[1, 0]) ** 2 - 0.5) < 1e-15 and s[2, 0] == s[1, 0] and s[2, 1] == 0
    i = F.photodetector(torch.tensor([2.0 + 0j]), responsivity=0.9, dark_current=1e-9)
    assert abs(float(i) - (0.9 * 4 + 1e-9)) < 1e-7


def test_every_setting_is_differentiable():
    k = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    L = torch.tensor(40e-6, dtype=torch.float64, requires_grad=True)
    F.ring_add_drop(WL, k, k, L).abs().sum().backward()
    assert k.grad != 0 and L.grad != 0
