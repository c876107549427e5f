"""What the reuse engine reads off a bank layer: its feature shapes, its matrix, its
random-number generators."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

__all__ = ["io_shape", "linear_form", "generator_holders"]


def io_shape(layer: nn.Module):
    """``(in_shape, out_shape)`` of the trailing feature axes, or ``None`` when unknown."""
    if isinstance(layer, nn.Linear):
        return (layer.in_features,), (layer.out_features,)
    if isinstance(layer, nn.Sequential):
        shapes = [io_shape(m) for m in layer]
        if not shapes or any(s is None for s in shapes):
            return None
        return shapes[0][0], shapes[-1][1]
    if hasattr(layer, "in_features") and hasattr(layer, "out_features"):
        try:
            return (int(layer.in_features),), (int(layer.out_features),)
        except (TypeError, ValueError):
            return None
    n = layer.n_modes if hasattr(layer, "n_modes") else getattr(layer, "n", None)
    if isinstance(n, int) and hasattr(layer, "layout"):  # MZIMesh
        return (n,), (n,)
    grid = getattr(layer, "grid", None)
    shape = getattr(grid, "shape", None)
    if isinstance(shape, tuple) and getattr(layer, "output_grid", grid) is grid:
        return tuple(shape), tuple(shape)
    return None


def linear_form(layer: nn.Module):
    """``(matrix, bias)`` of a layer that is one matrix (nn.Linear; MZIMesh/SVDLinear
    via ``matrix()``), computed now; ``None`` for any other layer."""
    if isinstance(layer, nn.Linear):
        return layer.weight, layer.bias
    matrix = getattr(layer, "matrix", None)
    if callable(matrix):
        return matrix(), None
    return None


def generator_holders(module: nn.Module):
    """Names ``"<module>.<attribute>"`` of the ``torch.Generator`` s inside ``module``."""
    for name, m in module.named_modules():
        for attr, value in vars(m).items():
            where = f"{name or type(module).__name__}.{attr}"
            if isinstance(value, torch.Generator):
                yield where
            elif dataclasses.is_dataclass(value) and not isinstance(value, type):
                # a frozen value holding one (a mesh's imperfections' noise_generator)
                for field in dataclasses.fields(value):
                    if isinstance(getattr(value, field.name), torch.Generator):
                        yield f"{where}.{field.name}"
