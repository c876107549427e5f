"""The boundary loss of Hossain & Rahman (2025).

``L_B = sum over polynomial activations of mean(exp(relu(|x| - B)) - 1)``,
``x`` the activation's last input and ``B`` its penalty bound (``bound``). It
is zero while every input stays within ``[-B, B]`` and grows exponentially
outside, pulling escaping pre-activations back before a high-degree
polynomial blows them up. Add it to the task loss with a weight (lambda = 10
in the paper), e.g. as a training-loop regularizer
``regularizers={"boundary": (10.0, boundary_loss)}``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import positive_float
from .base import PolynomialActivation


def boundary_penalty(x: torch.Tensor, bound: float, cap: float | None = None) -> torch.Tensor:
    """``mean(exp(relu(|x| - bound)) - 1)`` for one input tensor (a 0-d tensor).

    ``cap`` (optional) continues the penalty linearly, with the slope ``exp(cap)``,
    for excesses ``e = |x| - bound`` above ``cap``: ``exp(cap) (1 + e - cap) - 1``.
    The penalty and its gradient are then finite whatever the input (``cap=80``
    keeps float32 finite: ``exp(88.7)`` overflows it), and unchanged wherever
    ``e <= cap``. ``None`` applies the formula as is.
    """
    b = positive_float(bound, "bound")
    excess = torch.relu(x.abs() - b)
    if cap is None:
        return torch.expm1(excess).mean()
    c = positive_float(cap, "cap")
    inside = torch.expm1(excess.clamp_max(c))
    beyond = math.exp(c) * torch.relu(excess - c)
    return (inside + beyond).mean()


def boundary_loss(model: nn.Module, *, cap: float | None = None) -> torch.Tensor:
    """Sum of :func:`boundary_penalty` over the model's polynomial activations.

    Uses each :class:`PolynomialActivation`'s ``last_input`` (recorded by its
    last forward, with its graph) and ``bound``. Activations never called yet
    are skipped; a model without any gives a zero tensor.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    terms = [
        boundary_penalty(m.last_input, m.bound, cap)
        for m in model.modules()
        if isinstance(m, PolynomialActivation) and m.last_input is not None
    ]
    if not terms:
        p = next(model.parameters(), None)
        return torch.zeros((), device=None if p is None else p.device)
    return torch.stack([t.to(terms[0].dtype) for t in terms]).sum()
