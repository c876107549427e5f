"""Batched linear solves that are correct on every CPU thread count.

With torch 2.13.0 on CPU (MKL), batched solves (and LU factorisations) of matrices of
size about 152 and larger return wrong answers silently, raise, or hang when more than
one thread is used; single matrices and one thread are correct. Every batched solve in
photonn goes through :func:`safe_solve`, and other batched LU work runs inside
:func:`mkl_safe`.
"""

from __future__ import annotations

import contextlib
import math

import torch
from torch.autograd.function import once_differentiable

__all__ = ["mkl_safe", "safe_solve"]

_MKL_SAFE_THREADS = 1


@contextlib.contextmanager
def _threads(n: int):
    old = torch.get_num_threads()
    if old == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def mkl_safe():
    """A context in which batched CPU LU work (solve, inverse, condition numbers) runs
    on the thread count that MKL gets right (one thread); restores the count after."""
    return _threads(_MKL_SAFE_THREADS)


def _needs_guard(A: torch.Tensor) -> bool:
    return A.device.type == "cpu" and A.ndim > 2 and math.prod(A.shape[:-2]) > 1


class _SafeSolve(torch.autograd.Function):
    @staticmethod
    def forward(ctx, A, b):
        with mkl_safe():
            x = torch.linalg.solve(A, b)
        ctx.save_for_backward(A, x)
        return x

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        A, x = ctx.saved_tensors
        with mkl_safe():
            gb = torch.linalg.solve(A.mH, g)
        gA = -gb @ x.mH if ctx.needs_input_grad[0] else None
        return gA, gb


def safe_solve(A: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``torch.linalg.solve(A, b)`` (``b`` of shape ``(..., N, K)``), correct on every thread count.

    On CPU a batched solve, and its backward, run on one thread (see the module
    docstring for the MKL fault this avoids); other devices and single systems call
    ``torch.linalg.solve`` directly. ``tests/physics/test_cavity.py`` checks the answer
    on two threads.
    """
    if _needs_guard(A) and torch.get_num_threads() != _MKL_SAFE_THREADS:
        return _SafeSolve.apply(A, b)
    return torch.linalg.solve(A, b)
