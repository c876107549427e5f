"""FourierLens: smoke, errors, shapes, the exact f-f transform, gradcheck."""

from __future__ import annotations

import math

import pytest
import torch

from photonn import Grid
from photonn.freespace import Aperture, FourierLens, Propagator, ThinLens
from photonn.functional import gaussian_beam
from photonn.units import mm, um

C128 = torch.complex128


def test_output_grid_and_shapes():
    g = Grid((32, 48), 5 * um)
    fl = FourierLens(g, 1 * um, 10 * mm, pad_factor=2)
    assert fl.output_grid.shape == (64, 96)
    assert fl.output_grid.dy == pytest.approx(1 * um * 10 * mm / (64 * 5 * um))
    assert fl.output_grid.dx == pytest.approx(1 * um * 10 * mm / (96 * 5 * um))
    y = fl(torch.ones(3, 32, 48, dtype=torch.complex64))
    assert y.shape == (3, 64, 96) and y.dtype == torch.complex64


def test_errors():
    g = Grid(8, 1 * um)
    with pytest.raises(ValueError, match="focal_length"):
        FourierLens(g, 1 * um, -1 * mm)
    with pytest.raises(ValueError, match="pad_factor"):
        FourierLens(g, 1 * um, 1 * mm, pad_factor=0.5)
    with pytest.raises(TypeError, match="complex"):
        FourierLens(g, 1 * um, 1 * mm)(torch.ones(8, 8))
    with pytest.raises(ValueError, match="grid"):
        FourierLens(g, 1 * um, 1 * mm)(torch.ones(8, 7, dtype=torch.complex64))


def test_square_aperture_gives_sinc2_at_pitch_lambda_f_over_nd():
    """A square of m x m samples: the focal field is the Dirichlet kernel.

    ``U(k) = (dx dy / (lambda f)) * D(k)``, ``D(k) = sin(pi m k / N) / sin(pi k / N)``
    per axis, the sampled form of ``a sinc(a u / (lambda f))``: zeros at
    ``u = j lambda f / a`` (every ``N / m`` output pixels), peak ``(m^2 dx dy / (lambda f))^2``.
    """
    n, m, d, lam, f = 128, 8, 10 * um, 1 * um, 20 * mm
    g = Grid(n, d)
    fl = FourierLens(g, lam, f, dtype=C128)
    u = fl(Aperture(g, m * d, shape="rect", dtype=C128)(torch.ones(n, n, dtype=C128)))
    out = fl.output_grid
    assert out.dx == pytest.approx(lam * f / (n * d))
    I = (u.abs() ** 2)[n // 2]  # row through the axis
    peak = (m * m * d * d / (lam * f)) ** 2
    assert float(I[n // 2]) == pytest.approx(peak, rel=1e-12)
    k = torch.arange(-n // 2, n // 2, dtype=torch.float64)
    dirichlet = torch.where(
        k == 0, torch.tensor(float(m)), torch.sin(math.pi * m * k / n) / torch.sin(math.pi * k / n)
    )
    assert torch.allclose(I, peak * (dirichlet / m) ** 2, atol=1e-12 * peak, rtol=0)
    # zeros at multiples of lambda f / a  (a = m d): every n/m = 16 pixels
    zeros = torch.arange(1, m // 2) * (n // m)
    assert float(I[n // 2 + zeros].max()) < 1e-20 * peak
    # sinc^2 of the continuous aperture: equal to the Dirichlet form up to (pi k / n)^2 / 3
    uu = k * out.dx
    sinc2 = torch.sinc(m * d * uu / (lam * f)) ** 2
    main = k.abs() < n // m
    bound = (math.pi * k[main] / n) ** 2 / 3 + 1e-12
    assert torch.all((I[main] / peak - sinc2[main]).abs() <= bound * 1.01)
    # Parseval: power is conserved
    p_in = m * m * d * d
    assert float((u.abs() ** 2).sum()) * out.dx * out.dy == pytest.approx(p_in, rel=1e-12)


def test_matches_propagate_lens_propagate():
    """Independent reference: Fresnel TF over f, thin lens f, Fresnel TF over f.

    With ``f = N d^2 / lambda`` the f-f output pitch equals the input pitch and the
    periodic Fresnel transfer function is exactly sampled; a tilted Gaussian that
    fits the window then agrees to round-off (1e-9 in complex128). The tilt of 3
    cycles per window lands 3 pixels off axis (checks the transform's sign).
    """
    lam, d, n = 1 * um, 8 * um, 128
    f = n * d * d / lam
    g = Grid(n, d)
    w0 = d * math.sqrt(n / math.pi)
    X = g.meshgrid()[1]
    x = gaussian_beam(g, lam, w0, dtype=C128) * torch.exp(1j * 2 * math.pi * 3 * X / (n * d))
    fl = FourierLens(g, lam, f, dtype=C128)
    assert fl.output_grid == g
    p = Propagator(g, lam, f, "fresnel", pad_factor=1, dtype=C128)
    ref = p(ThinLens(g, lam, f, dtype=C128)(p(x)))
    y = fl(x)
    assert float((y - ref).abs().max() / y.abs().max()) < 1e-9
    intens = y.abs() ** 2
    assert float((intens * X).sum() / intens.sum()) / d == pytest.approx(3.0, abs=1e-9)


def test_gradcheck():
    g = Grid((4, 6), 2 * um)
    fl = FourierLens(g, 1 * um, 1 * mm, pad_factor=1.5, dtype=C128)
    x = torch.randn(4, 6, dtype=C128, generator=torch.Generator().manual_seed(0))
    assert torch.autograd.gradcheck(fl, (x.requires_grad_(),), fast_mode=True)
