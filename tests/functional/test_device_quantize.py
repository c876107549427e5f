"""Quantisers on a device's levels: names, evaluation at exact device levels, periodic
levels (phases), LSQ's codes, look-up-table levels as an export picks them."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.functional.quantizers import (
    QUANTIZERS,
    GumbelQuantizer,
    LSQQuantizer,
    StaircaseQuantizer,
    STEQuantizer,
    device_quantize,
    lut_levels,
    lut_round,
    make_quantizer,
    soft_staircase,
)
from photonn.functional.slm_export import phase_to_gray

F64 = torch.float64
TWO_PI = 2 * math.pi
# a non-linear look-up table of 16 gray levels (a gamma-like SLM response)
LUT = TWO_PI * (torch.arange(16, dtype=F64) / 16) ** 1.7


def circ_nearest(x, lv):
    d = torch.remainder(x[..., None] - lv + math.pi, TWO_PI) - math.pi
    return lv[d.abs().argmin(-1)]


def test_make_quantizer_names_and_objects():
    kinds = {
        "ste": STEQuantizer,
        "gumbel": GumbelQuantizer,
        "staircase": StaircaseQuantizer,
        "lsq": LSQQuantizer,
    }
    assert set(kinds) == set(QUANTIZERS)
    for name, cls in kinds.items():
        assert isinstance(make_quantizer(name, period=TWO_PI), cls)
    q = GumbelQuantizer(tau_start=2.0)
    assert make_quantizer(q) is q
    g = make_quantizer("gumbel", anneal=(3.0, 0.2))
    assert (g.tau_start, g.tau_end) == (3.0, 0.2)
    s = make_quantizer("staircase", anneal=(2.0, 50.0))
    assert (s.start, s.end) == (2.0, 50.0)
    with pytest.raises(ValueError, match="quantizer"):
        make_quantizer("round")
    with pytest.raises(TypeError, match="quantize"):
        make_quantizer(3)


def test_lut_levels_and_round_match_the_export():
    lv = lut_levels(LUT)
    assert torch.equal(lv, torch.sort(LUT).values)  # monotone, all in the first period
    x = torch.linspace(-7.0, 13.0, 4001, dtype=F64)
    got = lut_round(x, LUT)
    assert torch.equal(got, LUT[phase_to_gray(x, LUT)])
    assert torch.equal(got, circ_nearest(x, LUT))  # nearest on the circle
    with pytest.raises(ValueError, match="distinct"):
        lut_levels(torch.zeros(4, dtype=F64))


@pytest.mark.parametrize("name", QUANTIZERS)
def test_evaluation_gives_exact_device_levels(name):
    """In evaluation every quantiser shows a level of the device exactly (LSQ: the
    level of its code); in training STE and LSQ do too, Gumbel draws a level."""
    g = torch.Generator().manual_seed(1)
    x = (10 * torch.rand(3000, generator=g, dtype=F64) - 3).requires_grad_()
    q = make_quantizer(name, period=TWO_PI, generator=torch.Generator().manual_seed(2))
    lv = lut_levels(LUT)
    step = torch.tensor(float(lv[-1] - lv[0]) / 15, dtype=F64, requires_grad=True)

    def rnd(v):
        return lut_round(v, LUT)

    y = device_quantize(x, lv, q, rnd, training=False, step=step)
    member = (y.detach()[:, None] - lv).abs().min(-1).values == 0
    assert member.all()
    if name != "lsq":
        assert torch.equal(y.detach(), rnd(x.detach()))
    # gradients reach x (and LSQ's step)
    (y * torch.linspace(-1, 1, 3000, dtype=F64)).sum().backward()
    assert x.grad.abs().sum() > 0
    if name == "lsq":
        assert step.grad is not None and step.grad != 0
    yt = device_quantize(x, lv, q, rnd, training=True, progress=0.5, step=step).detach()
    if name in ("ste", "lsq", "gumbel"):
        assert ((yt[:, None] - lv).abs().min(-1).values == 0).all()
    else:  # the soft staircase is not a level while it trains
        assert not ((yt[:, None] - lv).abs().min(-1).values == 0).all()


def test_ste_identity_gradient():
    x = torch.linspace(0, 6, 50, dtype=F64, requires_grad=True)
    lv = lut_levels(LUT)
    y = device_quantize(
        x, lv, STEQuantizer(), lambda v: lut_round(v, LUT), training=True, progress=0.1
    )
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_periodic_staircase_closes_the_circle():
    lv = lut_levels(LUT)
    x = torch.linspace(-9.0, 9.0, 2001, dtype=F64)
    y = soft_staircase(x, lv, 1e4, period=TWO_PI)
    assert float(y.min()) >= float(lv[0]) - 1e-12
    assert float(y.max()) <= float(lv[0]) + TWO_PI + 1e-12
    # very steep: the nearest level on the circle (as a phase), away from midpoints
    d = torch.remainder(y - circ_nearest(x, lv) + math.pi, TWO_PI) - math.pi
    mids = torch.cat([(lv[1:] + lv[:-1]) / 2, ((lv[-1] + lv[0] + TWO_PI) / 2)[None]])
    far = (torch.remainder(x[:, None] - mids + math.pi, TWO_PI) - math.pi).abs().min(-1).values
    assert d[far > 0.01].abs().max() < 1e-6
    with pytest.raises(ValueError, match="one period"):
        soft_staircase(x, torch.tensor([0.0, 7.0], dtype=F64), 10.0, period=TWO_PI)


def test_lsq_device_value_codes():
    """LSQ's code k shows levels[k], the k-th (unevenly spaced) level; with the step at
    the mean spacing its codes are round((x - levels[0]) / step)."""
    lv = lut_levels(LUT)
    s = (lv[-1] - lv[0]) / 15
    q = LSQQuantizer(period=None)
    x = torch.linspace(float(lv[0]), float(lv[-1]), 301, dtype=F64)
    y = q.device_value(x, lv, s.clone().requires_grad_())
    code = torch.round((x - lv[0]) / s).clamp(0, 15).long()
    assert torch.equal(y.detach(), lv[code])
    with pytest.raises(TypeError, match="step"):
        q.device_value(x, lv, None)


def test_periodic_gumbel_soft_value_stays_near_x_across_the_wrap():
    """With a period, the soft (expected) value averages each level's copy nearest to
    x: just above 0 it lies between the top level (less 2 pi) and the next level, not
    towards the middle of the circle; and its gradient is positive (the quantiser
    follows x)."""
    from photonn.functional.quantizers import gumbel_quantize

    lv = lut_levels(LUT)
    x = torch.tensor([0.01, TWO_PI - 0.01, 3.0], dtype=F64, requires_grad=True)
    soft = gumbel_quantize(x, lv, 1.0, hard=False, period=TWO_PI)
    gap = float((lv[1:] - lv[:-1]).max().clamp(min=TWO_PI - float(lv[-1] - lv[0])))
    assert (soft.detach() - x.detach()).abs().max() < gap
    soft.sum().backward()
    assert (x.grad > 0).all()
