"""``FourierLens``: the exact optical Fourier transform of an f-f system."""

from __future__ import annotations

import math

import torch

from .._checks import check_pad_factor, positive_float
from ..functional.fourier import centered_fft2, pad_centered
from ..functional.propagation import _fraunhofer_output_grid
from ._element import GridElement

__all__ = ["FourierLens"]


class FourierLens(GridElement):
    """Front focal plane -> back focal plane of a lens of focal length ``f`` (an f-f system).

    ``U_f(u, v) = exp(2 i k f) / (i lambda f) * FT[U](u / (lambda f), v / (lambda f))``:
    the Fraunhofer transform without its quadratic phase factor, which the f-f
    geometry cancels exactly (Goodman, Fourier Optics, section 5.2). One centred
    FFT; power is conserved (Parseval).

    Args:
        grid: input :class:`photonn.Grid` (front focal plane).
        wavelength: [m].
        focal_length: [m], > 0.
        pad_factor: zero padding (>= 1) before the FFT; samples the focal plane more finely.
        dtype: complex64 (default) or complex128.
        device: accepted like every element's; the module holds no tensor (its scale
            is a Python complex), so there is nothing to place.

    Attributes:
        output_grid: focal-plane grid, ``ceil(pad_factor n)`` samples of pitch
            ``lambda f / (N d)`` per axis.

    Shapes:
        ``(..., ny, nx)`` -> ``(..., Ny, Nx)`` on ``output_grid``.
    """

    def __init__(
        self, grid, wavelength, focal_length, *, pad_factor=1.0, dtype=torch.complex64, device=None
    ):
        super().__init__(grid, dtype=dtype, device=device)
        self.wavelength = positive_float(wavelength, "wavelength")
        self.focal_length = positive_float(focal_length, "focal_length")
        self.pad_factor = pad = check_pad_factor(pad_factor)
        self.output_grid = _fraunhofer_output_grid(grid, self.wavelength, self.focal_length, pad)
        lam, f = self.wavelength, self.focal_length
        k = 2 * math.pi / lam
        ph = math.remainder(2 * k * f, 2 * math.pi)
        # exp(2ikf) / (i lambda f) * dx dy
        self.scale = complex(math.sin(ph), -math.cos(ph)) * (grid.dx * grid.dy / (lam * f))

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        self._check_field(field)
        return centered_fft2(pad_centered(field, self.output_grid.shape)) * self.scale

    def extra_repr(self) -> str:
        return (
            f"grid={self.grid}, wavelength={self.wavelength:.6g}, "
            f"focal_length={self.focal_length:.6g}, output_grid={self.output_grid}"
        )
