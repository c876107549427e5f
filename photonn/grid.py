"""``Grid``: the sampling of a transverse plane.

A grid is frozen and hashable, so it can key caches and be shared by modules.
Array layout is ``[..., y, x]``; the optical axis passes through index
``n // 2`` on each axis; frequencies follow ``torch.fft.fftfreq`` (unshifted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ._checks import positive_float


def _pair(value, name: str, kind):
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a scalar or a pair (y, x), got {value!r}")
        return tuple(kind(v, f"{name}[{i}]") for i, v in enumerate(value))
    v = kind(value, name)
    return (v, v)


def _size(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


@dataclass(frozen=True, init=False)
class Grid:
    """Uniform sampling of a transverse plane.

    Args:
        shape: ``(ny, nx)`` samples, or one int for a square grid.
        spacing: ``(dy, dx)`` pixel pitch [m], or one float for square pixels.

    Example:
        >>> from photonn import Grid
        >>> from photonn.units import um
        >>> g = Grid((512, 512), 4 * um)
        >>> g.extent  # (Ly, Lx) [m]
        (0.002048, 0.002048)
    """

    shape: tuple[int, int]
    spacing: tuple[float, float]

    def __init__(self, shape, spacing):
        object.__setattr__(self, "shape", _pair(shape, "shape", _size))
        object.__setattr__(self, "spacing", _pair(spacing, "spacing", positive_float))

    # -- sizes ---------------------------------------------------------------
    @property
    def ny(self) -> int:
        return self.shape[0]

    @property
    def nx(self) -> int:
        return self.shape[1]

    @property
    def dy(self) -> float:
        """Pixel pitch along y [m]."""
        return self.spacing[0]

    @property
    def dx(self) -> float:
        """Pixel pitch along x [m]."""
        return self.spacing[1]

    @property
    def extent(self) -> tuple[float, float]:
        """Physical size ``(ny * dy, nx * dx)`` [m]."""
        return (self.ny * self.dy, self.nx * self.dx)

    @property
    def numel(self) -> int:
        return self.ny * self.nx

    @property
    def pixel_area(self) -> float:
        """``dy * dx`` [m^2]; power is ``sum(|E|^2) * pixel_area``."""
        return self.dy * self.dx

    # -- coordinates ---------------------------------------------------------
    def x(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """x coordinates [m], shape ``(nx,)``, zero at index ``nx // 2``."""
        return (torch.arange(self.nx, dtype=dtype, device=device) - self.nx // 2) * self.dx

    def y(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """y coordinates [m], shape ``(ny,)``, zero at index ``ny // 2``."""
        return (torch.arange(self.ny, dtype=dtype, device=device) - self.ny // 2) * self.dy

    def meshgrid(self, *, dtype=torch.float64, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(Y, X)`` coordinate arrays [m], each of shape ``(ny, nx)``."""
        return torch.meshgrid(
            self.y(dtype=dtype, device=device), self.x(dtype=dtype, device=device), indexing="ij"
        )

    def r2(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """Squared distance from the optical axis ``x^2 + y^2`` [m^2], shape ``(ny, nx)``."""
        y = self.y(dtype=dtype, device=device)
        x = self.x(dtype=dtype, device=device)
        return y[:, None] ** 2 + x[None, :] ** 2

    # -- frequencies ---------------------------------------------------------
    def fx(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """Spatial frequencies along x [1/m], unshifted (``fftfreq`` order), shape ``(nx,)``."""
        return torch.fft.fftfreq(self.nx, d=self.dx, dtype=dtype, device=device)

    def fy(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """Spatial frequencies along y [1/m], unshifted, shape ``(ny,)``."""
        return torch.fft.fftfreq(self.ny, d=self.dy, dtype=dtype, device=device)

    def f2(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """``fx^2 + fy^2`` [1/m^2], unshifted, shape ``(ny, nx)``."""
        fy = self.fy(dtype=dtype, device=device)
        fx = self.fx(dtype=dtype, device=device)
        return fy[:, None] ** 2 + fx[None, :] ** 2

    @property
    def nyquist(self) -> tuple[float, float]:
        """Nyquist frequencies ``(1 / (2 dy), 1 / (2 dx))`` [1/m]."""
        return (0.5 / self.dy, 0.5 / self.dx)

    # -- derived grids -------------------------------------------------------
    def padded(self, factor) -> Grid:
        """The grid zero-padded by ``factor`` (>= 1) per axis, same spacing.

        The new size is ``ceil(factor * n)`` on each axis; ``factor`` may be a pair.
        """
        fy, fx = _pair(factor, "factor", positive_float)
        if fy < 1 or fx < 1:
            raise ValueError(f"padding factor must be >= 1, got {factor!r}")
        return Grid((math.ceil(fy * self.ny - 1e-9), math.ceil(fx * self.nx - 1e-9)), self.spacing)

    def with_shape(self, shape) -> Grid:
        return Grid(shape, self.spacing)

    def with_spacing(self, spacing) -> Grid:
        return Grid(self.shape, spacing)

    def check_field(self, field: torch.Tensor, name: str = "field") -> None:
        """Raise ``ValueError`` unless ``field.shape[-2:] == (ny, nx)``."""
        if field.ndim < 2 or tuple(field.shape[-2:]) != self.shape:
            raise ValueError(
                f"{name} has shape {tuple(field.shape)}, but the grid is {self.shape} (ny, nx); "
                f"the last two dimensions of {name} must be {self.shape}"
            )

    def __repr__(self) -> str:
        return f"Grid(shape={self.shape}, spacing=({self.dy:.6g}, {self.dx:.6g}))"
