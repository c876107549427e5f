"""``GridElement``: the base of the free-space elements bound to a :class:`photonn.Grid`.

Every element takes the same four construction arguments (the grid, the complex
dtype of its fields, the device of its tensors and, for a random initialisation,
the generator); the base takes and checks them once, so an element's constructor
checks only what is its own. ``forward`` multiplies a field on the grid by the
element's :meth:`transmission`, after one check of the field (complex, on the grid,
of the element's dtype); elements that do more (propagation, detection) override it.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import (
    COMPLEX_DTYPES,
    check_device,
    check_generator,
    complex_dtype,
    input_dtype,
    optional_dtype,
    tensor,
)
from .._module import ComplexModule
from ._common import check_field, check_grid

__all__ = ["FieldDetector", "GridElement", "initial_values"]

INITS = ("zeros", "uniform")


class GridElement(ComplexModule):
    """A free-space element on one grid, for one complex dtype.

    Args:
        grid: :class:`photonn.Grid` of the element (checked here).
        dtype: complex dtype of the fields (checked here).
        device: ``None`` or a device spec (checked here; the subclass builds its
            tensors there).
        generator: ``None`` or a ``torch.Generator`` (checked here).

    Attributes: ``grid``, ``dtype``.

    Shapes: ``forward`` maps complex ``(..., ny, nx)`` to the same, as
    ``field * transmission()`` (subclasses define :meth:`transmission`).
    """

    def __init__(self, grid, *, dtype=torch.complex64, device=None, generator=None):
        super().__init__()
        self.grid = check_grid(grid)
        self.dtype = complex_dtype(dtype)
        check_device(device)
        check_generator(generator)

    def _check_field(self, field: torch.Tensor) -> None:
        """Complex, on the grid, of the element's dtype."""
        check_field(self, field, self.grid, self.dtype)

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        self._check_field(field)
        return field * self.transmission()


class FieldDetector(nn.Module):
    """The base of the detectors that hold no tensor (a camera, an intensity detector):
    they read fields of any complex dtype unless given one, on a grid when given one.

    Args:
        grid: ``None`` or a :class:`photonn.Grid` the fields must be on (checked here).
        dtype: ``None`` (any complex field) or the complex dtype the fields must have.
        device: accepted like every element's (checked here); nothing is placed.
    """

    def __init__(self, grid=None, *, dtype=None, device=None):
        super().__init__()
        self.dtype = optional_dtype(dtype, COMPLEX_DTYPES)
        check_device(device)
        self.grid = None if grid is None else check_grid(grid)

    def _check_field(self, field) -> None:
        """A tensor, of the detector's dtype (when set), on its grid (when set)."""
        tensor(field, "field")
        input_dtype(self, field, self.dtype, "field")
        if self.grid is not None:
            self.grid.check_field(field)


def initial_values(init, shape, dtype, generator, scale) -> torch.Tensor:
    """Initial values of a learnable ``shape`` tensor: ``"zeros"``, ``"uniform"`` in
    ``[0, scale)`` (drawn from ``generator``, on the CPU) or a given tensor (copied)."""
    if isinstance(init, torch.Tensor):
        if tuple(init.shape) != tuple(shape):
            raise ValueError(f"init has shape {tuple(init.shape)}, expected {tuple(shape)}")
        if init.is_complex() != dtype.is_complex:
            raise TypeError(f"init must be {'complex' if dtype.is_complex else 'real'}")
        return init.detach().to(dtype).clone()
    if init not in INITS:
        raise ValueError(f"init must be 'zeros', 'uniform' or a tensor, got {init!r}")
    if init == "zeros":
        return torch.zeros(shape, dtype=dtype)
    if generator is None:
        raise ValueError("init='uniform' draws random values: pass generator=torch.Generator()")
    return torch.rand(shape, generator=generator, dtype=dtype) * scale
