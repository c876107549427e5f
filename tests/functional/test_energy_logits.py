"""energy_logits: the readout shared by the region-detector models."""

import math

import pytest
import torch

from photonn.functional.detection import energy_logits


def test_normalized_and_log_readouts_by_hand():
    e = torch.tensor([[1.0, 3.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(
        energy_logits(e, 10.0, "normalized"), torch.tensor([[2.5, 7.5, 0.0]], dtype=torch.float64)
    )
    tiny = torch.finfo(torch.float64).tiny
    want = 2.0 * torch.tensor([[0.0, math.log(3.0), math.log(tiny)]], dtype=torch.float64)
    torch.testing.assert_close(energy_logits(e, 2.0, "log"), want)


def test_dark_regions_give_finite_logits_and_gradients():
    e = torch.zeros(2, 4, requires_grad=True)
    t = torch.tensor(3.0, requires_grad=True)
    for readout in ("normalized", "log"):
        out = energy_logits(e, t, readout)
        assert torch.isfinite(out).all()
        out.sum().backward()
        assert torch.isfinite(e.grad).all() and torch.isfinite(t.grad)


def test_unknown_readout_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="normalized"):
        energy_logits(torch.ones(1, 2), 1.0, "linear")
