"""Structured (butterfly / FFT) MZI meshes: layout, fixed permutations, evaluation.

A butterfly mesh of ``N = 2^K`` modes has ``K`` stages of ``N/2`` MZIs each. The
light first passes a fixed input permutation ``P`` (bit reversal, waveguide
crossings); stage ``s`` (``s = 0 .. K-1``, half-span ``h = 2^s``) then places one
MZI on every mode pair ``(p + h, p)`` with ``p mod 2h < h``. The MZI's first port
(row and column 0 of ``T(theta, phi)``, docs/architecture.md) is mode ``p + h`` and
its second port mode ``p``; both outputs stay on their modes (in place). After the
last stage a diagonal phase screen ``D = diag(exp(i output_phase))`` acts:

    U = D  S_{K-1} ... S_1 S_0  P.

This is the radix-2 decimation-in-time FFT wiring (Cooley and Tukey 1965): with
every ``theta = -pi/4`` and ``phi`` the twiddle phase ``pi - 2 pi j / 2h`` of the
pair (``j = p mod 2h``) and ``D = I``, each block is
``[[-w, 1], [w, 1]] / sqrt(2)`` with ``w = exp(-2 pi i j / 2h)``, and ``U`` is the
unitary DFT ``F[k, m] = exp(-2 pi i k m / N) / sqrt(N)`` exactly
(:func:`butterfly_dft_phases`).

A stage is one gather of first and second ports, two multiply-adds and one gather
back (the permutation ``P`` is folded into the first stage's gather), so a mesh
costs ``log2 N`` vectorised steps against ``N`` for a Clements mesh. Autograd
handles the backward (``log2 N`` steps: no hand-written pass is needed).

A butterfly mesh has ``N log2 N + N`` real phases, fewer than the ``N^2`` of
``U(N)`` for ``N > 2``: it reaches a subset of measure zero of the unitaries and
cannot be Haar-random (:func:`butterfly_random_phases` draws every block from the
Haar measure of ``U(2)`` instead).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

from .._checks import positive_int
from .mzi import mzi_entries

__all__ = [
    "ButterflyLayout",
    "butterfly_layout",
    "butterfly_apply",
    "butterfly_matrix",
    "butterfly_dft_phases",
    "butterfly_random_phases",
    "butterfly_crosstalk_pairs",
    "PermutingLayout",
    "default_permuting_blocks",
    "permuting_layout",
    "permuting_apply",
    "permuting_matrix",
    "permuting_haar_phases",
    "rectangular_haar_alpha",
    "rectangular_haar_phases",
    "rectangular_permutation",
]


def _log2_exact(n) -> int:
    n = positive_int(n, "n")
    if n < 2 or n & (n - 1):
        lower = 1 << (n.bit_length() - 1)
        upper = lower * 2 if lower != n else n * 2
        raise ValueError(
            f"a butterfly (FFT) mesh needs a number of modes n that is a power of two >= 2, "
            f"got n={n}; use n={max(lower, 2)} or n={upper} (pad the input with zeros), or "
            f"an MZIMesh (Clements or Reck), which takes any n"
        )
    return n.bit_length() - 1


@dataclass(frozen=True)
class ButterflyLayout:
    """Where each MZI of a butterfly mesh sits.

    ``first[s][k]``, ``second[s][k]``: the modes on the first and second port of
    MZI ``k`` of stage ``s``. MZIs are numbered stage by stage (``s * n/2 + k``);
    parameter vectors (``theta``, ``phi``) follow this order. ``input_perm``: the
    fixed permutation before stage 0 (``x -> x[..., input_perm]``).
    """

    n: int
    first: tuple[tuple[int, ...], ...]
    second: tuple[tuple[int, ...], ...]
    input_perm: tuple[int, ...]
    name: str = "butterfly"

    @property
    def n_stages(self) -> int:
        """Optical depth: the number of MZIs on every path (``log2 n``)."""
        return len(self.first)

    @property
    def n_columns(self) -> int:
        return self.n_stages

    @property
    def n_mzi(self) -> int:
        return self.n_stages * (self.n // 2)

    @property
    def n_phases(self) -> int:
        """Real phases: ``theta`` and ``phi`` per MZI plus the ``n`` output phases."""
        return 2 * self.n_mzi + self.n


def _bit_reverse(n: int, k: int) -> tuple[int, ...]:
    return tuple(int(format(i, f"0{k}b")[::-1], 2) if k else 0 for i in range(n))


@functools.cache
def butterfly_layout(n: int) -> ButterflyLayout:
    """The radix-2 butterfly (FFT) layout of ``n`` modes (``n`` a power of two)."""
    k = _log2_exact(n)
    first, second = [], []
    for s in range(k):
        h = 1 << s
        lo = [p for p in range(n) if p % (2 * h) < h]
        first.append(tuple(p + h for p in lo))
        second.append(tuple(lo))
    return ButterflyLayout(n, tuple(first), tuple(second), _bit_reverse(n, k))


@functools.lru_cache(maxsize=64)
def _gathers(layout: ButterflyLayout, device: torch.device):
    """Per stage: the gather index ``(n,)`` of [first ports, second ports] (the input
    permutation folded into stage 0) and the inverse scatter back to mode order."""
    perm = torch.tensor(layout.input_perm, dtype=torch.long)
    out = []
    for s in range(layout.n_stages):
        idx = torch.tensor(layout.first[s] + layout.second[s], dtype=torch.long)
        back = torch.argsort(idx)
        gather = perm[idx] if s == 0 else idx
        out.append((gather.to(device), back.to(device)))
    return tuple(out)


def _check(entries, layout: ButterflyLayout):
    m = layout.n_mzi
    for t in entries:
        if t.shape[-1:] != (m,):
            raise ValueError(
                f"MZI entries must have last dimension {m} (n_mzi of the {layout.n}-mode "
                f"butterfly), got shape {tuple(t.shape)}"
            )


def butterfly_apply(x: torch.Tensor, entries, layout: ButterflyLayout, output_factor=None):
    """Apply a butterfly mesh to ``x`` ``(..., n)`` complex, column by column.

    Args:
        x: complex ``(..., n)``.
        entries: ``(t00, t01, t10, t11)`` complex ``(n_mzi,)`` (from
            :func:`~photonn.functional.mzi.mzi_entries`).
        layout: a :class:`ButterflyLayout`.
        output_factor: optional complex ``(n,)`` (``exp(i output_phase)``).

    Returns:
        complex ``(..., n)``: ``x @ U.T``.
    """
    _check(entries, layout)
    if x.shape[-1] != layout.n:
        raise ValueError(f"x must have last dimension {layout.n}, got shape {tuple(x.shape)}")
    h = layout.n // 2
    # unbind once (one backward op), not a select per stage (a zero-filled gradient each)
    t00, t01, t10, t11 = (t.view(layout.n_stages, h, 1).unbind(0) for t in entries)
    # modes first, (n, batch): every gather moves whole contiguous rows
    shape = x.shape
    x = x.reshape(-1, layout.n).T
    for s, (gather, back) in enumerate(_gathers(layout, x.device)):
        g = x.index_select(0, gather)
        xf, xs = g[:h], g[h:]
        y = torch.cat([t00[s] * xf + t01[s] * xs, t10[s] * xf + t11[s] * xs], 0)
        x = y.index_select(0, back)
    x = x.T.reshape(shape)
    return x if output_factor is None else x * output_factor


def butterfly_matrix(entries, layout: ButterflyLayout, output_factor=None) -> torch.Tensor:
    """The ``(n, n)`` transfer matrix ``U`` (``T[out, in]``) of a butterfly mesh."""
    eye = torch.eye(layout.n, dtype=entries[0].dtype, device=entries[0].device)
    # rows of butterfly_apply(I) are U[:, j]^T: U = apply(I).T
    return butterfly_apply(eye, entries, layout, output_factor).transpose(-1, -2)


def butterfly_dft_phases(n: int, *, dtype=torch.float64, device=None):
    """Phases ``(theta, phi, output_phase)`` that set the butterfly mesh to the unitary
    DFT ``F[k, m] = exp(-2 pi i k m / n) / sqrt(n)`` [rad]."""
    layout = butterfly_layout(n)
    theta = torch.full((layout.n_mzi,), -math.pi / 4, dtype=dtype, device=device)
    phi = []
    for s in range(layout.n_stages):
        h = 1 << s
        # MZI on (p + h, p): block [[-w, 1], [w, 1]] / sqrt 2 with w = exp(-i pi j / h)
        phi += [math.pi - math.pi * (p % (2 * h)) / h for p in layout.second[s]]
    phi = torch.tensor(phi, dtype=dtype, device=device)
    return theta, phi, torch.zeros(n, dtype=dtype, device=device)


def butterfly_random_phases(n: int, generator: torch.Generator, *, dtype=torch.float64):
    """Phases with every MZI block Haar-random on ``U(2)`` (up to the phases a block
    cannot set): ``cos^2 theta`` uniform on ``[0, 1]``, ``phi`` and the output phases
    uniform on ``[0, 2 pi)``. (The whole mesh is not Haar-random on ``U(n)``: see the
    module docstring.)"""
    layout = butterfly_layout(n)
    m = layout.n_mzi
    u = torch.rand(m, generator=generator, dtype=torch.float64)
    theta = torch.acos(torch.sqrt(u))
    phi = 2 * math.pi * torch.rand(m, generator=generator, dtype=torch.float64)
    out = 2 * math.pi * torch.rand(n, generator=generator, dtype=torch.float64)
    return theta.to(dtype), phi.to(dtype), out.to(dtype)


def butterfly_crosstalk_pairs(layout: ButterflyLayout):
    """Index pairs ``(i, j)`` (both directions) of heaters that are neighbours: MZIs
    ``k`` and ``k + 1`` of the same stage."""
    rows, cols = [], []
    h = layout.n // 2
    for s in range(layout.n_stages):
        for k in range(h - 1):
            i = s * h + k
            rows += [i, i + 1]
            cols += [i + 1, i]
    return rows, cols


def butterfly_entries(theta, phi, coupler_error=None, arm_loss_db=None):
    """The MZI entries of a butterfly mesh (the same blocks as every MZI mesh)."""
    return mzi_entries(theta, phi, coupler_error, arm_loss_db)


# ---- permuting rectangular meshes ------------------------------------------------------
#
# A permuting rectangular mesh (Pai et al. 2019, "Matrix optimization on universal unitary
# photonic devices", Phys. Rev. Applied 11, 064044, section V) of ``n`` modes is ``B``
# blocks of rectangular MZI columns (block ``b`` has ``L_b`` columns; column ``c`` of a
# block holds MZIs on the mode pairs ``(m, m + 1)`` with ``m = c (mod 2)``, as in a
# Clements mesh) separated by fixed waveguide permutations ``Pi_b``:
#
#     U = D  M_{B-1} Pi_{B-2} ... Pi_0 M_0,      (Pi x)[i] = x[perm_b[i]].
#
# ``Pi_b`` is the "rectangular permutation" of stride ``f_b``: the light of even mode
# ``i`` moves to mode ``i - f_b`` and that of odd mode ``i`` to ``i + f_b``, reflected at
# the edges. The permutations let light cross the mesh in ``sum L_b`` columns while the
# blocks mix at growing distances. The default layout is Pai et al.'s (and neurophox's
# ``PermutingRectangularMeshModel``): ``B = round(log2 n)`` blocks, strides
# ``2^s`` in the "Haar diagonal" order, ``B - 1`` blocks of ``floor(n / B)`` columns
# (made even) and a last block with the rest, ``n`` columns in all: the MZI count, phase
# count and depth of a Clements mesh, with longer-range mixing.


def _haar_diagonal_sequence(length: int, parity_odd: bool = False) -> list[int]:
    """Pai et al.'s order of the sensitivity indices along one diagonal of ``length`` MZIs."""
    odd = [length + 1 - k for k in sorted(range(1, length + 1, 2), reverse=True)]
    even = [length + 1 - k for k in range(2, 2 * (length - len(odd)) + 1, 2)]
    seq = odd + even
    return seq[::-1] if parity_odd else seq


def rectangular_haar_alpha(n: int, n_columns: int) -> list[list[float]]:
    """The sensitivity index ``alpha[m][c]`` of the MZI on pair ``(m, m + 1)`` in column
    ``c`` of a rectangular mesh of ``n`` modes and ``n_columns`` columns (0 where there is
    no MZI): drawing each MZI's ``cos^2 theta`` from ``Beta(1, alpha)``, and every ``phi``
    and output phase uniformly, makes a Clements mesh (``n_columns = n``) Haar-random on
    ``U(n)`` (Russell et al. 2017, New J. Phys. 19, 033007; Pai et al. 2019, eq. 10).

    For ``n_columns != n`` (the blocks of a permuting mesh) the same rule is Pai et al.'s
    initialisation heuristic, not an exact law. The table is the one of Pai et al. (also
    neurophox's ``get_alpha_checkerboard_general``)."""

    def table(units: int, layers: int, flip: bool) -> list[list[float]]:
        full = 1 if units == layers else 0
        seqs = [_haar_diagonal_sequence(i, bool(layers % 2)) for i in range(1, layers + 1)]
        out = [[0.0] * layers for _ in range(units - 1)]
        for i in range(units - 1):
            for j in range(layers):
                if (i + j) % 2:
                    continue
                if i < layers and j > i:
                    d = layers - abs(i - j)
                elif i > units - layers and j < i - units + layers:
                    d = layers - abs(i - j - units + layers) - full
                else:
                    d = layers - full
                out[i][j] = 1.0 if d == 1 else float(seqs[d - 1][min(i, j)])
        if not full:  # a partial rectangle: symmetrised top to bottom
            out = [[(a + b) / 2 for a, b in zip(r, s)] for r, s in zip(out, out[::-1])]
        return out[::-1] if flip else out

    n, L = positive_int(n, "n"), positive_int(n_columns, "n_columns")
    rows: list[list[float]] = [[] for _ in range(n - 1)]
    for k in range(L // n):
        for r, t in zip(rows, table(n, n, bool(k % 2 and n % 2))):
            r += t
    if L % n:
        for r, t in zip(rows, table(n, L % n, bool(not (L // n) % 2 and n % 2))):
            r += t
    return rows


def rectangular_haar_phases(layout, generator: torch.Generator, *, dtype=torch.float64):
    """``(theta, phi, output_phase)`` [rad] for a rectangular (Clements) or triangular
    (Reck) :class:`~photonn.functional.mzi_mesh.MeshLayout` drawn so that the mesh is
    Haar-random on ``U(n)`` without a decomposition ("direct dialling", Russell et al.
    2017): independent ``cos^2 theta ~ Beta(1, alpha)`` per MZI (``alpha`` from
    :func:`rectangular_haar_alpha` for Clements, ``alpha = m + 1`` on pair ``(m, m + 1)``
    for Reck), ``phi`` and output phases uniform on ``[0, 2 pi)``."""
    if not isinstance(generator, torch.Generator):
        raise TypeError("generator must be a torch.Generator (randomness is always explicit)")
    if layout.name == "reck":
        alpha = [m + 1.0 for m in layout.tops]
    elif layout.name in ("clements", "rectangular"):
        table = rectangular_haar_alpha(layout.n_modes, layout.n_columns)
        alpha = [table[m][c] for c, m in zip(layout.columns, layout.tops)]
    else:
        raise ValueError(
            f"Haar phases are known for 'clements', 'reck' and 'rectangular' layouts, got "
            f"{layout.name!r}"
        )
    return _beta_phases(torch.tensor(alpha, dtype=torch.float64), layout.n_modes, generator, dtype)


def _beta_phases(alpha, n, generator, dtype):
    u = torch.rand(alpha.shape, generator=generator, dtype=torch.float64)
    theta = torch.acos(torch.sqrt(1 - u ** (1 / alpha)))  # cos^2 theta ~ Beta(1, alpha)
    phi = 2 * math.pi * torch.rand(alpha.shape, generator=generator, dtype=torch.float64)
    out = 2 * math.pi * torch.rand(n, generator=generator, dtype=torch.float64)
    return theta.to(dtype), phi.to(dtype), out.to(dtype)


def rectangular_permutation(n: int, stride: int) -> tuple[int, ...]:
    """The fixed permutation of stride ``f`` between two blocks of a permuting mesh, as a
    gather (``x -> x[..., perm]``): the light of even mode ``i`` moves to mode ``i - f``,
    that of odd mode ``i`` to mode ``i + f``, reflected at the edges (``-1 - j`` below 0,
    ``2 n - 1 - j`` above ``n - 1``): Pai et al.'s (and neurophox's) permutation."""
    n, f = positive_int(n, "n"), positive_int(stride, "stride")
    dest = []
    for i in range(n):
        j = i - f if i % 2 == 0 else i + f
        j = -1 - j if j < 0 else (2 * n - 1 - j if j > n - 1 else j)
        dest.append(j)
    if sorted(dest) != list(range(n)):
        raise ValueError(
            f"stride {f} does not give a permutation of {n} modes (the reflection at the edges "
            f"needs stride <= n); use a stride between 1 and {n}"
        )
    perm = [0] * n
    for i, j in enumerate(dest):
        perm[j] = i  # mode j takes the light of mode i
    return tuple(perm)


@dataclass(frozen=True)
class PermutingLayout:
    """A permuting rectangular mesh: ``blocks`` (rectangular
    :class:`~photonn.functional.mzi_mesh.MeshLayout` s of ``L_b`` columns each) and
    ``perms`` (``len(blocks) - 1`` permutations, ``x -> x[..., perm]`` after block ``b``).
    MZIs are numbered block by block, each block as its layout numbers them."""

    n: int
    blocks: tuple
    perms: tuple[tuple[int, ...], ...]
    strides: tuple[int, ...]
    name: str = "permuting_rectangular"

    @property
    def n_mzi(self) -> int:
        return sum(b.n_mzi for b in self.blocks)

    @property
    def n_columns(self) -> int:
        """Optical depth: MZI columns (``sum L_b``; MZIs on the longest path)."""
        return sum(b.n_columns for b in self.blocks)

    @property
    def n_phases(self) -> int:
        return 2 * self.n_mzi + self.n

    @property
    def offsets(self) -> tuple[int, ...]:
        """Index of each block's first MZI (and ``n_mzi`` at the end)."""
        out = [0]
        for b in self.blocks:
            out.append(out[-1] + b.n_mzi)
        return tuple(out)


def default_permuting_blocks(n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Pai et al.'s default ``(block column counts, strides)`` for ``n`` modes (``n >= 2``)."""
    n = positive_int(n, "n")
    if n < 2:
        raise ValueError(f"a permuting rectangular mesh needs n >= 2 modes, got n={n}")
    k = max(1, int(round(math.log2(n))))
    strides = tuple(2**s for s in _haar_diagonal_sequence(k - 1)) if k > 1 else ()
    rank = n // k
    rank += rank % 2
    blocks = (rank,) * (k - 1) + (n - rank * (k - 1),)
    return blocks, strides


def _rect_block(n: int, n_columns: int):
    from .mzi_mesh import _ordered

    slots = [(c, m) for c in range(n_columns) for m in range(c % 2, n - 1, 2)]
    return _ordered("rectangular", n, n_columns, slots)


@functools.cache
def permuting_layout(n: int, blocks=None, strides=None) -> PermutingLayout:
    """The layout of a permuting rectangular mesh of ``n`` modes.

    Args:
        n: modes, ``>= 2``.
        blocks: columns per block (tuple of ints ``>= 1``); default Pai et al.'s.
        strides: the ``len(blocks) - 1`` permutation strides (``1 <= f <= n``); default
            Pai et al.'s (powers of two).
    """
    n = positive_int(n, "n")
    if n < 2:
        raise ValueError(
            f"a permuting rectangular mesh needs n >= 2 modes (an MZI joins two), got n={n}"
        )
    if (blocks is None) != (strides is None):
        raise ValueError("give both blocks and strides, or neither (Pai et al.'s default)")
    if blocks is None:
        blocks, strides = default_permuting_blocks(n)
    blocks = tuple(positive_int(b, "blocks[i]") for b in blocks)
    strides = tuple(positive_int(f, "strides[i]") for f in strides)
    if not blocks or len(strides) != len(blocks) - 1:
        raise ValueError(
            f"a permuting mesh of {len(blocks)} blocks needs {max(len(blocks) - 1, 0)} strides "
            f"(one permutation between two blocks), got {len(strides)}"
        )
    if n == 2 and len(blocks) > 1:
        raise ValueError(
            "a 2-mode mesh cannot be permuted usefully: use blocks=(L,), strides=() "
            "(or an MZIMesh(2))"
        )
    return PermutingLayout(
        n,
        tuple(_rect_block(n, b) for b in blocks),
        tuple(rectangular_permutation(n, f) for f in strides),
        strides,
    )


@functools.lru_cache(maxsize=64)
def _perm_tensors(layout: PermutingLayout, device: torch.device):
    return tuple(torch.tensor(p, dtype=torch.long, device=device) for p in layout.perms)


def _split(entries, layout: PermutingLayout):
    m = layout.n_mzi
    for t in entries:
        if t.shape[-1:] != (m,):
            raise ValueError(
                f"MZI entries must have last dimension {m} (n_mzi of the {layout.n}-mode "
                f"permuting mesh), got shape {tuple(t.shape)}"
            )
    off = layout.offsets
    return [tuple(t[off[b] : off[b + 1]] for t in entries) for b in range(len(layout.blocks))]


def permuting_matrix(entries, layout: PermutingLayout, output_factor=None) -> torch.Tensor:
    """The ``(n, n)`` matrix ``U = D M_{B-1} Pi_{B-2} ... Pi_0 M_0`` (``T[out, in]``) from
    per-MZI entries ``(t00, t01, t10, t11)`` ``(n_mzi,)``. Each block is built by the
    fast rectangular-mesh path (:func:`~photonn.functional.mzi_mesh.mesh_matrix_from_entries`),
    a permutation is a row gather."""
    from .mzi_mesh import mesh_matrix_from_entries

    perms = _perm_tensors(layout, entries[0].device)
    U = None
    for b, (blk, ent) in enumerate(zip(layout.blocks, _split(entries, layout))):
        M = mesh_matrix_from_entries(ent, blk)
        U = M if U is None else M @ U.index_select(0, perms[b - 1])
    return U if output_factor is None else output_factor[:, None] * U


def permuting_apply(x: torch.Tensor, entries, layout: PermutingLayout, output_factor=None):
    """Apply a permuting mesh to ``x`` complex ``(..., n)`` block by block (the columns
    of each block run on the batch directly; no matrix is built). Returns ``x @ U.T``."""
    from .mzi_mesh import mesh_apply, mesh_coefficients

    if x.shape[-1] != layout.n:
        raise ValueError(f"x must have last dimension {layout.n}, got shape {tuple(x.shape)}")
    perms = _perm_tensors(layout, x.device)
    for b, (blk, ent) in enumerate(zip(layout.blocks, _split(entries, layout))):
        if b:
            x = x.index_select(-1, perms[b - 1])
        x = mesh_apply(x, *mesh_coefficients(*ent, blk), blk)
    return x if output_factor is None else x * output_factor


def permuting_haar_phases(
    layout: PermutingLayout, generator: torch.Generator, *, dtype=torch.float64
):
    """Pai et al.'s "Haar" initialisation of a permuting mesh: each block drawn as
    :func:`rectangular_haar_phases` draws a rectangle of its ``L_b`` columns. Exact for a
    single block of ``n`` columns (a Clements mesh); for several blocks it is a heuristic,
    not Haar on ``U(n)`` (``tests/onchip/test_haar_init.py``: at ``n = 8`` a KS test rejects
    it, and some mean ``|U_ij|^2`` lie above ``1.5/n``, others below ``0.5/n``, against
    ``1/n`` for every entry of a Haar unitary)."""
    if not isinstance(generator, torch.Generator):
        raise TypeError("generator must be a torch.Generator (randomness is always explicit)")
    alpha = []
    for blk in layout.blocks:
        table = rectangular_haar_alpha(layout.n, blk.n_columns)
        alpha += [table[m][c] for c, m in zip(blk.columns, blk.tops)]
    return _beta_phases(torch.tensor(alpha, dtype=torch.float64), layout.n, generator, dtype)
