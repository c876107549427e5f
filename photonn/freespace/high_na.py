"""``HighNALens``: aplanatic focusing of a polarized beam (vector Debye / Richards-Wolf)."""

from __future__ import annotations

import math

import torch

from .._checks import complex_dtype, finite_float, positive_float, real_of
from .._module import ComplexModule
from ..functional.jones import check_jones_field
from ..functional.vectorial import (
    check_numerical_aperture,
    pupil_weights,
    richards_wolf_focus,
)
from ..grid import Grid
from ._common import check_grid

__all__ = ["HighNALens", "MIN_PUPIL_SAMPLES"]

#: least number of spectral samples across the pupil radius
MIN_PUPIL_SAMPLES = 8


class HighNALens(ComplexModule):
    """An aplanatic lens of numerical aperture ``na`` focusing a polarized beam.

    The Richards-Wolf model (apodisation ``sqrt(cos theta)``, the radial part of
    the polarization turned from ``n_rho`` to ``n_theta`` on refraction, sine
    condition), evaluated as one inverse FFT onto the focal ``grid``: see
    :mod:`photonn.functional.vectorial` (Leutenegger et al., Opt. Express 2006).

    The input is the incident field in the entrance pupil on :attr:`pupil_grid`
    (same shape as ``grid``, spacing ``f lambda / (n N d)``, axis at ``n // 2``):
    its samples outside the pupil radius ``f NA / n`` are ignored; those on the
    rim are weighted by the fraction of their cell inside it.

    Args:
        grid: focal-plane :class:`photonn.Grid`; its spacing must resolve the
            pupil (``d <= lambda / (2 NA)``, Nyquist of the highest spatial
            frequency ``NA / lambda``) and it must hold at least
            :data:`MIN_PUPIL_SAMPLES` spectral samples across the pupil radius
            (``NA N d / lambda``).
        wavelength: vacuum wavelength [m].
        na: numerical aperture ``n sin(theta_max)``, ``0 < na < refractive_index``.
        focal_length: [m] (sets the pupil scale and the field's absolute phase).
        refractive_index: of the focal medium (default 1; > 1 for immersion).
        defocus: axial position [m] of the output plane from the focus.
        dtype: complex64 (default) or complex128; the geometry is built in float64.

    Shapes:
        ``forward``: complex ``(..., 2, ny, nx)`` pupil field -> transverse focal field
        ``(..., 2, ny, nx)`` (``Ez`` follows from it by
        :func:`photonn.functional.longitudinal_field` with the same wavelength and
        index); ``focus``: ``(..., 3, ny, nx)`` ``(Ex, Ey, Ez)``.
    """

    def __init__(
        self,
        grid,
        wavelength,
        na,
        focal_length,
        *,
        refractive_index: float = 1.0,
        defocus: float = 0.0,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__()
        self.grid = check_grid(grid)
        self.dtype = complex_dtype(dtype)
        self.wavelength = positive_float(wavelength, "wavelength")
        self.refractive_index = positive_float(refractive_index, "refractive_index")
        self.na = check_numerical_aperture(na, self.refractive_index)
        self.focal_length = positive_float(focal_length, "focal_length")
        self.defocus = finite_float(defocus, "defocus")
        d_max = self.wavelength / (2 * self.na)
        if max(grid.dx, grid.dy) > d_max:
            raise ValueError(
                f"{grid} is too coarse for NA {self.na}: the focal field holds spatial "
                f"frequencies up to NA / lambda, which needs a spacing <= lambda / (2 NA) = "
                f"{d_max:.4g} m; use a finer focal grid (e.g. spacing lambda / (4 NA))"
            )
        samples = self.na * min(grid.nx * grid.dx, grid.ny * grid.dy) / self.wavelength
        if samples < MIN_PUPIL_SAMPLES:
            need = math.ceil(MIN_PUPIL_SAMPLES * self.wavelength / (self.na * min(grid.spacing)))
            raise ValueError(
                f"{grid} samples the pupil of NA {self.na} with only {samples:.3g} spectral "
                f"samples across its radius (NA N d / lambda); at least {MIN_PUPIL_SAMPLES} "
                f"are needed: use a larger focal window (N >= {need} at this spacing)"
            )
        self.pupil_samples = samples
        n, lam, f = self.refractive_index, self.wavelength, self.focal_length
        self.pupil_grid = Grid(
            grid.shape, (f * lam / (n * grid.ny * grid.dy), f * lam / (n * grid.nx * grid.dx))
        )
        w = pupil_weights(grid, lam, self.na, refractive_index=n, device=device)
        self.register_buffer("weights", w.to(real_of(dtype)), persistent=False)

    @property
    def pupil_radius(self) -> float:
        """Radius ``f NA / n`` [m] of the entrance pupil."""
        return self.focal_length * self.na / self.refractive_index

    def focus(self, field: torch.Tensor) -> torch.Tensor:
        """Vector focal field ``(Ex, Ey, Ez)``, complex ``(..., 3, ny, nx)``."""
        check_jones_field(field)
        self.grid.check_field(field)
        if field.dtype != self.dtype:
            raise TypeError(
                f"field is {field.dtype} but this HighNALens was built for {self.dtype}; "
                f"build it with dtype={field.dtype}"
            )
        return richards_wolf_focus(
            field,
            self.grid,
            self.wavelength,
            self.na,
            self.focal_length,
            refractive_index=self.refractive_index,
            defocus=self.defocus,
            weights=self.weights,
        )

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        return self.focus(field)[..., :2, :, :]

    def extra_repr(self) -> str:
        return (
            f"grid={self.grid}, wavelength={self.wavelength:.6g}, na={self.na}, "
            f"focal_length={self.focal_length:.6g}, n={self.refractive_index}, "
            f"defocus={self.defocus:.6g}, dtype={self.dtype}"
        )
