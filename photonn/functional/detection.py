"""Detection as pure functions: intensity, detector regions, differential readout, noise.

Units: a field ``E`` in ``sqrt(W / m^2)`` has intensity ``|E|^2`` [W/m^2]; the
energy collected by a region (per unit time, i.e. its optical power) is
``sum(|E|^2) dx dy`` [W]. Noise works in photoelectrons: a power ``P`` [W]
over an exposure ``t`` [s] gives ``QE P t lambda / (h c)`` electrons on average.
"""

from __future__ import annotations

import math

import torch

from .._checks import (
    finite_float,
    fraction,
    non_negative_float,
    one_of,
    positive_float,
    positive_int,
)
from ..units import c as C_LIGHT
from ..units import h as H_PLANCK
from .optics import rect_aperture

__all__ = [
    "intensity",
    "row_layout",
    "auto_region_boxes",
    "region_masks",
    "region_energies",
    "differential_readout",
    "DIFFERENTIAL_MODES",
    "energy_logits",
    "ENERGY_READOUTS",
    "photoelectrons",
    "shot_noise",
    "read_noise",
    "adc",
]

DIFFERENTIAL_MODES = ("normalized", "difference")


def intensity(field: torch.Tensor) -> torch.Tensor:
    """``|E|^2`` as a real tensor (``re^2 + im^2``: smooth at ``E = 0``)."""
    if not field.is_complex():
        raise TypeError(f"field must be complex, got {field.dtype}")
    return field.real.square() + field.imag.square()


def row_layout(num_regions: int) -> list[int]:
    """Regions per row of the automatic layout, centre rows fullest.

    ``round(sqrt(N))`` rows; the remainder goes to the middle rows. For 10
    classes this is ``[3, 4, 3]``, the layout of Lin et al., Science 2018.
    """
    n = positive_int(num_regions, "num_regions")
    rows = max(1, round(math.sqrt(n)))
    base, extra = divmod(n, rows)
    counts = [base] * rows
    order = sorted(range(rows), key=lambda i: (abs(i - (rows - 1) / 2), i))
    for i in order[:extra]:
        counts[i] += 1
    return counts


def auto_region_boxes(grid, num_regions: int, *, region_size=None, span: float = 0.6):
    """Square detector regions laid out in centred rows (:func:`row_layout`).

    Region centres sit on a square lattice of pitch ``p = span * min(Ly, Lx) /
    max(rows, longest row)`` centred on the optical axis; each region is
    ``region_size`` [m] wide (default ``p / 2``), rounded to whole pixels and
    snapped to the pixel lattice, so every region holds the same number of samples.

    Returns:
        list of ``(cy, cx, h, w)`` [m], row by row, top to bottom, left to right.
    """
    counts = row_layout(num_regions)
    span = positive_float(span, "span")
    if span > 1:
        raise ValueError(f"span is the fraction of the grid the regions cover, (0, 1]; got {span}")
    p = span * min(grid.extent) / max(len(counts), max(counts))
    w = p / 2 if region_size is None else positive_float(region_size, "region_size")
    if w > p:
        raise ValueError(
            f"region_size {w:.4g} m exceeds the region pitch {p:.4g} m: regions would overlap; "
            "choose a smaller region_size or a larger span"
        )
    ny_px = max(1, round(w / grid.dy))
    nx_px = max(1, round(w / grid.dx))

    def snap(c, n, d):  # n whole pixels, edges half-way between samples
        return (round(c / d - (n - 1) / 2) + (n - 1) / 2) * d

    boxes = []
    rows = len(counts)
    for i, k in enumerate(counts):
        cy = snap((i - (rows - 1) / 2) * p, ny_px, grid.dy)
        for j in range(k):
            cx = snap((j - (k - 1) / 2) * p, nx_px, grid.dx)
            boxes.append((cy, cx, ny_px * grid.dy, nx_px * grid.dx))
    return boxes


def region_masks(grid, boxes, *, dtype=torch.float32, device=None) -> torch.Tensor:
    """Binary masks ``(N, ny, nx)`` of rectangular regions ``(cy, cx, h, w)`` [m].

    Raises ``ValueError`` when a region holds no sample, lies partly off the
    grid, or overlaps another.
    """
    if len(boxes) == 0:
        raise ValueError("boxes must hold at least one region (cy, cx, h, w)")
    masks = []
    Ly, Lx = grid.extent
    for i, b in enumerate(boxes):
        if len(b) != 4:
            raise ValueError(f"region {i} must be (cy, cx, h, w) in metres, got {b!r}")
        cy, cx = finite_float(b[0], f"boxes[{i}][0]"), finite_float(b[1], f"boxes[{i}][1]")
        h, w = positive_float(b[2], f"boxes[{i}][2]"), positive_float(b[3], f"boxes[{i}][3]")
        y0, x0 = -(grid.ny // 2) * grid.dy, -(grid.nx // 2) * grid.dx
        tol = 1e-9 * min(grid.dy, grid.dx)
        if (
            cy - h / 2 < y0 - grid.dy / 2 - tol
            or cy + h / 2 > y0 + Ly - grid.dy / 2 + tol
            or cx - w / 2 < x0 - grid.dx / 2 - tol
            or cx + w / 2 > x0 + Lx - grid.dx / 2 + tol
        ):
            raise ValueError(f"region {i} {b!r} does not fit on {grid}")
        m = rect_aperture(grid, (h, w), center=(cy, cx), device=device)
        if not bool(m.any()):
            raise ValueError(
                f"region {i} {b!r} covers no sample of {grid}; make it at least one pixel wide"
            )
        masks.append(m)
    out = torch.stack(masks)
    if bool((out.sum(0) > 1).any()):
        raise ValueError("detector regions overlap; give disjoint regions")
    return out.to(dtype)


def region_energies(intens: torch.Tensor, masks: torch.Tensor, pixel_area: float) -> torch.Tensor:
    """Energy per region ``sum(I * mask) dx dy`` [W], shape ``(..., N)``.

    Args:
        intens: real ``(..., ny, nx)`` intensity [W/m^2].
        masks: real ``(N, ny, nx)`` region weights (binary for detectors).
        pixel_area: ``dx dy`` [m^2].
    """
    if intens.shape[-2:] != masks.shape[-2:]:
        raise ValueError(
            f"intensity has shape {tuple(intens.shape)} but the regions are "
            f"{tuple(masks.shape[-2:])}; their last two dimensions must match"
        )
    flat = intens.reshape(*intens.shape[:-2], -1)
    return (flat @ masks.reshape(masks.shape[0], -1).to(flat.dtype).T) * pixel_area


def differential_readout(energies: torch.Tensor, mode: str = "normalized") -> torch.Tensor:
    """Class scores from ``2N`` energies: first ``N`` positive, last ``N`` negative detectors.

    * ``"normalized"``: ``(E+ - E-) / (E+ + E-)`` in ``[-1, 1]`` (Li et al. 2019);
      a pair with no light scores 0.
    * ``"difference"``: ``E+ - E-`` [W].

    Returns:
        ``(..., N)``.
    """
    one_of(mode, DIFFERENTIAL_MODES, "mode")
    if energies.shape[-1] % 2:
        raise ValueError(
            f"differential readout needs an even number of energies, got {energies.shape[-1]}"
        )
    pos, neg = energies.chunk(2, dim=-1)
    diff = pos - neg
    if mode == "difference":
        return diff
    tiny = torch.finfo(energies.dtype).tiny
    return diff / (pos + neg).clamp_min(tiny)


ENERGY_READOUTS = ("normalized", "log")


def energy_logits(energies: torch.Tensor, temperature, readout: str = "normalized"):
    """Class logits from region energies ``E`` ``(..., C)`` [W] at temperature ``T``.

    * ``"normalized"``: ``T E_c / sum_k E_k`` (scale-free; the logits span ``[0, T]``);
    * ``"log"``: ``T log E_c``.

    A region with no light is clamped at the dtype's smallest normal number, so the
    logits stay finite. ``temperature`` is a float or a 0-d tensor (learnt).
    """
    tiny = torch.finfo(energies.dtype).tiny
    if readout == "normalized":
        return temperature * energies / energies.sum(-1, keepdim=True).clamp_min(tiny)
    if readout == "log":
        return temperature * torch.log(energies.clamp_min(tiny))
    one_of(readout, ENERGY_READOUTS, "readout")


def photoelectrons(
    power: torch.Tensor,
    wavelength: float,
    exposure_time: float,
    quantum_efficiency: float = 1.0,
    dark_current: float = 0.0,
) -> torch.Tensor:
    """Mean photoelectrons ``QE P t lambda / (h c) + dark t`` for a power ``P`` [W].

    ``dark_current`` is in electrons per second.
    """
    lam = positive_float(wavelength, "wavelength")
    t = positive_float(exposure_time, "exposure_time")
    qe = fraction(quantum_efficiency, "quantum_efficiency")
    dark = non_negative_float(dark_current, "dark_current", "electrons/s")
    return _photoelectrons(power, lam, t, qe, dark)


def _photoelectrons(power, lam: float, t: float, qe: float, dark: float) -> torch.Tensor:
    """:func:`photoelectrons` of checked arguments."""
    e = power * (qe * t * lam / (H_PLANCK * C_LIGHT))
    return e + dark * t if dark else e


def shot_noise(
    electrons: torch.Tensor, generator: torch.Generator, mode: str = "gaussian"
) -> torch.Tensor:
    """Photon shot noise on mean electron counts (variance = mean).

    * ``"poisson"``: exact Poisson draws (no gradient).
    * ``"gaussian"``: ``mu + sqrt(mu) n``, ``n ~ N(0, 1)``; differentiable
      (reparameterised), accurate for ``mu >~ 10``. The standard deviation is
      floored at ``sqrt(1e-3)`` electrons, which keeps its gradient finite at
      ``mu = 0`` and changes the variance by at most ``1e-3`` electrons^2.
    """
    one_of(mode, ("poisson", "gaussian"), "mode")
    mu = electrons.clamp_min(0)
    if mode == "poisson":
        return torch.poisson(mu.detach(), generator=generator)
    n = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.sqrt(mu.clamp_min(1e-3)) * n


def read_noise(electrons: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Add Gaussian read noise of standard deviation ``sigma`` electrons."""
    return _read_noise(
        electrons, non_negative_float(sigma, "read noise sigma", "electrons"), generator
    )


def _read_noise(electrons: torch.Tensor, s: float, generator: torch.Generator) -> torch.Tensor:
    """:func:`read_noise` of a checked ``sigma``."""
    if s == 0:
        return electrons
    e = electrons
    n = torch.randn(e.shape, generator=generator, dtype=e.dtype, device=e.device)
    return electrons + s * n


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


def adc(electrons: torch.Tensor, bits: int, full_well: float) -> torch.Tensor:
    """Digitise electrons to ``2**bits`` levels over ``[0, full_well]``.

    The gain is ``full_well / (2**bits - 1)`` electrons per count; counts are
    rounded (straight-through gradient) and clipped to ``[0, 2**bits - 1]``
    (saturation).

    Returns:
        counts (digital numbers) as a float tensor.
    """
    return _adc(electrons, positive_int(bits, "bits"), positive_float(full_well, "full_well"))


def _adc(electrons: torch.Tensor, b: int, fw: float) -> torch.Tensor:
    """:func:`adc` of checked arguments."""
    top = 2**b - 1
    return _RoundSTE.apply(electrons * (top / fw)).clamp(0, top)
