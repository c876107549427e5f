"""Unitary decompositions into MZI mesh phases, and their reconstruction.

* :func:`clements_decompose` (Clements et al., Optica 3, 1460 (2016)): nulls the
  lower triangle alternately from the right (``U T^-1``) and from the left
  (``T U``), then moves the left factors through the diagonal so that
  ``U = D prod(T)`` on the rectangular layout.
* :func:`reck_decompose` (Reck et al., PRL 73, 58 (1994)): nulls row by row from
  the bottom, from the right only, giving the triangular layout.
* :func:`svd_decompose`: ``W = s * U diag(sigma) V^H`` with ``0 <= sigma <= 1``
  (passive attenuators) and the global scale ``s`` (= the largest singular value).

The MZI block and the mesh order follow :mod:`photonn.functional.mzi` and
:mod:`photonn.functional.mzi_mesh`. The nulling runs in float64/complex128 numpy
(it is a one-off programming step, not differentiated); results come back as
tensors on the input's device.
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass

import numpy as np
import torch

from .._checks import real_of, tensor
from .mzi_mesh import MeshLayout, clements_layout, mzi_mesh_matrix, reck_layout

__all__ = [
    "MeshPhases",
    "clements_decompose",
    "reck_decompose",
    "decompose",
    "reconstruct",
    "haar_unitary",
    "fidelity",
    "check_unitary",
    "svd_decompose",
    "SVDFactors",
]


@dataclass(frozen=True)
class MeshPhases:
    """Phases of a programmed mesh.

    Attributes:
        theta: ``(n_mzi,)`` internal phases [rad], in ``layout`` order.
        phi: ``(n_mzi,)`` external phases [rad].
        output_phase: ``(N,)`` phases of the output screen ``D`` [rad].
        layout: the :class:`~photonn.functional.mzi_mesh.MeshLayout`.
    """

    theta: torch.Tensor
    phi: torch.Tensor
    output_phase: torch.Tensor
    layout: MeshLayout


def check_unitary(U, name: str = "U", atol: float | None = None) -> torch.Tensor:
    """Check that ``U`` is a square complex unitary matrix (``U U^H = I`` to ``atol``)."""
    tensor(U, name)
    if U.ndim != 2 or U.shape[0] != U.shape[1]:
        raise ValueError(f"{name} must be a square matrix (N, N), got shape {tuple(U.shape)}")
    if not U.is_complex():
        U = U.to(torch.complex128)
    if atol is None:
        atol = 1e-4 if U.dtype == torch.complex64 else 1e-6
    eye = torch.eye(U.shape[0], dtype=U.dtype, device=U.device)
    err = (U @ U.mH - eye).abs().max().item() if U.numel() else 0.0
    if not math.isfinite(err) or err > atol:
        raise ValueError(
            f"{name} is not unitary: max|{name} {name}^H - I| = {err:.3g} > {atol:g}; "
            "for a general matrix use svd_decompose / SVDLinear.from_matrix"
        )
    return U


def _null_right(U, r, c):
    """Phases of T on columns (c, c+1) such that (U T^-1)[r, c] = 0; applies it in place."""
    a, b = complex(U[r, c]), complex(U[r, c + 1])
    theta = math.atan2(abs(a), abs(b))
    phi = (cmath.phase(a) - cmath.phase(b)) if a != 0 else 0.0
    ct, st = math.cos(theta), math.sin(theta)
    e = cmath.exp(-1j * phi)
    col_c = U[:, c].copy()
    col_d = U[:, c + 1]
    U[:, c] *= e * ct
    U[:, c] -= st * col_d
    col_d *= ct
    col_d += (e * st) * col_c
    U[r, c] = 0.0
    return theta, phi


def _null_left(U, r, c):
    """Phases of T on rows (r-1, r) such that (T U)[r, c] = 0; applies it in place."""
    a, b = complex(U[r - 1, c]), complex(U[r, c])
    theta = math.atan2(abs(b), abs(a))
    phi = (math.pi + cmath.phase(b) - cmath.phase(a)) if b != 0 else 0.0
    ct, st = math.cos(theta), math.sin(theta)
    e = cmath.exp(1j * phi)
    row_a = U[r - 1, :].copy()
    row_b = U[r, :]
    U[r - 1, :] *= e * ct
    U[r - 1, :] -= st * row_b
    row_b *= ct
    row_b += (e * st) * row_a
    U[r, c] = 0.0
    return theta, phi


def _to_numpy(U) -> np.ndarray:
    U = check_unitary(U)
    return U.detach().to("cpu", torch.complex128).numpy().copy()


def _assign(ops, layout: MeshLayout, n, out_phase, like: torch.Tensor) -> MeshPhases:
    """Place time-ordered ops ``(top, theta, phi)`` into the layout's slots, pair by pair."""
    slots = layout.pair_slots()
    used = {m: 0 for m in slots}
    theta = np.zeros(layout.n_mzi)
    phi = np.zeros(layout.n_mzi)
    for m, th, ph in ops:
        k = slots[m][used[m]]
        used[m] += 1
        theta[k], phi[k] = th, ph
    rdt = real_of(like.dtype) if like.is_complex() else torch.float64
    dev = like.device

    def t(v):
        return torch.as_tensor(v, dtype=torch.float64).to(device=dev, dtype=rdt)

    return MeshPhases(t(theta), t(phi), t(np.angle(out_phase)), layout)


def clements_decompose(U: torch.Tensor) -> MeshPhases:
    """Phases of the rectangular (Clements) mesh with matrix ``U`` (complex ``(N, N)`` unitary).

    Returns a :class:`MeshPhases`; ``reconstruct(phases)`` gives ``U`` back to
    ~1e-13 in complex128. ``theta`` lies in ``[0, pi/2]``.
    """
    A = _to_numpy(U)
    n = A.shape[0]
    right, left = [], []
    for i in range(1, n):
        if i % 2:
            for j in range(i):
                r, c = n - 1 - j, i - 1 - j
                right.append((c, *_null_right(A, r, c)))
        else:
            for j in range(1, i + 1):
                r, c = n + j - i - 1, j - 1
                left.append((r - 1, *_null_left(A, r, c)))
    d = np.diag(A).copy()
    # U = L_1^-1 ... L_K^-1 D R_M ... R_1; move D left through each L^-1:
    # T^-1(theta, phi) diag(d1, d2) = diag(-e^{-i phi} d2, d2) T(theta, arg(-d1/d2))
    moved = []
    for m, th, ph in reversed(left):
        d1, d2 = d[m], d[m + 1]
        new_phi = float(np.angle(-d1 / d2))
        d[m] = -np.exp(-1j * ph) * d2
        moved.append((m, th, new_phi))
    # time order of the mesh: R_1..R_M, then the moved left ops T'_K..T'_1
    ops = right + moved
    return _assign(ops, clements_layout(n), n, d, U)


def reck_decompose(U: torch.Tensor) -> MeshPhases:
    """Phases of the triangular (Reck) mesh with matrix ``U`` (complex ``(N, N)`` unitary)."""
    A = _to_numpy(U)
    n = A.shape[0]
    ops = []
    for r in range(n - 1, 0, -1):
        for c in range(r):
            ops.append((c, *_null_right(A, r, c)))
    return _assign(ops, reck_layout(n), n, np.diag(A).copy(), U)


def decompose(U: torch.Tensor, layout: str = "clements") -> MeshPhases:
    """:func:`clements_decompose` or :func:`reck_decompose` by name."""
    if layout == "clements":
        return clements_decompose(U)
    if layout == "reck":
        return reck_decompose(U)
    raise ValueError(f"layout must be 'clements' or 'reck', got {layout!r}")


def reconstruct(phases: MeshPhases) -> torch.Tensor:
    """The ``(N, N)`` matrix of a :class:`MeshPhases` (ideal MZIs)."""
    return mzi_mesh_matrix(phases.theta, phases.phi, phases.output_phase, phases.layout)


def haar_unitary(
    n: int, generator: torch.Generator, *, dtype=torch.complex128, device=None
) -> torch.Tensor:
    """A Haar-random ``(n, n)`` unitary: QR of a complex Gaussian with the phase fix
    ``Q diag(r_ii / |r_ii|)`` (Mezzadri 2007)."""
    if not isinstance(generator, torch.Generator):
        raise TypeError("generator must be a torch.Generator (randomness is always explicit)")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    z = torch.randn(n, n, dtype=torch.complex128, generator=generator, device=generator.device)
    q, r = torch.linalg.qr(z)
    d = torch.diagonal(r)
    q = q * (d / d.abs())
    return q.to(device=device if device is not None else q.device, dtype=dtype)


def fidelity(U: torch.Tensor, U_hat: torch.Tensor, *, normalize: bool = False) -> torch.Tensor:
    """``F = |Tr(U^H U_hat)|^2 / N^2`` (1 for equal matrices up to a global phase).

    With ``normalize=True``: ``|Tr(U^H U_hat)|^2 / (N Tr(U_hat^H U_hat))``, the fidelity
    up to a uniform loss (for unitary ``U``; 1 for ``U_hat = t e^{ia} U``), the usual
    figure for lossy meshes.
    """
    if U.shape != U_hat.shape or U.ndim < 2 or U.shape[-1] != U.shape[-2]:
        raise ValueError(
            f"U and U_hat must be square matrices of one shape, got {tuple(U.shape)} "
            f"and {tuple(U_hat.shape)}"
        )
    n = U.shape[-1]
    tr = (U.conj() * U_hat).sum((-2, -1))
    if normalize:
        return tr.abs() ** 2 / (n * (U_hat.real**2 + U_hat.imag**2).sum((-2, -1)))
    return tr.abs() ** 2 / n**2


@dataclass(frozen=True)
class SVDFactors:
    """``W = scale * U[:, :k] diag(sigma) Vh[:k, :]`` with ``0 <= sigma <= 1``.

    Attributes: U ``(out, out)`` and Vh ``(in, in)`` unitaries, sigma ``(k,)`` with
    ``k = min(in, out)``, scale (float, the largest singular value, 0 for W = 0).
    """

    U: torch.Tensor
    sigma: torch.Tensor
    Vh: torch.Tensor
    scale: float


def svd_decompose(W: torch.Tensor) -> SVDFactors:
    """SVD of a (real or complex) ``(out, in)`` matrix into meshes and attenuations.

    Uses ``torch.linalg.svd`` (full matrices). The singular values are divided by
    the largest one so that every attenuator is passive; that scale is returned.
    """
    if not isinstance(W, torch.Tensor) or W.ndim != 2:
        raise ValueError(f"W must be a 2-D tensor (out, in), got {getattr(W, 'shape', W)!r}")
    if not torch.isfinite(W).all():
        raise ValueError("W contains NaN or inf")
    Wc = (
        W
        if W.is_complex()
        else W.to(torch.complex128 if W.dtype == torch.float64 else torch.complex64)
    )
    U, S, Vh = torch.linalg.svd(Wc, full_matrices=True)
    scale = float(S.max().item()) if S.numel() else 0.0
    sigma = S / scale if scale > 0 else torch.zeros_like(S)
    return SVDFactors(U, sigma, Vh, scale)
