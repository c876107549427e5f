"""Phase and amplitude encoders (multivariate-nonlinearity input encoding): shapes of copies,
planes and passes, the encoded values, phase bounding and its gradients, device profiles, the
authors' initialisation, errors and gradchecks."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.encoding import AmplitudeEncoder, PhaseEncoder, affine_encoding, bounded_phase

C128, F64 = torch.complex128, torch.float64
# the same elementwise operations as the reference: a few ulps of float64
TOL = 1e-13


def _x(*shape, seed=0, dtype=F64):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype) * 2 - 1


# -- smoke and shapes ------------------------------------------------------------------------
def test_smoke_default_dtype_and_shape():
    enc = PhaseEncoder(3, generator=torch.Generator().manual_seed(0))
    t = enc(torch.rand(5, 3))
    assert t.shape == (5, 3) and t.dtype == torch.complex64
    assert enc.a.dtype == enc.b.dtype == torch.float32 and enc.a.shape == (3,)
    amp = AmplitudeEncoder(3)
    assert amp(torch.rand(5, 3)).dtype == torch.complex64
    assert "copies=()" in repr(enc)


@pytest.mark.parametrize(
    "features, copies, batch",
    [(3, (), (5,)), (3, (4,), (5,)), (3, (2, 4), (5,)), ((2, 3), (4,), (5,)), (3, (4,), (2, 5))],
)
def test_copies_shapes(features, copies, batch):
    """``x (..., *F)`` -> ``(..., *copies, *F)``; every copy has its own ``a`` and ``b``."""
    F = (features,) if isinstance(features, int) else features
    enc = PhaseEncoder(features, copies, dtype=C128, generator=torch.Generator().manual_seed(1))
    assert enc.a.shape == enc.b.shape == (*copies, *F)
    x = _x(*batch, *F)
    t = enc(x)
    assert t.shape == (*batch, *copies, *F) == (*batch, *enc.out_shape)
    assert enc.phase(x).shape == t.shape and t.dtype == C128


def test_planes_each_have_their_own_parameters():
    """``passes=P`` (not shared): ``P`` planes, parameters ``(P, *copies, N)``, distinct outputs."""
    enc = PhaseEncoder(3, (2,), passes=4, dtype=C128, generator=torch.Generator().manual_seed(2))
    assert enc.a.shape == (4, 2, 3)
    x = _x(5, 3)
    t = enc(x)
    assert t.shape == (5, 4, 2, 3)
    for p in range(4):
        ref = torch.polar(torch.ones(5, 2, 3, dtype=F64), enc.a[p] * x[:, None] + enc.b[p])
        torch.testing.assert_close(t[:, p], ref, rtol=TOL, atol=TOL)
    assert not torch.allclose(t[:, 0], t[:, 1])


def test_passes_through_one_device_share_parameters_and_add_gradients():
    """``share_passes=True``: one setting, the same transmission on every pass, gradients summed."""
    enc = PhaseEncoder(
        3, (2,), passes=4, share_passes=True, dtype=C128, generator=torch.Generator().manual_seed(3)
    )
    assert enc.a.shape == (2, 3)
    x = _x(5, 3)
    t = enc(x)
    assert t.shape == (5, 4, 2, 3)
    for p in range(1, 4):
        assert torch.equal(t[:, p], t[:, 0])
    t.real.sum().backward()
    g_all = enc.a.grad.clone()
    enc.a.grad = None
    enc(x)[:, 0].real.sum().backward()
    torch.testing.assert_close(g_all, 4 * enc.a.grad, rtol=TOL, atol=TOL)


# -- the encoded values ------------------------------------------------------------------------
def test_phase_encoder_values():
    enc = PhaseEncoder(4, (3,), dtype=C128, generator=torch.Generator().manual_seed(4))
    x = _x(6, 4)
    theta = enc.a * x[:, None, :] + enc.b
    torch.testing.assert_close(enc.phase(x), theta, rtol=TOL, atol=TOL)
    torch.testing.assert_close(enc(x), torch.exp(1j * theta), rtol=TOL, atol=TOL)
    torch.testing.assert_close(enc(x).abs(), torch.ones(6, 3, 4, dtype=F64), rtol=TOL, atol=TOL)
    torch.testing.assert_close(affine_encoding(x, enc.a, enc.b), theta, rtol=0, atol=0)


def test_amplitude_encoder_values_and_dtypes():
    enc = AmplitudeEncoder(4, (3,), dtype=F64, generator=torch.Generator().manual_seed(5))
    x = _x(6, 4) * 20  # far into both tails of the sigmoid
    t = enc(x)
    assert t.dtype == F64 and t.shape == (6, 3, 4)
    torch.testing.assert_close(t, torch.sigmoid(enc.a * x[:, None] + enc.b), rtol=TOL, atol=TOL)
    assert bool(((t >= 0) & (t <= 1)).all())
    c = AmplitudeEncoder(4, init="constant", dtype=C128)(x)
    assert c.dtype == C128 and bool((c.imag == 0).all())
    torch.testing.assert_close(c.real, torch.sigmoid(x), rtol=TOL, atol=TOL)  # a0 = 1, b0 = 0


def test_constant_initialisation():
    enc = PhaseEncoder(3, (2,), init="constant")
    assert bool((enc.a == math.pi).all()) and bool((enc.b == 0).all())
    enc = PhaseEncoder(3, init="constant", a0=0.5, b0=-1.0)
    assert bool((enc.a == 0.5).all()) and bool((enc.b == -1.0).all())


def test_authors_initialisation_matches_multivariate_pnn():
    """``copies=(C, R)`` with the generator of :class:`MultivariatePNN` gives its ``a``, ``b``."""
    mv = pytest.importorskip(
        "photonn.models.multivariate", reason="photonn/models/multivariate.py is not in this tree"
    )
    C, R, N = 3, 4, 5
    model = mv.MultivariatePNN(N, C, R, generator=torch.Generator().manual_seed(7))
    enc = PhaseEncoder(N, (C, R), generator=torch.Generator().manual_seed(7))
    assert torch.equal(enc.a, model.a) and torch.equal(enc.b, model.b)


def test_authors_initialisation_statistics():
    """``a_rho ~ N(0, (0.1 10^rho)^2)`` along the replica axis, shared by the leading axes.

    Tolerance: 4000 samples per replica, the std of the sample std is ~1.1 %; 6 % is 5 sigma.
    """
    enc = PhaseEncoder(
        4000, (2, 3), passes=2, dtype=C128, generator=torch.Generator().manual_seed(8)
    )
    a = enc.a.detach()
    assert torch.equal(a[0], a[1]) and torch.equal(a[:, 0], a[:, 1])  # passes, classes
    for rho in range(3):
        assert a[0, 0, rho].std().item() == pytest.approx(0.1 * 10**rho, rel=0.06)
    assert enc.b.detach().std().item() == pytest.approx(1.0, rel=0.03)
    assert not torch.equal(enc.b[0, 0], enc.b[1, 0])
    assert PhaseEncoder(4000, generator=torch.Generator().manual_seed(8)).a.std().item() == (
        pytest.approx(0.1, rel=0.06)
    )


def test_generator_reproduces_the_parameters():
    make = lambda: PhaseEncoder(3, (2,), generator=torch.Generator().manual_seed(9))  # noqa: E731
    a, b = make(), make()
    assert torch.equal(a.a, b.a) and torch.equal(a.b, b.b)


# -- bounding to the device's phase range ------------------------------------------------------
def test_wrap_keeps_the_transmission_and_the_gradient():
    enc = PhaseEncoder(
        3, (2,), phase_range=2 * math.pi, init="constant", a0=9.0, b0=-2.0, dtype=C128
    )
    free = PhaseEncoder(3, (2,), init="constant", a0=9.0, b0=-2.0, dtype=C128)
    x = _x(7, 3).requires_grad_(True)
    ph = enc.phase(x)
    assert bool(((ph >= 0) & (ph < 2 * math.pi)).all())
    assert float(free.phase(x).detach().abs().max()) > 2 * math.pi  # the test needs wrapping
    torch.testing.assert_close(torch.exp(1j * ph), enc(x), rtol=0, atol=1e-12)
    torch.testing.assert_close(enc(x), free(x), rtol=0, atol=0)
    (g,) = torch.autograd.grad(ph.sum(), x)
    (g_free,) = torch.autograd.grad(free.phase(x).sum(), x)
    torch.testing.assert_close(g, g_free, rtol=0, atol=0)  # d(wrap)/d(theta) = 1


def test_sigmoid_bound_values_and_gradient():
    rng = 1.8 * math.pi
    enc = PhaseEncoder(
        3, phase_range=rng, bound="sigmoid", init="constant", a0=3.0, b0=0.5, dtype=C128
    )
    x = _x(7, 3).requires_grad_(True)
    s = torch.sigmoid(3.0 * x + 0.5)
    ph = enc.phase(x)
    torch.testing.assert_close(ph, rng * s, rtol=TOL, atol=TOL)
    assert bool(((ph > 0) & (ph < rng)).all())
    torch.testing.assert_close(enc(x), torch.exp(1j * rng * s), rtol=TOL, atol=TOL)
    (g,) = torch.autograd.grad(ph.sum(), x)
    torch.testing.assert_close(g, rng * s * (1 - s) * 3.0, rtol=TOL, atol=TOL)
    torch.testing.assert_close(bounded_phase(3.0 * x + 0.5, rng, "sigmoid"), ph, rtol=0, atol=0)


def test_from_profile_reads_the_phase_range():
    slm = PhaseEncoder.from_profile("holoeye_pluto2", in_features=3, copies=(2,))
    assert slm.phase_range == pytest.approx(2 * math.pi) and slm.bound == "wrap"
    blue = PhaseEncoder.from_profile(
        "holoeye_pluto2", in_features=3, wavelength=532e-9, dtype=C128, device="cpu"
    )
    assert blue.phase_range == pytest.approx(2 * math.pi * 633 / 532)
    mzi = PhaseEncoder.from_profile("si_thermo_optic_mzi", in_features=3)
    assert mzi.phase_range == pytest.approx(4 * math.pi)  # 100 mW at v_max, 25 mW per pi
    with pytest.raises(ValueError, match="expected kind"):
        PhaseEncoder.from_profile("hamamatsu_orca_flash4_v3", in_features=3)
    with pytest.raises(ValueError, match="drop wavelength"):
        PhaseEncoder.from_profile("si_thermo_optic_mzi", in_features=3, wavelength=1.5e-6)
    # a stroke below 2 pi (red light on this SLM) cannot wrap: the error names the fix
    with pytest.raises(ValueError, match="bound='sigmoid'"):
        PhaseEncoder.from_profile("holoeye_pluto2", in_features=3, wavelength=800e-9)
    red = PhaseEncoder.from_profile(
        "holoeye_pluto2", in_features=3, wavelength=800e-9, bound="sigmoid"
    )
    assert red.phase(torch.rand(2, 3)).max() < red.phase_range < 2 * math.pi


# -- bad input -----------------------------------------------------------------------------------
def test_errors_name_the_value_and_the_fix():
    enc = PhaseEncoder(3, (2,))
    with pytest.raises(TypeError, match="to_unit_range"):
        enc(torch.ones(2, 3, dtype=torch.uint8))
    with pytest.raises(TypeError, match="real floating-point"):
        enc(torch.ones(2, 3, dtype=torch.complex64))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        enc(torch.ones(2, 4))
    with pytest.raises(TypeError, match="torch.Tensor"):
        enc([[0.0, 1.0, 2.0]])
    with pytest.raises(TypeError, match="in_features"):
        PhaseEncoder(3.0)
    with pytest.raises(ValueError, match="copies"):
        PhaseEncoder(3, (0,))
    with pytest.raises(ValueError, match="passes"):
        PhaseEncoder(3, passes=0)
    with pytest.raises(ValueError, match="needs passes"):
        PhaseEncoder(3, share_passes=True)
    with pytest.raises(ValueError, match="init"):
        PhaseEncoder(3, init="xavier")
    with pytest.raises(ValueError, match="init='constant'"):
        PhaseEncoder(3, a0=1.0)
    with pytest.raises(ValueError, match="phase_range"):
        PhaseEncoder(3, bound="sigmoid")
    with pytest.raises(ValueError, match="bound"):
        PhaseEncoder(3, phase_range=7.0, bound="clamp")
    with pytest.raises(ValueError, match="below 2 pi"):
        PhaseEncoder(3, phase_range=math.pi)
    with pytest.raises(ValueError, match="phase_range"):
        PhaseEncoder(3, phase_range=-1.0, bound="sigmoid")
    with pytest.raises(TypeError, match="complex64 or torch.complex128"):
        PhaseEncoder(3, dtype=torch.float32)
    with pytest.raises(TypeError, match="real transmission"):
        AmplitudeEncoder(3, dtype=torch.int32)
    with pytest.raises(TypeError, match="Generator"):
        PhaseEncoder(3, generator=0)
    with pytest.raises(TypeError, match="choose the precision"):
        PhaseEncoder(3).to(torch.float64)
    with pytest.raises(ValueError, match="feature shape"):
        affine_encoding(torch.ones(2, 4), torch.ones(3), torch.ones(3))


# -- gradients -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: PhaseEncoder(2, (2,), dtype=C128, generator=torch.Generator().manual_seed(10)),
        lambda: PhaseEncoder(
            2, passes=2, share_passes=True, phase_range=1.5, bound="sigmoid", dtype=C128
        ),
        lambda: AmplitudeEncoder(2, (2,), dtype=F64, generator=torch.Generator().manual_seed(11)),
    ],
)
def test_gradcheck(make):
    enc = make()
    x = _x(3, 2, seed=12).requires_grad_(True)
    a = enc.a.detach().clone().requires_grad_(True)
    b = enc.b.detach().clone().requires_grad_(True)

    def f(x, a, b):
        return torch.func.functional_call(enc, {"a": a, "b": b}, (x,))

    assert torch.autograd.gradcheck(f, (x, a, b))
