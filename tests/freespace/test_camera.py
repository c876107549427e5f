"""Camera: pixel binning, power conservation, noise, profiles, gradcheck."""

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


def test_from_profile():
    prof = {
        "pixel_pitch": 6 * um,
        "resolution": (100, 100),
        "quantum_efficiency": 0.8,
        "read_noise_e": 1.5,
        "full_well_e": 2e4,
        "bit_depth": 12,
    }
    cam = Camera.from_profile(prof, grid=G, wavelength=532 * nm, exposure_time=1 * ms)
    assert cam.binning == (3, 3) and cam.noise.bit_depth == 12
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
