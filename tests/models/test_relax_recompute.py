"""Folded diffractive ReLaX with recompute=k: the plain backward's gradients, less stored."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.models import DiffractiveReLaX

L_W, L_T = 2, 3
T = L_W * L_T  # passes


def _model(recompute):
    return DiffractiveReLaX(
        16,
        4,
        L_W,
        L_T,
        init="uniform",
        nonlinearity="sa",
        loss_db=0.5,
        generator=torch.Generator().manual_seed(0),
        recompute=recompute,
        dtype=torch.complex128,
    )


def _images(b=3):
    return torch.rand(b, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def _grads(model):
    model.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(_images()), torch.tensor([0, 3, 1]))
    loss.backward()
    # (the saturable absorbers' unused bias parameters get no gradient in either)
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return loss.detach(), grads


@pytest.mark.parametrize("k", [True, 2, 4])
def test_gradients_equal_plain_backward(k):
    """recompute=k (True: every pass) gives recompute=False's gradients within rounding.

    The recomputed passes run the same operations in the same order, so the two
    backward passes differ only by reassociated sums: per pass an FFT pair over the
    padded axes (error ~ eps log2 n, n <= 64 here) and the element-wise products
    around it. Bound: 16 eps * T * log2(64) of the largest gradient entry
    (complex128: about 1e-13 relative); a pass left out or run twice changes the
    gradients at O(1).
    """
    eps = torch.finfo(torch.float64).eps
    loss0, plain = _grads(_model(False))
    loss, recomputed = _grads(_model(k))
    assert torch.equal(loss, loss0)
    # the temperature, the L_W masks and the T absorbers' gains
    assert plain.keys() == recomputed.keys() and len(plain) == 1 + L_W + T
    scale = max(g.abs().max().item() for g in plain.values())
    assert all(g.abs().max() > 0 for g in plain.values())
    tol = 16 * eps * T * math.log2(64) * scale
    for name, g in plain.items():
        assert (recomputed[name] - g).abs().max().item() <= tol, name


def test_recomputation_stores_less(saved_bytes):
    plain = saved_bytes(_model(False), _images())
    assert saved_bytes(_model(2), _images()) < plain / 2
    assert saved_bytes(_model(True), _images()) < plain / 2
