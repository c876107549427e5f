"""Invariants of every propagation kernel: identity, inverse, adjoint, linearity, energy.

All in complex128 on small grids. Tolerances: 1e-12 relative (a few hundred
ulps of float64 through two FFTs of <= 4096 points) unless stated.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from photonn import Grid, SamplingWarning, propagate
from photonn.freespace import Propagator
from photonn.functional import gaussian_beam
from photonn.units import mm, nm, um

LAM = 633 * nm
GRID = Grid((48, 64), (2 * um, 3 * um))
CONV_METHODS = ["asm", "bl-asm", "fresnel", "fresnel-ir", "rs"]


def _rand(shape, gen):
    return torch.randn(shape, dtype=torch.complex128, generator=gen)


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return fn(*a, **k)


@pytest.mark.parametrize("method", CONV_METHODS)
def test_zero_distance_is_identity(method, gen):
    x = _rand((2, *GRID.shape), gen)
    out = propagate(x, GRID, LAM, 0.0, method)
    assert torch.equal(out, x) or (out - x).abs().max().item() < 1e-14


@pytest.mark.parametrize("method", CONV_METHODS)
@pytest.mark.parametrize("pad", [1.0, 2.0])
def test_adjoint_is_backward_propagation(method, pad, gen):
    """<P_z x, y> = <x, P_{-z} y>: backward propagation is the exact adjoint.

    Holds for every method with padding (pad^H = crop, FFT^H = N IFFT) because
    H(-z) = conj(H(z)) by construction (evanescent waves decay both ways).
    """
    x, y = _rand(GRID.shape, gen), _rand(GRID.shape, gen)
    z = 50 * um
    px = _quiet(propagate, x, GRID, LAM, z, method, pad)
    pty = _quiet(propagate, y, GRID, LAM, -z, method, pad)
    lhs = torch.vdot(y.flatten(), px.flatten())
    rhs = torch.vdot(pty.flatten(), x.flatten())
    assert abs(lhs - rhs) <= 1e-12 * abs(lhs)


@pytest.mark.parametrize("method", CONV_METHODS)
def test_linearity(method, gen):
    x, y = _rand((3, *GRID.shape), gen), _rand((3, *GRID.shape), gen)
    a, b = complex(0.3, -1.2), complex(-2.0, 0.5)
    z = 80 * um
    lhs = _quiet(propagate, a * x + b * y, GRID, LAM, z, method)
    rhs = a * _quiet(propagate, x, GRID, LAM, z, method) + b * _quiet(
        propagate, y, GRID, LAM, z, method
    )
    assert (lhs - rhs).abs().max().item() <= 1e-12 * rhs.abs().max().item()


def _band_limited(grid, gen, frac=0.6):
    """A random field whose spectrum lies inside frac * (1 / lambda): propagating only."""
    spec = _rand(grid.shape, gen)
    spec = spec * (grid.f2() < (frac / LAM) ** 2)
    return torch.fft.ifft2(spec)


def test_energy_of_propagating_content_is_conserved(gen):
    """ASM with periodic boundaries is unitary on propagating content: |dE|/E <= 1e-10."""
    grid = Grid(64, 0.4 * um)  # Nyquist 1.25 / um > 1 / lambda: evanescent band present
    x = _band_limited(grid, gen)
    for z in (1 * um, 1 * mm, -0.3 * mm):
        out = propagate(x, grid, LAM, z, "asm", pad_factor=1)
        e_in, e_out = (x.abs() ** 2).sum(), (out.abs() ** 2).sum()
        assert abs(e_out / e_in - 1).item() <= 1e-10


def test_evanescent_waves_decay_both_ways(gen):
    grid = Grid(64, 0.2 * um)
    spec = torch.zeros(grid.shape, dtype=torch.complex128)
    spec[0, 10] = 1.0  # fx = 0.78 / um < 1 / lambda = 1.58 / um: propagating
    spec[0, 30] = 1.0  # fx = 2.34 / um: evanescent
    x = torch.fft.ifft2(spec)
    z = 0.5 * um
    fx = 30 / (64 * 0.2 * um)
    kappa = 2 * math.pi * math.sqrt(fx**2 - 1 / LAM**2)
    for zz in (z, -z):
        out_spec = torch.fft.fft2(propagate(x, grid, LAM, zz, "asm", pad_factor=1))
        assert abs(out_spec[0, 30].abs().item() - math.exp(-kappa * z)) < 1e-12
        assert abs(out_spec[0, 10].abs().item() - 1.0) < 1e-12


@pytest.mark.parametrize(("method", "frac"), [("asm", 0.4), ("bl-asm", 0.1), ("fresnel", 0.4)])
def test_forward_then_backward_is_identity(method, frac, gen):
    """Band-limited periodic content: +z then -z returns the field to 1e-12.

    For "bl-asm" the content stays inside its band limit (0.25 / um here).
    """
    grid = Grid(64, 1 * um)
    x = _band_limited(grid, gen, frac=frac)
    z = 0.2 * mm
    out = propagate(propagate(x, grid, LAM, z, method, 1), grid, LAM, -z, method, 1)
    assert (out - x).abs().max().item() <= 1e-12 * x.abs().max().item()


def test_forward_then_backward_padded_beam():
    """With padding a compact beam returns to itself up to the light that left the window.

    A Gaussian of waist 20 um on a 128 px x 2 um grid, 1 mm and back with "asm":
    its far tails at the window edge are ~exp(-2 (128 um / 20 um)^2) ~ 1e-35, so the
    round trip is limited by round-off: bound 1e-12.
    """
    grid = Grid(128, 2 * um)
    x = gaussian_beam(grid, LAM, 20 * um, dtype=torch.complex128)
    prop = Propagator(grid, LAM, 1 * mm, dtype=torch.complex128)
    back = Propagator(grid, LAM, -1 * mm, dtype=torch.complex128)
    out = back(prop(x))
    assert (out - x).abs().max().item() <= 1e-12


@pytest.mark.parametrize("method", CONV_METHODS + ["fraunhofer"])
def test_gradcheck(method):
    grid = Grid((6, 5), 2 * um)
    z = 30 * um if method != "fraunhofer" else 5 * mm
    prop = _quiet(Propagator, grid, LAM, z, method=method, dtype=torch.complex128)
    x = torch.randn(2, *grid.shape, dtype=torch.complex128, requires_grad=True)
    assert torch.autograd.gradcheck(prop, (x,), eps=1e-6, atol=1e-8)
