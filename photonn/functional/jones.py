"""Jones calculus as pure functions: polarizers, retarders, rotators, Stokes parameters.

Conventions (see ``docs/polarization.md``):

* A polarized field carries a Jones axis of size 2, ``(Ex, Ey)``, just before the
  spatial axes: ``(..., 2, ny, nx)`` (a wavelength axis, if any, goes before it).
  The basis is the lab frame: x and y transverse, z the propagation direction,
  ``(x, y, z)`` right-handed.
* Time dependence ``exp(-i w t)`` (fields ``exp(i(k z - w t))``).
* Angles are in radians from the +x axis towards +y.
* A Jones matrix ``J[..., out, in]`` has shape ``(2, 2)`` (uniform) or
  ``(..., 2, 2, ny, nx)`` (per pixel) and acts as ``E_out = J E_in``.
* A retarder of retardance ``G`` leaves the component along its fast axis
  unchanged and multiplies the component along its slow axis by ``exp(+i G)``
  (the slow wave accumulates more phase ``k n d`` under ``exp(i(kz - wt))``).
* Stokes parameters ``S0 = |Ex|^2 + |Ey|^2``, ``S1 = |Ex|^2 - |Ey|^2``,
  ``S2 = 2 Re(Ex conj(Ey))``, ``S3 = 2 Im(Ex conj(Ey))``. ``S3 > 0`` is
  right-circular light in the optics convention of Born & Wolf: looking at the
  source, the field turns clockwise; the Jones vector ``(1, -i) / sqrt(2)``.
"""

from __future__ import annotations

import math

import torch

from .._checks import complex_tensor, real_of

__all__ = [
    "check_jones_field",
    "jones_vector",
    "rotation_matrix",
    "polarizer_matrix",
    "retarder_matrix",
    "rotator_matrix",
    "jones_modulator_matrix",
    "apply_jones",
    "jones_modulate",
    "jones_modulator_columns",
    "jones_intensity",
    "stokes",
]


def check_jones_field(field: torch.Tensor, name: str = "field") -> torch.Tensor:
    """Raise unless ``field`` is complex with a Jones axis of size 2 at ``-3``."""
    complex_tensor(field, name)
    if field.ndim < 3 or field.shape[-3] != 2:
        raise ValueError(
            f"{name} has shape {tuple(field.shape)}, but a polarized field needs a Jones axis "
            "of size 2 (Ex, Ey) just before (ny, nx): (..., 2, ny, nx). Make one from a scalar "
            "field E with photonn.functional.jones_vector(angle) and "
            "E.unsqueeze(-3) * v[:, None, None]"
        )
    return field


def _as_tensor(value, dtype, device):
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise TypeError(f"angles and phases must be real, got {value.dtype}")
        return value.to(dtype=dtype, device=device if device is not None else value.device)
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"angles and phases must be finite, got {value!r}")
    return torch.tensor(v, dtype=dtype, device=device)


def _rdt(dtype):
    return real_of(dtype) if dtype.is_complex else dtype


def _mat(a, b, c, d):
    """Stack four broadcastable tensors ``(...)`` into ``(..., 2, 2)``... at axes (-2, -1)
    of the leading shape; pixel maps ``(ny, nx)`` become ``(2, 2, ny, nx)``."""
    a, b, c, d = torch.broadcast_tensors(a, b, c, d)
    return torch.stack([torch.stack([a, b], 0), torch.stack([c, d], 0)], 0)


def jones_vector(angle=0.0, ellipticity=0.0, *, dtype=torch.complex128, device=None):
    """Unit Jones vector ``(2,)`` of an elliptical state.

    Args:
        angle: azimuth of the major axis [rad] from +x.
        ellipticity: ``chi`` [rad] in ``[-pi/4, pi/4]``; ``tan chi`` is the axis ratio,
            ``chi = +pi/4`` right-circular (``S3 = +1``, ``(1, -i)/sqrt 2``), ``-pi/4`` left.
    """
    rdt = _rdt(dtype)
    psi = _as_tensor(angle, rdt, device)
    chi = _as_tensor(ellipticity, rdt, device)
    # major axis along x: (cos chi, -i sin chi); then rotate by psi
    ex = torch.complex(torch.cos(chi), torch.zeros_like(chi))
    ey = torch.complex(torch.zeros_like(chi), -torch.sin(chi))
    c, s = torch.cos(psi), torch.sin(psi)
    return torch.stack([c * ex - s * ey, s * ex + c * ey]).to(dtype)


def rotation_matrix(angle, *, dtype=torch.complex128, device=None) -> torch.Tensor:
    """``R(a) = [[cos a, -sin a], [sin a, cos a]]``: turns a vector by ``a`` from x towards y."""
    a = _as_tensor(angle, _rdt(dtype), device)
    c, s = torch.cos(a), torch.sin(a)
    return _mat(c, -s, s, c).to(dtype)


def polarizer_matrix(angle=0.0, *, dtype=torch.complex128, device=None) -> torch.Tensor:
    """Ideal linear polarizer transmitting along ``angle`` [rad]: ``u u^T``, ``u = (cos, sin)``.

    Shape ``(2, 2)`` for a scalar angle, ``(2, 2, *angle.shape)`` for a tensor.
    """
    a = _as_tensor(angle, _rdt(dtype), device)
    c, s = torch.cos(a), torch.sin(a)
    return _mat(c * c, c * s, c * s, s * s).to(dtype)


def retarder_matrix(retardance, angle=0.0, *, dtype=torch.complex128, device=None):
    """Linear retarder (wave plate): fast axis at ``angle``, slow axis delayed by ``retardance``.

    ``J = R(a) diag(1, exp(i G)) R(-a)``; ``G = pi/2`` is a quarter-wave plate, ``pi`` a
    half-wave plate. Lossless (unitary). Shape ``(2, 2)``, or ``(2, 2, *shape)`` for tensors.
    """
    return jones_modulator_matrix(0.0, retardance, angle, dtype=dtype, device=device)


def rotator_matrix(angle, *, dtype=torch.complex128, device=None) -> torch.Tensor:
    """Polarization rotator (optical activity, Faraday rotation): ``R(angle)``."""
    return rotation_matrix(angle, dtype=dtype, device=device)


def jones_modulator_matrix(
    phase_fast, phase_slow, angle=0.0, *, dtype=torch.complex128, device=None
):
    """Birefringent pixel: phases ``phase_fast`` and ``phase_slow`` [rad] along axes at
    ``angle`` and ``angle + pi/2``: ``J = R(a) diag(exp(i p1), exp(i p2)) R(-a)``.

    Per-pixel maps give ``(2, 2, ny, nx)``. Unitary (a lossless metasurface or
    liquid-crystal pixel). Differentiable in all three inputs. To apply it to a
    field, :func:`jones_modulate` is faster (analytic backward).
    """
    c0, c1 = jones_modulator_columns(phase_fast, phase_slow, angle, dtype=dtype, device=device)
    return torch.stack([c0, c1], dim=1)


def jones_modulator_columns(
    phase_fast, phase_slow, angle=0.0, *, dtype=torch.complex128, device=None
):
    """The two columns ``(J[:, 0], J[:, 1])`` of :func:`jones_modulator_matrix`, each
    ``(2, *shape)``."""
    rdt = _rdt(dtype)
    dev = device
    for v in (phase_fast, phase_slow, angle):
        if isinstance(v, torch.Tensor) and dev is None:
            dev = v.device
    p1 = _as_tensor(phase_fast, rdt, dev)
    p2 = _as_tensor(phase_slow, rdt, dev)
    a = _as_tensor(angle, rdt, dev)
    # J = exp(i s) [[cos d + i sin d cos 2a, i sin d sin 2a],
    #               [i sin d sin 2a,          cos d - i sin d cos 2a]],
    # s = (p1 + p2) / 2, d = (p1 - p2) / 2: five real maps, no complex products
    half = 0.5 * (p1 + p2)
    delta = 0.5 * (p1 - p2)
    cd, sd = torch.cos(delta), torch.sin(delta)
    c2, s2 = torch.cos(2 * a), torch.sin(2 * a)
    cs, ss = torch.cos(half), torch.sin(half)
    b, c = sd * c2, sd * s2
    # exp(i s) (cd + i b) = (cs cd - ss b) + i (ss cd + cs b); exp(i s) (i c) = -ss c + i cs c.
    # Real parts and imaginary parts are stacked as real tensors and joined once:
    # stacking complex tensors is several times slower on CPU.
    csd, ssd, csb, ssb = cs * cd, ss * cd, cs * b, ss * b
    j01_re, j01_im = -ss * c, cs * c
    re00, re01, re11 = torch.broadcast_tensors(csd - ssb, j01_re, csd + ssb)
    im00, im01, im11 = torch.broadcast_tensors(ssd + csb, j01_im, ssd - csb)
    col0 = torch.complex(torch.stack([re00, re01]), torch.stack([im00, im01]))
    col1 = torch.complex(torch.stack([re01, re11]), torch.stack([im01, im11]))
    return col0.to(dtype), col1.to(dtype)


def apply_jones(field: torch.Tensor, jones: torch.Tensor) -> torch.Tensor:
    """``E_out = J E_in`` on a polarized field.

    Args:
        field: complex ``(..., 2, ny, nx)``.
        jones: complex ``(2, 2)`` (uniform) or ``(..., 2, 2, ny, nx)`` (per pixel,
            broadcast against the field's leading axes).

    Returns:
        complex ``(..., 2, ny, nx)``.
    """
    check_jones_field(field)
    complex_tensor(jones, "jones")
    if jones.ndim == 2:
        if tuple(jones.shape) != (2, 2):
            raise ValueError(f"a uniform Jones matrix is (2, 2), got {tuple(jones.shape)}")
        jones = jones[..., None, None]
    if jones.ndim < 4 or tuple(jones.shape[-4:-2]) != (2, 2):
        raise ValueError(
            f"jones has shape {tuple(jones.shape)}; expected (2, 2) or (..., 2, 2, ny, nx)"
        )
    jones = jones.to(field.dtype)
    # column by column: E_out = J[:, 0] Ex + J[:, 1] Ey, broadcast over the Jones axis
    # (two field-sized passes, no stacking of batch-sized tensors)
    return torch.addcmul(
        jones[..., :, 0, :, :] * field[..., 0:1, :, :],
        jones[..., :, 1, :, :],
        field[..., 1:2, :, :],
    )


class _JonesModulate(torch.autograd.Function):
    """``E_out = J(p1, p2, a) E`` with an analytic backward.

    ``J = e2 I + (e1 - e2) u u^T`` (``e_k = exp(i p_k)``, ``u = (cos a, sin a)``) is
    symmetric, so the field's gradient is ``conj(J) g``; with
    ``H_ij = sum_batch conj(g_i) E_j``, the parameters' gradients are
    ``dL/dp1 = -Im(e1 u^T H u)``, ``dL/dp2 = -Im(e2 v^T H v)`` (``v = (-sin a, cos a)``)
    and ``dL/da = Re((e1 - e2) (sin 2a (H11 - H00) + cos 2a (H01 + H10)))``.
    Autograd through the dozen element-wise maps that build ``J`` costs several times more.
    """

    @staticmethod
    def forward(ctx, field, p1, p2, angle):
        c0, c1 = jones_modulator_columns(p1, p2, angle, dtype=field.dtype)
        ctx.save_for_backward(field, p1, p2, angle)
        ctx.columns = (c0, c1)
        ex, ey = field.split(1, dim=-3)
        return torch.addcmul(c0 * ex, c1, ey)

    @staticmethod
    def backward(ctx, grad):
        field, p1, p2, angle = ctx.saved_tensors
        c0, c1 = ctx.columns
        g_field = g1 = g2 = g_a = None
        gx, gy = grad.split(1, dim=-3)
        if ctx.needs_input_grad[0]:
            g_field = torch.addcmul(c0.conj() * gx, c1.conj(), gy)
        if any(ctx.needs_input_grad[1:]):
            ex, ey = field.split(1, dim=-3)
            lead = tuple(range(field.ndim - 2))
            gxc, gyc = gx.conj(), gy.conj()
            h00 = (gxc * ex).sum(lead)
            h11 = (gyc * ey).sum(lead)
            hsym = torch.addcmul(gxc * ey, gyc, ex).sum(lead)
            c, s = torch.cos(angle), torch.sin(angle)
            cc, ss, cs = c * c, s * s, c * s
            # real arithmetic: Im(e q) = sin(p) Re q + cos(p) Im q (torch.polar is slow on CPU)
            c1_, s1_ = torch.cos(p1), torch.sin(p1)
            c2_, s2_ = torch.cos(p2), torch.sin(p2)
            if ctx.needs_input_grad[1]:
                qu = cc * h00 + cs * hsym + ss * h11
                g1 = -(s1_ * qu.real + c1_ * qu.imag).sum_to_size(p1.shape)
            if ctx.needs_input_grad[2]:
                qv = ss * h00 - cs * hsym + cc * h11
                g2 = -(s2_ * qv.real + c2_ * qv.imag).sum_to_size(p2.shape)
            if ctx.needs_input_grad[3]:
                qa = 2 * cs * (h11 - h00) + (cc - ss) * hsym
                g_a = ((c1_ - c2_) * qa.real - (s1_ - s2_) * qa.imag).sum_to_size(angle.shape)
        return g_field, g1, g2, g_a


def jones_modulate(field, phase_fast, phase_slow, angle) -> torch.Tensor:
    """``apply_jones(field, jones_modulator_matrix(p1, p2, a))`` with an analytic backward.

    Args:
        field: complex ``(..., 2, ny, nx)``.
        phase_fast, phase_slow, angle: real tensors (cast to the field's real dtype),
            broadcastable to ``(ny, nx)`` [rad].

    Returns:
        complex ``(..., 2, ny, nx)``.
    """
    check_jones_field(field)
    rdt = real_of(field.dtype)
    p1, p2, a = (
        torch.as_tensor(t, dtype=rdt, device=field.device) for t in (phase_fast, phase_slow, angle)
    )
    return _JonesModulate.apply(field, p1, p2, a)


def _abs2(z: torch.Tensor) -> torch.Tensor:
    return z.real.square() + z.imag.square()


def jones_intensity(field: torch.Tensor) -> torch.Tensor:
    """``|Ex|^2 + |Ey|^2``, real ``(..., ny, nx)``, of a ``(..., 2, ny, nx)`` field."""
    check_jones_field(field)
    return _abs2(field).sum(-3)


def stokes(field: torch.Tensor) -> torch.Tensor:
    """Stokes parameters ``(S0, S1, S2, S3)``, real ``(..., 4, ny, nx)``.

    ``S3 = 2 Im(Ex conj(Ey)) > 0`` for right-circular light (Born & Wolf: clockwise
    looking at the source, under ``exp(-i w t)``). For a fully polarized field
    ``S0^2 = S1^2 + S2^2 + S3^2``.
    """
    check_jones_field(field)
    ex, ey = field[..., 0, :, :], field[..., 1, :, :]
    ix, iy = _abs2(ex), _abs2(ey)
    cross = ex * ey.conj()
    return torch.stack([ix + iy, ix - iy, 2 * cross.real, 2 * cross.imag], dim=-3)
