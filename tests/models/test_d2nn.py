"""D2NN: shapes, parameters, readouts, invariances, reference forward, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from photonn import Grid, propagate
from photonn.freespace import DetectorNoise, PhaseMask
from photonn.models import D2NN
from photonn.units import mm

# a small THz-like set-up (0.75 mm wavelength, 0.4 mm pitch); 3 mm steps keep the
# 32-sample grid adequately sampled with the default 2x padding
GRID = Grid(32, 0.4 * mm)
LAM = 0.75 * mm
Z = 3 * mm


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _model(**kw):
    kw.setdefault("input_size", (16, 16))
    kw.setdefault("init", "uniform")
    kw.setdefault("generator", _gen(0))
    return D2NN(GRID, LAM, kw.pop("num_layers", 3), Z, **kw)


def _images(b=4, seed=1, hw=(28, 28)):
    return torch.rand(b, *hw, generator=_gen(seed))


# -- smoke / shape ---------------------------------------------------------------------
def test_forward_shape_dtype_and_parameters():
    m = _model()
    logits = m(_images())
    assert logits.shape == (4, 10) and logits.dtype == torch.float32
    names = [n for n, _ in m.named_parameters()]
    assert names == ["masks.0.raw", "masks.1.raw", "masks.2.raw"]
    assert len(m.propagators) == 1  # equal distances share one transfer function
    assert m.phases().shape == (3, 32, 32)
    assert m.predict(_images()).shape == (4,)
    m2 = _model(input_distance=4 * mm, learn_temperature=True, num_classes=4)
    assert len(m2.propagators) == 2 and m2.steps == (0, 1, 1, 1)
    assert m2(_images()).shape == (4, 4)
    assert "log_temperature" in dict(m2.named_parameters())


def test_planes_for_pictures():
    m = _model()
    img = _images(1)[0]
    planes = m.planes(img)
    assert planes.shape == (5, 32, 32) and not planes.requires_grad
    field = m.input_field(img[None])[0]
    assert torch.allclose(planes[0], field.abs() ** 2)
    # the last plane integrates to the region energies the classifier sees
    e = (planes[-1] * m.detector.masks).sum((-2, -1)) * GRID.pixel_area
    assert torch.allclose(e, m.energies(img[None])[0], rtol=1e-5)


def test_state_dict_round_trip_holds_only_the_weights():
    m = _model(learn_temperature=True)
    sd = m.state_dict()
    assert sorted(sd) == ["log_temperature"] + [f"masks.{i}.raw" for i in range(3)]
    fresh = _model(init="zeros", learn_temperature=True)
    fresh.load_state_dict(sd)
    x = _images()
    assert torch.equal(fresh(x), m(x))


# -- physics / reference -----------------------------------------------------------------
def test_forward_matches_an_independent_composition():
    """Compose the same system from photonn.propagate (kernels rebuilt per call)
    and exp(i phi) by hand, in complex128; region energies must agree to round-off."""
    m = _model(dtype=torch.complex128, method="asm")
    x = _images(2).double()
    u = m.input_field(x)
    for phi in m.phases().detach():
        u = propagate(u, GRID, LAM, Z, "asm", strict=True) * torch.exp(1j * phi)
    u = propagate(u, GRID, LAM, Z, "asm", strict=True)
    ref = ((u.abs() ** 2)[:, None] * m.detector.masks).sum((-2, -1)) * GRID.pixel_area
    assert torch.allclose(m.energies(x), ref, rtol=1e-10)


def test_energy_is_at_most_the_input_power():
    m = _model(dtype=torch.complex128)
    x = _images(3).double()
    p_in = (m.input_field(x).abs() ** 2).sum((-2, -1)) * GRID.pixel_area
    e = m.energies(x)
    assert torch.all(e >= 0) and torch.all(e.sum(-1) <= p_in * (1 + 1e-12))


def test_normalized_logits_are_invariant_to_input_scale():
    m = _model()
    x = _images()
    a, b = m(x), m(0.25 * x)
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-5)
    assert torch.allclose(a.sum(-1), torch.full((4,), 10.0), rtol=1e-5)  # T * sum(E/sum E)
    log = _model(readout="log")
    la, lb = log(x), log(0.25 * x)
    # a power scale s adds log(s) to every logit: softmax unchanged
    shift = la - lb
    assert torch.allclose(shift, torch.full_like(shift, math.log(16.0)), atol=1e-4)
    assert torch.allclose(la.softmax(-1), lb.softmax(-1), atol=1e-6)


def test_temperature_scales_logits():
    x = _images()
    assert torch.allclose(_model(temperature=5.0)(x) * 2, _model(temperature=10.0)(x), rtol=1e-6)


def test_differential_readout():
    m = _model(differential="normalized")
    assert m.detector.num_detectors == 20
    logits = m(_images())
    assert logits.shape == (4, 10) and torch.all(logits.abs() <= 10.0 + 1e-5)
    d = _model(differential="difference")
    assert d(_images()).shape == (4, 10)


def test_phase_bits_quantise_every_layer():
    m = _model(phase_bits=2)
    for ph in m.phases().detach():
        assert torch.unique(ph).numel() <= 4
        assert torch.all(torch.isin(ph, torch.arange(4.0) * (math.pi / 2)))
    assert all(isinstance(mask, PhaseMask) and mask.bits == 2 for mask in m.masks)


def test_detector_noise_is_seeded():
    def noisy(seed):
        noise = DetectorNoise(LAM, 1e-3, read_noise_e=5.0, generator=_gen(seed))
        return _model(detector_noise=noise)

    x = _images()
    # scale the input to ~1e-13 W on the detectors (~1e4 photons per region)
    a, b, c = noisy(3)(x * 1e-3), noisy(3)(x * 1e-3), noisy(4)(x * 1e-3)
    assert torch.equal(a, b) and not torch.equal(a, c)


# -- gradients ----------------------------------------------------------------------------
def test_gradient_reaches_every_mask():
    m = _model(init="zeros")
    y = torch.arange(4) % 10
    torch.nn.functional.cross_entropy(m(_images()), y).backward()
    for mask in m.masks:
        assert mask.raw.grad is not None
        assert float(mask.raw.grad.abs().max()) > 0 and torch.isfinite(mask.raw.grad).all()


def test_gradcheck_complex128():
    g = Grid(10, 0.4 * mm)
    m = D2NN(
        g,
        LAM,
        2,
        2 * mm,
        num_classes=2,
        input_size=(6, 6),
        init="uniform",
        generator=_gen(0),
        span=1.0,
        dtype=torch.complex128,
    )
    x = torch.rand(2, 6, 6, generator=_gen(1), dtype=torch.float64)
    p0 = m.masks[0].raw.detach().clone().requires_grad_()
    p1 = m.masks[1].raw.detach().clone().requires_grad_()

    def f(a, b):
        return torch.func.functional_call(m, {"masks.0.raw": a, "masks.1.raw": b}, (x,))

    assert torch.autograd.gradcheck(f, (p0, p1), fast_mode=True)


def test_a_few_steps_reduce_the_loss():
    torch.manual_seed(0)
    m = _model(init="zeros")
    x = _images(8, seed=5)
    y = torch.arange(8) % 10
    opt = torch.optim.Adam(m.parameters(), lr=0.1)
    losses = []
    for _ in range(10):
        loss = torch.nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.8 * losses[0]


# -- exceptions ------------------------------------------------------------------------------
def test_errors():
    m = _model()
    with pytest.raises(ValueError, match=r"\(B, H, W\)"):
        m(torch.rand(28, 28))
    with pytest.raises(TypeError, match="images"):
        m(torch.rand(2, 28, 28, dtype=torch.complex64))
    with pytest.raises(TypeError, match="Tensor"):
        m([[0.0]])
    with pytest.raises(ValueError, match="fit"):
        _model(input_size=(40, 40))
    with pytest.raises(ValueError, match="readout"):
        _model(readout="softmax")
    with pytest.raises(ValueError, match="encoding"):
        _model(encoding="binary")
    with pytest.raises(ValueError, match="wavelength"):
        D2NN(GRID, -1.0, 2, Z)
    with pytest.raises(ValueError, match="num_layers"):
        D2NN(GRID, LAM, 0, Z)
    with pytest.raises(TypeError, match="Grid"):
        D2NN((32, 32), LAM, 2, Z)
    with pytest.raises(TypeError, match="imaginary"):
        m.to(torch.float32)
    with pytest.raises(ValueError, match="one image"):
        m.planes(torch.rand(2, 28, 28))


@pytest.mark.parametrize("encoding", ["amplitude", "intensity", "phase"])
def test_images_outside_the_unit_range_are_refused(encoding):
    """NaN, Inf and values outside [0, 1] raise before any propagation, naming them."""
    m = _model(encoding=encoding)
    for value in (float("nan"), float("inf")):
        x = _images(2)
        x[1, 3, 4] = value
        with pytest.raises(ValueError, match=r"1 NaN or Inf values \(first at index \(1, 3, 4\)\)"):
            m(x)
    x = _images(2)
    x[0, 0, 0] = 1.5
    with pytest.raises(ValueError, match=r"\[0, 1\].*from \S+ to 1\.5;") as e:
        m(x)
    assert encoding in str(e.value) and "/ 255" in str(e.value)
    with pytest.raises(ValueError, match=r"from -0\.2\d+ to 0\.7\d+;"):
        m(_images(2) - 0.25)
    with pytest.raises(ValueError, match="NaN or Inf"):
        m.planes(torch.full((28, 28), float("nan")))
    # the edges and uint8 images are fine
    m(torch.stack([torch.zeros(28, 28), torch.ones(28, 28)]))
    m(torch.randint(0, 256, (2, 28, 28), dtype=torch.uint8, generator=_gen(3)))


# -- the declared options ---------------------------------------------------------------
def test_options_build_the_network_the_keywords_build():
    """Each D2NNOptions field is the D2NN keyword of the same name and unit."""
    import dataclasses
    import inspect

    from photonn.models import D2NNOptions

    keywords = set(inspect.signature(D2NN).parameters) | {"size", "pitch"}
    assert {f.name for f in dataclasses.fields(D2NNOptions)} <= keywords
    opts = D2NNOptions(
        size=32,
        pitch=0.4 * mm,
        wavelength=LAM,
        num_layers=2,
        distance=Z,
        method="bl-asm",
        input_size=16,
        region_size=1.2 * mm,
        span=0.7,
        phase_bits=4,
        init="uniform",
    )
    a = D2NN.from_options(opts, 10, generator=_gen(0))
    b = D2NN(
        GRID,
        LAM,
        2,
        Z,
        10,
        method="bl-asm",
        input_size=16,
        region_size=1.2 * mm,
        span=0.7,
        phase_bits=4,
        init="uniform",
        temperature=10.0,
        learn_temperature=True,
        generator=_gen(0),
    )
    x = _images()
    assert torch.equal(a(x), b(x))
    assert torch.equal(a.detector.masks, b.detector.masks)
    with pytest.raises(TypeError, match="D2NNOptions"):
        D2NN.from_options({"size": 32})
    with pytest.raises(ValueError, match=r"span must be <= 1, got 1.5"):
        D2NNOptions(span=1.5)
