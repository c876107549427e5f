"""Camera: pixel binning, power conservation, noise statistics, profiles, gradcheck."""

from __future__ import annotations

import pytest
import torch

from photonn import Grid
from photonn.freespace import Camera, DetectorNoise
from photonn.units import ms, nm, um

C128 = torch.complex128
G = Grid((12, 18), 2 * um)


def _field(shape, seed=0):
    return torch.randn(shape, dtype=C128, generator=torch.Generator().manual_seed(seed))


def test_binning_conserves_power_and_matches_block_sums():
    cam = Camera(G, binning=(3, 2))
    assert cam.pixel_grid == Grid((4, 9), (6 * um, 4 * um))
    x = _field((2, 12, 18))
    p = cam(x)
    assert p.shape == (2, 4, 9) and p.dtype == torch.float64
    I = x.abs() ** 2 * G.pixel_area
    assert torch.allclose(p.sum((-2, -1)), I.sum((-2, -1)), rtol=1e-13)
    assert torch.allclose(p[:, 1, 2], I[:, 3:6, 4:6].sum((-2, -1)), rtol=1e-13)
    assert torch.allclose(Camera(G)(x), I, rtol=1e-14)


def test_noise_is_applied_with_the_given_generator():
    noise = DetectorNoise(532 * nm, 1 * ms, read_noise_e=3.0, output="electrons")
    cam = Camera(G, binning=3, noise=noise)
    x = _field((12, 18)) * 1e-3
    a = cam(x, torch.Generator().manual_seed(1))
    b = cam(x, torch.Generator().manual_seed(1))
    assert a.shape == (4, 6) and torch.equal(a, b)
    with pytest.raises(ValueError, match="generator"):
        cam(x)


# Noise statistics. Every camera pixel gets the same power P, so the readings are
# independent draws of one distribution; N = 48000 of them (2000 images of 4 x 6
# pixels). The mean electron count is computed here from P, independently of
# photonn: mu = QE P t lambda / (h c) + dark t. Each check allows K = 5 standard
# errors: se(mean) = sigma / sqrt(N); se(variance) = sqrt((m4 - sigma^4) / N), with
# m4 = 3 sigma^4 for a Gaussian and m4 = 3 mu^2 + mu for a Poisson variable.
H_PLANCK, C_LIGHT = 6.62607015e-34, 299792458.0  # exact SI values
K_SE = 5.0
N_IMAGES = 2000
LAM, T_EXP, QE, DARK = 532 * nm, 1 * ms, 0.7, 2000.0  # dark: 2 electrons per exposure


def _uniform_field(mu_light: float) -> torch.Tensor:
    """A field putting ``mu_light`` mean photoelectrons on every 3 x 3 camera pixel."""
    power = mu_light / (QE * T_EXP * LAM / (H_PLANCK * C_LIGHT))  # [W] per camera pixel
    amp = (power / (9 * G.pixel_area)) ** 0.5
    return torch.full((N_IMAGES, 12, 18), amp, dtype=C128)


def _camera(**kw):
    noise = DetectorNoise(
        LAM, T_EXP, quantum_efficiency=QE, dark_current_e_per_s=DARK, output="electrons", **kw
    )
    return Camera(G, binning=3, noise=noise)


def _assert_moments(r, mean, var, m4):
    n = r.numel()
    se_mean = (var / n) ** 0.5
    se_var = ((m4 - var**2) / n) ** 0.5
    assert abs(r.mean().item() - mean) < K_SE * se_mean, (r.mean().item(), mean, se_mean)
    assert abs(r.var().item() - var) < K_SE * se_var, (r.var().item(), var, se_var)


def test_poisson_shot_noise_statistics():
    """Poisson shot noise in electrons: integer counts, variance = mean = mu."""
    mu = 150.0 + DARK * T_EXP
    r = _camera(shot="poisson")(_uniform_field(150.0), torch.Generator().manual_seed(10))
    assert r.shape == (N_IMAGES, 4, 6) and r.dtype == torch.float64
    assert torch.equal(r, r.round())
    _assert_moments(r, mu, mu, 3 * mu**2 + mu)


def test_gaussian_shot_and_read_noise_statistics():
    """Gaussian shot noise plus read noise: mean mu, variance mu + read^2."""
    mu, read = 150.0 + DARK * T_EXP, 4.0
    r = _camera(read_noise_e=read)(_uniform_field(150.0), torch.Generator().manual_seed(11))
    var = mu + read**2
    _assert_moments(r, mu, var, 3 * var**2)


def test_read_noise_alone_statistics():
    """Without shot noise only the read noise remains: variance read^2."""
    mu, read = 150.0 + DARK * T_EXP, 3.0
    cam = _camera(shot=None, read_noise_e=read)
    r = cam(_uniform_field(150.0), torch.Generator().manual_seed(12))
    _assert_moments(r, mu, read**2, 3 * read**4)


def test_adc_quantisation_statistics():
    """A 6-bit ADC over a 1000-electron full well: counts are integers in [0, 63], gain
    g = 1000 / 63 electrons per count. The electron spread (sigma ~ 12.4 e = 0.78
    count) is wide against one count, so rounding adds g^2 / 12 to the variance
    (Sheppard) and leaves the mean; these are the expected moments in counts."""
    mu, read, full, bits = 150.0 + DARK * T_EXP, 2.0, 1000.0, 6
    g = full / (2**bits - 1)
    noise = DetectorNoise(
        LAM,
        T_EXP,
        quantum_efficiency=QE,
        dark_current_e_per_s=DARK,
        read_noise_e=read,
        full_well_e=full,
        adc_bits=bits,
        output="counts",
    )
    cam = Camera(G, binning=3, noise=noise)
    r = cam(_uniform_field(150.0), torch.Generator().manual_seed(13))
    assert torch.equal(r, r.round()) and r.min() >= 0 and r.max() <= 2**bits - 1
    s2 = (mu + read**2) / g**2
    # the counts behave as a Gaussian (variance s2) plus an independent uniform of
    # width 1: variance s2 + 1/12, fourth central moment 3 s2^2 + s2 / 2 + 1 / 80
    _assert_moments(r, mu / g, s2 + 1 / 12, 3 * s2**2 + s2 / 2 + 1 / 80)
    # the electrons output is the count times the gain
    noise.output = "electrons"
    e = cam(_uniform_field(150.0), torch.Generator().manual_seed(13))
    torch.testing.assert_close(e, r * g, rtol=1e-15, atol=0)


def test_from_profile():
    prof = {
        "pixel_pitch": 6 * um,
        "resolution": (100, 100),
        "quantum_efficiency": 0.8,
        "read_noise_e": 1.5,
        "full_well_e": 2e4,
        "adc_bits": 12,
    }
    cam = Camera.from_profile(prof, grid=G, wavelength=532 * nm, exposure_time=1 * ms)
    assert cam.binning == (3, 3) and cam.noise.adc_bits == 12
    with pytest.raises(ValueError, match="whole multiple"):
        Camera.from_profile(prof, grid=Grid(12, 4 * um), wavelength=532 * nm, exposure_time=1e-3)
    with pytest.raises(ValueError, match="sensor"):
        small = dict(prof, resolution=(2, 2))
        Camera.from_profile(small, grid=G, wavelength=532 * nm, exposure_time=1e-3)
    devices = pytest.importorskip("photonn.devices")
    cams = [n for n in devices.list_profiles() if devices.load_profile(n).kind == "camera"]
    if not cams:
        pytest.skip("no camera profile shipped")
    pitch = devices.load_profile(cams[0])["pixel_pitch"]
    cam = Camera.from_profile(
        cams[0], grid=Grid(8, pitch / 2), wavelength=532 * nm, exposure_time=1 * ms
    )
    assert cam.binning == (2, 2) and cam.pixel_grid.shape == (4, 4)


def test_errors():
    with pytest.raises(ValueError, match="multiple of the binning"):
        Camera(G, binning=5)
    with pytest.raises(ValueError, match="binning"):
        Camera(G, binning=0)
    with pytest.raises(ValueError, match="grid"):
        Camera(G)(_field((12, 17)))
    with pytest.raises(TypeError, match="complex"):
        Camera(G)(torch.ones(12, 18))


def test_gradcheck():
    g = Grid((4, 6), 1 * um)
    x = _field((4, 6)).requires_grad_()
    assert torch.autograd.gradcheck(Camera(g, binning=2), (x,), fast_mode=True)
