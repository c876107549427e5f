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

When the phases differ per sample (data written into the phase shifters),
:func:`mzi_mesh_batched` runs the same butterflies with per-sample
coefficients ``(L, N, B)``: no matrix is shared, so the direct path is the only
sensible one.

Both paths have hand-written first-order backward passes (checked against finite
differences by ``torch.autograd.gradcheck``); second derivatives through a mesh
are not supported.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .._checks import complex_of, one_of, positive_int, renamed_attribute
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
    "mesh_coefficients_batched",
    "mzi_mesh_batched",
]

LAYOUTS = ("clements", "reck")


@dataclass(frozen=True)
class MeshLayout:
    """Where each MZI of a mesh sits: ``columns[k]`` and upper mode ``tops[k]``.

    MZIs are numbered column by column, top to bottom; parameter vectors
    (``theta``, ``phi``) follow this order. ``n_modes`` is the number of modes
    (``n``: its deprecated name).
    """

    name: str
    n_modes: int
    n_columns: int
    columns: tuple[int, ...]
    tops: tuple[int, ...]

    def __post_init__(self):
        positive_int(self.n_modes, "n_modes")
        if len(self.columns) != len(self.tops):
            raise ValueError("columns and tops must have one entry per MZI")
        seen = set()
        for c, m in zip(self.columns, self.tops):
            if not (0 <= c < self.n_columns) or not (0 <= m < self.n_modes - 1):
                raise ValueError(
                    f"MZI at column {c}, mode {m} is outside the {self.n_modes}-mode mesh"
                )
            if (m - c) % 2:
                raise ValueError(f"MZI at column {c} has top mode {m}; it must have parity {c % 2}")
            if (c, m) in seen:
                raise ValueError(f"two MZIs at column {c}, mode {m}")
            seen.add((c, m))

    def __hash__(self) -> int:  # cached: layouts key the index caches on every call
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.name, self.n_modes, self.n_columns, self.columns, self.tops))
            object.__setattr__(self, "_hash", h)
        return h

    n = renamed_attribute("n", "n_modes")

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
        if layout.n_modes != n:
            raise ValueError(f"layout is for {layout.n_modes} modes, not {n}")
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
    n, L = layout.n_modes, layout.n_columns
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
    return _coefficients(t00, t01, t10, t11, layout)


def _coefficients(t00, t01, t10, t11, layout: MeshLayout):
    """``a, b`` ``(L, N, *batch)`` from entries ``(n_mzi, *batch)``: the MZIs' 2x2 blocks
    scattered into the columns (``a = 1, b = 0`` on idle modes)."""
    n, L = layout.n_modes, layout.n_columns
    batch = t00.shape[1:]
    idx = _indices(layout, t00.device)[0]
    one = torch.ones(L * n, *batch, dtype=t00.dtype, device=t00.device)
    zero = torch.zeros(L * n, *batch, dtype=t00.dtype, device=t00.device)
    a = one.index_put((idx,), torch.cat([t00, t11]))
    b = zero.index_put((idx,), torch.cat([t01, t10]))
    return a.view(L, n, *batch), b.view(L, n, *batch)


def _perm(layout: MeshLayout, device) -> torch.Tensor:
    return _indices(layout, device)[2]


def _run_columns(xt, a, b, perm):
    """The ``L`` butterflies ``x <- a[c] x + b[c] x[perm[c % 2]]`` on ``xt`` ``(N, B)``
    (``a, b`` ``(L, N, 1)``: shared by the batch, or ``(L, N, B)``: per sample).
    Returns the output and the input of every column (for the backward). The partner
    buffer is reused: on CPU, fresh memory costs page faults."""
    saved = []
    px = torch.empty_like(xt)
    for c in range(a.shape[0]):
        saved.append(xt)
        torch.index_select(xt, 0, perm[c % 2], out=px)
        xt = a[c] * xt
        xt.addcmul_(b[c], px)
    return xt, saved


class _Butterflies(torch.autograd.Function):
    """The ``L`` butterflies on ``x`` ``(N, B)``: the forward of both kinds (coefficients
    ``(L, N)`` shared by the batch, or ``(L, N, B)`` per sample); each kind writes its
    backward, which starts from :meth:`_adjoint_start`."""

    @staticmethod
    def forward(ctx, xt, a, b, perm):
        shared = a.ndim == 2
        xt, saved = _run_columns(
            xt, a.unsqueeze(2) if shared else a, b.unsqueeze(2) if shared else b, perm
        )
        ctx.save_for_backward(a, b, perm, *saved)
        return xt

    @staticmethod
    def _adjoint_start(ctx, G):
        """``(a, b, perm, saved, grad_a, grad_b, H)``: the saved tensors, empty gradients
        of ``a`` and ``b``, and ``H = conj(G)`` (conj(grad) throughout, conjugated
        physically once: conj views are slow operands)."""
        a, b, perm, *saved = ctx.saved_tensors
        H = torch.empty_like(G, memory_format=torch.contiguous_format)
        H.copy_(G.conj())
        return a, b, perm, saved, torch.empty_like(a), torch.empty_like(b), H


class _DirectButterflies(_Butterflies):
    """Shared coefficients on a batch laid out ``(N, batch)``, with a hand-written
    backward (two batch reductions and one butterfly per column). Per-column
    temporaries are reused: on CPU, fresh memory costs page faults."""

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G):
        a, b, perm, saved, grad_a, grad_b, H = _Butterflies._adjoint_start(ctx, G)
        L = a.shape[0]
        red = torch.empty_like(a[0])
        H2, PH, prod = torch.empty_like(H), torch.empty_like(H), torch.empty_like(H)
        a3 = a.unsqueeze(2)
        pb = [b.index_select(1, perm[q]).unsqueeze(2) for q in (0, 1)]
        for c in range(L - 1, -1, -1):
            x, p = saved[c], perm[c % 2]
            torch.index_select(H, 0, p, out=PH)
            torch.sum(torch.mul(x, H, out=prod), 1, out=grad_a[c])
            # sum x[p(i)] H[i] = (sum x H[p])[p(i)]: no gather of x
            torch.sum(torch.mul(x, PH, out=prod), 1, out=red)
            torch.index_select(red, 0, p, out=grad_b[c])
            torch.mul(H, a3[c], out=H2)
            H2.addcmul_(pb[c % 2][c], PH)
            H, H2 = H2, H
        return H.conj(), grad_a.conj(), grad_b.conj(), None


def mesh_apply(x: torch.Tensor, a, b, layout: MeshLayout, output_factor=None) -> torch.Tensor:
    """Apply the mesh to ``x`` of shape ``(..., N)`` column by column (``L`` butterflies).

    The batch is moved to the last axis so that every partner swap is a gather of
    contiguous rows; the backward is hand-written (no per-step autograd nodes).
    """
    perm = _perm(layout, x.device)
    shape = x.shape
    xt = x.reshape(-1, layout.n_modes).T.contiguous()
    xt = _DirectButterflies.apply(xt, a, b, perm)
    if output_factor is not None:
        xt = xt * output_factor[:, None]
    return xt.T.reshape(shape)


@functools.lru_cache(maxsize=1024)
def prefer_matrix(batch: int, n: int, n_columns: int) -> bool:
    """Whether building the matrix and one GEMM beats running the columns on the batch
    (forward + backward, by the cost models fitted on a 1-thread CPU, complex64)."""
    direct = n_columns * batch * n * 3.3e-9 + n_columns * 58e-6
    matrix = _cost(n, n_columns, _block_size(n, n_columns)) + 3 * batch * n * n * 0.14e-9
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


class _PairWindows(torch.autograd.Function):
    """Blocks of ``g`` butterflies on band windows, straight from padded coefficients.

    A block of ``g`` columns couples modes at most ``g`` apart, so column ``j`` of a
    block matrix is nonzero only in rows ``j - g .. j + g``. The two modes of a pair
    slot ``k`` (``j = 2k, 2k + 1``) share one window of ``W = 2g + 4`` rows starting
    at mode ``2k - g - 2`` (even, so the pairs of every window line up with the
    mesh's). Window ``k`` of the coefficients is then ``c_pad[:, 2k : 2k + W]``: a
    strided unfold, no gather; the backward folds the window gradients back (the
    unfold's adjoint). The windows are written into the dense block
    matrices through one strided view (row ``2k + r`` of a zero buffer padded by
    ``g + 2`` rows on both sides, column ``2k + e``).

    Inputs: ``a_pad, b_pad`` ``(nb * g, ne + 2 (g + 2))`` complex, the butterfly
    coefficients of the ``nb * g`` columns with ``ne`` (``N`` rounded up to even)
    modes padded by ``g + 2`` idle modes (``a = 1, b = 0``) on both sides; ``g``.
    Output: ``(nb, ne, ne)``, the block matrices (block ``i`` = columns
    ``i g .. i g + g - 1``).
    """

    @staticmethod
    def forward(ctx, a_pad, b_pad, g):
        nbg, n_pad = a_pad.shape
        nb, w, ne = nbg // g, 2 * g + 4, n_pad - 2 * (g + 2)
        k = ne // 2

        def windows(c):  # (nb g, n_pad) -> (g, W, nb, K)
            c = c.view(nb, g, n_pad).unfold(2, w, 2)[:, :, :k]
            return c.permute(1, 3, 0, 2).contiguous()

        A, B = windows(a_pad), windows(b_pad)
        perm = _window_perms(w, a_pad.device)
        Y = a_pad.new_zeros(w, nb, 2, k)  # window row, block, mode parity, pair slot
        Y[g + 2, :, 0] = 1
        Y[g + 3, :, 1] = 1
        PY = torch.empty_like(Y)
        p = perm.unbind(0)
        A4, B4 = A.unsqueeze(3).unbind(0), B.unsqueeze(3).unbind(0)
        saved = []
        for s in range(g):
            saved.append(Y)
            torch.index_select(Y, 0, p[s % 2], out=PY)
            Y = A4[s] * Y
            Y.addcmul_(B4[s], PY)
        D = Y.new_zeros(nb, ne + 2 * (g + 2), ne)
        _dense_windows(D, w, k).copy_(Y.permute(1, 0, 2, 3))
        ctx.g = g
        ctx.save_for_backward(A, B, perm, *saved)
        return D[:, g + 2 : g + 2 + ne]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, GM):
        A, B, perm, *saved = ctx.saved_tensors
        g = ctx.g
        _, w, nb, k = A.shape
        ne = 2 * k
        GD = GM.new_zeros(nb, ne + 2 * (g + 2), ne)
        GD[:, g + 2 : g + 2 + ne] = GM
        # work with conj(grad), conjugated physically once (conj views are slow operands);
        # the per-step temporaries are reused: fresh memory costs page faults
        H = torch.empty(w, nb, 2, k, dtype=GM.dtype, device=GM.device)
        H.copy_(_dense_windows(GD, w, k).permute(1, 0, 2, 3).conj())
        H2, PH, PY = torch.empty_like(H), torch.empty_like(H), torch.empty_like(H)
        grad_A, grad_B = torch.empty_like(A), torch.empty_like(B)
        gA, gB = grad_A.unbind(0), grad_B.unbind(0)
        A4 = A.unsqueeze(3).unbind(0)
        p = perm.unbind(0)
        PB4 = [B[q::2].index_select(1, p[q]).unsqueeze(3).unbind(0) for q in (0, 1)]
        PY0, PY1 = PY.unbind(2)
        for s in range(g - 1, -1, -1):
            Y0, Y1 = saved[s].unbind(2)
            H0, H1 = H.unbind(2)
            torch.index_select(saved[s], 0, p[s % 2], out=PY)
            # both modes of a pair slot share one coefficient window
            torch.mul(Y0, H0, out=gA[s]).addcmul_(Y1, H1)
            torch.mul(PY0, H0, out=gB[s]).addcmul_(PY1, H1)
            if s:
                torch.index_select(H, 0, p[s % 2], out=PH)
                torch.mul(H, A4[s], out=H2).addcmul_(PB4[s % 2][s // 2], PH)
                H, H2 = H2, H
        return _fold(grad_A.conj_physical_(), g), _fold(grad_B.conj_physical_(), g), None


def _fold(gw: torch.Tensor, g: int) -> torch.Tensor:
    """Window gradients ``(g, W, nb, K)`` -> padded coefficient gradients ``(nb g, n_pad)``
    (the adjoint of the forward's unfold: coefficient ``2k + r`` of column
    ``(block, s)`` collects window row ``r`` of slot ``k``)."""
    _, w, nb, k = gw.shape
    n_pad = 2 * k + 2 * (g + 2)
    # the unfold has k + 1 windows; the last one is unused (zero gradient)
    windows = torch.nn.functional.pad(gw.permute(2, 0, 3, 1), (0, 0, 0, 1))
    return torch.ops.aten.unfold_backward(windows, [nb, g, n_pad], 2, w, 2).view(nb * g, n_pad)


def _dense_windows(D, w: int, k: int) -> torch.Tensor:
    """The ``(nb, W, 2, K)`` window cells inside a padded ``(nb, ne + 2 (g + 2), ne)``
    buffer: cell ``(r, e, k)`` is row ``2k + r``, column ``2k + e`` (one strided view)."""
    ne = D.shape[-1]
    return D.as_strided((D.shape[0], w, 2, k), (D.stride(0), ne, 1, 2 * ne + 2))


@functools.lru_cache(maxsize=64)
def _window_perms(w: int, device: torch.device) -> torch.Tensor:
    return _swap_perms(w).to(device)


def _cost(n: int, L: int, g: int) -> float:
    """Seconds of one forward + backward of :func:`mesh_matrix` with block size ``g``:
    window cells (``L N W``), the GEMM tree (``3 (nb - 1) N^3`` complex multiply-adds)
    and a constant; least-squares fit to N = 16..256 on one CPU thread (complex64)."""
    w = min(2 * g + 4, n)
    nb = -(-L // g)
    return L * n * w * 15e-9 + 3 * (nb - 1) * n**3 * 0.12e-9 + 1e-3


@functools.lru_cache(maxsize=256)
def _block_size(n: int, L: int) -> int:
    """Cheapest even block size by :func:`_cost`."""
    # block counts that are powers of two keep the GEMM tree free of identity padding
    gs = {max(2, 2 * -(-L // (2 * nb))) for nb in (2**k for k in range(L.bit_length() + 1))}
    return min(sorted(gs), key=lambda g: _cost(n, L, g))


def mesh_matrix(a, b, layout: MeshLayout, output_factor=None, block: int | None = None):
    """The ``N x N`` mesh matrix from butterfly coefficients ``a, b`` ``(L, N)``.

    The ``L`` columns are cut into ``nb`` blocks of ``g`` (``block``; by default the
    cheapest by a simple cost model). All blocks run their ``g`` butterflies at once,
    on band windows when ``2g + 4 < N`` (a block of ``g`` columns couples modes at most
    ``g`` apart), then the block matrices are multiplied pairwise by batched GEMMs.
    """
    n, L = layout.n_modes, layout.n_columns
    g = _check_block(n, L, block)
    nb = -(-L // g)
    rows = nb * g - L  # idle columns completing the last block
    if _use_windows(n, g):
        # idle modes: g + 2 on both sides, plus one to complete the last pair of an odd N
        cols = (g + 2, g + 2 + n % 2)
        a, b = (F.pad(c, (*cols, 0, rows), value=v) for c, v in ((a, 1.0), (b, 0.0)))
        M = _PairWindows.apply(a, b, g)
        if n % 2:
            M = M[:, :n, :n]
        return _tree(M, output_factor)
    a, b = (F.pad(c, (0, 0, 0, rows), value=v) for c, v in ((a, 1.0), (b, 0.0)))
    X = _BlockButterflies.apply(a.view(nb, g, n), b.view(nb, g, n), _perm(layout, a.device))
    return _tree(X, output_factor)


def _check_block(n: int, L: int, block) -> int:
    g = _block_size(n, L) if block is None else block
    if isinstance(g, bool) or not isinstance(g, int) or g % 2 or g < 2:
        raise ValueError(f"block must be an even integer >= 2, got {g!r}")
    return g


def _use_windows(n: int, g: int) -> bool:
    return 2 * g + 4 < n


def mesh_matrix_from_entries(entries, layout: MeshLayout, output_factor=None, block=None):
    """The ``N x N`` mesh matrix from per-MZI entries ``(t00, t01, t10, t11)`` ``(n_mzi,)``:
    ``mesh_matrix(*mesh_coefficients(*entries, layout), layout, ...)``."""
    return mesh_matrix(*mesh_coefficients(*entries, layout), layout, output_factor, block)


def _tree(X, output_factor):
    """``X[nb-1] ... X[1] X[0]`` ``(nb, N, N)`` by pairwise batched GEMMs, then ``D``."""
    n = X.shape[-1]
    while X.shape[0] > 1:
        if X.shape[0] % 2:
            eye = torch.eye(n, dtype=X.dtype, device=X.device)
            X = torch.cat([X, eye[None]])
        # unbind (backward: one stack) rather than strided slices (zero-filled backward)
        first, second = X.unflatten(0, (-1, 2)).unbind(1)
        X = second @ first
    U = X[0]
    if output_factor is not None:
        U = output_factor[:, None] * U
    return U


def _check_phases(theta, phi, output_phase, layout: MeshLayout, *, batched: bool = False):
    """``theta``, ``phi`` real floating tensors ``(n_mzi,)`` and ``output_phase`` None or
    ``(N,)``; when ``batched``, ``(..., n_mzi)`` and ``(..., N)``, all of one dtype."""
    m, n = layout.n_mzi, layout.n_modes
    for name, t in (("theta", theta), ("phi", phi)):
        if not isinstance(t, torch.Tensor) or t.is_complex() or not t.is_floating_point():
            raise TypeError(
                f"{name} must be a real floating tensor of phases [rad], got "
                f"{type(t).__name__ if not isinstance(t, torch.Tensor) else t.dtype}"
            )
    bad = [name for name, t in (("theta", theta), ("phi", phi)) if not _fits(t, m, batched)]
    if bad:
        raise ValueError(
            f"{' and '.join(bad)} must have shape {_shape_text(m, batched)} for this "
            f"{layout.name} mesh of {n} modes (one phase per MZI, in the layout's order), got "
            f"theta {tuple(theta.shape)} and phi {tuple(phi.shape)}"
        )
    if batched and theta.dtype != phi.dtype:
        raise TypeError(f"theta is {theta.dtype} but phi is {phi.dtype}; use one precision")
    if output_phase is None:
        return
    if batched and (
        not isinstance(output_phase, torch.Tensor) or output_phase.dtype != theta.dtype
    ):
        raise TypeError(f"output_phase must be a real tensor of dtype {theta.dtype} or None")
    if not _fits(output_phase, n, batched):
        raise ValueError(
            f"output_phase must have shape {_shape_text(n, batched)}, "
            f"got {tuple(output_phase.shape)}"
        )


def _fits(t: torch.Tensor, size: int, batched: bool) -> bool:
    """``t`` is ``(size,)``, or ``(..., size)`` when ``batched``."""
    return (t.ndim >= 1 and t.shape[-1] == size) if batched else tuple(t.shape) == (size,)


def _shape_text(size: int, batched: bool) -> str:
    return f"(..., {size})" if batched else f"({size},)"


def _check_input(x, theta, layout: MeshLayout) -> None:
    """``x`` a complex ``(..., N)`` tensor of the phases' precision."""
    if not isinstance(x, torch.Tensor) or not x.is_complex():
        raise TypeError(
            "x must be a complex tensor (the input field), got "
            f"{x.dtype if isinstance(x, torch.Tensor) else type(x).__name__}"
        )
    if x.ndim < 1 or x.shape[-1] != layout.n_modes:
        raise ValueError(f"x must have last dimension {layout.n_modes}, got shape {tuple(x.shape)}")
    cdt = complex_of(theta.dtype)
    if x.dtype != cdt:
        raise TypeError(f"x is {x.dtype} but the mesh phases give {cdt}; use matching precision")


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
    _check_phases(theta, phi, output_phase, layout)
    ent = mzi_entries(theta, phi, coupler_error, arm_loss_db)
    out = None if output_phase is None else torch.polar(torch.ones_like(output_phase), output_phase)
    return mesh_matrix_from_entries(ent, layout, out)


def mzi_mesh(
    x, theta, phi, output_phase, layout: MeshLayout, coupler_error=None, arm_loss_db=None
) -> torch.Tensor:
    """Apply the mesh to complex ``x`` of shape ``(..., N)``; returns ``(..., N)``.

    When the batch (product of the leading dims) exceeds ``N`` the matrix is built
    once and applied with one GEMM; otherwise the columns run on ``x`` directly.
    """
    _check_phases(theta, phi, output_phase, layout)
    _check_input(x, theta, layout)
    ent = mzi_entries(theta, phi, coupler_error, arm_loss_db)
    out = None if output_phase is None else torch.polar(torch.ones_like(output_phase), output_phase)
    batch = x.numel() // max(layout.n_modes, 1)
    if prefer_matrix(batch, layout.n_modes, layout.n_columns):
        return x @ mesh_matrix_from_entries(ent, layout, out).transpose(-1, -2)
    return mesh_apply(x, *mesh_coefficients(*ent, layout), layout, out)


# -- meshes whose phases differ per sample (data written into the phase shifters) -------


def mesh_coefficients_batched(t00, t01, t10, t11, layout: MeshLayout):
    """Per-sample butterfly coefficients ``a, b`` ``(L, N, B)`` from entries ``(n_mzi, B)``.

    The batch is the *last* axis (as in :func:`mzi_mesh_batched`'s butterflies):
    column ``c`` maps ``x`` ``(N, B)`` to ``a[c] * x + b[c] * x[perm[c % 2]]``, every
    sample with its own 2x2 blocks (``a = 1, b = 0`` on idle modes).
    """
    return _coefficients(t00, t01, t10, t11, layout)


class _SampleButterflies(_Butterflies):
    """Per-sample coefficients ``(L, N, B)`` with a hand-written backward (per column:
    two gathers and four element-wise products; nothing is reduced over the batch, every
    sample has its own gradient)."""

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G):
        a, b, perm, saved, grad_a, grad_b, H = _Butterflies._adjoint_start(ctx, G)
        L = a.shape[0]
        H2, PH, PX = torch.empty_like(H), torch.empty_like(H), torch.empty_like(H)
        for c in range(L - 1, -1, -1):
            x, p = saved[c], perm[c % 2]
            torch.mul(x, H, out=grad_a[c])
            torch.index_select(x, 0, p, out=PX)
            torch.mul(PX, H, out=grad_b[c])
            # x_j feeds y_j (through a_j) and y_p(j) (through b_p(j)): gather b H once
            torch.mul(b[c], H, out=PX)
            torch.index_select(PX, 0, p, out=PH)
            torch.mul(H, a[c], out=H2).add_(PH)
            H, H2 = H2, H
        return H.conj(), grad_a.conj_physical_(), grad_b.conj_physical_(), None


def _check_batched(x, theta, phi, output_phase, layout: MeshLayout, coupler_error, arm_loss_db):
    """The checks of :func:`mzi_mesh_batched`; returns the broadcast batch shape."""
    _check_phases(theta, phi, output_phase, layout, batched=True)
    _check_input(x, theta, layout)
    m = layout.n_mzi
    for name, t in (("coupler_error", coupler_error), ("arm_loss_db", arm_loss_db)):
        if t is not None and tuple(torch.as_tensor(t).shape) != (m, 2):
            raise ValueError(f"{name} must have shape ({m}, 2), got {tuple(t.shape)}")
    shapes = [x.shape[:-1], theta.shape[:-1], phi.shape[:-1]]
    if output_phase is not None:
        shapes.append(output_phase.shape[:-1])
    try:
        return torch.broadcast_shapes(*shapes)
    except RuntimeError as exc:
        raise ValueError(
            "the leading (batch) dimensions of x, theta, phi and output_phase must broadcast, "
            f"got {[tuple(s) for s in shapes]}"
        ) from exc


def mzi_mesh_batched(
    x, theta, phi, output_phase, layout: MeshLayout, coupler_error=None, arm_loss_db=None
) -> torch.Tensor:
    """Apply a mesh whose phases differ per sample: ``y[s] = U(theta[s], phi[s]) x[s]``.

    For data written into the phase shifters (:class:`photonn.onchip.EncodedMesh`)
    every sample has its own mesh, so no matrix is shared across the batch. The
    mesh runs column by column on the whole batch at once: each column is one
    butterfly ``a_c * x + b_c * x[perm]`` with per-sample coefficients (batch on
    the last axis, so every partner swap is a gather of contiguous rows), ``L``
    steps forward and ``L`` backward, with a hand-written backward pass. Cost and
    memory ``O(B L N)``; building the ``B`` dense matrices would cost ``O(B L N^2)``.

    Args:
        x: complex ``(..., N)``, the input fields.
        theta, phi: real ``(..., n_mzi)`` [rad], in the layout's MZI order.
        output_phase: real ``(..., N)`` [rad] (or ``(N,)``, or None: no output screen).
        layout: a :class:`MeshLayout`.
        coupler_error, arm_loss_db: optional ``(n_mzi, 2)`` static errors shared by
            every sample (see :func:`~photonn.functional.mzi.mzi_entries`).

    The leading dimensions of ``x``, ``theta``, ``phi`` and ``output_phase``
    broadcast (e.g. one input field ``(N,)`` for a batch of phases ``(B, n_mzi)``);
    ``x`` must be the complex dtype of the phases. Returns complex
    ``(*batch, N)``. Differentiable in all four tensors (first order).

    Equals ``mzi_mesh_matrix(theta[s], phi[s], output_phase[s], layout) @ x[s]`` for
    every sample ``s`` (tested to 1e-12 in complex128).
    """
    batch = _check_batched(x, theta, phi, output_phase, layout, coupler_error, arm_loss_db)
    return _mesh_batched(x, theta, phi, output_phase, layout, coupler_error, arm_loss_db, batch)


def _mesh_batched(x, theta, phi, output_phase, layout, coupler_error, arm_loss_db, batch=None):
    """:func:`mzi_mesh_batched` without its checks, for callers that validated their
    inputs at their own boundary (``batch``: the broadcast batch shape, found if None)."""
    n, m = layout.n_modes, layout.n_mzi
    if batch is None:
        shapes = [x.shape[:-1], theta.shape[:-1], phi.shape[:-1]]
        if output_phase is not None:
            shapes.append(output_phase.shape[:-1])
        batch = torch.broadcast_shapes(*shapes)
    count = 1
    for d in batch:
        count *= d
    # phases with the batch last: (n_mzi, B); errors broadcast over the batch
    th = theta.expand(*batch, m).reshape(count, m).T
    ph = phi.expand(*batch, m).reshape(count, m).T
    ce = None if coupler_error is None else torch.as_tensor(coupler_error).to(th)[:, None, :]
    al = None if arm_loss_db is None else torch.as_tensor(arm_loss_db).to(th)[:, None, :]
    ent = mzi_entries(th, ph, ce, al)
    a, b = mesh_coefficients_batched(*ent, layout)
    xt = x.expand(*batch, n).reshape(count, n).T.contiguous()
    yt = _SampleButterflies.apply(xt, a, b, _perm(layout, x.device))
    y = yt.T.reshape(*batch, n)
    if output_phase is not None:
        y = y * torch.polar(torch.ones_like(output_phase), output_phase)
    return y
