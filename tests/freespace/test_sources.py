"""Sources of partially coherent light: shapes, the truncation rule, spectra, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from photonn import Grid
from photonn.freespace import (
    GaussianSchellSource,
    IncoherentSource,
    IntensityDetector,
    Propagator,
    RegionDetector,
    detect_modes,
)
from photonn.functional import (
    circular_aperture,
    gaussian_spectrum,
    gsm_parameters,
    gsm_truncation,
    mode_intensity,
)

WL = 633e-9
G = Grid(96, 2e-6)


def test_names_contract_shapes_and_dtype():
    src = GaussianSchellSource(G, WL, waist=30e-6, coherence_width=20e-6)
    fields, weights = src.modes(tolerance=1e-3)
    M = src.truncation(1e-3).num_modes
    assert fields.shape == (M, 96, 96) and fields.dtype == torch.complex64
    assert weights.shape == (M,) and weights.dtype == torch.float32
    assert bool((weights[1:] <= weights[:-1]).all())  # by decreasing weight


def test_truncation_rule_is_the_smallest_set():
    q = gsm_parameters(1e-3, 0.3e-3).q
    for tol in (1e-1, 1e-3, 1e-6):
        t = gsm_truncation(q, tol)
        kept = sum((k + 1) * (1 - q) ** 2 * q**k for k in range(t.max_order + 1))
        assert abs((1 - kept) - t.omitted) < 1e-12 and t.omitted <= tol
        if t.max_order > 0:
            fewer = sum((k + 1) * (1 - q) ** 2 * q**k for k in range(t.max_order))
            assert 1 - fewer > tol  # one order less would not do
    # nearly coherent light needs one mode; the number grows as sigma_g shrinks
    assert gsm_truncation(gsm_parameters(1e-3, 1.0).q, 1e-3).num_modes == 1
    assert gsm_truncation(gsm_parameters(1e-3, 0.1e-3).q, 1e-3).num_modes > 50


def test_spectrum_adds_a_wavelength_axis_without_copying():
    lams, sw = gaussian_spectrum(630e-9, 20e-9, 3)
    assert len(lams) == 3 and abs(sum(sw) - 1) < 1e-12 and sw[1] > sw[0]
    disk = circular_aperture(G, 20e-6)
    led = IncoherentSource(G, lams, disk, spectral_weights=sw, power=2e-3)
    fields, weights = led.modes(32, generator=torch.Generator().manual_seed(0))
    assert fields.shape == (32, 3, 96, 96) and weights.shape == (32, 3)
    assert fields.stride(1) == 0  # an expanded view
    assert abs(weights.sum().item() - 2e-3) < 1e-9
    out = Propagator(G, lams, 1e-4, "bl-asm")(fields)
    I = mode_intensity(out, weights)
    assert I.shape == (96, 96)
    I2 = detect_modes(IntensityDetector(G), out, weights)
    assert torch.allclose(I, I2, rtol=1e-5, atol=1e-6 * I.max())


def test_phase_screens_reproduce_the_emitter_intensity_exactly():
    disk = circular_aperture(G, 40e-6).double()
    src = IncoherentSource(G, WL, disk, dtype=torch.complex128)
    fields, weights = src.modes(16, method="phases", generator=torch.Generator().manual_seed(3))
    I = mode_intensity(fields, weights)
    assert torch.allclose(I * G.pixel_area, disk / disk.sum(), atol=1e-15)


def test_sampling_is_reproducible_with_a_generator():
    disk = circular_aperture(G, 40e-6)
    src = IncoherentSource(G, WL, disk)
    a, _ = src.modes(8, generator=torch.Generator().manual_seed(5))
    b, _ = src.modes(8, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="generator=torch.Generator"):
        src.modes(8)


# -- bad input: clear errors naming the value and the fix -----------------------------


@pytest.mark.parametrize("bad", [0.0, -1e-6, math.nan, math.inf])
def test_coherence_width_must_be_positive_and_finite(bad):
    with pytest.raises(ValueError, match=r"coherence_width .* finite number > 0.*gaussian_beam"):
        GaussianSchellSource(G, WL, waist=30e-6, coherence_width=bad)


@pytest.mark.parametrize("bad", [0.0, 1.0, 1.5, -0.1])
def test_tolerance_must_lie_in_the_open_unit_interval(bad):
    src = GaussianSchellSource(G, WL, waist=30e-6, coherence_width=20e-6)
    with pytest.raises(ValueError, match=r"tolerance (is the fraction.*\(0, 1\)|must be a fin)"):
        src.modes(tolerance=bad)


@pytest.mark.parametrize(
    "weights,match",
    [
        ([1.0, -0.5, 0.2], r"mode weight \(1,\) is -0.5 < 0.*must be >= 0"),
        ([1.0, math.nan, 0.2], r"mode weight \(1,\) is nan.*finite"),
        ([1.0, 0.3, math.inf], r"mode weight \(2,\) is inf.*finite"),
    ],
)
def test_bad_mode_weights_are_named(weights, match):
    fields = torch.ones(3, 4, 4, dtype=torch.complex64)
    w = torch.tensor(weights)
    with pytest.raises(ValueError, match=match):
        mode_intensity(fields, w)
    with pytest.raises(ValueError, match=match):
        detect_modes(IntensityDetector(), fields, w)
    with pytest.raises(ValueError, match="one weight per mode|4 modes on axis 0|3 weights"):
        mode_intensity(torch.ones(4, 4, 4, dtype=torch.complex64), torch.ones(3))


def test_too_many_modes_or_too_small_a_grid_is_refused():
    src = GaussianSchellSource(G, WL, waist=60e-6, coherence_width=2e-6)
    with pytest.raises(ValueError, match="needs .* modes .* raise tolerance"):
        src.modes(tolerance=1e-3, max_modes=100)
    small = GaussianSchellSource(Grid(16, 2e-6), WL, waist=30e-6, coherence_width=20e-6)
    with pytest.raises(ValueError, match="cannot hold .* half-extent of at least"):
        small.modes()


def test_noisy_or_differential_detectors_are_refused():
    from photonn.freespace import DetectorNoise

    fields = torch.ones(2, 96, 96, dtype=torch.complex64)
    w = torch.ones(2)
    noisy = IntensityDetector(G, noise=DetectorNoise(WL, 1e-3))
    with pytest.raises(ValueError, match="noise, which must act once"):
        detect_modes(noisy, fields, w)
    diff = RegionDetector(G, 2, differential="normalized")
    with pytest.raises(ValueError, match="detector.energies"):
        detect_modes(diff, fields, w)
