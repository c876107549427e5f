"""Detectors for polarized fields ``(..., 2, ny, nx)``: intensity, Stokes, analyser camera."""

from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import (
    COMPLEX_DTYPES,
    check_device,
    finite_float,
    input_dtype,
    optional_dtype,
    positive_float,
)
from ..functional.jones import check_jones_field, stokes
from ..functional.vectorial import vector_intensity
from ._common import check_grid
from .camera import Camera

__all__ = ["PolarizedIntensity", "StokesDetector", "PolarizerCamera"]


class PolarizedIntensity(nn.Module):
    """``|Ex|^2 + |Ey|^2`` [W/m^2], and ``+ |Ez|^2`` with ``longitudinal=True``.

    Args:
        grid, wavelength: needed for ``longitudinal=True`` (``Ez`` from transversality,
            :func:`photonn.functional.longitudinal_field`).
        longitudinal: include the longitudinal component.
        refractive_index: of the medium, for ``Ez``.
        dtype: ``None`` (any field) or the complex dtype the fields must have.
        device: accepted like every element's; the detector holds no tensor.

    Shapes: complex ``(..., 2, ny, nx)`` -> real ``(..., ny, nx)``.
    """

    def __init__(
        self,
        grid=None,
        wavelength=None,
        *,
        longitudinal: bool = False,
        refractive_index: float = 1.0,
        dtype=None,
        device=None,
    ):
        super().__init__()
        self.dtype = optional_dtype(dtype, COMPLEX_DTYPES)
        check_device(device)
        self.grid = None if grid is None else check_grid(grid)
        self.longitudinal = bool(longitudinal)
        self.refractive_index = positive_float(refractive_index, "refractive_index")
        if self.longitudinal and (grid is None or wavelength is None):
            raise ValueError("longitudinal=True derives Ez: pass grid and wavelength")
        self.wavelength = None if wavelength is None else positive_float(wavelength, "wavelength")

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        input_dtype(self, field, self.dtype, "field")
        check_jones_field(field)
        if self.grid is not None:
            self.grid.check_field(field)
        return vector_intensity(
            field,
            self.grid,
            self.wavelength,
            longitudinal=self.longitudinal,
            refractive_index=self.refractive_index,
        )


class StokesDetector(nn.Module):
    """Stokes parameters ``(S0, S1, S2, S3)`` per sample, real ``(..., 4, ny, nx)`` [W/m^2].

    ``S3 > 0``: right-circular (clockwise looking at the source, ``exp(-i w t)``);
    see :func:`photonn.functional.jones.stokes`.
    """

    def __init__(self, *, dtype=None, device=None):
        super().__init__()
        self.dtype = optional_dtype(dtype, COMPLEX_DTYPES)
        check_device(device)

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        input_dtype(self, field, self.dtype, "field")
        return stokes(field)


class PolarizerCamera(nn.Module):
    """A :class:`~photonn.freespace.Camera` behind a linear analyser at ``angle`` [rad].

    Pixel power [W] of the light transmitted by an ideal polarizer: the camera
    (binning, noise) integrates ``|cos(angle) Ex + sin(angle) Ey|^2``.

    Args:
        grid: simulation :class:`photonn.Grid`.
        angle: analyser axis [rad] from +x.
        camera: an existing :class:`~photonn.freespace.Camera` on ``grid``; or
        binning, noise: passed to ``Camera(grid, ...)``.
        dtype: ``None`` (any field) or the complex dtype the fields must have.
        device: accepted like every element's; the camera holds no tensor.

    Shapes: complex ``(..., 2, ny, nx)`` -> real ``(..., ny / by, nx / bx)``.
    """

    def __init__(
        self,
        grid,
        angle=0.0,
        *,
        camera: Camera | None = None,
        binning=1,
        noise: nn.Module | None = None,
        dtype=None,
        device=None,
    ):
        super().__init__()
        self.grid = check_grid(grid)
        self.dtype = optional_dtype(dtype, COMPLEX_DTYPES)
        check_device(device)
        if camera is None:
            camera = Camera(grid, binning=binning, noise=noise, dtype=dtype)
        elif binning != 1 or noise is not None:
            raise ValueError("give either camera= or binning= / noise=, not both")
        self.camera = camera
        if self.camera.grid != self.grid:
            raise ValueError(f"camera is on {self.camera.grid}, expected {self.grid}")
        self.angle = finite_float(angle, "angle")
        c, s = math.cos(self.angle), math.sin(self.angle)
        # exact zeros at multiples of pi / 2 (cos(pi / 2) = 6e-17 in float64)
        self._axis = (0.0 if abs(c) < 1e-12 else c, 0.0 if abs(s) < 1e-12 else s)

    def pixel_power(self, field: torch.Tensor) -> torch.Tensor:
        """Noise-free power [W] per camera pixel behind the analyser."""
        input_dtype(self, field, self.dtype, "field")
        check_jones_field(field)
        c, s = self._axis
        return self.camera.pixel_power(c * field[..., 0, :, :] + s * field[..., 1, :, :])

    def forward(self, field: torch.Tensor, generator: torch.Generator | None = None):
        p = self.pixel_power(field)
        noise = self.camera.noise
        if noise is None:
            return p
        return noise(p, generator) if generator is not None else noise(p)

    def extra_repr(self) -> str:
        return f"angle={self.angle:.6g}"
