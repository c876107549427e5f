"""Vectorial fields: the longitudinal component and the high-NA (Richards-Wolf) focus.

Conventions as in :mod:`photonn.functional.jones`: the transverse field
``(Ex, Ey)`` is carried as ``(..., 2, ny, nx)``; ``Ez`` is derived from it.

Longitudinal field. A field of plane waves ``exp(i(kx x + ky y + kz z))`` in a
homogeneous, source-free medium is transverse, ``k . E = 0``, so each angular
component has ``Ez = -(kx Ex + ky Ey) / kz``, with
``kz = sqrt(k^2 - kx^2 - ky^2)`` for propagating waves and ``kz = +i |kz|``
for evanescent ones (they decay as ``exp(-|kz| z)``: the same branch as the
propagators). ``k = 2 pi n / lambda``.

High-NA focus (Richards & Wolf 1959; Novotny & Hecht, *Principles of
Nano-Optics*, ch. 3; the FFT evaluation of Leutenegger, Rao, Leitgeb & Lasser,
Opt. Express 14, 11277 (2006)). An aplanatic lens of focal length ``f`` maps
the entrance-pupil point ``f sin(theta) (cos phi, sin phi)`` (sine condition)
onto the plane wave of direction ``k (sin theta cos phi, sin theta sin phi,
cos theta)``. The incident field ``E_inc`` is split into its radial
(p) and azimuthal (s) parts; the s part keeps its direction ``n_phi``, the p part
turns from ``n_rho`` into ``n_theta = (cos theta cos phi, cos theta sin phi,
-sin theta)``, and the amplitude is scaled by ``sqrt(cos theta)`` (energy
conservation between the flat pupil and the reference sphere):
``E_inf = sqrt(cos theta) [(E_inc . n_phi) n_phi + (E_inc . n_rho) n_theta]``.
The Debye integral over the angular spectrum,

    ``E(x, y, z) = (i f exp(-i k f) / (2 pi)) int int_{k_t <= k NA / n}
    E_inf / kz exp(i (kx x + ky y + kz z)) dkx dky``,

is one inverse FFT when the spectrum is sampled on the FFT frequencies of the
focal grid (the pupil is then sampled at spacing ``f lambda / (n N dx)``). As in
Novotny & Hecht, the pupil point at azimuth ``phi`` feeds the plane wave of the
same azimuth (the image of the pupil is not inverted).
"""

from __future__ import annotations

import math

import torch

from .._checks import positive_float
from .jones import check_jones_field

__all__ = [
    "longitudinal_field",
    "vector_intensity",
    "check_numerical_aperture",
    "pupil_weights",
    "richards_wolf_spectrum",
    "richards_wolf_focus",
]


def _kgrid(grid, device):
    ky = 2 * math.pi * torch.fft.fftfreq(grid.ny, d=grid.dy, dtype=torch.float64, device=device)
    kx = 2 * math.pi * torch.fft.fftfreq(grid.nx, d=grid.dx, dtype=torch.float64, device=device)
    return ky[:, None].expand(grid.ny, grid.nx), kx[None, :].expand(grid.ny, grid.nx)


def longitudinal_field(
    field: torch.Tensor,
    grid,
    wavelength: float,
    *,
    refractive_index: float = 1.0,
    evanescent: str = "keep",
) -> torch.Tensor:
    """``Ez`` of a transverse field from ``kx Ex + ky Ey + kz Ez = 0``, per angular component.

    The FFT is periodic (no padding): ``Ez`` is exact for the periodic
    continuation of the field on ``grid``.

    Args:
        field: complex ``(..., 2, ny, nx)`` transverse field ``(Ex, Ey)``.
        grid: :class:`photonn.Grid` of the last two axes.
        wavelength: vacuum wavelength [m].
        refractive_index: of the medium (``k = 2 pi n / lambda``).
        evanescent: ``"keep"`` (default): evanescent components get
            ``kz = i |kz|`` (the exact ``Ez`` of waves that decay away from the
            plane); ``"drop"``: their ``Ez`` is set to zero (propagating part only).
            The components with ``kz = 0`` exactly (grazing) have no finite ``Ez``
            and are set to zero either way.

    Returns:
        complex ``(..., ny, nx)``.
    """
    check_jones_field(field)
    grid.check_field(field)
    lam = positive_float(wavelength, "wavelength")
    n = positive_float(refractive_index, "refractive_index")
    if evanescent not in ("keep", "drop"):
        raise ValueError(f"evanescent must be 'keep' or 'drop', got {evanescent!r}")
    k = 2 * math.pi * n / lam
    ky, kx = _kgrid(grid, field.device)
    arg = k * k - kx * kx - ky * ky
    prop = arg > 0
    root = torch.sqrt(arg.abs())
    kz = torch.complex(torch.where(prop, root, 0.0), torch.where(prop, 0.0, root))
    ok = root > 0 if evanescent == "keep" else prop
    inv_kz = torch.where(ok, 1.0 / torch.where(ok, kz, torch.ones_like(kz)), 0.0)
    cdt = field.dtype
    A = torch.fft.fft2(field)
    num = kx.to(cdt) * A[..., 0, :, :] + ky.to(cdt) * A[..., 1, :, :]
    return torch.fft.ifft2(-num * inv_kz.to(cdt))


def vector_intensity(
    field: torch.Tensor,
    grid=None,
    wavelength: float | None = None,
    *,
    longitudinal: bool = False,
    refractive_index: float = 1.0,
) -> torch.Tensor:
    """``|Ex|^2 + |Ey|^2`` (+ ``|Ez|^2`` with ``longitudinal=True``, which needs grid and
    wavelength), real ``(..., ny, nx)``."""
    check_jones_field(field)
    I = field.real.square().sum(-3) + field.imag.square().sum(-3)
    if not longitudinal:
        return I
    if grid is None or wavelength is None:
        raise ValueError("longitudinal=True derives Ez: pass grid= and wavelength=")
    ez = longitudinal_field(field, grid, wavelength, refractive_index=refractive_index)
    return I + ez.real.square() + ez.imag.square()


def check_numerical_aperture(na, refractive_index: float = 1.0) -> float:
    """``0 < NA < n``, or ``ValueError`` naming the value and the fix."""
    n = positive_float(refractive_index, "refractive_index")
    if isinstance(na, bool) or not isinstance(na, (int, float)):
        raise TypeError(f"na must be a real number, got {type(na).__name__} {na!r}")
    na = float(na)
    if not math.isfinite(na) or na <= 0 or na >= n:
        raise ValueError(
            f"numerical aperture {na!r} is outside (0, n) for a medium of index n = {n}: "
            f"NA = n sin(theta_max) must be below the medium's index; use NA < {n} "
            "(an immersion objective needs refractive_index > 1)"
        )
    return na


def pupil_weights(grid, wavelength, na, *, refractive_index=1.0, supersample=8, device=None):
    """Fraction of each spectral sample's cell inside the pupil ``k_t <= 2 pi NA / lambda``.

    A float64 ``(ny, nx)`` map on the FFT frequencies of ``grid`` (unshifted):
    1 inside, 0 outside, the covered area fraction (``supersample^2`` sub-samples)
    on the rim, which makes the sampled pupil's area and centroid second-order
    accurate instead of first-order.
    """
    lam = positive_float(wavelength, "wavelength")
    na = check_numerical_aperture(na, refractive_index)
    kmax = 2 * math.pi * na / lam
    ky, kx = _kgrid(grid, device)
    dky, dkx = 2 * math.pi / (grid.ny * grid.dy), 2 * math.pi / (grid.nx * grid.dx)
    s = int(supersample)
    off = (torch.arange(s, dtype=torch.float64, device=device) + 0.5) / s - 0.5
    w = torch.zeros(grid.shape, dtype=torch.float64, device=device)
    for oy in off:
        yy = (ky + oy * dky) ** 2
        for ox in off:
            w += ((kx + ox * dkx) ** 2 + yy <= kmax * kmax).to(torch.float64)
    return w / (s * s)


def richards_wolf_spectrum(
    pupil_field: torch.Tensor,
    grid,
    wavelength: float,
    na: float,
    *,
    refractive_index: float = 1.0,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Angular spectrum ``E_inf / kz`` ``(..., 3, ny, nx)`` (unshifted) of the focus.

    Args:
        pupil_field: complex ``(..., 2, ny, nx)``: the incident field in the entrance
            pupil, sampled with the optical axis at ``n // 2`` and pupil spacing
            ``f lambda / (n N d)`` (so that its sample ``j`` feeds the spectral sample
            of frequency ``(j - N // 2) / (N d)``).
        grid: focal-plane :class:`photonn.Grid`.
        wavelength: vacuum wavelength [m]; na: numerical aperture ``n sin theta_max``.
        weights: optional precomputed :func:`pupil_weights`.
    """
    check_jones_field(pupil_field, "pupil_field")
    grid.check_field(pupil_field, "pupil_field")
    lam = positive_float(wavelength, "wavelength")
    n = positive_float(refractive_index, "refractive_index")
    check_numerical_aperture(na, n)
    dev = pupil_field.device
    if weights is None:
        weights = pupil_weights(grid, lam, na, refractive_index=n, device=dev)
    k = 2 * math.pi * n / lam
    ky, kx = _kgrid(grid, dev)
    kt2 = kx * kx + ky * ky
    inside = weights > 0
    st = torch.sqrt(kt2).clamp(max=k) / k  # sin(theta)
    ct = torch.sqrt((1 - st * st).clamp(min=0.0))
    phi = torch.atan2(ky, kx)
    cp, sp = torch.cos(phi), torch.sin(phi)
    # the pupil sample at (j - N//2) feeds frequency index (j - N//2) mod N
    E = torch.fft.ifftshift(pupil_field, dim=(-2, -1))
    ex, ey = E[..., 0, :, :], E[..., 1, :, :]
    cdt = pupil_field.dtype
    e_rho = cp.to(cdt) * ex + sp.to(cdt) * ey
    e_phi = -sp.to(cdt) * ex + cp.to(cdt) * ey
    safe_ct = torch.where(inside, ct, torch.ones_like(ct))
    amp = torch.where(inside, weights * torch.sqrt(safe_ct) / (k * safe_ct), 0.0).to(cdt)
    gx = amp * (-sp.to(cdt) * e_phi + (ct * cp).to(cdt) * e_rho)
    gy = amp * (cp.to(cdt) * e_phi + (ct * sp).to(cdt) * e_rho)
    gz = amp * (-st.to(cdt) * e_rho)
    return torch.stack([gx, gy, gz], dim=-3)


def richards_wolf_focus(
    pupil_field: torch.Tensor,
    grid,
    wavelength: float,
    na: float,
    focal_length: float,
    *,
    refractive_index: float = 1.0,
    defocus: float = 0.0,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Vector focal field ``(Ex, Ey, Ez)``, complex ``(..., 3, ny, nx)``, at ``z = defocus`` [m].

    Evaluates the Debye integral of the module docstring by one inverse FFT
    (periodic: the focal window must hold the spot and its side lobes). Units: the
    pupil field in ``sqrt(W/m^2)`` gives the focal field in ``sqrt(W/m^2)``; the
    power flow through the focal plane (each plane wave's ``|E|^2 cos theta``)
    equals the power in the pupil (for ``n = 1``).
    """
    f = positive_float(focal_length, "focal_length")
    n = positive_float(refractive_index, "refractive_index")
    lam = positive_float(wavelength, "wavelength")
    g = richards_wolf_spectrum(pupil_field, grid, lam, na, refractive_index=n, weights=weights)
    k = 2 * math.pi * n / lam
    if defocus != 0.0:
        ky, kx = _kgrid(grid, pupil_field.device)
        kz = torch.sqrt((k * k - kx * kx - ky * ky).clamp(min=0.0))
        g = g * torch.polar(torch.ones_like(kz), kz * float(defocus)).to(g.dtype)
    # int int dkx dky -> (2 pi)^2 / (dx dy) * ifft2 ; prefactor i f exp(-i k f) / (2 pi)
    scale = (2 * math.pi) * f / (grid.dx * grid.dy)
    pre = complex(0.0, scale) * complex(math.cos(-k * f), math.sin(-k * f))
    out = torch.fft.ifft2(g) * pre
    return torch.fft.fftshift(out, dim=(-2, -1))
