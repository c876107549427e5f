"""Lossless gray-level images for SLM controllers, written and read with Pillow.

* 8-bit panels: an 8-bit grayscale PNG (``mode "L"``) and an 8-bit BMP (the
  format many SLM drivers load), pixel value = gray level.
* 9- to 16-bit panels (10- and 12-bit LCOS): a 16-bit grayscale PNG whose pixel
  value *is* the gray level (0..1023 for 10 bits), not stretched to 0..65535;
  BMP has no 16-bit grayscale and is not written.

Pillow is a runtime dependency of photonn for this (README, Dependencies): a
hand-written PNG/BMP encoder would be one more thing to get right, while Pillow is
the well-kept standard image library of Python.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._io import atomic_path

__all__ = ["write_gray_png", "write_gray_bmp", "read_gray_image"]


def _image_module():
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - Pillow is a dependency
        raise ImportError(
            "photonn.export writes SLM images with Pillow: pip install 'Pillow>=9'"
        ) from exc
    return Image


def _check(gray: np.ndarray, bits: int) -> np.ndarray:
    g = np.asarray(gray)
    if g.ndim != 2 or g.dtype.kind not in "iu":
        raise ValueError(f"gray levels must be a 2-D integer array, got {g.dtype} {g.shape}")
    if g.size and (int(g.min()) < 0 or int(g.max()) >= 2**bits):
        raise ValueError(
            f"gray levels must lie in [0, {2**bits - 1}] for {bits} bits, got "
            f"{int(g.min())}..{int(g.max())}"
        )
    return g


def write_gray_png(path, gray, bits: int) -> Path:
    """Write ``gray`` ``(rows, columns)`` as a PNG: 8-bit for ``bits <= 8``, else 16-bit."""
    Image = _image_module()
    g = _check(gray, bits)
    if bits <= 8:
        img = Image.fromarray(g.astype(np.uint8))
    else:
        img = Image.fromarray(g.astype(np.uint16))
    path = Path(path)
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG", optimize=False)
    return path


def write_gray_bmp(path, gray, bits: int = 8) -> Path:
    """Write ``gray`` as an 8-bit grayscale BMP (``bits <= 8`` only)."""
    if bits > 8:
        raise ValueError(f"BMP holds 8-bit gray levels; a {bits}-bit panel needs the 16-bit PNG")
    Image = _image_module()
    g = _check(gray, bits)
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(g.astype(np.uint8)).save(tmp, format="BMP")
    return path


def read_gray_image(path) -> np.ndarray:
    """Gray values ``(rows, columns)`` of an 8- or 16-bit grayscale PNG or 8-bit BMP.

    Returns uint8 (8-bit files) or uint16 (16-bit PNG). Color images are refused
    (an SLM image is one value per pixel).
    """
    Image = _image_module()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {path} not found")
    try:
        with Image.open(path) as img:
            mode = img.mode
            if mode == "P":  # a BMP with a palette: accept a pure gray palette only
                pal = np.asarray(img.getpalette()[: 3 * 256]).reshape(-1, 3)
                idx = np.asarray(img)
                if not (pal[:, 0] == pal[:, 1]).all() or not (pal[:, 1] == pal[:, 2]).all():
                    raise ValueError(f"{path}: a color palette image, not gray levels")
                return pal[idx, 0].astype(np.uint8)
            if mode == "L":
                return np.asarray(img, dtype=np.uint8).copy()
            if mode in ("I;16", "I;16B", "I;16L"):
                return np.asarray(img, dtype=np.uint16).copy()
            if mode == "I":
                a = np.asarray(img)
                if a.min() < 0 or a.max() > 65535:
                    raise ValueError(f"{path}: values outside 0..65535")
                return a.astype(np.uint16)
            raise ValueError(
                f"{path}: image mode {mode!r} is not a gray-level image (8-bit L or 16-bit I;16)"
            )
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"{path} is not a readable PNG/BMP image ({exc})") from None
