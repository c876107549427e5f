"""DetectorNoise: shot noise, read noise, saturation, ADC; seeded statistics; profiles."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.freespace import DetectorNoise
from photonn.functional.detection import adc, photoelectrons
from photonn.units import c, h, ms, nm

LAM = 532 * nm
T = 1 * ms
N = 200_000


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _power_for(electrons: float, qe: float = 1.0) -> float:
    """Power [W] that yields ``electrons`` mean photoelectrons in exposure T."""
    return electrons * h * c / (qe * LAM * T)


def test_photoelectron_conversion():
    p = torch.tensor([_power_for(1000.0, 0.5)], dtype=torch.float64)
    assert float(photoelectrons(p, LAM, T, 0.5)) == pytest.approx(1000.0, rel=1e-12)
    assert float(photoelectrons(p, LAM, T, 0.5, dark_current=1e4)) == pytest.approx(1010.0)


@pytest.mark.parametrize("shot,mu", [("gaussian", 1000.0), ("poisson", 3.0), ("poisson", 400.0)])
def test_shot_noise_variance_equals_mean(shot, mu):
    """Sample mean and variance of N draws; 5-sigma bounds: the mean's standard
    error is sqrt(mu / N), the variance's relative standard error ~ sqrt(2 / N)."""
    det = DetectorNoise(LAM, T, shot=shot, output="electrons")
    p = torch.full((N,), _power_for(mu), dtype=torch.float64)
    e = det(p, _gen(1))
    assert float(e.mean()) == pytest.approx(mu, abs=5 * math.sqrt(mu / N))
    rel = 5 * math.sqrt(2 / N + 1 / (mu * N))
    assert float(e.var()) == pytest.approx(mu, rel=rel)
    if shot == "poisson":
        assert torch.equal(e, e.round())


def test_read_noise_std():
    det = DetectorNoise(LAM, T, read_noise_e=2.5, shot=None, output="electrons")
    e = det(torch.full((N,), _power_for(50.0), dtype=torch.float64), _gen(2))
    assert float(e.mean()) == pytest.approx(50.0, abs=5 * 2.5 / math.sqrt(N))
    assert float(e.std()) == pytest.approx(2.5, rel=5 / math.sqrt(2 * N))


def test_adc_levels_count_and_saturation():
    bits, fw = 3, 700.0
    e = torch.linspace(-50, 900, 10_001, dtype=torch.float64)
    counts = adc(e, bits, fw)
    assert torch.unique(counts).numel() == 2**bits
    assert float(counts.min()) == 0 and float(counts.max()) == 2**bits - 1
    det = DetectorNoise(LAM, T, full_well_e=fw, adc_bits=bits, shot=None, output="counts")
    assert det.gain == pytest.approx(100.0)
    out = det(torch.tensor([_power_for(349.0), _power_for(351.0), _power_for(1e6)]))
    assert out.tolist() == [3.0, 4.0, 7.0]


def test_power_output_is_unbiased_and_seeded():
    det = DetectorNoise(
        LAM,
        T,
        quantum_efficiency=0.8,
        read_noise_e=1.6,
        full_well_e=3e4,
        adc_bits=16,
        dark_current_e_per_s=100.0,
        generator=_gen(3),
    )
    p = torch.full((N,), _power_for(5000.0, 0.8), dtype=torch.float64)
    r = det(p)
    assert r.dtype == torch.float64 and r.shape == p.shape
    # unbiased to within 5 sigma of the mean and half an ADC step
    sigma = math.sqrt(5000 + 0.1 + 1.6**2) / math.sqrt(N) + 0.5 * det.gain
    assert float(r.mean()) == pytest.approx(float(p[0]), rel=sigma / 5000 * 5)
    a = DetectorNoise(LAM, T, read_noise_e=1.0)(p[:100], _gen(7))
    b = DetectorNoise(LAM, T, read_noise_e=1.0)(p[:100], _gen(7))
    c2 = DetectorNoise(LAM, T, read_noise_e=1.0)(p[:100], _gen(8))
    assert torch.equal(a, b) and not torch.equal(a, c2)


def test_errors():
    with pytest.raises(ValueError, match="generator"):
        DetectorNoise(LAM, T)(torch.ones(3))
    with pytest.raises(ValueError, match="full_well"):
        DetectorNoise(LAM, T, adc_bits=8)
    with pytest.raises(ValueError, match="quantum_efficiency"):
        DetectorNoise(LAM, T, quantum_efficiency=1.5)
    with pytest.raises(ValueError, match="read_noise"):
        DetectorNoise(LAM, T, read_noise_e=-1)
    with pytest.raises(ValueError, match="shot"):
        DetectorNoise(LAM, T, shot="uniform")
    with pytest.raises(ValueError, match="counts"):
        DetectorNoise(LAM, T, output="counts")
    with pytest.raises(TypeError, match="real"):
        DetectorNoise(LAM, T, generator=_gen())(torch.ones(3, dtype=torch.complex64))
    with pytest.raises(ValueError, match="exposure_time"):
        DetectorNoise(LAM, 0.0)


def test_from_profile():
    prof = {
        "quantum_efficiency": 0.82,
        "read_noise_e": 1.6,
        "full_well_e": 30000.0,
        "adc_bits": 16,
        "dark_current_e_per_s": 0.06,
    }
    det = DetectorNoise.from_profile(prof, wavelength=LAM, exposure_time=T)
    assert det.quantum_efficiency == 0.82 and det.adc_bits == 16 and det.read_noise_e == 1.6
    with pytest.raises(ValueError, match="lacks"):
        DetectorNoise.from_profile({"read_noise_e": 1.0}, wavelength=LAM, exposure_time=T)
    devices = pytest.importorskip("photonn.devices")
    cams = [n for n in devices.list_profiles() if devices.load_profile(n).kind == "camera"]
    if not cams:
        pytest.skip("no camera profile shipped")
    det = DetectorNoise.from_profile(cams[0], wavelength=LAM, exposure_time=T)
    assert det.full_well_e == devices.load_profile(cams[0])["full_well_e"]
    slms = [n for n in devices.list_profiles() if devices.load_profile(n).kind == "slm"]
    if slms:
        with pytest.raises(ValueError, match="not a 'camera'"):
            DetectorNoise.from_profile(slms[0], wavelength=LAM, exposure_time=T)


def test_gaussian_shot_noise_gradient_is_finite_in_the_dark():
    det = DetectorNoise(LAM, T, output="electrons", generator=_gen(9))
    p = torch.zeros(100, dtype=torch.float64, requires_grad=True)
    det(p).sum().backward()
    assert torch.isfinite(p.grad).all()


def test_gradcheck_gaussian_shot_and_read_noise():
    det = DetectorNoise(LAM, T, read_noise_e=2.0, full_well_e=1e6, output="electrons")
    p = torch.tensor([_power_for(100.0), _power_for(900.0)], dtype=torch.float64)

    def f(scale):
        return det(p * scale, _gen(5))  # the same draws on every call

    assert torch.autograd.gradcheck(f, (torch.ones(2, dtype=torch.float64, requires_grad=True),))


def test_adc_bits_and_its_deprecated_name_bit_depth():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        det = DetectorNoise(LAM, T, full_well_e=1e3, adc_bits=10)
        assert det.adc_bits == 10 and det.gain == 1e3 / 1023
    with pytest.warns(DeprecationWarning, match=r"DetectorNoise\(bit_depth=...\) is deprecated"):
        old = DetectorNoise(LAM, T, full_well_e=1e3, bit_depth=10)
    assert old.adc_bits == 10 and old.gain == det.gain
    with pytest.warns(DeprecationWarning, match=r"DetectorNoise.bit_depth is deprecated"):
        assert old.bit_depth == 10
    prof = {"quantum_efficiency": 0.8, "read_noise_e": 1.0, "full_well_e": 1e3, "bit_depth": 12}
    with pytest.warns(
        DeprecationWarning, match="'bit_depth' is deprecated: write it as 'adc_bits'"
    ):
        det = DetectorNoise.from_profile(prof, wavelength=LAM, exposure_time=T)
    assert det.adc_bits == 12
