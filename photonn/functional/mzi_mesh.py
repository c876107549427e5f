"""MZI mesh layouts and their column-parallel evaluation.

A mesh of ``N`` modes is a sequence of ``L`` columns; column ``c`` holds MZIs on
disjoint mode pairs ``(m, m + 1)`` with ``m = c (mod 2)`` (both the Clements
rectangle and the Reck triangle have this form). The mesh matrix is

    U = D  C_{L-1} ... C_1 C_0,        D = diag(exp(i output_phase)),

with ``C_c`` the block-diagonal matrix of column ``c`` (identity on idle modes).

Every column acts on a vector as the butterfly ``y = a_c * x + b_c * x[perm_c]``,
where ``perm_c`` swaps the partners of each pair and ``a_c``, ``b_c`` hold the
2x2 blocks (``a = 1, b = 0`` on idle modes). One column is therefore a fixed
number of whole-tensor operations (a gather and two multiply-adds), never one
small operation per MZI.

Two evaluation paths give the same result:

* :func:`mesh_apply` runs the ``L`` butterflies on the batch directly: ``O(N)``
  vectorised steps forward and backward;
* :func:`mesh_matrix` / :func:`mesh_matrix_from_entries` build ``U``: the
  columns are cut into ``nb`` blocks of ``g``; all blocks run their ``g``
  butterflies at once, starting from the identity, on band windows (a block of
  ``g`` columns couples modes at most ``g`` apart, so each of its columns is kept
  as a window of ``2g + 4`` rows instead of ``N``) with a hand-written backward;
  then the ``nb`` block matrices are multiplied pairwise in ``log2(nb)`` levels of
  batched GEMMs. That is ``g + log2(nb)`` sequential steps instead of ``L``.
  Applying ``U`` to a batch is then one GEMM. :func:`prefer_matrix` picks the
  path, and the block size comes from a small cost model (element-wise work
  against GEMM work against the number of steps).

Both paths have hand-written first-order backward passes (checked against finite
differences by ``torch.autograd.gradcheck``); second derivatives through a mesh
are not supported.
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
    "mesh_matrix_from_entries",
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

    def __hash__(self) -> int:  # cached: layouts key the index caches on every call
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.name, self.n, self.n_columns, self.columns, self.tops))
            object.__setattr__(self, "_hash", h)
        return h

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


def _swap_perms(n: int) -> torch.Tensor:
    """``(2, n)`` long: row ``q`` swaps rows ``m, m + 1`` for every ``m = q (mod 2)``
    (the partners of a column of parity ``q``; an unpaired last row maps to itself)."""
    perms = []
    for q in (0, 1):
        p = list(range(n))
        for m in range(q, n - 1, 2):
            p[m], p[m + 1] = m + 1, m
        perms.append(p)
    return torch.tensor(perms, dtype=torch.long)


@functools.lru_cache(maxsize=64)
def _indices(layout: MeshLayout, device: torch.device):
    n, L = layout.n, layout.n_columns
    cols = torch.tensor(layout.columns, dtype=torch.long)
    tops = torch.tensor(layout.tops, dtype=torch.long)
    flat_top = cols * n + tops
    perm = _swap_perms(n)
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


class _DirectButterflies(torch.autograd.Function):
    """The ``L`` butterflies on a batch laid out ``(N, batch)``, with a hand-written
    backward (two batch reductions and one butterfly per column)."""

    @staticmethod
    def forward(ctx, xt, a, b, perm):
        saved = []
        for c in range(a.shape[0]):
            saved.append(xt)
            xt = torch.addcmul(a[c, :, None] * xt, b[c, :, None], xt.index_select(0, perm[c % 2]))
        ctx.save_for_backward(a, b, perm, *saved)
        return xt

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G):
        a, b, perm, *saved = ctx.saved_tensors
        L = a.shape[0]
        grad_a = torch.empty_like(a)
        grad_b = torch.empty_like(b)
        H = G.conj().contiguous()  # conj(grad) throughout: no conj inside the loop
        a3 = a[..., None]
        pb = [b.index_select(1, perm[q])[..., None] for q in (0, 1)]
        for c in range(L - 1, -1, -1):
            x, p = saved[c], perm[c % 2]
            PH = H.index_select(0, p)
            torch.sum(x * H, 1, out=grad_a[c])
            # sum x[p(i)] H[i] = (sum x H[p])[p(i)]: no gather of x
            grad_b[c] = (x * PH).sum(1).index_select(0, p)
            H = torch.addcmul(a3[c] * H, pb[c % 2][c], PH)
        return H.conj(), grad_a.conj(), grad_b.conj(), None


def mesh_apply(x: torch.Tensor, a, b, layout: MeshLayout, output_factor=None) -> torch.Tensor:
    """Apply the mesh to ``x`` of shape ``(..., N)`` column by column (``L`` butterflies).

    The batch is moved to the last axis so that every partner swap is a gather of
    contiguous rows; the backward is hand-written (no per-step autograd nodes).
    """
    perm = _perm(layout, x.device)
    shape = x.shape
    xt = x.reshape(-1, layout.n).T.contiguous()
    xt = _DirectButterflies.apply(xt, a, b, perm)
    if output_factor is not None:
        xt = xt * output_factor[:, None]
    return xt.T.reshape(shape)


@functools.lru_cache(maxsize=1024)
def prefer_matrix(batch: int, n: int, n_columns: int) -> bool:
    """Whether building the matrix and one GEMM beats running the columns on the batch."""
    direct = n_columns * (batch * n * 10 * 0.4e-9 + 10 * 3e-6) / 3
    matrix = _cost(n, n_columns, _block_size(n, n_columns)) / 3 + batch * n * n * 0.08e-9
    return matrix < direct


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


class _WindowButterflies(torch.autograd.Function):
    """Blocks of ``g`` butterflies on band windows: column ``j`` of a block matrix is
    nonzero only in rows ``j - g .. j + g``, so each block is kept as ``(N, W)`` windows
    (``W = 2g + 4``, starting at an even row so that the pairs of every window line up)
    instead of ``N x N``. Coefficients arrive already windowed.

    Inputs: ``A, B`` ``(g, W, nb, N)`` complex (coefficient of window row ``r`` of input
    mode ``j``), ``perm`` ``(2, W)`` long (partner window row by column parity),
    ``r0`` ``(N,)`` long (window row of mode ``j`` itself). The window axis comes
    first so that every partner swap is a gather of contiguous rows.
    Output: ``Y`` ``(W, nb, N)``, the block matrices in window form.
    """

    @staticmethod
    def forward(ctx, A, B, perm, r0):
        g, w, nb, n = A.shape
        Y = torch.nn.functional.one_hot(r0, w).T.to(A.dtype)[:, None].expand(w, nb, n)
        Y = Y.contiguous()
        saved = []
        for s in range(g):
            PY = Y.index_select(0, perm[s % 2])
            saved += [Y, PY]
            Y = torch.addcmul(A[s] * Y, B[s], PY)
        ctx.save_for_backward(A, B, perm, *saved)
        return Y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G):
        A, B, perm, *saved = ctx.saved_tensors
        g = A.shape[0]
        grad_A = torch.empty_like(A)
        grad_B = torch.empty_like(B)
        H = G.conj().contiguous()  # work with conj(grad): no conj inside the loop
        PB = (B[0::2].index_select(1, perm[0]), B[1::2].index_select(1, perm[1]))
        for s in range(g - 1, -1, -1):
            Y, PY = saved[2 * s], saved[2 * s + 1]
            torch.mul(Y, H, out=grad_A[s])
            torch.mul(PY, H, out=grad_B[s])
            if s:
                pb = PB[s % 2][s // 2]
                H = torch.addcmul(A[s] * H, pb, H.index_select(0, perm[s % 2]))
        return grad_A.conj(), grad_B.conj(), None, None


@functools.lru_cache(maxsize=64)
def _window_indices(n: int, g: int, device: torch.device):
    """Window geometry: modes are padded by ``pad`` (even) on both sides; window ``k`` of
    the padded coefficients starts at padded row ``2k``; mode ``j`` uses window ``win[j]``."""
    w = 2 * g + 4
    pad = 2 * ((g + 3) // 2)
    j = torch.arange(n)
    start = 2 * torch.div(j - g - 1, 2, rounding_mode="floor")  # even, <= j - g - 1
    win = torch.div(start + pad, 2, rounding_mode="floor")
    r0 = j - start
    i = start[:, None] + torch.arange(w)[None, :]
    valid = ((i >= 0) & (i < n)).reshape(-1)
    src = torch.arange(n * w)[valid]
    tgt = (i * n + j[:, None]).reshape(-1)[valid]
    return (
        pad,
        w,
        win.to(device),
        r0.to(device),
        _swap_perms(w).to(device),
        src.to(device),
        tgt.to(device),
    )


def _cost(n: int, L: int, g: int) -> float:
    """Rough seconds of one forward+backward for block size g (element-wise vs GEMM)."""
    w = min(2 * g + 4, n)
    nb = -(-L // g)
    return L * n * w * 8 * 0.4e-9 + (nb - 1) * n**3 * 4 * 0.08e-9 + g * 8 * 3e-6


@functools.lru_cache(maxsize=256)
def _block_size(n: int, L: int) -> int:
    """Cheapest even block size whose per-step tensors stay below ``MAX_INDEXED_CELLS``."""
    # block counts that are powers of two keep the GEMM tree free of identity padding
    gs = {max(2, 2 * -(-L // (2 * nb))) for nb in (2**k for k in range(L.bit_length() + 1))}
    cands = [g for g in sorted(gs) if -(-L // g) * g * n * min(2 * g + 4, n) <= MAX_INDEXED_CELLS]
    return min(cands or [2], key=lambda g: _cost(n, L, g))


def mesh_matrix(a, b, layout: MeshLayout, output_factor=None, block: int | None = None):
    """The ``N x N`` mesh matrix from butterfly coefficients.

    The ``L`` columns are cut into ``nb`` blocks of ``g`` (``block``; by default the
    cheapest by a simple cost model). All blocks run their ``g`` butterflies at once,
    on band windows when ``2g + 4 < N`` (a block of ``g`` columns couples modes at most
    ``g`` apart), then the block matrices are multiplied pairwise by batched GEMMs.
    """
    n, L = layout.n, layout.n_columns
    g = _block_size(n, L) if block is None else block
    if g % 2 or g < 2:
        raise ValueError(f"block must be an even number >= 2, got {g}")
    nb = -(-L // g)
    pad = nb * g - L
    if pad:
        a = torch.cat([a, torch.ones(pad, n, dtype=a.dtype, device=a.device)])
        b = torch.cat([b, torch.zeros(pad, n, dtype=b.dtype, device=b.device)])
    if _use_windows(n, g):
        pad_m, w, win, r0, perm, src, tgt = _window_indices(n, g, a.device)
        one = torch.ones(nb * g, pad_m, dtype=a.dtype, device=a.device)
        extra = torch.ones(nb * g, w, dtype=a.dtype, device=a.device)
        a_ext = torch.cat([one, a, one, extra], 1)
        b_ext = torch.cat([0 * one, b, 0 * one, 0 * extra], 1)

        def windows(c):
            c = c.unfold(1, w, 2).index_select(1, win)  # (L, n, w)
            return c.view(nb, g, n, w).permute(1, 3, 0, 2).contiguous()

        Y = _WindowButterflies.apply(windows(a_ext), windows(b_ext), perm, r0)
        X = _windows_to_dense(Y, src, tgt)
    else:
        X = _BlockButterflies.apply(a.view(nb, g, n), b.view(nb, g, n), _perm(layout, a.device))
    return _tree(X, output_factor)


@functools.lru_cache(maxsize=8)
def _window_sources(layout: MeshLayout, g: int, device: torch.device):
    """Index of every window cell ``(s, block, j, r)`` into ``cat([t00, t11, 1])`` (for A)
    and ``cat([t01, t10, 0])`` (for B); int32, built once per layout and block size."""
    n, L, m = layout.n, layout.n_columns, layout.n_mzi
    nb = -(-L // g)
    _, w, _, _, _, _, _ = _window_indices(n, g, torch.device("cpu"))
    slot_a = torch.full((nb * g, n + 1), 2 * m, dtype=torch.long)  # last column: outside
    slot_b = slot_a.clone()
    cols = torch.tensor(layout.columns, dtype=torch.long)
    tops = torch.tensor(layout.tops, dtype=torch.long)
    k = torch.arange(m)
    slot_a[cols, tops] = k
    slot_a[cols, tops + 1] = m + k
    slot_b[cols, tops] = k
    slot_b[cols, tops + 1] = m + k
    j = torch.arange(n)
    start = 2 * torch.div(j - g - 1, 2, rounding_mode="floor")
    i = start[:, None] + torch.arange(w)[None, :]
    i = torch.where((i >= 0) & (i < n), i, n)  # outside the mesh -> the constant slot
    # cell (s, r, block, j) -> column block * g + s, mode i[j, r]
    c = (torch.arange(nb)[None, :] * g + torch.arange(g)[:, None])[:, None, :, None]
    ii = i.T[None, :, None, :]
    ia = slot_a[c, ii].to(torch.int32).reshape(-1)
    ib = slot_b[c, ii].to(torch.int32).reshape(-1)
    return ia.to(device), ib.to(device), w


def _use_windows(n: int, g: int) -> bool:
    return 2 * g + 4 < n


# window cells above which the per-cell gather index (int32) is not cached; the
# coefficients are then windowed from the (L, N) arrays by a strided unfold instead
MAX_INDEXED_CELLS = 1 << 22


def mesh_matrix_from_entries(entries, layout: MeshLayout, output_factor=None, block=None):
    """The ``N x N`` mesh matrix from per-MZI entries ``(t00, t01, t10, t11)`` ``(n_mzi,)``.

    Same result as ``mesh_matrix(*mesh_coefficients(*entries, layout), layout, ...)``;
    on the band-window path the windowed coefficients are gathered straight from the
    entries (one gather each for ``A`` and ``B``).
    """
    n, L = layout.n, layout.n_columns
    g = _block_size(n, L) if block is None else block
    if g % 2 or g < 2:
        raise ValueError(f"block must be an even number >= 2, got {g}")
    t00, t01, t10, t11 = entries
    cells = -(-L // g) * g * n * (2 * g + 4)
    if not _use_windows(n, g) or layout.n_mzi == 0 or cells > MAX_INDEXED_CELLS:
        a, b = mesh_coefficients(t00, t01, t10, t11, layout)
        return mesh_matrix(a, b, layout, output_factor, block=g)
    nb = -(-L // g)
    ia, ib, w = _window_sources(layout, g, t00.device)
    _, _, _, r0, perm, src, tgt = _window_indices(n, g, t00.device)
    one = torch.ones(1, dtype=t00.dtype, device=t00.device)
    A = torch.cat([t00, t11, one]).index_select(0, ia).view(g, w, nb, n)
    B = torch.cat([t01, t10, 0 * one]).index_select(0, ib).view(g, w, nb, n)
    Y = _WindowButterflies.apply(A, B, perm, r0)
    return _tree(_windows_to_dense(Y, src, tgt), output_factor)


def _windows_to_dense(Y, src, tgt):
    """``(W, nb, N)`` windows -> ``(nb, N, N)`` block matrices."""
    w, nb, n = Y.shape
    Yf = Y.permute(1, 2, 0).reshape(nb, n * w)
    return Yf.new_zeros(nb, n * n).index_copy(1, tgt, Yf.index_select(1, src)).view(nb, n, n)


def _tree(X, output_factor):
    n = X.shape[-1]
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
    ent = _entries(theta, phi, coupler_error, arm_loss_db)
    out = None if output_phase is None else torch.polar(torch.ones_like(output_phase), output_phase)
    return mesh_matrix_from_entries(ent, layout, out)


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
    ent = _entries(theta, phi, coupler_error, arm_loss_db)
    out = None if output_phase is None else torch.polar(torch.ones_like(output_phase), output_phase)
    batch = x.numel() // max(layout.n, 1)
    if prefer_matrix(batch, layout.n, layout.n_columns):
        return x @ mesh_matrix_from_entries(ent, layout, out).transpose(-1, -2)
    return mesh_apply(x, *mesh_coefficients(*ent, layout), layout, out)
