"""Sampling analysis of a propagation step: padding, light cone, aliasing.

Conventions (per transverse axis, pitch ``d``, ``n`` samples, padded to ``N``):

* The grid carries angles up to ``sin(theta_max) = lambda / (2 d)`` (its
  Nyquist frequency). Over a distance ``z`` that light spreads sideways by
  ``z * tan(theta_max)`` (paraxial methods: ``lambda z / (2 d)``): the light cone.
* A zero-padded FFT convolution of an ``n``-sample field on ``N`` samples is
  free of wrap-around for spreads up to ``(N - n) d``; its transfer function
  is sampled finely enough (no aliasing) for spreads up to ``N d / 2``.
* The transfer function (TF) aliases beyond the critical distance ``z_c``
  where the light cone reaches ``N d / 2`` (for Fresnel, ``z_c = N d^2 / lambda``);
  an untruncated impulse response (IR) aliases below it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .fourier import ceil_int, fast_size

__all__ = [
    "METHODS",
    "SamplingReport",
    "light_cone",
    "light_cone_size",
    "padded_shape",
    "sampling_report",
    "allowed_spread",
]

METHODS = ("asm", "bl-asm", "fresnel", "fresnel-ir", "rs", "fraunhofer")
PARAXIAL = ("fresnel", "fresnel-ir")


def _tan_max(wavelength: float, pitch: float, paraxial: bool) -> float:
    s = wavelength / (2.0 * pitch)
    if paraxial:
        return s
    if s >= 1.0:
        return math.inf
    return s / math.sqrt(1.0 - s * s)


def light_cone(wavelength: float, pitch: float, distance: float, method: str) -> float:
    """One-sided lateral spread [m] of the grid's steepest ray over ``|distance|``."""
    t = _tan_max(wavelength, pitch, method in PARAXIAL)
    if distance == 0:
        return 0.0
    return abs(distance) * t


def allowed_spread(n: int, N: int, pitch: float) -> float:
    """Largest one-sided spread [m] that an ``N``-point FFT convolution of ``n`` samples resolves.

    With padding (``N > n``) it is ``min(N d / 2, (N - n) d)``; without (periodic
    boundaries) it is ``N d / 2``.
    """
    if N > n:
        return min(N * pitch / 2.0, (N - n) * pitch)
    return N * pitch / 2.0


def padded_shape(
    shape,
    spacing,
    wavelength_max: float,
    distance: float,
    method: str,
    pad_factor: float,
    trim: bool = True,
) -> tuple[int, int]:
    """FFT shape ``(Ny, Nx)`` for a propagation step.

    ``pad_factor`` is the most padding used: ``ceil(pad_factor * n)`` per axis.
    With ``trim`` (the default), each axis is padded only to the light-cone size
    :func:`light_cone_size`, the smallest size that :func:`sampling_report` accepts,
    when that is less. Sizes are rounded up to a 2-3-5-7-smooth FFT size.
    ``pad_factor == 1`` means no padding (periodic boundaries).

    A ``pad_factor`` above ``light_cone_size / n`` changes nothing under ``trim``:
    pad further with ``trim=False``. With ``pad_factor <= 2`` the shape is the same
    as padding to ``n + 1 + s`` only (the second condition of the light-cone size
    binds only when ``s > n``, where the cap ``2 n`` is already below both).

    The light-cone size is exact for fields whose angular spectrum vanishes near the
    grid's Nyquist band edge (smooth fields). The sampled transfer function's kernel
    has tails beyond the light cone (from the band edge), so hard-edged fields keep a
    wrap-around error that decreases only slowly with the padded size (measured in
    ``tests/physics/test_hard_edge_padding.py``).
    """
    out = []
    for n, d in zip(shape, spacing):
        cap = ceil_int(pad_factor * n)
        if cap <= n:
            out.append(n)
            continue
        if method == "fraunhofer" or not trim:
            out.append(cap)
            continue
        need = light_cone_size(n, d, wavelength_max, distance, method)
        out.append(fast_size(min(need, cap)) if need is not None else cap)
    return tuple(out)


def light_cone_size(n: int, pitch: float, wavelength: float, distance: float, method: str):
    """Smallest padded size (samples) of an ``n``-sample axis that holds the light cone.

    Both conditions of :func:`allowed_spread`: the spread ``s`` (in samples) fits the
    zero padding (``N >= n + 1 + s``, no wrap-around on the window) and the transfer
    function resolves it (``N >= 2 s``). ``None`` when the light cone is unbounded.
    """
    spread = light_cone(wavelength, pitch, distance, method)
    if not math.isfinite(spread):
        return None
    s = spread / pitch
    return max(n + 1 + ceil_int(s), ceil_int(2.0 * s))


@dataclass(frozen=True)
class SamplingReport:
    """Whether a propagation step is adequately sampled.

    Attributes:
        method: the propagation method.
        padded_shape: FFT shape ``(Ny, Nx)`` used.
        light_cone: one-sided spread ``(y, x)`` [m] of the grid's steepest ray.
        allowed_spread: one-sided spread ``(y, x)`` [m] the padded window resolves.
        critical_distance: distance [m] at which the transfer function starts to
            alias (and an untruncated impulse response stops aliasing); the
            smaller of the two axes.
        transfer_function_aliases: ``|z| > critical_distance``.
        impulse_response_aliases: ``|z| < critical_distance``.
        wraps: on a padded axis, the light cone is wider than the padded
            window, so steep light wraps around (transfer-function methods) or is
            cut (impulse-response methods). Axes without padding
            (``pad_factor == 1``) are periodic by choice and never flagged, nor
            is "bl-asm", whose band limit keeps only the angles that fit.
        aliases: whether *this method's* result is corrupted by sampling. For
            the padded convolution methods ("asm", "fresnel", "fresnel-ir",
            "rs") this is ``wraps``: with ``N >= n + spread`` the periodised
            kernel equals the true one on every offset the window uses, so the
            classic TF criterion (``transfer_function_aliases``) does no harm,
            and photonn truncates impulse responses to the light cone, which
            removes IR aliasing. Never for "bl-asm" (it band-limits instead,
            see ``band_fraction``) nor "fraunhofer".
        band_fraction: for "bl-asm", the fraction ``(y, x)`` of the Nyquist band
            kept by the band limit; 1.0 otherwise.
        advice: what removes ``wraps``: the smallest ``pad_factor`` that reaches
            :func:`light_cone_size` (with ``trim`` or without), or
            ``method='bl-asm'``. Empty when nothing wraps.
    """

    method: str
    wavelength: float
    distance: float
    padded_shape: tuple[int, int]
    light_cone: tuple[float, float]
    allowed_spread: tuple[float, float]
    critical_distance: float
    transfer_function_aliases: bool
    impulse_response_aliases: bool
    wraps: bool
    aliases: bool
    band_fraction: tuple[float, float]
    advice: str = ""

    def __str__(self) -> str:
        lines = [
            f"method={self.method} wavelength={self.wavelength:.6g} m "
            f"distance={self.distance:.6g} m",
            f"  FFT shape {self.padded_shape}; light cone (y, x) = "
            f"({self.light_cone[0]:.4g}, {self.light_cone[1]:.4g}) m; "
            f"window resolves ({self.allowed_spread[0]:.4g}, {self.allowed_spread[1]:.4g}) m",
            f"  critical distance {self.critical_distance:.6g} m: transfer function "
            f"{'ALIASES' if self.transfer_function_aliases else 'ok'}, impulse response "
            f"{'ALIASES' if self.impulse_response_aliases else 'ok'}",
        ]
        if self.wraps:
            lines.append(f"  light cone exceeds the padded window: {self.advice}")
        if self.method == "bl-asm":
            lines.append(f"  band limit keeps {self.band_fraction} of the Nyquist band")
        lines.append(f"  => {'ALIASES' if self.aliases else 'adequately sampled'}")
        return "\n".join(lines)


def bl_asm_limit(wavelength: float, distance: float, n: int, N: int, pitch: float) -> float:
    """Band limit [1/m] of the band-limited ASM (Matsushima & Shimobaba 2009).

    Keeps the frequencies whose ray spread ``|z| tan(theta)`` fits the window
    (``allowed_spread``); with a 2x pad this is their
    ``u_limit = 1 / (lambda sqrt((2 du z)^2 + 1))``, ``du = 1 / (N d)``.
    """
    s = allowed_spread(n, N, pitch)
    if distance == 0:
        return math.inf
    return 1.0 / (wavelength * math.sqrt(1.0 + (distance / s) ** 2))


def sampling_report(
    grid, wavelength, distance, method: str = "asm", pad_factor: float = 2.0, trim: bool = True
) -> SamplingReport:
    """Sampling analysis for ``(grid, wavelength, distance, method)``.

    ``wavelength`` may be a sequence; the longest one (widest light cone) is analysed.
    """
    from .._checks import check_pad_factor, finite_float, one_of, positive_floats

    one_of(method, METHODS, "method")
    lam = max(positive_floats(wavelength, "wavelength"))
    return _report(
        grid, lam, finite_float(distance, "distance"), method, check_pad_factor(pad_factor), trim
    )


def _report(grid, lam: float, z: float, method: str, pad_factor: float, trim: bool):
    """:func:`sampling_report` of checked arguments (``lam``: the longest wavelength)."""
    shape = padded_shape(grid.shape, grid.spacing, lam, z, method, pad_factor, trim)
    paraxial = method in PARAXIAL
    cones, allowed, zcs, band = [], [], [], []
    for n, N, d in zip(grid.shape, shape, grid.spacing):
        cone = light_cone(lam, d, z, method)
        cones.append(cone)
        allowed.append(allowed_spread(n, N, d))
        t = _tan_max(lam, d, paraxial)
        zcs.append((N * d / 2.0) / t if t > 0 else math.inf)
        if method == "bl-asm":
            band.append(min(1.0, bl_asm_limit(lam, z, n, N, d) * 2 * d))
        else:
            band.append(1.0)
    zc = min(zcs)
    tf_alias = z != 0 and any(abs(z) > zc_i for zc_i in zcs)
    ir_alias = z != 0 and any(abs(z) < zc_i for zc_i in zcs)
    # an axis without padding (pad_factor == 1) is periodic by choice: nothing wraps there;
    # the band-limited ASM keeps only the angles whose spread fits the window
    wraps = (
        z != 0
        and method != "bl-asm"
        and any(c > a for c, a, n, N in zip(cones, allowed, grid.shape, shape) if N > n)
    )
    aliases = wraps if method in ("asm", "fresnel", "fresnel-ir", "rs") else False
    advice = ""
    if wraps:
        needs = [light_cone_size(n, d, lam, z, method) for n, d in zip(grid.shape, grid.spacing)]
        if any(k is None for k in needs):
            advice = (
                "the pitch is at most half the wavelength, so the light cone is unbounded: "
                "use method='bl-asm'"
            )
        else:
            factor = max(math.ceil(1000.0 * k / n) / 1000.0 for k, n in zip(needs, grid.shape))
            advice = f"raise pad_factor to >= {factor:g}, or use method='bl-asm'"
    return SamplingReport(
        method=method,
        wavelength=lam,
        distance=z,
        padded_shape=shape,
        light_cone=tuple(cones),
        allowed_spread=tuple(allowed),
        critical_distance=zc,
        transfer_function_aliases=tf_alias,
        impulse_response_aliases=ir_alias,
        wraps=wraps,
        aliases=aliases,
        band_fraction=tuple(band),
        advice=advice,
    )
