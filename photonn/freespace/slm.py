"""``SLM``: a phase-only spatial light modulator with gray levels, LUT, fill factor, crosstalk."""

from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import fraction, positive_int, real_of
from ..devices import resolve_profile
from ..devices.profile import forward_keywords
from ..functional.fabrication import edge_start, level_transmission_ste
from ..functional.quantizers import device_quantize, make_quantizer, quantizer_name
from ..functional.slm import (
    _convolve,
    _fill_width,
    _pixelate,
    _pixelate_transmission,
    check_kernel,
    crosstalk_kernel,
    linear_lut,
    nearest_level,
    quantize_phase_ste,
)
from ..grid import Grid
from ._common import check_grid
from ._element import GridElement, initial_values

__all__ = ["SLM"]


def _lut_tensor(lut, bits):
    t = torch.as_tensor(lut, dtype=torch.float64).reshape(-1)
    n = t.numel()
    if n < 2 or n & (n - 1):
        raise ValueError(f"lut must hold 2**bits phases (a power of two >= 2), got {n} entries")
    if bits is not None and n != 2**bits:
        raise ValueError(f"lut holds {n} phases but bits={bits} needs {2**bits}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError("lut phases must be finite")
    return t


class SLM(GridElement):
    """A phase-only SLM: learnable target phases shown through the device's gray levels.

    Forward model, per pixel:

    1. the learnable target phase ``theta`` (``(py, px)``, any real value) picks
       the gray level ``g`` whose LUT phase is nearest on the circle;
       the shown phase is ``lut[g]``, with a straight-through gradient; or, with another
       ``quantizer``, that
       quantiser's value while training (annealed by ``quantizer_progress``, see
       :class:`photonn.training.QuantizerSchedule`) and in evaluation exactly a
       level ``lut[g]`` again (:meth:`gray_levels` gives its ``g``). The default
       straight-through gradient, without crosstalk, is the secant one of
       :func:`~photonn.functional.fabrication.level_transmission_ste`: the pixel's
       transmission changes along the chord to the neighbouring level, not along the
       tangent ``i exp(i lut[g])``, which is orthogonal to the only move of a binary
       (0, pi) SLM, so that one would not train; ``init="zeros"`` then starts each
       pixel inside the cell of the level 0 shows, ``EDGE_FRACTION`` of the way to its
       edge (the shown level is unchanged). With crosstalk the phases are convolved
       before the exponential, and the gradient is ``d lut[g] / d theta := 1``;
    2. crosstalk: the shown phases are convolved with a small kernel
       (``crosstalk=c`` gives the nearest-neighbour kernel of
       :func:`photonn.functional.slm.crosstalk_kernel`; or give a kernel tensor);
    3. fill factor ``ff``: with ``oversample = s > 1`` simulation samples per
       pixel, each pixel's central ``a x a`` samples modulate
       (``a = round(sqrt(ff) s)``) and the gap passes light unmodulated; with
       ``s = 1`` the pixel-averaged (zero-order) transmission
       ``ff exp(i phi) + (1 - ff)`` is used.

    Args:
        grid: simulation :class:`photonn.Grid`; its shape must be a multiple of
            ``oversample``; the SLM pixel pitch is ``oversample * spacing``.
        bits: gray-level bit depth (default 8; inferred from ``lut`` if given).
        max_phase: stroke [rad] of the default linear LUT ``max_phase * g / 2**bits``.
        lut: optional ``(2**bits,)`` phase [rad] per gray level.
        fill_factor: pixel area fraction that modulates, in (0, 1].
        oversample: simulation samples per SLM pixel per axis (default 1).
        crosstalk: nearest-neighbour coupling in ``[0, 0.25)``, or an odd 2-D kernel.
        init: ``"zeros"``, ``"uniform"`` (needs ``generator``) or a ``(py, px)`` tensor.
        quantizer: training-time quantiser over the table's phases
            (:func:`photonn.functional.quantizers.make_quantizer`): ``"ste"`` (default),
            ``"gumbel"`` (noise drawn from ``generator``), ``"staircase"``, ``"lsq"``
            (learns its step [rad] as ``quant_log_step``) or a quantiser object.
        dtype: complex dtype of the fields.

    Shapes:
        field ``(..., ny, nx)`` -> same.
    """

    def __init__(
        self,
        grid,
        *,
        bits: int | None = None,
        max_phase: float = 2 * math.pi,
        lut=None,
        fill_factor: float = 1.0,
        oversample: int = 1,
        crosstalk=0.0,
        init="zeros",
        quantizer="ste",
        generator: torch.Generator | None = None,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__(grid, dtype=dtype, device=device, generator=generator)
        self.quantizer = make_quantizer(
            quantizer,
            period=2 * math.pi,
            generator=generator if isinstance(quantizer, str) and quantizer == "gumbel" else None,
        )
        self.quantizer_progress = 1.0
        rdt = real_of(dtype)
        self.oversample = positive_int(oversample, "oversample")
        s = self.oversample
        if grid.ny % s or grid.nx % s:
            raise ValueError(
                f"grid shape {grid.shape} is not a multiple of oversample={s}; "
                "choose a grid with a whole number of SLM pixels"
            )
        self.pixels = (grid.ny // s, grid.nx // s)
        self.pixel_pitch = (grid.dy * s, grid.dx * s)
        if lut is None:
            b = 8 if bits is None else bits
            table = linear_lut(b, max_phase)
        else:
            table = _lut_tensor(lut, bits)
        self.bits = int(round(math.log2(table.numel())))
        self.register_buffer("lut", table.to(device=device, dtype=rdt), persistent=False)
        if quantizer_name(self.quantizer) != "ste":
            lv = torch.sort(torch.remainder(table, 2 * math.pi)).values
            if not bool((lv[1:] > lv[:-1]).all()):
                raise ValueError(
                    "the look-up table shows some phase twice (modulo 2 pi); a quantiser "
                    "other than 'ste' needs distinct levels: drop the repeated gray levels"
                )
            self.register_buffer("levels", lv.to(device=device, dtype=rdt), persistent=False)
            if quantizer_name(self.quantizer) == "lsq":
                step = (lv[-1] - lv[0]) / (lv.numel() - 1)
                self.quant_log_step = nn.Parameter(step.log())
        self.max_phase = float(table.max())
        self.fill_factor = fraction(fill_factor, "fill_factor (an area fraction)")
        if isinstance(crosstalk, torch.Tensor):
            kernel = check_kernel(
                crosstalk.detach().to(dtype=rdt, device=device), "crosstalk kernel"
            )
        else:
            kernel = crosstalk_kernel(crosstalk, dtype=rdt, device=device)
        self.has_crosstalk = not bool((kernel.numel() == 1) or (kernel == _delta(kernel)).all())
        self.register_buffer("kernel", kernel, persistent=False)
        distinct = torch.unique(torch.remainder(table, 2 * math.pi))  # sorted
        self._secant = (
            quantizer_name(self.quantizer) == "ste"
            and not self.has_crosstalk
            and distinct.numel() >= 2
        )
        theta = initial_values(init, self.pixels, rdt, generator, 2 * math.pi)
        if self._secant:
            self.register_buffer(
                "secant_levels", distinct.to(device=device, dtype=rdt), persistent=False
            )
            if isinstance(init, str) and init == "zeros":
                theta = theta + edge_start(distinct)
        self.phase = nn.Parameter(theta.to(device))

    @property
    def realised_fill_factor(self) -> float:
        """Fill factor as simulated: ``(a / s)^2`` on an oversampled grid, else ``fill_factor``."""
        if self.oversample == 1:
            return self.fill_factor
        return (_fill_width(self.fill_factor, self.oversample) / self.oversample) ** 2

    # -- device state ------------------------------------------------------
    def gray_levels(self) -> torch.Tensor:
        """Gray level shown on each pixel, int64 ``(py, px)`` (what a controller would send):
        in evaluation, ``lut[gray_levels()]`` is :meth:`quantized_phase` exactly."""
        if quantizer_name(self.quantizer) == "ste":
            return nearest_level(self.phase, self.lut)
        with torch.no_grad():
            training, self.training = self.training, False
            try:
                phi = self.quantized_phase()
            finally:
                self.training = training
        return nearest_level(phi, self.lut)

    def quantized_phase(self) -> torch.Tensor:
        """Phase [rad] after quantisation, before crosstalk, real ``(py, px)``."""
        if quantizer_name(self.quantizer) == "ste":
            return quantize_phase_ste(self.phase, self.lut)
        return device_quantize(
            self.phase,
            self.levels,
            self.quantizer,
            lambda p: self.lut[nearest_level(p, self.lut)],
            training=self.training,
            progress=self.quantizer_progress,
            step=self.quant_log_step.exp() if hasattr(self, "quant_log_step") else None,
        )

    def shown_phase(self) -> torch.Tensor:
        """Phase [rad] after quantisation and crosstalk, real ``(py, px)``."""
        phi = self.quantized_phase()
        if self.has_crosstalk:
            phi = _convolve(phi, self.kernel)  # checked at construction
        return phi

    def transmission(self) -> torch.Tensor:
        """Complex ``(ny, nx)`` transmission on the simulation grid."""
        if self._secant:
            t = level_transmission_ste(self.phase, self.secant_levels)
            return _pixelate_transmission(t, self.oversample, self.fill_factor)
        return _pixelate(self.shown_phase(), self.oversample, self.fill_factor)

    # -- construction from a device profile ---------------------------------
    @classmethod
    def from_profile(
        cls,
        profile,
        /,
        *,
        grid: Grid | None = None,
        wavelength: float | None = None,
        **kwargs,
    ) -> SLM:
        """Build from an ``slm`` device profile.

        ``profile``: a ``DeviceProfile``, a shipped name, a ``.toml`` path or a
        mapping of SI values (see :func:`photonn.devices.resolve_profile`); the only
        positional argument. The profile gives the look-up table, the fill factor
        and the pixel pitch; other keywords (``crosstalk``, ``init``, ``generator``,
        ``dtype``, ``device``) go to the constructor, plus:

        Args:
            grid: simulation grid; its spacing must divide the pixel pitch
                (``oversample = pitch / spacing``, an integer) and it may cover
                a window of the panel. Default: the whole panel, one sample per pixel.
            wavelength: operating wavelength [m]; the phases scale as
                ``design_wavelength / wavelength`` (see
                :meth:`~photonn.devices.SLMProfile.phase_lut`). Default: the
                design wavelength.
        """
        prof = resolve_profile(profile, kind="slm")
        pitch, res = prof.pixel_pitch, prof.resolution
        table = prof.phase_lut(wavelength)
        if grid is None:
            grid = Grid(res, pitch)
            s = 1
        else:
            check_grid(grid)
            sy, sx = pitch / grid.dy, pitch / grid.dx
            s = round(sy)
            if s < 1 or abs(sy - s) > 1e-6 * s or abs(sx - s) > 1e-6 * s:
                raise ValueError(
                    f"the SLM pitch {pitch:.6g} m is not a whole multiple of the grid spacing "
                    f"{grid.spacing}; use a spacing of pitch / k for an integer k"
                )
            if grid.ny // s > res[0] or grid.nx // s > res[1]:
                raise ValueError(
                    f"{grid} needs {(grid.ny // s, grid.nx // s)} pixels but the panel has {res}"
                )
        return cls(
            grid, lut=table, fill_factor=prof.get("fill_factor", 1.0), oversample=s, **kwargs
        )

    def extra_repr(self) -> str:
        return (
            f"grid={self.grid}, pixels={self.pixels}, bits={self.bits}, "
            f"max_phase={self.max_phase:.4g}, fill_factor={self.fill_factor}, "
            f"oversample={self.oversample}, dtype={self.dtype}"
        )


forward_keywords(
    SLM.from_profile, SLM, supplied=("bits", "max_phase", "lut", "fill_factor", "oversample")
)


def _delta(kernel: torch.Tensor) -> torch.Tensor:
    d = torch.zeros_like(kernel)
    d[kernel.shape[0] // 2, kernel.shape[1] // 2] = 1.0
    return d
