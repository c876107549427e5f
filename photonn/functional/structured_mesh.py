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
