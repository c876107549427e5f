"""Partially coherent sources as weighted coherent modes, and detection of mode batches.

A source hands out ``(fields, weights)``: fields ``(M, ny, nx)`` of unit power each
(``sum |u|^2 dx dy = 1``) and weights ``(M,)`` [W], such that after any linear optical
system ``P`` (propagators, masks, lenses: each acts on the mode axis as on any batch
axis) the intensity is ``sum_m weights[m] |P(fields[m])|^2``
(:func:`photonn.functional.coherence.mode_intensity`, :func:`detect_modes`). With a
source spectrum (several wavelengths), fields are ``(M, W, ny, nx)`` (the source-plane
modes do not depend on the wavelength, so this is an expanded view: no copy) and weights
``(M, W)``; propagate them with a multi-wavelength ``Propagator``.
"""

from __future__ import annotations

import math

import torch

from .._checks import complex_dtype, positive_float, positive_floats, positive_int
from ..functional.beams import hermite_functions
from ..functional.coherence import (
    GSMParameters,
    Truncation,
    check_mode_weights,
    gsm_parameters,
    gsm_truncation,
    gsm_width,
)
from ._common import check_grid

__all__ = ["GaussianSchellSource", "IncoherentSource", "detect_modes"]


def _spectrum(wavelength, spectral_weights):
    lams = positive_floats(wavelength, "wavelength")
    multi = not isinstance(wavelength, (int, float))
    if spectral_weights is None:
        sw = torch.full((len(lams),), 1.0 / len(lams), dtype=torch.float64)
    else:
        sw = check_mode_weights(torch.as_tensor(spectral_weights, dtype=torch.float64))
        if sw.ndim != 1 or sw.shape[0] != len(lams):
            raise ValueError(
                f"spectral_weights must hold one weight per wavelength ({len(lams)}), "
                f"got shape {tuple(sw.shape)}"
            )
        if float(sw.sum()) <= 0:
            raise ValueError("spectral_weights sum to 0: at least one wavelength must emit")
        sw = sw / sw.sum()
        multi = True
    return lams, multi, sw


def _with_spectrum(fields, weights, multi, sw):
    """Fields ``(M, W, ny, nx)`` (expanded view) and weights ``(M, W)`` for a spectrum."""
    if not multi:
        return fields, weights
    W = sw.shape[0]
    f = fields.unsqueeze(1).expand(fields.shape[0], W, *fields.shape[1:])
    return f, weights[:, None] * sw.to(weights)[None, :]


class GaussianSchellSource:
    """Gaussian Schell-model source: a partially coherent Gaussian beam at its waist.

    Intensity ``S(r) = 2 P / (pi w^2) exp(-2 r^2 / w^2)`` and degree of coherence
    ``mu(r1 - r2) = exp(-|r1 - r2|^2 / (2 sigma_g^2))``, as the analytic coherent-mode
    sum of Hermite-Gauss modes ``HG_nm`` (waist ``1/sqrt(c)``, weights ``P (1 - q)^2
    q^(n+m)``; see :mod:`photonn.functional.coherence`). ``sigma_g -> infinity`` is the
    coherent TEM00 beam (one mode); ``sigma_g << w`` is nearly incoherent (many modes).

    Args:
        grid: :class:`photonn.Grid` of the source plane (beam axis at ``n // 2``).
        wavelength: [m], or a sequence of wavelengths (a source spectrum).
        waist: 1/e^2 intensity radius ``w`` [m].
        coherence_width: rms width ``sigma_g`` [m] of the degree of coherence.
        power: total power ``P`` [W] of the full (untruncated) beam (default 1).
        spectral_weights: optional relative power per wavelength (normalised to sum 1).
        dtype: complex dtype of the mode fields (complex64 default).
        device: where to build them.

    Example:
        >>> src = GaussianSchellSource(grid, 633e-9, waist=1e-3, coherence_width=0.2e-3)
        >>> fields, weights = src.modes(tolerance=1e-3)      # (M, ny, nx), (M,)
        >>> I = mode_intensity(Propagator(grid, 633e-9, 0.1)(fields), weights)
    """

    def __init__(
        self,
        grid,
        wavelength,
        *,
        waist: float,
        coherence_width: float,
        power: float = 1.0,
        spectral_weights=None,
        dtype=torch.complex64,
        device=None,
    ):
        self.grid = check_grid(grid)
        self.wavelengths, self.multi, self.spectral_weights = _spectrum(
            wavelength, spectral_weights
        )
        self.params: GSMParameters = gsm_parameters(waist, coherence_width)
        self.waist = float(waist)
        self.coherence_width = float(coherence_width)
        self.power = positive_float(power, "power")
        self.dtype = complex_dtype(dtype)
        self.device = device

    def degree_of_coherence(self, separation) -> torch.Tensor:
        """``mu = exp(-d^2 / (2 sigma_g^2))`` at separations ``d`` [m] (float64 tensor)."""
        d = torch.as_tensor(separation, dtype=torch.float64)
        return torch.exp(-(d**2) / (2 * self.coherence_width**2))

    def width(self, z: float, wavelength: float | None = None) -> float:
        """Analytic 1/e^2 intensity radius [m] after free propagation over ``z`` [m]."""
        lam = self.wavelengths[0] if wavelength is None else wavelength
        return gsm_width(self.waist, self.coherence_width, lam, z)

    def truncation(self, tolerance: float = 1e-3) -> Truncation:
        """The truncation rule: the fewest modes (all ``n + m <= N``) whose weights hold
        at least ``1 - tolerance`` of the power; returns ``(max_order, num_modes,
        omitted)``."""
        return gsm_truncation(self.params.q, tolerance)

    def modes(self, tolerance: float = 1e-3, *, max_modes: int = 4096):
        """Coherent modes and weights, enough to leave out at most ``tolerance`` of the power.

        Args:
            tolerance: fraction of the power the truncated set may omit, in (0, 1). The
                weights of the kept modes sum to ``power (1 - omitted)``.
            max_modes: refuse (``ValueError``) to build more modes than this.

        Returns:
            ``(fields, weights)``: complex ``(M, ny, nx)`` of unit power each, real
            ``(M,)`` [W] (``(M, W, ny, nx)`` and ``(M, W)`` with a spectrum), ordered by
            decreasing weight.

        Raises:
            ValueError: the tolerance is outside (0, 1); more than ``max_modes`` modes are
                needed; or the grid is too small or too coarse for the highest mode.
        """
        t = self.truncation(tolerance)
        positive_int(max_modes, "max_modes")
        if t.num_modes > max_modes:
            raise ValueError(
                f"a Gaussian Schell-model source with waist {self.waist:.4g} m and "
                f"coherence_width {self.coherence_width:.4g} m needs {t.num_modes} modes for "
                f"tolerance {tolerance!r}; raise tolerance, raise max_modes (memory is "
                f"num_modes x ny x nx), or use IncoherentSource for nearly incoherent light"
            )
        N = t.max_order
        wc = self.params.mode_waist
        s = math.sqrt(2.0) / wc
        x, y = self.grid.x(), self.grid.y()
        hx = [math.sqrt(s) * h for h in hermite_functions(s * x, N)]
        hy = [math.sqrt(s) * h for h in hermite_functions(s * y, N)]
        # per-axis power on the grid of every order: must be 1 (extent and sampling suffice)
        px = torch.stack([(h * h).sum() * self.grid.dx for h in hx])
        py = torch.stack([(h * h).sum() * self.grid.dy for h in hy])
        err = max((px - 1).abs().max().item(), (py - 1).abs().max().item())
        if err > 1e-3:
            reach = wc * (math.sqrt(2 * N + 1) / math.sqrt(2) + 3)
            pitch = math.pi * wc / (math.sqrt(2) * (math.sqrt(2 * N + 1) + 3))
            raise ValueError(
                f"the grid {self.grid} cannot hold the Gaussian Schell-model modes up to order "
                f"{N} (mode waist {wc:.4g} m): their power on the grid is off by {err:.2g}. "
                f"Use a half-extent of at least {reach:.4g} m and a pitch of at most "
                f"{pitch:.4g} m, or a larger tolerance (fewer modes)"
            )
        orders = [(n, k - n) for k in range(N + 1) for n in range(k + 1)]
        q = self.params.q
        w = torch.tensor(
            [self.power * (1 - q) ** 2 * q ** (n + m) for n, m in orders], dtype=torch.float64
        )
        fields = torch.stack([hy[m][:, None] * hx[n][None, :] for n, m in orders])
        fields = fields.to(device=self.device, dtype=self.dtype)
        w = w.to(device=self.device, dtype=fields.real.dtype)
        return _with_spectrum(fields, w, self.multi, self.spectral_weights)

    def __repr__(self) -> str:
        return (
            f"GaussianSchellSource(grid={self.grid}, wavelength={self.wavelengths}, "
            f"waist={self.waist:.4g}, coherence_width={self.coherence_width:.4g}, "
            f"q={self.params.q:.4g})"
        )


class IncoherentSource:
    """A spatially incoherent extended source (an LED, a lamp, a diffuser), sampled.

    Each point of the emitter radiates independently: the cross-spectral density is
    ``W(r1, r2) = S(r1) delta(r1 - r2)``. Two samplings into coherent modes:

    * ``method="points"``: each mode is one emitting pixel (a point source of unit power:
      amplitude ``1 / sqrt(dx dy)``). With ``samples=None`` every emitting pixel is a
      mode, weighted by its power: exact on the grid. With ``samples=M``, ``M`` pixels
      are drawn (with replacement) with probability proportional to ``S``, each of
      weight ``P / M``.
    * ``method="phases"``: each of ``M = samples`` modes is the whole emitter with an
      independent uniformly random phase per pixel, ``sqrt(S / P) exp(i theta)``, weight
      ``P / M``: every mode covers the source, and the cross terms between pixels average
      out as ``1 / sqrt(M)``.

    Sampled sources are unbiased (the expected mode sum is exact); the standard error of
    a degree of coherence estimated from them falls as ``1 / sqrt(M)``: ``samples`` is
    the accuracy knob. Randomness comes only from the ``generator`` given.

    Args:
        grid: :class:`photonn.Grid` of the source plane.
        wavelength: [m], or a sequence (a source spectrum: an LED is an incoherent source
            with a spectrum).
        emitter: real ``(ny, nx)`` relative intensity, >= 0 (e.g. a disk from
            :func:`photonn.functional.circular_aperture`).
        power: total power [W] (default 1).
        spectral_weights: optional relative power per wavelength.
        dtype, device: of the mode fields.
    """

    def __init__(
        self,
        grid,
        wavelength,
        emitter,
        *,
        power: float = 1.0,
        spectral_weights=None,
        dtype=torch.complex64,
        device=None,
    ):
        self.grid = check_grid(grid)
        self.wavelengths, self.multi, self.spectral_weights = _spectrum(
            wavelength, spectral_weights
        )
        if not isinstance(emitter, torch.Tensor) or emitter.is_complex():
            raise TypeError("emitter must be a real tensor (ny, nx) of relative intensities")
        if tuple(emitter.shape) != grid.shape:
            raise ValueError(f"emitter has shape {tuple(emitter.shape)}, expected {grid.shape}")
        e = emitter.detach().to(torch.float64).cpu()
        if not bool(torch.isfinite(e).all()) or bool((e < 0).any()):
            raise ValueError("emitter intensities must be finite and >= 0")
        if float(e.sum()) <= 0:
            raise ValueError("the emitter is dark (all zeros): at least one pixel must emit")
        self.emitter = e / e.sum()
        self.power = positive_float(power, "power")
        self.dtype = complex_dtype(dtype)
        self.device = device

    def modes(self, samples: int | None = None, *, method: str = "points", generator=None):
        """``(fields, weights)``: ``(M, ny, nx)`` unit-power modes and ``(M,)`` weights [W].

        Args:
            samples: number of modes ``M`` (``None`` with ``"points"``: every emitting pixel).
            method: ``"points"`` or ``"phases"`` (see the class docstring).
            generator: ``torch.Generator`` for sampled modes (required then).
        """
        if method not in ("points", "phases"):
            raise ValueError(f"method must be 'points' or 'phases', got {method!r}")
        ny, nx = self.grid.shape
        amp = 1.0 / math.sqrt(self.grid.pixel_area)
        flat = self.emitter.reshape(-1)
        if samples is None:
            if method == "phases":
                raise ValueError("method='phases' draws random screens: pass samples=M")
            idx = flat.nonzero().squeeze(1)
            w = self.power * flat[idx]
        else:
            positive_int(samples, "samples")
            if not isinstance(generator, torch.Generator):
                raise ValueError(
                    "sampled modes are random: pass generator=torch.Generator().manual_seed(...)"
                )
            w = torch.full((samples,), self.power / samples, dtype=torch.float64)
            if method == "points":
                idx = torch.multinomial(flat, samples, replacement=True, generator=generator)
        if method == "points":
            fields = torch.zeros(idx.shape[0], ny * nx, dtype=torch.complex128)
            fields[torch.arange(idx.shape[0]), idx] = amp
            fields = fields.reshape(-1, ny, nx)
        else:
            theta = (
                2 * math.pi * torch.rand(samples, ny, nx, generator=generator, dtype=torch.float64)
            )
            a = torch.sqrt(self.emitter / self.grid.pixel_area)
            fields = torch.polar(a.expand_as(theta), theta)
        fields = fields.to(device=self.device, dtype=self.dtype)
        w = w.to(device=self.device, dtype=fields.real.dtype)
        return _with_spectrum(fields, w, self.multi, self.spectral_weights)

    def __repr__(self) -> str:
        return f"IncoherentSource(grid={self.grid}, wavelength={self.wavelengths})"


def detect_modes(detector, fields: torch.Tensor, weights: torch.Tensor, *, dim: int = 0):
    """Apply a square-law ``detector`` to every mode and sum with the weights.

    For any detector linear in the intensity (``IntensityDetector`` without noise,
    ``RegionDetector`` without differential readout, a ``Camera`` without noise), the
    result is the detector's reading of ``sum_m weights[m] |fields[m]|^2``. Implemented
    as ``detector(sqrt(w) * fields)`` summed over the mode axis (and the wavelength axis
    for ``(M, W)`` weights), so the detector sees an ordinary batch.

    Args:
        detector: a callable mapping complex ``(..., ny, nx)`` to a reading
            ``(..., *out)`` (leading axes kept).
        fields: complex, mode axis at ``dim`` (from the front).
        weights: ``(M,)`` or ``(M, W)``, >= 0.

    Returns:
        the reading with the mode (and wavelength) axis summed.
    """
    if getattr(detector, "noise", None) is not None:
        raise ValueError(
            "this detector adds noise, which must act once on the summed intensity, not on "
            "every mode: detect with a noise-free detector, then apply the noise model"
        )
    if getattr(detector, "differential", None) is not None:
        raise ValueError(
            "a differential readout is not linear in the intensity: call "
            "detect_modes(detector.energies, ...) and then detector.readout(...)"
        )
    weights = check_mode_weights(weights)
    if dim < 0 or dim >= fields.ndim - 2 or fields.shape[dim] != weights.shape[0]:
        raise ValueError(
            f"fields {tuple(fields.shape)} need the mode axis ({weights.shape[0]} modes) at "
            f"dim={dim}, counted from the front"
        )
    shape = [1] * fields.ndim
    shape[dim] = weights.shape[0]
    dims = [dim]
    if weights.ndim == 2:
        wl = fields.ndim - 3
        if wl == dim or fields.shape[wl] != weights.shape[1]:
            raise ValueError(
                f"weights {tuple(weights.shape)} have a wavelength axis, but fields "
                f"{tuple(fields.shape)} have no matching axis just before (ny, nx)"
            )
        shape[wl] = weights.shape[1]
        dims.append(wl)
    amp = torch.sqrt(weights.to(fields.real.dtype)).reshape(shape)
    return detector(fields * amp).sum(dims)
