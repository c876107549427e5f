"""Image -> optical field encoding: shapes, dtypes, centring, resampling references,
the three encodings, errors and gradients."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.data import load_embedded_mnist
from photonn.encoding import (
    ImageToField,
    image_to_field,
    pad_to,
    phase_encoding,
    resize,
    to_unit_range,
)


def test_shapes_and_dtypes():
    images, _ = load_embedded_mnist("test")
    field = image_to_field(images[:5], (96, 80), region=(56, 40))
    assert field.shape == (5, 96, 80) and field.dtype == torch.complex64
    field = image_to_field(images[0], (32, 32), dtype=torch.complex128)
    assert field.shape == (32, 32) and field.dtype == torch.complex128
    x = torch.rand(2, 3, 10, 12)  # (B, C, H, W)
    assert image_to_field(x, (20, 20), region=(5, 6), encoding="phase").shape == (2, 3, 20, 20)


def test_to_unit_range():
    x = torch.tensor([[0, 51, 255]], dtype=torch.uint8)
    torch.testing.assert_close(to_unit_range(x), torch.tensor([[0.0, 0.2, 1.0]]))
    assert to_unit_range(x, torch.float64).dtype == torch.float64
    with pytest.raises(TypeError, match="uint8"):
        to_unit_range(torch.ones(2, 2, dtype=torch.int32))


@pytest.mark.parametrize("h, w, big_y, big_x", [(3, 3, 8, 8), (4, 4, 9, 9), (3, 4, 7, 10)])
def test_pad_centres_on_the_optical_axis(h, w, big_y, big_x):
    img = torch.zeros(h, w)
    img[h // 2, w // 2] = 1.0
    out = pad_to(img, (big_y, big_x))
    assert out.shape == (big_y, big_x)
    assert out[big_y // 2, big_x // 2] == 1.0 and out.sum() == 1.0


def test_region_is_centred_and_zero_outside():
    x = torch.ones(1, 28, 28)
    field = image_to_field(x, (64, 64), region=(40, 30))
    mag = field.abs()[0]
    rows = torch.nonzero(mag.sum(1)).flatten()
    cols = torch.nonzero(mag.sum(0)).flatten()
    assert (rows[0].item(), rows[-1].item()) == (32 - 20, 32 + 19)
    assert (cols[0].item(), cols[-1].item()) == (32 - 15, 32 + 14)
    torch.testing.assert_close(mag[12:52, 17:47], torch.ones(40, 30))  # constant is kept


def test_resize_references():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 8, 12, generator=g, dtype=torch.float64)
    # area: exact 2x2 block means
    ref = x.reshape(3, 4, 2, 6, 2).mean(dim=(2, 4))
    torch.testing.assert_close(resize(x, (4, 6), "area"), ref, rtol=1e-12, atol=1e-12)
    # nearest: integer enlargement is pixel replication
    ref = x.repeat_interleave(3, dim=-2).repeat_interleave(2, dim=-1)
    torch.testing.assert_close(resize(x, (24, 24), "nearest"), ref, rtol=0, atol=0)
    # bilinear: the same size is the identity; a linear ramp stays linear inside
    assert resize(x, (8, 12)) is x
    ramp = torch.arange(8, dtype=torch.float64).repeat(8, 1)  # x-ramp 0..7
    up = resize(ramp, (8, 16))
    # align_corners=False: output column j samples input x = (j + 0.5) / 2 - 0.5
    j = torch.arange(1, 15, dtype=torch.float64)
    torch.testing.assert_close(up[0, 1:15], (j + 0.5) / 2 - 0.5, rtol=1e-12, atol=1e-12)
    # mean intensity is preserved by area shrinking (a block mean)
    assert resize(x, (4, 6), "area").mean().item() == pytest.approx(x.mean().item(), rel=1e-12)


def test_amplitude_and_intensity_encoding():
    x = torch.rand(2, 6, 6, dtype=torch.float64)
    amp = image_to_field(x, (10, 10), encoding="amplitude", dtype=torch.complex128)
    torch.testing.assert_close(amp[:, 2:8, 2:8], x.to(torch.complex128), rtol=0, atol=0)
    # power of the field = sum of x^2 (zero padding adds none)
    torch.testing.assert_close(amp.abs().square().sum(), x.square().sum(), rtol=1e-12, atol=0)
    inten = image_to_field(x, (10, 10), encoding="intensity", dtype=torch.complex128)
    torch.testing.assert_close(inten.abs().square()[:, 2:8, 2:8], x, rtol=1e-12, atol=1e-15)


def test_phase_encoding_values():
    x = torch.linspace(0, 1, 36, dtype=torch.float64).reshape(6, 6)
    a, b = 1.5 * math.pi, 0.3
    f = image_to_field(x, (8, 8), encoding="phase", a=a, b=b, dtype=torch.complex128)
    inside = f[1:7, 1:7]
    torch.testing.assert_close(inside.abs(), torch.ones(6, 6, dtype=torch.float64))
    want = torch.exp(1j * (a * x + b))
    torch.testing.assert_close(inside, want, rtol=1e-12, atol=1e-12)
    assert f[0].abs().max() == 0 and f[:, 0].abs().max() == 0  # aperture: dark outside
    # uint8 input: x = g / 255
    g = torch.tensor([[0, 255]], dtype=torch.uint8)
    torch.testing.assert_close(
        phase_encoding(to_unit_range(g, torch.float64), a=math.pi, dtype=torch.complex128),
        torch.tensor([[1.0, -1.0]], dtype=torch.complex128),
        rtol=0,
        atol=1e-15,
    )


def test_errors():
    x = torch.rand(28, 28)
    with pytest.raises(ValueError, match="does not fit in the grid"):
        image_to_field(x, (20, 20))
    with pytest.raises(ValueError, match="mode"):
        image_to_field(x, (40, 40), region=(30, 30), mode="cubic")
    with pytest.raises(ValueError, match="encoding"):
        image_to_field(x, (40, 40), encoding="polarisation")
    with pytest.raises(TypeError, match="complex64 or torch.complex128"):
        image_to_field(x, (40, 40), dtype=torch.float32)
    with pytest.raises(TypeError, match="to_unit_range"):
        resize(torch.ones(4, 4, dtype=torch.uint8), (2, 2))
    with pytest.raises(ValueError, match=r"\(\.\.\., H, W\)"):
        image_to_field(torch.rand(5), (8, 8))
    with pytest.raises(TypeError, match="real images"):
        image_to_field(torch.rand(4, 4, dtype=torch.complex64), (8, 8))
    with pytest.raises(TypeError, match="pair"):
        image_to_field(x, (40, 40, 2))
    with pytest.raises(ValueError, match="larger than the grid"):
        ImageToField((20, 20), region=(28, 28))
    with pytest.raises(ValueError, match="encoding='phase'"):
        ImageToField((40, 40), learnable_phase=True)


def test_gradcheck_image_to_field():
    """complex128 gradcheck on small sizes (resize + pad + phase encoding)."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    a = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)

    def fn(x, a, b):
        return image_to_field(
            x, (5, 4), region=(4, 3), encoding="phase", a=a, b=b, dtype=torch.complex128
        )

    assert torch.autograd.gradcheck(fn, (x, a, b), fast_mode=True)
    assert torch.autograd.gradcheck(
        lambda x: image_to_field(x, (4, 4), region=(2, 2), mode="area", dtype=torch.complex128),
        (torch.rand(4, 4, generator=g, dtype=torch.float64, requires_grad=True),),
        fast_mode=True,
    )


def test_module_learnable_phase():
    m = ImageToField((16, 16), (8, 8), encoding="phase", learnable_phase=True)
    assert [p.dtype for p in m.parameters()] == [torch.float32, torch.float32]
    images, _ = load_embedded_mnist("test")
    out = m(images[:3])
    assert out.shape == (3, 16, 16) and out.dtype == torch.complex64
    out.real.sum().backward()
    assert m.a.grad is not None and torch.isfinite(m.a.grad)
    fixed = ImageToField((16, 16), (8, 8), dtype=torch.complex128)
    assert list(fixed.parameters()) == [] and fixed(images[:1]).dtype == torch.complex128
