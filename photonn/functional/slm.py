"""Spatial-light-modulator physics as pure functions.

* Look-up table (LUT): ``lut[g]`` is the phase [rad] shown at gray level ``g``
  (``0 <= g < 2**bits``). The default is linear, ``lut[g] = max_phase * g / L``
  with ``L = 2**bits``: the ``L`` levels span the stroke ``max_phase`` (the usual
  calibration of a phase SLM maps its gray levels onto ``2 pi`` this way, so that
  all ``L`` levels are distinct modulo ``2 pi``).
* Quantisation: a continuous target phase goes to the gray level whose LUT
  phase is nearest on the circle (modulo ``2 pi``). The straight-through
  estimator (STE) passes the gradient of the quantised phase unchanged to the
  target phase.
* Fill factor: the fraction ``ff`` of a pixel's area that modulates. Either
  resolved on a finer simulation grid (each pixel ``s x s`` samples, its
  central ``a x a`` modulate, ``a = round(sqrt(ff) s)``, the gap passes light
  unmodulated), or, on a grid of one sample per pixel, as the pixel-averaged
  (zero-order) transmission ``ff exp(i phi) + (1 - ff)``.
* Crosstalk (fringing fields): the displayed phase is smoothed by a small,
  normalised convolution kernel over neighbouring pixels, applied to the
  phases as displayed (``lut[g]``, not wrapped), as the liquid crystal
  smooths the drive voltages.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .._checks import fraction, positive_float, positive_int

__all__ = [
    "linear_lut",
    "uniform_levels",
    "nearest_level",
    "quantize_phase",
    "quantize_phase_ste",
    "effective_fill_transmission",
    "pixelate",
    "fill_width",
    "crosstalk_kernel",
    "apply_crosstalk",
]

TWO_PI = 2.0 * math.pi


def linear_lut(bits: int, max_phase: float = TWO_PI, *, dtype=torch.float64, device=None):
    """Linear phase-vs-gray table ``max_phase * g / 2**bits``, shape ``(2**bits,)`` [rad]."""
    b = positive_int(bits, "bits")
    if b > 16:
        raise ValueError(f"bits must be <= 16, got {bits}")
    m = positive_float(max_phase, "max_phase")
    L = 2**b
    return torch.arange(L, dtype=dtype, device=device) * (m / L)


def uniform_levels(bits: int, *, dtype=torch.float64, device=None):
    """``2**bits`` phases equally spaced on the circle, ``2 pi g / 2**bits`` [rad]."""
    return linear_lut(bits, TWO_PI, dtype=dtype, device=device)


def nearest_level(phase: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Index of the level nearest to each phase on the circle (modulo ``2 pi``).

    Args:
        phase: real tensor of any shape [rad], any value.
        levels: real ``(L,)`` level phases [rad] (any order, any range).

    Returns:
        int64 tensor of ``phase``'s shape, values in ``[0, L)``. Vectorised
        (sort + bucketize, ``O(n log L)``), no host synchronisation.
    """
    if levels.ndim != 1 or levels.numel() == 0:
        raise ValueError(f"levels must be a non-empty 1-D tensor, got shape {tuple(levels.shape)}")
    lv = torch.remainder(levels.to(phase.dtype), TWO_PI)
    s, order = torch.sort(lv)
    ext = torch.cat([s[-1:] - TWO_PI, s, s[:1] + TWO_PI])
    ext_idx = torch.cat([order[-1:], order, order[:1]])
    w = torch.remainder(phase.detach(), TWO_PI)
    i = torch.bucketize(w, ext).clamp(1, ext.numel() - 1)
    lo, hi = ext[i - 1], ext[i]
    take_hi = (hi - w) < (w - lo)
    return torch.where(take_hi, ext_idx[i], ext_idx[i - 1])


def quantize_phase(phase: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """The level phase nearest to ``phase`` on the circle (no gradient)."""
    return levels.to(phase.dtype)[nearest_level(phase, levels)]


class _STE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, phase, levels):
        return levels.to(phase.dtype)[nearest_level(phase, levels)]

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def quantize_phase_ste(phase: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """:func:`quantize_phase` with a straight-through gradient (identity backward)."""
    return _STE.apply(phase, levels)


def effective_fill_transmission(phase: torch.Tensor, fill_factor: float) -> torch.Tensor:
    """Pixel-averaged transmission ``ff exp(i phase) + (1 - ff)`` (the zero diffraction order).

    The inter-pixel gap (area fraction ``1 - ff``) passes light unmodulated.
    Valid when the higher orders of the pixel grating leave the system.
    """
    return _fill_transmission(phase, fraction(fill_factor, "fill_factor"))


def _fill_transmission(phase: torch.Tensor, ff: float) -> torch.Tensor:
    return _pixelate_transmission(torch.polar(torch.ones_like(phase), phase), 1, ff)


def fill_width(fill_factor: float, oversample: int) -> int:
    """Modulating width ``a = round(sqrt(ff) s)`` (>= 1) samples of an ``s``-sample pixel."""
    ff = fraction(fill_factor, "fill_factor (an area fraction)")
    return _fill_width(ff, positive_int(oversample, "oversample"))


def _fill_width(ff: float, s: int) -> int:
    return max(1, min(s, round(math.sqrt(ff) * s)))


def pixelate(phase: torch.Tensor, oversample: int, fill_factor: float = 1.0) -> torch.Tensor:
    """Complex transmission of an SLM on a grid ``oversample`` times finer than its pixels.

    Each pixel becomes ``s x s`` samples (``s = oversample``); its central
    ``a x a`` samples (:func:`fill_width`) carry ``exp(i phase)``, the gap
    carries 1 (unmodulated). With ``s == 1`` this falls back to
    :func:`effective_fill_transmission`.

    Args:
        phase: real ``(..., py, px)`` pixel phases [rad].

    Returns:
        complex ``(..., py * s, px * s)``.
    """
    s = positive_int(oversample, "oversample")
    return _pixelate(phase, s, fraction(fill_factor, "fill_factor (an area fraction)"))


def _pixelate(phase: torch.Tensor, s: int, ff: float) -> torch.Tensor:
    """:func:`pixelate` of checked arguments."""
    return _pixelate_transmission(torch.polar(torch.ones_like(phase), phase), s, ff)


def _pixelate_transmission(t: torch.Tensor, s: int, ff: float) -> torch.Tensor:
    """:func:`pixelate` of the pixels' complex transmissions ``t`` ``(..., py, px)``
    (``exp(i phase)``, or a quantiser's value) instead of their phases."""
    if s == 1:
        return t if ff == 1.0 else ff * t + (1.0 - ff)
    a = _fill_width(ff, s)
    t = t.repeat_interleave(s, dim=-2).repeat_interleave(s, dim=-1)
    if a == s:
        return t
    lo = (s - a) // 2
    cell = torch.zeros(s, dtype=t.real.dtype, device=t.device)
    cell[lo : lo + a] = 1.0
    py, px = t.shape[-2] // s, t.shape[-1] // s
    my = cell.repeat(py)
    mx = cell.repeat(px)
    aperture = my[:, None] * mx[None, :]
    return aperture * t + (1.0 - aperture)


def crosstalk_kernel(coupling: float, *, dtype=torch.float64, device=None) -> torch.Tensor:
    """Nearest-neighbour kernel ``[[0, c, 0], [c, 1 - 4c, c], [0, c, 0]]`` (sums to 1).

    ``coupling`` ``c`` in ``[0, 0.25)`` is the fraction of a pixel's phase seen by each
    of its four neighbours.
    """
    if isinstance(coupling, bool) or not isinstance(coupling, (int, float)):
        raise TypeError(f"coupling must be a real number, got {type(coupling).__name__}")
    c = float(coupling)
    if not (0.0 <= c < 0.25):
        raise ValueError(f"coupling must be in [0, 0.25), got {coupling!r}")
    k = torch.zeros(3, 3, dtype=dtype, device=device)
    k[1, 1] = 1.0 - 4.0 * c
    k[0, 1] = k[2, 1] = k[1, 0] = k[1, 2] = c
    return k


def apply_crosstalk(phase: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Convolve real pixel phases ``(..., py, px)`` with an odd ``(ky, kx)`` kernel.

    Edges are replicated (a border pixel's missing neighbours show its own
    value), so a uniform phase stays uniform when the kernel sums to 1.
    """
    return _convolve(phase, check_kernel(kernel))


def check_kernel(kernel: torch.Tensor, name: str = "kernel") -> torch.Tensor:
    """A crosstalk kernel: 2-D, odd-sized."""
    if kernel.ndim != 2 or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
        raise ValueError(
            f"{name} must be 2-D with odd sizes (centred on the pixel), got shape "
            f"{tuple(kernel.shape)}"
        )
    return kernel


def _convolve(phase: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """:func:`apply_crosstalk` with a checked kernel."""
    ky, kx = kernel.shape
    if ky == 1 and kx == 1:
        return phase * kernel[0, 0].to(phase.dtype)
    lead = phase.shape[:-2]
    x = phase.reshape(-1, 1, *phase.shape[-2:])
    x = F.pad(x, (kx // 2, kx // 2, ky // 2, ky // 2), mode="replicate")
    y = F.conv2d(x, kernel.flip(-2, -1).to(phase.dtype)[None, None])  # true convolution
    return y.reshape(*lead, *phase.shape[-2:])
