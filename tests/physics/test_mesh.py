"""Proofs of the MZI mesh algebra (issue 4, section 7), in complex128.

Tolerances: one 2x2 block is exact to a few ulps (eps = 2.2e-16); a mesh of
depth ~N accumulates ~N ulps, so matrix identities are held to 1e-12 for N <= 64,
and the decomposition round trip to the issue's 1e-10.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from photonn.functional.mzi import mzi_entries, mzi_matrix
from photonn.functional.mzi_mesh import (
    clements_layout,
    mesh_apply,
    mesh_coefficients,
    mesh_matrix,
    mesh_matrix_from_entries,
    mzi_mesh,
    mzi_mesh_matrix,
    reck_layout,
)
from photonn.onchip import (
    MZIMesh,
    clements_decompose,
    haar_unitary,
    reck_decompose,
    reconstruct,
)

C128 = torch.complex128
F64 = torch.float64
LAYOUTS = {"clements": clements_layout, "reck": reck_layout}
DECOMPOSE = {"clements": clements_decompose, "reck": reck_decompose}


def random_phases(layout, gen, dtype=F64):
    th = torch.rand(layout.n_mzi, generator=gen, dtype=dtype) * 2 * math.pi
    ph = torch.rand(layout.n_mzi, generator=gen, dtype=dtype) * 2 * math.pi
    al = torch.rand(layout.n_modes, generator=gen, dtype=dtype) * 2 * math.pi
    return th, ph, al


def dense_reference(layout, theta, phi, alpha, coupler_error=None, arm_loss_db=None):
    """Independent reference: embed every 2x2 block in an N x N identity, multiply in order."""
    n = layout.n_modes
    blocks = mzi_matrix(theta, phi, coupler_error, arm_loss_db).detach().numpy()
    U = np.eye(n, dtype=complex)
    for c in range(layout.n_columns):
        C = np.eye(n, dtype=complex)
        for k, (col, m) in enumerate(zip(layout.columns, layout.tops)):
            if col == c:
                C[m : m + 2, m : m + 2] = blocks[k]
        U = C @ U
    return torch.from_numpy(np.diag(np.exp(1j * alpha.detach().numpy())) @ U)


# ---- the 2x2 block and the bar/cross convention -----------------------------------


def test_theta_zero_is_bar_and_half_pi_is_cross():
    phi = torch.tensor([0.0, 0.7, -2.1], dtype=F64)
    bar = mzi_matrix(torch.zeros(3, dtype=F64), phi)
    expected_bar = torch.zeros(3, 2, 2, dtype=C128)
    expected_bar[:, 0, 0] = torch.exp(1j * phi)
    expected_bar[:, 1, 1] = 1
    torch.testing.assert_close(bar, expected_bar, rtol=0, atol=1e-15)
    cross = mzi_matrix(torch.full((3,), math.pi / 2, dtype=F64), phi)
    assert cross[:, 0, 0].abs().max() < 1e-15 and cross[:, 1, 1].abs().max() < 1e-15
    torch.testing.assert_close(cross[:, 0, 1], torch.full((3,), -1.0 + 0j, dtype=C128))
    torch.testing.assert_close(cross[:, 1, 0], torch.exp(1j * phi))
    # light entering the top port leaves by the bottom port in the cross state
    mesh = MZIMesh(2, dtype=C128)
    with torch.no_grad():
        mesh.theta.fill_(math.pi / 2)
    out = mesh(torch.tensor([1.0 + 0j, 0.0], dtype=C128))
    torch.testing.assert_close(out.abs() ** 2, torch.tensor([0.0, 1.0], dtype=F64))


def test_block_formula_matches_design_convention():
    gen = torch.Generator().manual_seed(3)
    th, ph = torch.rand(2, 50, generator=gen, dtype=F64) * 7
    T = mzi_matrix(th, ph)
    e = torch.exp(1j * ph)
    ref = torch.stack(
        [
            torch.stack([e * torch.cos(th), -torch.sin(th) + 0j], -1),
            torch.stack([e * torch.sin(th), torch.cos(th) + 0j], -1),
        ],
        -2,
    )
    torch.testing.assert_close(T, ref, rtol=0, atol=1e-15)


def test_physical_model_with_ideal_couplers_is_the_block():
    gen = torch.Generator().manual_seed(4)
    th, ph = torch.rand(2, 40, generator=gen, dtype=F64) * 7
    zero = torch.zeros(40, 2, dtype=F64)
    torch.testing.assert_close(
        mzi_matrix(th, ph, zero, zero), mzi_matrix(th, ph), rtol=0, atol=1e-15
    )


def test_physical_model_against_explicit_product():
    """Coupler errors and arm losses: compare with P K(a2) A K(a1) diag(e^{i phi}, 1)."""
    gen = torch.Generator().manual_seed(5)
    th, ph = torch.rand(2, 20, generator=gen, dtype=F64) * 7
    ce = 0.1 * torch.randn(20, 2, generator=gen, dtype=F64)
    loss = torch.rand(20, 2, generator=gen, dtype=F64)
    got = mzi_matrix(th, ph, ce, loss).numpy()
    for k in range(20):

        def K(a):
            return np.array([[np.cos(a), 1j * np.sin(a)], [1j * np.sin(a), np.cos(a)]])

        t = 10 ** (-loss[k].numpy() / 20)
        psi = th[k].item() + np.pi / 2
        A = np.diag([t[0] * np.exp(1j * psi), t[1] * np.exp(-1j * psi)])
        P = np.diag([-1j, 1j])
        Phi = np.diag([np.exp(1j * ph[k].item()), 1])
        ref = P @ K(np.pi / 4 + ce[k, 1].item()) @ A @ K(np.pi / 4 + ce[k, 0].item()) @ Phi
        np.testing.assert_allclose(got[k], ref, rtol=0, atol=1e-14)


# ---- the column-parallel mesh -------------------------------------------------------


@pytest.mark.parametrize("name", ["clements", "reck"])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 11])
def test_mesh_matrix_equals_dense_product(name, n):
    gen = torch.Generator().manual_seed(n)
    layout = LAYOUTS[name](n)
    assert layout.n_mzi == n * (n - 1) // 2
    th, ph, al = random_phases(layout, gen)
    ref = dense_reference(layout, th, ph, al)
    torch.testing.assert_close(mzi_mesh_matrix(th, ph, al, layout), ref, rtol=0, atol=1e-13)
    ce = 0.05 * torch.randn(layout.n_mzi, 2, generator=gen, dtype=F64)
    loss = 0.3 * torch.rand(layout.n_mzi, 2, generator=gen, dtype=F64)
    torch.testing.assert_close(
        mzi_mesh_matrix(th, ph, al, layout, ce, loss),
        dense_reference(layout, th, ph, al, ce, loss),
        rtol=0,
        atol=1e-13,
    )


@pytest.mark.parametrize("name", ["clements", "reck"])
@pytest.mark.parametrize("n", [2, 7, 16, 64])
def test_unitarity(name, n):
    gen = torch.Generator().manual_seed(10 + n)
    layout = LAYOUTS[name](n)
    U = mzi_mesh_matrix(*random_phases(layout, gen), layout)
    eye = torch.eye(n, dtype=C128)
    torch.testing.assert_close(U @ U.mH, eye, rtol=0, atol=1e-12)
    torch.testing.assert_close(U.mH @ U, eye, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["clements", "reck"])
@pytest.mark.parametrize("n", [3, 8, 33])
def test_mesh_of_x_equals_matrix_times_x(name, n):
    """Both evaluation paths (columns on x for small batches, matrix + GEMM for large)."""
    gen = torch.Generator().manual_seed(20 + n)
    layout = LAYOUTS[name](n)
    th, ph, al = random_phases(layout, gen)
    U = mzi_mesh_matrix(th, ph, al, layout)
    for shape in [(n,), (2, n), (4, 3 * n, n)]:
        x = torch.randn(*shape, generator=gen, dtype=C128)
        y = mzi_mesh(x, th, ph, al, layout)
        torch.testing.assert_close(y, (U @ x.unsqueeze(-1)).squeeze(-1), rtol=0, atol=1e-12)
    mesh = MZIMesh(n, name, init="haar", generator=gen, dtype=C128)
    x = torch.randn(5, n, generator=gen, dtype=C128)
    torch.testing.assert_close(mesh(x), x @ mesh.matrix().T, rtol=0, atol=1e-12)


@pytest.mark.parametrize("block", [0, 3, -2, 2.0, True])
def test_bad_block_size(block):
    layout = clements_layout(8)
    a, b = mesh_coefficients(*mzi_entries(*random_phases(layout, torch.Generator())[:2]), layout)
    with pytest.raises(ValueError, match="block must be an even integer"):
        mesh_matrix(a, b, layout, block=block)


def test_block_sizes_agree():
    gen = torch.Generator().manual_seed(7)
    layout = clements_layout(20)
    th, ph, al = random_phases(layout, gen)
    a, b = mesh_coefficients(*mzi_entries(th, ph), layout)
    out = torch.exp(1j * al)
    ref = mesh_apply(torch.eye(20, dtype=C128), a, b, layout, out).T
    for g in (2, 4, 6, 8, 32):
        torch.testing.assert_close(mesh_matrix(a, b, layout, out, block=g), ref, atol=1e-13, rtol=0)


# ---- decompositions -----------------------------------------------------------------


def _round_trip(name, ns):
    gen = torch.Generator().manual_seed(1234)
    worst = 0.0
    for n in ns:
        U = haar_unitary(n, gen)
        p = DECOMPOSE[name](U)
        assert p.layout == LAYOUTS[name](n)
        assert p.theta.min() >= 0 and p.theta.max() <= math.pi / 2 + 1e-15
        err = (reconstruct(p) - U).abs().max().item()
        worst = max(worst, err)
        assert err <= 1e-10, f"{name} N={n}: max|U - U_hat| = {err:.3g}"
    return worst


@pytest.mark.parametrize("name", ["clements", "reck"])
def test_round_trip_haar_every_n_2_to_64(name):
    """max|U - U_hat| <= 1e-10 for a Haar-random U at every N = 2..64 (about 2 s each)."""
    _round_trip(name, range(2, 65))


@pytest.mark.parametrize("name", ["clements", "reck"])
def test_round_trip_special_matrices(name):
    """Identity, permutations and diagonal phases hit the theta = 0 and pi/2 branches."""
    n = 6
    perm = torch.eye(n, dtype=C128)[[3, 0, 5, 1, 4, 2]]
    diag = torch.diag(torch.exp(1j * torch.arange(n, dtype=F64)))
    for U in (torch.eye(n, dtype=C128), perm, diag, perm @ diag):
        torch.testing.assert_close(reconstruct(DECOMPOSE[name](U)), U, rtol=0, atol=1e-12)


def test_from_unitary_complex64():
    gen = torch.Generator().manual_seed(9)
    U = haar_unitary(16, gen, dtype=torch.complex64)
    mesh = MZIMesh.from_unitary(U)
    assert mesh.dtype == torch.complex64
    torch.testing.assert_close(mesh.matrix(), U, rtol=0, atol=2e-5)


def test_haar_unitary_statistics():
    """Haar check: E|U_ij|^2 = 1/N and E|U_ij|^4 = 2/(N(N+1)) (Weingarten)."""
    gen = torch.Generator().manual_seed(0)
    n, m = 4, 3000
    U = torch.stack([haar_unitary(n, gen) for _ in range(m)])
    p = U.abs() ** 2
    assert abs(p.mean().item() - 1 / n) < 1e-12  # exact per row by unitarity
    m4 = (p**2).mean().item()
    # std of the per-sample estimate is ~0.06/sqrt(3000*16) of the mean; allow 5%
    assert abs(m4 - 2 / (n * (n + 1))) < 0.05 * 2 / (n * (n + 1))
    # the phase fix: without it the diagonal of R is real positive only by convention
    assert abs(U[:, 0, 0].angle().mean().item()) < 0.1


# ---- gradients and loss -------------------------------------------------------------


@pytest.mark.parametrize("name", ["clements", "reck"])
def test_gradcheck_mesh(name):
    gen = torch.Generator().manual_seed(30)
    layout = LAYOUTS[name](4)
    th, ph, al = (t.requires_grad_() for t in random_phases(layout, gen))
    x_small = torch.randn(2, 4, generator=gen, dtype=C128, requires_grad=True)
    x_big = torch.randn(9, 4, generator=gen, dtype=C128, requires_grad=True)
    ce = 0.05 * torch.randn(layout.n_mzi, 2, generator=gen, dtype=F64)
    loss = 0.2 * torch.rand(layout.n_mzi, 2, generator=gen, dtype=F64)
    assert torch.autograd.gradcheck(lambda t, p, a: mzi_mesh_matrix(t, p, a, layout), (th, ph, al))
    assert torch.autograd.gradcheck(
        lambda x, t, p, a: mzi_mesh(x, t, p, a, layout), (x_small, th, ph, al)
    )
    assert torch.autograd.gradcheck(
        lambda x, t, p, a: mzi_mesh(x, t, p, a, layout, ce, loss), (x_big, th, ph, al)
    )

    def direct(x, t, p, a):  # the column-by-column path on the batch
        ab = mesh_coefficients(*mzi_entries(t, p, ce, loss), layout)
        return mesh_apply(x, *ab, layout, torch.polar(torch.ones_like(a), a))

    assert torch.autograd.gradcheck(direct, (x_small, th, ph, al))
    U = mzi_mesh_matrix(th, ph, al, layout, ce, loss)
    torch.testing.assert_close(direct(x_big, th, ph, al), x_big @ U.T, rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", ["clements", "reck"])
def test_lossy_mesh_singular_values_at_most_one(name):
    gen = torch.Generator().manual_seed(40)
    layout = LAYOUTS[name](12)
    th, ph, al = random_phases(layout, gen)
    ce = 0.1 * torch.randn(layout.n_mzi, 2, generator=gen, dtype=F64)
    for loss_db in (0.01, 0.3, 3.0):
        loss = loss_db * torch.rand(layout.n_mzi, 2, generator=gen, dtype=F64)
        s = torch.linalg.svdvals(mzi_mesh_matrix(th, ph, al, layout, ce, loss))
        assert s.max().item() <= 1 + 1e-12
        assert s.min().item() < 1 - 1e-4  # the loss is really there
    # coupler errors alone keep the mesh lossless (unitary)
    s = torch.linalg.svdvals(mzi_mesh_matrix(th, ph, al, layout, ce))
    torch.testing.assert_close(s, torch.ones(12, dtype=F64), rtol=0, atol=1e-12)


@pytest.mark.parametrize("n, block", [(12, 2), (12, 4), (12, 10), (13, 2), (13, 4), (11, 6)])
def test_gradcheck_blocked_paths(n, block):
    """Band-window blocks (2 g + 4 < N) and full blocks, even and odd N (odd N adds an
    idle mode to complete the last pair), against finite differences."""
    gen = torch.Generator().manual_seed(50 + block + n)
    layout = clements_layout(n)
    th, ph, al = random_phases(layout, gen)
    a, b = (t.detach().requires_grad_() for t in mesh_coefficients(*mzi_entries(th, ph), layout))
    out = torch.exp(1j * al)
    ref = mesh_apply(torch.eye(n, dtype=C128), a, b, layout, out).T
    torch.testing.assert_close(mesh_matrix(a, b, layout, out, block=block), ref, rtol=0, atol=1e-13)
    assert torch.autograd.gradcheck(
        lambda a, b: mesh_matrix(a, b, layout, out, block=block), (a, b)
    )


@pytest.mark.parametrize("name", ["clements", "reck"])
@pytest.mark.parametrize("n, block", [(14, 2), (14, 4), (14, 8), (15, 4)])
def test_matrix_from_entries_window_path(name, n, block):
    """The matrix from MZI entries on the band-window path, value and gradient."""
    gen = torch.Generator().manual_seed(60 + block + n)
    layout = LAYOUTS[name](n)
    th, ph, al = (t.requires_grad_() for t in random_phases(layout, gen))
    out = torch.exp(1j * al.detach())
    ent = mzi_entries(th, ph)
    ref = mesh_apply(torch.eye(n, dtype=C128), *mesh_coefficients(*ent, layout), layout, out).T
    got = mesh_matrix_from_entries(ent, layout, out, block=block)
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-13)
    assert torch.autograd.gradcheck(
        lambda t, p: mesh_matrix_from_entries(mzi_entries(t, p), layout, out, block=block), (th, ph)
    )
