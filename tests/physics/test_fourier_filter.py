"""The 4f layer is a convolution with the Fourier-plane mask's transform, scaled by lambda f.

U_out(x) = -exp(4 i k f) (U * h)(-x),
h(x) = (lambda f)^-2 sum_u M(u) exp(2 pi i u.x / (lambda f)) du dv.
Both references below are explicit sums (no FFT): the kernel h evaluated from the mask
samples, and, for a Gaussian mask, h in closed form.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import photonn as pn
from photonn.freespace import ComplexMask, FourierFilter4f, PhaseMask, RegionDetector

LAM, F = 633e-9, 0.1


def explicit_output(u: np.ndarray, dx: float, kernel) -> np.ndarray:
    """-exp(4ikf) sum_xi U(xi) h(-x' - xi) dx dy on the input grid (x' = (m - n//2) dx)."""
    n = u.shape[0]
    c = (np.arange(n) - n // 2) * dx
    # differences d = -x' - xi on the lattice: (-x'_m - xi_j) = -(m + j - 2 (n//2)) dx
    d = -(np.add.outer(np.arange(n), np.arange(n)) - 2 * (n // 2)) * dx  # [m, j]
    h = kernel(d[:, :, None, None], d[None, None, :, :])  # [my, jy, mx, jx]
    out = np.einsum("yjxk,jk->yx", h, u) * dx * dx
    assert c.shape == (n,)
    return -np.exp(4j * (2 * math.pi / LAM) * F) * out


def test_random_phase_mask_equals_the_explicit_convolution():
    n, dx = 12, 20e-6
    grid = pn.Grid(n, dx)
    g = torch.Generator().manual_seed(0)
    layer = FourierFilter4f(grid, LAM, F, init="uniform", generator=g, dtype=torch.complex128)
    u = torch.randn(n, n, generator=g, dtype=torch.float64) + 0j
    got = layer(u).detach().numpy()
    fg = layer.fourier_grid
    N = fg.shape[0]
    du = fg.dx
    assert du == pytest.approx(LAM * F / (N * dx), rel=1e-12)
    M = layer.mask.transmission().detach().numpy()
    uc = (np.arange(N) - N // 2) * du

    def kernel(xy, xx):  # h from the mask samples, a direct sum over the Fourier plane
        ey = np.exp(2j * math.pi * uc[:, None] * xy.ravel()[None, :] / (LAM * F))  # (N, P)
        ex = np.exp(2j * math.pi * uc[:, None] * xx.ravel()[None, :] / (LAM * F))
        hv = np.einsum("ab,ap,bq->pq", M, ey, ex) * du * du / (LAM * F) ** 2
        return hv.reshape(xy.shape[:2] + xx.shape[2:]).transpose(0, 1, 2, 3)

    ref = explicit_output(u.numpy(), dx, kernel)
    # both are the same finite sums in another order: float64 round-off of N^2 terms
    tol = 1e-12 * N * N * np.abs(ref).max()
    np.testing.assert_allclose(got, ref, rtol=0, atol=tol)


def test_gaussian_mask_convolves_with_its_analytic_transform():
    """M(u) = exp(-|u|^2 / w^2) -> h(x) = pi w^2 / (lambda f)^2 exp(-(pi w |x| / (lambda f))^2).

    With w = a lambda f / dx, a = 0.06, N = 64: the mask at the Fourier-plane edge is
    exp(-(1 / 2a)^2) = 1e-30 (truncation), and h at half the period N dx is
    exp(-(pi a N / 2)^2) = 1e-16 (aliasing of the sampled mask and of the circular
    convolution): the only error left is float64 round-off.
    """
    n, dx, a = 32, 10e-6, 0.06
    grid = pn.Grid(n, dx)
    w = a * LAM * F / dx
    probe = FourierFilter4f(grid, LAM, F, mask="complex", dtype=torch.complex128)
    fg = probe.fourier_grid
    assert fg.shape == (64, 64)
    yy, xx = fg.meshgrid()
    gauss = torch.exp(-(xx**2 + yy**2) / w**2).to(torch.complex128)
    mask = ComplexMask(fg, passive=False, init=gauss, dtype=torch.complex128)
    layer = FourierFilter4f(grid, LAM, F, mask=mask, dtype=torch.complex128)
    g = np.random.default_rng(1)
    u = np.zeros((n, n))
    u[8:24, 10:14] = 1.0  # a bar and a random patch: the test pattern
    u[4:12, 18:28] = g.random((8, 10))
    got = layer(torch.from_numpy(u) + 0j).detach().numpy()

    def kernel(y, x):
        s = (math.pi * w / (LAM * F)) ** 2
        return math.pi * w**2 / (LAM * F) ** 2 * np.exp(-s * (x**2 + y**2))

    ref = explicit_output(u, dx, kernel)
    # float64 round-off of the sums, and of the global phase 4 k f (4e6 rad here): its
    # argument is rounded to a few eps * 4 k f, in the module and in the reference
    tol = (1e-12 + 8 * (8 * math.pi * F / LAM) * 2.2e-16) * np.abs(ref).max()
    np.testing.assert_allclose(got, ref, rtol=0, atol=tol)
    # the convolution blurs: the output is not the inverted input
    assert np.abs(got - (-np.exp(4j * (2 * math.pi / LAM) * F)) * u[::-1, ::-1]).max() > 0.1


def test_all_ones_mask_images_the_input_inverted():
    n = 11  # odd: the inversion x -> -x maps the grid onto itself
    grid = pn.Grid(n, 15e-6)
    layer = FourierFilter4f(grid, LAM, F, mask="complex", passive=False, dtype=torch.complex128)
    u = torch.randn(n, n, dtype=torch.complex128)
    want = -np.exp(4j * (2 * math.pi / LAM) * F) * u.flip(-1, -2)
    # the global phase 4 k f (2e6 rad) is known to a few eps * 4 k f: 1.5e-10 relative
    tol = 1e-12 + 8 * (8 * math.pi * F / LAM) * 2.2e-16 * float(u.abs().max())
    torch.testing.assert_close(layer(u).detach(), want, rtol=0, atol=tol)


def test_stacked_4f_network_with_a_detector_trains():
    grid = pn.Grid(16, 20e-6)
    g = torch.Generator().manual_seed(0)
    net = nn.Sequential(
        FourierFilter4f(grid, LAM, F, init="uniform", generator=g),
        FourierFilter4f(grid, LAM, F, mask="slm", bits=4),
        RegionDetector(grid, 4),
    )
    x = torch.rand(3, 16, 16) + 0j
    e = net(x.to(torch.complex64))
    assert e.shape == (3, 4)
    e.sum().backward()
    assert net[0].mask.raw.grad is not None and net[0].mask.raw.grad.abs().sum() > 0
    assert isinstance(net[0].mask, PhaseMask)


def test_bad_masks_are_refused():
    grid = pn.Grid(8, 20e-6)
    with pytest.raises(ValueError, match="mask"):
        FourierFilter4f(grid, LAM, F, mask="hologram")
    with pytest.raises(ValueError, match="not the Fourier plane"):
        FourierFilter4f(grid, LAM, F, mask=PhaseMask(grid))
    with pytest.raises(TypeError, match="used as it is"):
        fg = FourierFilter4f(grid, LAM, F).fourier_grid
        FourierFilter4f(grid, LAM, F, mask=PhaseMask(fg), bits=3)
