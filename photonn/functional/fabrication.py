"""Phase masks as printed or etched relief: phase <-> height, quantisation, absorption.

Convention (pinned by tests/export/test_fabrication.py): a layer of a material of
complex index ``n + i kappa`` stands on a base plate of thickness ``base`` [m] in a
medium of index ``n_medium``; a pixel of relief height ``h`` [m] (above the base)
replaces a thickness ``h`` of medium. Relative to the bare base plate, its field is
multiplied by

    t(h) = exp(-2 pi kappa (base + h) / lambda) * exp(+i 2 pi (n - n_medium) h / lambda),

so a 2 pi phase step is ``h_2pi = lambda / (n - n_medium)``. The base plate's
absorption is one factor common to every pixel; its phase ``2 pi n base / lambda``
is a constant dropped (it changes no intensity). Reflection at the faces (Fresnel
losses), absorption in the medium and the material's dispersion across the pixel
are not modelled; the relief is thin (each pixel acts as a local phase screen).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

TWO_PI = 2.0 * math.pi

__all__ = [
    "two_pi_height",
    "phase_to_height",
    "height_to_phase",
    "height_transmission",
    "Relief",
    "relief_amplitude",
    "level_transmission_ste",
    "EDGE_FRACTION",
    "edge_offset",
    "edge_start",
]


def _positive(value, name: str, unit: str) -> float:
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0 [{unit}], got {value!r}")
    return v


def two_pi_height(wavelength: float, n: float, n_medium: float = 1.0) -> float:
    """``lambda / (n - n_medium)`` [m]: the relief height of a 2 pi phase step.

    Raises:
        ValueError: ``n <= n_medium`` (the relief would not delay the light), naming
            both and the fix.
    """
    lam = _positive(wavelength, "wavelength", "m")
    n, n_medium = float(n), float(n_medium)
    if not n > n_medium:
        raise ValueError(
            f"the material's refractive index n = {n:.6g} is not above the medium's "
            f"n_medium = {n_medium:.6g} at {lam * 1e9:.6g} nm: a relief cannot delay the light; "
            "choose a material of higher index or a medium of lower index (air: 1.0)"
        )
    return lam / (n - n_medium)


def phase_to_height(
    phase: torch.Tensor,
    wavelength: float,
    n: float,
    n_medium: float = 1.0,
    *,
    max_height: float | None = None,
    levels: int | None = None,
    resolution: float | None = None,
) -> torch.Tensor:
    """Relief heights [m] that realise ``phase`` [rad] (any shape), float64.

    The phase is wrapped into one 2 pi step, ``[0, 2 pi)`` (heights in
    ``[0, h_2pi)``), or with ``max_height`` into the largest whole number ``m`` of
    2 pi steps that fits, ``[0, 2 pi m)`` (heights below ``m h_2pi <= max_height``).

    Args:
        phase: target phase [rad].
        wavelength: [m]; ``n``, ``n_medium``: real refractive indices at it.
        max_height: the thickest relief the process makes [m] (default: one 2 pi step).
        levels: etch levels per 2 pi step: the phase is rounded to the nearest of
            ``2 pi k / levels`` on the circle (ties to the lower) before wrapping.
        resolution: the printer's vertical resolution (layer thickness) [m]: heights
            are rounded to multiples of it (after ``levels``).

    Raises:
        ValueError: ``n <= n_medium``; ``max_height`` below one 2 pi step;
            ``resolution`` coarser than a level (``h_2pi / levels``, or half a 2 pi
            step without levels); ``levels < 2``. Each names the value and the fix.
    """
    h2pi = two_pi_height(wavelength, n, n_medium)
    steps = 1
    if max_height is not None:
        hmax = _positive(max_height, "max_height", "m")
        if hmax < h2pi * (1 - 1e-12):
            raise ValueError(
                f"max_height = {hmax * 1e6:.6g} um is below one 2 pi step, h_2pi = lambda / "
                f"(n - n_medium) = {h2pi * 1e6:.6g} um: the relief cannot reach every phase; "
                f"allow at least {h2pi * 1e6:.6g} um or use a material of higher index"
            )
        steps = max(1, math.floor(hmax / h2pi * (1 + 1e-12)))
    if levels is not None:
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2:
            raise ValueError(
                f"levels must be an integer >= 2 (etch levels per 2 pi), got {levels!r}"
            )
    if resolution is not None:
        res = _positive(resolution, "resolution", "m")
        level = h2pi / levels if levels is not None else h2pi / 2
        what = f"one of {levels} levels" if levels is not None else "half a 2 pi step"
        if res > level * (1 + 1e-12):
            raise ValueError(
                f"the printer resolution {res * 1e6:.6g} um is coarser than {what} "
                f"({level * 1e6:.6g} um): the levels cannot be printed; use fewer levels, a "
                "finer printer, or a material of lower index (larger steps)"
            )
    phi = torch.as_tensor(phase, dtype=torch.float64)
    if not bool(torch.isfinite(phi).all()):
        raise ValueError("phase holds NaN or Inf; check the trained mask")
    if levels is not None:
        k = torch.round(phi * (levels / TWO_PI))  # round half to even: ties rarely matter
        phi = k * (TWO_PI / levels)
    phi = torch.remainder(phi, TWO_PI * steps)
    if levels is not None:  # exact multiples of the level step (no remainder round-off)
        phi = torch.round(phi * (levels / TWO_PI)) * (TWO_PI / levels)
        phi = torch.where(phi >= TWO_PI * steps, torch.zeros_like(phi), phi)
    h = phi * (h2pi / TWO_PI)
    if resolution is not None:
        h = torch.round(h / res) * res
    return h


def height_to_phase(
    height: torch.Tensor, wavelength: float, n: float, n_medium: float = 1.0
) -> torch.Tensor:
    """The phase [rad] a relief of ``height`` [m] adds: ``2 pi (n - n_medium) h / lambda``."""
    h2pi = two_pi_height(wavelength, n, n_medium)
    return torch.as_tensor(height, dtype=torch.float64) * (TWO_PI / h2pi)


def height_transmission(
    height: torch.Tensor,
    wavelength: float,
    n: float,
    kappa: float,
    n_medium: float = 1.0,
    *,
    base: float = 0.0,
) -> torch.Tensor:
    """The complex transmission (complex128, shape of ``height``) of a relief on a base
    plate (see the module's convention):
    ``exp(-2 pi kappa (base + h) / lambda) exp(i 2 pi (n - n_medium) h / lambda)``.

    Args:
        height: relief heights [m] (>= 0).
        kappa: the material's extinction coefficient (>= 0).
        base: base-plate thickness [m] (>= 0).
    """
    lam = _positive(wavelength, "wavelength", "m")
    kappa = float(kappa)
    if not math.isfinite(kappa) or kappa < 0:
        raise ValueError(f"kappa must be a finite number >= 0, got {kappa!r}")
    base = float(base)
    if not math.isfinite(base) or base < 0:
        raise ValueError(f"base must be a finite thickness >= 0 [m], got {base!r}")
    h = torch.as_tensor(height, dtype=torch.float64)
    if bool((h < 0).any()):
        raise ValueError(f"heights must be >= 0 [m], got min {float(h.min()):.6g}")
    amp = torch.exp(-TWO_PI * kappa * (base + h) / lam)
    return torch.polar(amp, height_to_phase(h, lam, n, n_medium))


# -- training through the relief ------------------------------------------------------------
@dataclass(frozen=True)
class Relief:
    """The optics of a printed or etched layer (the module's convention), for training.

    ``wavelength`` [m]; ``n``, ``kappa``: the material's complex index ``n + i kappa`` at
    it; ``n_medium``: the medium's index; ``base``: the base plate's thickness [m]. A
    phase ``phi`` [rad] is made by one 2 pi step of relief (``phase_to_height`` without
    ``max_height``), of height ``h = (phi mod 2 pi) h_2pi / (2 pi)``, whose amplitude
    transmission is :func:`relief_amplitude`.
    """

    wavelength: float
    n: float
    kappa: float
    n_medium: float = 1.0
    base: float = 0.0

    def __post_init__(self):
        two_pi_height(self.wavelength, self.n, self.n_medium)  # n > n_medium, lambda > 0
        k, b = float(self.kappa), float(self.base)
        if not math.isfinite(k) or k < 0:
            raise ValueError(f"kappa must be a finite number >= 0, got {self.kappa!r}")
        if not math.isfinite(b) or b < 0:
            raise ValueError(f"base must be a finite thickness >= 0 [m], got {self.base!r}")

    @property
    def two_pi_height(self) -> float:
        """``lambda / (n - n_medium)`` [m]."""
        return two_pi_height(self.wavelength, self.n, self.n_medium)


def relief_amplitude(phase: torch.Tensor, relief: Relief) -> torch.Tensor:
    """Field amplitude a relief realising ``phase`` [rad] transmits (real, ``phase``'s
    shape and dtype, differentiable):
    ``exp(-2 pi kappa (base + h) / lambda)``, ``h = (phase mod 2 pi) lambda / (2 pi (n -
    n_medium))``, i.e. ``exp(-2 pi kappa base / lambda) exp(-kappa (phase mod 2 pi) / (n -
    n_medium))``.

    Equals ``|height_transmission(phase_to_height(phase, ...), ...)|`` (the export's
    height -> amplitude) up to rounding; its derivative in ``phase`` is ``-kappa / (n -
    n_medium)`` times the amplitude (away from the wrap at 2 pi), so training sees the
    thicker, darker pixels.
    """
    if not isinstance(relief, Relief):
        raise TypeError(f"relief must be a photonn.functional.fabrication.Relief, got {relief!r}")
    plate = math.exp(-TWO_PI * relief.kappa * relief.base / relief.wavelength)
    per_rad = relief.kappa / (relief.n - relief.n_medium)
    return plate * torch.exp(-per_rad * torch.remainder(phase, TWO_PI))


#: where ``init="zeros"`` puts a quantised phase inside its level's cell (:func:`edge_offset`)
EDGE_FRACTION = 0.9


def edge_offset(levels: int) -> float:
    """The latent phase [rad] at which a quantised mask starts for ``init="zeros"``:
    ``EDGE_FRACTION * pi / levels``, inside the cell of the level 0 (so the mask is
    transparent) and ``0.1 pi / levels`` from the next level's.

    Why: the forward value changes only when the latent crosses a cell edge, ``pi /
    levels`` from a level; from the cell's centre, Adam (steps of about ``lr`` per
    parameter) needs ``pi / (levels lr)`` steps before any pixel moves (157 steps at 2
    levels and ``lr = 0.01``, a third of the ``photonn train`` recipe), and the
    network trains nothing meanwhile. From the edge, a pixel whose move helps moves
    within a few steps; one whose move hurts walks back to the centre.
    """
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2:
        raise ValueError(f"levels must be an integer >= 2, got {levels!r}")
    return EDGE_FRACTION * math.pi / levels


def edge_start(levels: torch.Tensor) -> float:
    """Where ``init="zeros"`` starts a quantised latent phase [rad] for any set of levels:
    inside the cell of the level that a phase of 0 shows (the nearest on the circle),
    ``EDGE_FRACTION`` of the way from that level to the edge it shares with the next level
    up. For ``L`` evenly spaced levels from 0 this is :func:`edge_offset` ``(L)``.

    Args:
        levels: real ``(L,)`` level phases [rad], ``L >= 2``, distinct modulo ``2 pi``.
    """
    lv = sorted(set(torch.remainder(torch.as_tensor(levels, dtype=torch.float64), TWO_PI).tolist()))
    if len(lv) < 2:
        raise ValueError(f"levels must hold at least two distinct phases, got {lv}")
    q = min(lv, key=lambda v: min(v, TWO_PI - v))
    up = lv[(lv.index(q) + 1) % len(lv)]
    gap = (up - q) % TWO_PI
    q = q if q <= math.pi else q - TWO_PI  # signed, in (-pi, pi]
    return q + EDGE_FRACTION * gap / 2


class _SecantSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, phase, levels, shown):
        from .slm import nearest_level

        lv = torch.remainder(levels.to(phase.dtype), TWO_PI)
        # the level shown: the nearest to the latent, or the device's own choice
        idx = nearest_level(phase if shown is None else shown.detach(), lv)
        q = lv[idx]
        count = lv.numel()
        order = torch.argsort(lv)
        rank = torch.empty_like(order)
        rank[order] = torch.arange(count, device=lv.device)
        r = rank[idx]
        u = torch.remainder(phase.detach() - q + math.pi, TWO_PI) - math.pi  # latent - level
        up = u >= 0
        nb = lv[torch.where(up, order[(r + 1) % count], order[(r - 1) % count])]
        d = torch.remainder(nb - q, TWO_PI)  # in [0, 2 pi): the step up to the neighbour
        d = torch.where(up, d, d - TWO_PI)  # the step down is negative
        d = torch.where(d == 0, torch.full_like(d, TWO_PI), d)  # a single level: a full turn
        t = torch.polar(torch.ones_like(q), q)
        ctx.save_for_backward((torch.polar(torch.ones_like(nb), nb) - t) / d)
        return t

    @staticmethod
    def backward(ctx, grad):
        (secant,) = ctx.saved_tensors
        return (grad.conj() * secant).real, None, None


def level_transmission_ste(
    phase: torch.Tensor, levels: torch.Tensor, shown: torch.Tensor | None = None
) -> torch.Tensor:
    """``exp(i q)``, ``q`` the level nearest to ``phase`` on the circle, with a secant
    straight-through gradient.

    Backward, the derivative of the transmission in ``phase`` is taken as the chord to
    the neighbouring level on the side of the level that ``phase`` lies on,
    ``(exp(i q') - exp(i q)) / (q' - q)``, instead of the tangent ``i exp(i q)`` of
    the plain straight-through estimator (``quantize_phase_ste``). For many levels the
    two agree (angle ``pi / L`` apart); for two levels the tangent is orthogonal to
    the only move there is (0 <-> pi changes the field by ``-2 exp(i q)``, a real
    multiple of the field, while the tangent is imaginary), so the plain gradient says
    nothing about whether a flip helps and a binary phase mask does not train. The
    chord gives the first-order change of the loss under the move itself.

    Args:
        phase: real tensor [rad], any shape (the latent phase).
        levels: real ``(L,)`` level phases [rad], distinct modulo ``2 pi``.
        shown: optional real tensor of ``phase``'s shape: the level [rad] the device shows
            for each entry, when its own rounding decides (an SLM export's
            ``phase_to_gray``); each entry must be one of ``levels`` (modulo ``2 pi``).
            Default: the level nearest to ``phase`` on the circle.

    Returns:
        complex tensor of ``phase``'s shape (complex64 for float32).
    """
    if levels.ndim != 1 or levels.numel() == 0:
        raise ValueError(f"levels must be a non-empty 1-D tensor, got shape {tuple(levels.shape)}")
    if shown is not None and shown.shape != phase.shape:
        raise ValueError(
            f"shown must have phase's shape {tuple(phase.shape)}, got {tuple(shown.shape)}"
        )
    return _SecantSTE.apply(phase, levels, shown)
