"""Training what will be fabricated: the relief's absorption in the forward model (identical
to the export's height -> amplitude), and quantised phase masks that train at 2 levels
(secant straight-through gradient, latent started at the edge of its level's cell)."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

import photonn as pn
from photonn import export as E
from photonn.freespace import PhaseMask
from photonn.functional.fabrication import (
    EDGE_FRACTION,
    Relief,
    edge_offset,
    height_transmission,
    level_transmission_ste,
    phase_to_height,
    relief_amplitude,
)
from photonn.functional.slm import quantize_phase_ste, uniform_levels
from photonn.models import D2NN, D2NNOptions

from .test_fabrication import read_stl, top_heights

LAM = 0.75e-3  # 0.4 THz
RESIN = "vero_black_plus_rgd875"
N, KAPPA = 1.7227, 0.031  # the profile's values at 0.4 THz


# -- the relief's amplitude is the export's -------------------------------------------------
@pytest.mark.parametrize("levels", [None, 2, 4, 16])
def test_relief_amplitude_is_the_exports_height_to_amplitude(levels):
    """Identity: amplitude of phase (training) == |transmission| of the height the export
    makes of that phase. Both float64; they differ by rounding only (1e-15 relative)."""
    g = torch.Generator().manual_seed(0)
    phi = (torch.rand(400, generator=g, dtype=torch.float64) - 0.5) * 30  # several turns
    if levels is not None:
        phi = quantize_phase_ste(phi, uniform_levels(int(math.log2(levels))))
    relief = Relief(LAM, N, KAPPA, 1.0, 0.6e-3)
    t = height_transmission(phase_to_height(phi, LAM, N, levels=levels), LAM, N, KAPPA, base=0.6e-3)
    torch.testing.assert_close(relief_amplitude(phi, relief), t.abs(), rtol=1e-13, atol=0)
    # at a level, the phase of the relief is the phase (mod 2 pi)
    err = torch.angle(t * torch.polar(torch.ones_like(phi), -phi))
    assert float(err.abs().max()) < 1e-12
    # the amplitude of the bare plate and of a full step, analytically
    a0 = math.exp(-2 * math.pi * KAPPA * 0.6e-3 / LAM)
    assert float(relief_amplitude(torch.tensor(0.0, dtype=torch.float64), relief)) == pytest.approx(
        a0, rel=1e-14
    )
    a2pi = a0 * math.exp(-2 * math.pi * KAPPA / (N - 1))
    just_below = torch.tensor(2 * math.pi - 1e-12, dtype=torch.float64)
    assert float(relief_amplitude(just_below, relief)) == pytest.approx(a2pi, rel=1e-10)


def test_relief_amplitude_gradient_is_the_absorption_per_radian():
    """d a / d phi = -kappa / (n - 1) a (thicker pixels absorb more)."""
    relief = Relief(LAM, N, KAPPA, 1.0, 1e-3)
    phi = torch.tensor([0.3, 2.0, 5.9, 8.0], dtype=torch.float64, requires_grad=True)
    a = relief_amplitude(phi, relief)
    (g,) = torch.autograd.grad(a.sum(), phi)
    torch.testing.assert_close(g, -KAPPA / (N - 1) * a.detach(), rtol=1e-14, atol=0)


def test_relief_refuses_a_material_that_cannot_delay_the_light():
    with pytest.raises(ValueError, match="not above the medium"):
        Relief(LAM, 1.0, 0.0)
    with pytest.raises(ValueError, match="kappa must be"):
        Relief(LAM, N, -0.1)
    with pytest.raises(ValueError, match="base must be"):
        Relief(LAM, N, KAPPA, base=-1e-3)


def _thz_d2nn(**kw):
    return D2NN(
        pn.Grid(12, 0.4e-3),
        LAM,
        num_layers=2,
        distance=3e-2,
        input_size=6,
        init="uniform",
        generator=torch.Generator().manual_seed(3),
        dtype=torch.complex128,
        **kw,
    )


@pytest.mark.parametrize("bits", [None, 1, 2])
def test_a_network_trained_with_its_material_is_its_fabrication_export(tmp_path, bits):
    """D2NN(material=..., base=...) runs the relief the export makes: the masks equal
    the export's transmissions (to the 16-bit height map's rounding without levels,
    to float64 rounding with them), and the STL read back gives the same masks to its
    float32 millimetre coordinates."""
    model = _thz_d2nn(material=RESIN, base=0.6e-3, phase_bits=bits)
    assert model.material == RESIN and model.relief.n == N and model.relief.kappa == KAPPA
    levels = None if bits is None else 2**bits
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same material and base: no warning
        out = E.export(model, tmp_path / "x", fabrication=RESIN, levels=levels, base_m=0.6e-3)
    x = torch.rand(3, 28, 28, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    loaded = E.load(out, source="files")
    # the 16-bit map rounds a height by at most half a step: phase pi / 65535, and the
    # amplitude by kappa / (n - 1) of that, relative
    tol = 1e-12 if levels else (1 + KAPPA / (N - 1)) * math.pi / 65535
    m = E.read_manifest(out)
    for i, rec in enumerate(m["fabrication"]):
        t_model = model.masks[i].transmission().detach()
        torch.testing.assert_close(loaded.masks[i].transmission(), t_model, rtol=0, atol=tol)
        normals, verts = read_stl(out / rec["files"]["stl"])
        h = top_heights(verts, normals, (12, 12), (0.4, 0.4), 0.6) * 1e-3
        t_stl = height_transmission(torch.from_numpy(h), LAM, N, KAPPA, base=0.6e-3)
        # float32 mm coordinates: heights to ~1e-9 m, phase 2 pi (n - 1) / lambda of that
        torch.testing.assert_close(t_stl, t_model, rtol=0, atol=tol + 2e-5)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=1e3 * tol)
    if levels:  # exact in memory: the same levels, the same amplitude law
        q = E.quantized_model(model, fabrication=RESIN, levels=levels, base_m=0.6e-3)
        with torch.no_grad():
            torch.testing.assert_close(q(x), model(x), rtol=1e-12, atol=1e-12)


def test_the_material_changes_the_forward_and_a_mismatched_export_warns(tmp_path):
    lossless, printed = _thz_d2nn(), _thz_d2nn(material=RESIN, base=1e-3)
    for a, b in zip(lossless.masks, printed.masks):
        ratio = (b.transmission() / a.transmission()).detach()
        # a real amplitude between a full step's and the bare plate's
        assert float(ratio.imag.abs().max()) < 1e-12
        a0 = math.exp(-2 * math.pi * KAPPA * 1e-3 / LAM)
        assert a0 * math.exp(-2 * math.pi * KAPPA / (N - 1)) < float(ratio.real.min())
        assert float(ratio.real.max()) <= a0 * (1 + 1e-12)
    with pytest.warns(UserWarning, match="trained as relief"):
        E.quantized_model(printed, fabrication=RESIN, base_m=2e-3)
    with pytest.raises(ValueError, match="not a 'material' profile"):
        _thz_d2nn(material="holoeye_pluto2")


def test_material_is_a_declared_option():
    opts = D2NNOptions(size=12, input_size=6, region_size=4e-4, material=RESIN, base=0.5e-3)
    model = D2NN.from_options(opts, dtype=torch.complex128)
    assert model.relief.base == 0.5e-3 and all(m.relief is model.relief for m in model.masks)
    assert D2NN.from_options(D2NNOptions(size=12, input_size=6, region_size=4e-4)).relief is None


# -- 2-level (binary) phase masks train -----------------------------------------------------
@pytest.mark.parametrize("bits", [1, 2, 3])
def test_secant_gradient_is_the_change_of_a_linear_loss_under_the_move(bits):
    """For a loss linear in the transmission, L = Re sum conj(c) t, the secant gradient
    times the step to the neighbouring level (on the latent's side) is the exact change
    of L when the pixel moves to that level."""
    g = torch.Generator().manual_seed(bits)
    levels = uniform_levels(bits)
    count = 2**bits
    c = torch.randn(64, dtype=torch.complex128, generator=g)
    raw = (torch.rand(64, generator=g, dtype=torch.float64) - 0.5) * 20
    raw.requires_grad_(True)
    t = level_transmission_ste(raw, levels)
    (grad,) = torch.autograd.grad((c.conj() * t).real.sum(), raw)
    q = torch.angle(t.detach())
    u = torch.remainder(raw.detach() - q + math.pi, 2 * math.pi) - math.pi
    step = torch.where(u >= 0, 1.0, -1.0).double() * (2 * math.pi / count)
    t_moved = torch.polar(torch.ones_like(q), q + step)
    change = (c.conj() * (t_moved - t.detach())).real
    torch.testing.assert_close(grad * step, change, rtol=1e-12, atol=1e-12)
    # the forward is the nearest level's transmission
    torch.testing.assert_close(
        t.detach(), torch.polar(torch.ones_like(q), quantize_phase_ste(raw.detach(), levels))
    )


def test_the_plain_straight_through_gradient_misses_a_binary_flip():
    """Why binary masks did not train: through exp(i q), the gradient of a real-field
    loss at q in {0, pi} is 0 however much a flip changes it; the secant sees the flip."""
    levels = uniform_levels(1)
    c = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    raw = torch.tensor([0.1, 0.2, math.pi - 0.1], dtype=torch.float64, requires_grad=True)
    plain = torch.polar(torch.ones(3, dtype=torch.float64), quantize_phase_ste(raw, levels))
    (g_plain,) = torch.autograd.grad((c * plain).real.sum(), raw)
    assert float(g_plain.abs().max()) < 1e-15
    (g_secant,) = torch.autograd.grad((c * level_transmission_ste(raw, levels)).real.sum(), raw)
    assert float(g_secant.abs().min()) > 0.3  # 2 |c| / pi


#: the codesign experiment's hypothetical look-up table at 2 bits: uneven levels
#: 0, 0.19 pi, 0.62 pi, 1.23 pi (phase = 2 pi (g / 256)^1.7 resampled to 4 gray levels)
UNEVEN_LUT = [2 * math.pi * (g / 4) ** 1.7 for g in range(4)]


def test_with_a_lut_the_secant_runs_from_the_exports_level_to_its_neighbour():
    """A phase mask on an SLM's look-up table: the transmission shows the level the export
    picks (``phase()``, ``lut_round``), and the gradient times the step to the neighbouring
    table level (on the latent's side) is the exact change of a loss linear in the field.
    Before, a table kept the tangent gradient (this fails there: the product is not the
    change)."""
    g = torch.Generator().manual_seed(4)
    mask = PhaseMask(
        pn.Grid(8, 1e-3), lut=UNEVEN_LUT, init="uniform", generator=g, dtype=torch.complex128
    )
    c = torch.randn(8, 8, dtype=torch.complex128, generator=g)
    t = mask.transmission()
    shown = mask.phase().detach()
    # the export's level, up to the rounding of exp at a level taken modulo 2 pi
    torch.testing.assert_close(t.detach(), torch.polar(torch.ones_like(shown), shown))
    (grad,) = torch.autograd.grad((c.conj() * t).real.sum(), mask.raw)
    levels = torch.tensor(sorted(UNEVEN_LUT), dtype=torch.float64)
    q = torch.remainder(shown, 2 * math.pi)
    k = torch.argmin((levels[:, None, None] - q).abs(), 0)
    u = torch.remainder(mask.raw.detach() - q + math.pi, 2 * math.pi) - math.pi
    nb = torch.where(u >= 0, levels[(k + 1) % 4], levels[(k - 1) % 4])
    step = torch.where(
        u >= 0,
        torch.remainder(nb - q, 2 * math.pi),
        torch.remainder(nb - q, 2 * math.pi) - 2 * math.pi,
    )
    change = (c.conj() * (torch.polar(torch.ones_like(q), nb) - t.detach())).real
    torch.testing.assert_close(grad * step, change, rtol=1e-12, atol=1e-12)
    # zeros start inside the cell of level 0, 0.9 of the way to the edge with 0.19 pi
    start = PhaseMask(pn.Grid(2, 1e-3), lut=UNEVEN_LUT, dtype=torch.complex128)
    assert float(start.raw[0, 0]) == pytest.approx(EDGE_FRACTION * UNEVEN_LUT[1] / 2)
    assert bool((start.phase() == 0).all())


def test_quantised_zeros_start_transparent_at_the_cell_edge():
    for bits in (1, 2, 4):
        m = PhaseMask(pn.Grid(4, 1e-3), bits=bits, dtype=torch.complex128)
        assert torch.all(m.raw == edge_offset(2**bits))
        assert edge_offset(2**bits) == pytest.approx(EDGE_FRACTION * math.pi / 2**bits)
        assert torch.all(m.phase() == 0)
        torch.testing.assert_close(m.transmission(), torch.ones(4, 4, dtype=torch.complex128))
    assert torch.all(PhaseMask(pn.Grid(4, 1e-3)).raw == 0)  # continuous: as before


def _two_class_task():
    """Class 0 lights the right half of the input, class 1 the left half, so the bare
    (transparent) network sends each class's light to the other's detector: the initial
    loss is high, and only moved pixels bring it down."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(8) % 2
    base = torch.zeros(2, 8, 8)
    base[0, :, 4:] = 1
    base[1, :, :4] = 1
    x = (0.7 * base[y] + 0.3 * torch.rand(8, 8, 8, generator=g)).clamp(0, 1)
    return x, y


def test_a_binary_phase_network_trains():
    """Binary (2-level) phase masks learn a 2-class task in 40 Adam steps (lr 0.01): the
    loss falls from about 2.4 to below 0.05 and every image is right (measured: 2.37 ->
    0.005). Before, the tangent gradient could not see a flip and the latent needed
    pi / 2 / lr = 157 steps to reach one: 40 steps left the loss where it started."""
    x, y = _two_class_task()
    model = D2NN(
        pn.Grid(16, 0.4e-3),
        LAM,
        num_layers=2,
        distance=1e-2,
        num_classes=2,
        input_size=8,
        phase_bits=1,
        method="bl-asm",
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(40):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[0] > 2.0
    assert losses[-1] < 0.05, losses[::5]
    with torch.no_grad():
        assert bool((model(x).argmax(-1) == y).all())
    phases = torch.stack([m.phase().detach() for m in model.masks])
    assert int((phases != 0).sum()) > 0  # pixels moved, to the other level only
    assert bool(((phases == 0) | (phases == model.masks[0].levels[1])).all())


# -- 4f networks: Fourier-plane masks as relief --------------------------------------------
def _net4f(**kw):
    from photonn.models import Fourier4fNetwork

    return Fourier4fNetwork(
        pn.Grid(16, 0.4e-3),
        LAM,
        0.05,
        2,
        4,
        input_size=8,
        region_size=0.8e-3,
        init="uniform",
        generator=torch.Generator().manual_seed(0),
        dtype=torch.complex128,
        **kw,
    )


@pytest.mark.parametrize("bits", [None, 2])
def test_4f_network_fourier_masks_round_trip_through_the_relief_files(tmp_path, bits):
    """The 4f network's Fourier-plane masks, written as relief (STL, height map, spec),
    read back (height maps by read_relief, STL by the independent reader): the rebuilt
    network is the trained one (exact at levels; to the 16-bit rounding without)."""
    from photonn.export.fabrication import fabricated_model, read_relief, write_relief

    net = _net4f(phase_bits=bits, material=RESIN, base=0.6e-3)
    fg = net.layers[0].fourier_grid  # pitch lambda f / (N d): the plate's pixels
    assert fg.dx == pytest.approx(LAM * 0.05 / (32 * 0.4e-3), rel=1e-12)
    levels = None if bits is None else 2**bits
    out = write_relief(net, tmp_path / "plates", RESIN, levels=levels, base_m=0.6e-3)
    tol = 1e-12 if levels else (1 + KAPPA / (N - 1)) * math.pi / 65535
    index = (out / "relief.toml").read_text()
    assert "distance_before_m = 0.05" in index and 'material = "vero_black_plus_rgd875"' in index
    layers = read_relief(out)
    assert sorted(layers) == ["layers.0.mask", "layers.1.mask"]
    for i, name in enumerate(sorted(layers)):
        t_model = net.masks[i].transmission().detach()
        phase, amp = layers[name]
        torch.testing.assert_close(torch.polar(amp, phase), t_model, rtol=0, atol=tol)
        normals, verts = read_stl(out / f"{name}.stl")
        h = top_heights(verts, normals, fg.shape, (fg.dy * 1e3, fg.dx * 1e3), 0.6) * 1e-3
        t_stl = height_transmission(torch.from_numpy(h), LAM, N, KAPPA, base=0.6e-3)
        torch.testing.assert_close(t_stl, t_model, rtol=0, atol=tol + 2e-5)
    x = torch.rand(3, 28, 28, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = net(x)
        rebuilt = fabricated_model(_net4f(phase_bits=bits, material=RESIN, base=0.6e-3), layers)
        torch.testing.assert_close(rebuilt(x), ref, rtol=0, atol=1e3 * tol)
    with pytest.raises(FileExistsError, match="exists"):
        write_relief(net, out, RESIN, levels=levels, base_m=0.6e-3)


def test_4f_network_is_its_layers_then_the_detector_and_refuses_bad_options():
    net = _net4f(phase_bits=1)
    x = torch.rand(2, 28, 28, dtype=torch.float64)
    u = net.input_field(x)
    for layer in net.layers:
        u = layer(u)
    e = net.detector.energies(u)
    torch.testing.assert_close(net(x), 10 * e / e.sum(-1, keepdim=True))
    # the normalised scores sum to 10 whatever the masks: take one class's score, whose
    # gradient is not zero by construction
    net(x)[:, 0].sum().backward()
    assert all(m.raw.grad is not None and m.raw.grad.abs().sum() > 1e-6 for m in net.masks)
    with pytest.raises(ValueError, match="material= makes printed phase masks"):
        _net4f(mask="amplitude", material=RESIN)
    with pytest.raises(ValueError, match="phase_bits quantises phase masks"):
        _net4f(mask="complex", phase_bits=2)
