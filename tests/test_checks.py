"""The shared argument checks of photonn._checks: each names the value and the fix."""

from __future__ import annotations

import math

import pytest
import torch

from photonn._checks import (
    check_generator,
    check_pad_factor,
    finite_float,
    fraction,
    non_negative_float,
    positive_float,
    tensor,
)


def test_scalars_accept_numbers_and_one_element_tensors():
    assert positive_float(torch.tensor(2.5), "x") == 2.5
    assert finite_float(-3, "x") == -3.0
    assert non_negative_float(0, "x") == 0.0
    assert fraction(1, "qe") == 1.0
    assert check_pad_factor(1) == 1.0
    with pytest.raises(ValueError, match=r"x must be a scalar, got a tensor of shape \(2,\)"):
        finite_float(torch.ones(2), "x")
    with pytest.raises(TypeError, match="x must be a real number, got bool True"):
        positive_float(True, "x")
    with pytest.raises(ValueError, match="x must be finite, got nan"):
        finite_float(math.nan, "x")


def test_ranges_name_the_value_and_the_bound():
    with pytest.raises(ValueError, match=r"read_noise_e must be >= 0 electrons, got -1.0"):
        non_negative_float(-1, "read_noise_e", "electrons")
    with pytest.raises(ValueError, match=r"gain must be >= 0, got -0.5"):
        non_negative_float(-0.5, "gain")
    with pytest.raises(ValueError, match="x must be finite"):
        non_negative_float(math.inf, "x")
    with pytest.raises(ValueError, match=r"qe must be in \(0, 1\], got 1.5"):
        fraction(1.5, "qe")
    with pytest.raises(ValueError, match="qe must be a finite number > 0"):
        fraction(0, "qe")
    with pytest.raises(ValueError, match=r"pad_factor must be >= 1 \(1 means no padding\)"):
        check_pad_factor(0.5)


def test_generator_and_tensor():
    g = torch.Generator()
    assert check_generator(g) is g and check_generator(None) is None
    with pytest.raises(TypeError, match="generator must be a torch.Generator.*got int"):
        check_generator(3)
    with pytest.raises(TypeError, match=r"init='uniform' draws random values: generator"):
        check_generator(None, required_for="init='uniform'")
    x = torch.ones(2)
    assert tensor(x, "x") is x
    with pytest.raises(TypeError, match="images must be a torch.Tensor, got list"):
        tensor([1.0], "images")
