"""``FourierFilter4f``: a 4f system with a trainable mask in its Fourier plane (an optical
convolution layer)."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import one_of
from ..functional.fourier import crop_centered
from ._element import GridElement
from .fourier_lens import FourierLens
from .masks import AmplitudeMask, ComplexMask, PhaseMask
from .slm import SLM

__all__ = ["FourierFilter4f"]

_MASKS = {"phase": PhaseMask, "amplitude": AmplitudeMask, "complex": ComplexMask, "slm": SLM}


class FourierFilter4f(GridElement):
    """Lens - Fourier-plane mask - lens, each a focal length ``f`` apart (a 4f system).

    The first lens takes the input plane to its Fourier plane
    (:class:`~photonn.freespace.FourierLens`), a mask ``M(u, v)`` [transmission at
    Fourier-plane position ``(u, v)`` in m] multiplies the field there, and the second
    lens takes it to the output plane. The output is a convolution:

        U_out(x) = -exp(4 i k f) (U * h)(-x),
        h(x) = 1 / (lambda f)^2 * integral M(u) exp(+2 pi i u . x / (lambda f)) d^2u,

    the input convolved with the mask's (inverse) Fourier transform with
    frequencies scaled by ``lambda f``, and the image inverted (Goodman, Fourier
    Optics, section 8.3). A mask of ones gives the inverted input, ``-exp(4 i k f)
    U(-x)``. Discretely: the input is zero-padded to ``pad_factor`` times its samples
    (``N``), the Fourier plane has ``N`` samples of pitch ``lambda f / (N d)``, and the
    output, on the input's grid, is the central part of the second lens's plane; the
    convolution is circular over ``N`` samples (``pad_factor = 2`` makes it linear for
    kernels shorter than the input).

    Args:
        grid: :class:`photonn.Grid` of the input (and output) plane.
        wavelength: [m].
        focal_length: [m] of both lenses.
        mask: ``"phase"`` (:class:`~photonn.freespace.PhaseMask`, default),
            ``"amplitude"`` (:class:`~photonn.freespace.AmplitudeMask`), ``"complex"``
            (:class:`~photonn.freespace.ComplexMask`), ``"slm"``
            (:class:`~photonn.freespace.SLM`: quantised levels, look-up table, fill
            factor, crosstalk), built on :attr:`fourier_grid` with ``**mask_options``;
            or a module of your own on :attr:`fourier_grid` mapping a field to a field.
        pad_factor: zero padding (>= 1) of the input before the first lens.
        dtype: complex64 (default) or complex128.
        device: where to build the mask.
        **mask_options: passed to the mask class (``bits``, ``init``, ``generator``,
            ``passive``, ``lut`` ...). A trained phase mask exports to fabrication like
            a D2NN layer's (:func:`photonn.functional.fabrication.phase_to_height`).

    Attributes:
        fourier_grid: the Fourier plane's :class:`~photonn.Grid`.
        mask: the mask module.

    Shapes:
        ``(..., ny, nx)`` -> ``(..., ny, nx)`` on ``grid`` (stack several, then a
        detector, in an ``nn.Sequential``).
    """

    def __init__(
        self,
        grid,
        wavelength: float,
        focal_length: float,
        *,
        mask="phase",
        pad_factor: float = 2.0,
        dtype=torch.complex64,
        device=None,
        **mask_options,
    ):
        super().__init__(grid, dtype=dtype, device=device)
        # the first lens checks the wavelength, the focal length and the padding, once
        self.lens1 = FourierLens(grid, wavelength, focal_length, pad_factor=pad_factor, dtype=dtype)
        self.wavelength, self.focal_length = self.lens1.wavelength, self.lens1.focal_length
        self.fourier_grid = self.lens1.output_grid
        self.lens2 = FourierLens(self.fourier_grid, wavelength, focal_length, dtype=dtype)
        if isinstance(mask, str):
            cls = _MASKS[one_of(mask, tuple(_MASKS), "mask")]
            self.mask = cls(self.fourier_grid, dtype=dtype, device=device, **mask_options)
        elif isinstance(mask, nn.Module):
            if mask_options:
                raise TypeError(
                    f"{sorted(mask_options)} configure a mask built here; a mask module given "
                    "as mask= is used as it is"
                )
            g = getattr(mask, "grid", None)
            if g is not None and g != self.fourier_grid:
                raise ValueError(
                    f"the mask's grid {g} is not the Fourier plane {self.fourier_grid}; build "
                    "it on FourierFilter4f(...).fourier_grid (pitch lambda f / (N d))"
                )
            self.mask = mask
        else:
            raise TypeError(
                "mask must be 'phase', 'amplitude', 'complex', 'slm' or an nn.Module, got "
                f"{type(mask).__name__}"
            )

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        self._check_field(field)
        out = self.lens2(self.mask(self.lens1(field)))
        return crop_centered(out, self.grid.shape)

    def extra_repr(self) -> str:
        return (
            f"grid={self.grid}, wavelength={self.wavelength:.6g}, "
            f"focal_length={self.focal_length:.6g}, fourier_grid={self.fourier_grid}"
        )
