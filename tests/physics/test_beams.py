"""Beam families and Zernike polynomials against their analytic properties (float64).

Tolerances:
* Orthonormality of Hermite-Gauss / Laguerre-Gauss modes on a grid: the sum over
  pixels of a smooth, Gaussian-decaying product is the trapezoidal rule, whose error
  falls like ``exp(-pi^2 w^2 / (2 dx^2))`` (aliasing) plus the tail outside the window,
  ``~exp(-2 (L/2)^2 / w^2)``; with ``w = 12 dx`` and ``L/2 > 6 w`` both are below 1e-30,
  so only float64 rounding of ``N^2`` sums remains: 1e-10.
* Zernike on a pixelated disk: the pixel set differs from the disk along its rim. The
  rim band has area ``~2 pi R dx`` and the integrand there is at most ``2 (n+1)``, but
  the lattice discrepancy cancels along the rim (Gauss circle problem: the count error
  is ``O(R^0.7)`` pixels, not ``O(R)``). Measured largest error of the 15 x 15 Gram
  matrix: 5.1e-3, 3.2e-3, 7.8e-4 at R = 100, 200, 400 pixels; the tolerance
  ``2 (n+1) R^-1.3`` (4.1e-3 at R = 400, n = 4) follows that decay with margin.
* Gouy phase after an angular-spectrum step: the exact step differs from the paraxial
  mode by the phase ``z kx^4 / (8 k^3)``; for the mode's spectral width
  ``kx^2 ~ 2 (2p+|l|+1) / w0^2`` at ``w0 = 50 um``, 633 nm, ``z = zR`` it is 1e-4 rad:
  tolerance 1e-3 rad.
"""

from __future__ import annotations

import math

import pytest
import torch

from photonn import Grid
from photonn.freespace import Propagator, ZernikeAberration
from photonn.functional import (
    airy_beam,
    bessel_beam,
    binary_grating,
    blazed_grating,
    gaussian_beam,
    hermite_gauss,
    laguerre_gauss,
    noll_to_nm,
    plane_wave,
    sinusoidal_grating,
    spherical_wave,
    zernike,
    zernike_basis,
)

WL = 633e-9


def _gram(fields, area):
    F = torch.stack([f.reshape(-1) for f in fields])
    return (F.conj() @ F.T) * area


def test_hermite_gauss_modes_are_orthonormal():
    g = Grid(192, 1e-6)
    w = 12e-6
    orders = [(n, m) for n in range(5) for m in range(5)]
    G = _gram(
        [hermite_gauss(g, WL, w, n, m, dtype=torch.complex128) for n, m in orders], g.pixel_area
    )
    assert torch.allclose(G, torch.eye(len(orders), dtype=G.dtype), atol=1e-10)
    # at z != 0 too (curvature and Gouy phases must keep them orthonormal)
    zr = math.pi * w**2 / WL
    G = _gram(
        [hermite_gauss(g, WL, w, n, m, z=0.5 * zr, dtype=torch.complex128) for n, m in orders],
        g.pixel_area,
    )
    assert torch.allclose(G, torch.eye(len(orders), dtype=G.dtype), atol=1e-10)


def test_laguerre_gauss_modes_are_orthonormal():
    g = Grid(192, 1e-6)
    w = 12e-6
    orders = [(p, l) for p in range(4) for l in range(-3, 4)]
    G = _gram(
        [laguerre_gauss(g, WL, w, p, l, dtype=torch.complex128) for p, l in orders], g.pixel_area
    )
    assert torch.allclose(G, torch.eye(len(orders), dtype=G.dtype), atol=1e-10)


def test_fundamental_modes_are_the_gaussian_beam():
    g = Grid(128, 2e-6)
    w, z = 30e-6, 2e-3
    ref = gaussian_beam(g, WL, w, z, dtype=torch.complex128) * math.sqrt(2 / math.pi) / w
    for f in (
        hermite_gauss(g, WL, w, 0, 0, z, dtype=torch.complex128),
        laguerre_gauss(g, WL, w, 0, 0, z, dtype=torch.complex128),
    ):
        assert torch.allclose(f, ref, atol=1e-12 * ref.abs().max())


@pytest.mark.parametrize("p,l", [(0, 1), (1, 2), (2, -1)])
def test_laguerre_gauss_gouy_phase_after_propagation(p, l):
    """Propagated by the angular spectrum, the mode keeps its shape and gains the Gouy
    phase -(2p + |l| + 1) atan(z/zR) relative to the carrier exp(ikz)."""
    g = Grid(256, 2e-6)
    w0 = 50e-6
    zr = math.pi * w0**2 / WL
    z = zr
    u0 = laguerre_gauss(g, WL, w0, p, l, dtype=torch.complex128)
    out = Propagator(g, WL, z, "bl-asm", dtype=torch.complex128)(u0)
    ref = laguerre_gauss(g, WL, w0, p, l, z, dtype=torch.complex128)
    # the analytic field without its Gouy phase and carrier
    k = 2 * math.pi / WL
    gouy = (2 * p + abs(l) + 1) * math.atan(z / zr)
    bare = ref * complex(math.cos(gouy - k * z), math.sin(gouy - k * z))
    overlap = (bare.conj() * out).sum() * g.pixel_area
    assert abs(abs(overlap) - 1) < 1e-3  # shape kept
    measured = -torch.angle(overlap).item() + k * z  # -(phase) with carrier removed
    measured = math.remainder(measured, 2 * math.pi)
    assert abs(measured - math.remainder(gouy, 2 * math.pi)) < 1e-3, (measured, gouy)
    assert (out - ref).norm() / ref.norm() < 2e-3


def test_bessel_core_does_not_spread_within_its_geometric_range():
    """A Bessel-Gauss beam (cone angle 4 mrad, Gaussian radius a = 0.3 mm) keeps its
    core, J0(k_r r)^2 with first zero 2.405/k_r = 60 um, up to about z_max = a/tan(theta)
    = 75 mm; a Gaussian beam of waist r0 = 60 um loses 5x its peak intensity over z_max/2."""
    g = Grid(512, 4e-6)
    theta, a = 4e-3, 0.3e-3
    z = 0.5 * a / math.tan(theta)
    u0 = bessel_beam(g, WL, theta, aperture=a, dtype=torch.complex128)
    out = Propagator(g, WL, z, "bl-asm", dtype=torch.complex128)(u0)
    kr = 2 * math.pi / WL * math.sin(theta)
    r0 = 2.405 / kr
    c = g.ny // 2
    x = g.x()
    core = x.abs() <= 0.9 * r0
    I0 = (u0[c].abs() ** 2)[core]
    I1 = (out[c].abs() ** 2)[core]
    # shape of the core unchanged: normalised profiles agree to 3% (the Gaussian envelope
    # at r0 changes the profile by r0^2/a^2 < 1%; the on-axis amplitude by the envelope
    # seen along the cone, ~(z tan(theta) / a)^2 = 25% in power, is normalised out)
    assert torch.allclose(I1 / I1.max(), I0 / I0.max(), atol=0.03)
    # and a Gaussian with the same core size does spread
    gb = gaussian_beam(g, WL, r0, dtype=torch.complex128)
    gz = Propagator(g, WL, z, "bl-asm", dtype=torch.complex128)(gb)
    assert (gz[c].abs() ** 2)[core].max() < 0.25 * (gb[c].abs() ** 2).max()


def test_plane_and_spherical_waves():
    g = Grid(64, 1e-6)
    pw = plane_wave(g, WL, 0.01, -0.02, dtype=torch.complex128)
    k = 2 * math.pi / WL
    step = pw[32, 33] / pw[32, 32]
    assert abs(torch.angle(step).item() - k * math.sin(0.01) * 1e-6) < 1e-9
    spectrum = torch.fft.fft2(pw).abs()
    assert spectrum.max() > 0.5 * spectrum.sum() / 4  # one (leaky) peak
    sw = spherical_wave(g, WL, 1e-3, dtype=torch.complex128)
    assert abs(sw[32, 32] - complex(math.cos(k * 1e-3), math.sin(k * 1e-3))) < 1e-12
    with pytest.raises(ValueError, match="propagating"):
        plane_wave(g, WL, 1.2, 1.2)
    with pytest.raises(ValueError, match="non-zero"):
        spherical_wave(g, WL, 0.0)


def test_airy_beam_and_gratings():
    g = Grid(64, 1e-6)
    ab = airy_beam(g, 3e-6, 0.1, dtype=torch.complex128)
    # main lobe of Ai(s) at s = -1.0188: x = -3.06 um, pixel 32 - 3 on both axes
    iy, ix = divmod(ab.abs().argmax().item(), 64)
    assert (iy, ix) == (29, 29)
    b = binary_grating(g, 8e-6, duty=0.25)
    assert abs(b.mean().item() - 0.25) < 1e-12
    bl = blazed_grating(g, 8e-6)
    assert bl.min() >= 0 and bl.max() < 1
    s = sinusoidal_grating(g, 8e-6)
    assert abs(s.mean().item() - 0.5) < 1e-12


def test_noll_indices():
    assert [noll_to_nm(j) for j in range(1, 12)] == [
        (0, 0),
        (1, 1),
        (1, -1),
        (2, 0),
        (2, -2),
        (2, 2),
        (3, -1),
        (3, 1),
        (3, -3),
        (3, 3),
        (4, 0),
    ]
    with pytest.raises(ValueError, match="Noll index must be >= 1"):
        noll_to_nm(0)


def test_zernike_polynomials_are_orthonormal_on_the_unit_disk():
    R = 400
    g = Grid(2 * R + 2, 1.0 / R)
    Z = zernike_basis(g, range(1, 16), 1.0)
    G = torch.einsum("iyx,jyx->ij", Z, Z) * g.pixel_area / math.pi
    n_max = 4
    tol = 2 * (n_max + 1) * R**-1.3
    err = (G - torch.eye(15, dtype=G.dtype)).abs().max().item()
    assert err < tol, (err, tol)
    # known closed forms: defocus sqrt3 (2 rho^2 - 1), tilt 2 rho cos
    x = g.x()
    row = zernike(g, 4, 1.0)[g.ny // 2]
    inside = x.abs() <= 1
    assert torch.allclose(row[inside], math.sqrt(3) * (2 * x[inside] ** 2 - 1), atol=1e-12)
    row = zernike(g, 2, 1.0)[g.ny // 2]
    assert torch.allclose(row[inside], 2 * x[inside], atol=1e-12)


def test_zernike_aberration_is_trainable():
    g = Grid(32, 1e-6)
    ab = ZernikeAberration(
        g, 12e-6, indices=[4, 11], coefficients=[0.3, -0.1], dtype=torch.complex128
    )
    field = torch.ones(2, 32, 32, dtype=torch.complex128)
    out = ab(field)
    phase = 0.3 * zernike(g, 4, 12e-6) - 0.1 * zernike(g, 11, 12e-6)
    assert torch.allclose(out[0], torch.polar(torch.ones_like(phase), phase), atol=1e-12)
    out.real.sum().backward()
    assert ab.coefficients.grad is not None and ab.coefficients.grad.shape == (2,)
    with pytest.raises(ValueError, match="one per Noll index"):
        ZernikeAberration(g, 12e-6, indices=[4, 11], coefficients=[0.3])
