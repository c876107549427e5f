"""MZI chips: channel tables, netlist, zero file, limits, calibration, round trip."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch

from photonn import export as E
from photonn.devices import load_profile
from photonn.export.chip import COLUMNS

from .helpers import mzi_profile, tiny_mlp

X = torch.rand(5, 6, generator=torch.Generator().manual_seed(2))
N_CHANNELS = (15 * 2 + 6) + 4 + (6 * 2 + 4) + (6 * 2 + 4) + 3 + (3 * 2 + 3)


def _same(a, b):
    with torch.no_grad():
        return torch.equal(a(X), b(X))


def test_round_trip_from_bundle_and_from_files(tmp_path):
    model = tiny_mlp()
    prof = mzi_profile()
    for comp in (True, False):
        for bits in (6, 8, 16):
            kw = dict(bits=bits, compensate_crosstalk=comp)
            out = E.export(model, tmp_path / f"ex{bits}{comp}", prof, **kw)
            q = E.quantized_model(model, prof, **kw)
            assert _same(E.load(out), q) and _same(E.load(out, source="files"), q)
    # at 16 bits with pre-compensation the chip computes what the model computes
    q = E.quantized_model(model, prof, bits=16)
    with torch.no_grad():
        assert torch.allclose(q(X), model(X), rtol=0, atol=2e-3 * float(model(X).abs().max()))


def test_csv_and_json_parse_with_the_stdlib_and_match_the_bundle(tmp_path):
    model = tiny_mlp()
    out = E.export(model, tmp_path / "ex", mzi_profile())
    chip = E.read_manifest(out)["chips"][0]
    d = out / "chips" / chip["name"]
    with open(d / "channels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(COLUMNS) and len(rows) == N_CHANNELS == chip["report"]["channels"]
    js = json.loads((d / "channels.json").read_text())
    assert js["columns"] == list(COLUMNS) and len(js["channels"]) == N_CHANNELS
    assert js["channel_map"] == {r["name"]: int(r["channel"]) for r in rows}
    bundle = E.read_bundle(out / "bundle.h5")["chips"][chip["name"]]
    for col in COLUMNS:
        b = bundle[col]
        b = list(b) if isinstance(b, list) else b.tolist()
        if col == "branch":
            assert [int(r[col]) if r[col] else -1 for r in rows] == b
            assert [-1 if r[col] is None else r[col] for r in js["channels"]] == b
        elif col in ("name", "element", "shifter"):
            assert [r[col] for r in rows] == b == [r[col] for r in js["channels"]]
        else:  # numbers: exactly the bundle's (repr of float64, ints)
            conv = int if isinstance(b[0], int) else float
            assert [conv(r[col]) for r in rows] == b == [r[col] for r in js["channels"]]
    # physics of each row: P = V I, V = R I, phase = pi P / P_pi, code = V / step
    p = load_profile("si_thermo_optic_mzi")
    for r in rows:
        P, V, I = float(r["power_W"]), float(r["voltage_V"]), float(r["current_A"])
        assert math.isclose(P, V * I, rel_tol=1e-12, abs_tol=1e-18)
        assert math.isclose(V, I * p["heater_resistance"], rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(
            float(r["realised_phase_rad"]), math.pi * P / p["p_pi"], rel_tol=1e-12, abs_tol=1e-15
        )
        assert math.isclose(V, int(r["dac_code"]) * p.dac_step, rel_tol=1e-12, abs_tol=1e-15)
        assert 0 <= float(r["phase_rad"]) < 2 * math.pi
    zero = list(csv.DictReader(open(d / "zero_channels.csv", newline="")))
    assert len(zero) == N_CHANNELS and {z["dac_code"] for z in zero} == {"0"}
    assert [int(z["channel"]) for z in zero] == list(range(N_CHANNELS))


def test_netlist_is_a_connected_instances_connections_ports_graph(tmp_path):
    out = E.export(tiny_mlp(), tmp_path / "ex", mzi_profile())
    net = json.loads((out / "chips" / "mzi_test" / "netlist.json").read_text())
    inst, conn, ports = net["instances"], net["connections"], net["ports"]
    kinds = [v["component"] for v in inst.values()]
    assert kinds.count("mzi") == 15 + 6 + 6 + 3
    assert kinds.count("phase_shifter") == 6 + 4 + 4 + 3
    assert kinds.count("mzi_attenuator") == 4 + 3
    ends = list(conn) + list(conn.values()) + list(ports.values())
    for e in ends:
        name, port = e.split(",")
        assert name in inst and port in ("in0", "in1", "out0", "out1")
    assert len(set(conn.values())) == len(conn)  # every input fed once
    assert "1.layers.0.mesh_in.in0" in ports or "layers.0.mesh_in.in0" in ports
    mzi0 = inst["layers.0.mesh_in/mzi0"]["settings"]
    assert {"theta_rad", "phi_rad", "heater_theta_channel", "dac_code_phi"} <= set(mzi0)


def test_limits_are_refused_naming_channel_and_numbers():
    model = tiny_mlp()
    with pytest.raises(ValueError, match=rf"too few DAC channels.*needs {N_CHANNELS}.*= 50"):
        E.plan_export(model, mzi_profile(dac_channels=50))
    with pytest.raises(
        ValueError,
        match=r"channel \d+ \(layers\.\d\.\w+/\w+\d+/\w+\) needs "
        r"[\d.]+ mW, above channel_power_max = 30 mW",
    ):
        E.plan_export(model, mzi_profile(channel_power_max=0.03))
    with pytest.raises(
        ValueError,
        match=rf"the {N_CHANNELS} heaters draw [\d.]+ W in total, "
        r"above total_power_max = 0.5 W",
    ):
        E.plan_export(model, mzi_profile(total_power_max=0.5))


def test_crosstalk_precompensation_and_the_mesh_model_agree(tmp_path):
    model = tiny_mlp()
    prof = mzi_profile()
    on = E.plan_export(model, prof, bits=16).chips[0]
    off = E.plan_export(model, prof, bits=16, compensate_crosstalk=False).chips[0]
    assert on.compensated and not off.compensated
    assert on.report["residual_phase_max_abs_rad"] < 1e-3
    assert off.report["residual_phase_rms_rad"] > 10 * on.report["residual_phase_rms_rad"]
    # the export's crosstalk equals MZIMesh's model while the heater phases stay below 2 pi
    # (MZIMesh does not wrap 2 theta + crosstalk, which flips the sign of T past 2 pi)
    with torch.no_grad():
        for layer in model.layers:
            for mesh in (layer.mesh_in, layer.mesh_out):
                mesh.theta.uniform_(0, 2.4)
                mesh.phi.uniform_(0, 4.8)
    q = E.plan_export(model, prof, bits=8, compensate_crosstalk=False)
    ch = q.chips[0].channels
    name, kind, first, count, n, layout = q.chips[0].elements[0]
    assert bool((ch["realised_phase_rad"][first : first + count] < 2 * math.pi).all())
    from photonn.onchip import MZIMesh

    ref = MZIMesh(n, layout, dtype=torch.complex128)
    h = ch["realised_phase_rad"][first : first + count]
    b = ch["branch"][first : first + count]
    m = (count - n) // 2
    with torch.no_grad():
        ref.theta.copy_(b[: 2 * m : 2] * math.pi + h[: 2 * m : 2] / 2)
        ref.phi.copy_(h[1 : 2 * m : 2])
        ref.output_phase.copy_(h[2 * m :])
    ref.imperfections = ref.imperfections.replace(crosstalk=prof["thermal_crosstalk"])
    mine = q.quantized_model().get_submodule(name)
    assert torch.allclose(ref.matrix().to(torch.complex64), mine.matrix(), atol=1e-5)


def test_heater_calibration_read_back(tmp_path):
    model = tiny_mlp()
    prof = mzi_profile()
    plan = E.plan_export(model, prof, bits=12)
    rows = []
    for ch in range(N_CHANNELS):  # this chip's heaters are 4 % more efficient, channel by channel
        eff = 1.04 + 0.001 * ch
        for p in (0.0, 0.05, 0.1):
            rows.append(f"{ch},{p!r},{math.pi * p / prof['p_pi'] * eff!r}\n")
    cal = tmp_path / "cal.csv"
    cal.write_text("channel,power_W,phase_rad\n" + "".join(rows))
    out = E.export(model, tmp_path / "ex", prof, bits=12)
    measured = E.load(out, source="files", calibration=cal)
    ideal = E.load(out, source="files")
    assert _same(ideal, plan.quantized_model()) and not _same(measured, ideal)
    # compare with the crosstalk-free heater phase: rebuild without crosstalk
    out2 = E.export(model, tmp_path / "ex2", prof, bits=12, crosstalk=False)
    m2 = E.load(out2, source="files", calibration=cal).get_submodule("layers.0.mesh_in")
    got = torch.remainder(2 * m2.theta.detach().to(torch.float64), 2 * math.pi)
    p2 = E.plan_export(model, prof, bits=12, crosstalk=False).chips[0].channels["power_W"][:30:2]
    expect = torch.remainder(
        math.pi * p2 / prof["p_pi"] * (1.04 + 0.001 * torch.arange(0, 30, 2)), 2 * math.pi
    )
    assert torch.allclose(got, expect, atol=1e-5)
    # exporting with the calibration picks codes for the measured response
    out3 = E.export(model, tmp_path / "ex3", prof, bits=12, calibration=cal)
    assert (out3 / "chips" / "mzi_test" / "heater_calibration.csv").is_file()
    q3 = E.quantized_model(model, prof, bits=12, calibration=cal)
    assert _same(E.load(out3, source="files"), q3)
    with pytest.raises(ValueError, match="strictly increasing"):
        bad = tmp_path / "bad.csv"
        bad.write_text("channel,power_W,phase_rad\n0,0.0,1.0\n0,0.1,0.5\n")
        E.HeaterCalibration.from_csv(bad)


def test_fitted_iv_law_profile(tmp_path):
    src = load_profile("si_thermo_optic_mzi")
    text = src.path.read_text().replace("[provenance]", 'heater_iv = "iv.csv"\n\n[provenance]')
    (tmp_path / "chip.toml").write_text(text)
    i = [k * 1e-3 for k in range(0, 11)]
    (tmp_path / "iv.csv").write_text(
        "current_A,voltage_V\n" + "".join(f"{x!r},{1000 * x + 4e6 * x**3!r}\n" for x in i)
    )
    prof = load_profile(tmp_path / "chip.toml")
    r1, r3 = prof.heater_iv_law()
    assert abs(r1 - 1000) < 1e-6 and abs(r3 - 4e6) < 1e-1
    model = tiny_mlp()
    out = E.export(model, tmp_path / "ex", prof)
    rows = E.read_channels(out / "chips" / "si_thermo_optic_mzi")
    for r in rows[:20]:
        V, I = r["voltage_V"], r["current_A"]
        assert math.isclose(V, r1 * I + r3 * I**3, rel_tol=1e-9, abs_tol=1e-12)
    assert _same(E.load(out, source="files"), E.quantized_model(model, prof))
    assert "heater_iv" in E.read_manifest(out)["devices"]["si_thermo_optic_mzi"]["values"]
    (tmp_path / "iv.csv").write_text("current_A,voltage_V\n0.0,0.0\n")
    with pytest.raises(ValueError, match="at least 2 rows"):
        load_profile(tmp_path / "chip.toml")
