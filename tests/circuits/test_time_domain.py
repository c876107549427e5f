"""TimeDomain with delay lines of different lengths against its closed form."""

from __future__ import annotations

import math

import torch

from photonn.circuits import Circuit, TimeDomain

C0 = 299_792_458.0
DT = 1e-12
WG = {"neff": 2.4, "ng": 4.2, "wavelength0": 1.55e-6}


def test_unbalanced_mzi_is_two_delayed_copies():
    """Arms of 3 and 5 steps (the longer one first in the netlist, so that the line
    ends are gathered out of their order) between couplers k1, k2: the bar output is
    ``t1 t2 T_a x[n-3] + c1 c2 T_b x[n-5]`` with ``t = sqrt(1-k)``, ``c = i sqrt(k)`` and
    the arms' carrier transmissions ``T``; exact up to the rounding of the arms' phases
    (about 2e3 and 3.5e3 rad, so ~1e-12 rad in float64): 1e-11 on unit fields."""
    k1, k2 = 0.3, 0.6
    lengths = {"wa": 3 * DT * C0 / WG["ng"], "wb": 5 * DT * C0 / WG["ng"]}
    net = {
        "instances": {
            "dc1": {"component": "coupler", "settings": {"coupling": k1}},
            "dc2": {"component": "coupler", "settings": {"coupling": k2}},
            "wb": {"component": "straight",
                   "settings": {"length": lengths["wb"], "loss_db_per_m": 50.0, **WG}},
            "wa": {"component": "straight", "settings": {"length": lengths["wa"], **WG}},
        },
        "connections": {"dc1,o4": "wa,o1", "wa,o2": "dc2,o1", "dc1,o3": "wb,o1",
                        "wb,o2": "dc2,o2"},
        "ports": {"in": "dc1,o1", "in2": "dc1,o2", "bar": "dc2,o4", "cross": "dc2,o3"},
    }  # fmt: skip
    td = TimeDomain(Circuit(net), 1.55e-6, dt=DT)
    assert td.steps == {"wa": 3, "wb": 5}
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 40, generator=g, dtype=torch.complex128)
    drive = torch.zeros(2, 40, 4, dtype=torch.complex128)
    drive[..., 0] = x
    y = td(drive)[..., td.ports.index("bar")]

    def T(name, loss_db_per_m=0.0):
        beta = 2 * math.pi * WG["neff"] / 1.55e-6
        amp = 10 ** (-loss_db_per_m * lengths[name] / 20)
        return amp * complex(math.cos(beta * lengths[name]), math.sin(beta * lengths[name]))

    t1, t2 = math.sqrt(1 - k1), math.sqrt(1 - k2)
    c1, c2 = 1j * math.sqrt(k1), 1j * math.sqrt(k2)
    ref = torch.zeros_like(x)
    ref[:, 3:] += t1 * t2 * T("wa") * x[:, :-3]
    ref[:, 5:] += c1 * c2 * T("wb", 50.0) * x[:, :-5]
    assert (y - ref).abs().max() < 1e-11


def test_two_delay_lines_joined_end_to_end_and_driven_from_both_sides():
    """Lines of 3 and 2 steps joined directly (no instance between), external ports on
    line ends: each side receives the other's drive 5 steps later times ``T_a T_b``."""
    la, lb = 3 * DT * C0 / WG["ng"], 2 * DT * C0 / WG["ng"]
    net = {
        "instances": {
            "wa": {"component": "straight", "settings": {"length": la, **WG}},
            "wb": {"component": "straight",
                   "settings": {"length": lb, "loss_db_per_m": 80.0, **WG}},
        },
        "connections": {"wa,o2": "wb,o1"},
        "ports": {"left": "wa,o1", "right": "wb,o2"},
    }  # fmt: skip
    td = TimeDomain(Circuit(net), 1.55e-6, dt=DT)
    assert td.steps == {"wa": 3, "wb": 2}
    x = torch.randn(3, 30, 2, generator=torch.Generator().manual_seed(1), dtype=torch.complex128)
    y = td(x)
    beta = 2 * math.pi * WG["neff"] / 1.55e-6
    t = complex(math.cos(beta * (la + lb)), math.sin(beta * (la + lb))) * 10 ** (-80 * lb / 20)
    ref = torch.zeros_like(x)
    ref[:, 5:, 1] = t * x[:, :-5, 0]
    ref[:, 5:, 0] = t * x[:, :-5, 1]
    assert (y - ref).abs().max() < 1e-11
