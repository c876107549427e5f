"""PhaseMask, AmplitudeMask, ComplexMask: smoke, errors, shapes, physics, gradcheck."""

from __future__ import annotations

import math

import pytest
import torch

from photonn import Grid
from photonn.freespace import AmplitudeMask, ComplexMask, PhaseMask
from photonn.units import um

G = Grid((6, 5), 2 * um)
C128 = torch.complex128


def _field(shape=(6, 5), dtype=C128, seed=0):
    return torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))


# -- smoke / shape ---------------------------------------------------------------
@pytest.mark.parametrize("cls", [PhaseMask, AmplitudeMask, ComplexMask])
@pytest.mark.parametrize("batch", [(), (3,), (2, 4)])
def test_shape_and_dtype(cls, batch):
    m = cls(G)
    x = _field((*batch, *G.shape), torch.complex64)
    y = m(x)
    assert y.shape == x.shape and y.dtype == torch.complex64
    assert len(list(m.parameters())) == 1


def test_phase_mask_zero_init_is_identity_and_power_preserving():
    x = _field()
    m = PhaseMask(G, init="uniform", generator=torch.Generator().manual_seed(1), dtype=C128)
    assert torch.equal(PhaseMask(G, dtype=C128)(x), x)
    # a phase-only mask conserves |E| pointwise
    assert torch.allclose(m(x).abs(), x.abs(), rtol=1e-14, atol=0)


# -- physics / reference ---------------------------------------------------------
def test_phase_mask_applies_exp_i_phi():
    phi = torch.linspace(-7, 7, 30, dtype=torch.float64).reshape(6, 5)
    m = PhaseMask(G, init=phi, dtype=C128)
    x = _field()
    assert torch.allclose(m(x), x * torch.exp(1j * phi), rtol=1e-14, atol=1e-15)


def test_phase_mask_wrapped_and_bounded_ranges():
    phi = torch.linspace(-20, 20, 30, dtype=torch.float64).reshape(6, 5)
    w = PhaseMask(G, mode="wrapped", init=phi, dtype=C128)
    pw = w.phase().detach()
    assert float(pw.min()) >= 0 and float(pw.max()) < 2 * math.pi
    # wrapping changes the reported phase, never the transmission
    assert torch.allclose(w.transmission(), torch.exp(1j * phi), atol=1e-13)
    b = PhaseMask(G, mode="bounded", max_phase=1.5, init=phi, dtype=C128)
    p = b.phase().detach()
    assert float(p.min()) > 0 and float(p.max()) < 1.5
    assert torch.allclose(p, 1.5 * torch.sigmoid(phi), atol=1e-15)


def test_phase_mask_bits_gives_exactly_2_pow_bits_levels():
    gen = torch.Generator().manual_seed(3)
    g = Grid((64, 64), 1 * um)
    m = PhaseMask(g, bits=3, init="uniform", generator=gen, dtype=C128)
    levels = torch.unique(m.phase().detach())
    assert levels.numel() == 8
    assert torch.allclose(levels, torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8))


def test_amplitude_mask_passive_bounds_and_value():
    raw = torch.linspace(-30, 30, 30, dtype=torch.float64).reshape(6, 5)
    m = AmplitudeMask(G, init=raw, dtype=C128)
    a = m.amplitude().detach()
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    x = _field()
    assert torch.allclose(m(x), x * torch.sigmoid(raw), atol=1e-15)
    # no passivity: the raw value is the amplitude (gain allowed)
    assert torch.allclose(AmplitudeMask(G, passive=False, init=raw, dtype=C128)(x), x * raw)


def test_complex_mask_is_passive_and_keeps_phase():
    raw = _field(seed=5) * 10
    m = ComplexMask(G, init=raw, dtype=C128)
    t = m.transmission().detach()
    assert float(t.abs().max()) < 1
    assert torch.allclose(torch.angle(t), torch.angle(raw), atol=1e-13)
    assert torch.allclose(t.abs(), raw.abs() / torch.sqrt(1 + raw.abs() ** 2), atol=1e-14)
    assert torch.equal(ComplexMask(G, passive=False, init=raw, dtype=C128).transmission(), raw)


# -- exceptions -------------------------------------------------------------------
def test_errors():
    with pytest.raises(TypeError, match="Grid"):
        PhaseMask((6, 5))
    with pytest.raises(ValueError, match="mode"):
        PhaseMask(G, mode="clamped")
    with pytest.raises(ValueError, match="generator"):
        PhaseMask(G, init="uniform")
    with pytest.raises(ValueError, match="shape"):
        PhaseMask(G, init=torch.zeros(5, 6))
    with pytest.raises(ValueError, match="max_phase"):
        PhaseMask(G, mode="bounded", max_phase=-1.0)
    with pytest.raises(TypeError, match="complex"):
        PhaseMask(G)(torch.ones(6, 5))
    with pytest.raises(TypeError, match="built for"):
        PhaseMask(G)(_field(dtype=C128))
    with pytest.raises(ValueError, match="grid"):
        AmplitudeMask(G)(_field((5, 6), torch.complex64))
    with pytest.raises(TypeError, match="dtype"):
        ComplexMask(G, dtype=torch.float32)
    with pytest.raises(TypeError, match="imaginary"):
        ComplexMask(G).to(torch.float32)


# -- gradcheck (complex128) ------------------------------------------------------
@pytest.mark.parametrize("mode", ["free", "wrapped", "bounded"])
def test_gradcheck_phase_mask_modes(mode):
    gen = torch.Generator().manual_seed(0)
    m = PhaseMask(G, mode=mode, init="uniform", generator=gen, dtype=C128)
    x = _field(seed=2).requires_grad_()

    def f(p, field):
        return torch.func.functional_call(m, {"raw": p}, (field,))

    assert torch.autograd.gradcheck(f, (m.raw.detach().clone().requires_grad_(), x))


def test_gradcheck_modules_end_to_end():
    x = _field(seed=4)
    for cls in (PhaseMask, AmplitudeMask, ComplexMask):
        m = cls(G, init="uniform", generator=torch.Generator().manual_seed(0), dtype=C128)

        def f(p, m=m):
            return torch.func.functional_call(m, {"raw": p}, (x,))

        assert torch.autograd.gradcheck(f, (m.raw.detach().clone().requires_grad_(),))
