"""SLM: levels, LUT, straight-through gradient, fill factor, crosstalk, profiles."""

from __future__ import annotations

import math

import pytest
import torch

from photonn import Grid
from photonn.freespace import SLM
from photonn.functional.slm import (
    apply_crosstalk,
    crosstalk_kernel,
    effective_fill_transmission,
    linear_lut,
    nearest_level,
    pixelate,
    quantize_phase,
)
from photonn.units import nm, um

C128 = torch.complex128
TWO_PI = 2 * math.pi


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# -- smoke / shape -----------------------------------------------------------------
def test_shapes_and_defaults():
    g = Grid((12, 16), 8 * um)
    slm = SLM(g)
    assert slm.bits == 8 and slm.pixels == (12, 16) and slm.lut.shape == (256,)
    x = torch.ones(2, 12, 16, dtype=torch.complex64)
    y = slm(x)
    assert y.shape == x.shape and y.dtype == torch.complex64
    assert torch.equal(y, x)  # zero phase, full fill, no crosstalk
    s2 = SLM(Grid((12, 16), 2 * um), oversample=4)
    assert s2.pixels == (3, 4) and s2.pixel_pitch == (8 * um, 8 * um)
    assert s2.phase.shape == (3, 4) and s2.transmission().shape == (12, 16)


# -- physics -------------------------------------------------------------------------
@pytest.mark.parametrize("bits", [1, 3, 4])
def test_exactly_2_pow_bits_levels(bits):
    g = Grid(48, 8 * um)
    slm = SLM(g, bits=bits, init="uniform", generator=_gen(bits), dtype=C128)
    shown = slm.shown_phase().detach()
    levels = torch.unique(shown)
    assert levels.numel() == 2**bits
    assert torch.equal(levels, linear_lut(bits, TWO_PI))
    gray = slm.gray_levels()
    assert gray.dtype == torch.int64 and int(gray.min()) == 0 and int(gray.max()) == 2**bits - 1
    assert torch.equal(slm.lut[gray], shown)


def test_nearest_level_on_the_circle_matches_brute_force():
    gen = _gen(1)
    lut = torch.sort(torch.rand(16, generator=gen, dtype=torch.float64) * 2.3 * math.pi).values
    phase = (torch.rand(5000, generator=gen, dtype=torch.float64) - 0.5) * 40
    idx = nearest_level(phase, lut)
    diff = torch.remainder(phase[:, None] - lut[None, :] + math.pi, TWO_PI) - math.pi
    brute = diff.abs().argmin(1)
    dist = diff.abs()
    # same distance (ties may pick either level)
    assert torch.allclose(dist.gather(1, idx[:, None]), dist.gather(1, brute[:, None]), atol=1e-12)
    q = quantize_phase(phase, lut)
    assert torch.all(torch.isin(q, lut))


def test_lut_is_used_and_wraps():
    # a nonlinear 2-bit LUT; phases near 2 pi snap to level 0 (circular distance)
    lut = torch.tensor([0.0, 0.5, 2.0, 4.0], dtype=torch.float64)
    g = Grid((1, 5), 8 * um)
    init = torch.tensor([[0.2, 0.3, 1.3, 5.0, 6.2]], dtype=torch.float64)
    slm = SLM(g, lut=lut, init=init, dtype=C128)
    assert slm.bits == 2
    assert slm.gray_levels().tolist() == [[0, 1, 2, 3, 0]]
    assert slm.shown_phase().detach().tolist() == [[0.0, 0.5, 2.0, 4.0, 0.0]]


@pytest.mark.parametrize(
    "lut",
    [
        None,  # 3 bits, linear: levels k pi / 4
        [0.0, 0.3, 1.1, 2.5, 3.0, 4.4, 5.0, 5.9],  # a non-linear table: unequal steps
        [0.0, math.pi],  # binary
    ],
)
def test_ste_gradient_is_the_change_of_a_linear_loss_under_the_move(lut):
    """Default quantiser, no crosstalk: for a loss linear in the transmission,
    L = Re sum conj(c) t, the gradient in theta times the step to the neighbouring level
    (on theta's side of the shown level) is the exact change of L when the pixel shows
    that level (the secant straight-through gradient, for any look-up table)."""
    g = Grid(8, 8 * um)
    kw = {"bits": 3, "max_phase": 7 * math.pi / 4} if lut is None else {"lut": lut}
    slm = SLM(g, init="uniform", generator=_gen(2), dtype=C128, **kw)
    c = torch.randn(8, 8, dtype=C128, generator=_gen(3))
    (grad,) = torch.autograd.grad((c.conj() * slm.transmission()).real.sum(), slm.phase)
    levels = torch.sort(torch.remainder(slm.lut, 2 * math.pi)).values
    q = torch.remainder(slm.shown_phase().detach(), 2 * math.pi)
    k = torch.searchsorted(levels, q)  # q is a level: its index
    u = torch.remainder(slm.phase.detach() - q + math.pi, 2 * math.pi) - math.pi
    n = levels.numel()
    nb = torch.where(u >= 0, levels[(k + 1) % n], levels[(k - 1) % n])
    step = torch.remainder(nb - q, 2 * math.pi)
    step = torch.where(u >= 0, step, step - 2 * math.pi)
    change = (
        c.conj() * (torch.polar(torch.ones_like(q), nb) - torch.polar(torch.ones_like(q), q))
    ).real
    torch.testing.assert_close(grad * step, change, rtol=1e-12, atol=1e-12)
    assert float(grad.abs().max()) > 0


def test_with_crosstalk_the_gradient_is_the_plain_straight_through_one():
    """With crosstalk the shown phases are convolved before the exponential: the
    gradient is d lut[g] / d theta := 1 through the convolution (checked against the
    same model with the quantiser's value held fixed and theta added)."""
    g = Grid(8, 8 * um)
    slm = SLM(g, bits=3, crosstalk=0.1, init="uniform", generator=_gen(2), dtype=C128)
    x = torch.randn(8, 8, dtype=C128, generator=_gen(3))
    w = torch.randn(8, 8, dtype=torch.float64, generator=_gen(4))

    def loss(y):
        return ((torch.fft.fft2(y).abs() ** 2) * w).sum()

    loss(slm(x)).backward()
    theta = slm.phase.detach().clone().requires_grad_(True)
    shown = slm.quantized_phase().detach() - slm.phase.detach() + theta  # value q, d/dtheta 1
    from photonn.functional.slm import _convolve, _pixelate

    loss(x * _pixelate(_convolve(shown, slm.kernel), 1, 1.0)).backward()
    torch.testing.assert_close(slm.phase.grad, theta.grad, rtol=1e-12, atol=1e-12)
    assert float(slm.phase.grad.abs().max()) > 0


def _focus_loss(slm, x):
    """Minus the fraction of the far-field power in a 2 x 2 patch off the axis."""
    far = torch.fft.fft2(slm(x)).abs().square()
    return -far[..., 2:4, 2:4].sum() / far.sum()


def test_a_binary_slm_trains():
    """A binary (0, pi) SLM learns to send a random field's far-field power into a patch in
    40 Adam steps (lr 0.01): the fraction rises from 0.02 to above 0.2 (measured: 0.024 ->
    0.384). Before, the latent started at the centre of its level's cell and needed
    pi / 2 / lr = 157 steps to flip a pixel: 40 steps changed nothing."""
    g = Grid(16, 8 * um)
    x = torch.polar(torch.ones(16, 16), 2 * math.pi * torch.rand(16, 16, generator=_gen(5)))
    slm = SLM(g, bits=1, max_phase=2 * math.pi)  # levels 0 and pi
    assert slm.lut.tolist() == [0.0, pytest.approx(math.pi)]
    start = float(_focus_loss(slm, x))
    opt = torch.optim.Adam(slm.parameters(), lr=0.01)
    for _ in range(40):
        loss = _focus_loss(slm, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    end = float(_focus_loss(slm, x))
    assert -start < 0.1 and -end > 0.2, (start, end)
    assert bool(((slm.gray_levels() == 0) | (slm.gray_levels() == 1)).all())
    assert int(slm.gray_levels().sum()) > 0  # pixels flipped


def test_zeros_start_inside_the_cell_of_the_level_zero_shows():
    for kw, level in (({"bits": 1}, 0), ({"bits": 3}, 0), ({"lut": [0.5, 1.0, 3.0, 6.0]}, 3)):
        slm = SLM(Grid(4, 8 * um), dtype=C128, **kw)
        shown = slm.quantized_phase().detach()
        assert bool((slm.gray_levels() == level).all())
        # the table's level nearest to 0 is shown, and the latent sits off it
        assert bool((slm.phase != 0).all())
        torch.testing.assert_close(
            slm.transmission(), torch.polar(torch.ones_like(shown), shown), rtol=0, atol=1e-15
        )
    lut = [0.5, 1.0, 3.0, 6.0]  # 0 shows 6.0 (0.28 rad away): the latent sits above it
    slm = SLM(Grid(4, 8 * um), lut=lut, dtype=C128)
    gap = (0.5 + 2 * math.pi) - 6.0
    assert float(slm.phase[0, 0]) == pytest.approx(6.0 - 2 * math.pi + 0.9 * gap / 2)


def test_effective_fill_factor_is_the_zero_order_of_the_pixel_model():
    """The mean transmission of each pixel resolved on a finer grid (its zero
    diffraction order) equals the effective model ``ff e^{i phi} + 1 - ff``."""
    phi = torch.rand(3, 4, generator=_gen(5), dtype=torch.float64) * TWO_PI
    s, ff = 6, 4 / 9  # modulating width 4 of 6 samples: exactly ff = (4/6)^2
    t = pixelate(phi, s, ff)
    assert t.shape == (18, 24)
    mean = t.reshape(3, s, 4, s).mean(dim=(1, 3))
    assert torch.allclose(mean, effective_fill_transmission(phi, ff), atol=1e-14)
    # a pi phase at 50 % fill cancels the zero order completely
    zero = effective_fill_transmission(torch.full((2, 2), math.pi, dtype=torch.float64), 0.5)
    assert float(zero.abs().max()) < 1e-15
    slm = SLM(Grid(12, 8 * um), fill_factor=0.5, dtype=C128)
    with torch.no_grad():
        slm.phase.fill_(math.pi)
    assert float(slm.transmission().detach().abs().max()) < 1e-15


def test_crosstalk_spreads_to_neighbours_and_keeps_uniform_phase():
    c = 0.1
    k = crosstalk_kernel(c)
    assert float(k.sum()) == pytest.approx(1.0)
    phi = torch.zeros(5, 5, dtype=torch.float64)
    phi[2, 2] = 1.0
    out = apply_crosstalk(phi, k)
    assert float(out[2, 2]) == pytest.approx(1 - 4 * c)
    assert [float(out[i, j]) for i, j in ((1, 2), (3, 2), (2, 1), (2, 3))] == pytest.approx([c] * 4)
    assert float(out.sum()) == pytest.approx(1.0)
    flat = apply_crosstalk(torch.full((4, 6), 2.5, dtype=torch.float64), k)
    assert torch.allclose(flat, torch.full((4, 6), 2.5, dtype=torch.float64))
    # an asymmetric kernel is a true convolution (flipped cross-correlation)
    asym = torch.zeros(3, 3, dtype=torch.float64)
    asym[1, 2] = 1.0  # shifts the image one pixel to the right
    shifted = apply_crosstalk(phi, asym)
    assert float(shifted[2, 3]) == 1.0
    slm = SLM(Grid(5, 8 * um), bits=8, crosstalk=c, dtype=C128)
    with torch.no_grad():
        slm.phase[2, 2] = slm.lut[64]
    assert float(slm.shown_phase().detach()[2, 1]) == pytest.approx(c * float(slm.lut[64]))


def test_from_profile_mapping_scales_with_wavelength():
    prof = {
        "pixel_pitch": 8 * um,
        "resolution": (16, 20),
        "gray_bits": 4,
        "fill_factor": 0.9,
        "max_phase": TWO_PI,
        "wavelength": 633 * nm,
    }
    slm = SLM.from_profile(prof, dtype=C128)
    assert slm.grid == Grid((16, 20), 8 * um) and slm.bits == 4 and slm.fill_factor == 0.9
    assert torch.allclose(slm.lut, linear_lut(4, TWO_PI))
    red = SLM.from_profile(prof, grid=Grid((8, 8), 2 * um), wavelength=1266 * nm)
    assert red.oversample == 4 and red.pixels == (2, 2)
    # 90 % fill on 4 samples per pixel: round(sqrt(0.9) * 4) = 4 samples modulate
    assert red.realised_fill_factor == 1.0 and slm.realised_fill_factor == 0.9
    assert torch.allclose(red.lut.double(), linear_lut(4, math.pi), atol=1e-6)
    with pytest.raises(ValueError, match="whole multiple"):
        SLM.from_profile(prof, grid=Grid(8, 3 * um))
    with pytest.raises(ValueError, match="panel"):
        SLM.from_profile(prof, grid=Grid(40, 8 * um))
    with pytest.raises(ValueError, match="lacks"):
        SLM.from_profile({"pixel_pitch": 8 * um})


def test_from_shipped_profile():
    devices = pytest.importorskip("photonn.devices")
    names = [n for n in devices.list_profiles() if devices.load_profile(n).kind == "slm"]
    if not names:
        pytest.skip("no SLM profile shipped")
    for name in names:
        prof = devices.load_profile(name)
        g = Grid(16, prof["pixel_pitch"])
        slm = SLM.from_profile(name, grid=g)
        assert slm.bits == prof["gray_bits"] and slm.lut.numel() == 2 ** prof["gray_bits"]
        if prof.get("lut") is not None:
            assert torch.allclose(slm.lut.double(), prof.lut(), atol=1e-6)
    cams = [n for n in devices.list_profiles() if devices.load_profile(n).kind == "camera"]
    if cams:
        with pytest.raises(ValueError, match="not a 'slm'"):
            SLM.from_profile(cams[0])


# -- exceptions ------------------------------------------------------------------------
def test_errors():
    g = Grid(8, 8 * um)
    with pytest.raises(ValueError, match="multiple of oversample"):
        SLM(g, oversample=3)
    with pytest.raises(ValueError, match="power of two"):
        SLM(g, lut=torch.zeros(5))
    with pytest.raises(ValueError, match="bits=3"):
        SLM(g, bits=3, lut=torch.zeros(4))
    with pytest.raises(ValueError, match="bits must be <= 16"):
        SLM(g, bits=17)
    with pytest.raises(ValueError, match="fill_factor"):
        SLM(g, fill_factor=1.5)
    with pytest.raises(ValueError, match="coupling"):
        SLM(g, crosstalk=0.3)
    with pytest.raises(ValueError, match="odd"):
        SLM(g, crosstalk=torch.ones(2, 2))
    with pytest.raises(TypeError, match="built for"):
        SLM(g)(torch.ones(8, 8, dtype=C128))


# -- gradcheck -------------------------------------------------------------------------
def test_gradcheck_field_and_continuous_parts():
    g = Grid((4, 6), 2 * um)
    slm = SLM(
        g,
        bits=4,
        oversample=2,
        fill_factor=0.25,
        crosstalk=0.05,
        init="uniform",
        generator=_gen(0),
        dtype=C128,
    )
    x = torch.randn(4, 6, dtype=C128, generator=_gen(1))
    assert torch.autograd.gradcheck(slm, (x.requires_grad_(),), fast_mode=True)
    phi = torch.rand(2, 3, dtype=torch.float64, generator=_gen(2)).requires_grad_()
    assert torch.autograd.gradcheck(lambda p: pixelate(p, 2, 0.25), (phi,))
    assert torch.autograd.gradcheck(lambda p: effective_fill_transmission(p, 0.7), (phi,))
    k = crosstalk_kernel(0.05)
    assert torch.autograd.gradcheck(lambda p: apply_crosstalk(p, k), (phi,))
