"""Polarized fields through scalar and polarization elements: layout, errors, gradients.

Break tests: remove ``.unsqueeze(-3)`` in ``Propagator.forward`` (polarized, several
wavelengths) and the multi-wavelength test fails with a shape error; make
``JonesModulator`` ignore ``bits`` and the quantisation test fails; flip the sign of
``dL/dp1`` in ``_JonesModulate.backward`` and the analytic-backward test fails.
"""

from __future__ import annotations

import math

import pytest
import torch

from photonn import Grid
from photonn.freespace import (
    SLM,
    AmplitudeMask,
    Aperture,
    Camera,
    ComplexMask,
    FourierLens,
    JonesMatrix,
    JonesModulator,
    PhaseMask,
    PolarizedIntensity,
    Polarizer,
    PolarizerCamera,
    PolarizingBeamSplitter,
    Propagator,
    QuarterWavePlate,
    StokesDetector,
    ThinLens,
    ZernikeAberration,
)
from photonn.functional import apply_jones, stokes
from photonn.units import mm, nm, um

G = Grid((16, 12), 4 * um)
C64, C128 = torch.complex64, torch.complex128
LAM = 633 * nm


def _field(shape, dtype=C128, seed=0):
    return torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))


def _scalar_elements(dtype):
    gen = torch.Generator().manual_seed(0)
    return [
        PhaseMask(G, init="uniform", generator=gen, dtype=dtype),
        AmplitudeMask(G, init="uniform", generator=gen, dtype=dtype),
        ComplexMask(G, init="uniform", generator=gen, dtype=dtype),
        ThinLens(G, LAM, 5 * mm, diameter=40 * um, dtype=dtype),
        Aperture(G, 30 * um, dtype=dtype),
        SLM(G, bits=4, init="uniform", generator=gen, dtype=dtype),
        Propagator(G, LAM, 0.2 * mm, dtype=dtype),
        FourierLens(G, LAM, 5 * mm, dtype=dtype),
        ZernikeAberration(
            G, 20 * um, coefficients=torch.linspace(0.1, 1.0, 10, dtype=torch.float64), dtype=dtype
        ),
    ]


@pytest.mark.parametrize("i", range(9))
@pytest.mark.parametrize("batch", [(), (3,)])
def test_scalar_elements_act_on_each_component(i, batch):
    """Every scalar element maps (..., 2, ny, nx) to the same as on Ex and Ey separately."""
    el = _scalar_elements(C128)[i]
    E = _field((*batch, 2, *G.shape))
    out = el(E)
    assert out.shape == E.shape
    for c in range(2):
        assert torch.allclose(out[..., c, :, :], el(E[..., c, :, :]), atol=1e-14)


def test_multi_wavelength_propagator_with_jones_axis():
    lams = [500 * nm, 633 * nm, 800 * nm]
    P = Propagator(G, lams, 0.2 * mm, polarized=True, dtype=C128)
    Ps = Propagator(G, lams, 0.2 * mm, dtype=C128)
    E = _field((4, 3, 2, *G.shape))
    out = P(E)
    assert out.shape == E.shape
    for c in range(2):
        assert torch.allclose(out[..., c, :, :], Ps(E[..., c, :, :]), atol=1e-14)
    # two wavelengths and a Jones axis of 2: unambiguous only with polarized=True
    P2 = Propagator(G, lams[:2], 0.2 * mm, polarized=True, dtype=C128)
    P2s = Propagator(G, lams[:2], 0.2 * mm, dtype=C128)
    E2 = _field((2, 2, *G.shape), seed=1)
    assert torch.allclose(P2(E2)[:, 0], P2s(E2[:, 0]), atol=1e-14)


def test_polarized_propagator_errors():
    P = Propagator(G, [500 * nm, 633 * nm, 800 * nm], 0.2 * mm, polarized=True)
    with pytest.raises(ValueError, match=r"wavelength axis of size 3 before its Jones axis"):
        P(_field((2, 2, *G.shape), C64))
    with pytest.raises(ValueError, match=r"Jones axis of size 2"):
        P(_field((3, 3, *G.shape), C64))
    Ps = Propagator(G, [500 * nm, 633 * nm, 800 * nm], 0.2 * mm)
    with pytest.raises(ValueError, match=r"polarized=True"):
        Ps(_field((3, 2, *G.shape), C64))


@pytest.mark.parametrize(
    "el",
    [
        Polarizer(0.3),
        QuarterWavePlate(0.1),
        JonesMatrix(torch.eye(2)),
        JonesModulator(G),
    ],
)
def test_jones_axis_must_be_two(el):
    with pytest.raises(ValueError, match=r"Jones axis of size 2 \(Ex, Ey\).*\(\.\.\., 2, ny, nx\)"):
        el(_field((3, *G.shape), C64))
    with pytest.raises(ValueError, match=r"got|has shape \(16, 12\)"):
        el(_field(G.shape, C64))


def test_dtype_mismatch_is_refused():
    with pytest.raises(TypeError, match="dtype=torch.complex128"):
        Polarizer(0.0)(_field((2, *G.shape)))


def test_bad_jones_matrix_shape():
    with pytest.raises(ValueError, match=r"\(2, 2\) or \(2, 2, ny, nx\)"):
        JonesMatrix(torch.eye(3))


def test_pbs_outputs_are_orthogonal_projections():
    E = _field((2, *G.shape))
    t, r = PolarizingBeamSplitter(0.0, dtype=C128)(E)
    zero = torch.zeros_like(t[1])
    # cos(pi / 2) = 6e-17 in float64
    assert torch.allclose(t[1], zero, atol=1e-15) and torch.allclose(r[0], zero, atol=1e-15)
    assert torch.allclose(t[0], E[0]) and torch.allclose(r[1], E[1])


# -- JonesModulator ---------------------------------------------------------------------
def test_modulator_identity_at_zero_and_shapes():
    m = JonesModulator(G, dtype=C128)
    E = _field((5, 2, *G.shape))
    assert torch.allclose(m(E), E)
    assert {n for n, _ in m.named_parameters()} == {"raw_fast", "raw_slow", "angle"}
    m2 = JonesModulator(G, learn_angle=False, angle=0.2, dtype=C128)
    assert {n for n, _ in m2.named_parameters()} == {"raw_fast", "raw_slow"}


def test_modulator_is_unitary_per_pixel():
    m = JonesModulator(G, init="uniform", generator=torch.Generator().manual_seed(0), dtype=C128)
    J = m.matrix().permute(2, 3, 0, 1)  # (ny, nx, 2, 2)
    eye = torch.eye(2, dtype=C128).expand_as(J)
    assert torch.allclose(J @ J.conj().transpose(-1, -2), eye, atol=1e-12)


def test_modulator_pixel_is_a_waveplate():
    """With p1 = 0, p2 = pi/2 and axis pi/4 every pixel is a quarter-wave plate."""
    m = JonesModulator(G, angle=math.pi / 4, dtype=C128)
    with torch.no_grad():
        m.raw_slow.fill_(math.pi / 2)
    E = torch.zeros(2, *G.shape, dtype=C128)
    E[0] = 1
    assert torch.allclose(m(E), QuarterWavePlate(math.pi / 4, dtype=C128)(E), atol=1e-14)


def test_modulator_bounded_and_quantised():
    gen = torch.Generator().manual_seed(2)
    m = JonesModulator(G, mode="bounded", max_phase=math.pi, init="uniform", generator=gen)
    p1, p2 = (p.detach() for p in m.phases())
    assert float(p1.min()) > 0 and float(p1.max()) < math.pi
    q = JonesModulator(G, bits=2, init="uniform", generator=gen, dtype=C128)
    p1, p2 = q.phases()
    steps = torch.cat([p1.flatten(), p2.flatten()]) / (math.pi / 2)
    assert torch.allclose(steps, steps.round(), atol=1e-12)
    # straight-through gradient reaches the raw phases
    E = _field((2, *G.shape))
    q(E).abs().square().mul(torch.rand(G.shape, dtype=torch.float64)).sum().backward()
    assert q.raw_fast.grad is not None and q.raw_fast.grad.abs().sum() > 0


def test_modulator_gradcheck():
    g = Grid(3, 1 * um)
    m = JonesModulator(g, init="uniform", generator=torch.Generator().manual_seed(4), dtype=C128)
    E = _field((2, 3, 3), seed=5)

    def fn(p1, p2, a):
        from photonn.functional import jones_modulator_matrix

        return apply_jones(E, jones_modulator_matrix(p1, p2, a, dtype=C128))

    args = tuple(t.detach().clone().requires_grad_(True) for t in (m.raw_fast, m.raw_slow, m.angle))
    assert torch.autograd.gradcheck(fn, args)


# -- detectors ------------------------------------------------------------------------
def test_polarized_intensity_and_stokes():
    E = _field((3, 2, *G.shape))
    I = PolarizedIntensity()(E)
    assert torch.allclose(I, (E.abs() ** 2).sum(-3))
    S = StokesDetector()(E)
    assert S.shape == (3, 4, *G.shape)
    assert torch.allclose(S[:, 0], I)
    Iz = PolarizedIntensity(G, LAM, longitudinal=True)(E)
    assert bool((Iz >= I - 1e-12).all()) and bool((Iz > I).any())
    with pytest.raises(ValueError, match="pass grid and wavelength"):
        PolarizedIntensity(longitudinal=True)


def test_polarizer_camera_wraps_camera():
    E = _field((2, 2, *G.shape))
    cam = Camera(G, binning=(4, 3))
    pc = PolarizerCamera(G, math.pi / 3, camera=cam)
    want = cam(Polarizer(math.pi / 3, dtype=C128)(E)).sum(-3)
    assert torch.allclose(pc(E), want, atol=1e-20)
    assert pc(E).shape == (2, 4, 4)
    # analysers at 0 and 90 deg collect the total power
    tot = PolarizerCamera(G, 0.0)(E) + PolarizerCamera(G, math.pi / 2)(E)
    assert torch.allclose(tot, Camera(G)(E).sum(-3))
    # the Stokes S1 is the difference
    d = PolarizerCamera(G, 0.0)(E) - PolarizerCamera(G, math.pi / 2)(E)
    assert torch.allclose(d, stokes(E)[:, 1] * G.pixel_area)


def test_jones_modulate_analytic_backward():
    """The modulator's hand-written backward: gradcheck (complex128), and equal to autograd
    through the plain matrix to 1e-13."""
    from photonn.functional import jones_modulator_matrix
    from photonn.functional.jones import jones_modulate

    gen = torch.Generator().manual_seed(7)
    E = torch.randn(3, 2, 4, 5, dtype=C128, generator=gen, requires_grad=True)
    p1, p2, a = (
        torch.randn(4, 5, dtype=torch.float64, generator=gen, requires_grad=True) for _ in range(3)
    )
    assert torch.autograd.gradcheck(jones_modulate, (E, p1, p2, a))
    w = torch.randn(3, 2, 4, 5, dtype=C128, generator=gen)

    def loss(f):
        return (f.abs() ** 2 * w.real).sum() + (f * w).real.sum()

    g1 = torch.autograd.grad(loss(jones_modulate(E, p1, p2, a)), [E, p1, p2, a])
    g2 = torch.autograd.grad(
        loss(apply_jones(E, jones_modulator_matrix(p1, p2, a))), [E, p1, p2, a]
    )
    for x, y in zip(g1, g2):
        assert (x - y).abs().max() < 1e-13
