"""Thin learnable masks: ``PhaseMask``, ``AmplitudeMask`` and ``ComplexMask``."""

from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import one_of, positive_float, real_of
from ..functional.fabrication import (
    Relief,
    edge_offset,
    edge_start,
    level_transmission_ste,
    relief_amplitude,
)
from ..functional.masks import (
    bounded_phase,
    passive_transmission,
    phase_transmission,
    wrap_phase,
)
from ..functional.quantizers import device_quantize, lut_levels, lut_round, make_quantizer
from ..functional.slm import quantize_phase_ste, uniform_levels
from ._element import INITS as INITS
from ._element import GridElement, initial_values

__all__ = ["PhaseMask", "AmplitudeMask", "ComplexMask"]


class PhaseMask(GridElement):
    """A learnable phase-only mask ``t = exp(i phi(x, y))``.

    The learnable tensor is ``raw`` (real, ``(ny, nx)``); the phase is

    * ``"free"`` (default): ``phi = raw`` (unbounded; ``exp`` wraps it anyway);
    * ``"wrapped"``: ``phi = raw mod 2 pi`` (same transmission; phases reported in ``[0, 2 pi)``);
    * ``"bounded"``: ``phi = max_phase * sigmoid(raw)`` in ``(0, max_phase)``.

    With ``bits``, the phase is quantised to ``2**bits`` levels equally spaced
    on the circle (``2 pi g / 2**bits``) with a straight-through gradient; with
    ``lut`` (a phase per gray level, e.g. an SLM's look-up table at the wavelength), to
    the phases that table shows, as an export picks them (nearest on the circle).
    ``quantizer`` chooses the training-time quantiser
    (:func:`photonn.functional.quantizers.make_quantizer`: ``"ste"``, the default,
    ``"gumbel"``, ``"staircase"``, ``"lsq"`` or an object); its annealing follows the
    attribute ``quantizer_progress`` in ``[0, 1]`` (set by
    :class:`photonn.training.QuantizerSchedule`); in evaluation the phase is exactly
    a level of the device.
    With the default quantiser, the transmission's gradient is the secant
    straight-through estimator
    (:func:`~photonn.functional.fabrication.level_transmission_ste`: the chord to the
    neighbouring level, which makes binary masks trainable; with ``lut``, from the level
    the export picks to its neighbour among the table's levels), and ``init="zeros"``
    starts the latent phase at :func:`~photonn.functional.fabrication.edge_start` of the
    levels (the level 0 shows, each pixel close to the edge of its cell), so that pixels
    move from the first steps.
    ``phase()`` is the quantised phase with the plain straight-through gradient.

    With ``relief`` (a :class:`~photonn.functional.fabrication.Relief`), the mask is a
    printed or etched layer: its transmission is ``a(phi) exp(i phi)``, ``a`` the
    amplitude the relief of that phase transmits through the absorbing material and
    its base plate (:func:`~photonn.functional.fabrication.relief_amplitude`), as the
    fabrication export computes it from the heights.

    Args:
        grid: :class:`photonn.Grid` of the mask.
        mode: ``"free"``, ``"wrapped"`` or ``"bounded"``.
        max_phase: phase range [rad] for ``"bounded"`` (default ``2 pi``).
        bits: optional phase quantisation (1..16 bits).
        lut: optional ``(2**bits,)`` phase [rad] per gray level (implies quantisation).
        quantizer: training-time quantiser (with ``bits`` or ``lut``).
        relief: optional :class:`~photonn.functional.fabrication.Relief` (material,
            wavelength, base plate): absorption of a printed layer in the forward model.
        init: ``"zeros"`` (default; with ``bits`` or ``lut`` and the default quantiser,
            in the free and wrapped modes, raw values ``edge_start(levels)``, still the
            level a phase of 0 shows), ``"uniform"`` (phases uniform in ``[0, 2 pi)``,
            needs ``generator``; in ``"bounded"`` mode raw values uniform in
            ``[-2, 2)``) or a real ``(ny, nx)`` tensor of raw values.
        generator: ``torch.Generator`` for random init (values are drawn on the CPU, then
            moved to ``device``, so a seed gives the same mask on every device).
        dtype: complex dtype of the fields (complex64 default); ``raw`` is the matching real dtype.
        device: where to build ``raw`` and the levels.

    Shapes:
        field ``(..., ny, nx)`` complex -> same.
    """

    def __init__(
        self,
        grid,
        *,
        mode: str = "free",
        max_phase: float = 2 * math.pi,
        bits: int | None = None,
        lut=None,
        quantizer="ste",
        relief: Relief | None = None,
        init="zeros",
        generator: torch.Generator | None = None,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__(grid, dtype=dtype, device=device, generator=generator)
        self.mode = one_of(mode, ("free", "wrapped", "bounded"), "mode")
        if relief is not None and not isinstance(relief, Relief):
            raise TypeError(
                f"relief must be a photonn.functional.fabrication.Relief, got {relief!r}"
            )
        self.relief = relief
        self.max_phase = positive_float(max_phase, "max_phase")
        self.register_buffer("lut", None, persistent=False)
        if lut is not None:
            lut = torch.as_tensor(lut, dtype=torch.float64).detach().reshape(-1).cpu()
            n = lut.numel()
            if n < 2 or n & (n - 1) or (bits is not None and n != 2**bits):
                need = "a power of two >= 2" if bits is None else f"2**bits = {2**bits}"
                raise ValueError(f"lut must hold {need} phases, got {n} entries")
            if not bool(torch.isfinite(lut).all()):
                raise ValueError("lut phases must be finite")
            bits = n.bit_length() - 1
            self.lut = lut.to(device)
            levels = lut_levels(lut).to(dtype=real_of(dtype), device=device)
            self.register_buffer("levels", levels, persistent=False)
        elif bits is not None:
            levels = uniform_levels(bits, dtype=real_of(dtype), device=device)
            self.register_buffer("levels", levels, persistent=False)
        else:
            self.levels = None
        self.bits = bits
        self.quantizer = make_quantizer(
            quantizer, period=2 * math.pi, generator=generator if quantizer == "gumbel" else None
        )
        self.quantizer_progress = 1.0
        if self.levels is not None and type(self.quantizer).__name__ == "LSQQuantizer":
            step = (self.levels[-1] - self.levels[0]) / (self.levels.numel() - 1)
            # LSQ's step [rad], learnt as its logarithm: positive, and an optimiser
            # such as Adam moves it by a fraction of itself, not by its learning rate
            self.quant_log_step = nn.Parameter(step.detach().clone().log())
        if mode == "bounded" and isinstance(init, str) and init == "uniform":
            raw = initial_values("uniform", grid.shape, real_of(dtype), generator, 4.0) - 2.0
        else:
            raw = initial_values(init, grid.shape, real_of(dtype), generator, 2 * math.pi)
            if self._secant() and mode != "bounded" and isinstance(init, str) and init == "zeros":
                # the level 0 shows, near its cell's edge (evenly spaced levels: exactly
                # edge_offset, as before look-up tables took this path)
                start = edge_offset(2**bits) if self.lut is None else edge_start(self.levels)
                raw = raw + start
        self.raw = nn.Parameter(raw.to(device))

    def _secant(self) -> bool:
        """Levels under the default quantiser: the secant straight-through path."""
        return self.levels is not None and type(self.quantizer).__name__ == "STEQuantizer"

    def _latent_phase(self) -> torch.Tensor:
        if self.mode == "bounded":
            return bounded_phase(self.raw, self.max_phase)
        if self.mode == "wrapped":
            return wrap_phase(self.raw)
        return self.raw

    def phase(self) -> torch.Tensor:
        """The applied phase [rad], real ``(ny, nx)`` (quantised when ``bits`` is set)."""
        phi = self._latent_phase()
        if self.levels is not None:
            if self.lut is None and type(self.quantizer).__name__ == "STEQuantizer":
                return quantize_phase_ste(phi, self.levels)
            phi = device_quantize(
                phi,
                self.levels,
                self.quantizer,
                self._device_round,
                training=self.training,
                progress=self.quantizer_progress,
                step=self.quant_log_step.exp() if hasattr(self, "quant_log_step") else None,
            )
        return phi

    def _device_round(self, phi: torch.Tensor) -> torch.Tensor:
        if self.lut is None:
            return quantize_phase_ste(phi, self.levels)
        return lut_round(phi, self.lut)

    def transmission(self) -> torch.Tensor:
        """Complex ``(ny, nx)`` transmission ``exp(i phase)`` (times the relief's
        amplitude with ``relief``)."""
        if not self._secant():
            phi = self.phase()
            t = phase_transmission(phi)
        else:
            latent = self._latent_phase()
            # with a look-up table the level shown is the export's choice (lut_round)
            shown = None if self.lut is None else self._device_round(latent.detach())
            t = level_transmission_ste(latent, self.levels, shown)
            phi = self.phase() if self.relief is not None else None
        if self.relief is not None:
            t = t * relief_amplitude(phi, self.relief)
        return t

    def extra_repr(self) -> str:
        b = f", bits={self.bits}" if self.bits is not None else ""
        r = ""
        if self.relief is not None:
            r = f", relief=(n={self.relief.n:.6g}, kappa={self.relief.kappa:.6g})"
        return f"grid={self.grid}, mode={self.mode!r}{b}{r}, dtype={self.dtype}"


class AmplitudeMask(GridElement):
    """A learnable amplitude-only mask ``t = a(x, y)``, real.

    ``passive=True`` (default) maps the learnable ``raw`` through a sigmoid so
    ``0 < a < 1`` (no gain); ``passive=False`` uses ``a = raw`` directly.

    Args:
        grid: :class:`photonn.Grid`.
        passive: bound the amplitude to ``(0, 1)``.
        init: ``"zeros"`` (``a = 0.5`` when passive), ``"uniform"`` (needs
            ``generator``) or a real ``(ny, nx)`` tensor of raw values.
        dtype: complex dtype of the fields; ``raw`` is the matching real dtype.
        device: where to build ``raw``.
    """

    def __init__(
        self,
        grid,
        *,
        passive: bool = True,
        init="zeros",
        generator: torch.Generator | None = None,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__(grid, dtype=dtype, device=device, generator=generator)
        self.passive = bool(passive)
        raw = initial_values(init, grid.shape, real_of(dtype), generator, 1.0)
        self.raw = nn.Parameter(raw.to(device))

    def amplitude(self) -> torch.Tensor:
        """Real ``(ny, nx)`` amplitude transmission."""
        return torch.sigmoid(self.raw) if self.passive else self.raw

    def transmission(self) -> torch.Tensor:
        return self.amplitude()

    def extra_repr(self) -> str:
        return f"grid={self.grid}, passive={self.passive}, dtype={self.dtype}"


class ComplexMask(GridElement):
    """A learnable complex mask ``t(x, y)`` (amplitude and phase).

    The learnable ``raw`` is complex; ``passive=True`` (default) applies
    ``t = raw / sqrt(1 + |raw|^2)`` so ``|t| < 1`` (no gain), ``passive=False``
    uses ``t = raw``.

    Args:
        grid: :class:`photonn.Grid`.
        passive: keep ``|t| < 1``.
        init: ``"ones"`` (default: ``raw = 1``), ``"uniform"`` (unit modulus,
            phases uniform in ``[0, 2 pi)``, needs ``generator``) or a complex
            ``(ny, nx)`` tensor of raw values.
        dtype: complex dtype of the fields and of ``raw``.
        device: where to build ``raw``.
    """

    def __init__(
        self,
        grid,
        *,
        passive: bool = True,
        init="ones",
        generator: torch.Generator | None = None,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__(grid, dtype=dtype, device=device, generator=generator)
        self.passive = bool(passive)
        if isinstance(init, str) and init == "ones":
            raw = torch.ones(grid.shape, dtype=dtype)
        elif isinstance(init, str) and init == "uniform":
            if generator is None:
                raise ValueError("init='uniform' draws random values: pass generator=...")
            ph = torch.rand(grid.shape, generator=generator, dtype=real_of(dtype)) * 2 * math.pi
            raw = torch.polar(torch.ones_like(ph), ph)
        elif isinstance(init, torch.Tensor):
            raw = initial_values(init, grid.shape, dtype, None, 1.0)
        else:
            raise ValueError(f"init must be 'ones', 'uniform' or a complex tensor, got {init!r}")
        self.raw = nn.Parameter(raw.to(device))

    def transmission(self) -> torch.Tensor:
        """Complex ``(ny, nx)`` transmission."""
        return passive_transmission(self.raw) if self.passive else self.raw

    def extra_repr(self) -> str:
        return f"grid={self.grid}, passive={self.passive}, dtype={self.dtype}"
