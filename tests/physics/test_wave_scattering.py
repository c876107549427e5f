"""Coupled-mode scattering (Wanjura and Marquardt 2024): S-matrix, steady state, Schur elimination.

References and bounds (complex128 throughout; rounding of a dense solve of an
``N``-mode system is about ``N eps cond(H - omega)``, below 1e-12 for the small,
well-conditioned systems here):

* One mode, analytic: ``S = 1 + i kappa / (Delta - omega - i (kappa + kappa') / 2)``,
  ``-1`` on resonance without loss, ``|S| = 1`` without loss; to 1e-13.
* Time domain, independent of the solve: the coupled-mode equations
  ``da/dt = -i H a - sqrt(kappa) a_probe e^{-i omega t}`` integrated from rest by
  scipy's DOP853 (rtol 1e-11). The transient decays as ``exp(-gamma t)`` with
  ``gamma`` the slowest decay rate, ``min(-Im lambda(H))``; integrating to
  ``t = 30 / gamma`` leaves ``e^{-30} ~ 1e-13`` of it, so ``a_out e^{i omega t}``
  equals ``S[:, p]`` to the integrator's accuracy (bound 1e-8).
* Energy conservation: without intrinsic loss, ``S`` between the probed modes is
  unitary (1e-12); with loss, its singular values are at most 1 (passivity).
* Reciprocity: real symmetric couplings give ``S = S^T`` (1e-12); complex
  couplings around a loop (a synthetic flux) break it by O(1), so the check can fail.
* The Schur elimination of the data modes is exact algebra: it equals the dense
  solve of the full network to 1e-12.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from photonn.functional.coupled_mode import (
    coupled_mode_rhs,
    dynamical_matrix,
    scattering_matrix,
    schur_scattering,
)
from photonn.models import CoupledModePNN

C128 = torch.complex128


def _network(N=5, probed=2, loss=0.3, hermitian=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    det = torch.randn(N, dtype=torch.float64, generator=g)
    J = torch.randn(N, N, dtype=C128, generator=g)
    J = 0.5 * (J + J.mH) if hermitian else J
    J = J - torch.diag_embed(torch.diagonal(J))
    kappa = torch.zeros(N, dtype=torch.float64)
    kappa[:probed] = 1.0 + torch.rand(probed, dtype=torch.float64, generator=g)
    intrinsic = torch.full((N,), loss, dtype=torch.float64)
    return dynamical_matrix(det, J, kappa + intrinsic), kappa


@pytest.mark.parametrize("loss", [0.0, 0.4])
@pytest.mark.parametrize("omega", [0.0, 0.7])
def test_single_mode_is_the_analytic_lorentzian(loss, omega):
    delta, kappa = torch.linspace(-4, 4, 17, dtype=torch.float64), 1.3
    for d in delta:
        H = dynamical_matrix(
            d.reshape(1),
            torch.zeros(1, 1, dtype=C128),
            torch.tensor([kappa + loss], dtype=torch.float64),
        )
        S = scattering_matrix(H, torch.tensor([kappa], dtype=torch.float64), omega)[0, 0]
        ref = 1 + 1j * kappa / (float(d) - omega - 0.5j * (kappa + loss))
        assert abs(complex(S) - ref) < 1e-13
        if loss == 0.0:
            assert abs(abs(complex(S)) - 1.0) < 1e-13
    H0 = dynamical_matrix(
        torch.tensor([omega], dtype=torch.float64),
        torch.zeros(1, 1, dtype=C128),
        torch.tensor([kappa], dtype=torch.float64),
    )
    S0 = scattering_matrix(H0, torch.tensor([kappa], dtype=torch.float64), omega)
    assert abs(complex(S0[0, 0]) + 1.0) < 1e-13  # resonant, lossless: full reflection, phase pi


@pytest.mark.parametrize("omega", [0.0, -0.6])
def test_scattering_matrix_equals_the_time_domain_steady_state(omega):
    from scipy.integrate import solve_ivp

    H, kappa = _network(N=5, probed=2, loss=0.3, seed=3)
    S = scattering_matrix(H, kappa, omega)
    gamma = float((-torch.linalg.eigvals(H).imag).min())
    assert gamma > 0
    t_end = 30.0 / gamma
    for p in range(2):
        probe = torch.zeros(5, dtype=C128)
        probe[p] = 0.8 - 0.3j

        def rhs(t, y, probe=probe):
            a = torch.from_numpy(y[:5] + 1j * y[5:])
            da = coupled_mode_rhs(
                a, H, kappa, probe * complex(math.cos(omega * t), -math.sin(omega * t))
            )
            return np.concatenate([da.real.numpy(), da.imag.numpy()])

        sol = solve_ivp(rhs, (0.0, t_end), np.zeros(10), method="DOP853", rtol=1e-11, atol=1e-13)
        a = torch.from_numpy(sol.y[:5, -1] + 1j * sol.y[5:, -1])
        phase = complex(math.cos(omega * t_end), -math.sin(omega * t_end))
        out = probe * phase + kappa.sqrt().to(C128) * a  # a_out = a_probe + sqrt(kappa) a
        got = out / phase
        want = S[:, p] * probe[p]
        assert (got[:2] - want[:2]).abs().max() < 1e-8


def test_lossless_network_is_unitary_and_lossy_one_passive():
    H, kappa = _network(N=6, probed=3, loss=0.0, seed=1)
    S = scattering_matrix(H, kappa)[:3, :3]
    eye = torch.eye(3, dtype=C128)
    assert (S.mH @ S - eye).abs().max() < 1e-12
    # only the port columns solved: the same block
    assert (scattering_matrix(H, kappa, ports=torch.tensor([0, 1, 2])) - S).abs().max() < 1e-14
    H, kappa = _network(N=6, probed=3, loss=0.5, seed=1)
    sv = torch.linalg.svdvals(scattering_matrix(H, kappa)[:3, :3])
    assert float(sv.max()) <= 1.0 + 1e-12 and float(sv.min()) < 0.99


def test_reciprocity_holds_for_symmetric_couplings_only():
    g = torch.Generator().manual_seed(2)
    det = torch.randn(4, dtype=torch.float64, generator=g)
    Jr = torch.randn(4, 4, dtype=torch.float64, generator=g)
    Jr = 0.5 * (Jr + Jr.mT) - torch.diag_embed(torch.diagonal(Jr))
    kappa = torch.ones(4, dtype=torch.float64)
    S = scattering_matrix(dynamical_matrix(det, Jr, kappa + 0.2), kappa)
    assert (S - S.mT).abs().max() < 1e-12
    # a flux through the loop 0-1-2: Hermitian but complex couplings break reciprocity
    Jc = Jr.to(C128)
    Jc[0, 1] = Jc[0, 1] * 1j
    Jc[1, 0] = Jc[0, 1].conj()
    S = scattering_matrix(dynamical_matrix(det, Jc, kappa + 0.2), kappa)
    assert (S - S.mT).abs().max() > 1e-2


def test_schur_elimination_equals_the_dense_solve():
    g = torch.Generator().manual_seed(4)
    B, Nd, Nc = 3, 7, 4
    d = torch.complex(
        torch.randn(B, Nd, dtype=torch.float64, generator=g),
        torch.full((B, Nd), -0.4, dtype=torch.float64),
    )
    K = torch.randn(Nd, Nc, dtype=C128, generator=g)
    Mc, kc = _network(N=Nc, probed=2, loss=0.1, seed=5)
    ports = torch.tensor([0, 1])
    S = schur_scattering(d, K, Mc, kc, ports, omega=0.3)
    top = torch.cat([torch.diag_embed(d), K.expand(B, Nd, Nc)], -1)
    bottom = torch.cat([K.mH.expand(B, Nc, Nd), Mc.expand(B, Nc, Nc)], -1)
    kappa = torch.cat([torch.zeros(Nd, dtype=torch.float64), kc])
    dense = scattering_matrix(torch.cat([top, bottom], -2), kappa, 0.3)[:, Nd : Nd + 2, Nd : Nd + 2]
    assert (S - dense).abs().max() < 1e-12


@pytest.mark.parametrize("hidden", [0, 5])
def test_model_scattering_equals_the_dense_network(hidden):
    m = CoupledModePNN(9, 3, hidden, generator=torch.Generator().manual_seed(0), dtype=C128)
    x = torch.rand(4, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert (m.scattering(x) - m.dense_scattering(x)).abs().max() < 1e-12
        # the output probes are lossless, the other modes lossy: a passive network
        sv = torch.linalg.svdvals(m.scattering(x))
        assert float(sv.max()) <= 1.0 + 1e-12
        y = m(x)
    assert y.shape == (4, 3) and float(y.abs().max()) <= m.gain * (1 + 1e-12)


def test_mismatched_shapes_are_refused():
    J = torch.zeros(3, 3, dtype=C128)
    with pytest.raises(ValueError, match="end in N = 3"):
        dynamical_matrix(torch.zeros(4, dtype=torch.float64), J, torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="kappa must have shape"):
        scattering_matrix(dynamical_matrix(torch.zeros(3), J, torch.ones(3)), torch.ones(2))
    d = torch.full((2, 4), -0.5j, dtype=C128)
    with pytest.raises(ValueError, match="kappa must have shape"):
        schur_scattering(d, torch.ones(4, 3), J, torch.ones(2), torch.tensor([0]))
