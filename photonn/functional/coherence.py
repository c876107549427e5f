"""Partially coherent light as a weighted set of coherent modes.

A partially coherent field with cross-spectral density ``W(r1, r2)`` is written as
``W = sum_m w_m u_m(r1) u_m*(r2)`` (Wolf's coherent-mode representation, J. Opt.
Soc. Am. 72, 343, 1982): every mode ``u_m`` propagates through a linear system ``P``
on its own, and the intensity is ``I = sum_m w_m |P u_m|^2``. The modes are a batch
axis of an ordinary field tensor, so memory is ``M N^2`` for ``M`` modes on ``N^2``
pixels, never the ``N^4`` of a sampled mutual-coherence function.

The Gaussian Schell-model (GSM) source, intensity ``exp(-2 r^2 / w^2)`` and degree of
coherence ``exp(-|r1 - r2|^2 / (2 sigma_g^2))``, has Hermite-Gauss coherent modes with
geometric weights (Gori, Opt. Commun. 34, 301, 1980; Starikov and Wolf, J. Opt. Soc.
Am. 72, 923, 1982). Per axis, with ``a = 1 / (4 sigma_s^2)`` (``sigma_s = w / 2``),
``b = 1 / (2 sigma_g^2)`` and ``c = sqrt(a^2 + 2 a b)``: the modes are Hermite-Gauss
functions of field waist ``1 / sqrt(c)`` and the weights fall as ``q^n``, ``q = b / (a + b
+ c)``. In 2-D the weight of ``HG_nm`` is ``(1 - q)^2 q^(n+m)`` (normalised to 1).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .._checks import positive_float

__all__ = [
    "GSMParameters",
    "gsm_parameters",
    "gsm_truncation",
    "gsm_width",
    "gaussian_spectrum",
    "mode_intensity",
    "compress_modes",
    "CompressedModes",
    "check_mode_weights",
    "check_tolerance",
]


class GSMParameters(NamedTuple):
    """Per-axis constants of a Gaussian Schell-model source.

    a, b, c [1/m^2]: as in the module docstring. q: weight ratio of successive mode
    orders (0 <= q < 1; 0 is fully coherent). mode_waist: 1/e field radius of the
    Hermite-Gauss modes [m], ``1 / sqrt(c)``.
    """

    a: float
    b: float
    c: float
    q: float
    mode_waist: float


class Truncation(NamedTuple):
    """The modes kept for a stated accuracy.

    max_order: largest ``n + m`` kept; num_modes: ``(N + 1)(N + 2) / 2``;
    omitted: fraction of the source's power left out, ``q^(N+1) (N + 2 - (N + 1) q)``
    (<= tolerance).
    """

    max_order: int
    num_modes: int
    omitted: float


def check_tolerance(tolerance) -> float:
    """A tolerance in (0, 1), or a ``ValueError`` that names it."""
    t = positive_float(tolerance, "tolerance")
    if t >= 1:
        raise ValueError(
            f"tolerance is the fraction of the source's power the kept modes may leave out, "
            f"so it must lie in (0, 1); got {t!r} (e.g. tolerance=1e-3)"
        )
    return t


def gsm_parameters(waist: float, coherence_width: float) -> GSMParameters:
    """Coherent-mode constants of a GSM source.

    Args:
        waist: 1/e^2 intensity radius ``w`` [m] (``sigma_s = w / 2``).
        coherence_width: rms width ``sigma_g`` [m] of the degree of coherence
            ``exp(-dr^2 / (2 sigma_g^2))``.
    """
    w = positive_float(waist, "waist")
    if not isinstance(coherence_width, bool) and isinstance(coherence_width, (int, float)):
        if not coherence_width > 0 or not math.isfinite(coherence_width):
            raise ValueError(
                f"coherence_width is the rms width sigma_g [m] of the degree of coherence and "
                f"must be a finite number > 0, got {coherence_width!r}; for fully coherent light "
                f"use photonn.functional.gaussian_beam (sigma_g -> infinity)"
            )
    sg = positive_float(coherence_width, "coherence_width")
    a = 1.0 / w**2  # 1 / (4 sigma_s^2) with sigma_s = w / 2
    b = 1.0 / (2 * sg**2)
    c = math.sqrt(a * a + 2 * a * b)
    q = b / (a + b + c)
    return GSMParameters(a, b, c, q, 1.0 / math.sqrt(c))


def gsm_truncation(q: float, tolerance: float) -> Truncation:
    """Smallest mode set (all ``HG_nm`` with ``n + m <= N``) leaving out at most a
    fraction ``tolerance`` of the power.

    The kept fraction of the 2-D weights ``(1 - q)^2 q^(n+m)`` is
    ``1 - q^(N+1) (N + 2 - (N + 1) q)`` (there are ``k + 1`` modes of order ``k``).
    The same bound holds for the intensity at any point of any output plane after a
    passive system, relative to the full mode sum's total power.
    """
    tol = check_tolerance(tolerance)
    if not 0 <= q < 1:
        raise ValueError(f"q must be in [0, 1), got {q!r}")
    N = 0
    while True:
        omitted = q ** (N + 1) * (N + 2 - (N + 1) * q)
        if omitted <= tol:
            return Truncation(N, (N + 1) * (N + 2) // 2, omitted)
        N += 1


def gsm_width(waist: float, coherence_width: float, wavelength: float, z: float) -> float:
    """1/e^2 intensity radius [m] of a GSM beam after free propagation over ``z`` [m]:

    ``w(z)^2 = w^2 + (2 z / k)^2 (1 / w^2 + 1 / sigma_g^2)`` i.e. ``sigma_s(z)^2 =
    sigma_s^2 + (z / k)^2 (1 / (4 sigma_s^2) + 1 / sigma_g^2)`` (Mandel and Wolf,
    *Optical Coherence and Quantum Optics*, sec. 5.6.4), the paraxial law.
    """
    w = positive_float(waist, "waist")
    sg = positive_float(coherence_width, "coherence_width")
    k = 2 * math.pi / positive_float(wavelength, "wavelength")
    return math.sqrt(w**2 + (2 * z / k) ** 2 * (1 / w**2 + 1 / sg**2))


def check_mode_weights(weights, num_modes: int | None = None) -> torch.Tensor:
    """Mode weights: a real tensor ``(M,)`` or ``(M, W)``, finite and >= 0; else a clear error."""
    if not isinstance(weights, torch.Tensor):
        weights = torch.as_tensor(weights, dtype=torch.float64)
    if weights.is_complex():
        raise TypeError(
            f"mode weights are powers [W] and must be real, got {weights.dtype}; "
            f"pass weights.abs() if they are complex by mistake"
        )
    if weights.ndim not in (1, 2) or weights.shape[0] == 0:
        raise ValueError(
            f"mode weights must have shape (M,) or (M, W) with M >= 1, got {tuple(weights.shape)}"
        )
    if num_modes is not None and weights.shape[0] != num_modes:
        raise ValueError(
            f"there are {weights.shape[0]} mode weights for {num_modes} modes; give one "
            f"weight per mode (the mode axis)"
        )
    w = weights.detach()
    bad = ~torch.isfinite(w)
    if bool(bad.any()):
        i = tuple(int(v) for v in bad.nonzero()[0])
        raise ValueError(
            f"mode weight {i} is {w[i].item()!r}: weights must be finite; check the source "
            f"(a NaN often comes from a zero total power)"
        )
    neg = w < 0
    if bool(neg.any()):
        i = tuple(int(v) for v in neg.nonzero()[0])
        raise ValueError(
            f"mode weight {i} is {w[i].item()!r} < 0: weights are the powers [W] of incoherent "
            f"modes and must be >= 0; a negative weight means the decomposition is wrong "
            f"(clip tiny negative eigenvalues to 0, or drop the mode)"
        )
    return weights


def mode_intensity(fields: torch.Tensor, weights: torch.Tensor, *, dim: int = 0) -> torch.Tensor:
    """Intensity of partially coherent light: ``sum_m weights[m] |fields[m]|^2``.

    Args:
        fields: complex ``(..., ny, nx)`` with the mode axis at ``dim`` (counted from the
            front, default 0); with ``weights`` of shape ``(M, W)`` the field carries a
            wavelength axis just before ``(ny, nx)`` (the polychromatic layout) and that
            axis is summed too (a camera integrates over the spectrum).
        weights: real ``(M,)`` or ``(M, W)``, >= 0 [W per unit-power mode].

    Returns:
        real ``fields.shape`` without the mode axis (and without the wavelength axis when
        ``weights`` is 2-D).
    """
    weights = check_mode_weights(weights)
    if dim < 0 or dim >= fields.ndim - 2:
        raise ValueError(
            f"dim must count from the front and name a batch axis of fields "
            f"{tuple(fields.shape)}, got {dim}"
        )
    if fields.shape[dim] != weights.shape[0]:
        raise ValueError(
            f"fields have {fields.shape[dim]} modes on axis {dim} but there are "
            f"{weights.shape[0]} weights"
        )
    I = fields.real**2 + fields.imag**2
    shape = [1] * fields.ndim
    shape[dim] = weights.shape[0]
    dims = [dim]
    if weights.ndim == 2:
        wl_axis = fields.ndim - 3
        if wl_axis == dim or fields.shape[wl_axis] != weights.shape[1]:
            raise ValueError(
                f"weights {tuple(weights.shape)} have a wavelength axis of {weights.shape[1]}, "
                f"but fields {tuple(fields.shape)} have no matching axis just before (ny, nx)"
            )
        shape[wl_axis] = weights.shape[1]
        dims.append(wl_axis)
    return (I * weights.to(I.dtype).reshape(shape)).sum(dims)


class CompressedModes(NamedTuple):
    """Result of :func:`compress_modes`.

    fields: complex ``(K, ny, nx)``, mutually orthogonal, zero outside the support, each
    of norm ``sum |u|^2 * pixel_area = 1``. weights: real ``(K,)``, >= 0, decreasing.
    omitted: the fraction of the power in the support that the dropped modes carry
    (``<=`` the requested ``omitted``).
    """

    fields: torch.Tensor
    weights: torch.Tensor
    omitted: float


def compress_modes(
    fields: torch.Tensor,
    weights: torch.Tensor,
    *,
    support: torch.Tensor | None = None,
    omitted: float = 1e-3,
    pixel_area: float = 1.0,
) -> CompressedModes:
    """The fewest coherent modes that represent a mode set on a support (Karhunen-Loeve).

    The cross-spectral density of the light on the support,
    ``W(r1, r2) = sum_m weights[m] fields[m](r1) conj(fields[m](r2))`` for ``r1, r2`` in
    the support, is diagonalised: with ``A`` the ``(M, P)`` matrix of rows
    ``sqrt(weights[m]) fields[m]`` on the ``P`` support pixels and its SVD
    ``A = U S V^H``, ``W = sum_k s_k^2 conj(v_k) v_k^T`` summed over pixels, so the new
    modes are the rows of ``V^H`` (the coherent modes of ``W``) with weights ``s_k^2``.
    The fewest leading modes are kept whose dropped weights sum to at most ``omitted``
    times the total (the power in the support). Use it when only the light on a support
    matters (an object or aperture that is opaque elsewhere): a source's own mode set is
    often far larger than the number of modes the support can tell apart.

    Bound: for any linear map ``T`` of the support's pixels (a matrix with rows ``t_j``,
    one per output pixel) the detected intensity of the kept modes, ``sum_k w_k |T u_k|^2``,
    falls short of the uncompressed ``sum_m weights[m] |T (fields[m] on the support)|^2``
    by the dropped modes' share, which at every output pixel is >= 0 and at most
    ``||t_j||^2 * D / pixel_area`` (``D = omitted * total``: the dropped power, ``total =
    pixel_area * sum_m weights[m] * sum_support |fields[m]|^2``), and in total at most
    ``||T||_2^2 * D / pixel_area``.

    Args:
        fields: complex ``(M, ny, nx)`` modes (any normalisation: the weights carry the
            power; with unit-power modes, ``sum |u|^2 * pixel_area = 1``, and weights in
            W the result is in the same units).
        weights: real ``(M,)``, finite and >= 0.
        support: boolean ``(ny, nx)``, ``True`` where the light matters; ``None``: the
            whole grid.
        omitted: largest fraction of the power in the support the kept modes may leave
            out, in ``[0, 1)`` (0 keeps every mode of non-zero weight).
        pixel_area: area of a pixel [m^2] (``grid.pixel_area``) for unit-power output
            modes; the default 1 makes them orthonormal as pixel vectors.

    Returns:
        :class:`CompressedModes` ``(fields (K, ny, nx), weights (K,), omitted)`` with
        ``K <= min(M, P)``; fields in the input's complex dtype, weights in its real
        dtype. Computed in complex128 and without gradients (a preprocessing step: the
        SVD's gradient is undefined for the degenerate weights of symmetric sources).
    """
    if not isinstance(fields, torch.Tensor) or fields.ndim != 3 or fields.shape[0] == 0:
        shape = tuple(fields.shape) if isinstance(fields, torch.Tensor) else type(fields).__name__
        raise ValueError(
            f"fields must be a tensor of shape (M, ny, nx) with M >= 1 modes, got {shape}; "
            f"for a spectrum compress each wavelength's modes separately"
        )
    weights = check_mode_weights(weights, fields.shape[0])
    if weights.ndim != 1:
        raise ValueError(
            f"weights must have shape (M,) = ({fields.shape[0]},), got {tuple(weights.shape)}; "
            f"for a spectrum compress each wavelength's modes separately"
        )
    if isinstance(omitted, bool) or not isinstance(omitted, (int, float)):
        raise TypeError(f"omitted must be a float in [0, 1), got {omitted!r}")
    if not 0 <= omitted < 1:
        raise ValueError(
            f"omitted is the fraction of the power in the support the kept modes may leave "
            f"out and must lie in [0, 1), got {omitted!r} (e.g. omitted=0.01)"
        )
    dA = positive_float(pixel_area, "pixel_area")
    ny, nx = fields.shape[-2:]
    if support is None:
        support = torch.ones(ny, nx, dtype=torch.bool, device=fields.device)
    if not isinstance(support, torch.Tensor) or support.dtype != torch.bool:
        raise TypeError(
            f"support must be a boolean tensor of shape ({ny}, {nx}) (True where the light "
            f"matters), got {getattr(support, 'dtype', type(support).__name__)}"
        )
    if tuple(support.shape) != (ny, nx):
        raise ValueError(
            f"support has shape {tuple(support.shape)} but the fields are {ny} x {nx}; give a "
            f"boolean mask of the fields' grid"
        )
    if not bool(support.any()):
        raise ValueError("support is empty (all False): it must hold at least one pixel")
    cdtype = fields.dtype if fields.is_complex() else torch.complex64
    rdtype = torch.float64 if cdtype == torch.complex128 else torch.float32
    with torch.no_grad():
        a = fields.detach().to(torch.complex128)[:, support]  # (M, P), row-major pixels
        a = a * weights.detach().to(a.device, torch.float64).sqrt()[:, None]
        _, s, vh = torch.linalg.svd(a, full_matrices=False)
        e = s**2
        total = e.sum()
        if not total > 0:
            raise ValueError(
                "the modes carry no power on the support (all weights or all fields are zero "
                "there); nothing to compress"
            )
        tail = torch.flip(torch.cumsum(torch.flip(e, [0]), 0), [0]) / total  # dropped if k kept
        k = max(1, int((tail > omitted).sum()))
        dropped = float(tail[k]) if k < len(e) else 0.0
        out = torch.zeros(k, ny, nx, dtype=torch.complex128, device=a.device)
        out[:, support] = vh[:k] / math.sqrt(dA)
        return CompressedModes(out.to(cdtype), (e[:k] * dA).to(rdtype), dropped)


def gaussian_spectrum(center: float, fwhm: float, num: int = 5):
    """A Gaussian source spectrum sampled at ``num`` wavelengths (e.g. an LED).

    Wavelengths are spaced evenly over ``center +- fwhm`` (two FWHM wide: 98% of the
    power) and the weights follow ``exp(-4 ln2 (lam - center)^2 / fwhm^2)``, normalised
    to sum 1 (a midpoint rule in wavelength).

    Returns:
        ``(wavelengths, weights)``: tuples of ``num`` floats [m] and [1].
    """
    lam0 = positive_float(center, "center")
    fw = positive_float(fwhm, "fwhm")
    if fw >= lam0:
        raise ValueError(f"fwhm ({fw!r} m) must be smaller than the center wavelength ({lam0!r} m)")
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ValueError(f"num must be an int >= 1, got {num!r}")
    if num == 1:
        return (lam0,), (1.0,)
    lams = [lam0 - fw + 2 * fw * i / (num - 1) for i in range(num)]
    raw = [math.exp(-4 * math.log(2) * (lam - lam0) ** 2 / fw**2) for lam in lams]
    s = sum(raw)
    return tuple(lams), tuple(r / s for r in raw)
