"""convert: a PyTorch model onto MZI meshes, PCM crossbars and microring banks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from photonn.onchip import PhotonicConv2d, PhotonicLinear, SVDLinear, convert, layer_errors

F64 = torch.float64


def small_cnn(dtype=F64):
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(3 * 4 * 4, 10),
        nn.Tanh(),
        nn.Linear(10, 4),
    ).to(dtype)


@pytest.mark.parametrize("family", ["svd_mesh", "pcm", "microring"])
@pytest.mark.parametrize("block", [None, 7])
def test_outputs_equal_and_input_untouched(family, block):
    model = small_cnn()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(5, 2, 8, 8, dtype=F64, generator=torch.Generator().manual_seed(1))
    want = model(x)
    conv = convert(model, family=family, block=block)
    got = conv(x)
    # float64 models: the SVD meshes run in complex128; the decomposition round trip
    # is ~1e-13 per entry, summed over at most 48 inputs
    torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-10)
    # the input model is not modified
    assert isinstance(model[0], nn.Conv2d) and isinstance(model[3], nn.Linear)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert isinstance(conv[0], PhotonicConv2d) and isinstance(conv[3], PhotonicLinear)
    if block == 7:  # 48 inputs, 10 outputs: 2 x 7 tiles
        assert conv[3].n_tiles == 2 * 7


def test_float32_model_within_float32_tolerance():
    model = small_cnn(torch.float32)
    x = torch.randn(4, 2, 8, 8)
    conv = convert(model, block=16)
    assert isinstance(conv[3].tiles[0], SVDLinear)
    torch.testing.assert_close(conv(x), model(x), atol=2e-5, rtol=2e-5)


def test_non_idealities_change_the_output():
    model = small_cnn()
    x = torch.randn(3, 2, 8, 8, dtype=F64)
    conv = convert(model, family="pcm")
    for m in conv.modules():
        if hasattr(m, "quantize"):
            m.levels = torch.linspace(0, 1, 4, dtype=F64)
            m.quantize = True
    assert (conv(x) - model(x)).abs().max() > 1e-3
    err = layer_errors(model, conv, x)
    assert set(err) == {"0", "3", "5"} and all(e > 1e-3 for e in err.values())
    # the ideal conversion: every layer within float64 rounding
    ideal = layer_errors(model, convert(model, family="pcm"), x)
    assert all(e < 1e-12 for e in ideal.values()), ideal


def test_single_layer_and_gradients():
    lin = nn.Linear(6, 3).double()
    conv = convert(lin, family="svd_mesh")
    assert isinstance(conv, PhotonicLinear) and isinstance(lin, nn.Linear)
    x = torch.randn(2, 6, dtype=F64)
    conv(x).sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in conv.parameters())


def test_bad_input():
    model = small_cnn()
    with pytest.raises(ValueError, match="larger than the chip"):
        convert(model, block=32, chip=16)
    with pytest.raises(ValueError, match="block=k"):
        convert(model, chip=16)
    with pytest.raises(ValueError, match="family"):
        convert(model, family="optical")
    lin = nn.Linear(3, 2).to(torch.complex128)
    with pytest.raises(ValueError, match="complex weight"):
        convert(lin, family="pcm")
    with pytest.raises(ValueError, match="groups"):
        convert(nn.Conv2d(4, 4, 3, groups=2))


@pytest.mark.parametrize("family", ["pcm", "microring"])
def test_incoherent_tiles_see_only_powers(family):
    """Signed inputs reach the incoherent tiles as x+ and x- (non-negative powers)."""
    model = nn.Linear(5, 3).double()
    conv = convert(model, family=family, block=2)
    seen = []
    for t in conv.tiles:
        t.register_forward_pre_hook(lambda m, args: seen.append(args[0].min().item()))
    x = torch.randn(4, 5, dtype=F64)
    torch.testing.assert_close(conv(x), model(x), atol=1e-10, rtol=1e-10)
    assert seen and min(seen) >= 0


@pytest.mark.parametrize("family", ["svd_mesh", "pcm", "microring"])
def test_float32_gradients_are_finite(family):
    conv = convert(nn.Linear(40, 5), family=family, block=16)
    conv(torch.randn(8, 40)).square().sum().backward()
    for name, p in conv.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
