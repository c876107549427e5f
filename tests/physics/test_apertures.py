"""Hard-edged apertures against closed forms: Fresnel integrals, sinc^2, Airy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import fresnel, j1

from photonn import Grid, SamplingWarning, propagate
from photonn.demo import airy_first_zero, focal_spot
from photonn.freespace import Propagator
from photonn.functional import circular_aperture, rect_aperture
from photonn.units import cm, mm, nm, um

LAM = 633 * nm


def _fresnel_edge(t):
    s, c = fresnel(t)
    return c + 1j * s


@pytest.mark.parametrize("fresnel_number", [1, 5, 20])
def test_square_aperture_fresnel_integrals(fresnel_number):
    """Square aperture (side 2a = 1.024 mm = 1024 px) in the Fresnel regime.

    Sampling: 2048^2 grid at 1 um (window 2.048 mm = 2 apertures), padded 2x,
    z = a^2 / (lambda N_F) from 41 cm (N_F = 1) to 2.1 cm (N_F = 20), all
    beyond the critical distance N dx^2 / lambda = 6.5 mm, so the impulse-
    response method "fresnel-ir" applies. Reference: the product of Fresnel
    integrals ``U = e^{ikz}/(2i) [F(s(a-x)) - F(s(-a-x))][same in y]``,
    ``s = sqrt(2 / (lambda z))``, with the aperture edges at the pixel
    boundaries. The error is dominated by the midpoint-rule error of the
    sampled edge, O(dx^2): measured 5e-6, 7e-5 and 6e-4 of the peak intensity
    for N_F = 1, 5, 20. Bound: 1e-3 of the peak.
    """
    n, m, dx = 2048, 1024, 1 * um
    grid = Grid(n, dx)
    a = m * dx / 2
    z = a * a / (LAM * fresnel_number)
    field = rect_aperture(grid, m * dx).to(torch.complex128)
    assert field.real.sum().item() == m * m
    with pytest.warns(SamplingWarning):
        # the edge's steepest diffracted light leaves the 2x window (it is cut, not
        # wrapped); its share of the intensity in the window is inside the bound
        out = propagate(field, grid, LAM, z, "fresnel-ir", pad_factor=2)
    s = math.sqrt(2 / (LAM * z))
    x = grid.x().numpy() + dx / 2  # pixel [-a, a) spans centres -a .. a - dx
    u = _fresnel_edge(s * (a - x)) - _fresnel_edge(s * (-a - x))
    ref = np.exp(1j * 2 * math.pi / LAM * z) / 2j * np.outer(u, u)
    i_ref = np.abs(ref) ** 2
    err = np.abs(out.abs().numpy() ** 2 - i_ref).max() / i_ref.max()
    assert err <= 1e-3


def test_fraunhofer_square_aperture_sinc2():
    """Far field of a 64-px square aperture against ``sinc^2(w u / (lambda z))``.

    Grid 256^2 at 10 um, Fraunhofer at z = 10 m (Fresnel number of the
    aperture (0.32 mm)^2 / (lambda z) = 0.016), padded 4x so the output pitch
    lambda z / (N dx) = 1.55 mm samples the lobes. The discrete transform of M
    samples is the Dirichlet kernel sin(pi M k/N)/(M sin(pi k/N)), which departs
    from sinc by a factor (pi k/N) / sin(pi k/N) - 1 <= (pi k/N)^2 / 6; over the
    five central lobes (|k| <= 5 N/M) that is 2.6e-3, the bound used (relative to
    the peak). The amplitude is fixed by Parseval (power conserved to 1e-12).
    """
    grid = Grid(256, 10 * um)
    w = 64 * 10 * um
    z = 10.0
    field = rect_aperture(grid, w).to(torch.complex128)
    prop = Propagator(grid, LAM, z, method="fraunhofer", pad_factor=4, dtype=torch.complex128)
    out = prop(field)
    og = prop.output_grid
    assert og.shape == (1024, 1024)
    assert og.dx == pytest.approx(LAM * z / (1024 * 10 * um), rel=1e-12)
    p_in = (field.abs() ** 2).sum() * grid.pixel_area
    p_out = (out.abs() ** 2).sum() * og.pixel_area
    assert abs(p_out / p_in - 1) < 1e-12
    intensity = out.abs().numpy() ** 2
    u = og.x().numpy()
    # the 64-px aperture is centred on index n // 2 up to half a pixel: a linear phase
    # in the far field, invisible in the intensity
    ref1 = np.sinc(w * u / (LAM * z))
    ref = np.outer(ref1, ref1) ** 2
    ref = ref * intensity.max() / ref.max()
    k_max = 5 * 1024 // 64
    c = og.nx // 2
    sl = slice(c - k_max, c + k_max + 1)
    err = np.abs(intensity[sl, sl] - ref[sl, sl]).max() / intensity.max()
    assert err <= (math.pi * k_max / 1024) ** 2 / 6


def test_fraunhofer_circular_aperture_airy_first_zero():
    """Far field of a circular aperture: first zero at 1.22 lambda z / D within one pixel."""
    grid = Grid(512, 5 * um)
    D = 0.8 * mm
    z = 5.0
    field = circular_aperture(grid, D).to(torch.complex128)
    prop = Propagator(grid, LAM, z, method="fraunhofer", pad_factor=4, dtype=torch.complex128)
    intensity = prop(field).abs() ** 2
    r0 = airy_first_zero(prop.output_grid, intensity)
    assert abs(r0 - 1.22 * LAM * z / D) <= prop.output_grid.dx


def test_lens_focus_airy():
    """Plane wave -> 2 mm aperture -> f = 10 cm thin lens -> focal plane by "bl-asm".

    The first zero lies at 1.22 lambda f / D = 38.6 um within one 4 um pixel
    (measured 0.13 px), and the x cut matches the Airy profile [2 J1(v)/v]^2 to
    2e-2 of the peak out to the second ring (the sampled disc is not a perfect
    circle: its area differs from pi D^2/4 by ~1e-3 and its edge is staircase).
    """
    f, D = 10 * cm, 2 * mm
    grid, _, field = focal_spot(n=1024, pitch=4 * um, diameter=D, focal_length=f)
    intensity = field.abs() ** 2
    r0 = airy_first_zero(grid, intensity)
    assert abs(r0 - 1.22 * LAM * f / D) <= grid.dx
    c = grid.nx // 2
    x = grid.x()[c - 20 : c + 21].numpy()
    v = 2 * math.pi / LAM * (D / 2) * x / f
    v = np.where(v == 0, 1e-12, v)
    airy = (2 * j1(v) / v) ** 2
    cut = intensity[grid.ny // 2, c - 20 : c + 21].numpy()
    cut = cut / intensity[grid.ny // 2, c].item()
    assert np.abs(cut - airy).max() <= 2e-2
