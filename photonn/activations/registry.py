"""Pick an activation by name or from a callable."""

from __future__ import annotations

import inspect

import torch
from torch import nn

from .device import EOModulator, OEConverter, SaturableAbsorber, SOAGain
from .families import (
    ChebyshevActivation,
    FourierActivation,
    HermiteActivation,
    PowerActivation,
    TropicalActivation,
)
from .polycomp import PolyNorm, PolyReLU

ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
    "power": PowerActivation,
    "chebyshev": ChebyshevActivation,
    "hermite": HermiteActivation,
    "fourier": FourierActivation,
    "tropical": TropicalActivation,
    "polyrelu": PolyReLU,
    "polynorm": PolyNorm,
    "eo_modulator": EOModulator,
    "saturable_absorber": SaturableAbsorber,
    "soa": SOAGain,
    "oe_converter": OEConverter,
}


class Lambda(nn.Module):
    """Wrap an elementwise tensor function (e.g. ``torch.tanh``) as a module."""

    def __init__(self, fn):
        super().__init__()
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def extra_repr(self) -> str:
        return getattr(self.fn, "__name__", repr(self.fn))


def get_activation(name_or_callable, **kwargs) -> nn.Module:
    """An activation module from a name, a module class, a module, or a tensor function.

    Names (case-insensitive): ``relu, gelu, silu, tanh, sigmoid, identity,
    power, chebyshev, hermite, fourier, tropical, polyrelu, polynorm,
    eo_modulator, saturable_absorber, soa, oe_converter``; ``kwargs`` go to the
    constructor (e.g. ``get_activation("hermite", degree=8)``). A module
    instance is returned as is; a module class is instantiated with
    ``kwargs``; any other callable is wrapped in :class:`Lambda`.
    """
    if isinstance(name_or_callable, str):
        key = name_or_callable.strip().lower().replace("-", "_")
        if key not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {name_or_callable!r}; choose one of {sorted(ACTIVATIONS)} "
                "or pass a callable"
            )
        return ACTIVATIONS[key](**kwargs)
    if isinstance(name_or_callable, nn.Module):
        if kwargs:
            raise TypeError("keyword arguments cannot be applied to an existing module")
        return name_or_callable
    if inspect.isclass(name_or_callable) and issubclass(name_or_callable, nn.Module):
        return name_or_callable(**kwargs)
    if callable(name_or_callable):
        if kwargs:
            raise TypeError("keyword arguments cannot be applied to a plain function")
        return Lambda(name_or_callable)
    raise TypeError(
        f"activation must be a name or a callable, got {type(name_or_callable).__name__}"
    )
