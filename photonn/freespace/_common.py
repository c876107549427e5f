"""Checks shared by the free-space elements."""

from __future__ import annotations

import torch

from .._checks import complex_tensor
from ..grid import Grid


def check_grid(grid) -> Grid:
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a photonn.Grid, got {type(grid).__name__}")
    return grid


def check_field(module, field: torch.Tensor, grid: Grid, dtype: torch.dtype) -> None:
    """Complex, on ``grid``, of the module's dtype."""
    complex_tensor(field)
    grid.check_field(field)
    if field.dtype != dtype:
        raise TypeError(
            f"field is {field.dtype} but this {type(module).__name__} was built for {dtype}; "
            f"build it with dtype={field.dtype} (never cast optical modules with .to(dtype))"
        )
