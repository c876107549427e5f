"""Linear wave scattering in a network of coupled modes (Wanjura and Marquardt 2024).

C. C. Wanjura and F. Marquardt, "Fully nonlinear neuromorphic computing with
linear wave scattering", Nature Physics 20, 1434 (2024). ``N`` modes (resonator
modes) with complex amplitudes ``a_j(t)`` obey the coupled-mode equations

    da/dt = -i H a - sqrt(kappa) a_probe,          a_out = a_probe + sqrt(kappa) a,

with the dynamical matrix ``H`` (detunings ``Delta_j`` and decay on the
diagonal, ``H_jj = Delta_j - i (kappa_j + kappa'_j) / 2``; couplings off it),
``kappa_j >= 0`` the coupling of mode ``j`` to its probe waveguide (0 for an
unprobed mode) and ``kappa'_j`` its intrinsic loss. A probe ``a_probe(t) =
a_probe(omega) e^{-i omega t}`` (the convention ``a(omega) = int e^{i omega t}
a(t) dt / sqrt(2 pi)``) reaches the steady state ``a = i (H - omega)^-1
sqrt(kappa) a_probe``, so the scattering matrix is

    S(omega) = I + i sqrt(kappa) (H - omega)^-1 sqrt(kappa).

Writing the data into the detunings makes ``S`` a rational, fully nonlinear
function of the data although the wave physics is linear: the same encoder
interface as the multivariate cavity (:mod:`photonn.encoding`), a second physics.

Units: the scattering depends only on ratios of rates, so detunings, couplings,
decay rates and ``omega`` are given in one common unit (a rate, e.g. the probe
coupling ``kappa``; multiply all of them by one value in rad/s for a device).

Functions:

* :func:`dynamical_matrix`: ``H`` from detunings, couplings and decay rates.
* :func:`scattering_matrix`: ``S(omega)`` by a dense solve (the reference).
* :func:`coupled_mode_rhs`: the time derivative of the equations above (for
  integrating the transient; the tests integrate it to steady state as an
  independent check of :func:`scattering_matrix`).
* :func:`schur_scattering`: ``S`` on the probed modes of a network whose data
  modes are coupled only to the other ("core") modes, not to each other: the
  data block of ``H - omega`` is diagonal, and the Schur complement eliminates it
  exactly, leaving one small solve per sample instead of one of size ``N``.
"""

from __future__ import annotations

import torch

from .._checks import complex_of, real_of
from .linalg import safe_solve

__all__ = ["coupled_mode_rhs", "dynamical_matrix", "scattering_matrix", "schur_scattering"]


def _rates(v: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(v, torch.Tensor) or v.is_complex() or not v.is_floating_point():
        raise TypeError(f"{name} must be a real floating-point tensor of rates")
    return v


def dynamical_matrix(
    detuning: torch.Tensor, coupling: torch.Tensor, decay: torch.Tensor
) -> torch.Tensor:
    """``H = coupling + diag(detuning - i decay / 2)``, complex ``(..., N, N)``.

    Args:
        detuning: real ``(..., N)``: ``Delta_j`` [rate unit].
        coupling: ``(..., N, N)``, real symmetric or complex Hermitian (a
            non-Hermitian one models gain or nonreciprocal elements); its
            diagonal is added to the detunings.
        decay: real ``(..., N)``, ``>= 0``: the total decay ``kappa_j + kappa'_j``.

    Returns:
        ``H`` in the complex dtype matching ``coupling`` (complex128 for float64).
    """
    _rates(detuning, "detuning")
    _rates(decay, "decay")
    n = coupling.shape[-1]
    if coupling.ndim < 2 or coupling.shape[-2] != n:
        raise ValueError(f"coupling must be square (..., N, N), got {tuple(coupling.shape)}")
    if detuning.shape[-1:] != (n,) or decay.shape[-1:] != (n,):
        raise ValueError(
            f"detuning and decay must end in N = {n} (the coupling's size), got "
            f"{tuple(detuning.shape)} and {tuple(decay.shape)}"
        )
    cdt = coupling.dtype if coupling.is_complex() else complex_of(coupling.dtype)
    real = real_of(cdt)
    diag = torch.complex(detuning.to(real), -0.5 * decay.to(real))
    return coupling.to(cdt) + torch.diag_embed(diag)


def _omega_matrix(H: torch.Tensor, omega: float) -> torch.Tensor:
    n = H.shape[-1]
    return H - omega * torch.eye(n, dtype=H.dtype, device=H.device)


def scattering_matrix(
    H: torch.Tensor,
    kappa: torch.Tensor,
    omega: float = 0.0,
    ports: torch.Tensor | None = None,
) -> torch.Tensor:
    """``S(omega) = I + i sqrt(kappa) (H - omega)^-1 sqrt(kappa)`` by a dense solve.

    Args:
        H: complex ``(..., N, N)``, the dynamical matrix (:func:`dynamical_matrix`).
        kappa: real ``(N,)``, ``>= 0``: probe couplings.
        omega: the probe frequency [rate unit], relative to the frame of ``H``.
        ports: int64 ``(P,)`` mode indices: only ``S`` between them is computed (one
            right-hand side per port); ``None``: every mode.

    Returns:
        complex ``(..., P, P)`` (``(..., N, N)`` without ``ports``); rows and
        columns of unprobed modes (``kappa_j = 0``) are those of the identity.
    """
    if not H.is_complex() or H.ndim < 2 or H.shape[-1] != H.shape[-2]:
        raise ValueError(f"H must be a complex square matrix (..., N, N), got {tuple(H.shape)}")
    n = H.shape[-1]
    if ports is None:
        ports = torch.arange(n, device=H.device)
    sk_all = _rates(kappa, "kappa").to(real_of(H.dtype)).sqrt().to(H.dtype)
    if sk_all.shape != (n,):
        raise ValueError(f"kappa must have shape ({n},), got {tuple(kappa.shape)}")
    sk = sk_all[ports]
    p = ports.numel()
    rhs = torch.zeros(n, p, dtype=H.dtype, device=H.device)
    rhs[ports, torch.arange(p, device=H.device)] = sk
    G = safe_solve(_omega_matrix(H, omega), rhs.expand(*H.shape[:-2], n, p))[..., ports, :]
    eye = torch.eye(p, dtype=H.dtype, device=H.device)
    return eye + 1j * sk.unsqueeze(-1) * G


def coupled_mode_rhs(
    a: torch.Tensor, H: torch.Tensor, kappa: torch.Tensor, probe: torch.Tensor
) -> torch.Tensor:
    """``da/dt = -i H a - sqrt(kappa) a_probe`` at one instant.

    Args:
        a: complex ``(..., N)`` mode amplitudes.
        H: complex ``(N, N)`` dynamical matrix.
        kappa: real ``(N,)`` probe couplings.
        probe: complex ``(..., N)`` probe amplitudes at this instant.
    """
    sk = kappa.to(real_of(H.dtype)).sqrt().to(H.dtype)
    return -1j * (a @ H.mT) - sk * probe


def schur_scattering(
    d: torch.Tensor,
    K: torch.Tensor,
    M: torch.Tensor,
    kappa: torch.Tensor,
    ports: torch.Tensor,
    omega: float = 0.0,
) -> torch.Tensor:
    """``S`` on the probed core modes, with the data modes eliminated exactly.

    The modes split into ``Nd`` data modes, coupled to the core but not to each
    other (their block of ``H`` is ``diag(d)``), and ``Nc`` core modes (block
    ``M``); ``H = [[diag(d), K], [K^H, M]]`` (Hermitian couplings). Only core
    modes are probed. The core block of ``(H - omega)^-1`` is ``A^-1`` with the
    Schur complement

        A = (M - omega) - K^H diag(1 / (d - omega)) K,

    exact for any ``d`` off the real axis (a decaying data mode never has a
    pole at real ``omega``), and ``S_pq = delta_pq + i sqrt(kappa_p kappa_q)
    [A^-1]_pq`` for the ports ``p, q``. Cost per sample: one ``Nc x Nd`` by
    ``Nd x Nc`` product and one ``Nc``-sized solve, instead of an ``N``-sized
    solve.

    Args:
        d: complex ``(B, Nd)``: the data modes' diagonal ``Delta_j(x) - i kappa'_j / 2``.
        K: ``(Nd, Nc)`` couplings data -> core (real or complex).
        M: complex ``(Nc, Nc)`` core block of ``H`` (or ``(B, Nc, Nc)``).
        kappa: real ``(Nc,)`` probe couplings of the core modes.
        ports: int64 ``(P,)`` indices of the probed core modes whose ``S`` is returned.
        omega: the probe frequency.

    Returns:
        complex ``(B, P, P)``: ``S`` between the ports.
    """
    if not d.is_complex() or d.ndim != 2:
        raise ValueError(f"d must be complex (batch, Nd), got {tuple(d.shape)} {d.dtype}")
    Kc = K.to(d.dtype)
    nc = M.shape[-1]
    if M.ndim < 2 or M.shape[-2] != nc:
        raise ValueError(f"M must be square (Nc, Nc), got {tuple(M.shape)}")
    if Kc.shape != (d.shape[-1], nc):
        raise ValueError(f"K must be (Nd, Nc) = {(d.shape[-1], nc)}, got {tuple(K.shape)}")
    if kappa.shape != (nc,):
        raise ValueError(f"kappa must have shape (Nc,) = ({nc},), got {tuple(kappa.shape)}")
    # K^H diag(1 / (d - omega)) K, one batched GEMM over the data modes
    A = _omega_matrix(M.to(d.dtype), omega) - (Kc.mH * (1.0 / (d - omega)).unsqueeze(-2)) @ Kc
    sk = kappa.to(d.real.dtype)[ports].sqrt().to(d.dtype)
    rhs = torch.zeros(nc, ports.numel(), dtype=d.dtype, device=d.device)
    rhs[ports, torch.arange(ports.numel(), device=d.device)] = sk
    G = safe_solve(A, rhs.expand(A.shape[0], nc, ports.numel()))[:, ports, :]
    eye = torch.eye(ports.numel(), dtype=d.dtype, device=d.device)
    return eye + 1j * sk.unsqueeze(-1) * G
