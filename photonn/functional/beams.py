"""Analytic fields used as sources and as references in the physics tests."""

from __future__ import annotations

import math

import torch

from .._checks import complex_dtype, finite_float, positive_float


def gaussian_beam(
    grid, wavelength: float, waist: float, z: float = 0.0, *, dtype=torch.complex64, device=None
) -> torch.Tensor:
    """Paraxial TEM00 Gaussian beam at distance ``z`` from its waist.

    ``E = exp(ikz) / (1 + i z/zR) * exp(-r^2 / (w0^2 (1 + i z/zR)))`` with
    ``zR = pi w0^2 / lambda``: amplitude 1 on axis at the waist, width
    ``w(z)``, curvature ``R(z)`` and Gouy phase ``-atan(z/zR)`` included. It is
    the exact solution of the paraxial wave equation (the Fresnel integral).

    Args:
        grid: :class:`photonn.Grid`; the beam axis is at index ``n // 2``.
        wavelength: [m]. waist: 1/e field radius ``w0`` [m]. z: [m].
        dtype: ``torch.complex64`` (default, the dtype of the optical modules, so
            ``Propagator(grid, wl, z)(gaussian_beam(grid, wl, waist=w))`` works as is)
            or ``torch.complex128``. The field is computed in complex128 and cast once.
        device: where to build it.

    Returns:
        complex tensor ``(ny, nx)`` of ``dtype``.
    """
    lam = positive_float(wavelength, "wavelength")
    w0 = positive_float(waist, "waist")
    z = finite_float(z, "z")
    complex_dtype(dtype)
    zr = math.pi * w0**2 / lam
    q = complex(1.0, z / zr)
    r2 = grid.r2(device=device).to(torch.complex128)
    k = 2 * math.pi / lam
    carrier = complex(math.cos(k * z), math.sin(k * z))
    return (carrier / q * torch.exp(-r2 / (w0**2 * q))).to(dtype)


# -- helpers -------------------------------------------------------------------------


def _order(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def _beam_geometry(lam: float, w0: float, z: float):
    """``(k, zR, w(z), psi(z))``: wavenumber, Rayleigh range, width and Gouy angle atan(z/zR)."""
    k = 2 * math.pi / lam
    zr = math.pi * w0**2 / lam
    return k, zr, w0 * math.sqrt(1 + (z / zr) ** 2), math.atan2(z, zr)


def hermite_functions(t: torch.Tensor, n_max: int) -> list[torch.Tensor]:
    """Normalised Hermite functions ``psi_n(t) = H_n(t) exp(-t^2/2) / sqrt(2^n n! sqrt(pi))``.

    ``n = 0 .. n_max``, by the stable three-term recurrence (no factorial overflow);
    ``integral psi_n psi_m dt = delta_nm``. ``t``: real tensor (any shape).
    """
    psi = [math.pi**-0.25 * torch.exp(-0.5 * t * t)]
    if n_max >= 1:
        psi.append(math.sqrt(2.0) * t * psi[0])
    for n in range(1, n_max):
        psi.append(math.sqrt(2.0 / (n + 1)) * t * psi[n] - math.sqrt(n / (n + 1)) * psi[n - 1])
    return psi[: n_max + 1]


def _curvature_and_carrier(r2, k, z, zr, order_gouy, psi):
    """``exp(i (k z + k r^2 / (2 R) - order_gouy psi))`` in complex128."""
    phase = k * r2 * z / (2 * (z * z + zr * zr)) + (k * z - order_gouy * psi)
    return torch.polar(torch.ones_like(phase), phase)


# -- mode families ---------------------------------------------------------------------


def hermite_gauss(
    grid,
    wavelength: float,
    waist: float,
    n: int,
    m: int,
    z: float = 0.0,
    *,
    dtype=torch.complex64,
    device=None,
) -> torch.Tensor:
    """Hermite-Gauss mode ``HG_nm`` (``n`` along x, ``m`` along y) at ``z`` from its waist.

    ``u = sqrt(2 / (pi w^2 2^(n+m) n! m!)) H_n(sqrt2 x / w) H_m(sqrt2 y / w) exp(-r^2/w^2)
    exp(i (k z + k r^2 / (2 R) - (n + m + 1) atan(z / zR)))``: the paraxial solution in
    the ``exp(i(kz - wt))`` convention (``n = m = 0`` is :func:`gaussian_beam` times
    ``sqrt(2 / pi) / w0``). Normalised to unit power, ``integral |u|^2 dx dy = 1``
    [field in 1/m]: multiply by ``sqrt(P)`` for power ``P`` [W].

    Args:
        grid: :class:`photonn.Grid` (beam axis at index ``n // 2``).
        wavelength: [m]. waist: 1/e field radius ``w0`` [m]. n, m: orders >= 0. z: [m].
        dtype: complex64 (default) or complex128 (computed in float64, cast once).
        device: where to build it.

    Returns:
        complex ``(ny, nx)``.
    """
    lam = positive_float(wavelength, "wavelength")
    w0 = positive_float(waist, "waist")
    n, m = _order(n, "n"), _order(m, "m")
    z = finite_float(z, "z")
    complex_dtype(dtype)
    k, zr, w, psi = _beam_geometry(lam, w0, z)
    s = math.sqrt(2.0) / w
    x = grid.x(device=device)
    y = grid.y(device=device)
    ux = math.sqrt(s) * hermite_functions(s * x, n)[n]
    uy = math.sqrt(s) * hermite_functions(s * y, m)[m]
    amp = uy[:, None] * ux[None, :]
    phase = _curvature_and_carrier(grid.r2(device=device), k, z, zr, n + m + 1, psi)
    return (amp * phase).to(dtype)


def _genlaguerre(p: int, alpha: int, x: torch.Tensor) -> torch.Tensor:
    """Generalised Laguerre polynomial ``L_p^alpha(x)`` by its three-term recurrence."""
    prev = torch.ones_like(x)
    if p == 0:
        return prev
    cur = 1.0 + alpha - x
    for j in range(1, p):
        prev, cur = cur, ((2 * j + 1 + alpha - x) * cur - (j + alpha) * prev) / (j + 1)
    return cur


def laguerre_gauss(
    grid,
    wavelength: float,
    waist: float,
    p: int,
    l: int,  # noqa: E741 (the physics name of the azimuthal index)
    z: float = 0.0,
    *,
    dtype=torch.complex64,
    device=None,
) -> torch.Tensor:
    """Laguerre-Gauss mode ``LG_pl`` with orbital angular momentum ``l hbar`` per photon.

    ``u = sqrt(2 p! / (pi (p+|l|)!)) / w (sqrt2 r / w)^|l| L_p^|l|(2 r^2 / w^2)
    exp(-r^2 / w^2) exp(i l phi) exp(i (k z + k r^2 / (2 R) - (2p + |l| + 1) atan(z/zR)))``,
    ``phi = atan2(y, x)``; unit power like :func:`hermite_gauss`.

    Args:
        grid: :class:`photonn.Grid`. wavelength: [m]. waist: 1/e field radius ``w0`` [m].
        p: radial index >= 0. l: azimuthal index (any sign). z: [m].
        dtype, device: as :func:`hermite_gauss`.

    Returns:
        complex ``(ny, nx)``.
    """
    lam = positive_float(wavelength, "wavelength")
    w0 = positive_float(waist, "waist")
    p = _order(p, "p")
    if isinstance(l, bool) or not isinstance(l, int):
        raise TypeError(f"l must be an int, got {type(l).__name__} {l!r}")
    z = finite_float(z, "z")
    complex_dtype(dtype)
    k, zr, w, psi = _beam_geometry(lam, w0, z)
    al = abs(l)
    Y, X = grid.meshgrid(device=device)
    r2 = X * X + Y * Y
    t = 2 * r2 / w**2
    norm = math.sqrt(2 * math.factorial(p) / (math.pi * math.factorial(p + al))) / w
    amp = norm * t ** (al / 2) * _genlaguerre(p, al, t) * torch.exp(-r2 / w**2)
    phase = _curvature_and_carrier(r2, k, z, zr, 2 * p + al + 1, psi)
    vortex = torch.polar(torch.ones_like(r2), l * torch.atan2(Y, X))
    return (amp * vortex * phase).to(dtype)


def bessel_beam(
    grid,
    wavelength: float,
    cone_angle: float,
    order: int = 0,
    *,
    aperture: float | None = None,
    dtype=torch.complex64,
    device=None,
) -> torch.Tensor:
    """Bessel beam ``J_l(k_r r) exp(i l phi)`` at its start plane, ``k_r = k sin(cone_angle)``.

    An ideal Bessel beam carries infinite power; a real one is cut by an aperture of
    radius ``a``, and its core then stays unchanged up to the geometric range
    ``z_max = a / tan(cone_angle)``. With ``aperture`` the field is multiplied by a
    Gaussian ``exp(-r^2 / a^2)`` (a Bessel-Gauss beam, smooth, so it propagates
    without hard-edge ringing).

    Args:
        grid: :class:`photonn.Grid`. wavelength: [m].
        cone_angle: half-angle of the cone of plane waves [rad], in (0, pi/2).
        order: integer ``l`` (OAM of the beam). aperture: optional Gaussian radius [m].
        dtype, device: as :func:`hermite_gauss`.

    Returns:
        complex ``(ny, nx)``, amplitude 1 on axis for ``l = 0``.
    """
    from scipy.special import jv

    lam = positive_float(wavelength, "wavelength")
    theta = positive_float(cone_angle, "cone_angle")
    if theta >= math.pi / 2:
        raise ValueError(f"cone_angle must be in (0, pi/2) rad, got {theta!r}")
    if isinstance(order, bool) or not isinstance(order, int):
        raise TypeError(f"order must be an int, got {type(order).__name__} {order!r}")
    complex_dtype(dtype)
    kr = 2 * math.pi / lam * math.sin(theta)
    Y, X = grid.meshgrid()
    r = torch.sqrt(X * X + Y * Y)
    amp = torch.from_numpy(jv(order, (kr * r).numpy()))
    if aperture is not None:
        a = positive_float(aperture, "aperture")
        amp = amp * torch.exp(-r * r / a**2)
    field = amp * torch.polar(torch.ones_like(r), order * torch.atan2(Y, X))
    return field.to(device=device, dtype=dtype)


def airy_beam(
    grid,
    scale: float,
    truncation: float = 0.1,
    *,
    dtype=torch.complex64,
    device=None,
) -> torch.Tensor:
    """Finite-energy Airy beam ``Ai(x/x0) exp(a x/x0) Ai(y/y0) exp(a y/y0)`` at its start plane.

    It accelerates transversely (along +x and +y) on propagation (Siviloglou and
    Christodoulides, Opt. Lett. 32, 979, 2007).

    Args:
        grid: :class:`photonn.Grid`. scale: ``x0 = y0`` [m].
        truncation: exponential apodisation ``a`` (> 0, small: 0.05 - 0.2).
        dtype, device: as :func:`hermite_gauss`.

    Returns:
        complex ``(ny, nx)`` (real-valued).
    """
    from scipy.special import airy

    x0 = positive_float(scale, "scale")
    a = positive_float(truncation, "truncation")
    complex_dtype(dtype)

    def one(c):
        s = (c / x0).numpy()
        return torch.from_numpy(airy(s)[0]) * torch.exp(a * c / x0)

    field = one(grid.y())[:, None] * one(grid.x())[None, :]
    return field.to(device=device, dtype=dtype)


def plane_wave(
    grid,
    wavelength: float,
    angle_x: float = 0.0,
    angle_y: float = 0.0,
    *,
    dtype=torch.complex64,
    device=None,
) -> torch.Tensor:
    """Unit-amplitude plane wave ``exp(i k (x sin(angle_x) + y sin(angle_y)))``.

    ``angle_x``/``angle_y`` [rad] tilt the wave vector towards +x / +y:
    ``kx = k sin(angle_x)``, ``ky = k sin(angle_y)`` (``kx^2 + ky^2 < k^2`` required).
    The phase is zero on the optical axis.
    """
    lam = positive_float(wavelength, "wavelength")
    ax, ay = finite_float(angle_x, "angle_x"), finite_float(angle_y, "angle_y")
    complex_dtype(dtype)
    k = 2 * math.pi / lam
    kx, ky = k * math.sin(ax), k * math.sin(ay)
    if kx * kx + ky * ky >= k * k:
        raise ValueError(
            f"sin(angle_x)^2 + sin(angle_y)^2 must be < 1 for a propagating wave, got "
            f"angles ({ax!r}, {ay!r}) rad"
        )
    Y, X = grid.meshgrid(device=device)
    phase = kx * X + ky * Y
    return torch.polar(torch.ones_like(phase), phase).to(dtype)


def spherical_wave(
    grid,
    wavelength: float,
    distance: float,
    center=(0.0, 0.0),
    *,
    dtype=torch.complex64,
    device=None,
) -> torch.Tensor:
    """Spherical wave from a point source ``distance`` before the plane: ``exp(i k r) d / r``.

    ``r = sqrt((x - cx)^2 + (y - cy)^2 + d^2)``; ``d > 0`` diverges, ``d < 0`` converges
    (``exp(-i k |r|)``) to a point ``|d|`` after the plane. The amplitude is 1 at the
    foot of the perpendicular. An off-axis ``center = (cy, cx)`` [m] tilts the wave.
    """
    lam = positive_float(wavelength, "wavelength")
    d = finite_float(distance, "distance")
    if d == 0:
        raise ValueError("distance must be non-zero (the point source cannot lie in the plane)")
    cy, cx = (finite_float(c, "center") for c in center)
    complex_dtype(dtype)
    k = 2 * math.pi / lam
    Y, X = grid.meshgrid(device=device)
    r = torch.sqrt((X - cx) ** 2 + (Y - cy) ** 2 + d * d)
    sign = 1.0 if d > 0 else -1.0
    return (torch.polar(abs(d) / r, sign * k * r)).to(dtype)


# -- gratings ----------------------------------------------------------------------------


def _grating_coordinate(grid, period, angle, device):
    p = positive_float(period, "period")
    a = finite_float(angle, "angle")
    Y, X = grid.meshgrid(device=device)
    u = X * math.cos(a) + Y * math.sin(a)
    return torch.remainder(u / p, 1.0)


def binary_grating(grid, period: float, *, duty: float = 0.5, angle: float = 0.0, device=None):
    """Binary (square-wave) grating profile in {0, 1}, real float64 ``(ny, nx)``.

    1 on the first ``duty`` fraction of every period; the grating vector points along
    ``angle`` [rad] from the x axis; ``period`` [m]. Use it as an amplitude mask, or as
    a phase ``phase_transmission(depth * profile)``.
    """
    d = positive_float(duty, "duty")
    if d >= 1:
        raise ValueError(f"duty must be in (0, 1), got {d!r}")
    return (_grating_coordinate(grid, period, angle, device) < d).to(torch.float64)


def blazed_grating(grid, period: float, *, angle: float = 0.0, device=None):
    """Blazed (sawtooth) profile in [0, 1): ``frac(u / period)``, real float64 ``(ny, nx)``.

    As a phase ``2 pi * profile`` it sends all light into the +1 order, deflected by
    ``asin(wavelength / period)`` towards ``angle``.
    """
    return _grating_coordinate(grid, period, angle, device)


def sinusoidal_grating(grid, period: float, *, angle: float = 0.0, device=None):
    """Sinusoidal profile ``(1 + cos(2 pi u / period)) / 2`` in [0, 1], real float64."""
    t = _grating_coordinate(grid, period, angle, device)
    return 0.5 * (1 + torch.cos(2 * math.pi * t))
