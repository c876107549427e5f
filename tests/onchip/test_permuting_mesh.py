"""PermutingMesh (permuting rectangular mesh): structure, unitarity, paths, cost, bad input."""

from __future__ import annotations

import pytest
import torch

from photonn.functional.mzi import mzi_entries, mzi_matrix
from photonn.functional.structured_mesh import (
    default_permuting_blocks,
    permuting_apply,
    permuting_layout,
    rectangular_permutation,
)
from photonn.onchip import MeshImperfections, MZIMesh, PermutingMesh, mesh_cost

C128, F64 = torch.complex128, torch.float64


def pai(n, seed=0, **kw):
    gen = torch.Generator().manual_seed(seed)
    return PermutingMesh(n, init="pai", generator=gen, dtype=C128, **kw)


def test_explicit_product():
    """The layout's meaning, built from explicit 2x2 blocks and permutation matrices:
    U = D M_{B-1} Pi_{B-2} ... Pi_0 M_0."""
    n = 8
    mesh = pai(n, 1)
    lay = mesh.layout
    U = torch.eye(n, dtype=C128)
    k = 0
    for b, blk in enumerate(lay.blocks):
        if b:
            U = torch.eye(n, dtype=C128)[list(lay.perms[b - 1])] @ U
        for c in range(blk.n_columns):
            C = torch.eye(n, dtype=C128)
            for m in range(c % 2, n - 1, 2):
                C[m : m + 2, m : m + 2] = mzi_matrix(mesh.theta[k].detach(), mesh.phi[k].detach())
                k += 1
            U = C @ U
    U = torch.diag(torch.polar(torch.ones(n, dtype=F64), mesh.output_phase.detach())) @ U
    assert k == lay.n_mzi
    torch.testing.assert_close(mesh.matrix().detach(), U, atol=1e-14, rtol=0)


@pytest.mark.parametrize("n", [2, 3, 5, 8, 13, 64])
def test_unitary_and_paths_agree(n):
    mesh = pai(n, n)
    U = mesh.matrix().detach()
    # complex128: each entry sums ~n products of n blocks (rounding ~ n eps each)
    tol = 50 * n * torch.finfo(F64).eps
    torch.testing.assert_close(U @ U.mH, torch.eye(n, dtype=C128), atol=tol, rtol=0)
    x = torch.randn(300, n, dtype=C128, generator=torch.Generator().manual_seed(0))
    ent = mzi_entries(mesh.theta, mesh.phi)
    out = torch.polar(torch.ones(n, dtype=F64), mesh.output_phase)
    direct = permuting_apply(x, ent, mesh.layout, out).detach()
    torch.testing.assert_close(direct, x @ U.T, atol=tol, rtol=0)
    torch.testing.assert_close(mesh(x).detach(), x @ U.T, atol=tol, rtol=0)


def test_one_block_is_clements():
    """One block of n columns and no permutation: the Clements mesh, phase for phase."""
    n = 6
    p = PermutingMesh(n, blocks=(n,), strides=(), dtype=C128)
    c = MZIMesh(n, init="haar", generator=torch.Generator().manual_seed(3), dtype=C128)
    with torch.no_grad():
        for name in ("theta", "phi", "output_phase"):
            getattr(p, name).copy_(getattr(c, name))
    torch.testing.assert_close(p.matrix(), c.matrix(), atol=1e-14, rtol=0)


def test_bar_init_is_the_permutations():
    mesh = PermutingMesh(8, dtype=C128)
    lay = mesh.layout
    P = torch.eye(8, dtype=C128)
    for perm in lay.perms:
        P = torch.eye(8, dtype=C128)[list(perm)] @ P
    torch.testing.assert_close(mesh.matrix().detach(), P, atol=0, rtol=0)


def test_layout_and_cost_next_to_clements():
    assert default_permuting_blocks(64) == ((10, 10, 10, 10, 10, 14), (2, 8, 32, 16, 4))
    assert default_permuting_blocks(256) == ((32,) * 8, (2, 8, 32, 128, 64, 16, 4))
    # light of mode 0 -> 1 (reflected), 1 -> 3, 2 -> 0, 3 -> 5, ...: as a gather
    assert rectangular_permutation(8, 2) == (2, 0, 4, 1, 6, 3, 7, 5)
    for n in (64, 256):
        c = mesh_cost(n)
        # as many MZIs, phases and columns as Clements; the butterfly has log2 n columns
        assert (
            c["permuting"]
            == c["clements"]
            == {
                "n_mzi": n * (n - 1) // 2,
                "n_phases": n * n,
                "depth": n,
            }
        )
    m = PermutingMesh(64)
    assert m.depth == 64 and m.n_mzi == 2016 and sum(p.numel() for p in m.parameters()) == 4096
    assert len(m.layout.blocks) == 6


def test_gradients():
    mesh = pai(5, 2, blocks=(2, 3), strides=(2,))
    x = torch.randn(2, 5, dtype=C128)

    def f(theta, phi, out):
        ent = mzi_entries(theta, phi)
        return permuting_apply(x, ent, mesh.layout, torch.polar(torch.ones_like(out), out))

    args = tuple(
        p.detach().clone().requires_grad_() for p in (mesh.theta, mesh.phi, mesh.output_phase)
    )
    assert torch.autograd.gradcheck(f, args)


def test_imperfections():
    mesh = pai(8, 4)
    ideal = mesh.matrix().detach()
    m = mesh.n_mzi
    mesh.imperfections = MeshImperfections(arm_loss_db=torch.full((m, 2), 0.1, dtype=F64))
    # every path crosses one MZI per column (8 columns, a bar on idle edge modes aside):
    # the power is lossy but the ideal matrix is untouched
    assert (mesh.matrix().abs() ** 2).sum().item() < 8 * 0.99
    torch.testing.assert_close(mesh.matrix(ideal=True).detach(), ideal)
    mesh.imperfections = MeshImperfections(crosstalk=0.05)
    assert (mesh.matrix().detach() - ideal).abs().max() > 1e-3
    with pytest.raises(ValueError, match="shape"):
        mesh.imperfections = MeshImperfections(theta_error=torch.zeros(3))


def test_bad_input():
    with pytest.raises(ValueError, match="n >= 2"):
        PermutingMesh(1)
    with pytest.raises(ValueError, match="needs 1 strides"):
        PermutingMesh(8, blocks=(4, 4), strides=())
    with pytest.raises(ValueError, match="both blocks and strides"):
        PermutingMesh(8, blocks=(4, 4))
    with pytest.raises(ValueError, match="stride 9 does not give a permutation of 8 modes"):
        PermutingMesh(8, blocks=(4, 4), strides=(9,))
    with pytest.raises(ValueError, match="2-mode"):
        permuting_layout(2, (1, 1), (1,))
    with pytest.raises(ValueError, match="init"):
        PermutingMesh(8, init="dft")
    with pytest.raises(ValueError, match="init='haar' is not possible"):
        PermutingMesh(8, init="haar")
    mesh = PermutingMesh(8)
    with pytest.raises(ValueError, match="last dimension 8"):
        mesh(torch.ones(4, dtype=torch.complex64))
    with pytest.raises(TypeError, match="complex128"):
        mesh(torch.ones(8, dtype=C128))


def test_every_mesh_reports_its_mode_count_as_n_modes():
    import warnings

    from photonn.onchip import FFTMesh, MZIMesh, PermutingMesh

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert MZIMesh(8).n_modes == FFTMesh(8).n_modes == PermutingMesh(8).n_modes == 8
