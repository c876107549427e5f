"""The 2x2 Mach-Zehnder interferometer (MZI) block, ideal and with fabrication errors.

Convention (docs/architecture.md#physical-conventions; Clements et al. 2016, eq. 1):
transfer matrices act on column vectors, ``T[out, in]``, and

    T(theta, phi) = [[e^{i phi} cos(theta), -sin(theta)],
                     [e^{i phi} sin(theta),  cos(theta)]]

``theta = 0`` is the *bar* state (identity up to the phase ``e^{i phi}`` on the
upper mode), ``theta = pi/2`` the *cross* state. ``phi`` is an external phase
shifter on the upper input arm; ``theta`` is half the differential phase of the
internal arms.

Physical model used for the errors: the MZI is ``P_out K(a2) A K(a1) diag(e^{i phi}, 1)``
with directional couplers ``K(a) = [[cos a, i sin a], [i sin a, cos a]]``
(ideal splitting angle ``a = pi/4``), internal arms
``A = diag(t1 e^{i(theta + pi/2)}, t2 e^{-i(theta + pi/2)})`` (push-pull; amplitude
transmissions ``t = 10^{-loss_dB/20}``) and a fixed output phase
``P_out = diag(-i, i)``. With ideal couplers and no loss this equals ``T``
exactly; with errors it stays passive (all singular values <= 1).
"""

from __future__ import annotations

import math

import torch

from .._checks import complex_of

__all__ = ["mzi_entries", "mzi_matrix", "db_to_amplitude"]


def db_to_amplitude(loss_db: torch.Tensor | float) -> torch.Tensor | float:
    """Amplitude transmission of a power loss in dB: ``10^(-loss_db / 20)``."""
    if isinstance(loss_db, torch.Tensor):
        return torch.pow(10.0, -loss_db / 20.0)
    return 10.0 ** (-float(loss_db) / 20.0)


def mzi_entries(
    theta: torch.Tensor,
    phi: torch.Tensor,
    coupler_error: torch.Tensor | None = None,
    arm_loss_db: torch.Tensor | None = None,
):
    """The four entries ``(t00, t01, t10, t11)`` of MZI blocks, each of ``theta``'s shape.

    Args:
        theta, phi: real tensors [rad] of the same shape ``(...)``.
        coupler_error: optional ``(..., 2)`` deviation [rad] of the splitting angle of the
            input and output couplers from ``pi/4``.
        arm_loss_db: optional ``(..., 2)`` power loss [dB] of the upper and lower
            internal arms (>= 0 for a passive device).

    Returns:
        four complex tensors (complex dtype matching theta's real dtype).
    """
    cdt = complex_of(theta.dtype)
    if coupler_error is None and arm_loss_db is None:
        c = torch.cos(theta)
        s = torch.sin(theta)
        ephi = torch.polar(torch.ones_like(phi), phi)
        return ephi * c, (-s).to(cdt), ephi * s, c.to(cdt)
    if coupler_error is None:
        a1 = a2 = torch.full_like(theta, math.pi / 4)
    else:
        a1 = math.pi / 4 + coupler_error[..., 0]
        a2 = math.pi / 4 + coupler_error[..., 1]
    c1, s1, c2, s2 = torch.cos(a1), torch.sin(a1), torch.cos(a2), torch.sin(a2)
    psi = theta + math.pi / 2
    if arm_loss_db is None:
        t1 = t2 = torch.ones_like(theta)
    else:
        t1 = db_to_amplitude(arm_loss_db[..., 0])
        t2 = db_to_amplitude(arm_loss_db[..., 1])
    x1 = torch.polar(t1.expand_as(psi), psi)
    x2 = torch.polar(t2.expand_as(psi), -psi)
    ephi = torch.polar(torch.ones_like(phi), phi)
    m00 = -1j * (c1 * c2 * x1 - s1 * s2 * x2)
    m01 = c2 * s1 * x1 + s2 * c1 * x2
    m10 = -(s2 * c1 * x1 + c2 * s1 * x2)
    m11 = 1j * (c1 * c2 * x2 - s1 * s2 * x1)
    return m00 * ephi, m01, m10 * ephi, m11


def mzi_matrix(
    theta: torch.Tensor,
    phi: torch.Tensor,
    coupler_error: torch.Tensor | None = None,
    arm_loss_db: torch.Tensor | None = None,
) -> torch.Tensor:
    """MZI transfer matrices ``(..., 2, 2)`` (see the module docstring for the convention).

    ``theta`` and ``phi`` are real tensors [rad] of one shape; the optional errors are
    as in :func:`mzi_entries`.
    """
    t00, t01, t10, t11 = mzi_entries(theta, phi, coupler_error, arm_loss_db)
    return torch.stack([torch.stack([t00, t01], -1), torch.stack([t10, t11], -1)], -2)
