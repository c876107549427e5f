"""MZIMesh: construction, validation, errors, crosstalk, DAC and the device profile."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.functional.mzi_errors import (
    dac_quantize_phase,
    quantize_mzi_phases,
    thermal_crosstalk_matrix,
)
from photonn.functional.mzi_mesh import clements_layout, mzi_mesh_matrix, reck_layout
from photonn.onchip import DAC, MeshImperfections, MZIMesh, fidelity, haar_unitary, reprogram

C128, F64 = torch.complex128, torch.float64


def test_smoke_and_shapes():
    mesh = MZIMesh(5)
    assert mesh.theta.shape == (10,) and mesh.output_phase.shape == (5,)
    assert mesh.theta.dtype == torch.float32
    x = torch.ones(3, 2, 5, dtype=torch.complex64)
    assert mesh(x).shape == (3, 2, 5)
    torch.testing.assert_close(mesh.matrix(), torch.eye(5, dtype=torch.complex64))  # identity init
    assert "clements" in repr(mesh)
    assert MZIMesh(5, "reck").layout.n_columns == 7


def test_exceptions():
    mesh = MZIMesh(4)
    with pytest.raises(TypeError, match="complex"):
        mesh(torch.ones(4))
    with pytest.raises(TypeError, match="complex128"):
        mesh(torch.ones(4, dtype=C128))
    with pytest.raises(ValueError, match="last dimension 4"):
        mesh(torch.ones(3, dtype=torch.complex64))
    with pytest.raises(TypeError, match="imaginary"):
        mesh.to(torch.float32)
    with pytest.raises(ValueError, match="layout"):
        MZIMesh(4, "butterfly")
    with pytest.raises(TypeError, match="generator"):
        MZIMesh(4, init="haar")
    with pytest.raises(ValueError, match="not unitary"):
        MZIMesh.from_unitary(torch.ones(3, 3, dtype=C128))
    with pytest.raises(ValueError, match="arm_loss_db"):
        mesh.imperfections = MeshImperfections(arm_loss_db=-torch.ones(6, 2))
    with pytest.raises(ValueError, match=r"\(6, 2\)"):
        mesh.imperfections = MeshImperfections(coupler_error=torch.zeros(5, 2))
    with pytest.raises(ValueError, match="theta and phi"):
        mzi_mesh_matrix(
            torch.zeros(3, dtype=F64), torch.zeros(3, dtype=F64), None, clements_layout(4)
        )


def test_state_dict_round_trip():
    gen = torch.Generator().manual_seed(0)
    a = MZIMesh(6, init="haar", generator=gen, dtype=C128)
    b = MZIMesh(6, dtype=C128)
    b.load_state_dict(a.state_dict())
    torch.testing.assert_close(a.matrix(), b.matrix())


def test_sample_errors_seeded_and_switchable():
    gen = torch.Generator().manual_seed(1)
    U = haar_unitary(6, gen)
    a, b = MZIMesh.from_unitary(U), MZIMesh.from_unitary(U)
    for m in (a, b):
        m.imperfections = MeshImperfections.sample(
            m.layout.n_mzi,
            torch.Generator().manual_seed(5),
            coupler_sigma=0.05,
            loss_db=0.2,
            phase_sigma=0.01,
        )
    assert a.has_errors
    torch.testing.assert_close(a.matrix(), b.matrix(), rtol=0, atol=0)
    assert (a.matrix() - U).abs().max() > 1e-3
    torch.testing.assert_close(a.matrix(ideal=True), U, rtol=0, atol=1e-12)
    a.imperfections = MeshImperfections()
    assert not a.has_errors
    torch.testing.assert_close(a.matrix(), U, rtol=0, atol=1e-12)


def test_phase_errors_equal_shifted_phases():
    gen = torch.Generator().manual_seed(2)
    mesh = MZIMesh(5, init="haar", generator=gen, dtype=C128)
    dt = 0.1 * torch.randn(10, generator=gen, dtype=F64)
    dp = 0.1 * torch.randn(10, generator=gen, dtype=F64)
    mesh.imperfections = MeshImperfections(theta_error=dt, phi_error=dp)
    ref = mzi_mesh_matrix(mesh.theta + dt, mesh.phi + dp, mesh.output_phase, mesh.layout)
    torch.testing.assert_close(mesh.matrix(), ref, rtol=0, atol=1e-13)


def test_crosstalk_matrix_structure_and_effect():
    layout = clements_layout(6)
    K = thermal_crosstalk_matrix(layout, 0.05)
    torch.testing.assert_close(K, K.T)
    torch.testing.assert_close(torch.diagonal(K), torch.ones(layout.n_mzi, dtype=F64))
    for i, j in (K - torch.eye(layout.n_mzi, dtype=F64)).nonzero().tolist():
        assert layout.columns[i] == layout.columns[j]
        assert abs(layout.tops[i] - layout.tops[j]) == 2
    # column 0 of a 6-mode Clements mesh has MZIs on pairs 0, 2, 4: two neighbour links
    assert (K[:3, :3] - torch.eye(3, dtype=F64)).count_nonzero() == 4
    # the mesh applies K to heater phases wrap(2 theta) and wrap(phi)
    gen = torch.Generator().manual_seed(3)
    mesh = MZIMesh(6, init="haar", generator=gen, dtype=C128)
    mesh.imperfections = MeshImperfections(crosstalk=0.05)
    A = K - torch.eye(layout.n_mzi, dtype=F64)
    th = mesh.theta + A @ torch.remainder(2 * mesh.theta, 2 * math.pi) / 2
    ph = mesh.phi + A @ torch.remainder(mesh.phi, 2 * math.pi)
    ref = mzi_mesh_matrix(th, ph, mesh.output_phase, layout)
    torch.testing.assert_close(mesh.matrix(), ref, rtol=0, atol=1e-13)
    # an explicit matrix gives the same
    mesh.imperfections = MeshImperfections(crosstalk=K)
    torch.testing.assert_close(mesh.matrix(), ref, rtol=0, atol=1e-13)
    with pytest.raises(ValueError, match="crosstalk matrix"):
        mesh.imperfections = MeshImperfections(crosstalk=torch.eye(3))


@pytest.mark.parametrize("kappa", [2.0, 1.0, -0.01, float("nan"), float("inf")])
def test_crosstalk_outside_a_fraction_is_refused(kappa):
    """A neighbour sees a fraction in [0, 1) of a heater's phase; the refusal names the
    value and leaves the mesh as it was."""
    mesh = MZIMesh(4, dtype=C128)
    mesh.imperfections = MeshImperfections(crosstalk=0.05)
    before = mesh.crosstalk_value.clone()
    with pytest.raises(
        ValueError, match=r"crosstalk must (be a fraction in \[0, 1\)|be finite)"
    ) as e:
        mesh.imperfections = MeshImperfections(crosstalk=kappa)
    assert repr(kappa) in str(e.value)
    assert torch.equal(mesh.crosstalk_value, before)
    mesh.imperfections = MeshImperfections(crosstalk=0.0)  # the edges of the range are accepted
    mesh.imperfections = MeshImperfections(crosstalk=0.999)


def test_crosstalk_matrix_entries_are_checked():
    layout = clements_layout(4)
    K = thermal_crosstalk_matrix(layout, 0.05)
    mesh = MZIMesh(4, dtype=C128)
    for bad in (-0.2, 1.5):
        Kb = K.clone()
        Kb[0, 1] = bad
        with pytest.raises(ValueError, match=r"off-diagonal couplings must lie in \[0, 1\)") as e:
            mesh.imperfections = MeshImperfections(crosstalk=Kb)
        assert str(bad) in str(e.value)
    Kb = K.clone()
    Kb[2, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN or Inf"):
        mesh.imperfections = MeshImperfections(crosstalk=Kb)
    with pytest.raises(TypeError, match="real"):
        mesh.imperfections = MeshImperfections(crosstalk=K.to(C128))
    assert mesh.crosstalk_index is None


def test_dac_quantisation_linear_and_heater():
    gen = torch.Generator().manual_seed(4)
    p = torch.rand(1000, generator=gen, dtype=F64) * 2 * math.pi
    q = dac_quantize_phase(p, 6)
    step = 2 * math.pi / 64
    assert (q - p).abs().max() <= step / 2 + 1e-12
    torch.testing.assert_close(q / step, torch.round(q / step), rtol=0, atol=1e-9)
    # heater law: levels are max_phase (k / (2^b - 1))^2
    pmax = 4 * math.pi
    qh = dac_quantize_phase(p, 4, law="heater", max_phase=pmax)
    wrapped = qh == 2 * math.pi  # code 0 reached from above (2 pi = 0)
    k = torch.sqrt(torch.where(wrapped, 0.0, qh) / pmax) * 15
    torch.testing.assert_close(k, torch.round(k), rtol=0, atol=1e-9)
    # rounding the voltage is at most half a code step of voltage away
    v = torch.sqrt(p / pmax) * 15
    assert (v - k)[~wrapped].abs().max() <= 0.5 + 1e-9
    # wrapping to 2 pi happens only when 2 pi is nearer than the code below it
    assert ((2 * math.pi - p[wrapped]) <= (p[wrapped] - pmax * (14 / 15) ** 2).abs()).all()
    # 12 bits: half a code step in phase, (d phase / d code) / 2 = sqrt(p pmax) / 4095 at most
    bound = math.sqrt(2 * math.pi * pmax) / 4095
    assert (dac_quantize_phase(p, 12, law="heater", max_phase=pmax) - p).abs().max() <= bound
    # straight-through gradient and theta branch kept
    th = torch.tensor([0.3, 3.5, -1.0], dtype=F64, requires_grad=True)
    tq, _ = quantize_mzi_phases(th, torch.zeros(3, dtype=F64), 8)
    assert (tq - th).abs().max() <= math.pi / 256 + 1e-12
    tq.sum().backward()
    torch.testing.assert_close(th.grad, torch.ones(3, dtype=F64))


@pytest.mark.parametrize("law", ["linear", "heater"])
def test_quantised_theta_keeps_its_branch_at_the_wrap_in_float32(law):
    # float32 remainder(2 theta, 2 pi) returns 2 pi itself for 2 theta = -2e-7; its level is
    # 0, and the change must be the wrapped one (theta moves by ~1e-7, not by -pi, which
    # would flip the sign of the MZI)
    th = torch.tensor([-1e-7, -3e-8, 1e-7, math.pi - 1e-7], dtype=torch.float32)
    tq, _ = quantize_mzi_phases(th, torch.zeros(4), 6, law=law, max_phase=2.5 * math.pi)
    # a level is at most half the largest code step away in 2 theta (heater law: the step
    # below 2 pi is 2.5 pi (1 - (62/63)^2) < 0.25 rad), so theta moves less than 0.07 rad
    assert (tq - th).abs().max() < 0.07


def test_dac_in_mesh_limits_fidelity():
    gen = torch.Generator().manual_seed(6)
    U = haar_unitary(8, gen)
    mesh = MZIMesh.from_unitary(U)
    f = []
    for bits in (3, 6, 12):
        mesh.imperfections = MeshImperfections(dac=DAC(bits))
        f.append(mesh.fidelity(U).item())
    assert f[0] < f[1] < f[2] <= 1 + 1e-12
    assert f[2] > 0.9999


def test_set_dac_refuses_bad_settings_when_set_not_at_the_forward_pass():
    mesh = MZIMesh(4, dtype=C128)
    with pytest.raises(ValueError, match="max_phase"):
        DAC(8, law="heater", max_phase=0.0)
    with pytest.raises(ValueError, match="max_phase"):
        DAC(8, law="heater", max_phase=float("nan"))
    with pytest.raises(ValueError, match="law"):
        DAC(8, law="cubic")
    with pytest.raises((TypeError, ValueError), match="bits"):
        DAC(0)
    assert mesh.dac_bits is None  # a refused setting leaves the DAC off
    mesh.imperfections = MeshImperfections(dac=DAC(8, law="heater", max_phase=3 * math.pi))
    assert (mesh.dac_bits, mesh.dac_law, mesh.dac_max_phase) == (8, "heater", 3 * math.pi)


def test_reprogram_recovers_fidelity():
    gen = torch.Generator().manual_seed(7)
    U = haar_unitary(6, gen)
    mesh = MZIMesh(6, dtype=C128)
    drawn = MeshImperfections.sample(
        mesh.layout.n_mzi, torch.Generator().manual_seed(8), coupler_sigma=0.05, phase_sigma=0.05
    )
    mesh.imperfections = drawn.replace(crosstalk=0.03)
    res = reprogram(mesh, U, steps=300)
    assert res.fidelity_before < 0.99
    assert res.fidelity_after > res.fidelity_before
    # lossless errors in a full Clements mesh can be compensated almost entirely
    assert res.fidelity_after > 0.999
    assert res.fidelity_after == pytest.approx(mesh.fidelity(U).item(), abs=1e-12)
    with pytest.raises(ValueError, match="target"):
        reprogram(mesh, torch.eye(3, dtype=C128))


def test_fidelity_definition():
    gen = torch.Generator().manual_seed(9)
    U = haar_unitary(5, gen)
    torch.testing.assert_close(
        fidelity(U, U * complex(math.cos(1), math.sin(1))), torch.tensor(1.0, dtype=F64)
    )
    torch.testing.assert_close(fidelity(U, 0.5 * U), torch.tensor(0.25, dtype=F64))
    torch.testing.assert_close(fidelity(U, 0.5 * U, normalize=True), torch.tensor(1.0, dtype=F64))
    D = torch.diag(torch.tensor([1, -1, 1, -1], dtype=C128))
    assert fidelity(torch.eye(4, dtype=C128), D).item() < 1e-30


def test_from_profile():
    from photonn.devices import load_profile

    prof = load_profile("si_thermo_optic_mzi")
    v = prof.values
    gen = torch.Generator().manual_seed(0)
    mesh = MZIMesh.from_profile("si_thermo_optic_mzi", n_modes=8, generator=gen)
    assert mesh.profile_name == "si_thermo_optic_mzi"
    torch.testing.assert_close(
        mesh.arm_loss_db, torch.full((28, 2), v["insertion_loss_db"], dtype=torch.float32)
    )
    # coupler errors of the profile's sigma: sample std within 4 standard errors
    s = mesh.coupler_error.std().item()
    sigma = v["coupler_imbalance_sigma"]
    assert abs(s - sigma) < 4 * sigma / math.sqrt(2 * 56)
    assert mesh.dac_bits == v["dac_bits"] and mesh.dac_law == "heater"
    expect_pmax = math.pi * v["v_max"] ** 2 / (v["heater_resistance"] * v["p_pi"])
    assert mesh.dac_max_phase == pytest.approx(expect_pmax)
    assert mesh.crosstalk_value.unique().tolist() == [pytest.approx(v["thermal_crosstalk"])]
    # each MZI loses insertion_loss_db: a lone MZI at theta = 0 transmits 10^(-IL/10)
    one = MZIMesh.from_profile(prof, n_modes=2, crosstalk=False, dac=False, dtype=C128)
    p = (one(torch.tensor([1.0 + 0j, 0], dtype=C128)).abs() ** 2).sum()
    torch.testing.assert_close(p, torch.tensor(10 ** (-v["insertion_loss_db"] / 10), dtype=F64))
    with pytest.raises(TypeError, match="DeviceProfile"):
        MZIMesh.from_profile(42, n_modes=4)
    with pytest.raises(TypeError, match="positional"):
        MZIMesh.from_profile(prof, 4)  # everything but the profile is a keyword
    with pytest.raises(ValueError, match="not a 'mzi_platform' profile"):
        MZIMesh.from_profile("holoeye_pluto2", n_modes=4)
    assert mesh.dac_max_phase == prof.phase_range_at_vmax  # the profile's derived value


def test_reck_mesh_module_round_trip():
    gen = torch.Generator().manual_seed(11)
    U = haar_unitary(7, gen)
    mesh = MZIMesh.from_unitary(U, "reck")
    assert mesh.layout == reck_layout(7)
    torch.testing.assert_close(mesh.matrix(), U, rtol=0, atol=1e-12)


def test_phase_noise_fresh_and_seeded():
    gen = torch.Generator().manual_seed(12)
    U = haar_unitary(6, gen)
    a = MZIMesh.from_unitary(U)
    b = MZIMesh.from_unitary(U)
    with pytest.raises(TypeError, match="generator"):
        a.imperfections = MeshImperfections(phase_noise_std=0.01)
    for m in (a, b):
        m.imperfections = MeshImperfections(
            phase_noise_std=0.01, noise_generator=torch.Generator().manual_seed(3)
        )
    m1, m2 = a.matrix(), a.matrix()
    assert (m1 - m2).abs().max() > 1e-4  # fresh noise at every call
    torch.testing.assert_close(m1, b.matrix(), rtol=0, atol=0)  # same seed, same draws
    th, _ = a.effective_phases()
    dev = (th - a.theta).detach()
    assert 0.006 < dev.std().item() < 0.014  # 15 samples of std 0.01
    a.imperfections = MeshImperfections()
    torch.testing.assert_close(a.matrix(), U, rtol=0, atol=1e-12)


def test_n_modes_and_its_deprecated_name_n():
    """``n_modes`` is the keyword and attribute; ``n`` still works, with a DeprecationWarning;
    a positional mode count does not warn."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mesh = MZIMesh(4, "reck")
        assert mesh.n_modes == 4 and mesh.layout.n_modes == 4
        assert MZIMesh(n_modes=3).n_modes == 3
        assert MZIMesh.from_profile("si_thermo_optic_mzi", n_modes=3).n_modes == 3
        assert "n_modes=4" in repr(mesh)
    with pytest.warns(DeprecationWarning, match=r"MZIMesh\(n=...\) is deprecated: use n_modes="):
        old = MZIMesh(n=5)
    assert old.n_modes == 5
    with pytest.warns(DeprecationWarning, match=r"MZIMesh.n is deprecated: use n_modes"):
        assert old.n == 5
    with pytest.warns(DeprecationWarning, match=r"MeshLayout.n is deprecated: use n_modes"):
        assert old.layout.n == 5
    with pytest.warns(DeprecationWarning, match=r"from_profile\(n=...\) is deprecated"):
        prof = MZIMesh.from_profile("si_thermo_optic_mzi", n=3, dac=False)
    assert prof.n_modes == 3
    with pytest.raises(TypeError, match="give n_modes= only"):
        MZIMesh(4, n=4)
    with pytest.raises(TypeError, match="n_modes must be an int"):
        MZIMesh()
