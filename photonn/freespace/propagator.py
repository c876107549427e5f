"""``Propagator``: a free-space propagation step with a cached transfer function."""

from __future__ import annotations

import torch

from ..functional.fourier import centered_fft2, conv_fft, pad_centered
from ..functional.propagation import (
    _fraunhofer_factor,
    _fraunhofer_output_grid,
    _transfer_function,
    _warn_if_aliased,
    check_propagation_args,
)
from ..grid import Grid
from ._element import GridElement


class Propagator(GridElement):
    """Propagate a complex field over a fixed distance.

    The transfer function (or, for ``"fraunhofer"``, the output-plane factor) is
    built once in float64, cast to ``dtype`` and kept as a non-persistent buffer;
    ``forward`` is FFTs and one multiply. It follows ``.to(device)``.

    Args:
        grid: input :class:`photonn.Grid`.
        wavelength: vacuum wavelength [m], or a sequence of ``W`` wavelengths
            (the field then carries a wavelength axis just before ``(ny, nx)``).
        distance: [m]; negative propagates backwards.
        method: ``"asm"`` (default), ``"bl-asm"``, ``"fresnel"``, ``"fresnel-ir"``,
            ``"rs"`` or ``"fraunhofer"``.
        pad_factor: most zero padding per axis (>= 1; default 2). For
            ``"fraunhofer"`` it sets the output sampling instead.
        trim: pad only to the light-cone size of the grid's steepest ray
            (:func:`photonn.functional.sampling.light_cone_size`), rounded to a fast
            FFT size, when that is below ``ceil(pad_factor n)`` (default True). Exact for
            smooth fields; a hard-edged field (an aperture filling the grid) keeps
            a wrap-around error from the kernel's band-edge tails that falls
            slowly with more padding: to pad further, pass ``trim=False`` (see
            ``docs/physics.md``, "Propagation, in detail").
        strict: raise ``ValueError`` instead of warning when the step aliases.
        polarized: the field carries a Jones axis of size 2 just before ``(ny, nx)``,
            after any wavelength axis: ``(..., W, 2, ny, nx)``. Needed only with
            several wavelengths (one wavelength broadcasts over any leading axis).
        dtype: ``torch.complex64`` (default) or ``torch.complex128``.
        device: where to build the buffer.

    Shapes:
        input ``(..., ny, nx)`` (or ``(..., W, ny, nx)``; polarized: ``(..., [W,] 2, ny, nx)``),
        output the same (for
        ``"fraunhofer"``: ``(..., Ny, Nx)`` on ``output_grid``).

    Attributes:
        output_grid: the grid of the output plane.
        report: the :class:`photonn.SamplingReport` of this step.
    """

    def __init__(
        self,
        grid: Grid,
        wavelength,
        distance,
        method: str = "asm",
        pad_factor=2.0,
        *,
        trim: bool = True,
        strict: bool = False,
        polarized: bool = False,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__(grid, dtype=dtype, device=device)
        self.polarized = bool(polarized)
        lams, multi, z, pad = check_propagation_args(wavelength, distance, method, pad_factor)
        self.wavelengths = lams
        self.multi = multi
        self.distance = z
        self.method = method
        self.pad_factor = pad
        # checked above, once: the kernels below trust their arguments
        self.report = _warn_if_aliased(grid, lams, z, method, pad, trim, strict)
        if method == "fraunhofer":
            self.output_grid = _fraunhofer_output_grid(grid, lams[0], z, pad)
            H = _fraunhofer_factor(grid, lams[0], z, pad, dtype, device)
        else:
            self.output_grid = grid
            H = _transfer_function(grid, lams, multi, z, method, pad, trim, dtype, device)
        self.register_buffer("H", H, persistent=False)

    @property
    def padded_shape(self) -> tuple[int, int]:
        """FFT shape ``(Ny, Nx)`` used per step."""
        return tuple(self.H.shape[-2:])

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        self._check_field(field)
        if field.device != self.H.device:
            raise ValueError(
                f"field is on {field.device} but the Propagator is on {self.H.device}; "
                f"move one of them (propagator.to({field.device}))"
            )
        if self.method == "fraunhofer":
            return centered_fft2(pad_centered(field, self.padded_shape)) * self.H
        if self.polarized:
            if field.ndim < 3 or field.shape[-3] != 2:
                raise ValueError(
                    f"field has shape {tuple(field.shape)}, but this Propagator was built with "
                    "polarized=True: the field needs a Jones axis of size 2 (Ex, Ey) just "
                    "before (ny, nx)"
                )
            if self.multi and (field.ndim < 4 or field.shape[-4] != self.H.shape[0]):
                raise ValueError(
                    f"field has shape {tuple(field.shape)}, but this Propagator has "
                    f"{self.H.shape[0]} wavelengths: a polarized field needs a wavelength axis "
                    f"of size {self.H.shape[0]} before its Jones axis, (..., W, 2, ny, nx)"
                )
            return conv_fft(field, self.H.unsqueeze(-3) if self.multi else self.H)
        if self.multi and (field.ndim < 3 or field.shape[-3] != self.H.shape[0]):
            raise ValueError(
                f"field has shape {tuple(field.shape)}, but this Propagator has "
                f"{self.H.shape[0]} wavelengths: the field needs a wavelength axis of size "
                f"{self.H.shape[0]} just before (ny, nx) (a polarized field (..., W, 2, ny, nx) "
                "needs Propagator(..., polarized=True))"
            )
        return conv_fft(field, self.H)

    def extra_repr(self) -> str:
        lam = self.wavelengths if self.multi else self.wavelengths[0]
        return (
            f"grid={self.grid}, wavelength={lam}, distance={self.distance:.6g}, "
            f"method={self.method!r}, fft_shape={self.padded_shape}, dtype={self.dtype}"
        )
