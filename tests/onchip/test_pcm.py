"""PCM crossbar: differential pair, levels, programming noise statistics, drift, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from photonn.devices import load_profile
from photonn.onchip import PCMCrossbar

F64 = torch.float64
PROFILE = load_profile(Path(__file__).resolve().parents[2] / "devices" / "gst_pcm_crossbar.toml")


def test_ideal_balanced_read_is_the_weight():
    g = torch.Generator().manual_seed(0)
    xb = PCMCrossbar(5, 3, [0.2, 0.9], scale=2.5, generator=g, dtype=F64)
    x = torch.rand(4, 5, generator=g, dtype=F64)
    want = 2.5 * x @ xb.weight.detach().T
    torch.testing.assert_close(xb(x).detach(), want, atol=1e-14, rtol=0)
    tp, tm = xb.cells()
    assert (tp >= 0.2 - 1e-15).all() and (tm <= 0.9 + 1e-15).all()
    # one cell of each pair sits at t_min (non-negative cells, signed weight)
    assert torch.minimum(tp, tm).detach().sub(0.2).abs().max() < 1e-15


def test_quantized_cells_hold_device_levels():
    xb = PCMCrossbar.from_profile(
        PROFILE,
        in_features=6,
        out_features=4,
        noise=False,
        dtype=F64,
        generator=torch.Generator().manual_seed(1),
    )
    levels = PROFILE.levels
    for t in xb.cells():
        dist = (t.detach()[..., None] - levels).abs().min(-1).values
        assert dist.max() < 1e-12
    # the weights move by at most half a level step (in weight units: step / span)
    step = (PROFILE.t_max - PROFILE.t_min) / (PROFILE.n_levels - 1)
    err = (xb.effective_weight() - xb.weight.clamp(-1, 1)).abs().max().item()
    assert err <= step / (PROFILE.t_max - PROFILE.t_min) + 1e-12
    # straight-through: gradients reach the weights
    xb(torch.rand(2, 6, dtype=F64)).sum().backward()
    assert xb.weight.grad.abs().sum() > 0


def test_level_statistics_match_the_profile():
    """Program every cell of a large crossbar to one level, with the profile's
    programming noise: the programmed transmissions have the level as mean and
    programming_sigma as standard deviation (within 5 standard errors)."""
    n = 200
    xb = PCMCrossbar.from_profile(
        PROFILE,
        in_features=n,
        out_features=n,
        dtype=F64,
        noise_generator=torch.Generator().manual_seed(2),
    )
    sigma = PROFILE.programming_sigma
    for k in (3, 17, 31):
        level = PROFILE.levels[k].item()
        w = (level - PROFILE.t_min) / (PROFILE.t_max - PROFILE.t_min)
        xb.set_weight(torch.full((n, n), w, dtype=F64))
        tp, tm = xb.cells()
        tp = tp.detach().flatten()
        N = tp.numel()
        assert abs(tp.mean().item() - level) < 5 * sigma / math.sqrt(N)
        assert abs(tp.std().item() - sigma) < 5 * sigma / math.sqrt(2 * (N - 1))
        # the negative cell sits at t_min, noisy too (clipped at 0: far away here)
        assert abs(tm.detach().mean().item() - PROFILE.t_min) < 5 * sigma / math.sqrt(N)


def test_drift_power_law():
    t0, nu = PROFILE.drift_t0, PROFILE.drift_nu
    xb = PCMCrossbar.from_profile(
        PROFILE,
        in_features=3,
        out_features=2,
        quantize=False,
        noise=False,
        drift_time=1e6 * t0,
        dtype=F64,
        generator=torch.Generator().manual_seed(3),
    )
    fresh = PCMCrossbar.from_profile(
        PROFILE,
        in_features=3,
        out_features=2,
        quantize=False,
        noise=False,
        dtype=F64,
        generator=torch.Generator().manual_seed(3),
    )
    # the contrast above t_min, hence every weight, shrinks by (t / t0)^-nu
    torch.testing.assert_close(
        xb.effective_weight(), fresh.effective_weight() * 1e6 ** (-nu), atol=1e-14, rtol=0
    )


def test_bad_input():
    with pytest.raises(ValueError, match="sorted"):
        PCMCrossbar(2, 2, [0.9, 0.5, 0.7])
    with pytest.raises(ValueError, match="sorted"):
        PCMCrossbar(2, 2, [0.5, 0.5, 0.7])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        PCMCrossbar(2, 2, [0.5, 1.2])
    with pytest.raises(TypeError, match="noise_generator"):
        PCMCrossbar(2, 2, [0.5, 0.9], programming_sigma=0.01)
    xb = PCMCrossbar(2, 2, [0.5, 0.9])
    with pytest.raises(ValueError, match="scale >= 3"):
        xb.set_weight(torch.full((2, 2), 3.0))
    with pytest.raises(ValueError, match="pcm_crossbar"):
        PCMCrossbar.from_profile("si_thermo_optic_mzi", in_features=2, out_features=2)
