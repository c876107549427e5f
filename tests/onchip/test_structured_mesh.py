"""FFTMesh (butterfly mesh): the DFT, unitarity, cost, imperfections, gradients, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.functional.mzi import mzi_matrix
from photonn.functional.structured_mesh import butterfly_layout
from photonn.onchip import DAC, FFTMesh, MeshImperfections, mesh_cost

C128, F64 = torch.complex128, torch.float64
EPS64 = torch.finfo(F64).eps


def dft(n):
    k = torch.arange(n)
    # k m mod n is exact in integers: the reference phases carry one rounding each
    return torch.exp(-2j * math.pi * ((torch.outer(k, k) % n).to(F64)) / n) / math.sqrt(n)


@pytest.mark.parametrize("n", [2, 4, 8, 16, 64, 256])
def test_dft_exact(n):
    U = FFTMesh.dft(n).matrix()
    assert U.dtype == C128
    # each entry is a product of log2 n blocks, each with O(eps) rounding: the error
    # grows like log2 n * eps (plus the reference's own rounding); 8 eps per stage
    tol = 8 * EPS64 * (math.log2(n) + 1)
    assert (U - dft(n)).abs().max().item() < tol
    # also matches torch.fft's unitary DFT applied to a vector
    x = torch.randn(3, n, dtype=C128, generator=torch.Generator().manual_seed(n))
    y = FFTMesh.dft(n)(x)
    torch.testing.assert_close(y, torch.fft.fft(x, norm="ortho"), atol=tol * math.sqrt(n), rtol=0)


def test_explicit_product():
    """The layout's meaning: U = D S_{K-1} ... S_0 P, built with explicit 2x2 blocks."""
    n = 8
    mesh = FFTMesh(n, init="random", generator=torch.Generator().manual_seed(1), dtype=C128)
    lay = butterfly_layout(n)
    P = torch.eye(n, dtype=C128)[list(lay.input_perm)]
    U = P
    k = 0
    for s in range(lay.n_stages):
        S = torch.zeros(n, n, dtype=C128)
        for a, b in zip(lay.first[s], lay.second[s]):
            T = mzi_matrix(mesh.theta[k].detach(), mesh.phi[k].detach())
            S[a, a], S[a, b], S[b, a], S[b, b] = T[0, 0], T[0, 1], T[1, 0], T[1, 1]
            k += 1
        U = S @ U
    U = torch.diag(torch.polar(torch.ones(n, dtype=F64), mesh.output_phase.detach())) @ U
    torch.testing.assert_close(mesh.matrix().detach(), U, atol=1e-14, rtol=0)
    x = torch.randn(5, n, dtype=C128)
    torch.testing.assert_close(mesh(x).detach(), x @ U.T, atol=1e-14, rtol=0)


def test_unitary_and_bar_init():
    m = FFTMesh(16, init="random", generator=torch.Generator().manual_seed(0), dtype=C128)
    U = m.matrix().detach()
    torch.testing.assert_close(U @ U.mH, torch.eye(16, dtype=C128), atol=1e-13, rtol=0)
    P = FFTMesh(8, dtype=C128).matrix().detach()  # bar state: the bit reversal
    assert P.abs().sum().item() == pytest.approx(8)
    assert [int(P[i].abs().argmax()) for i in range(8)] == [0, 4, 2, 6, 1, 5, 3, 7]


def test_random_blocks_are_haar_on_u2():
    """cos^2 theta of a Haar-random U(2) block is uniform on [0, 1]."""
    m = FFTMesh(256, init="random", generator=torch.Generator().manual_seed(3), dtype=C128)
    u = torch.cos(m.theta.detach()) ** 2
    # mean 1/2 and variance 1/12 of the uniform law, within 5 standard errors
    N = u.numel()
    assert abs(u.mean().item() - 0.5) < 5 * math.sqrt(1 / 12 / N)
    assert abs(u.var().item() - 1 / 12) < 5 * math.sqrt(1 / 180 / N)


def test_cost_next_to_clements():
    c = mesh_cost(64)
    assert c["butterfly"] == {"n_mzi": 192, "n_phases": 448, "depth": 6}
    assert c["clements"] == {"n_mzi": 2016, "n_phases": 4096, "depth": 64}
    m = FFTMesh(64)
    assert m.depth == 6 and m.n_mzi == 192 and m.cost() == c
    assert sum(p.numel() for p in m.parameters()) == 448


def test_gradients():
    m = FFTMesh(4, init="random", generator=torch.Generator().manual_seed(2), dtype=C128)
    x = torch.randn(2, 4, dtype=C128)

    def f(theta, phi, out):
        with torch.no_grad():
            m.theta.copy_(theta.detach())
        from photonn.functional.mzi import mzi_entries
        from photonn.functional.structured_mesh import butterfly_apply

        ent = mzi_entries(theta, phi)
        return butterfly_apply(x, ent, m.layout, torch.polar(torch.ones_like(out), out))

    args = tuple(p.detach().clone().requires_grad_() for p in (m.theta, m.phi, m.output_phase))
    assert torch.autograd.gradcheck(f, args)


def test_imperfections():
    n = 8
    ideal = FFTMesh.dft(n)
    m = FFTMesh.dft(n)
    M = m.layout.n_mzi
    m.imperfections = MeshImperfections(arm_loss_db=torch.full((M, 2), 0.1, dtype=F64))
    # every path crosses log2 n MZIs with 0.1 dB on both arms: power scales by 10^-0.03
    U = m.matrix().detach()
    assert (U.abs() ** 2).sum().item() == pytest.approx(n * 10 ** (-0.1 * 3 / 10), rel=1e-12)
    torch.testing.assert_close(m.matrix(ideal=True), ideal.matrix())
    with m.using(MeshImperfections()):
        torch.testing.assert_close(m.matrix(), ideal.matrix())
    # a phase error moves the matrix; a DAC quantises theta onto its levels
    m.imperfections = MeshImperfections(theta_error=torch.full((M,), 0.01))
    assert (m.matrix() - ideal.matrix()).abs().max() > 1e-3
    m.imperfections = MeshImperfections(dac=DAC(3))
    th, _ = m.effective_phases()
    step = 2 * math.pi / 8
    t2 = torch.remainder(2 * th.detach(), 2 * math.pi) / step
    torch.testing.assert_close(t2, t2.round(), atol=1e-9, rtol=0)
    # crosstalk: a float couples neighbours of one stage only
    m.imperfections = MeshImperfections(crosstalk=0.05)
    assert (m.matrix() - ideal.matrix()).abs().max() > 1e-3
    with pytest.raises(ValueError, match="shape"):
        m.imperfections = MeshImperfections(theta_error=torch.zeros(3))


def test_bad_input():
    for n in (1, 3, 6, 12, 100):
        with pytest.raises(ValueError, match="power of two"):
            FFTMesh(n)
    with pytest.raises(ValueError, match="n=64 or n=128"):
        FFTMesh(100)
    with pytest.raises(ValueError, match="measure-zero"):
        FFTMesh(8, init="haar")
    with pytest.raises(TypeError, match="generator"):
        FFTMesh(8, init="random")
    m = FFTMesh(8)
    with pytest.raises(ValueError, match="last dimension 8"):
        m(torch.ones(4, dtype=torch.complex64))
    with pytest.raises(TypeError, match="complex128"):
        m(torch.ones(8, dtype=C128))
