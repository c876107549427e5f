"""Scalar free-space propagation kernels (pure functions).

Convention: monochromatic fields ``exp(i(k z - w t))``; forward propagation
multiplies the angular spectrum by ``exp(+i kz z)``. Transfer functions are
built in float64 (their phase reaches ~1e6 rad) and cast once to the field's
complex dtype.

Methods:
    ``"asm"``        angular spectrum; evanescent waves decay as ``exp(-|kz| |z|)``.
    ``"bl-asm"``     band-limited angular spectrum (Matsushima & Shimobaba 2009).
    ``"fresnel"``    Fresnel transfer function ``exp(ikz) exp(-i pi lambda z f^2)``.
    ``"fresnel-ir"`` Fresnel impulse response ``exp(ikz)/(i lambda z) exp(i pi r^2/(lambda z))``.
    ``"rs"``         Rayleigh-Sommerfeld (first kind) impulse response
                     ``(1/2pi) (z/r) (1/r - ik) exp(ikr)/r``.
    ``"fraunhofer"`` far field by one centred FFT onto a grid of pitch
                     ``lambda z / (N d)``; see :func:`fraunhofer`.

Impulse responses are sampled on the padded grid and truncated to the light
cone of the grid's steepest ray, which removes the aliasing of an undersampled
chirp; backward (negative ``z``) impulse-response propagation uses the
conjugate kernel, the exact inverse for propagating waves.
"""

from __future__ import annotations

import math
import warnings

import torch

from .._checks import (
    check_pad_factor,
    complex_dtype,
    complex_tensor,
    finite_float,
    one_of,
    positive_float,
    positive_floats,
)
from .fourier import centered_fft2, conv_fft, pad_centered
from .sampling import METHODS, _report, bl_asm_limit, light_cone, padded_shape

__all__ = [
    "METHODS",
    "SamplingWarning",
    "transfer_function",
    "propagate",
    "fraunhofer_output_grid",
    "fraunhofer_factor",
    "fraunhofer",
    "check_propagation_args",
]


class SamplingWarning(UserWarning):
    """A propagation step is undersampled (see :func:`photonn.sampling_report`)."""


def check_propagation_args(wavelength, distance, method, pad_factor):
    """Validate and normalise the common arguments; returns ``(lams, multi, z, pad)``."""
    one_of(method, METHODS, "method")
    multi = not (
        isinstance(wavelength, (int, float)) and not isinstance(wavelength, bool)
    ) and not (isinstance(wavelength, torch.Tensor) and wavelength.ndim == 0)
    lams = positive_floats(wavelength, "wavelength")
    z = finite_float(distance, "distance")
    pad = check_pad_factor(pad_factor)
    if method == "fraunhofer":
        if z <= 0:
            raise ValueError(f"method='fraunhofer' needs distance > 0, got {z!r}")
        if multi:
            raise ValueError(
                "method='fraunhofer' maps each wavelength onto a different output grid; "
                "propagate one wavelength at a time"
            )
    return lams, multi, z, pad


def _asm(grid, lam, z, shape, band_limited, device):
    Ny, Nx = shape
    fy = torch.fft.fftfreq(Ny, d=grid.dy, dtype=torch.float64, device=device)
    fx = torch.fft.fftfreq(Nx, d=grid.dx, dtype=torch.float64, device=device)
    arg = 1.0 / lam**2 - (fy[:, None] ** 2 + fx[None, :] ** 2)
    prop = arg >= 0
    kz = 2 * math.pi * torch.sqrt(arg.abs())
    phase = torch.where(prop, kz * z, torch.zeros_like(kz))
    decay = torch.where(prop, torch.zeros_like(kz), -kz * abs(z))
    H = torch.polar(torch.exp(decay), phase)
    if band_limited:
        H = H * prop
        ly = bl_asm_limit(lam, z, grid.ny, Ny, grid.dy)
        lx = bl_asm_limit(lam, z, grid.nx, Nx, grid.dx)
        H = H * ((fy.abs() <= ly)[:, None] & (fx.abs() <= lx)[None, :])
    return H


def _fresnel_tf(grid, lam, z, shape, device):
    Ny, Nx = shape
    fy = torch.fft.fftfreq(Ny, d=grid.dy, dtype=torch.float64, device=device)
    fx = torch.fft.fftfreq(Nx, d=grid.dx, dtype=torch.float64, device=device)
    f2 = fy[:, None] ** 2 + fx[None, :] ** 2
    phase = (2 * math.pi / lam) * z - math.pi * lam * z * f2
    return torch.polar(torch.ones_like(phase), phase)


def _taper(offset: torch.Tensor, limit: float, width: float = 0.25) -> torch.Tensor:
    """1 up to ``(1 - width) * limit``, raised-cosine roll-off to 0 at ``limit``.

    A hard cut of a chirp kernel adds edge waves of relative size
    ``~sqrt(lambda z) / (pi X)`` to every frequency; the smooth roll-off removes them.
    """
    if not math.isfinite(limit):
        return torch.ones_like(offset)
    start = (1.0 - width) * limit
    t = ((offset - start) / max(limit - start, 1e-12)).clamp(0.0, 1.0)
    return 0.5 * (1.0 + torch.cos(math.pi * t))


def _ir_kernel(grid, lam, z, shape, method, device):
    """Impulse response on the padded grid (origin at index 0), truncated to the light cone."""
    Ny, Nx = shape
    oy = torch.fft.fftfreq(Ny, d=1.0 / Ny, dtype=torch.float64, device=device)  # signed index
    ox = torch.fft.fftfreq(Nx, d=1.0 / Nx, dtype=torch.float64, device=device)
    y, x = oy * grid.dy, ox * grid.dx
    r2 = y[:, None] ** 2 + x[None, :] ** 2
    az = abs(z)
    k = 2 * math.pi / lam
    if method == "fresnel-ir":
        h = torch.polar(torch.ones_like(r2), k * az + math.pi * r2 / (lam * az)) / complex(
            0.0, lam * az
        )
    else:  # "rs"
        r = torch.sqrt(r2 + az * az)
        amp = az / (2 * math.pi * r * r)
        h = torch.polar(amp, k * r) * torch.complex(1.0 / r, -k * torch.ones_like(r))
    # truncate to the light cone and to the offsets the padded window resolves
    limits = []
    for n, N, d in ((grid.ny, Ny, grid.dy), (grid.nx, Nx, grid.dx)):
        lim = light_cone(lam, d, z, method) / d
        if N > n:
            lim = min(lim, N - n)
        limits.append(lim)
    h = h * (_taper(oy.abs(), limits[0])[:, None] * _taper(ox.abs(), limits[1])[None, :])
    H = torch.fft.fft2(h) * (grid.dy * grid.dx)
    return H.conj() if z < 0 else H


def transfer_function(
    grid,
    wavelength,
    distance,
    method: str = "asm",
    *,
    pad_factor: float = 2.0,
    trim: bool = True,
    dtype: torch.dtype = torch.complex64,
    device=None,
) -> torch.Tensor:
    """Transfer function of a propagation step on the padded FFT grid (unshifted).

    Args:
        grid: :class:`photonn.Grid` of the input field.
        wavelength: vacuum wavelength [m], or a sequence of them.
        distance: propagation distance [m]; negative propagates backwards.
        method: one of ``"asm"``, ``"bl-asm"``, ``"fresnel"``, ``"fresnel-ir"``, ``"rs"``.
        pad_factor: most zero padding per axis (>= 1; 1 means periodic boundaries).
        trim: pad only as far as the light cone reaches (see :func:`padded_shape`).
        dtype: complex64 or complex128; built in float64, cast once.

    Returns:
        ``(Ny, Nx)`` for one wavelength, ``(W, Ny, Nx)`` for a sequence of ``W``.
    """
    lams, multi, z, pad = check_propagation_args(wavelength, distance, method, pad_factor)
    if method == "fraunhofer":
        raise ValueError("method='fraunhofer' has no transfer function; use fraunhofer()")
    return _transfer_function(grid, lams, multi, z, method, pad, trim, complex_dtype(dtype), device)


def _transfer_function(grid, lams, multi, z, method, pad, trim, dtype, device) -> torch.Tensor:
    """:func:`transfer_function` of checked arguments (from :func:`check_propagation_args`)."""
    shape = padded_shape(grid.shape, grid.spacing, max(lams), z, method, pad, trim)
    Hs = []
    for lam in lams:
        if z == 0:
            H = torch.ones(shape, dtype=torch.complex128, device=device)
        elif method in ("asm", "bl-asm"):
            H = _asm(grid, lam, z, shape, method == "bl-asm", device)
        elif method == "fresnel":
            H = _fresnel_tf(grid, lam, z, shape, device)
        else:
            H = _ir_kernel(grid, lam, z, shape, method, device)
        Hs.append(H.to(dtype))
    return torch.stack(Hs) if multi else Hs[0]


def fraunhofer_output_grid(grid, wavelength: float, distance: float, pad_factor: float = 1.0):
    """Output grid of :func:`fraunhofer`.

    Its shape is ``ceil(pad_factor * n)`` and its pitch ``lambda z / (N d)`` per axis.
    """
    lam = positive_float(wavelength, "wavelength")
    return _fraunhofer_output_grid(grid, lam, positive_float(distance, "distance"), pad_factor)


def _fraunhofer_output_grid(grid, lam: float, z: float, pad_factor: float):
    from ..grid import Grid

    pg = grid.padded(pad_factor)
    return Grid(pg.shape, (lam * z / (pg.ny * grid.dy), lam * z / (pg.nx * grid.dx)))


def fraunhofer_factor(
    grid,
    wavelength: float,
    distance: float,
    pad_factor: float = 1.0,
    *,
    dtype=torch.complex64,
    device=None,
) -> torch.Tensor:
    """The output-plane factor ``exp(ikz) exp(i k u^2 / 2z) dx dy / (i lambda z)``, ``(Ny, Nx)``."""
    lam = positive_float(wavelength, "wavelength")
    z = positive_float(distance, "distance")
    return _fraunhofer_factor(grid, lam, z, pad_factor, dtype, device)


def _fraunhofer_factor(grid, lam: float, z: float, pad_factor, dtype, device) -> torch.Tensor:
    out = _fraunhofer_output_grid(grid, lam, z, pad_factor)
    k = 2 * math.pi / lam
    phase = k * z + k * out.r2(device=device) / (2 * z)
    amp = grid.dx * grid.dy / (lam * z)
    return (torch.polar(torch.full_like(phase, amp), phase) / 1j).to(dtype)


def fraunhofer(field, grid, wavelength: float, distance: float, pad_factor: float = 1.0):
    """Fraunhofer (far-field) diffraction by one centred FFT.

    ``U(u, v) = exp(ikz) exp(ik(u^2+v^2)/2z) / (i lambda z) * FT[U0](u/(lambda z), v/(lambda z))``.
    The field is zero-padded (centred) to ``ceil(pad_factor * n)``, which samples
    the far field more finely. Power is conserved (Parseval).

    Returns:
        complex tensor ``(..., Ny, Nx)`` on :func:`fraunhofer_output_grid`.
    """
    complex_tensor(field)
    grid.check_field(field)
    lams, _, z, pad = check_propagation_args(wavelength, distance, "fraunhofer", pad_factor)
    return _fraunhofer(field, grid, lams[0], z, pad)


def _fraunhofer(field, grid, lam: float, z: float, pad: float) -> torch.Tensor:
    factor = _fraunhofer_factor(grid, lam, z, pad, field.dtype, field.device)
    return centered_fft2(pad_centered(field, tuple(factor.shape))) * factor


def apply_transfer(field: torch.Tensor, H: torch.Tensor, multi: bool) -> torch.Tensor:
    """Apply a transfer function from :func:`transfer_function` to ``field``."""
    if multi and (field.ndim < 3 or field.shape[-3] != H.shape[0]):
        raise ValueError(
            f"field has shape {tuple(field.shape)}, but {H.shape[0]} wavelengths were given: "
            f"the field needs a wavelength axis of size {H.shape[0]} just before (ny, nx)"
        )
    return conv_fft(field, H)


def propagate(
    field,
    grid,
    wavelength,
    distance,
    method: str = "asm",
    pad_factor: float = 2.0,
    *,
    trim: bool = True,
    strict: bool = False,
) -> torch.Tensor:
    """Propagate a complex field by ``distance`` (builds the kernel on every call).

    For repeated use build a :class:`photonn.freespace.Propagator`, which caches it.

    Args:
        field: complex64/complex128 tensor ``(..., ny, nx)``, or ``(..., W, ny, nx)``
            when ``wavelength`` is a sequence of ``W`` wavelengths.
        grid: :class:`photonn.Grid` matching the last two dimensions.
        wavelength: vacuum wavelength [m] or a sequence of them.
        distance: [m]; negative propagates backwards, 0 is the identity.
        method: see :data:`METHODS`.
        pad_factor: most zero padding per axis (>= 1).
        trim: pad only as far as the light cone reaches.
        strict: raise instead of warning when the step is undersampled.

    Returns:
        complex tensor of the field's shape (for ``"fraunhofer"``: the padded
        shape, on :func:`fraunhofer_output_grid`).
    """
    complex_tensor(field)
    grid.check_field(field)
    lams, multi, z, pad = check_propagation_args(wavelength, distance, method, pad_factor)
    _warn_if_aliased(grid, lams, z, method, pad, trim, strict)
    if method == "fraunhofer":
        return _fraunhofer(field, grid, lams[0], z, pad)
    H = _transfer_function(grid, lams, multi, z, method, pad, trim, field.dtype, field.device)
    return apply_transfer(field, H, multi)


def _warn_if_aliased(grid, lams, z, method, pad, trim, strict):
    """The sampling report of checked arguments; warns (or with ``strict`` raises) when
    the step is undersampled."""
    report = _report(grid, max(lams), z, method, pad, trim)
    if report.aliases:
        msg = (
            f"propagation is undersampled: {report}\n"
            f"Fix: {report.advice}; or a finer grid or a shorter distance"
        )
        if strict:
            raise ValueError(msg)
        warnings.warn(msg, SamplingWarning, stacklevel=3)
    return report
