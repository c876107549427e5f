"""Recomputation: run a function without keeping its intermediates, and run it again in
backward (activation checkpointing; "checkpoint" in photonn means a training file).

Free of ``torch.utils.checkpoint``, whose first call imports ``torch._dynamo``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

__all__ = ["recompute"]


def recompute(
    fn: Callable[..., torch.Tensor],
    inputs: Sequence[torch.Tensor | None],
    params: Sequence[torch.Tensor] = (),
) -> torch.Tensor:
    """``fn(*inputs)`` (one tensor) without storing its graph; backward recomputes it.

    Args:
        fn: a deterministic function of ``inputs`` (it must give the same result when
            run again: draw its random numbers from a seed among its inputs or
            closed over).
        inputs: its arguments, tensors or ``None``; they are saved for backward.
        params: the other tensors ``fn`` reads (e.g. a module's parameters) whose
            gradients are wanted.

    Gradients flow to every input and parameter that requires them, as if ``fn`` had
    run under autograd; memory holds the inputs only.
    """
    return _Recompute.apply(fn, len(inputs), *inputs, *params)


class _Recompute(torch.autograd.Function):
    @staticmethod
    def forward(ctx, fn, n_inputs, *tensors):
        ctx.fn, ctx.n_inputs = fn, n_inputs
        ctx.save_for_backward(*tensors[:n_inputs])
        ctx.params = tensors[n_inputs:]
        with torch.no_grad():
            return fn(*tensors[:n_inputs])

    @staticmethod
    def backward(ctx, grad):
        inputs = [
            None if t is None else t.detach().requires_grad_(t.requires_grad)
            for t in ctx.saved_tensors
        ]
        every = [*inputs, *ctx.params]
        wrt = [t for t in every if t is not None and t.requires_grad]
        # the vector-Jacobian product through a real surrogate, d Re<grad, out> = grad
        # (autograd.grad with grad_outputs imports sympy on its first call)
        with torch.enable_grad():
            out = ctx.fn(*inputs)
            surrogate = (grad.conj() * out).real.sum() if out.is_complex() else (grad * out).sum()
        if not wrt or not surrogate.requires_grad:
            return (None, None, *([None] * len(every)))
        grads = iter(torch.autograd.grad(surrogate, wrt, allow_unused=True))
        full = [next(grads) if t is not None and t.requires_grad else None for t in every]
        return (None, None, *full)
