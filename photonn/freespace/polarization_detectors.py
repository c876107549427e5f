"""Detectors for polarized fields ``(..., 2, ny, nx)``: intensity, Stokes, analyser camera."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import COMPLEX_DTYPES, input_dtype, optional_dtype, positive_float
from ..functional.jones import apply_jones, check_jones_field, polarizer_matrix, stokes
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
    ):
        super().__init__()
        self.dtype = optional_dtype(dtype, COMPLEX_DTYPES)
        self.grid = None if grid is None else check_grid(grid)
        self.longitudinal = bool(longitudinal)
        self.refractive_index = positive_float(refractive_index, "refractive_index")
        if self.longitudinal and (grid is None or wavelength is None):
            raise ValueError("longitudinal=True derives Ez: pass grid and wavelength")
        self.wavelength = None if wavelength is None else positive_float(wavelength, "wavelength")

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        check_jones_field(field)
        input_dtype(self, field, self.dtype, "field")
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

    def __init__(self, *, dtype=None):
        super().__init__()
        self.dtype = optional_dtype(dtype, COMPLEX_DTYPES)

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        input_dtype(self, field, self.dtype, "field")
        return stokes(field)


class PolarizerCamera(nn.Module):
    """A :class:`~photonn.freespace.Camera` behind a linear analyser at ``angle`` [rad].

    Pixel power [W] of the light transmitted by an ideal polarizer: the field is
    projected, then the camera (binning, noise) integrates ``|Ex|^2 + |Ey|^2``.

    Args:
        grid: simulation :class:`photonn.Grid`.
        angle: analyser axis [rad] from +x.
        camera: an existing :class:`~photonn.freespace.Camera` on ``grid``; or
        **camera_kwargs: passed to ``Camera(grid, ...)`` (``binning``, ``noise``, ``dtype``).

    Shapes: complex ``(..., 2, ny, nx)`` -> real ``(..., ny / by, nx / bx)``.
    """

    def __init__(self, grid, angle=0.0, *, camera: Camera | None = None, **camera_kwargs):
        super().__init__()
        self.grid = check_grid(grid)
        if camera is not None and camera_kwargs:
            raise ValueError("give either camera= or camera keywords, not both")
        self.camera = camera if camera is not None else Camera(grid, **camera_kwargs)
        if self.camera.grid != self.grid:
            raise ValueError(f"camera is on {self.camera.grid}, expected {self.grid}")
        self.angle = float(angle)
        self.register_buffer(
            "J", polarizer_matrix(self.angle, dtype=torch.complex128), persistent=False
        )

    def pixel_power(self, field: torch.Tensor) -> torch.Tensor:
        """Noise-free power [W] per camera pixel behind the analyser."""
        check_jones_field(field)
        return self.camera.pixel_power(apply_jones(field, self.J)).sum(-3)

    def forward(self, field: torch.Tensor, generator: torch.Generator | None = None):
        p = self.pixel_power(field)
        noise = self.camera.noise
        if noise is None:
            return p
        return noise(p, generator) if generator is not None else noise(p)

    def extra_repr(self) -> str:
        return f"angle={self.angle:.6g}"
