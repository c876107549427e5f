"""Netlists: reading, validation errors that name the place and the fix, hierarchy,
trainable settings, the two elimination methods, and the batched-solve pitfall."""

from __future__ import annotations

import json

import pytest
import torch

from photonn.circuits import Circuit, Model, NetlistError, SingularCircuitError, read_netlist
from photonn.functional import circuits as F

WL = torch.linspace(1.53e-6, 1.57e-6, 41, dtype=torch.float64)


def ring_net(coupling=0.1, length=50e-6, loss=100.0, **wg):
    return {
        "instances": {
            "dc": {"component": "coupler", "settings": {"coupling": coupling}},
            "wg": {
                "component": "straight",
                "settings": {"length": length, "loss_db_per_m": loss, **wg},
            },
        },
        "connections": {"dc,o3": "wg,o1", "wg,o2": "dc,o2"},
        "ports": {"in": "dc,o1", "out": "dc,o4"},
    }


def test_ports_order_shape_and_forward():
    c = Circuit(ring_net())
    assert c.ports == ["in", "out"]
    S = c.s_matrix(WL)
    assert S.shape == (41, 2, 2) and S.dtype == torch.complex128
    x = torch.randn(3, 41, 2, dtype=torch.complex128, generator=torch.Generator().manual_seed(0))
    y = c(x, WL)
    assert torch.allclose(y, torch.einsum("woi,bwi->bwo", S, x))


def test_json_string_file_and_list_connections(tmp_path):
    net = ring_net()
    ref = Circuit(net).s_matrix(WL)
    p = tmp_path / "ring.json"
    p.write_text(json.dumps(net))
    assert torch.equal(Circuit(p).s_matrix(WL), ref)
    assert torch.equal(Circuit(str(p)).s_matrix(WL), ref)
    assert torch.equal(Circuit(json.dumps(net)).s_matrix(WL), ref)
    listed = dict(net, connections=[["dc,o3", "wg,o1"], ["wg,o2", "dc,o2"]])
    assert torch.equal(Circuit(listed).s_matrix(WL), ref)
    nets = dict(net, connections={}, nets=[{"p1": "dc,o3", "p2": "wg,o1"},
                                           {"p1": "wg,o2", "p2": "dc,o2"}])  # fmt: skip
    assert torch.equal(Circuit(nets).s_matrix(WL), ref)


def test_yaml_without_pyyaml_names_the_install(tmp_path, monkeypatch):
    p = tmp_path / "ring.yaml"
    p.write_text("instances: {}\n")
    import builtins

    real = builtins.__import__

    def no_yaml(name, *a, **k):
        if name == "yaml":
            raise ModuleNotFoundError("No module named 'yaml'", name="yaml")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_yaml)
    with pytest.raises(ModuleNotFoundError, match="pip install pyyaml"):
        read_netlist(p)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda n: n["instances"]["wg"].update(component="strait"),
         r"instance 'wg' uses unknown component 'strait'.*models="),
        (lambda n: n["connections"].update({"dc,o1": "wg,o2"}) or n["connections"].pop("wg,o2"),
         r"port 'o1' of instance 'dc' is connected twice"),
        (lambda n: n["connections"].pop("wg,o2"),
         r"port 'o2' of instance 'dc' is neither connected nor an external port.*terminator"),
        (lambda n: n["connections"].update({"dc,o3": "wg,o5"}),
         r"port 'o5' of instance 'wg', which has ports \['o1', 'o2'\]"),
        (lambda n: n["ports"].update(x="nowhere,o1"),
         r"external port 'x' names instance 'nowhere'"),
        (lambda n: n["instances"]["dc"]["settings"].update(gap_nm=200),
         r"instance 'dc' \('coupler'\) has no setting\(s\) \['gap_nm'\]"),
        (lambda n: n["instances"]["wg"]["settings"].pop("length"),
         r"instance 'wg' \('straight'\) needs setting 'length' \[m\]"),
    ],
)  # fmt: skip
def test_bad_netlists_name_instance_port_and_fix(change, match):
    net = ring_net()
    change(net)
    with pytest.raises(NetlistError, match=match):
        Circuit(net)


def test_wavelength_outside_a_components_range():
    c = Circuit(ring_net())
    with pytest.raises(ValueError, match=r"outside the range .* of instance 'wg' \('straight'\)"):
        c.s_matrix(torch.tensor([1.55e-6, 1.8e-6], dtype=torch.float64))
    # a coupler without a wavelength slope holds at any wavelength; with one, near wavelength0
    net = ring_net()
    net["instances"]["wg"]["settings"]["wavelength0"] = 1.31e-6
    Circuit(net).s_matrix(1.31e-6)
    net["instances"]["dc"]["settings"]["coupling_slope"] = 1e5
    with pytest.raises(ValueError, match=r"of instance 'dc' \('coupler'\)"):
        Circuit(net).s_matrix(1.31e-6)
    c.s_matrix(torch.tensor([1.8e-6], dtype=torch.float64), check_wavelengths=False)


def test_dangling_terminate_equals_an_explicit_terminator():
    net = ring_net()
    net["ports"].pop("out")
    with pytest.raises(NetlistError):
        Circuit(net)
    a = Circuit(net, dangling="terminate").s_matrix(WL)
    net["instances"]["t"] = {"component": "terminator"}
    net["connections"]["dc,o4"] = "t,o1"
    assert torch.allclose(Circuit(net).s_matrix(WL), a, rtol=0, atol=1e-15)


def test_ill_posed_loop_raises_instead_of_nan():
    # a lossless waveguide closed on itself, uncoupled, at an exact resonance:
    # 2 pi neff L / lambda0 = 2 pi * 100 with neff = 2.5, L = 100 lambda0 / 2.5
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
    for method in ("dense", "cascade"):
        c = Circuit(net, method=method)
        off = torch.tensor([1.5501e-6], dtype=torch.float64)
        assert torch.isfinite(c.s_matrix(off)).all()
        with pytest.raises(SingularCircuitError, match=r"singular at wavelength 1.55"):
            c.s_matrix(torch.tensor([1.54e-6, lam0], dtype=torch.float64))


def test_lossless_ring_at_critical_coupling_is_fine():
    # critical coupling: r = a (zero through transmission at resonance), no error
    L, loss = 50e-6, 300.0
    a = 10 ** (-loss * L / 20)
    c = Circuit(ring_net(coupling=1 - a**2, length=L, loss=loss, ng=2.4))  # no dispersion
    lam = 2.4 * L / 77  # neff L / lambda = 77: resonance
    S = c.s_matrix(torch.tensor([lam], dtype=torch.float64))
    assert S[0, 1, 0].abs() < 1e-9


def test_dense_and_cascade_agree_on_a_mixed_circuit():
    net = {
        "instances": {
            "gc_in": {"component": "grating_coupler"},
            "split": {"component": "mmi1x2"},
            "r1": {"component": "ring_add_drop",
                   "settings": {"coupling1": 0.2, "coupling2": 0.1, "length": 40e-6}},
            "ps": {"component": "phase_shifter", "settings": {"power": 0.01, "profile":
                                                             "si_thermo_optic_mzi"}},
            "x": {"component": "crossing", "settings": {"crosstalk_db": -30}},
            "b": {"component": "bend", "settings": {"radius": 5e-6, "loss_db_per_90": 0.05}},
            "comb": {"component": "mmi2x2"},
            "t1": {"component": "terminator", "settings": {"reflection": 0.1}},
        },
        "connections": {
            "gc_in,o1": "split,o1", "split,o2": "r1,o1", "split,o3": "ps,o1",
            "r1,o2": "x,o1", "ps,o2": "x,o2", "x,o3": "comb,o1", "x,o4": "b,o1",
            "b,o2": "comb,o2", "r1,o4": "t1,o1",
        },
        "ports": {"fibre": "gc_in,o2", "drop": "r1,o3", "o1": "comb,o3", "o2": "comb,o4"},
    }  # fmt: skip
    d = Circuit(net, method="dense").s_matrix(WL)
    c = Circuit(net, method="cascade").s_matrix(WL)
    assert torch.allclose(d, c, rtol=0, atol=1e-13)
    assert (d - d.transpose(-1, -2)).abs().max() < 1e-13  # reciprocal parts: symmetric


def test_hierarchy_a_circuit_as_a_component():
    ring = Circuit(ring_net())
    top = {
        "instances": {"r1": {"component": "ring"}, "r2": {"component": "ring"}},
        "connections": {"r1,out": "r2,in"},
        "ports": {"in": "r1,in", "out": "r2,out"},
    }
    S = Circuit(top, models={"ring": ring}).s_matrix(WL)
    t = ring.s_matrix(WL)[:, 1, 0]
    assert torch.allclose(S[:, 1, 0], t * t, rtol=0, atol=1e-14)
    S2 = Circuit(top, models={"ring": ring_net()}).s_matrix(WL)  # a nested netlist dict
    assert torch.allclose(S2, S, rtol=0, atol=0)


def test_trainable_settings_get_gradients_and_fixed_ones_do_not():
    c = Circuit(ring_net(), trainable=["dc.coupling", ("wg", "length")])
    names = sorted(n for n, _ in c.named_parameters())
    assert len(names) == 2
    p = c.parameter("dc", "coupling")
    loss = c.s_matrix(WL)[:, 1, 0].abs().pow(2).mean()
    loss.backward()
    assert p.grad is not None and p.grad != 0
    assert c.parameter("wg", "length").grad != 0
    with pytest.raises(NetlistError, match="no instance has"):
        Circuit(ring_net(), trainable=["dc.gap_nm"])
    # an nn.Parameter in the netlist is trained as it is
    k = torch.nn.Parameter(torch.tensor(0.2, dtype=torch.float64))
    net = ring_net()
    net["instances"]["dc"]["settings"]["coupling"] = k
    c2 = Circuit(net)
    c2.s_matrix(WL)[:, 1, 0].abs().sum().backward()
    assert k.grad is not None and c2.parameter("dc", "coupling") is k


def test_user_model():
    def attenuator(wavelengths, loss_db=3.0):
        return F.straight(wavelengths, 0.0, loss_db_per_m=0.0) * 10 ** (-loss_db / 20)

    m = Model("att", ("o1", "o2"), attenuator, {"loss_db": 3.0})
    net = {"instances": {"a": {"component": "att", "settings": {"loss_db": 6.0}}},
           "connections": {}, "ports": {"i": "a,o1", "o": "a,o2"}}  # fmt: skip
    S = Circuit(net, models={"att": m}).s_matrix(WL)
    assert torch.allclose(S[:, 1, 0].abs(), torch.full((41,), 10 ** (-6 / 20), dtype=torch.float64))


def _chain(n_rings):
    inst, conn = {}, {}
    for k in range(n_rings):
        settings = {"coupling1": 0.1 + 0.005 * k, "coupling2": 0.1}
        settings.update(length=40e-6 + k * 1e-7, loss_db_per_m=200.0)
        inst[f"r{k}"] = {"component": "ring_add_drop", "settings": settings}
        if k:
            conn[f"r{k - 1},o2"] = f"r{k},o1"
            conn[f"r{k - 1},o3"] = f"r{k},o4"
    ports = {"in": "r0,o1", "add": "r0,o4", "out": f"r{n_rings - 1},o2",
             "drop": f"r{n_rings - 1},o3"}  # fmt: skip
    return {"instances": inst, "connections": conn, "ports": ports}


def test_large_dense_solve_is_right_with_two_threads():
    """PITFALLS #1: a batched solve of >= ~152 unknowns on two threads can be silently
    wrong. 50 add-drop rings chained through and drop buses: 196 internal ports, solved
    densely over 8 wavelengths with two threads, must equal the cascade (small solves)."""
    wl = torch.linspace(1.549e-6, 1.551e-6, 8, dtype=torch.float64)
    net = _chain(50)
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        dense = Circuit(net, method="dense").s_matrix(wl)
    finally:
        torch.set_num_threads(old)
    cascade = Circuit(net, method="cascade").s_matrix(wl)
    assert 2 * 98 >= 152
    assert torch.allclose(dense, cascade, rtol=0, atol=1e-12)
