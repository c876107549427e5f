"""The readout temperature shared by the region-detector models (D2NN, 4f, polarization)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import positive_float, real_of


def register_temperature(module: nn.Module, temperature: float, learn: bool, *, dtype, device):
    """Give ``module`` the readout temperature ``T`` stored as ``log_temperature``.

    A parameter when ``learn`` (its logarithm is learnt, so ``T`` stays positive), else a
    buffer; ``module.learn_temperature`` records which. ``dtype`` is the model's complex
    (or real) dtype; ``T`` takes its real dtype.
    """
    log_t = torch.tensor(
        math.log(positive_float(temperature, "temperature")), dtype=real_of(dtype), device=device
    )
    module.learn_temperature = bool(learn)
    if module.learn_temperature:
        module.log_temperature = nn.Parameter(log_t)
    else:
        module.register_buffer("log_temperature", log_t)
