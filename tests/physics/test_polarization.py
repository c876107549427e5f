"""Jones calculus and vectorial fields: identities, the handedness convention, transversality.

All in complex128; identities hold to float64 rounding (bound 1e-12 unless stated).

Break tests: a retarder with ``exp(-i G)`` on the slow axis flips the handedness
test; a polarizer built from ``(cos, -sin)`` fails Malus's law at 30 deg; a sign
error in ``longitudinal_field`` (``+(kx Ex + ky Ey) / kz``) fails the tilted plane
wave.
"""

from __future__ import annotations

import math

import pytest
import torch

from photonn import Grid
from photonn.freespace import (
    HalfWavePlate,
    JonesMatrix,
    Polarizer,
    PolarizingBeamSplitter,
    Propagator,
    QuarterWavePlate,
    Rotator,
    WavePlate,
)
from photonn.functional import (
    apply_jones,
    jones_vector,
    longitudinal_field,
    polarizer_matrix,
    retarder_matrix,
    rotator_matrix,
    stokes,
)
from photonn.units import um

C128 = torch.complex128
EPS = 1e-12


def _uniform(v, shape=(4, 4)):
    return v.to(C128)[:, None, None] * torch.ones(shape, dtype=C128)


def _eye():
    return torch.eye(2, dtype=C128)


@pytest.mark.parametrize("deg", [0, 17, 30, 45, 60, 90, 123])
def test_malus_law(deg):
    """Linear light at b = 0.3 rad through a polarizer at a keeps cos^2(a - b) of its power,
    and leaves polarized along a."""
    a, b = math.radians(deg), 0.3
    E = _uniform(jones_vector(b))
    out = Polarizer(a, dtype=C128)(E)
    P = (out.abs() ** 2).sum(-3)
    assert torch.allclose(P, torch.full_like(P, math.cos(a - b) ** 2), atol=EPS)
    u = torch.tensor([math.cos(a), math.sin(a)], dtype=C128)
    assert torch.allclose(out[:, 0, 0], math.cos(a - b) * u, atol=EPS)


def test_quarter_wave_plate_at_45_makes_right_circular():
    """The handedness convention: QWP (fast axis +45 deg) on x-linear light gives S3 = +S0,
    the state (1, -i)/sqrt 2 up to a phase: right-circular in Born & Wolf's convention
    (clockwise looking at the source, time dependence exp(-i w t))."""
    out = QuarterWavePlate(math.pi / 4, dtype=C128)(_uniform(jones_vector(0.0)))
    S = stokes(out)[..., 0, 0]
    assert torch.allclose(S, torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=torch.float64), atol=EPS)
    v = out[:, 0, 0]
    assert abs(v[1] / v[0] - (-1j)) < EPS
    # and the field turns clockwise (x -> -y) looking at the source: at z = 0,
    # E(t) = Re(v exp(-i w t)); a quarter period later it points along -y
    e0 = (v * 1).real
    e1 = (v * complex(math.cos(-math.pi / 2), math.sin(-math.pi / 2))).real
    cross_z = e0[0] * e1[1] - e0[1] * e1[0]  # > 0 counter-clockwise seen from +z
    assert cross_z < 0
    # the named ellipticity +pi/4 is the same state
    w = jones_vector(0.0, math.pi / 4)
    assert abs(abs(torch.vdot(w, v / v.norm())) - 1) < EPS


def test_quarter_wave_twice_is_half_wave():
    for a in (0.0, 0.3, math.pi / 4, 1.1):
        q = retarder_matrix(math.pi / 2, a)
        h = retarder_matrix(math.pi, a)
        assert torch.allclose(q @ q, h, atol=EPS)


def test_half_wave_plate_mirrors_linear_polarization():
    """HWP with fast axis at a maps linear at b to linear at 2a - b (up to a phase)."""
    a, b = 0.4, 0.1
    out = HalfWavePlate(a, dtype=C128)(_uniform(jones_vector(b)))[:, 0, 0]
    want = jones_vector(2 * a - b)
    assert abs(abs(torch.vdot(want, out)) - 1) < EPS


def test_rotator_composition_and_action():
    a, b = 0.3, -1.1
    assert torch.allclose(rotator_matrix(a) @ rotator_matrix(b), rotator_matrix(a + b), atol=EPS)
    out = Rotator(a, dtype=C128)(_uniform(jones_vector(b)))[:, 0, 0]
    assert torch.allclose(out, jones_vector(a + b), atol=EPS)


@pytest.mark.parametrize(
    "J",
    [
        retarder_matrix(0.7, 0.2),
        rotator_matrix(1.3),
        retarder_matrix(math.pi / 2, -0.5) @ rotator_matrix(0.4),
    ],
)
def test_lossless_elements_are_unitary(J):
    assert torch.allclose(J @ J.conj().T, _eye(), atol=EPS)


def test_polarizer_is_a_projector():
    P = polarizer_matrix(0.77)
    assert torch.allclose(P @ P, P, atol=EPS)
    assert torch.allclose(
        P @ polarizer_matrix(0.77 + math.pi / 2), torch.zeros(2, 2, dtype=C128), atol=EPS
    )


def test_pbs_conserves_energy():
    g = torch.Generator().manual_seed(0)
    E = torch.randn(3, 2, 5, 6, dtype=C128, generator=g)
    t, r = PolarizingBeamSplitter(0.6, dtype=C128)(E)
    p_in = (E.abs() ** 2).sum((-3, -2, -1))
    p_out = (t.abs() ** 2).sum((-3, -2, -1)) + (r.abs() ** 2).sum((-3, -2, -1))
    assert torch.allclose(p_in, p_out, rtol=EPS)


def test_general_jones_matrix_and_per_pixel_apply():
    g = torch.Generator().manual_seed(1)
    M = torch.randn(2, 2, dtype=C128, generator=g)
    E = torch.randn(2, 3, 3, dtype=C128, generator=g)
    out = JonesMatrix(M, dtype=C128)(E)
    want = torch.einsum("ij,jyx->iyx", M, E)
    assert torch.allclose(out, want, atol=EPS)
    Mp = torch.randn(2, 2, 3, 3, dtype=C128, generator=g)
    assert torch.allclose(apply_jones(E, Mp), torch.einsum("ijyx,jyx->iyx", Mp, E), atol=EPS)


def test_stokes_fully_polarized():
    v = jones_vector(0.3, 0.2)
    S = stokes(_uniform(v))[..., 0, 0]
    assert abs(S[0] ** 2 - (S[1:] ** 2).sum()) < EPS
    # S1 + i S2 = S0 cos(2 chi) exp(2 i psi); S3 = S0 sin(2 chi)
    assert abs(S[1] - math.cos(0.4) * math.cos(0.6)) < EPS
    assert abs(S[2] - math.cos(0.4) * math.sin(0.6)) < EPS
    assert abs(S[3] - math.sin(0.4)) < EPS


def test_wave_plate_equals_named_retarders():
    E = _uniform(jones_vector(0.2, 0.1))
    assert torch.allclose(
        WavePlate(math.pi / 2, 0.3, dtype=C128)(E), QuarterWavePlate(0.3, dtype=C128)(E)
    )


# -- vectorial ----------------------------------------------------------------------
LAM = 0.5 * um


@pytest.mark.parametrize("mx,my", [(3, 0), (5, -2), (0, 7), (11, 9)])
def test_tilted_plane_wave_ez(mx, my):
    """Ez / Ex = -kx / kz (Ey = 0), exactly: a plane wave on an FFT bin."""
    g = Grid((32, 64), 0.2 * um)
    Y, X = g.meshgrid()
    kx = 2 * math.pi * mx / (g.nx * g.dx)
    ky = 2 * math.pi * my / (g.ny * g.dy)
    wave = torch.polar(torch.ones_like(X), kx * X + ky * Y)
    E = torch.stack([wave, torch.zeros_like(wave)])
    ez = longitudinal_field(E, g, LAM)
    k = 2 * math.pi / LAM
    kz = math.sqrt(k * k - kx * kx - ky * ky)
    assert torch.allclose(ez, -kx / kz * wave, atol=1e-13, rtol=0)
    # with both components: -(kx Ex + ky Ey) / kz
    E2 = torch.stack([wave, 0.5j * wave])
    ez2 = longitudinal_field(E2, g, LAM)
    assert torch.allclose(ez2, -(kx + 0.5j * ky) / kz * wave, atol=1e-13, rtol=0)


def test_evanescent_component():
    """An evanescent wave (kx > k) gets kz = i |kz|; 'drop' zeroes it."""
    g = Grid((8, 16), 0.2 * um)
    X = g.meshgrid()[1]
    kx = 2 * math.pi * 7 / (g.nx * g.dx)  # 7 / 3.2 um = 2.19 / um > 1 / lambda = 2 / um
    k = 2 * math.pi / LAM
    assert kx > k
    wave = torch.polar(torch.ones_like(X), kx * X)
    E = torch.stack([wave, torch.zeros_like(wave)])
    kappa = math.sqrt(kx * kx - k * k)
    ez = longitudinal_field(E, g, LAM)
    assert torch.allclose(ez, -kx / (1j * kappa) * wave, atol=1e-12, rtol=0)
    assert longitudinal_field(E, g, LAM, evanescent="drop").abs().max() < 1e-13


def test_propagated_field_stays_transverse():
    """Ez of the propagated (Ex, Ey) equals the propagated Ez (periodic ASM, exact to rounding):
    each plane wave keeps k . E = 0."""
    g = Grid(64, 0.25 * um)
    gen = torch.Generator().manual_seed(3)
    Y, X = g.meshgrid()
    env = torch.exp(-(X**2 + Y**2) / (2 * (2 * um) ** 2))
    E = (torch.randn(2, 64, 64, dtype=C128, generator=gen) * env).to(C128)
    ez0 = longitudinal_field(E, g, LAM)
    P = Propagator(g, LAM, 3 * um, pad_factor=1, dtype=C128)
    Ez_prop = P(ez0)
    ez_from_prop = longitudinal_field(P(E), g, LAM)
    assert ((Ez_prop - ez_from_prop).abs().max() / ez0.abs().max()).item() < 1e-12
    # and the divergence vanishes in the angular spectrum
    k = 2 * math.pi / LAM
    kk = 2 * math.pi * torch.fft.fftfreq(64, d=g.dx, dtype=torch.float64)
    kz = torch.sqrt((k * k - kk[:, None] ** 2 - kk[None, :] ** 2).to(C128))
    A = torch.fft.fft2(torch.cat([P(E), Ez_prop[None]]))
    div = kk[None, :] * A[0] + kk[:, None] * A[1] + kz * A[2]
    assert (div.abs().max() / (k * A.abs().max())).item() < 1e-12
