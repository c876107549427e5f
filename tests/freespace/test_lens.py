"""ThinLens: smoke, errors, shapes, the Airy focus, gradcheck."""

from __future__ import annotations

import math

import pytest
import torch
from scipy.special import j1

from photonn import Grid
from photonn.freespace import Propagator, ThinLens
from photonn.functional import thin_lens_phase
from photonn.units import mm, nm, um

C128 = torch.complex128


def test_shape_dtype_and_transmission():
    g = Grid((16, 12), 2 * um)
    lens = ThinLens(g, 633 * nm, 5 * mm)
    x = torch.ones(3, 16, 12, dtype=torch.complex64)
    y = lens(x)
    assert y.shape == x.shape and y.dtype == torch.complex64
    ref = torch.exp(1j * thin_lens_phase(g, 633 * nm, 5 * mm)).to(torch.complex64)
    assert torch.allclose(lens.transmission(), ref, atol=2e-6)
    # no pupil: unit modulus everywhere; with a pupil: zero outside
    assert torch.allclose(lens.transmission().abs(), torch.ones(16, 12), atol=1e-6)
    pupil = ThinLens(g, 633 * nm, 5 * mm, diameter=10 * um).transmission()
    assert float(pupil[0, 0].abs()) == 0 and float(pupil[8, 6].abs()) == pytest.approx(1)


def test_errors():
    g = Grid(8, 1 * um)
    with pytest.raises(ValueError, match="focal_length"):
        ThinLens(g, 1 * um, 0.0)
    with pytest.raises(ValueError, match="wavelength"):
        ThinLens(g, -1 * um, 1 * mm)
    with pytest.raises(ValueError, match="diameter"):
        ThinLens(g, 1 * um, 1 * mm, diameter=0)
    with pytest.raises(TypeError, match="built for"):
        ThinLens(g, 1 * um, 1 * mm)(torch.ones(8, 8, dtype=C128))
    with pytest.raises(ValueError, match="grid"):
        ThinLens(g, 1 * um, 1 * mm)(torch.ones(8, 9, dtype=torch.complex64))


def test_lens_then_inverse_lens_is_identity():
    g = Grid(16, 3 * um)
    x = torch.randn(16, 16, dtype=C128, generator=torch.Generator().manual_seed(0))
    y = ThinLens(g, 1 * um, -2 * mm, dtype=C128)(ThinLens(g, 1 * um, 2 * mm, dtype=C128)(x))
    assert torch.allclose(y, x, atol=1e-13)


def test_plane_wave_focuses_to_the_airy_pattern():
    """Plane wave -> circular pupil D + lens f -> propagate f (band-limited ASM).

    Reference: Airy, ``I(r) = I0 (2 J1(v)/v)^2`` with ``v = pi D r / (lambda f)``,
    ``I0 = (A / (lambda f))^2`` (A: pupil area), first zero at ``1.22 lambda f / D``.
    f is chosen so the zero falls on pixel 10. Deviations come from the
    non-paraxial propagation (order NA^2 = (D/2f)^2 ~ 2e-4) and the pixelated
    pupil edge, so the tolerance is 2e-3 of the peak.
    """
    lam, dx, n, D = 1 * um, 4 * um, 256, 0.5 * mm
    f = 10 * dx * D / (1.22 * lam)
    g = Grid(n, dx)
    lens = ThinLens(g, lam, f, diameter=D, dtype=C128)
    prop = Propagator(g, lam, f, "bl-asm", dtype=C128)
    u = prop(lens(torch.ones(n, n, dtype=C128)))
    row = (u.abs() ** 2)[n // 2, n // 2 : n // 2 + 14]
    first_zero = int(torch.argmin(row[5:])) + 5
    assert abs(first_zero - 1.22 * lam * f / D / dx) <= 1
    area = float(lens.transmission().abs().sum()) * dx * dx
    i0 = (area / (lam * f)) ** 2
    assert float(row[0]) == pytest.approx(i0, rel=1e-3)
    v = math.pi * D * (torch.arange(1, 14, dtype=torch.float64) * dx) / (lam * f)
    airy = i0 * (2 * torch.from_numpy(j1(v.numpy())) / v) ** 2
    assert torch.allclose(row[1:], airy, atol=2e-3 * i0, rtol=0)


def test_gradcheck_field():
    g = Grid((5, 4), 2 * um)
    lens = ThinLens(g, 1 * um, 1 * mm, diameter=8 * um, dtype=C128)
    x = torch.randn(5, 4, dtype=C128, generator=torch.Generator().manual_seed(0))
    assert torch.autograd.gradcheck(lens, (x.requires_grad_(),))
