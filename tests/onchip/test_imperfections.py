"""MeshImperfections: one frozen value per mesh, replaced (never toggled), checked once.

The deprecated ``set_*`` mutators must give exactly the matrices of the value they
build; ``using`` must restore the mesh's own value, also when the block raises; the
state-dict buffers keep their names, so stored models still load.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from photonn.functional.mzi_errors import thermal_crosstalk_matrix
from photonn.onchip import DAC, MeshImperfections, MZIMesh, haar_unitary, reprogram

C128, F64 = torch.complex128, torch.float64


def _mesh(n=6, seed=0):
    return MZIMesh(n, init="haar", generator=torch.Generator().manual_seed(seed), dtype=C128)


def test_the_value_is_frozen_and_tensors_are_copied():
    loss = torch.full((15, 2), 0.1, dtype=F64)
    imp = MeshImperfections(arm_loss_db=loss)
    loss.fill_(5.0)  # the caller's tensor changing later does not reach the value
    assert float(imp.arm_loss_db.max()) == pytest.approx(0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        imp.arm_loss_db = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        DAC(8).bits = 4
    assert MeshImperfections().is_ideal and not imp.is_ideal


def test_bad_values_are_refused_when_the_value_is_made():
    with pytest.raises(ValueError, match=r"fraction in \[0, 1\)"):
        MeshImperfections(crosstalk=2.0)
    with pytest.raises(ValueError, match=r"fraction in \[0, 1\)"):
        MeshImperfections(crosstalk=-0.1)
    with pytest.raises(ValueError, match="NaN"):
        MeshImperfections(theta_error=torch.tensor([float("nan")]))
    with pytest.raises(ValueError, match="phase_noise_std"):
        MeshImperfections(phase_noise_std=-1.0)
    with pytest.raises(TypeError, match="noise_generator"):
        MeshImperfections(phase_noise_std=0.1)
    with pytest.raises(TypeError, match="DAC"):
        MeshImperfections(dac=8)
    with pytest.raises(TypeError, match="MeshImperfections"):
        _mesh().imperfections = {"dac": None}


def test_deprecated_mutators_warn_and_build_the_same_value():
    U = haar_unitary(6, torch.Generator().manual_seed(1))
    new, old = MZIMesh.from_unitary(U), MZIMesh.from_unitary(U)
    new.imperfections = MeshImperfections.sample(
        new.layout.n_mzi, torch.Generator().manual_seed(2), coupler_sigma=0.05, phase_sigma=0.02
    ).replace(crosstalk=0.04, dac=DAC(6, "heater", 3 * math.pi))
    with pytest.warns(DeprecationWarning, match="MeshImperfections.sample"):
        old.sample_errors(torch.Generator().manual_seed(2), coupler_sigma=0.05, phase_sigma=0.02)
    with pytest.warns(DeprecationWarning, match="crosstalk"):
        old.set_crosstalk(0.04)
    with pytest.warns(DeprecationWarning, match="dac"):
        old.set_dac(6, law="heater", max_phase=3 * math.pi)
    torch.testing.assert_close(new.matrix(), old.matrix(), rtol=0, atol=0)
    with pytest.warns(DeprecationWarning):
        old.clear_errors()
    assert not old.has_errors


def test_sparse_dense_and_kappa_crosstalk_agree():
    base = _mesh(8, seed=3)
    m = base.layout.n_mzi
    K = thermal_crosstalk_matrix(base.layout, 0.05)
    ref = []
    for ct in (0.05, K, K.to_sparse()):
        base.imperfections = MeshImperfections(crosstalk=ct)
        ref.append(base.matrix())
    torch.testing.assert_close(ref[0], ref[1], rtol=0, atol=0)
    torch.testing.assert_close(ref[0], ref[2], rtol=0, atol=0)
    assert (ref[0] - base.matrix(ideal=True)).abs().max() > 1e-3  # the crosstalk acts
    with pytest.raises(ValueError, match=rf"\({m}, {m}\)"):
        base.imperfections = MeshImperfections(crosstalk=torch.eye(m + 1, dtype=F64))


def test_using_restores_the_own_value_even_on_error():
    mesh = _mesh()
    own = MeshImperfections(crosstalk=0.03, dac=DAC(4))
    mesh.imperfections = own
    errored = mesh.matrix()
    with mesh.using(MeshImperfections()):
        torch.testing.assert_close(mesh.matrix(), mesh.matrix(ideal=True), rtol=0, atol=0)
    assert mesh.imperfections is own
    with pytest.raises(RuntimeError, match="inside"), mesh.using(MeshImperfections()):
        raise RuntimeError("inside")
    assert mesh.imperfections is own
    torch.testing.assert_close(mesh.matrix(), errored, rtol=0, atol=0)


def test_reprogram_leaves_the_imperfections_as_they_were():
    U = haar_unitary(6, torch.Generator().manual_seed(4))
    mesh = MZIMesh(6, dtype=C128)
    own = MeshImperfections.sample(
        mesh.layout.n_mzi, torch.Generator().manual_seed(5), coupler_sigma=0.05
    ).replace(dac=DAC(10))
    mesh.imperfections = own
    reprogram(mesh, U, steps=20)
    assert mesh.imperfections is own and mesh.dac_bits == 10


def test_error_buffers_keep_their_state_dict_names():
    mesh = _mesh()
    mesh.imperfections = MeshImperfections.sample(
        mesh.layout.n_mzi, torch.Generator().manual_seed(6), coupler_sigma=0.05, loss_db=0.1
    ).replace(crosstalk=0.02)
    keys = set(mesh.state_dict())
    assert {"coupler_error", "arm_loss_db", "crosstalk_index", "crosstalk_value"} <= keys
    other = _mesh(seed=7)
    other.imperfections = MeshImperfections(
        coupler_error=torch.zeros(15, 2), arm_loss_db=torch.zeros(15, 2), crosstalk=0.02
    )
    other.load_state_dict(mesh.state_dict())
    torch.testing.assert_close(other.matrix(), mesh.matrix(), rtol=0, atol=0)


def test_loading_a_state_dict_updates_the_value():
    mesh = _mesh()
    mesh.imperfections = MeshImperfections.sample(
        mesh.layout.n_mzi, torch.Generator().manual_seed(8), coupler_sigma=0.05
    ).replace(crosstalk=0.02)
    other = _mesh(seed=9)
    other.imperfections = MeshImperfections(coupler_error=torch.zeros(15, 2), crosstalk=0.01)
    other.load_state_dict(mesh.state_dict())
    torch.testing.assert_close(
        other.imperfections.coupler_error, mesh.imperfections.coupler_error, rtol=0, atol=1e-15
    )
    # re-installing the value (as `using` does on exit) keeps the loaded crosstalk
    before = other.matrix()
    with other.using(MeshImperfections()):
        pass
    torch.testing.assert_close(other.matrix(), before, rtol=0, atol=0)
