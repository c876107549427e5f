"""The sparse (block-triangular) elimination against the dense solve: S-matrices and
gradients on netlists with and without loops, structural zeros of trainable settings,
singular loops, and the choice of method by size.

Tolerance: both methods are exact and run in complex128; their results differ by
rounding only (a few eps times the number of operations on a path), so 1e-12 leaves
three orders of magnitude for the ~1e-15 differences seen."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.circuits import EXPORT_MODELS, Circuit, Model, SingularCircuitError
from photonn.functional import circuits as F

WL = torch.linspace(1.53e-6, 1.57e-6, 21, dtype=torch.float64)
WG = {"neff": 2.4, "ng": 4.2, "wavelength0": 1.55e-6}


def mesh_net(n, seed=0):
    """A rectangular mesh of ``mzi`` instances with output phase shifters (no loops)."""
    g = torch.Generator().manual_seed(seed)
    inst, conn, ports = {}, {}, {}
    tip = dict.fromkeys(range(n))
    k = 0
    for col in range(n):
        for m in range(col % 2, n - 1, 2):
            name = f"mzi{k}"
            phase = float(torch.rand((), generator=g, dtype=torch.float64)) * 6
            inst[name] = {"component": "mzi", "settings": {"phase": phase, **WG}}
            for mode, port in ((m, "o1"), (m + 1, "o2")):
                if tip[mode] is None:
                    ports[f"in{mode}"] = f"{name},{port}"
                else:
                    conn[tip[mode]] = f"{name},{port}"
            tip[m], tip[m + 1] = f"{name},o4", f"{name},o3"
            k += 1
    for mode in range(n):
        inst[f"ps{mode}"] = {"component": "phase_shifter", "settings": {"phase": 0.3 * mode}}
        conn[tip[mode]] = f"ps{mode},o1"
        ports[f"out{mode}"] = f"ps{mode},o2"
    return {"instances": inst, "connections": conn, "ports": ports}


def rings_net(n):
    """All-pass rings (coupler + straight) in series: one loop each."""
    inst, conn = {}, {}
    for k in range(n):
        inst[f"dc{k}"] = {"component": "coupler", "settings": {"coupling": 0.1 + 0.05 * k}}
        inst[f"wg{k}"] = {
            "component": "straight",
            "settings": {"length": 30e-6 + 1e-6 * k, "loss_db_per_m": 200.0, **WG},
        }
        conn[f"dc{k},o3"] = f"wg{k},o1"
        conn[f"wg{k},o2"] = f"dc{k},o2"
        if k:
            conn[f"dc{k - 1},o4"] = f"dc{k},o1"
    return {"instances": inst, "connections": conn,
            "ports": {"in": "dc0,o1", "out": f"dc{n - 1},o4"}}  # fmt: skip


def _mirror(wavelengths, r=0.5):
    """A partial mirror: reflection ``r``, transmission ``i sqrt(1 - r^2)``."""
    wl = F._wl(wavelengths)
    r = F._t(r, wl) + 0 * wl
    t = 1j * torch.sqrt(1 - r**2)
    return torch.stack([torch.stack([r + 0j, t], -1), torch.stack([t, r + 0j], -1)], -2)


def _lossy3(wavelengths, g=0.3):
    """A 3-port with zero diagonal and every other entry ``g e^{i(i + 2 j)}``: connected
    ``o1`` to ``o2``, each of those waves feeds itself (a loop of one unknown)."""
    wl = F._wl(wavelengths)
    g = F._t(g, wl) + 0 * wl
    rows = []
    for i in range(3):
        row = []
        for j in range(3):
            row.append(0 * g + 0j if i == j else g * complex(math.cos(i + 2 * j),
                                                             math.sin(i + 2 * j)))  # fmt: skip
        rows.append(torch.stack(row, -1))
    return torch.stack(rows, -2)


MODELS = {
    "mirror": Model("mirror", ("o1", "o2"), _mirror, {"r": 0.5}),
    "lossy3": Model("lossy3", ("o1", "o2", "o3"), _lossy3, {"g": 0.3}),
}


def cavity_net():
    """Two mirrors with a waveguide between (a Fabry-Perot: a loop of reflections), a
    3-port closed on itself (loops of one unknown each), a ring."""
    return {
        "instances": {
            "m1": {"component": "mirror", "settings": {"r": 0.6}},
            "wg": {"component": "straight", "settings": {"length": 20e-6, **WG}},
            "m2": {"component": "mirror", "settings": {"r": 0.4}},
            "x": {"component": "lossy3", "settings": {"g": 0.35}},
            "dc": {"component": "coupler", "settings": {"coupling": 0.2}},
            "ring": {"component": "straight", "settings": {"length": 40e-6, **WG}},
            "bus": {"component": "straight", "settings": {"length": 5e-6, **WG}},
        },
        "connections": {
            "m1,o2": "wg,o1", "wg,o2": "m2,o1", "x,o1": "x,o2",
            "dc,o3": "ring,o1", "ring,o2": "dc,o2", "dc,o4": "bus,o1",
        },
        "ports": {"a": "m1,o1", "b": "dc,o1", "c": "bus,o2", "d": "m2,o2", "e": "x,o3"},
    }  # fmt: skip


def mixed_net():
    return {
        "instances": {
            "gc_in": {"component": "grating_coupler"},
            "split": {"component": "mmi1x2"},
            "r1": {"component": "ring_add_drop",
                   "settings": {"coupling1": 0.2, "coupling2": 0.1, "length": 40e-6}},
            "x": {"component": "crossing", "settings": {"crosstalk_db": -30}},
            "ps": {"component": "phase_shifter", "settings": {"phase": 0.4}},
            "comb": {"component": "mmi2x2"},
            "t1": {"component": "terminator", "settings": {"reflection": 0.1}},
        },
        "connections": {
            "gc_in,o1": "split,o1", "split,o2": "r1,o1", "split,o3": "ps,o1",
            "r1,o2": "x,o1", "ps,o2": "x,o2", "x,o3": "comb,o1", "x,o4": "comb,o2",
            "r1,o4": "t1,o1",
        },
        "ports": {"fibre": "gc_in,o2", "drop": "r1,o3", "o1": "comb,o3", "o2": "comb,o4"},
    }  # fmt: skip


NETS = {
    "mesh5": (mesh_net(5), {}),
    "rings4": (rings_net(4), {}),
    "cavity": (cavity_net(), MODELS),
    "mixed": (mixed_net(), {}),
}


@pytest.mark.parametrize("name", sorted(NETS))
def test_sparse_equals_dense(name):
    net, models = NETS[name]
    d = Circuit(net, models=models, method="dense").s_matrix(WL)
    s = Circuit(net, models=models, method="sparse").s_matrix(WL)
    assert d.abs().max() > 0.1
    assert torch.allclose(s, d, rtol=0, atol=1e-12)


def test_the_cavity_has_loops_of_every_kind():
    """The sparse solve sees the reflection loop, the self-fed waves and the ring."""
    c = Circuit(cavity_net(), models=MODELS, method="sparse")
    c.s_matrix(WL)
    _key, (_direct, parts) = c._sparse_cache
    sizes = sorted(size for p in parts for lv in p[2] for _n, size, *_ in lv[3])
    assert 1 in sizes and max(sizes) >= 2


def test_a_mesh_needs_no_solve(monkeypatch):
    import photonn.circuits.circuit as C

    def no_solve(*a, **k):
        raise AssertionError("a feed-forward netlist must not solve")

    monkeypatch.setattr(C, "_solve", no_solve)
    S = Circuit(mesh_net(6), method="sparse").s_matrix(WL)
    U = S[:, 6:, :6]  # lossless mesh: unitary from inputs to outputs, no reflection
    eye = torch.eye(6, dtype=U.dtype)
    assert torch.allclose(U @ U.mH, eye.expand_as(U), rtol=0, atol=1e-12)
    assert S[:, :6, :6].abs().max() == 0


def _grads(net, models, trainable, method):
    c = Circuit(net, models=models, trainable=trainable, method=method)
    S = c.s_matrix(WL)
    w = torch.linspace(0.1, 1.0, S.numel(), dtype=torch.float64).reshape(S.shape)
    (S.real * w + S.imag * w.flip(0)).sum().backward()
    return {n: p.grad.clone() for n, p in c.named_parameters()}


@pytest.mark.parametrize(
    "name, trainable",
    [("cavity", ["m1.r", "x.g", "dc.coupling", "wg.length"]),
     ("rings4", ["dc1.coupling", "wg2.length"]),
     ("mesh5", ["mzi3.phase", "ps2.phase"])],
)  # fmt: skip
def test_sparse_gradients_equal_dense(name, trainable):
    net, models = NETS[name]
    gd = _grads(net, models, trainable, "dense")
    gs = _grads(net, models, trainable, "sparse")
    assert gd.keys() == gs.keys() and len(gd) == len(trainable)
    for k in gd:
        assert torch.allclose(gs[k], gd[k], rtol=1e-10, atol=1e-12), k


def test_sparse_gradient_against_finite_differences():
    """Central differences (step 1e-6: truncation ~1e-12, rounding ~1e-10) agree with
    autograd through the loop solves to 1e-7."""
    c = Circuit(cavity_net(), models=MODELS, trainable=["m2.r", "dc.coupling"],
                method="sparse")  # fmt: skip
    wl = WL[:3]
    v = torch.randn((3, 5, 5), dtype=torch.complex128, generator=torch.Generator().manual_seed(1))

    def loss():
        return (c.s_matrix(wl) * v).real.sum()

    loss().backward()
    eps = 1e-6
    for q in c.parameters():
        q0 = q.detach().clone()
        with torch.no_grad():
            q.copy_(q0 + eps)
            up = loss()
            q.copy_(q0 - eps)
            dn = loss()
            q.copy_(q0)
        fd = float(up - dn) / (2 * eps)
        assert abs(fd) > 1e-3
        assert abs(float(q.grad) - fd) < 1e-7 * max(1.0, abs(fd))


def test_a_trainable_setting_at_a_structural_zero_keeps_its_gradient():
    """Export ``mzi`` blocks at theta = 0 are bar states: their cross entries are exactly
    zero but their derivatives are not; the sparse graph must keep those entries."""
    net = {
        "instances": {m: {"component": "mzi", "settings": {"theta_rad": 0.0, "phi_rad": 0.3}}
                      for m in ("m0", "m1", "m2")},
        "connections": {"m0,out1": "m1,in0", "m0,out0": "m2,in0", "m1,out0": "m2,in1"},
        "ports": {"i0": "m0,in0", "i1": "m0,in1", "i2": "m1,in1",
                  "o0": "m2,out0", "o1": "m2,out1", "o2": "m1,out1"},
    }  # fmt: skip
    trainable = ["m0.theta_rad", "m1.theta_rad"]
    gd = _grads(net, EXPORT_MODELS, trainable, "dense")
    gs = _grads(net, EXPORT_MODELS, trainable, "sparse")
    assert min(float(g.abs()) for g in gd.values()) > 0.1
    for k in gd:
        assert torch.allclose(gs[k], gd[k], rtol=1e-10, atol=1e-12), k


def test_an_ill_posed_loop_is_refused_by_the_sparse_solve():
    lam0 = 1.55e-6
    net = {
        "instances": {
            "loop": {"component": "straight",
                     "settings": {"length": 100 * lam0 / 2.5, "neff": 2.5, "wavelength0": lam0}},
            "wg": {"component": "straight", "settings": {"length": 1e-6}},
        },
        "connections": {"loop,o1": "loop,o2"},
        "ports": {"a": "wg,o1", "b": "wg,o2"},
    }  # fmt: skip
    c = Circuit(net, method="sparse")
    assert torch.isfinite(c.s_matrix(torch.tensor([1.5501e-6], dtype=torch.float64))).all()
    with pytest.raises(SingularCircuitError, match=r"singular at wavelength 1.55.*'loop'"):
        c.s_matrix(torch.tensor([1.54e-6, lam0], dtype=torch.float64))


def test_auto_takes_sparse_above_128_internal_ports():
    assert Circuit(mesh_net(4))._method == "dense"
    big = Circuit(mesh_net(12))
    assert big._method == "sparse"
    ref = Circuit(mesh_net(12), method="cascade").s_matrix(WL[:4])
    assert torch.allclose(big.s_matrix(WL[:4]), ref, rtol=0, atol=1e-12)
