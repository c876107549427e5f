"""The three region-detector stacks (D2NN, PolarizationD2NN, Fourier4fNetwork) take their
images by one set of rules (``photonn.models._stack``): the same input size on the grid,
the same checks and messages, the same field."""

from __future__ import annotations

import pytest
import torch

from photonn import Grid
from photonn.encoding import image_to_field
from photonn.models import D2NN, Fourier4fNetwork, PolarizationD2NN
from photonn.models._stack import StackOptions

GRID = Grid(16, 4e-4)


@pytest.fixture(autouse=True)
def _quiet(recwarn):  # the tiny grids are undersampled on purpose: only the inputs matter
    yield


def _build(kind: str, **kw):
    if kind == "d2nn":
        return D2NN(GRID, 7.5e-4, 1, 0.01, 4, method="asm", **kw)
    if kind == "polarization":
        return PolarizationD2NN(GRID, 7.5e-4, 1, 0.01, 4, method="asm", **kw)
    return Fourier4fNetwork(GRID, 7.5e-4, 0.05, 1, 4, **kw)


def _field(model, images):
    u = model.input_field(images)
    return u[:, 0] if u.ndim == 4 else u  # the polarized field's x component


KINDS = ("d2nn", "polarization", "fourier4f")


@pytest.mark.parametrize("kind", KINDS)
def test_input_size_defaults_to_half_the_grid_and_must_fit(kind):
    assert _build(kind).input_size == (8, 8)
    assert _build(kind, input_size=5).input_size == (5, 5)
    with pytest.raises(ValueError, match=r"input_size = \(17, 17\) does not fit in the grid"):
        _build(kind, input_size=17)
    with pytest.raises(ValueError, match=r"input_size\[0\] must be"):
        _build(kind, input_size=(0, 4))


@pytest.mark.parametrize("kind", KINDS)
def test_images_become_the_same_field_and_uint8_is_scaled(kind):
    model = _build(kind, input_size=6)
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(2, 6, 6, generator=gen)
    want = image_to_field(images, GRID.shape, (6, 6), dtype=torch.complex64)
    # the same computation in this process: exact
    torch.testing.assert_close(_field(model, images), want, rtol=0, atol=0)
    as_uint8 = (images * 255).round().to(torch.uint8)
    torch.testing.assert_close(
        _field(model, as_uint8), _field(model, as_uint8.float() / 255), rtol=0, atol=0
    )


@pytest.mark.parametrize("kind", KINDS)
def test_bad_images_are_refused_with_the_same_messages(kind):
    model = _build(kind)
    with pytest.raises(ValueError, match=r"must have shape \(B, H, W\).*images\[None\]"):
        model.input_field(torch.rand(8, 8))
    nan = torch.rand(2, 8, 8)
    nan[1, 2, 3] = float("nan")
    with pytest.raises(ValueError, match=r"1 NaN or Inf values \(first at index \(1, 2, 3\)\)"):
        model.input_field(nan)
    low = torch.full((2, 8, 8), 0.5)
    low[0, 0, 0] = -0.25
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].*from -0\.25 to 0\.5; scale"):
        model.input_field(low)


def test_the_stacks_options_share_the_declared_geometry():
    from dataclasses import fields

    from photonn.models import D2NNOptions, PolarizationD2NNOptions

    shared = {f.name for f in fields(StackOptions)}
    for cls in (D2NNOptions, PolarizationD2NNOptions):
        assert issubclass(cls, StackOptions)
        own = {f.name for f in fields(cls)} - shared
        # a subclass adds fields; it does not declare a shared one again
        assert not own & shared
        assert all(f.name in cls.__dataclass_fields__ for f in fields(StackOptions))
    for cls in (D2NNOptions, PolarizationD2NNOptions):
        with pytest.raises(ValueError, match="input_size = 50 does not fit in size = 40"):
            cls(size=40, input_size=50)
