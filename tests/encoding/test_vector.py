"""Image -> amplitude vector (the input of an on-chip network): shape, unit power, the
reference formula of ``experiments/onchip_mnist`` (area pooling, then L2 normalisation),
errors and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from photonn.data import load_embedded_mnist
from photonn.encoding import ImageToVector, image_to_vector

# a few ulps of each real dtype: the operations and their order match the reference
RTOL = {torch.float32: 2e-6, torch.float64: 1e-14}


def _reference(images: torch.Tensor, size, dtype) -> torch.Tensor:
    """The formula of experiments/onchip_mnist/run.py ``features()``, written out."""
    x = images.to(dtype)[:, None] / 255.0
    x = F.adaptive_avg_pool2d(x, size).reshape(len(images), -1)
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


def test_smoke_and_shape():
    images, _ = load_embedded_mnist("test")
    m = ImageToVector()
    v = m(images[:5])
    assert v.shape == (5, 64) and v.dtype == torch.float32 and m.num_features == 64
    assert image_to_vector(images[:3], (4, 7), dtype=torch.float64).shape == (3, 28)
    assert ImageToVector(5, dtype=torch.float64, device="cpu")(images[:2]).shape == (2, 25)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_equals_pooling_then_l2_normalisation(dtype):
    """Tolerance: the same operations in the same order; a few ulps of ``dtype``."""
    images, _ = load_embedded_mnist("test")
    x = images[:64]
    got = image_to_vector(x, (8, 8), dtype=dtype)
    torch.testing.assert_close(got, _reference(x, (8, 8), dtype), rtol=RTOL[dtype], atol=0)
    # float images in [0, 1] give the same vectors as their uint8 originals
    got_f = ImageToVector(dtype=dtype)(x.to(dtype) / 255.0)
    torch.testing.assert_close(got_f, got, rtol=RTOL[dtype], atol=RTOL[dtype])


def test_unit_power_and_dark_images():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 12, 12, generator=g, dtype=torch.float64)
    v = image_to_vector(x, (3, 4), dtype=torch.float64)
    torch.testing.assert_close(v.square().sum(1), torch.ones(16, dtype=torch.float64))
    dark = image_to_vector(torch.zeros(2, 8, 8, dtype=torch.uint8))
    assert torch.equal(dark, torch.zeros(2, 64))  # no NaN for an all-zero image


def test_block_means_without_normalisation():
    """Integer shrink factors: each entry is the mean of its block, row-major."""
    x = torch.arange(2 * 4 * 6, dtype=torch.float64).reshape(2, 4, 6) / 48
    v = image_to_vector(x, (2, 3), normalize=None, dtype=torch.float64)
    ref = x.reshape(2, 2, 2, 3, 2).mean((2, 4)).reshape(2, 6)
    torch.testing.assert_close(v, ref, rtol=RTOL[torch.float64], atol=0)


def test_gradcheck():
    x = torch.rand(2, 6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x: image_to_vector(x, (3, 2), dtype=torch.float64), (x,), fast_mode=True
    )


def test_errors():
    x = torch.rand(2, 8, 8)
    with pytest.raises(ValueError, match=r"\(B, H, W\).*images\[None\]"):
        image_to_vector(torch.rand(8, 8))
    with pytest.raises(ValueError, match="larger than the images"):
        image_to_vector(x, (9, 8))
    with pytest.raises(ValueError, match="normalize must be 'power'"):
        image_to_vector(x, normalize="max")
    with pytest.raises(TypeError, match="float32 or torch.float64"):
        image_to_vector(x, dtype=torch.complex64)
    with pytest.raises(TypeError, match="uint8"):
        image_to_vector(torch.ones(2, 8, 8, dtype=torch.int32))
    with pytest.raises(TypeError, match="real images"):
        image_to_vector(x.to(torch.complex64))
    with pytest.raises(TypeError, match="torch.Tensor"):
        image_to_vector([[0.0]])
    with pytest.raises(TypeError, match="pair"):
        ImageToVector((2, 2, 2))
    with pytest.raises(ValueError, match="size"):
        ImageToVector((0, 2))
    with pytest.raises(TypeError, match="float32 or torch.float64"):
        ImageToVector(dtype=torch.float16)
