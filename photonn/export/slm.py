"""One diffractive layer on one phase SLM: placement, gray levels, error report, read-back.

:func:`plan_slm_layer` does the math (through :mod:`photonn.functional.slm_export`)
and refuses a profile that does not fit, naming both numbers; :func:`read_slm_image`
turns an exported image back into the phases the light sees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..devices import DeviceProfile
from ..functional.slm_export import (
    clipped,
    gray_to_phase,
    neuron_centre_pixels,
    panel_index,
    phase_error,
    phase_to_gray,
    place_on_panel,
    resample_lut,
)

__all__ = ["SLMLayer", "plan_slm_layer", "slm_lut", "realised_from_gray"]

TWO_PI = 2 * math.pi


@dataclass
class SLMLayer:
    """A phase mask as shown on a panel.

    Attributes (phases [rad], float64):
        element: the module name (``"masks.0"``).
        profile: the SLM profile; ``bits`` the gray-level depth used.
        wavelength: [m]; ``lut``: ``(2**bits,)`` phase per gray level at it.
        neuron_pitch: ``(dy, dx)`` [m]; ``pixels_per_neuron``: ``(ky, kx)``.
        interpolation: how the mask was resampled onto the pixels.
        target: ``(ny, nx)`` the model's phase; ``gray``: ``(Ny, Nx)`` int64 levels.
        panel_target: ``(Ny, Nx)`` the placed phase (fill outside), before correction.
        correction: ``(Ny, Nx)`` wavefront correction or None.
        centres: ``(rows (ny,), columns (nx,))`` pixel under each neuron centre.
        realised: ``(ny, nx)`` the phase the light sees at each neuron
            (``lut[gray] - correction`` at its centre pixel).
        report: quantisation error over the mask's pixels (see :func:`plan_slm_layer`).
    """

    element: str
    profile: DeviceProfile
    bits: int
    wavelength: float
    lut: torch.Tensor
    neuron_pitch: tuple[float, float]
    pixels_per_neuron: tuple[float, float]
    interpolation: str
    fill_phase: float
    target: torch.Tensor
    panel_target: torch.Tensor
    correction: torch.Tensor | None
    gray: torch.Tensor
    centres: tuple[torch.Tensor, torch.Tensor]
    realised: torch.Tensor
    report: dict


def slm_lut(profile: DeviceProfile, wavelength: float, bits: int | None = None) -> torch.Tensor:
    """Phase [rad] per gray level of ``profile`` at ``wavelength`` [m], float64.

    The profile's table (or its linear map, scaled by design wavelength / wavelength,
    see :meth:`~photonn.devices.DeviceProfile.phase_lut`), resampled to ``2**bits``
    levels over the same drive range when ``bits`` differs from the profile's
    (:func:`~photonn.functional.slm_export.resample_lut`).
    """
    table = profile.phase_lut(wavelength)
    if bits is not None and bits != profile.gray_bits:
        table = resample_lut(table, bits)
    return table


def _check_profile(profile: DeviceProfile, element: str, wavelength: float, shape, pitch):
    profile.require("pixel_pitch", "resolution", "gray_bits", "max_phase", "wavelength")
    where = f"layer {element!r} on SLM profile {profile.name!r}"
    profile.check_wavelength(wavelength)
    rng = profile.phase_range(wavelength)
    if rng < TWO_PI * (1 - 1e-9):
        raise ValueError(
            f"{where}: the phase range at {wavelength * 1e9:.6g} nm is {rng:.4g} rad "
            f"({rng / math.pi:.4g} pi), below the 2 pi = {TWO_PI:.4g} rad a phase mask needs "
            f"(max_phase {profile['max_phase']:.4g} rad at {profile['wavelength'] * 1e9:.6g} nm); "
            "use a longer-stroke device or a shorter wavelength"
        )
    pp = profile["pixel_pitch"]
    for axis, p in zip(("rows", "columns"), pitch):
        if p < pp * (1 - 1e-9):
            raise ValueError(
                f"{where}: the neuron pitch {p * 1e6:.6g} um ({axis}) is finer than the pixel "
                f"pitch {pp * 1e6:.6g} um: the panel cannot show the mask; retrain with a "
                "pitch of at least one pixel or choose a finer panel"
            )
    res = profile["resolution"]
    need = [math.ceil(n * p / pp - 1e-9) for n, p in zip(shape, pitch)]
    if need[0] > res[0] or need[1] > res[1]:
        raise ValueError(
            f"{where}: too few pixels: the {shape[0]} x {shape[1]} mask at "
            f"{pitch[0] * 1e6:.6g} x {pitch[1] * 1e6:.6g} um needs {need[0]} x {need[1]} pixels "
            f"of {pp * 1e6:.6g} um, the panel has {res[0]} x {res[1]}"
        )


def plan_slm_layer(
    element: str,
    phase: torch.Tensor,
    neuron_pitch: tuple[float, float],
    wavelength: float,
    profile: DeviceProfile,
    *,
    bits: int | None = None,
    fill_phase: float = 0.0,
    correction: torch.Tensor | None = None,
) -> SLMLayer:
    """Place ``phase`` ``(ny, nx)`` [rad] on ``profile``'s panel and find its gray levels.

    Steps: refuse a profile that does not fit (operating band, phase range at the
    wavelength, pixel pitch, pixel count: each message names both numbers); place
    and centre the mask (integer pixels per neuron: each neuron a block; otherwise
    nearest neighbour), fill the rest with ``fill_phase``; add ``correction``, wrap
    and invert the look-up table at ``bits`` (default: the profile's ``gray_bits``).

    ``report`` holds, over the mask's pixels: ``phase_rms_rad`` and
    ``phase_max_abs_rad`` (``wrap(lut[gray] - correction - target)``),
    ``clipped_low`` and ``clipped_high`` (fractions of pixels at gray 0 and at the
    top level whose target lies beyond the stroke, see
    :func:`~photonn.functional.slm_export.clipped`), ``gray_step_rad`` (the
    largest step of the table), ``pixels``.
    """
    if phase.ndim != 2:
        raise ValueError(f"layer {element!r}: phase must be (ny, nx), got {tuple(phase.shape)}")
    target = phase.detach().to(device="cpu", dtype=torch.float64)
    if not bool(torch.isfinite(target).all()):
        raise ValueError(f"layer {element!r}: the phase mask holds NaN or inf")
    shape = tuple(target.shape)
    _check_profile(profile, element, wavelength, shape, neuron_pitch)
    bits = int(profile.gray_bits) if bits is None else int(bits)
    if not 1 <= bits <= 16:
        raise ValueError(f"bits must lie in [1, 16] for an SLM, got {bits}")
    lut = slm_lut(profile, wavelength, bits)
    res = tuple(profile["resolution"])
    pp = float(profile["pixel_pitch"])
    if correction is not None:
        correction = torch.as_tensor(correction, dtype=torch.float64).cpu()
        if tuple(correction.shape) != res:
            raise ValueError(
                f"layer {element!r}: the wavefront correction is {tuple(correction.shape)} "
                f"pixels but panel {profile.name!r} has {res}"
            )
    iy = panel_index(shape[0], neuron_pitch[0], res[0], pp)
    ix = panel_index(shape[1], neuron_pitch[1], res[1], pp)
    if (
        torch.unique(iy[iy >= 0]).numel() != shape[0]
        or torch.unique(ix[ix >= 0]).numel() != (shape[1])
    ):
        raise ValueError(
            f"layer {element!r}: the centred mask does not fit on panel {profile.name!r} "
            f"({res[0]} x {res[1]} pixels): a neuron falls off the edge"
        )
    k = (neuron_pitch[0] / pp, neuron_pitch[1] / pp)
    integer = all(abs(v - round(v)) <= 1e-9 * v for v in k)
    interp = (
        f"exact: {round(k[0])} x {round(k[1])} pixels per neuron"
        if integer
        else f"nearest neighbour: {k[0]:.6g} x {k[1]:.6g} pixels per neuron, each pixel shows "
        "the neuron whose cell holds its centre"
    )
    panel = place_on_panel(target, neuron_pitch, pp, res, fill_phase)
    gray = phase_to_gray(panel, lut, correction)
    inside = (iy >= 0)[:, None] & (ix >= 0)[None, :]
    shown = gray_to_phase(gray, lut, correction)
    err = phase_error(shown, panel)[inside]
    low, high = clipped(panel, lut, correction)
    cy = neuron_centre_pixels(shape[0], neuron_pitch[0], res[0], pp)
    cx = neuron_centre_pixels(shape[1], neuron_pitch[1], res[1], pp)
    realised = realised_from_gray(gray, lut, correction, (cy, cx))
    levels = torch.sort(torch.remainder(lut - lut[0], TWO_PI)).values
    n_in = int(inside.sum())
    report = {
        "pixels": n_in,
        "phase_rms_rad": float(err.pow(2).mean().sqrt()),
        "phase_max_abs_rad": float(err.abs().max()),
        "clipped_low": float(low[inside].sum()) / n_in,
        "clipped_high": float(high[inside].sum()) / n_in,
        "gray_step_rad": float(torch.diff(levels).max()),
    }
    return SLMLayer(
        element=element,
        profile=profile,
        bits=bits,
        wavelength=float(wavelength),
        lut=lut,
        neuron_pitch=(float(neuron_pitch[0]), float(neuron_pitch[1])),
        pixels_per_neuron=k,
        interpolation=interp,
        fill_phase=float(fill_phase),
        target=target,
        panel_target=panel,
        correction=correction,
        gray=gray,
        centres=(cy, cx),
        realised=realised,
        report=report,
    )


def realised_from_gray(gray, lut, correction, centres) -> torch.Tensor:
    """Phase [rad] the light sees at each neuron, ``(ny, nx)`` float64: ``lut[g] - correction``
    at the pixel under the neuron's centre (``centres = (rows, columns)``)."""
    cy, cx = centres
    g = torch.as_tensor(gray)[cy][:, cx]
    corr = None if correction is None else correction[cy][:, cx]
    return gray_to_phase(g, lut, corr)
