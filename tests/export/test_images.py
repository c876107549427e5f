"""SLM images read back by an independent decoder (zlib + struct), pixel by pixel."""

from __future__ import annotations

import numpy as np
import pytest

from photonn.export import read_gray_image
from photonn.export.images import write_gray_bmp, write_gray_png

from .helpers import decode_bmp, decode_png


@pytest.mark.parametrize("bits", [6, 8, 10, 12, 16])
def test_png_pixels_are_the_gray_levels(tmp_path, bits):
    rng = np.random.default_rng(bits)
    g = rng.integers(0, 2**bits, size=(13, 17))
    g[0, 0], g[-1, -1] = 0, 2**bits - 1
    write_gray_png(tmp_path / "a.png", g, bits)
    img, depth = decode_png(tmp_path / "a.png")
    assert depth == (8 if bits <= 8 else 16)
    assert np.array_equal(img, g)
    assert np.array_equal(read_gray_image(tmp_path / "a.png"), g)


def test_bmp_pixels_are_the_gray_levels(tmp_path):
    g = np.random.default_rng(0).integers(0, 256, size=(11, 13))  # width not a multiple of 4
    write_gray_bmp(tmp_path / "a.bmp", g)
    assert np.array_equal(decode_bmp(tmp_path / "a.bmp"), g)
    assert np.array_equal(read_gray_image(tmp_path / "a.bmp"), g)
    with pytest.raises(ValueError, match="16-bit PNG"):
        write_gray_bmp(tmp_path / "b.bmp", g, bits=10)


def test_out_of_range_levels_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        write_gray_png(tmp_path / "a.png", np.array([[256]]), 8)
    (tmp_path / "x.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="not a readable"):
        read_gray_image(tmp_path / "x.png")
