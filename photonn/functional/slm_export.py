"""Phase masks to SLM gray levels and back, as pure functions (the math of ``photonn.export``).

* Placement: a mask of ``n`` neurons at pitch ``p_n`` goes onto a panel of ``N``
  pixels at pitch ``p_p <= p_n``. The optical axis passes through neuron
  ``n // 2`` and through pixel ``N // 2`` (docs/architecture.md#physical-conventions).
  Each pixel shows the neuron whose cell ``[x_i - p_n / 2, x_i + p_n / 2)`` contains the
  pixel centre (nearest-neighbour resampling; phases are never blended, a blend of wrapped
  phases is wrong across a 2 pi jump). With ``k = p_n / p_p`` an integer every
  neuron is exactly ``k x k`` pixels; otherwise neurons cover ``floor(k)`` or
  ``ceil(k)`` pixels per axis. The pixels outside the mask show a fill phase.
* Phase to gray: the target phase (plus an optional wavefront-correction phase)
  is wrapped into the look-up table's first period ``[lut[0], lut[0] + 2 pi)``,
  and the gray level whose table phase is nearest on the circle is chosen among
  the levels of that period (levels past ``lut[0] + 2 pi`` repeat a phase and are
  not used). A table spanning less than ``2 pi`` leaves a gap; targets in it go
  to the nearer edge (gray 0 or the last level): those pixels are *clipped*.
* Phase error: ``wrap(realised - target)`` into ``[-pi, pi)``.

All phases are in radians, tensors float64 unless stated.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "TWO_PI",
    "panel_index",
    "neuron_centre_pixels",
    "place_on_panel",
    "resample_lut",
    "first_period",
    "phase_to_gray",
    "gray_to_phase",
    "phase_error",
    "clipped",
]

TWO_PI = 2.0 * math.pi


def _ratio(neuron_pitch: float, pixel_pitch: float) -> tuple[float, int | None]:
    """``(k, k_int)``: pixels per neuron, and that integer when it is one (1e-9 relative)."""
    if not (neuron_pitch > 0 and pixel_pitch > 0):
        raise ValueError(f"pitches must be > 0 [m], got {neuron_pitch!r} and {pixel_pitch!r}")
    k = neuron_pitch / pixel_pitch
    ki = round(k)
    return k, (ki if ki >= 1 and abs(k - ki) <= 1e-9 * k else None)


def panel_index(n: int, neuron_pitch: float, n_pixels: int, pixel_pitch: float) -> torch.Tensor:
    """Neuron shown on each pixel of one panel axis, int64 ``(n_pixels,)``; ``-1`` outside.

    Pixel ``j`` (centre ``(j - n_pixels // 2) p_p``) shows neuron
    ``i = floor((j - n_pixels // 2) / k + 1/2) + n // 2`` with ``k = p_n / p_p``, when
    ``0 <= i < n``. For an integer ``k`` this is computed in integers (exact).
    """
    k, ki = _ratio(neuron_pitch, pixel_pitch)
    d = torch.arange(n_pixels, dtype=torch.int64) - n_pixels // 2
    if ki is not None:
        i = torch.div(2 * d + ki, 2 * ki, rounding_mode="floor") + n // 2
    else:
        i = torch.floor(d.to(torch.float64) / k + 0.5).to(torch.int64) + n // 2
    return torch.where((i >= 0) & (i < n), i, torch.full_like(i, -1))


def neuron_centre_pixels(
    n: int, neuron_pitch: float, n_pixels: int, pixel_pitch: float
) -> torch.Tensor:
    """The pixel under each neuron's centre, int64 ``(n,)`` (the pixel a reader samples).

    ``j = n_pixels // 2 + round((i - n // 2) k)`` (ties rounded up); that pixel shows
    neuron ``i`` whenever ``k >= 1``.
    """
    k, ki = _ratio(neuron_pitch, pixel_pitch)
    d = torch.arange(n, dtype=torch.int64) - n // 2
    j = d * ki if ki is not None else torch.floor(d.to(torch.float64) * k + 0.5).to(torch.int64)
    return j + n_pixels // 2


def place_on_panel(
    phase: torch.Tensor,
    neuron_pitch: tuple[float, float],
    pixel_pitch: float,
    resolution: tuple[int, int],
    fill_phase: float = 0.0,
) -> torch.Tensor:
    """A ``(ny, nx)`` mask on a ``(Ny, Nx)`` panel, centred, padded with ``fill_phase``.

    Args:
        phase: real ``(ny, nx)`` [rad].
        neuron_pitch: ``(dy, dx)`` [m] of the mask.
        pixel_pitch: [m] of the panel (square pixels).
        resolution: ``(Ny, Nx)`` pixels.
        fill_phase: [rad] shown outside the mask.

    Returns:
        real ``(Ny, Nx)`` (``phase``'s dtype). The caller checks that the mask fits
        (see :func:`panel_index`: a neuron cut off by the panel edge is lost).
    """
    if phase.ndim != 2:
        raise ValueError(f"phase must be (ny, nx), got shape {tuple(phase.shape)}")
    ny, nx = phase.shape
    iy = panel_index(ny, neuron_pitch[0], resolution[0], pixel_pitch)
    ix = panel_index(nx, neuron_pitch[1], resolution[1], pixel_pitch)
    inside = (iy >= 0)[:, None] & (ix >= 0)[None, :]
    picked = phase[iy.clamp(min=0)][:, ix.clamp(min=0)]
    return torch.where(inside, picked, torch.full_like(picked, float(fill_phase)))


def resample_lut(lut: torch.Tensor, bits: int) -> torch.Tensor:
    """A ``2**bits``-level table over the same drive range as ``lut`` (``2**b`` levels).

    Gray level ``g`` of the new table drives the panel at the fraction
    ``g / 2**bits`` of full scale, i.e. at old level ``g 2**b / 2**bits``; its phase
    is interpolated linearly between the old levels (extrapolated on the last
    step). A linear table stays exactly linear; ``bits == b`` returns ``lut``.
    """
    if lut.ndim != 1 or lut.numel() < 2:
        raise ValueError(f"lut must be 1-D with >= 2 levels, got shape {tuple(lut.shape)}")
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 16:
        raise ValueError(f"bits must be an integer in [1, 16], got {bits!r}")
    n_old, n_new = lut.numel(), 2**bits
    if n_new == n_old:
        return lut
    lut = lut.to(torch.float64)
    x = torch.arange(n_new, dtype=torch.float64) * (n_old / n_new)
    i = x.floor().to(torch.int64).clamp(max=n_old - 2)
    t = x - i
    return lut[i] + t * (lut[i + 1] - lut[i])


def first_period(lut: torch.Tensor) -> torch.Tensor:
    """Bool ``(L,)``: the levels a target is mapped to, ``lut[g] - lut[0]`` in ``[0, 2 pi)``.

    A monotone table reaching past ``lut[0] + 2 pi`` repeats phases there; those
    levels are left out so that the inversion is one-to-one.
    """
    rel = lut - lut[0]
    return (rel >= 0) & (rel < TWO_PI * (1 - 1e-12))


def phase_to_gray(
    phase: torch.Tensor, lut: torch.Tensor, correction: torch.Tensor | None = None
) -> torch.Tensor:
    """Gray level ``(...)`` int64 whose table phase is nearest to ``phase (+ correction)``.

    Args:
        phase: real ``(...)`` target phase [rad], any value (wrapped here).
        lut: real ``(L,)`` phase [rad] shown at each gray level (at the operating
            wavelength), any shape of response; only :func:`first_period` levels are used.
        correction: optional real, broadcastable to ``phase``: a wavefront-correction
            phase [rad] added before wrapping (the panel then shows ``phase + correction``).

    Returns:
        int64 of ``phase``'s shape in ``[0, L)``. Vectorised (sort + bucketize).
    """
    lut = lut.to(torch.float64)
    p = phase.to(torch.float64)
    if correction is not None:
        p = p + correction.to(torch.float64)
    usable = torch.nonzero(first_period(lut)).reshape(-1)
    levels = lut[usable] - lut[0]
    s, order = torch.sort(levels)
    ext = torch.cat([s[-1:] - TWO_PI, s, s[:1] + TWO_PI])
    ext_idx = torch.cat([order[-1:], order, order[:1]])
    w = torch.remainder(p - lut[0], TWO_PI)
    i = torch.bucketize(w, ext).clamp(1, ext.numel() - 1)
    take_hi = (ext[i] - w) < (w - ext[i - 1])
    return usable[torch.where(take_hi, ext_idx[i], ext_idx[i - 1])]


def gray_to_phase(
    gray: torch.Tensor, lut: torch.Tensor, correction: torch.Tensor | None = None
) -> torch.Tensor:
    """Phase [rad] the light sees: ``lut[gray] - correction`` (float64, ``gray``'s shape).

    The correction compensates an aberration of the panel, so it is subtracted
    again: the light sees the intended phase up to quantisation.
    """
    phi = lut.to(torch.float64)[gray.to(torch.int64)]
    if correction is not None:
        phi = phi - correction.to(torch.float64)
    return phi


def phase_error(realised: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``realised - target`` wrapped into ``[-pi, pi)`` [rad]."""
    return torch.remainder(realised - target + math.pi, TWO_PI) - math.pi


def clipped(
    phase: torch.Tensor, lut: torch.Tensor, correction: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Bool masks ``(low, high)`` of the targets the panel's stroke cannot reach, ``phase``'s shape.

    A target (wrapped into ``[lut[0], lut[0] + 2 pi)``) in the gap above the last
    usable level is shown as gray 0 (``low``, the table's lower edge) or as the
    last usable level (``high``), whichever is nearer on the circle. It counts as
    clipped when that error exceeds half the largest step between neighbouring
    levels: a table spanning the full circle (``2 pi (L - 1) / L`` for ``L``
    linear levels) clips nothing.
    """
    lut = lut.to(torch.float64)
    p = phase.to(torch.float64)
    if correction is not None:
        p = p + correction.to(torch.float64)
    levels = torch.sort(lut[first_period(lut)] - lut[0]).values
    top = float(levels[-1])
    half = 0.5 * float(torch.diff(levels).max()) if levels.numel() > 1 else 0.0
    w = torch.remainder(p - lut[0], TWO_PI)
    gap = w > top + half
    from_top, to_circle = w - top, TWO_PI - w
    far = torch.minimum(from_top, to_circle) > half
    nearer_high = from_top <= to_circle
    return gap & far & ~nearer_high, gap & far & nearer_high
