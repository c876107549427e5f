"""The boundary loss of Hossain & Rahman (2025).

``L_B = sum over the calls of polynomial activations of mean(exp(relu(|x| - B)) - 1)``,
``x`` the activation's input and ``B`` its penalty bound (``bound``). It is zero
while every input stays within ``[-B, B]`` and grows exponentially outside,
pulling escaping pre-activations back before a high-degree polynomial blows them
up. Add it to the task loss with a weight (lambda = 10 in the paper).

Activations store nothing (see :mod:`photonn.activations.base`): the pre-activations
reach the loss through forward pre-hooks that :class:`BoundaryLoss` registers, as
:class:`~photonn.activations.ActivationMonitor` does::

    boundary = BoundaryLoss(model)                       # after the model is complete
    trainer = Trainer(model, opt, generator=gen,
                      regularizers={"boundary": (10.0, boundary)})

:func:`boundary_penalty` is the pure formula for one tensor.
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


class BoundaryLoss:
    """The boundary loss of a model, collected by hooks on its polynomial activations.

    At construction a forward pre-hook is registered on every
    :class:`~photonn.activations.PolynomialActivation` of ``model``. Each call of
    such an activation while gradients are enabled adds
    ``boundary_penalty(x, activation.bound, cap)`` (a 0-d tensor with its graph)
    to a list; calling the loss returns the sum of the penalties recorded since
    the previous call and empties the list. So it is a drop-in regularizer of
    the training loop: ``regularizers={"boundary": (10.0, BoundaryLoss(model))}``
    (the loop calls ``fn(model)`` once per step, after the forward pass).

    Memory: nothing is recorded while gradients are disabled (``torch.no_grad()``,
    ``torch.inference_mode()``, so evaluation passes keep nothing); a forward
    pass with gradients whose loss is never taken keeps its penalties (and their
    graphs) until the next call or :meth:`reset`. An activation applied several
    times in one forward pass (shared or reused layers) contributes once per
    call. The activations themselves hold no tensor.

    ``torch.compile``: build the loss before compiling the model; the hooks are
    traced with it (tested).

    Args:
        model: the network (its polynomial activations must exist already: add
            them, e.g. with :func:`~photonn.activations.replace_activations`,
            before building the loss).
        cap: passed to :func:`boundary_penalty` (``None``: the formula as is;
            e.g. ``80`` keeps float32 finite).

    Use ``remove()`` (or a ``with`` block) to detach the hooks.
    """

    def __init__(self, model: nn.Module, *, cap: float | None = None):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        self.cap = None if cap is None else positive_float(cap, "cap")
        self.model = model
        self.layers = {
            name or type(m).__name__: m
            for name, m in model.named_modules()
            if isinstance(m, PolynomialActivation)
        }
        if not self.layers:
            raise ValueError(
                f"the {type(model).__name__} has no PolynomialActivation to penalise; add the "
                "polynomial activations (e.g. replace_activations) before building BoundaryLoss"
            )
        self._terms: list[torch.Tensor] = []
        self._handles = [m.register_forward_pre_hook(self._hook) for m in self.layers.values()]

    def _hook(self, module, args):
        if not torch.is_grad_enabled() or not args or not isinstance(args[0], torch.Tensor):
            return
        self._terms.append(boundary_penalty(args[0], module.bound, self.cap))

    def __call__(self, model: nn.Module | None = None) -> torch.Tensor:
        """Sum of the penalties recorded since the last call (a 0-d tensor); clears them.

        ``model`` (optional, the training loop passes it) must be the hooked model
        or a wrapper holding it (``torch.compile``, DDP).
        """
        if model is not None:
            if not isinstance(model, nn.Module):
                raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
            if not any(m is self.model for m in model.modules()):
                raise ValueError(
                    f"this BoundaryLoss hooks a different model than the "
                    f"{type(model).__name__} it was called with; build one per model"
                )
        terms, self._terms = self._terms, []
        if not terms:
            c = next(iter(self.layers.values())).coefficients
            return torch.zeros((), dtype=c.dtype, device=c.device)
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total

    @property
    def pending(self) -> int:
        """Number of penalties recorded and not yet returned."""
        return len(self._terms)

    def reset(self) -> None:
        """Drop the recorded penalties (and the graphs they hold)."""
        self._terms = []

    def remove(self) -> None:
        """Detach the hooks and drop the recorded penalties."""
        for h in self._handles:
            h.remove()
        self._handles = []
        self._terms = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    def __getstate__(self):
        # the hooks travel with a deep-copied or pickled model, and this object with them;
        # the pending penalties belong to one forward pass (their graphs cannot be copied)
        state = self.__dict__.copy()
        state["_terms"] = []
        return state

    def __repr__(self) -> str:
        return f"BoundaryLoss(layers={list(self.layers)}, cap={self.cap})"
