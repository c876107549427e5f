"""``Aperture``: a binary circular or rectangular stop."""

from __future__ import annotations

import torch

from .._checks import finite_float, one_of, real_of
from ..functional.optics import circular_aperture, rect_aperture
from ._element import GridElement

__all__ = ["Aperture"]


class Aperture(GridElement):
    """A binary aperture (1 inside, 0 outside).

    Args:
        grid: :class:`photonn.Grid`.
        size: diameter [m] (``"circular"``) or ``(h, w)`` / one side [m] (``"rect"``).
        shape: ``"circular"`` (default) or ``"rect"``.
        center: ``(y, x)`` of the centre [m] relative to the optical axis.
        dtype: complex dtype of the fields.

    A sample is inside when its centre is (see
    :func:`photonn.functional.circular_aperture` and ``rect_aperture``).
    """

    def __init__(
        self,
        grid,
        size,
        *,
        shape: str = "circular",
        center=(0.0, 0.0),
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__(grid, dtype=dtype, device=device)
        self.shape = one_of(shape, ("circular", "rect"), "shape")
        if len(center) != 2:
            raise ValueError(f"center must be (y, x) in metres, got {center!r}")
        self.center = (finite_float(center[0], "center[0]"), finite_float(center[1], "center[1]"))
        if shape == "circular":
            m = circular_aperture(grid, size, center=self.center, device=device)
        else:
            m = rect_aperture(grid, size, center=self.center, device=device)
        if not bool(m.any()):
            raise ValueError(f"aperture of size {size!r} covers no sample of {grid}")
        self.size = size
        self.register_buffer("mask", m.to(real_of(dtype)), persistent=False)

    def transmission(self) -> torch.Tensor:
        return self.mask

    def extra_repr(self) -> str:
        return f"grid={self.grid}, shape={self.shape!r}, size={self.size!r}, center={self.center}"
