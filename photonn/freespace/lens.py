"""``ThinLens``: the quadratic phase of an ideal thin lens, with an optional pupil."""

from __future__ import annotations

import torch

from .._checks import finite_float, positive_float
from ..functional.optics import circular_aperture, thin_lens_phase
from ._element import GridElement

__all__ = ["ThinLens"]


class ThinLens(GridElement):
    """An ideal thin lens ``t = P(x, y) exp(-i k (x^2 + y^2) / (2 f))``.

    Args:
        grid: :class:`photonn.Grid`; the lens axis is at index ``n // 2``.
        wavelength: [m].
        focal_length: [m]; positive focuses, negative diverges.
        diameter: optional circular pupil ``P`` [m] (default: no pupil).
        dtype: complex64 (default) or complex128. The phase is built in float64
            and cast once.

    Shapes:
        field ``(..., ny, nx)`` -> same.
    """

    def __init__(
        self, grid, wavelength, focal_length, *, diameter=None, dtype=torch.complex64, device=None
    ):
        super().__init__(grid, dtype=dtype, device=device)
        self.wavelength = positive_float(wavelength, "wavelength")
        self.focal_length = finite_float(focal_length, "focal_length")
        self.diameter = None if diameter is None else positive_float(diameter, "diameter")
        phase = thin_lens_phase(grid, self.wavelength, self.focal_length, device=device)
        t = torch.polar(torch.ones_like(phase), phase)
        if self.diameter is not None:
            t = t * circular_aperture(grid, self.diameter, device=device)
        self.register_buffer("t", t.to(dtype), persistent=False)

    def transmission(self) -> torch.Tensor:
        return self.t

    def extra_repr(self) -> str:
        d = f", diameter={self.diameter:.6g}" if self.diameter is not None else ""
        return (
            f"grid={self.grid}, wavelength={self.wavelength:.6g}, "
            f"focal_length={self.focal_length:.6g}{d}, dtype={self.dtype}"
        )
