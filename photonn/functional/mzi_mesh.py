"""MZI mesh layouts and their column-parallel evaluation.

A mesh of ``N`` modes is a sequence of ``L`` columns; column ``c`` holds MZIs on
disjoint mode pairs ``(m, m + 1)`` with ``m = c (mod 2)`` (both the Clements
rectangle and the Reck triangle have this form). The mesh matrix is

    U = D  C_{L-1} ... C_1 C_0,        D = diag(exp(i output_phase)),

with ``C_c`` the block-diagonal matrix of column ``c`` (identity on idle modes).

Every column acts on a vector as the butterfly ``y = a_c * x + b_c * x[perm_c]``,
where ``perm_c`` swaps the partners of each pair and ``a_c``, ``b_c`` hold the
2x2 blocks (``a = 1, b = 0`` on idle modes). One column is therefore a fixed
number of whole-tensor operations, and a mesh costs ``O(L) = O(N)`` vectorised
steps, forward and backward (autograd), never ``O(N^2)`` small ones.

Two evaluation paths give the same result:

* :func:`mesh_apply` runs the ``L`` butterflies on the batch directly (best
  when the batch is smaller than ``N``);
* :func:`mesh_matrix` builds ``U``: the columns are cut into ``L/g`` blocks of
  ``g`` columns, all blocks run their ``g`` butterflies at once on a stack of
  identity matrices, and the block matrices are multiplied pairwise in
  ``log2(L/g)`` batched GEMMs; a batch larger than ``N`` then needs one GEMM.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from .._checks import complex_of, one_of, positive_int
from .mzi import mzi_entries

__all__ = [
    "MeshLayout",
    "clements_layout",
    "reck_layout",
    "mesh_layout",
    "mesh_coefficients",
    "mesh_apply",
    "mesh_matrix",
    "mzi_mesh",
    "mzi_mesh_matrix",
]

LAYOUTS = ("clements", "reck")


@dataclass(frozen=True)
class MeshLayout:
    """Where each MZI of a mesh sits: ``columns[k]`` and upper mode ``tops[k]``.

    MZIs are numbered column by column, top to bottom; parameter vectors
    (``theta``, ``phi``) follow this order.
    """

    name: str
    n: int
    n_columns: int
    columns: tuple[int, ...]
    tops: tuple[int, ...]

    def __post_init__(self):
        positive_int(self.n, "n")
        if len(self.columns) != len(self.tops):
            raise ValueError("columns and tops must have one entry per MZI")
        seen = set()
        for c, m in zip(self.columns, self.tops):
            if not (0 <= c < self.n_columns) or not (0 <= m < self.n - 1):
                raise ValueError(f"MZI at column {c}, mode {m} is outside the {self.n}-mode mesh")
            if (m - c) % 2:
                raise ValueError(f"MZI at column {c} has top mode {m}; it must have parity {c % 2}")
            if (c, m) in seen:
                raise ValueError(f"two MZIs at column {c}, mode {m}")
            seen.add((c, m))

    @property
    def n_mzi(self) -> int:
        return len(self.columns)

    def pair_slots(self) -> dict[int, list[int]]:
        """For each upper mode ``m``, the MZI indices on pair ``(m, m+1)`` in column order."""
        slots: dict[int, list[int]] = {}
        for k, (_c, m) in sorted(enumerate(zip(self.columns, self.tops)), key=lambda t: t[1]):
            slots.setdefault(m, []).append(k)
        return slots


def _ordered(name, n, n_columns, slots) -> MeshLayout:
    slots = sorted(slots)
    return MeshLayout(name, n, n_columns, tuple(c for c, _ in slots), tuple(m for _, m in slots))


@functools.cache
def clements_layout(n: int) -> MeshLayout:
    """Rectangular mesh (Clements et al. 2016): ``n`` columns, ``n(n-1)/2`` MZIs."""
    positive_int(n, "n")
    slots = [(c, m) for c in range(n) for m in range(c % 2, n - 1, 2)]
    return _ordered("clements", n, n, slots)


@functools.cache
def reck_layout(n: int) -> MeshLayout:
    """Triangular mesh (Reck et al. 1994): ``max(2n-3, 1)`` columns, ``n(n-1)/2`` MZIs.

    Pair ``(m, m+1)`` holds ``n-1-m`` MZIs at columns ``m, m+2, ..., 2n-4-m``.
    """
    positive_int(n, "n")
    slots = [(m + 2 * k, m) for m in range(n - 1) for k in range(n - 1 - m)]
    return _ordered("reck", n, max(2 * n - 3, 1), slots)


def mesh_layout(n: int, layout: str | MeshLayout = "clements") -> MeshLayout:
    """A layout by name (``"clements"`` or ``"reck"``), or ``layout`` itself checked against n."""
    if isinstance(layout, MeshLayout):
        if layout.n != n:
            raise ValueError(f"layout is for {layout.n} modes, not {n}")
        return layout
    one_of(layout, LAYOUTS, "layout")
    return clements_layout(n) if layout == "clements" else reck_layout(n)


@functools.lru_cache(maxsize=64)
def _indices(layout: MeshLayout, device: torch.device):
    n, L = layout.n, layout.n_columns
    cols = torch.tensor(layout.columns, dtype=torch.long)
    tops = torch.tensor(layout.tops, dtype=torch.long)
    flat_top = cols * n + tops
    perms = []
    for parity in (0, 1):
        p = list(range(n))
        for m in range(parity, n - 1, 2):
            p[m], p[m + 1] = m + 1, m
        perms.append(p)
    perm = torch.tensor(perms, dtype=torch.long)
    return (
        torch.cat([flat_top, flat_top + 1]).to(device),
        torch.cat([flat_top, flat_top + 1]).to(device),
        perm.to(device),
        L,
    )


def mesh_coefficients(t00, t01, t10, t11, layout: MeshLayout):
    """Butterfly coefficients ``a, b`` of shape ``(L, N)`` from per-MZI entries ``(n_mzi,)``.

    Column ``c`` maps ``x`` to ``a[c] * x + b[c] * x[perm[c % 2]]``.
    """
    n, L = layout.n, layout.n_columns
    idx, _, _, _ = _indices(layout, t00.device)
    one = torch.ones(L * n, dtype=t00.dtype, device=t00.device)
    zero = torch.zeros(L * n, dtype=t00.dtype, device=t00.device)
    a = one.index_put((idx,), torch.cat([t00, t11]))
    b = zero.index_put((idx,), torch.cat([t01, t10]))
    return a.view(L, n), b.view(L, n)


def _perm(layout: MeshLayout, device) -> torch.Tensor:
    return _indices(layout, device)[2]


def mesh_apply(x: torch.Tensor, a, b, layout: MeshLayout, output_factor=None) -> torch.Tensor:
    """Apply the mesh to ``x`` of shape ``(..., N)`` column by column (``L`` butterflies)."""
    perm = _perm(layout, x.device)
    for c in range(layout.n_columns):
        x = torch.addcmul(a[c] * x, b[c], x.index_select(-1, perm[c % 2]))
    if output_factor is not None:
        x = x * output_factor
    return x


def _block_size(n_columns: int) -> int:
    g = 2
    while g * g < n_columns:
        g *= 2
    return g


class _BlockButterflies(torch.autograd.Function):
    """``nb`` independent blocks of ``g`` butterflies applied to the identity, with a
    hand-written backward (one butterfly and two row dot products per step)."""

    @staticmethod
    def forward(ctx, a, b, perm):
        # a, b: (nb, g, n) complex; perm: (2, n) long
        nb, g, n = a.shape
        eye = torch.eye(n, dtype=a.dtype, device=a.device)
        X = torch.diag_embed(a[:, 0]) + b[:, 0, :, None] * eye.index_select(0, perm[0])
        saved = []
        for s in range(1, g):
            PX = X.index_select(1, perm[s % 2])
            saved += [X, PX]
            X = torch.addcmul(a[:, s, :, None] * X, b[:, s, :, None], PX)
        ctx.save_for_backward(a, b, perm, *saved)
        return X

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G):
        a, b, perm, *saved = ctx.saved_tensors
        nb, g, n = a.shape
        grad_a = torch.empty_like(a)
        grad_b = torch.empty_like(b)
        G = G.contiguous()
        for s in range(g - 1, 0, -1):
            X, PX = saved[2 * (s - 1)], saved[2 * (s - 1) + 1]
            p = perm[s % 2]
            grad_a[:, s] = torch.linalg.vecdot(X, G)
            grad_b[:, s] = torch.linalg.vecdot(PX, G)
            bp = b[:, s].index_select(1, p).conj()
            G = torch.addcmul(a[:, s, :, None].conj() * G, bp[..., None], G.index_select(1, p))
        grad_a[:, 0] = torch.diagonal(G, dim1=1, dim2=2)
        idx = perm[0].view(1, n, 1).expand(nb, n, 1)
        grad_b[:, 0] = torch.gather(G, 2, idx).squeeze(-1)
        return grad_a, grad_b, None


def mesh_matrix(a, b, layout: MeshLayout, output_factor=None, block: int | None = None):
    """The ``N x N`` mesh matrix from butterfly coefficients (blocked columns + GEMM tree)."""
    n, L = layout.n, layout.n_columns
    g = _block_size(L) if block is None else block
    if g % 2 or g < 2:
        raise ValueError(f"block must be an even number >= 2, got {g}")
    nb = -(-L // g)
    pad = nb * g - L
    if pad:
        a = torch.cat([a, torch.ones(pad, n, dtype=a.dtype, device=a.device)])
        b = torch.cat([b, torch.zeros(pad, n, dtype=b.dtype, device=b.device)])
    X = _BlockButterflies.apply(a.view(nb, g, n), b.view(nb, g, n), _perm(layout, a.device))
    while X.shape[0] > 1:
        if X.shape[0] % 2:
            eye = torch.eye(n, dtype=X.dtype, device=X.device)
            X = torch.cat([X, eye[None]])
        X = X[1::2] @ X[0::2]
    U = X[0]
    if output_factor is not None:
        U = output_factor[:, None] * U
    return U


def _entries(theta, phi, coupler_error, arm_loss_db):
    if not isinstance(theta, torch.Tensor) or not isinstance(phi, torch.Tensor):
        raise TypeError("theta and phi must be real tensors")
    if theta.is_complex() or phi.is_complex():
        raise TypeError("theta and phi must be real tensors (phases in rad), not complex")
    return mzi_entries(theta, phi, coupler_error, arm_loss_db)


def _check(theta, phi, output_phase, layout: MeshLayout):
    if theta.shape != (layout.n_mzi,) or phi.shape != (layout.n_mzi,):
        raise ValueError(
            f"theta and phi must have shape ({layout.n_mzi},) for this {layout.name} mesh of "
            f"{layout.n} modes, got {tuple(theta.shape)} and {tuple(phi.shape)}"
        )
    if output_phase is not None and output_phase.shape != (layout.n,):
        raise ValueError(
            f"output_phase must have shape ({layout.n},), got {tuple(output_phase.shape)}"
        )


def mzi_mesh_matrix(
    theta, phi, output_phase, layout: MeshLayout, coupler_error=None, arm_loss_db=None
) -> torch.Tensor:
    """The mesh matrix ``U = D prod(T)`` ``(N, N)`` from phases (see module docstring).

    Args:
        theta, phi: ``(n_mzi,)`` real [rad], in the layout's MZI order.
        output_phase: ``(N,)`` real [rad] (or None for no output screen).
        layout: a :class:`MeshLayout`.
        coupler_error, arm_loss_db: optional ``(n_mzi, 2)`` errors (see :func:`mzi_entries`).
    """
    _check(theta, phi, output_phase, layout)
    a, b = mesh_coefficients(*_entries(theta, phi, coupler_error, arm_loss_db), layout)
    out = None if output_phase is None else torch.polar(torch.ones_like(output_phase), output_phase)
    return mesh_matrix(a, b, layout, out)


def mzi_mesh(
    x, theta, phi, output_phase, layout: MeshLayout, coupler_error=None, arm_loss_db=None
) -> torch.Tensor:
    """Apply the mesh to complex ``x`` of shape ``(..., N)``; returns ``(..., N)``.

    When the batch (product of the leading dims) exceeds ``N`` the matrix is built
    once and applied with one GEMM; otherwise the columns run on ``x`` directly.
    """
    _check(theta, phi, output_phase, layout)
    if x.shape[-1] != layout.n:
        raise ValueError(f"x must have last dimension {layout.n}, got shape {tuple(x.shape)}")
    cdt = complex_of(theta.dtype)
    if x.dtype != cdt:
        raise TypeError(f"x is {x.dtype} but the mesh phases give {cdt}; use matching precision")
    a, b = mesh_coefficients(*_entries(theta, phi, coupler_error, arm_loss_db), layout)
    out = None if output_phase is None else torch.polar(torch.ones_like(output_phase), output_phase)
    batch = x.numel() // max(layout.n, 1)
    if batch > layout.n:
        return x @ mesh_matrix(a, b, layout, out).transpose(-1, -2)
    return mesh_apply(x, a, b, layout, out)
