"""The pure math of the export: placement, look-up-table inversion, heater law, crosstalk."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.functional.heater import (
    code_to_voltage,
    crosstalk_apply,
    current_from_power,
    current_from_voltage,
    fit_iv_law,
    interp_monotone,
    phase_to_power,
    power_to_phase,
    precompensate_crosstalk,
    voltage_from_current,
    voltage_to_code,
)
from photonn.functional.mzi_errors import crosstalk_pairs
from photonn.functional.mzi_mesh import clements_layout
from photonn.functional.slm import linear_lut
from photonn.functional.slm_export import (
    clipped,
    gray_to_phase,
    neuron_centre_pixels,
    panel_index,
    phase_error,
    phase_to_gray,
    place_on_panel,
    resample_lut,
)

TWO_PI = 2 * math.pi


@pytest.mark.parametrize("k", [1, 2, 3])
def test_integer_pixels_per_neuron_are_exact_blocks(k):
    n, N = 7, 40
    idx = panel_index(n, k * 8e-6, N, 8e-6)
    used = idx[idx >= 0]
    assert torch.equal(torch.bincount(used, minlength=n), torch.full((n,), k))
    # the optical axis: neuron n // 2 covers pixel N // 2, and the centres read back
    assert int(idx[N // 2]) == n // 2
    c = neuron_centre_pixels(n, k * 8e-6, N, 8e-6)
    assert torch.equal(idx[c], torch.arange(n))


def test_nearest_neighbour_resampling_reads_back_every_neuron():
    n, N = 9, 50
    idx = panel_index(n, 2.5 * 8e-6, N, 8e-6)
    counts = torch.bincount(idx[idx >= 0], minlength=n)
    assert set(counts.tolist()) <= {2, 3} and int(counts.sum()) in range(22, 24)
    c = neuron_centre_pixels(n, 2.5 * 8e-6, N, 8e-6)
    assert torch.equal(idx[c], torch.arange(n))


def test_place_on_panel_centres_and_fills():
    ph = torch.arange(6, dtype=torch.float64).reshape(2, 3) + 1
    panel = place_on_panel(ph, (8e-6, 8e-6), 8e-6, (6, 7), fill_phase=-1.0)
    assert panel[3, 3] == ph[1, 1]  # axis: neuron (1, 1) on pixel (3, 3)
    assert (panel == -1.0).sum() == 6 * 7 - 6
    assert torch.equal(panel[2:4, 2:5], ph)


def test_phase_to_gray_to_phase_within_half_a_step_on_a_nonlinear_lut():
    """Proof: phase -> gray -> phase errs by at most half the local gray step.

    One of the export's proofs (docs/architecture.md#proofs).
    """
    L = 256
    g = torch.arange(L, dtype=torch.float64)
    lut = 0.3 + TWO_PI * (g / L) ** 1.7  # non-linear, offset, spans the full circle
    target = torch.linspace(-20, 20, 200_001, dtype=torch.float64)
    gray = phase_to_gray(target, lut)
    err = phase_error(gray_to_phase(gray, lut), target)
    # the half step of the interval each target falls in (the wrap step included)
    levels = torch.cat([lut, lut[:1] + TWO_PI])
    w = torch.remainder(target - lut[0], TWO_PI) + lut[0]
    i = (torch.bucketize(w, levels) - 1).clamp(0, L - 1)
    half = 0.5 * (levels[i + 1] - levels[i])
    assert bool((err.abs() <= half + 1e-12).all())
    assert float(err.abs().max()) <= 0.5 * float(torch.diff(levels).max()) + 1e-12
    # exact levels map to themselves
    assert torch.equal(phase_to_gray(lut, lut), g.to(torch.int64))


def test_long_stroke_uses_the_first_period_only():
    lut = linear_lut(8, 3 * math.pi)  # 1.5 turns: levels above 2 pi repeat phases
    gray = phase_to_gray(torch.linspace(0, 30, 5001, dtype=torch.float64), lut)
    assert int(gray.max()) < 171  # 2 pi at 256 * 2 / 3 = 170.7
    low, high = clipped(torch.linspace(0, 6.28, 100, dtype=torch.float64), lut)
    assert not low.any() and not high.any()


def test_short_stroke_clips_and_reports_both_edges():
    lut = linear_lut(8, 1.5 * math.pi)
    t = torch.tensor([0.1, 1.6 * math.pi, 1.95 * math.pi, 3.0], dtype=torch.float64)
    low, high = clipped(t, lut)
    assert low.tolist() == [False, False, True, False]
    assert high.tolist() == [False, True, False, False]
    assert phase_to_gray(t, lut).tolist()[1:3] == [255, 0]
    full = linear_lut(8)
    lo2, hi2 = clipped(torch.linspace(0, 20, 1000, dtype=torch.float64), full)
    assert not lo2.any() and not hi2.any()  # a full-circle table clips nothing


def test_correction_is_added_then_removed():
    lut = linear_lut(10)
    t = torch.rand(5, 6, dtype=torch.float64) * 10
    corr = torch.rand(5, 6, dtype=torch.float64) * TWO_PI
    g = phase_to_gray(t, lut, corr)
    err = phase_error(gray_to_phase(g, lut, corr), t)
    assert float(err.abs().max()) <= math.pi / 1024 + 1e-12


def test_resample_lut_keeps_a_linear_table_linear():
    lut = linear_lut(8)
    for bits in (6, 10, 16):
        assert torch.allclose(resample_lut(lut, bits), linear_lut(bits), atol=1e-12)
    assert resample_lut(lut, 8) is lut


def test_heater_law_round_trips():
    phase = torch.linspace(0, 3 * math.pi, 101, dtype=torch.float64)
    p = phase_to_power(phase, 0.025)
    assert torch.allclose(power_to_phase(p, 0.025), phase, rtol=0, atol=1e-14)
    for iv in (None, (1000.0, 2.0e6)):
        i = current_from_power(p, 1000.0, iv)
        v = voltage_from_current(i, 1000.0, iv)
        assert torch.allclose(v * i, p, rtol=1e-12, atol=1e-18)
        assert torch.allclose(current_from_voltage(v, 1000.0, iv), i, rtol=1e-12, atol=1e-18)
    code = voltage_to_code(torch.tensor([0.0, 5.0, 10.0, 11.0]), 10.0, 8)
    assert code.tolist() == [0, 128, 255, 255]
    assert float(code_to_voltage(torch.tensor([255]), 10.0, 8)) == 10.0


def test_fit_iv_law_recovers_the_law_and_refuses_a_falling_one():
    i = torch.linspace(0, 0.01, 20, dtype=torch.float64)
    r1, r3 = fit_iv_law(i, 950.0 * i + 3.0e6 * i**3)
    assert abs(r1 - 950.0) < 1e-6 and abs(r3 - 3.0e6) < 1e-2
    with pytest.raises(ValueError, match="not increasing"):
        fit_iv_law(i, -950.0 * i)
    with pytest.raises(ValueError, match=">= 2"):
        fit_iv_law([0.1], [1.0])


def test_interp_monotone_is_linear_between_points():
    y = interp_monotone(
        torch.tensor([0.5, 1.5, 3.0]), torch.tensor([0.0, 1.0, 2.0]), torch.tensor([0.0, 2.0, 3.0])
    )
    assert y.tolist() == [1.0, 2.5, 4.0]


def test_precompensation_gives_the_intended_phases():
    lay = clements_layout(12)
    i, j = crosstalk_pairs(lay)
    index = torch.tensor([i, j])
    value = torch.full((len(i),), 0.08, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    target = torch.rand(lay.n_mzi, generator=g, dtype=torch.float64) * TWO_PI
    target[:5] = 0.0  # phases at the wrap, where a drive below 0 would be needed
    h, exact = precompensate_crosstalk(target, index, value, upper=2.4 * math.pi)
    assert exact and bool((h >= 0).all()) and bool((h < 2.4 * math.pi).all())
    err = phase_error(crosstalk_apply(h, index, value), target)
    assert float(err.abs().max()) < 1e-12
    # without pre-compensation the crosstalk shifts the phases
    err0 = phase_error(crosstalk_apply(torch.remainder(target, TWO_PI), index, value), target)
    assert float(err0.abs().max()) > 0.1
