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


def test_non_negative_int_image_batch_and_real_batch():
    from photonn._checks import image_batch, non_negative_int, real_batch

    assert non_negative_int(0, "k") == 0 and non_negative_int(3, "k", " (layers)") == 3
    with pytest.raises(ValueError, match=r"k must be >= 0 \(layers\), got -1"):
        non_negative_int(-1, "k", " (layers)")
    for bad in (1.5, True, "2"):
        with pytest.raises(TypeError, match="k must be an int"):
            non_negative_int(bad, "k")
    images = torch.zeros(2, 4, 5)
    assert image_batch(images) is images
    with pytest.raises(ValueError, match=r"images must have shape \(B, H, W\), got \(4, 5\); "):
        image_batch(torch.zeros(4, 5))
    with pytest.raises(TypeError, match="images must be a torch.Tensor, got list"):
        image_batch([[0.0]])
    x = torch.zeros(3, 2, dtype=torch.float64)
    assert real_batch(x, 2) is x
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 2\), got \(3, 3\)"):
        real_batch(torch.zeros(3, 3), 2)
    with pytest.raises(ValueError, match=r"\(batch, 2\), got \(6,\)"):
        real_batch(torch.zeros(6), 2)
    for dtype in (torch.complex64, torch.int64, torch.bool):
        with pytest.raises(TypeError, match=r"real floating-point tensor \(amplitudes\)"):
            real_batch(torch.zeros(3, 2, dtype=dtype), 2, what="amplitudes")


def test_renamed_keyword_and_attribute():
    from photonn._checks import renamed, renamed_attribute

    assert renamed(4, None, new_name="n_modes", old_name="n", owner="M") == 4
    with pytest.warns(DeprecationWarning, match=r"M\(n=...\) is deprecated: use n_modes="):
        assert renamed(None, 5, new_name="n_modes", old_name="n", owner="M") == 5
    with pytest.raises(TypeError, match="M: give n_modes= only"):
        renamed(4, 4, new_name="n_modes", old_name="n", owner="M")

    class M:
        n_modes = 7
        n = renamed_attribute("n", "n_modes")

    with pytest.warns(DeprecationWarning, match="M.n is deprecated: use n_modes"):
        assert M().n == 7


def test_fits_in_names_both_numbers():
    from photonn._checks import fits_in

    assert fits_in(4, 4, "input_size", "size") == 4 and fits_in((2, 3), (2, 5), "a", "b") == (2, 3)
    with pytest.raises(ValueError, match=r"^input_size = 5 does not fit in size = 4 neurons; "):
        fits_in(5, 4, "input_size", "size")
    with pytest.raises(ValueError, match=r"a = \(2, 6\) does not fit in b = \(2, 5\) neurons"):
        fits_in((2, 6), (2, 5), "a", "b")
