"""Polarization elements acting on ``(..., 2, ny, nx)`` fields (Jones axis ``(Ex, Ey)``).

Thin modules over :mod:`photonn.functional.jones`. Angles are in radians from
the +x axis towards +y; a wave plate's slow axis is delayed by ``exp(+i G)``
(time dependence ``exp(-i w t)``). See ``docs/polarization.md``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import complex_dtype, finite_float, one_of, positive_float, real_of
from .._module import ComplexModule
from ..functional.jones import (
    apply_jones,
    check_jones_field,
    jones_modulate,
    jones_modulator_matrix,
    polarizer_matrix,
    retarder_matrix,
    rotator_matrix,
)
from ..functional.masks import bounded_phase, wrap_phase
from ..functional.slm import quantize_phase_ste, uniform_levels
from ._common import check_grid

__all__ = [
    "Polarizer",
    "WavePlate",
    "QuarterWavePlate",
    "HalfWavePlate",
    "Rotator",
    "PolarizingBeamSplitter",
    "JonesMatrix",
    "JonesModulator",
]


def _check(module, field):
    check_jones_field(field)
    if field.dtype != module.dtype:
        raise TypeError(
            f"field is {field.dtype} but this {type(module).__name__} was built for "
            f"{module.dtype}; build it with dtype={field.dtype} "
            "(never cast optical modules with .to(dtype))"
        )
    grid = getattr(module, "grid", None)
    if grid is not None:
        grid.check_field(field)


class _UniformJones(ComplexModule):
    """A uniform (position-independent) Jones matrix kept as a buffer ``J`` (2, 2)."""

    def _set(self, J: torch.Tensor, device) -> None:
        self.register_buffer("J", J.to(device=device, dtype=self.dtype), persistent=False)

    def matrix(self) -> torch.Tensor:
        """The ``(2, 2)`` Jones matrix ``J[out, in]``."""
        return self.J

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        _check(self, field)
        return apply_jones(field, self.J)


class Polarizer(_UniformJones):
    """Ideal linear polarizer transmitting along ``angle`` [rad] from +x.

    Malus's law: a linear input at ``a`` keeps the power fraction ``cos^2(a - angle)``.

    Shapes: complex ``(..., 2, ny, nx)`` -> same.
    """

    def __init__(self, angle=0.0, *, dtype=torch.complex64, device=None):
        super().__init__()
        self.dtype = complex_dtype(dtype)
        self.angle = finite_float(angle, "angle")
        self._set(polarizer_matrix(self.angle), device)

    def extra_repr(self) -> str:
        return f"angle={self.angle:.6g}, dtype={self.dtype}"


class WavePlate(_UniformJones):
    """Linear retarder: fast axis at ``angle`` [rad], slow axis delayed by ``retardance`` [rad].

    ``J = R(angle) diag(1, exp(i retardance)) R(-angle)`` (lossless). A quarter-wave
    plate at ``angle = pi/4`` turns x-linear light into right-circular light
    (``S3 > 0``; clockwise looking at the source).
    """

    def __init__(self, retardance, angle=0.0, *, dtype=torch.complex64, device=None):
        super().__init__()
        self.dtype = complex_dtype(dtype)
        self.retardance = finite_float(retardance, "retardance")
        self.angle = finite_float(angle, "angle")
        self._set(retarder_matrix(self.retardance, self.angle), device)

    def extra_repr(self) -> str:
        return f"retardance={self.retardance:.6g}, angle={self.angle:.6g}, dtype={self.dtype}"


class QuarterWavePlate(WavePlate):
    """:class:`WavePlate` of retardance ``pi / 2``."""

    def __init__(self, angle=0.0, *, dtype=torch.complex64, device=None):
        super().__init__(math.pi / 2, angle, dtype=dtype, device=device)


class HalfWavePlate(WavePlate):
    """:class:`WavePlate` of retardance ``pi``: mirrors linear polarization about its fast axis."""

    def __init__(self, angle=0.0, *, dtype=torch.complex64, device=None):
        super().__init__(math.pi, angle, dtype=dtype, device=device)


class Rotator(_UniformJones):
    """Polarization rotator (optical activity): turns every state by ``angle`` [rad], x -> y."""

    def __init__(self, angle, *, dtype=torch.complex64, device=None):
        super().__init__()
        self.dtype = complex_dtype(dtype)
        self.angle = finite_float(angle, "angle")
        self._set(rotator_matrix(self.angle), device)

    def extra_repr(self) -> str:
        return f"angle={self.angle:.6g}, dtype={self.dtype}"


class JonesMatrix(_UniformJones):
    """A general uniform Jones matrix ``J[out, in]`` (complex ``(2, 2)``), or per pixel
    ``(2, 2, ny, nx)``. Fixed (a buffer); for a learnable element use :class:`JonesModulator`."""

    def __init__(self, matrix, *, dtype=torch.complex64, device=None):
        super().__init__()
        self.dtype = complex_dtype(dtype)
        J = torch.as_tensor(matrix)
        if J.ndim not in (2, 4) or tuple(J.shape[:2]) != (2, 2):
            raise ValueError(
                f"matrix has shape {tuple(J.shape)}; a Jones matrix is (2, 2) or (2, 2, ny, nx)"
            )
        if not bool(torch.isfinite(torch.view_as_real(J.to(torch.complex128))).all()):
            raise ValueError("matrix holds NaN or Inf values")
        self._set(J.to(torch.complex128), device)


class PolarizingBeamSplitter(ComplexModule):
    """Splits a field into its components along ``angle`` and ``angle + pi/2``.

    ``forward`` returns ``(transmitted, reflected)``, each ``(..., 2, ny, nx)``:
    the projections onto the two orthogonal axes (an ideal cube: no loss, no
    cross-talk, so their powers add up to the input power). The reflected port
    is expressed in the same lab (x, y) basis as the input.
    """

    def __init__(self, angle=0.0, *, dtype=torch.complex64, device=None):
        super().__init__()
        self.dtype = complex_dtype(dtype)
        self.angle = finite_float(angle, "angle")
        self.register_buffer(
            "Jt", polarizer_matrix(self.angle).to(device=device, dtype=dtype), persistent=False
        )
        self.register_buffer(
            "Jr",
            polarizer_matrix(self.angle + math.pi / 2).to(device=device, dtype=dtype),
            persistent=False,
        )

    def forward(self, field: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check(self, field)
        return apply_jones(field, self.Jt), apply_jones(field, self.Jr)

    def extra_repr(self) -> str:
        return f"angle={self.angle:.6g}, dtype={self.dtype}"


class JonesModulator(ComplexModule):
    """Per-pixel birefringent modulator (metasurface, liquid-crystal SLM), trainable.

    Each pixel applies ``J = R(a) diag(exp(i p1), exp(i p2)) R(-a)``: two phase
    delays ``p1, p2`` along the axes at ``a`` and ``a + pi/2``. Learnable: the raw
    phases ``raw_fast``, ``raw_slow`` (real ``(ny, nx)``) and, with
    ``learn_angle=True``, the axis angles ``angle`` (real ``(ny, nx)``).

    The phases follow :class:`~photonn.freespace.PhaseMask`: ``mode="free"``
    (``p = raw``), ``"wrapped"`` (``raw mod 2 pi``) or ``"bounded"``
    (``max_phase * sigmoid(raw)``); ``bits`` quantises them to ``2**bits`` levels on
    the circle with a straight-through gradient (the scalar SLM's quantiser).

    Args:
        grid: :class:`photonn.Grid`.
        angle: initial axis angle [rad] (float, or a real ``(ny, nx)`` tensor).
        learn_angle: make the angles learnable (default True).
        mode, max_phase, bits: as above.
        init: ``"zeros"`` (identity), ``"uniform"`` (phases uniform on ``[0, 2 pi)``,
            angles uniform on ``[0, pi)`` when learnt; needs ``generator``).
        dtype: complex dtype of the fields; parameters are the matching real dtype.

    Shapes:
        complex ``(..., 2, ny, nx)`` -> same.
    """

    def __init__(
        self,
        grid,
        *,
        angle=0.0,
        learn_angle: bool = True,
        mode: str = "free",
        max_phase: float = 2 * math.pi,
        bits: int | None = None,
        init: str = "zeros",
        generator: torch.Generator | None = None,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__()
        self.grid = check_grid(grid)
        self.dtype = complex_dtype(dtype)
        rdt = real_of(dtype)
        self.mode = one_of(mode, ("free", "wrapped", "bounded"), "mode")
        self.max_phase = positive_float(max_phase, "max_phase")
        one_of(init, ("zeros", "uniform"), "init")
        self.bits = bits
        if bits is not None:
            levels = uniform_levels(bits, dtype=rdt, device=device)
            self.register_buffer("levels", levels, persistent=False)
        else:
            self.levels = None
        shape = grid.shape
        if isinstance(angle, torch.Tensor):
            if tuple(angle.shape) not in ((), shape):
                raise ValueError(f"angle has shape {tuple(angle.shape)}, expected () or {shape}")
            a0 = angle.detach().to(rdt).expand(shape).clone()
        else:
            a0 = torch.full(shape, finite_float(angle, "angle"), dtype=rdt)
        if init == "uniform":
            if generator is None:
                raise ValueError(
                    "init='uniform' draws random values: pass generator=torch.Generator()"
                )
            if mode == "bounded":
                p = torch.rand((2, *shape), generator=generator, dtype=rdt) * 4.0 - 2.0
            else:
                p = torch.rand((2, *shape), generator=generator, dtype=rdt) * (2 * math.pi)
            if learn_angle:
                a0 = torch.rand(shape, generator=generator, dtype=rdt) * math.pi
        else:
            p = torch.zeros((2, *shape), dtype=rdt)
        self.raw_fast = nn.Parameter(p[0].to(device))
        self.raw_slow = nn.Parameter(p[1].to(device))
        self.learn_angle = bool(learn_angle)
        if self.learn_angle:
            self.angle = nn.Parameter(a0.to(device))
        else:
            self.register_buffer("angle", a0.to(device))

    def _phase(self, raw: torch.Tensor) -> torch.Tensor:
        if self.mode == "bounded":
            phi = bounded_phase(raw, self.max_phase)
        elif self.mode == "wrapped":
            phi = wrap_phase(raw)
        else:
            phi = raw
        if self.levels is not None:
            phi = quantize_phase_ste(phi, self.levels)
        return phi

    def phases(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Applied phases ``(p1, p2)`` [rad], each real ``(ny, nx)``."""
        return self._phase(self.raw_fast), self._phase(self.raw_slow)

    def matrix(self) -> torch.Tensor:
        """Per-pixel Jones matrices, complex ``(2, 2, ny, nx)``."""
        p1, p2 = self.phases()
        return jones_modulator_matrix(p1, p2, self.angle, dtype=self.dtype)

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        _check(self, field)
        p1, p2 = self.phases()
        return jones_modulate(field, p1, p2, self.angle)

    def extra_repr(self) -> str:
        b = f", bits={self.bits}" if self.bits is not None else ""
        return (
            f"grid={self.grid}, mode={self.mode!r}{b}, learn_angle={self.learn_angle}, "
            f"dtype={self.dtype}"
        )
