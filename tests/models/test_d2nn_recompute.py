"""D2NN(recompute=k): the same gradients as the plain backward, less stored, bad k refused."""

from __future__ import annotations

import math

import pytest
import torch

from photonn import Grid
from photonn.models import D2NN, D2NNOptions
from photonn.units import mm

GRID = Grid(16, 0.4 * mm)
LAM = 0.75 * mm
Z = 3 * mm
L = 6


def _model(recompute=0, num_layers=L, dtype=torch.complex128, **kw):
    return D2NN(
        GRID,
        LAM,
        num_layers,
        Z,
        input_size=(8, 8),
        init="uniform",
        generator=torch.Generator().manual_seed(0),
        learn_temperature=True,
        recompute=recompute,
        dtype=dtype,
        **kw,
    )


def _images(b=3):
    return torch.rand(b, 12, 12, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def _grads(model):
    model.zero_grad()
    logits = model(_images())
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 3, 7]))
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_gradients_equal_plain_backward(k):
    """Every parameter's gradient matches recompute=0 within float rounding.

    The recomputed segment runs the same operations in the same order as the plain
    forward, and its backward is the same vector-Jacobian product (through a real
    surrogate), so the two differ only by the rounding of reassociated sums: per
    layer an FFT pair of the padded 32-sample axes (error ~ eps log2 n) and the
    products around it. Bound: 16 eps * L * log2(32) of the largest gradient entry
    (complex128: about 2e-14 relative); a missed layer or a wrong segment boundary
    changes gradients at O(1).
    """
    eps = torch.finfo(torch.float64).eps
    loss0, plain = _grads(_model(0))
    loss, recomputed = _grads(_model(k))
    assert torch.equal(loss, loss0)
    assert plain.keys() == recomputed.keys() and len(plain) == L + 1
    for name, g in plain.items():
        tol = 16 * eps * L * math.log2(32) * g.abs().max().item()
        assert g.abs().max() > 0, name
        assert (recomputed[name] - g).abs().max().item() <= tol, name


def test_recomputation_stores_less_and_reruns_each_layer_once(saved_bytes):
    """Plain backward keeps every layer's fields; recompute=3 on 12 layers keeps the
    inputs of the first three segments and the graph of the last (3 of 12 layers), and
    backward runs the masks of every segment but the last once more."""
    plain = saved_bytes(_model(0, num_layers=12), _images())
    rec = saved_bytes(_model(3, num_layers=12), _images())
    assert rec < plain / 2, (rec, plain)
    assert saved_bytes(_model(12, num_layers=12), _images()) == plain  # one segment: kept whole

    model = _model(2)
    calls = []
    for i, mask in enumerate(model.masks):
        mask.register_forward_hook(lambda m, a, o, i=i: calls.append(i))
    logits = model(_images())
    assert calls == list(range(L))
    logits.sum().backward()
    # segments run again in backward, the later first; the last keeps its graph
    assert calls == list(range(L)) + [2, 3, 0, 1]


def test_no_grad_path_and_options():
    with torch.no_grad():
        a = _model(0)(_images())
        b = _model(4)(_images())
    assert torch.equal(a, b)
    model = D2NN.from_options(D2NNOptions(num_layers=3, recompute=2))
    assert model.recompute == 2
    assert D2NNOptions().recompute == 0


@pytest.mark.parametrize(
    ("k", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)]
)
def test_bad_recompute_refused(k, error):
    with pytest.raises(error, match="recompute"):
        _model(k)


def test_bad_recompute_option_refused():
    with pytest.raises(ValueError, match="recompute"):
        D2NNOptions(recompute=-2)
