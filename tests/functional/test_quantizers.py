"""Codesign quantisers: Gumbel-softmax over device levels, soft staircase, LSQ."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.functional.quantizers import (
    GumbelQuantizer,
    LSQQuantizer,
    StaircaseQuantizer,
    anneal,
    gumbel_quantize,
    lsq_quantize,
    soft_staircase,
)

F64 = torch.float64
# a non-linear look-up table: 8 phases, unevenly spaced (an SLM's measured LUT shape)
LUT = 2 * math.pi * (torch.arange(8, dtype=F64) / 8) ** 1.5


def nearest(x, lv):
    return lv[(x[..., None] - lv).abs().argmin(-1)]


def test_gumbel_hard_values_are_levels_and_gradients_flow():
    g = torch.Generator().manual_seed(0)
    x = (2 * math.pi * torch.rand(1000, generator=g, dtype=F64)).requires_grad_()
    y = gumbel_quantize(x, LUT, 0.5, generator=g)
    assert ((y.detach()[:, None] - LUT).abs().min(-1).values == 0).all()  # exactly levels
    (y * torch.linspace(-1, 1, 1000, dtype=F64)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0 and torch.isfinite(x.grad).all()


def test_gumbel_annealing_limits():
    x = torch.linspace(0, 2 * math.pi * 0.95, 200, dtype=F64)
    # no noise, tau -> 0: the soft value is the nearest level (ties aside)
    soft = gumbel_quantize(x, LUT, 1e-4, hard=False)
    torch.testing.assert_close(soft, nearest(x, LUT), atol=1e-9, rtol=0)
    # tau -> inf: the uniform mean of the levels
    flat = gumbel_quantize(x, LUT, 1e8, hard=False)
    torch.testing.assert_close(flat, LUT.mean().expand_as(x), atol=1e-6, rtol=0)
    # the hard draw is Gumbel-max: level k with probability softmax(logits)_k
    xs = torch.full((20000,), 1.0, dtype=F64)
    draws = gumbel_quantize(xs, LUT, 0.5, generator=torch.Generator().manual_seed(1))
    logits = -(((1.0 - LUT) / ((LUT[-1] - LUT[0]) / 7)) ** 2)
    p = torch.softmax(logits, -1)
    freq = (draws[:, None] == LUT).double().mean(0)
    assert ((freq - p).abs() < 5 * torch.sqrt(p * (1 - p) / xs.numel()) + 1e-12).all()
    assert anneal(1.0, 0.01, 0) == 1.0 and anneal(1.0, 0.01, 1) == pytest.approx(0.01)
    assert anneal(1.0, 0.01, 0.5) == pytest.approx(0.1)


def test_gumbel_periodic():
    lv = torch.tensor([0.0, math.pi / 2, math.pi, 3 * math.pi / 2], dtype=F64)
    x = torch.tensor([2 * math.pi - 0.1], dtype=F64)  # nearest level across the wrap: 0
    assert gumbel_quantize(x, lv, 1e-3, period=2 * math.pi).item() == 0.0
    assert gumbel_quantize(x, lv, 1e-3).item() == pytest.approx(3 * math.pi / 2)


def test_staircase_limits_and_gradient():
    x = torch.linspace(-0.5, 2 * math.pi, 300, dtype=F64).requires_grad_()
    steep = soft_staircase(x, LUT, 1e4)
    # away from the midpoints (where the hard staircase jumps), the nearest level
    mid = (LUT[1:] + LUT[:-1]) / 2
    far = (x.detach()[:, None] - mid).abs().min(-1).values > 0.01
    torch.testing.assert_close(
        steep[far].detach(), nearest(x.detach(), LUT)[far], atol=1e-9, rtol=0
    )
    soft_staircase(x, LUT, 2.0).sum().backward()
    assert (x.grad > 0).all()  # strictly increasing: every input gets a gradient
    assert soft_staircase(torch.tensor([-100.0], dtype=F64), LUT, 1.0).item() == pytest.approx(0)


def test_lsq():
    x = torch.linspace(-1, 5, 101, dtype=F64).requires_grad_()
    step = torch.tensor(0.5, dtype=F64, requires_grad=True)
    y = lsq_quantize(x, step, 3)
    codes = y.detach() / 0.5
    torch.testing.assert_close(codes, codes.round(), atol=1e-12, rtol=0)
    assert codes.min() == 0 and codes.max() == 7  # clamped to 3-bit codes
    ((y - x.detach()) ** 2).sum().backward()
    assert step.grad is not None and step.grad != 0
    # straight-through inside the range, zero outside
    x2 = torch.tensor([1.2, 10.0], dtype=F64, requires_grad=True)
    lsq_quantize(x2, torch.tensor(0.5, dtype=F64), 3).sum().backward()
    assert x2.grad.tolist() == [1.0, 0.0]


def test_interface_and_bad_input():
    x = torch.rand(50, dtype=F64) * 6
    lv = torch.linspace(0, 6, 8, dtype=F64)
    for q in (GumbelQuantizer(generator=torch.Generator().manual_seed(0)), StaircaseQuantizer()):
        assert q.quantize(x, lv, progress=0.3).shape == x.shape
    out = GumbelQuantizer().quantize(x, lv, progress=1.0)
    assert ((out[:, None] - lv).abs().min(-1).values == 0).all()
    step = torch.tensor(6 / 7, dtype=F64, requires_grad=True)
    torch.testing.assert_close(LSQQuantizer().quantize(x, lv, step=step), nearest(x, lv))
    with pytest.raises(ValueError, match="sorted"):
        gumbel_quantize(x, torch.tensor([0.0, 2.0, 1.0], dtype=F64), 1.0)
    with pytest.raises(ValueError, match="sorted"):
        soft_staircase(x, [0.0, 1.0, 1.0], 1.0)
    with pytest.raises(TypeError, match="step"):
        LSQQuantizer().quantize(x, lv)
    with pytest.raises(ValueError, match="2\\^bits"):
        LSQQuantizer().quantize(x, torch.linspace(0, 1, 5, dtype=F64), step=step)
