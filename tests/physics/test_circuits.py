"""Circuits against closed forms: rings (transmission and group delay), the MZI spectrum,
a lattice filter of MZIs, unitarity and reciprocity, and gradients.

The circuits are built from couplers and straight waveguides in netlists and evaluated
by port elimination; the references are the textbook formulas written here in numpy
(Bogaerts et al., "Silicon microring resonators", Laser Photonics Rev. 6, 47 (2012),
with ``r`` the self-coupling and ``a`` the single-pass amplitude). All in float64;
tolerances are rounding level (1e-12) unless stated.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from photonn.circuits import Circuit, Model
from photonn.functional import circuits as F

C0 = 299_792_458.0
NEFF, NG, LAM0 = 2.4, 4.2, 1.55e-6
WL = torch.linspace(1.545e-6, 1.555e-6, 401, dtype=torch.float64)


def _phi(wl, length):
    """Round-trip phase of the first-order dispersion model (independent of the code)."""
    wl = np.asarray(wl)
    neff = NEFF - (NG - NEFF) * (wl - LAM0) / LAM0
    return 2 * np.pi * neff * length / wl


def _wg(length, loss):
    return {"component": "straight", "settings": {"length": length, "loss_db_per_m": loss}}


def allpass_net(k, L, loss):
    return {
        "instances": {"dc": {"component": "coupler", "settings": {"coupling": k}},
                      "ring": _wg(L, loss)},
        "connections": {"dc,o3": "ring,o1", "ring,o2": "dc,o2"},
        "ports": {"in": "dc,o1", "through": "dc,o4"},
    }  # fmt: skip


def adddrop_net(k1, k2, L, loss):
    return {
        "instances": {
            "dc1": {"component": "coupler", "settings": {"coupling": k1}},
            "dc2": {"component": "coupler", "settings": {"coupling": k2}},
            "h1": _wg(L / 2, loss),
            "h2": _wg(L / 2, loss),
        },
        "connections": {"dc1,o3": "h1,o1", "h1,o2": "dc2,o2", "dc2,o3": "h2,o1",
                        "h2,o2": "dc1,o2"},
        "ports": {"in": "dc1,o1", "through": "dc1,o4", "add": "dc2,o1", "drop": "dc2,o4"},
    }  # fmt: skip


def _group_delay(circuit, out, inp, wl):
    """tau = d arg(S) / d omega = d arg(S)/d lambda * (-lambda^2 / (2 pi c)), by autograd."""
    w = wl.clone().requires_grad_(True)
    S = circuit.s_matrix(w)[:, out, inp]
    (g,) = torch.autograd.grad(torch.angle(S).sum(), w)
    return (g * (-(wl**2) / (2 * math.pi * C0))).numpy()


@pytest.mark.parametrize("k, loss", [(0.05, 0.0), (0.1, 300.0), (0.02, 800.0)])
def test_allpass_ring_transmission_and_group_delay(k, loss):
    L = 60e-6
    c = Circuit(allpass_net(k, L, loss))
    S = c.s_matrix(WL)
    r, a = math.sqrt(1 - k), 10 ** (-loss * L / 20)
    phi = _phi(WL.numpy(), L)
    cos = np.cos(phi)
    T = (a**2 - 2 * r * a * cos + r**2) / (1 - 2 * r * a * cos + (r * a) ** 2)
    assert np.abs(S[:, 1, 0].abs().numpy() ** 2 - T).max() < 1e-12
    # the built-in closed-form model is the same circuit
    assert (F.ring_allpass(WL, k, L, loss_db_per_m=loss) - S).abs().max() < 1e-12
    # group delay: d arg t / d phi * (ng L / c)
    dphase = (a**2 - r * a * cos) / (r**2 + a**2 - 2 * r * a * cos) - (
        (r * a) ** 2 - r * a * cos
    ) / (1 + (r * a) ** 2 - 2 * r * a * cos)
    tau = dphase * NG * L / C0
    got = _group_delay(c, 1, 0, WL)
    assert np.abs(got - tau).max() < 1e-9 * np.abs(tau).max()


def test_add_drop_ring_transmission_and_drop_delay():
    k1, k2, L, loss = 0.08, 0.05, 50e-6, 200.0
    c = Circuit(adddrop_net(k1, k2, L, loss))
    S = c.s_matrix(WL)
    p = {n: i for i, n in enumerate(c.ports)}
    r1, r2, a = math.sqrt(1 - k1), math.sqrt(1 - k2), 10 ** (-loss * L / 20)
    phi = _phi(WL.numpy(), L)
    cos = np.cos(phi)
    den = 1 - 2 * r1 * r2 * a * cos + (r1 * r2 * a) ** 2
    Tp = (r2**2 * a**2 - 2 * r1 * r2 * a * cos + r1**2) / den
    Td = (1 - r1**2) * (1 - r2**2) * a / den
    assert np.abs(S[:, p["through"], p["in"]].abs().numpy() ** 2 - Tp).max() < 1e-12
    assert np.abs(S[:, p["drop"], p["in"]].abs().numpy() ** 2 - Td).max() < 1e-12
    # built-in model: ports o1 in, o2 through, o3 drop, o4 add
    B = F.ring_add_drop(WL, k1, k2, L, loss_db_per_m=loss)
    order = [p["in"], p["through"], p["drop"], p["add"]]
    assert (B - S[:, order][:, :, order]).abs().max() < 1e-12
    # drop delay: half a round trip plus the resonant part of 1 / (1 - r1 r2 a e^{i phi})
    b = r1 * r2 * a
    tau = (0.5 - (b**2 - b * cos) / (1 + b**2 - 2 * b * cos)) * NG * L / C0
    got = _group_delay(c, p["drop"], p["in"], WL)
    assert np.abs(got - tau).max() < 1e-9 * np.abs(tau).max()


def test_mzi_spectrum_and_free_spectral_range():
    dL, phase = 40e-6, 0.7
    wl = WL.numpy()
    net = {
        "instances": {
            "c1": {"component": "coupler"}, "c2": {"component": "coupler"},
            "bot": _wg(100e-6, 0.0), "top": _wg(100e-6 + dL, 0.0),
            "ps": {"component": "phase_shifter", "settings": {"phase": phase}},
        },
        "connections": {"c1,o4": "bot,o1", "bot,o2": "c2,o1", "c1,o3": "ps,o1",
                        "ps,o2": "top,o1", "top,o2": "c2,o2"},
        "ports": {"o1": "c1,o1", "o2": "c1,o2", "o3": "c2,o3", "o4": "c2,o4"},
    }  # fmt: skip
    S = Circuit(net).s_matrix(WL)
    dphi = _phi(wl, dL) + phase
    assert np.abs(S[:, 3, 0].abs().numpy() ** 2 - np.sin(dphi / 2) ** 2).max() < 1e-12
    assert np.abs(S[:, 2, 0].abs().numpy() ** 2 - np.cos(dphi / 2) ** 2).max() < 1e-12
    # the built-in "mzi" is the same circuit
    M = F.mzi(WL, 100e-6, dL, phase)
    assert (M - S).abs().max() < 1e-12
    # free spectral range between bar-port minima: dphi changes by 2 pi, and with
    # neff linear in lambda, neff / lambda = ng / lambda - const, so exactly
    # FSR = lam1 lam2 / (ng dL). Minima are found on a grid of step h: error <= 2 h.
    dL2 = 400e-6
    fine = torch.linspace(1.545e-6, 1.555e-6, 100001, dtype=torch.float64)
    h = float(fine[1] - fine[0])
    bar = F.mzi(fine, 100e-6, dL2, phase)[:, 3, 0].abs().numpy()
    mins = np.nonzero((bar[1:-1] < bar[:-2]) & (bar[1:-1] < bar[2:]))[0] + 1
    lam = fine.numpy()[mins]
    assert len(lam) >= 5
    assert np.abs(np.diff(lam) - lam[1:] * lam[:-1] / (NG * dL2)).max() <= 2.5 * h


def test_lattice_filter_of_mzis_against_its_transfer_function():
    """Three couplers and two delay sections (a second-order lattice, Madsen & Zhao):
    H = K3 D K2 D K1 with K = [[r, i k], [i k, r]] and D = diag(1, z^-1)-like
    delays, computed here as a product of 2x2 matrices in numpy."""
    ks = [0.5, 0.3, 0.8]
    L, dL = 50e-6, 25e-6
    inst = {f"c{j}": {"component": "coupler", "settings": {"coupling": k}}
            for j, k in enumerate(ks)}  # fmt: skip
    conn = {}
    for j in range(2):
        inst[f"b{j}"] = _wg(L, 0.0)
        inst[f"t{j}"] = _wg(L + dL, 0.0)
        conn[f"c{j},o4"] = f"b{j},o1"
        conn[f"b{j},o2"] = f"c{j + 1},o1"
        conn[f"c{j},o3"] = f"t{j},o1"
        conn[f"t{j},o2"] = f"c{j + 1},o2"
    net = {"instances": inst, "connections": conn,
           "ports": {"in_bot": "c0,o1", "in_top": "c0,o2", "out_top": "c2,o3",
                     "out_bot": "c2,o4"}}  # fmt: skip
    S = Circuit(net).s_matrix(WL).numpy()
    wl = WL.numpy()
    H = np.broadcast_to(np.eye(2, dtype=complex), (len(wl), 2, 2))
    for j, k in enumerate(ks):
        K = np.array([[math.sqrt(1 - k), 1j * math.sqrt(k)], [1j * math.sqrt(k), math.sqrt(1 - k)]])
        H = K @ H
        if j < 2:
            D = np.zeros((len(wl), 2, 2), complex)
            D[:, 0, 0] = np.exp(1j * _phi(wl, L))
            D[:, 1, 1] = np.exp(1j * _phi(wl, L + dL))
            H = D @ H
    # H rows (bottom out, top out), columns (bottom in, top in)
    got = S[:, [3, 2]][:, :, [0, 1]]
    assert np.abs(got - H).max() < 1e-12
    assert np.abs(np.abs(H) ** 2).sum(1).max() < 1 + 1e-12  # lossless columns


def _lossless_mesh_net(n, seed):
    """A rectangular mesh of couplers, straight arms and phase shifters (random)."""
    g = np.random.default_rng(seed)
    inst, conn = {}, {}
    tip = {m: None for m in range(n)}
    ports = {}
    k = 0
    for col in range(n):
        for m in range(col % 2, n - 1, 2):
            dc, ps = f"dc{k}", f"ps{k}"
            inst[dc] = {
                "component": "coupler",
                "settings": {"coupling": float(g.uniform(0.1, 0.9))},
            }
            inst[ps] = {"component": "phase_shifter", "settings": {"phase": float(g.uniform(0, 6))}}
            for mode, port in ((m, "o1"), (m + 1, "o2")):
                if tip[mode] is None:
                    ports[f"in{mode}"] = f"{dc},{port}"
                else:
                    conn[tip[mode]] = f"{dc},{port}"
            conn[f"{dc},o3"] = f"{ps},o1"
            tip[m + 1], tip[m] = f"{ps},o2", f"{dc},o4"
            k += 1
    for mode in range(n):
        wg = f"wg{mode}"
        inst[wg] = _wg(20e-6 * (mode + 1), 0.0)
        if tip[mode] is None:
            ports[f"in{mode}"] = f"{wg},o1"
        else:
            conn[tip[mode]] = f"{wg},o1"
        ports[f"out{mode}"] = f"{wg},o2"
    return {"instances": inst, "connections": conn, "ports": ports}


def _reciprocity_error(S):
    return float((S - S.transpose(-1, -2)).abs().max())


def _unitarity_error(S):
    eye = torch.eye(S.shape[-1], dtype=S.dtype)
    return float((S.conj().transpose(-1, -2) @ S - eye).abs().max())


def test_lossless_passive_circuits_are_unitary_and_reciprocal():
    for method in ("dense", "cascade"):
        c = Circuit(_lossless_mesh_net(6, 0), method=method)
        S = c.s_matrix(WL[::40])
        assert _unitarity_error(S) < 1e-12 and _reciprocity_error(S) < 1e-12
    ring = Circuit(adddrop_net(0.1, 0.1, 50e-6, 0.0)).s_matrix(WL)
    assert _unitarity_error(ring) < 1e-12 and _reciprocity_error(ring) < 1e-12
    lossy = Circuit(adddrop_net(0.1, 0.1, 50e-6, 500.0)).s_matrix(WL)
    assert _unitarity_error(lossy) > 1e-3  # a lossy ring is not unitary
    assert torch.linalg.matrix_norm(lossy, ord=2).max() <= 1 + 1e-12  # but passive


def test_a_non_reciprocal_element_breaks_the_symmetry():
    """An ideal isolator (o1 -> o2 passes, o2 -> o1 blocked) inside a ring: the
    reciprocity check above must fail on it."""

    def isolator(wavelengths):
        z = torch.zeros(wavelengths.shape, dtype=torch.complex128)
        one = torch.ones(wavelengths.shape, dtype=torch.complex128)
        return torch.stack([torch.stack([z, z], -1), torch.stack([one, z], -1)], -2)

    iso = Model("isolator", ("o1", "o2"), isolator, {})
    net = allpass_net(0.2, 60e-6, 100.0)
    net["instances"]["iso"] = {"component": "isolator"}
    net["connections"] = {"dc,o3": "ring,o1", "ring,o2": "iso,o1", "iso,o2": "dc,o2"}
    net["ports"]["in2"] = "dc,o2"
    net["instances"]["dc2"] = {"component": "coupler", "settings": {"coupling": 0.3}}
    net["connections"]["dc,o4"] = "dc2,o1"
    net["ports"] = {"a": "dc,o1", "b": "dc2,o2", "c": "dc2,o3", "d": "dc2,o4"}
    S = Circuit(net, models={"isolator": iso}).s_matrix(WL)
    assert _reciprocity_error(S) > 0.1


def test_gradcheck_complex128_small_circuit():
    net = adddrop_net(0.1, 0.2, 40e-6, 100.0)
    c = Circuit(net, trainable=["dc1.coupling", "h1.length", "h2.loss_db_per_m"])
    wl = torch.linspace(1.549e-6, 1.551e-6, 5, dtype=torch.float64)
    x = torch.randn(5, 4, dtype=torch.complex128, generator=torch.Generator().manual_seed(1))
    names = [f"params.{k}" for k in c.params]

    def f(k, L, loss):
        return torch.func.functional_call(c, dict(zip(names, (k, L, loss))), (x, wl))

    args = (
        torch.tensor(0.1, dtype=torch.float64, requires_grad=True),
        torch.tensor(20e-6, dtype=torch.float64, requires_grad=True),
        torch.tensor(100.0, dtype=torch.float64, requires_grad=True),
    )
    # steps fit each input's scale: coupling O(0.1), length O(1e-5 m), loss O(100 dB/m)
    assert torch.autograd.gradcheck(lambda k: f(k, args[1], args[2]), (args[0],), eps=1e-7)
    assert torch.autograd.gradcheck(
        lambda L: f(args[0], L, args[2]), (args[1],), eps=1e-13, atol=1e-5
    )
    assert torch.autograd.gradcheck(lambda s: f(args[0], args[1], s), (args[2],), eps=1e-4)
    # the cascade elimination (in-place slot updates) differentiates the same way
    cc = Circuit(net, trainable=["dc1.coupling"], method="cascade")

    def g(k):
        return torch.func.functional_call(cc, {"params.i0_coupling": k}, (x, wl))

    assert torch.autograd.gradcheck(g, (args[0],), eps=1e-7)
