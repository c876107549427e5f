"""Haar-random initialisation of every mesh type, tested against the Haar law.

For a Haar-random ``U`` in ``U(N)`` every entry has ``|U_ij|^2 ~ Beta(1, N - 1)`` (a
column is a uniform point on the unit sphere of ``C^N``). Each test draws ``M``
independent meshes and keeps one entry of each, at a position drawn uniformly (one
entry per matrix: the samples are independent, and the mixture over positions is the
same Beta law under the null), then runs a one-sample Kolmogorov-Smirnov test against
``Beta(1, N - 1)`` at significance 1e-3 (seeds fixed: with a correct law, a fresh seed
fails one run in a thousand). The same test rejects a mesh whose phases are drawn
uniformly (p ~ 1e-52 at the same M), a butterfly's random blocks, and Pai et al.'s
initialisation of a permuting mesh of several blocks.
"""

from __future__ import annotations

import math

import pytest
import torch

from photonn.functional.mzi_mesh import clements_layout, mzi_mesh_matrix, reck_layout
from photonn.functional.structured_mesh import (
    rectangular_haar_alpha,
    rectangular_haar_phases,
)
from photonn.onchip import FFTMesh, MZIMesh, PermutingMesh

stats = pytest.importorskip("scipy.stats")

C128, F64 = torch.complex128, torch.float64
N, M, ALPHA = 8, 2000, 1e-3


def ks_pvalue(sampler, seed: int) -> float:
    g = torch.Generator().manual_seed(seed)
    xs = []
    for _ in range(M):
        U = sampler(g)
        i, j = torch.randint(N, (2,), generator=g).tolist()
        xs.append(abs(U[i, j].item()) ** 2)
    return stats.kstest(xs, stats.beta(1, N - 1).cdf).pvalue


@pytest.mark.parametrize("layout", ["clements", "reck"])
def test_mzimesh_haar(layout):
    """``MZIMesh(init="haar")``: the decomposition of a Haar-random unitary."""

    def draw(g):
        return MZIMesh(N, layout, init="haar", generator=g, dtype=C128).matrix().detach()

    assert ks_pvalue(draw, 1) > ALPHA


@pytest.mark.parametrize("layout", [clements_layout(N), reck_layout(N)], ids=["clements", "reck"])
def test_direct_dialling(layout):
    """Independent per-MZI draws (``cos^2 theta ~ Beta(1, alpha)``) without a decomposition."""

    def draw(g):
        return mzi_mesh_matrix(*rectangular_haar_phases(layout, g), layout)

    assert ks_pvalue(draw, 2) > ALPHA


def test_permuting_mesh_haar_exact_for_one_block():
    """One block of n columns (a Clements mesh): the per-block law is Haar."""

    def draw(g):
        mesh = PermutingMesh(N, blocks=(N,), strides=(), init="haar", generator=g, dtype=C128)
        return mesh.matrix().detach()

    assert ks_pvalue(draw, 3) > ALPHA


def test_pai_init_of_permuting_mesh_is_not_haar():
    """Pai et al.'s initialisation of the default permuting mesh (three blocks at N = 8)
    is not Haar: the KS test rejects it, and the mean power matrix is far from the flat
    1/N of a Haar unitary (a doubly stochastic matrix with entries from ~0.05 to ~0.21;
    the standard error of each mean is below 0.003 at M = 2000). This is why
    ``PermutingMesh(init="haar")`` is refused for more than one block."""

    def draw(g):
        return PermutingMesh(N, init="pai", generator=g, dtype=C128).matrix().detach()

    assert ks_pvalue(draw, 3) < ALPHA
    g = torch.Generator().manual_seed(6)
    P = torch.stack([draw(g).abs() ** 2 for _ in range(M)]).mean(0)
    assert P.max().item() > 1.5 / N and P.min().item() < 0.5 / N


def test_non_haar_init_is_rejected():
    """The same test fails for phases drawn uniformly and for a butterfly's random blocks."""
    lay = clements_layout(N)

    def uniform(g):
        th = 2 * math.pi * torch.rand(lay.n_mzi, generator=g, dtype=F64)
        ph = 2 * math.pi * torch.rand(lay.n_mzi, generator=g, dtype=F64)
        return mzi_mesh_matrix(th, ph, None, lay)

    def butterfly(g):
        return FFTMesh(N, init="random", generator=g, dtype=C128).matrix().detach()

    assert ks_pvalue(uniform, 4) < ALPHA
    assert ks_pvalue(butterfly, 5) < ALPHA


def test_alpha_table():
    """Pai et al.'s sensitivity indices for a 6-mode Clements mesh (their Fig. 3 pattern):
    1 at the edges, growing to N - 1 = 5 at the centre."""
    assert rectangular_haar_alpha(6, 6) == [
        [1, 0, 2, 0, 2, 0],
        [0, 3, 0, 4, 0, 1],
        [1, 0, 5, 0, 3, 0],
        [0, 3, 0, 4, 0, 1],
        [1, 0, 2, 0, 2, 0],
    ]


def test_bad_input():
    with pytest.raises(TypeError, match="generator"):
        rectangular_haar_phases(clements_layout(4), 0)
    with pytest.raises(TypeError, match="generator"):
        PermutingMesh(8, init="pai")
    with pytest.raises(ValueError, match="not possible for a permuting mesh"):
        PermutingMesh(8, init="haar", generator=torch.Generator())
